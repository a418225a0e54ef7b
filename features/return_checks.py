"""Returns against their orders: a return of another customer's order, above or before it, several adding up past
its revenue, dated at its order's very instant, naming orders by another spelling; and the stops when most returns
fail one such rule (a unit, a numbering, a date convention). Pure functions over validated tables, called by
`features.validation.validate_tables` and the Spark engine (`pipelines.engines.spark_orders`, `spark_stops`). The
shared thresholds and the respelled-ids rule: `features.crossrefs`; the churn dates: `features.churn_checks`; the
assignments against their managers: `features.manager_checks`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from features.crossrefs import MIN_RESPELLED, RESPELLED_SHARE, check_respelled_refs, same_timed_instant

FOREIGN_ORDER = "order_id of another customer's order"
ABOVE_ORDER = "amount above its order's revenue"
BEFORE_ORDER = "returned_at before its order's ordered_at (a day earlier or more)"


def foreign_order_returns(
    returns: pd.DataFrame, orders: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three masks over `returns` (validated rows): its `order_id` names an order of `orders` (the accepted
    orders) placed by ANOTHER customer; (of the others) it refunds more than the order's revenue; it was returned
    a day or more before that order was placed.

    A return booked against another customer's order has one of its two ids wrong: counted for its
    `customer_id`, it would charge one customer with another's refund. A return of an order not in `orders` is
    kept: its order may predate the export."""
    none = np.zeros(len(returns), dtype=bool)
    if "order_id" not in returns.columns or not len(returns) or not len(orders):
        return none, none.copy(), none.copy()
    from features.ids import positions_in

    by_order = orders.drop_duplicates("order_id").set_index("order_id")
    at = positions_in(returns["order_id"], by_order.index)
    found = (at >= 0) & returns["order_id"].notna().to_numpy()
    owner = np.full(len(returns), None, dtype=object)
    owner[found] = by_order["customer_id"].to_numpy(dtype=object)[at[found]]
    foreign = found & (owner != returns["customer_id"].to_numpy(dtype=object))
    placed = np.full(len(returns), np.datetime64("NaT"), dtype="datetime64[ns]")
    placed[found] = by_order["ordered_at"].to_numpy(dtype="datetime64[ns]")[at[found]]
    # a refund larger than what the customer paid for the order (a cent of rounding allowed)
    paid = np.full(len(returns), np.nan)
    paid[found] = by_order["revenue"].to_numpy(dtype="float64")[at[found]]
    above = found & ~foreign & (returns["amount"].to_numpy(dtype="float64") > paid + 0.01)
    # by day: a return dated `2023-01-05` of an order placed at 10:00 that day is not before it
    returned = returns["returned_at"].to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    before = found & ~foreign & ~above & (returned < placed.astype("datetime64[D]"))
    return foreign, above, before


def reject_order_mismatches(returns: pd.DataFrame, orders: pd.DataFrame, rej: Any) -> None:
    """Reject (`rej.add(mask, reason)`, first reason kept) the returns `foreign_order_returns` finds, with their
    reasons: the one rule both engines apply (`features.validation`, `pipelines.engines.spark_checks`)."""
    foreign, above, before = foreign_order_returns(returns, orders)
    rej.add(foreign, FOREIGN_ORDER)
    rej.add(above, ABOVE_ORDER)
    rej.add(before, BEFORE_ORDER)


def check_respelled_orders(
    returns: pd.DataFrame, unknown: pd.Series | np.ndarray, accepted_orders: Callable[[], pd.Series]
) -> None:
    """`check_respelled_refs`' rule for the returns' `order_id` against the accepted orders' ids: many returns
    (`unknown`: accepted so far, naming no accepted order) naming orders by another spelling (`ord-1` for `ORD-1`,
    `1` for `O000001`) stop; fewer are kept, as a return of an order older than the export (was: every return so
    kept, exit 0, the checks against its order skipped without a word). `accepted_orders`: called only when
    enough returns name no order (an index of every order is the loading's peak at 1M, issue 14). Both engines
    (`validate_tables`; the Spark engine's `spark_cross_stops.returns_stops`)."""
    n = int(np.asarray(unknown, dtype=bool).sum())
    if "order_id" not in returns.columns or n < max(MIN_RESPELLED, RESPELLED_SHARE * len(returns)):
        return
    known = pd.Index(accepted_orders().dropna().unique())
    check_respelled_refs("returns", returns, "order_id", known, pd.Series(unknown), "orders", what="order")


BEYOND_ORDER = "returns of its order add up to more than the order's revenue (refunded twice?)"


def returns_beyond_order(returns: pd.DataFrame, orders: pd.DataFrame, ok: np.ndarray) -> np.ndarray:
    """Which returns (of the rows `ok`, each at most its order's revenue) bring the refunds of their `order_id`'s
    order above its revenue, counted in time order (`returned_at`, then `return_id`): the same refund exported
    twice under two return ids, or partial refunds summing past the price. Counted, the customer is charged with
    more than they paid. The first return that passes the revenue and every later one of that order are marked."""
    out = np.zeros(len(returns), dtype=bool)
    if "order_id" not in returns.columns or not len(returns) or not len(orders):
        return out
    from features.ids import positions_in

    by_order = orders.drop_duplicates("order_id").set_index("order_id")
    at = positions_in(returns["order_id"], by_order.index)
    idx = np.flatnonzero((at >= 0) & returns["order_id"].notna().to_numpy() & ok)
    if not len(idx):
        return out
    sub = pd.DataFrame(
        {
            "order": returns["order_id"].to_numpy(dtype=object)[idx],
            "when": returns["returned_at"].to_numpy(dtype="datetime64[ns]")[idx],
            "key": returns["return_id"].to_numpy(dtype=object)[idx] if "return_id" in returns else idx,
            "amount": returns["amount"].to_numpy(dtype="float64")[idx],
            "paid": by_order["revenue"].to_numpy(dtype="float64")[at[idx]],
            "pos": idx,
        }
    )
    several = sub["order"].duplicated(keep=False).to_numpy()  # one return per order: the single-return rule
    sub = sub[several].sort_values(["order", "when", "key"], kind="mergesort")
    beyond = sub.groupby("order", sort=False)["amount"].cumsum() > sub["paid"] + 0.01
    out[sub["pos"].to_numpy()[beyond.to_numpy()]] = True
    return out


