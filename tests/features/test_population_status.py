"""`customer_status` on hand-written rows: every status and every wording of `status_reason` (issue 14 rewrote
it over integer customer codes; these are the answers of the rule, worked out by hand)."""

from __future__ import annotations

import pandas as pd

from features.population import customer_status
from pipelines.config import load_config

CUTOFF = pd.Timestamp("2025-01-01")


def _tables() -> dict[str, pd.DataFrame]:
    def ts(values: list) -> pd.Series:
        return pd.Series(pd.to_datetime(values, format="ISO8601")).astype("datetime64[ns]")

    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5"],
            "customer_id": ["A", "A", "D", "F", "C"],
            "ordered_at": ts(
                ["2024-03-01", "2024-06-01 18:00", "2022-01-01 06:00", "2025-02-01", "2024-09-01"]
            ),
            "revenue": [10.0, 20.0, 5.0, 7.0, 3.0],
        }
    ).astype({"order_id": "str", "customer_id": "str"})
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "G"],
            "signup_at": ts(["2024-01-01", "2024-12-01", "2023-01-01", "2020-01-01"]),
            "churned_at": ts([None, None, "2024-10-01", None]),
        }
    ).astype({"customer_id": "str"})
    tickets = pd.DataFrame(
        {"ticket_id": ["t1"], "customer_id": ["E"], "opened_at": ts(["2024-05-01"]), "effort_minutes": [5.0]}
    ).astype({"ticket_id": "str", "customer_id": "str"})
    return {"orders": orders, "customers": customers, "tickets": tickets}


def test_every_status_and_reason_by_hand():
    labels = load_config(None).labels  # max_lapse_days 730, orders required, cancelled excluded
    got = customer_status(_tables(), CUTOFF, labels).set_index("customer_id")
    unknown = "no order before the as-of (known only from other tables or from later events)"
    assert got.to_dict("index") == {
        "A": {"status": "scored", "status_reason": "active: last order on 2024-06-01"},
        "B": {
            "status": "no_orders_yet",
            "status_reason": "signed up on 2024-12-01, no order before the as-of yet",
        },
        "C": {"status": "cancelled", "status_reason": "cancelled on 2024-10-01"},
        "D": {  # 2022-01-01 06:00 to 2025-01-01: 1095.75 days, rounded
            "status": "lapsed",
            "status_reason": "no order for 1,096 days (last order on 2022-01-01); more than 730 days counts as lapsed",
        },
        "E": {"status": "no_orders_yet", "status_reason": unknown},
        "F": {"status": "no_orders_yet", "status_reason": unknown},  # only an order after the cutoff
        "G": {
            "status": "no_orders_yet",
            "status_reason": "signed up on 2020-01-01, no order before the as-of yet",
        },
    }
    assert list(got.index) == sorted(got.index) and str(got.index.dtype) == "str"


def test_signups_count_as_activity_when_orders_are_not_required():
    labels = load_config(None).labels.model_copy(update={"require_order_before_cutoff": False})
    got = customer_status(_tables(), CUTOFF, labels).set_index("customer_id")
    assert got.loc["B"].tolist() == ["scored", "signed up, no order yet"]
    assert got.loc["G"].tolist() == [
        "lapsed",
        "no order for 1,827 days (signed up on 2020-01-01); more than 730 days counts as lapsed",
    ]
