"""The lookalike model's training cutoffs are placed as the value model's (`labels.reach_last_year` included).

The reach to the as-of's time of year a year earlier is added only when the company has one horizon plus three
months of orders before its earliest cutoff (`features.training.training_cutoffs`). `pipelines.profile` called
the cutoff function without the company's first order, so the lookalike model reached back into a business's
first months (or before its first order) where the value model does not.
"""

from __future__ import annotations

import pandas as pd
import pytest

import models.lookalike
from features.training import company_training_cutoffs
from pipelines.profile import lookalike_training
from tests.settings import defaults

H = 90
AS_OF = pd.Timestamp("2023-09-01")


def _tables(first_order: str) -> dict[str, pd.DataFrame]:
    days = pd.date_range(first_order, "2023-08-31", freq="7D")
    ids = [f"c{i % 5}" for i in range(len(days))]
    orders = pd.DataFrame({"customer_id": ids, "ordered_at": days, "revenue": 10.0})
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(5)], "signup_at": days[:5]})
    return {"customers": customers, "orders": orders}


@pytest.mark.parametrize(("first_order", "n"), [("2022-12-01", 6), ("2022-01-15", 11)])
def test_lookalike_cutoffs_take_the_training_path(monkeypatch, first_order: str, n: int) -> None:
    base = defaults()
    lookalike = base.profile.lookalike.model_copy(update={"n_cutoffs": 6, "cutoff_step_months": 1})
    cfg = base.model_copy(update={"profile": base.profile.model_copy(update={"lookalike": lookalike})})
    monkeypatch.setattr(models.lookalike, "lookalike_training_set", lambda *a, **k: pd.DataFrame())
    tables = _tables(first_order)
    _, cutoffs, _ = lookalike_training(tables, cfg, AS_OF, H)
    labels = cfg.labels.model_copy(update={"n_cutoffs": 6, "cutoff_step_months": 1})
    assert cutoffs == company_training_cutoffs(tables["orders"], AS_OF, H, labels)
    # orders from December 2022: no minimum history for last year's September, six cutoffs from January 2023
    assert len(cutoffs) == n and cutoffs[-1] == pd.Timestamp("2023-06-01")
    assert cutoffs[0] == (pd.Timestamp("2023-01-01") if n == 6 else pd.Timestamp("2022-08-01"))
    # a sample's own first order does not decide: the whole base's orders, when given, do
    sample = {"customers": tables["customers"], "orders": tables["orders"].iloc[-3:]}
    _, of_base, _ = lookalike_training(sample, cfg, AS_OF, H, tables["orders"])
    assert of_base == cutoffs
