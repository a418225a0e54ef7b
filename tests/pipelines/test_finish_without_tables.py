"""The whole-base finish with the tables let go (issue 11: the Spark driver clears them before it collects the
compact scores, `score_base.score_tables`' `release`): what the finish reads of them taken first gives the same
scores and new customers as reading the tables (the managers, `customer_managers`; the early-life features and
the ids of who would be new, `EarlyLife.hold`)."""

from __future__ import annotations

import gc
import weakref
from types import SimpleNamespace

import pandas as pd

from pipelines.config import load_config
from pipelines.engines.scoring import customer_managers, finish_scores
from pipelines.engines.spark_tiers import TIER_COLUMNS
from pipelines.newcomers import EarlyLife, score_newcomers

AS_OF = pd.Timestamp("2025-01-01")
DAY = pd.Timedelta(days=1)


def _tables() -> dict[str, pd.DataFrame]:
    ids = pd.Series(["C1", "C2", "C3", "C4"], dtype="str")
    return {
        "customers": pd.DataFrame(
            {
                "customer_id": ids,
                "signup_at": [
                    AS_OF - 90 * DAY,
                    AS_OF - 80 * DAY,
                    AS_OF - 10 * DAY,
                    pd.Timestamp("2020-01-01"),
                ],
                "account_manager_id": pd.Series(["M1", None, "M2", "M1"], dtype="str"),
            }
        ),
        "orders": pd.DataFrame(
            {
                "order_id": pd.Series(["o1", "o2", "o4"], dtype="str"),
                "customer_id": pd.Series(["C1", "C2", "C4"], dtype="str"),
                "ordered_at": [AS_OF - 85 * DAY, AS_OF - 75 * DAY, AS_OF - 5 * DAY],
                "revenue": [10.0, 20.0, 30.0],
            }
        ),
    }


def test_the_finish_given_the_managers_writes_what_it_writes_reading_the_tables():
    tables = _tables()
    # C5: known to the statuses only (no customers row): no manager either way
    status = pd.DataFrame(
        {
            "customer_id": pd.Series(["C1", "C2", "C3", "C4", "C5"], dtype="str"),
            "status": ["scored", "scored", "no_orders_yet", "scored", "lapsed"],
            "status_reason": ["", "", "no order yet", "", "no order for a year"],
        }
    )
    compact = pd.DataFrame(
        {"pred_value": [3.0, 1.0, 2.0], **{c: ["x", "y", "z"] for c in TIER_COLUMNS}},
        index=pd.Index(["C4", "C1", "C2"], name="customer_id"),
    )
    bundle = SimpleNamespace(output_columns=["pred_value"], horizon_days=365)
    cfg = load_config()
    expected = finish_scores(compact.copy(), tables, AS_OF, "7", bundle, cfg, status)
    managers = customer_managers(tables, pd.Index(status["customer_id"], name="customer_id"))
    got = finish_scores(compact.copy(), {}, AS_OF, "7", bundle, cfg, status, managers)
    pd.testing.assert_frame_equal(got, expected)
    assert list(got["account_manager_id"].fillna("-")) == ["M1", "-", "M2", "M1", "-"]


def test_new_customers_from_the_held_early_life_need_no_tables():
    tables = _tables()
    scores = pd.DataFrame(
        {"customer_id": ["C1", "C2", "C3", "C4"], "status": ["lapsed", "lapsed", "no_orders_yet", "scored"]}
    )

    class Legacy:  # no lookalike model: the run's early_days say who would be new
        lookalike_ = None
        lookalike_note_ = "no lookalike model"

    cfg = load_config()
    expected = score_newcomers(scores, tables, AS_OF, Legacy(), cfg)
    early = EarlyLife(tables, AS_OF, Legacy(), None, cfg)
    early.hold()
    tables.clear()  # the driver's tables let go before the finish
    got = score_newcomers(scores, tables, AS_OF, Legacy(), cfg, early=early)
    pd.testing.assert_frame_equal(got[0], expected[0])
    assert got[1] == expected[1] and got[1]["kept_status"] == {"lapsed": 2, "no_orders_yet": 1}


def test_a_held_early_life_is_built_once_from_the_tables_and_keeps_none(monkeypatch):
    import features.early_life as early_module

    built: list[int] = []
    features = pd.DataFrame({"early_has_order": [1]}, index=pd.Index(["C3"], name="customer_id"))

    def fake_features(tables, *args):
        built.append(len(tables["customers"]))
        return features

    monkeypatch.setattr(early_module, "early_life_features", fake_features)
    bundle = SimpleNamespace(lookalike_=SimpleNamespace(early_days=45, attributes=()))
    tables = _tables()
    customers = weakref.ref(tables["customers"])
    early = EarlyLife(dict(tables), AS_OF, bundle)  # a dict of its own: only `early` would keep the frames
    early.hold()
    tables.clear()
    gc.collect()
    assert customers() is None  # the held early life keeps no table
    early.start()  # held: no thread rebuilds it from the cleared tables
    assert early.result() is features and early.result() is features and built == [4]


def test_new_customers_asked_at_other_days_than_held_stop_rather_than_read_emptied_tables():
    """After `hold` the tables are gone: asked for other `early_days` than held, the run stops with an error (was:
    `score_newcomers` fell back to `early_life_ids` of the emptied tables, every customer judged with no early life)."""
    import pytest

    class Legacy:
        lookalike_ = None
        lookalike_note_ = "no lookalike model"

    cfg = load_config()
    early = EarlyLife(_tables(), AS_OF, Legacy(), None, cfg)
    early.hold()
    days = int(cfg.profile.lookalike.early_days)
    assert early.held_ids(days) is not None
    with pytest.raises(RuntimeError, match="not held before the tables were let go"):
        early.held_ids(days + 1)
    assert (
        EarlyLife(_tables(), AS_OF, Legacy(), None, cfg).held_ids(days + 1) is None
    )  # no hold: tables still there
