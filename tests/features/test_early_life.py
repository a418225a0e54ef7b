"""Early-life features of new customers (features/early_life.py) on a hand-written table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.early_life import NOT_RECORDED, NUMERIC_COLUMNS, early_life_features

CUTOFF = pd.Timestamp("2024-03-01")
T = pd.Timestamp


def _tables() -> dict[str, pd.DataFrame]:
    customers = pd.DataFrame(
        {
            "customer_id": ["old", "n1", "n2", "n3", "later"],
            "signup_at": [
                T("2023-01-01"),
                T("2024-02-01"),
                T("2024-02-20"),
                T("2024-01-05"),
                T("2024-03-02"),
            ],
            "segment": ["B2C", "B2B", None, "B2C", "B2B"],
            "acquisition_channel": ["web", "event", "referral", "web", "web"],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
            "customer_id": ["old", "n1", "n1", "n1", "n3", "n2"],
            "ordered_at": [
                T("2023-02-01"),
                T("2024-02-03"),  # n1's first order: 2 days after signup
                T("2024-02-10"),
                T("2024-03-05"),  # after the cutoff: ignored
                T("2024-01-15"),
                T("2024-03-01"),  # at the cutoff: ignored (strictly before only)
            ],
            "revenue": [50.0, 300.0, 100.0, 999.0, 40.0, 77.0],
            "promo": pd.array([False, False, True, True, True, False], dtype="boolean"),
        }
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": ["t1", "t2", "t3"],
            "customer_id": ["n1", "n1", "n3"],
            "opened_at": [T("2024-02-05"), T("2024-03-10"), T("2024-01-20")],
            "effort_minutes": [30.0, 500.0, 15.0],
        }
    )
    referrals = pd.DataFrame(
        {"referrer_id": ["old"], "referred_id": ["n2"], "referred_at": [T("2024-02-10")]}
    )
    return {"customers": customers, "orders": orders, "tickets": tickets, "referrals": referrals}


def test_new_customers_and_their_first_days_by_hand() -> None:
    out = early_life_features(_tables(), CUTOFF, 60, ["segment", "acquisition_channel", "size"])
    # Signed up within 60 days before the cutoff: n1 (29 days), n2 (10), n3 (56); not "old", not "later".
    assert out.index.tolist() == ["n1", "n2", "n3"]
    assert list(out.columns) == ["segment", "acquisition_channel", *NUMERIC_COLUMNS]  # size absent: left out
    assert out.loc["n2", "segment"] == NOT_RECORDED
    expected = pd.DataFrame(
        {
            "early_days_since_signup": [29.0, 10.0, 56.0],
            "early_was_referred": [0.0, 1.0, 0.0],
            "early_has_order": [1.0, 0.0, 1.0],
            "early_days_to_first_order": [2.0, np.nan, 10.0],
            "early_first_order_value": [300.0, np.nan, 40.0],
            "early_orders": [2.0, 0.0, 1.0],
            "early_revenue": [400.0, np.nan, 40.0],
            "early_promo_share": [0.5, np.nan, 1.0],
            "early_tickets": [1.0, 0.0, 1.0],
            "early_effort_minutes": [30.0, 0.0, 15.0],
        },
        index=pd.Index(["n1", "n2", "n3"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(out[list(NUMERIC_COLUMNS)], expected, check_index_type=False)


def test_events_after_the_cutoff_change_nothing() -> None:
    tables = _tables()
    before = early_life_features(tables, CUTOFF, 60, ["segment"])
    later = {k: v.copy() for k, v in tables.items()}
    extra = pd.DataFrame(
        {
            "order_id": ["x1"],
            "customer_id": ["n2"],
            "ordered_at": [CUTOFF],
            "revenue": [1e6],
            "promo": pd.array([True], dtype="boolean"),
        }
    )
    later["orders"] = pd.concat([later["orders"], extra], ignore_index=True)
    later["referrals"] = pd.concat(
        [
            later["referrals"],
            pd.DataFrame({"referrer_id": ["old"], "referred_id": ["n3"], "referred_at": [CUTOFF]}),
        ]
    )
    pd.testing.assert_frame_equal(before, early_life_features(later, CUTOFF, 60, ["segment"]))


def test_without_signups_there_is_no_new_customer() -> None:
    tables = _tables()
    tables["customers"] = tables["customers"].drop(columns="signup_at")
    assert early_life_features(tables, CUTOFF, 60, ["segment"]).empty
    tables.pop("customers")
    assert early_life_features(tables, CUTOFF, 60, ["segment"]).empty


def test_without_tickets_effort_is_unknown_not_zero() -> None:
    tables = _tables()
    tables.pop("tickets")
    out = early_life_features(tables, CUTOFF, 60, [])
    assert out["early_tickets"].isna().all() and out["early_effort_minutes"].isna().all()
    assert out.loc["n1", "early_orders"] == pytest.approx(2.0)


def test_new_status_rule_by_hand() -> None:
    """`new` = in the first weeks and left `no_orders_yet` or `lapsed`; scored and cancelled stay as they are."""
    from features.population import STATUSES, new_customers

    status = pd.Series(
        ["scored", "no_orders_yet", "lapsed", "cancelled", "no_orders_yet"], index=["a", "b", "c", "d", "e"]
    )
    early = pd.Index(["a", "b", "c", "d", "x"])  # e signed up too long ago; x is not in the scores
    assert new_customers(status, early).tolist() == [False, True, True, False, False]
    assert STATUSES[:4] == (
        "scored",
        "cancelled",
        "lapsed",
        "no_orders_yet",
    )  # the codes of classify unchanged
    assert "new" in STATUSES


def test_the_id_lookup_is_pandas_isin_with_missing_and_foreign_ids() -> None:
    from features.validation import isin_ids

    values = pd.Series(["a", None, "c", "b", "a"], dtype="str")
    ids = pd.Index(["a", "b", "z"], dtype="str")
    expected = values.isin(ids).to_numpy(dtype=bool)
    assert isin_ids(values, ids).tolist() == expected.tolist() == [True, False, False, True, True]
    assert isin_ids(values.astype("object"), pd.Index(["c"])).tolist() == [False, False, True, False, False]
    assert not isin_ids(values, pd.Index([], dtype="str")).any()
