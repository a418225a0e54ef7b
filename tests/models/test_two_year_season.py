"""Two years of an orders-only history with the previous Q4 peak in the data (issue 16's held-out case, reproduced
by `bench/two_year.py`): Online Retail's config (90 days, six monthly cutoffs) must still fit the model on
horizons at the time of year it scores at, or a fold running into the peak comes out far short.

Six monthly cutoffs before a 1 September fold are January to June: no training horizon at that time of year, so
the season-matched total correction had nothing to read (the note "no training cutoff within 62 days") and the
total of the peak fold was 0.61-0.84 of the actual on five generated companies (`bench/two_year.py --no-reach`).
`labels.reach_last_year` adds the cutoffs back to that time of year a year earlier.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from features.training import build_training_set, training_cutoffs
from models.backtest import evaluation_rows
from models.bundle import CustomerValueModel
from tests.settings import override

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_two_year", ROOT / "bench" / "two_year.py")
two_year = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(two_year)

H = 90
FOLD = pd.Timestamp(
    "2023-09-01"
)  # horizon [2023-09-01, 2023-11-30): into the peak; the export starts 2021-12


def test_cutoffs_reach_the_scoring_time_of_year_a_year_earlier() -> None:
    six = override("labels", horizon_days=H, n_cutoffs=6, cutoff_step_months=1)
    got = training_cutoffs(FOLD, H, six)
    assert got[0] == pd.Timestamp("2022-08-01") and got[-1] == pd.Timestamp("2023-06-01")
    assert len(got) == 11  # monthly, one either side of 2022-09-01
    before = training_cutoffs(FOLD, H, six.model_copy(update={"reach_last_year": False}))
    assert before == [pd.Timestamp(f"2023-0{m}-01") for m in range(1, 7)]
    # the earliest added cutoff needs one horizon plus three months of orders before it (CDNOW: a cohort acquired
    # in the first quarter, whose first months are not last year's season of the same business)
    assert training_cutoffs(FOLD, H, six, first_order=pd.Timestamp("2022-12-01 08:26")) == before
    # orders from 2022-03-01: minimum history reached on 2022-08-30, after the earliest added cutoff
    assert training_cutoffs(FOLD, H, six, first_order=pd.Timestamp("2022-03-01")) == before
    # orders from 2022-01-15: reached on 2022-07-16, so the whole reach is added
    assert training_cutoffs(FOLD, H, six, first_order=pd.Timestamp("2022-01-15")) == got
    # nothing changes where n_cutoffs already reaches (the default 12 at 90 days), for a year's horizon or one cutoff
    twelve = override("labels", horizon_days=H)
    as_of = pd.Timestamp("2025-12-31")
    assert training_cutoffs(as_of, H, twelve) == training_cutoffs(
        as_of, H, twelve.model_copy(update={"reach_last_year": False})
    )
    year = override("labels", n_cutoffs=3, cutoff_step_months=2)
    assert len(training_cutoffs(as_of, 365, year)) == 3
    assert len(training_cutoffs(FOLD, H, six.model_copy(update={"n_cutoffs": 1}))) == 1


def test_peak_fold_total_on_two_years_of_orders_only() -> None:
    # seeds 1-6 of this company: 0.82-1.09 with the cutoffs reaching back, 0.57-0.81 without (log gap 0.12-0.39)
    tables, cfg = two_year.load(1500, 2, "online_retail", {})
    assert sorted(tables) == ["customers", "orders"] and "cost" not in tables["orders"]
    assert cfg.labels.n_cutoffs == 6 and cfg.features.margin_rate_when_cost_missing == 1.0
    evaluation = evaluation_rows(tables, FOLD, H, cfg.features, cfg.labels)
    assert evaluation["cutoff"].nunique() == 1
    actual = evaluation[f"label_net_profit_{H}d"].sum()

    def bias(labels) -> tuple[float, CustomerValueModel]:
        train = build_training_set(tables, FOLD, H, cfg.features, labels)
        model = CustomerValueModel(H, cfg.models).fit(train, as_of=FOLD)
        return float(model.predict(evaluation)[f"pred_value_{H}d"].sum() / actual), model

    reached, model = bias(cfg.labels)
    assert "2022-09-01" in model.value_model_.scale_cutoffs_  # the total corrected at last year's September
    short, _ = bias(cfg.labels.model_copy(update={"reach_last_year": False}))
    assert 0.8 <= reached <= 1.25
    assert np.log(reached) - np.log(short) > 0.1  # the six cutoffs alone carry the quiet spring forward


def _fold_table(fold: str, ours: float, bias: float) -> pd.DataFrame:
    """One fold of `bench/two_year.py`'s table: ours' rank metrics at `ours`, BG/NBD's at 0.5, persistence's 0.4."""
    rows = {
        "model": [bias, ours, ours, ours, ours, ours, 0.8],
        "btyd_no_purchase": [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, np.nan],
        "persistence": [1.0, 0.4, 0.4, 0.4, 0.4, 0.4, np.nan],
    }
    cols = [c for c, _ in two_year.COLUMNS]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=cols).rename_axis("model")
    return frame.assign(fold=fold).reset_index().set_index(["fold", "model"])


def test_bench_verdict_and_summary_per_fold() -> None:
    a = pd.concat([_fold_table("2023-09", 0.6, 0.80), _fold_table("2023-10", 0.45, 1.10)])
    b = pd.concat([_fold_table("2023-09", 0.55, 1.00), _fold_table("2023-10", 0.6, 0.70)])
    v = two_year.verdict(a)
    assert v.loc["2023-09", "top20"] == "yes" and v.loc["2023-10", "top20"] == "no (-0.050)"
    assert v["total within 15%"].tolist() == ["no", "yes"]
    s = two_year.summary([a, b])
    assert s.loc["2023-09", "pred/actual per company"] == "0.80 1.00"
    assert s.loc["2023-09", "within 15%"] == "1/2" and s.loc["2023-10", "within 15%"] == "1/2"
    assert s.loc["2023-10", "gini"] == "1/2 (1)"
    assert abs(s.loc["2023-10", "mean |log|"] - (np.log(1.1) + abs(np.log(0.7))) / 2) < 1e-12
