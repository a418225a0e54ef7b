"""Customers' `churned_at` against their orders: an order a day or more after it (a cancellation kept after the
customer came back) and a `churned_at` at the very instant of the last order (a "last purchase" column exported as
the cancellation), with the stops when many customers show either. Pure functions over validated tables, called by
`features.validation.validate_tables` (`judge_orders_after_churn`) and the Spark engine (`spark_checks.check_bucket`
counts per bucket, `spark_cross_stops.churn_stops` judges). Other cross-table rules: `features.crossrefs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.crossrefs import MIN_RESPELLED, RESPELLED_SHARE, same_timed_instant

#: `check_churn_at_last_order` stops from this many customers at their last order's instant, when `CHURN_HOLDERS_SHARE`
#: of those with an order hold a `churned_at` (a "last purchase" column: each; a subscription's: the cancelled only).
MIN_CHURN_AT_ORDER = 20
CHURN_HOLDERS_SHARE = 0.9


def _last_orders(customers: pd.DataFrame, orders: pd.DataFrame, found: Any = None) -> np.ndarray:
    """Per row of `customers` (ids unique), the latest `ordered_at` of `orders` naming it (NaT when none): ids
    matched in one Arrow pass (`features.ids.positions_in`), no Python object per order; `found` if found."""
    if found is not None:
        return found
    from features.ids import positions_in

    at = positions_in(orders["customer_id"], pd.Series(customers["customer_id"]).reset_index(drop=True))
    times = pd.Series(orders["ordered_at"]).to_numpy(dtype="datetime64[ns]").view(np.int64)
    nat = np.iinfo(np.int64).min  # NaT's integer: below every date, so `maximum` skips it
    last = np.full(len(customers), nat, dtype=np.int64)
    np.maximum.at(last, at[at >= 0], times[at >= 0])
    return last.view("datetime64[ns]")


def ordered_after_churn(customers: pd.DataFrame, orders: pd.DataFrame, last: Any = None) -> np.ndarray:
    """Which `customers` (accepted rows, ids unique) have a `churned_at` and one of `orders` (accepted) dated a
    day or more after it. Every order of a customer is in their Spark bucket (`spark_checks.check_bucket`)."""
    if "churned_at" not in customers.columns or not {"customer_id", "ordered_at"} <= set(orders.columns):
        return np.zeros(len(customers), dtype=bool)
    churned = pd.Series(customers["churned_at"]).to_numpy(dtype="datetime64[ns]")
    gap = _last_orders(customers, orders, last) - churned  # NaT where either is missing: compares False
    return gap >= np.timedelta64(1, "D")


def churned_at_last_order(customers: pd.DataFrame, orders: pd.DataFrame, last: Any = None) -> np.ndarray:
    """Which `customers` (accepted rows, ids unique) have a `churned_at` at the very instant of their last order
    (`orders`: accepted): the column filled from the last order's date. Every order of a customer is in their
    Spark bucket (`spark_checks.check_bucket`, bit 1 of `AFTER_CHURN`)."""
    if "churned_at" not in customers.columns or not {"customer_id", "ordered_at"} <= set(orders.columns):
        return np.zeros(len(customers), dtype=bool)
    churned = pd.Series(customers["churned_at"]).to_numpy(dtype="datetime64[ns]")
    return same_timed_instant(churned, _last_orders(customers, orders, last))


def check_churn_at_last_order(customers: pd.DataFrame, orders: pd.DataFrame, last: Any = None) -> None:
    """Structural error when most customers holding a `churned_at` (and `MIN_CHURN_AT_ORDER`) have it at the very
    instant of their last order, at a time of day (`churned_at_last_order`), and `CHURN_HOLDERS_SHARE` of the
    customers with an order hold one: a "last purchase" date exported as the cancellation (round 35, was: exit 0,
    each `cancelled` from their last order on: not scored, left out of training). Both engines (Spark counts per
    bucket, then calls it); `last`: `_last_orders`, if found."""
    from features.errors import StructuralError
    from features.names import examples

    hit = churned_at_last_order(customers, orders, last)
    n = int(hit.sum())
    if n < MIN_CHURN_AT_ORDER:
        return
    holds = pd.Series(customers["churned_at"]).notna().to_numpy()
    last = _last_orders(customers, orders, last)
    ordered = ~np.isnat(last)
    holding, buyers, both = int(holds.sum()), int(ordered.sum()), int((holds & ordered).sum())
    if n <= 0.5 * holding or both < CHURN_HOLDERS_SHARE * buyers:
        return  # only the cancelled hold one: a final charge at the cancellation is read
    shown = customers.loc[hit, ["customer_id", "churned_at"]].assign(**{"last ordered_at": last[hit]})
    raise StructuralError(
        f"table 'customers', column 'churned_at': {n:,} of the {holding:,} customers with a churned_at have it "
        f"at the very instant of their last order (a time of day), and {both:,} of the {buyers:,} customers with "
        "an order hold one: the last order's date (a 'last purchase' or 'last activity' "
        "column) exported as the cancellation? Read as given, each would be `cancelled` (not scored, left out of "
        "training) from their last order on. Export the date each customer cancelled (empty for those who did "
        "not), or leave the column out.\nExample rows:\n"
        f"{examples(shown, also=['last ordered_at'])}"
    )


def judge_orders_after_churn(parsed: Mapping[str, tuple[pd.DataFrame, Any, Any]]) -> None:
    """`check_churn_dates` on `validate_tables`' parsed tables (each with its `_Rejector`): the accepted rows' two
    columns only (a copy of the whole orders table was the loading peak's growth)."""
    (c, c_rej, _), (o, o_rej, _) = parsed["customers"], parsed["orders"]
    if "churned_at" in c.columns and {"customer_id", "ordered_at"} <= set(o.columns):
        orders = o.loc[o_rej.ok, ["customer_id", "ordered_at"]]
        check_churn_dates(c.loc[c_rej.ok, ["customer_id", "churned_at"]], orders)


def check_churn_dates(customers: pd.DataFrame, orders: pd.DataFrame) -> None:
    """`check_orders_after_churn`, `check_churn_at_last_order`: the last orders found once (0.8 CPU-s per 10M)."""
    last = _last_orders(customers, orders)
    check_orders_after_churn(customers, orders, last)
    check_churn_at_last_order(customers, orders, last)


def check_orders_after_churn(customers: pd.DataFrame, orders: pd.DataFrame, last: Any = None) -> None:
    """Structural error when `RESPELLED_SHARE` of the accepted `customers` (and `MIN_RESPELLED`) ordered a day or
    more after their `churned_at`: the export keeps a cancellation the customers came back from (or the column is
    another date). So many are not win-backs (`features.population.came_back`, which fewer are read as): read as
    given, each would be `cancelled` between the two dates, a column that may mean nothing else. `orders`: the
    accepted orders. Whole tables (both engines: Spark counts per bucket, then calls it)."""
    from features.errors import StructuralError
    from features.names import examples

    hit = ordered_after_churn(customers, orders, last)
    n = int(hit.sum())
    if n < max(MIN_RESPELLED, RESPELLED_SHARE * len(customers)):
        return
    shown = customers.loc[hit, ["customer_id", "churned_at"]]
    shown = shown.assign(**{"last ordered_at": _last_orders(customers, orders, last)[hit]})
    raise StructuralError(
        f"table 'customers', column 'churned_at': {n:,} of the {len(customers):,} customers have an order dated a "
        "day or more after their churned_at: a cancellation kept after the customer came back, or another date? "
        "So many are not win-backs: read as given, each would be `cancelled` (not scored, left out of training) "
        "from that date to their next order. Export the current cancellation (empty for a customer who came "
        "back).\nExample rows:\n"
        f"{examples(shown, also=['last ordered_at'])}"
    )