#: Per return-against-order reject: what most returns naming an order in the data failing it means.
RETURN_CONVENTIONS = {
    FOREIGN_ORDER: (
        "order_id",
        "another customer's order",
        "the returns' order ids are another numbering than the orders' (return or line numbers that happen to be "
        "order ids too?), or the two tables write customer ids differently. Give each return the order_id of the "
        "order it refunds",
    ),
    ABOVE_ORDER: (
        "amount",
        "above its order's revenue",
        "another unit than the orders' (cents for units, with tax against without)? Give refunds in the orders' "
        "unit and currency",
    ),
    BEFORE_ORDER: (
        "returned_at",
        "dated a day or more before its order",
        "the returns' dates and the orders' are not the same kind of date, or one is in another format or zone? "
        "Give each return the date it was returned",
    ),
}


def check_returns_against_orders(returns: pd.DataFrame, reasons: np.ndarray, named: int) -> None:
    """Structural error when most returns naming an accepted order (`named` of them; `reasons`: each return's
    reason so far) fail one of the `RETURN_CONVENTIONS` (and at least 3): the returns refund in another unit
    (cents for units), name orders by another numbering, or are dated otherwise. Rejected one by one, every
    return would be dropped with exit 0 and every customer's profit overstated (the demo's returns in cents:
    2,561 of 2,561 rejected)."""
    from features.errors import StructuralError
    from features.names import examples

    for reason, (column, what, why) in RETURN_CONVENTIONS.items():
        hit = np.asarray(reasons == reason, dtype=bool)
        n = int(hit.sum())
        if n >= MIN_RESPELLED and n > 0.5 * named:
            shown = [c for c in ("return_id", "customer_id", "order_id", column) if c in returns]
            raise StructuralError(
                f"table 'returns', column {column!r}: {what} on {n:,} of the {named:,} returns naming an order in "
                f"the data: {why}.\nExample rows:\n{examples(returns[list(dict.fromkeys(shown))], hit)}"
            )


def returns_at_order(returns: pd.DataFrame, orders: pd.DataFrame, ok: np.ndarray | None = None) -> np.ndarray:
    """Which `returns` (among `ok`, those still accepted; None: every one) are dated at the very instant of the
    accepted order (`orders`) their `order_id` names: the order's date exported as the return's. Every return of
    an order is in its Spark bucket (`spark_orders.judge_returns`, bit 1 of `NAMED`)."""
    out = np.zeros(len(returns), dtype=bool)
    if not {"order_id", "returned_at"} <= set(returns.columns) or "ordered_at" not in orders.columns:
        return out
    from features.ids import positions_in

    at = positions_in(returns["order_id"], orders["order_id"])  # the accepted orders' ids are distinct
    found = (at >= 0) & (True if ok is None else np.asarray(ok, dtype=bool))
    ordered = orders["ordered_at"].to_numpy(dtype="datetime64[ns]")[at[found]]
    out[found] = same_timed_instant(returns["returned_at"].to_numpy(dtype="datetime64[ns]")[found], ordered)
    return out


def check_returns_at_order(returns: pd.DataFrame, orders: pd.DataFrame, named: int) -> None:
    """Structural error when most returns naming an order in the data (`named`; and `MIN_RESPELLED`) are dated at
    the very instant of their order, at a time of day (`returns_at_order`; `returns`, `orders`: the accepted): the
    order's date exported as the return's (round 35, was: exit 0, each refund counted from its order's day on,
    before it happened, in training's features too). Both engines (Spark counts per bucket, then calls it)."""
    from features.errors import StructuralError
    from features.names import examples

    hit = returns_at_order(returns, orders)
    n = int(hit.sum())
    if n < MIN_RESPELLED or n <= 0.5 * named:
        return
    shown = [c for c in ("return_id", "customer_id", "order_id", "returned_at") if c in returns]
    raise StructuralError(
        f"table 'returns', column 'returned_at': {n:,} of the {named:,} returns naming an order in the data are "
        "dated at the very instant of their order: the order's date exported as the return's? Read so, each "
        "refund counts from its order's day on, before it happened. Give each return the date it was returned."
        f"\nExample rows:\n{examples(returns[shown], hit)}"
    )


def judge_return_totals(returns: pd.DataFrame, orders: pd.DataFrame, rej: Any) -> None:
    """After `reject_order_mismatches` (its reasons in `rej.reason`): most returns above their order is a unit
    problem (`check_returns_against_orders`, structural), and so are most of another customer's order or dated
    before it; then the returns adding up past their order are rejected
    (`returns_beyond_order`). `orders`: the accepted orders the returns may name. Whole tables only (pandas)."""
    if "order_id" in returns.columns:
        from features.ids import positions_in

        found = positions_in(returns["order_id"], orders["order_id"].dropna().unique()) >= 0
        check_returns_against_orders(returns, rej.reason, int(found.sum()))
    rej.add(returns_beyond_order(returns, orders, rej.ok), BEYOND_ORDER)
    if "order_id" in returns.columns:  # of the returns still accepted, as the Spark engine counts them
        check_returns_at_order(returns[rej.ok], orders, int(found.sum()))
