"""`bench/intervals.py`'s recent partial-horizon rows (the `recent_partial` variant, tried and not kept): month
starts after a fold's latest training cutoff, their label windows cut at the fold's date. Nothing at or after the
fold may be read, and each row says how many days of its window were seen."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from models.backtest import evaluation_rows  # noqa: F401  (imported at collection: what the call times is the work)
from pipelines.config import load_config

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_intervals", ROOT / "bench" / "intervals.py")
intervals = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(intervals)

FOLD = pd.Timestamp("2024-09-01")


def _tables(extra: list[tuple] = ()) -> dict[str, pd.DataFrame]:
    """30 customers ordering every 10-60 days from 2023 to the end of 2024 (seeded), plus `extra` orders."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(30):
        day = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 400)))
        while day < pd.Timestamp("2024-12-31"):
            rows.append((f"o{len(rows):05d}", f"c{i:02d}", day, float(rng.integers(10, 200)), 1))
            day = day + pd.Timedelta(days=int(rng.integers(10, 60)))
    rows += [(f"x{k}", *r) for k, r in enumerate(extra)]
    orders = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "revenue", "quantity"])
    first = orders.groupby("customer_id", as_index=False)["ordered_at"].min()
    return {"orders": orders, "customers": first.rename(columns={"ordered_at": "signup_at"})}


def _cfg():
    cfg = load_config()
    return cfg.model_copy(update={"labels": cfg.labels.model_copy(update={"horizon_days": 90})})


def test_recent_partial_rows_cut_the_labels_at_the_fold():
    tables, cfg = _tables(), _cfg()
    rows = intervals.recent_partial_rows(tables, FOLD, cfg, 1 / 3)
    # The latest 90-day training cutoff of a 2024-09-01 fold is 2024-06-01: July and August follow (62, 31 days).
    seen = rows.groupby("cutoff")["days_seen"].first()
    assert list(seen.index) == [pd.Timestamp("2024-07-01"), pd.Timestamp("2024-08-01")]
    assert list(seen) == [62, 31]
    half = intervals.recent_partial_rows(tables, FOLD, cfg, 1 / 2)
    assert list(half["cutoff"].unique()) == [pd.Timestamp("2024-07-01")]
    # The label is the revenue in [cutoff, fold), not in [cutoff, cutoff + 90 days).
    o = tables["orders"]
    july = rows[rows["cutoff"] == pd.Timestamp("2024-07-01")].set_index("customer_id")["label_revenue_90d"]
    window = o[(o["ordered_at"] >= "2024-07-01") & (o["ordered_at"] < FOLD)].groupby("customer_id")["revenue"]
    expected = window.sum().reindex(july.index).fillna(0.0)
    np.testing.assert_allclose(july.to_numpy(), expected.to_numpy())
    # A whale order on the fold's date and one after it change nothing.
    later = _tables([("c00", FOLD, 1e6, 1), ("c01", FOLD + pd.Timedelta(days=20), 1e6, 1)])
    pd.testing.assert_frame_equal(intervals.recent_partial_rows(later, FOLD, cfg, 1 / 3), rows)
