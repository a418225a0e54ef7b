"""Labels and training sets on hand-written tables: horizon sums, churn, cutoffs, eligibility, no leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.labels import build_labels, label_columns
from features.table import build_feature_table
from features.training import build_training_set, training_cutoffs, truncate_tables
from tests.settings import defaults, override

CUTOFF = pd.Timestamp("2024-07-01")
NAN = np.nan


def _ts(values: list[str | None]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, format="ISO8601")).astype("datetime64[ns]")


def _ids(values: list[str | None]) -> pd.Series:
    return pd.Series(values, dtype="str")


def small_tables() -> dict[str, pd.DataFrame]:
    """A: buys before and after the cutoff; B: first order 2024-06-20, then only a big ticket; C: cancelled in
    2023 and lapsed; D: signed up, never ordered; E: appears only after 2024-07-01."""
    orders = pd.DataFrame(
        {
            "order_id": _ids(["o1", "o2", "o3", "o4", "o5", "o6"]),
            "customer_id": _ids(["A", "A", "B", "C", "A", "E"]),
            "ordered_at": _ts(
                ["2023-01-10", "2024-05-01", "2024-06-20", "2022-06-01", "2024-07-01", "2024-08-01"]
            ),
            "revenue": [100.0, 300.0, 80.0, 40.0, 1000.0, 500.0],
            "cost": [60.0, 200.0, 40.0, 20.0, 0.0, 100.0],
        }
    )
    returns = pd.DataFrame(
        {
            "return_id": _ids(["r1", "r2", "r3"]),
            "customer_id": _ids(["A", "A", "A"]),
            "returned_at": _ts(["2024-06-01", "2024-07-05", "2024-09-29"]),  # r3 is at horizon end: excluded
            "amount": [30.0, 999.0, 7.0],
        }
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": _ids(["t1", "t2"]),
            "customer_id": _ids(["B", "B"]),
            "opened_at": _ts(["2024-06-25", "2024-07-02"]),
            "effort_minutes": [0.0, 600.0],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": _ids(["A", "B", "C", "D", "E"]),
            "signup_at": _ts(["2022-12-01", "2024-06-01", None, "2024-03-01", "2024-07-20"]),
            "churned_at": _ts([None, None, "2023-01-01", None, None]),
        }
    )
    return {"orders": orders, "returns": returns, "tickets": tickets, "customers": customers}


def test_labels_hand_computed() -> None:
    got = build_labels(small_tables(), CUTOFF, 90, defaults().features)  # horizon [2024-07-01, 2024-09-29)
    expected = pd.DataFrame(
        {
            "label_net_profit_90d": [1000 - 999, -(10 * 60 + 5), 0, 0],  # B: 10 support hours + one ticket
            "label_revenue_90d": [1000, 0, 0, 0],
            "label_orders_90d": [1, 0, 0, 0],
            "label_churned_90d": [0, 1, 1, 1],  # C cancelled (before the horizon end); B and D did not order
        },
        index=pd.Index(["A", "B", "C", "D"], name="customer_id", dtype="str"),
        dtype="float64",
    )
    pd.testing.assert_frame_equal(got, expected)
    assert list(got.columns) == label_columns(90)


def test_cancellation_inside_horizon_decides_churn() -> None:
    tables = small_tables()
    customers = tables["customers"].copy()
    customers["churned_at"] = _ts([None, "2024-08-01", "2023-01-01", "2025-01-01", None])
    tables["customers"] = customers
    tables["orders"] = pd.concat(
        [tables["orders"], pd.DataFrame({"order_id": _ids(["o7"]), "customer_id": _ids(["B"]),
                                         "ordered_at": _ts(["2024-07-10"]), "revenue": [5.0], "cost": [1.0]})],
        ignore_index=True,
    )  # fmt: skip
    got = build_labels(tables, CUTOFF, 90, defaults().features)
    # B ordered in the horizon but cancelled inside it: churned. D's cancellation is after the horizon end and
    # D did not order: churned by lapse.
    assert got["label_churned_90d"].tolist() == [0.0, 1.0, 1.0, 1.0]


def test_training_cutoffs() -> None:
    cfg = override("labels", n_cutoffs=3, cutoff_step_months=2)
    got = training_cutoffs(pd.Timestamp("2025-01-15 13:00"), 365, cfg)
    assert got == [pd.Timestamp("2023-09-01"), pd.Timestamp("2023-11-01"), pd.Timestamp("2024-01-01")]
    assert all(c + pd.Timedelta(days=365) <= pd.Timestamp("2025-01-15 13:00") for c in got)
    with pytest.raises(TypeError):
        training_cutoffs("2025-01-01", 365, cfg)  # type: ignore[arg-type]


def test_training_set_eligibility_and_labels() -> None:
    as_of = pd.Timestamp("2024-10-01")  # cutoffs 2024-06-01 and 2024-07-01, horizon 90 days
    # the two cutoffs alone (not reaching back to the as-of's time of year a year earlier): eligibility, not season
    lcfg = override("labels", horizon_days=90, n_cutoffs=2, cutoff_step_months=1, reach_last_year=False)
    got = build_training_set(small_tables(), as_of, 90, defaults().features, lcfg)
    keys = list(zip(got["customer_id"], got["cutoff"].dt.strftime("%Y-%m-%d"), strict=True))
    # C: cancelled before the cutoff and lapsed > 730 days; D: never ordered; B: first order on 2024-06-20.
    assert keys == [("A", "2024-06-01"), ("A", "2024-07-01"), ("B", "2024-07-01")]
    assert list(got.columns[:2]) == ["customer_id", "cutoff"]
    assert list(got.columns[-4:]) == label_columns(90)
    b = got.iloc[2]
    assert b["label_net_profit_90d"] == -605.0 and b["label_churned_90d"] == 1.0
    assert b["profit_net_lifetime"] == 40.0 - 5.0  # margin 40 minus a zero-effort ticket's fixed cost
    assert got["cutoff"].dtype == "datetime64[ns]" and got["customer_id"].dtype == "str"


def test_training_set_eligibility_rules_can_be_relaxed() -> None:
    lcfg = override(
        "labels",
        horizon_days=90,
        n_cutoffs=2,
        cutoff_step_months=1,
        exclude_cancelled=False,
        max_lapse_days=None,
        require_order_before_cutoff=False,
        reach_last_year=False,
    )
    got = build_training_set(small_tables(), pd.Timestamp("2024-10-01"), 90, defaults().features, lcfg)
    keys = list(zip(got["customer_id"], got["cutoff"].dt.strftime("%Y-%m-%d"), strict=True))
    assert keys == [
        ("A", "2024-06-01"), ("C", "2024-06-01"), ("D", "2024-06-01"),
        ("A", "2024-07-01"), ("B", "2024-07-01"), ("C", "2024-07-01"), ("D", "2024-07-01"),
    ]  # fmt: skip
    lapse_only = override("labels", horizon_days=90, n_cutoffs=1, exclude_cancelled=False, max_lapse_days=800)
    got = build_training_set(small_tables(), pd.Timestamp("2024-10-01"), 90, defaults().features, lapse_only)
    assert got["customer_id"].tolist() == ["A", "B", "C"]  # C's last order is 761 days old: within 800


def test_training_rows_match_feature_table_at_each_cutoff() -> None:
    lcfg = override("labels", horizon_days=90, n_cutoffs=2, cutoff_step_months=1)
    got = build_training_set(small_tables(), pd.Timestamp("2024-10-01"), 90, defaults().features, lcfg)
    for cutoff, part in got.groupby("cutoff"):
        feats = build_feature_table(small_tables(), cutoff, defaults().features)
        part = part.set_index("customer_id")
        pd.testing.assert_frame_equal(part[feats.columns], feats.loc[part.index])


def test_truncate_tables_hides_the_future_and_copies() -> None:
    tables = small_tables()
    before = {k: v.copy() for k, v in tables.items()}
    got = truncate_tables(tables, pd.Timestamp("2024-07-01"))
    assert got["orders"]["order_id"].tolist() == ["o1", "o2", "o3", "o4"]
    assert got["customers"]["customer_id"].tolist() == ["A", "B", "C", "D", "E"]  # entities stay
    assert pd.isna(got["customers"].loc[4, "signup_at"])  # E signed up after as_of
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, before[name])


def test_labels_need_positive_horizon() -> None:
    with pytest.raises(ValueError):
        build_labels(small_tables(), CUTOFF, 0, defaults().features)
