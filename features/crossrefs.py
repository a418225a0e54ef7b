"""Rules across tables beside the customer references: a return against its `order_id`'s order, and customer
dates against the data's last order.

Pure functions over validated tables, called by `features.validation.validate_tables` (a row is rejected for the
first problem found) and by the Spark engine's checks (`pipelines.engines.spark_checks`: `far_future` in the
customer buckets with the last order sent to every bucket, `foreign_order_returns` after a join of the returns
with the accepted orders on `order_id`). The referrals' own rules (a customer referred after referring, referrals
against the signups): `features.referral_rules`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

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


#: A customer date this long after the data's last order cannot have been known when the data was exported: a
#: mistyped year (2098 for 2018). A scheduled cancellation or a signup a few months past the last order is kept.
FUTURE_MARGIN = pd.Timedelta(days=366)


def far_future(customers: pd.DataFrame, last_order: pd.Timestamp) -> dict[str, np.ndarray]:
    """Per customer date column (`signup_at`, `churned_at`), the rows dated more than `FUTURE_MARGIN` after
    `last_order` (the latest accepted order). Such a signup left tenure to be taken from the first order without
    a word; such a cancellation was a customer never cancelled."""
    out: dict[str, np.ndarray] = {}
    if pd.isna(last_order):
        return out
    for col in ("signup_at", "churned_at"):
        if col in customers.columns:
            out[col] = (customers[col] > last_order + FUTURE_MARGIN).to_numpy(dtype=bool)
    return out


def far_future_reason(col: str, last_order: pd.Timestamp) -> str:
    return f"{col} more than a year after the last order ({last_order.date()}): a mistyped year?"


def reject_order_mismatches(returns: pd.DataFrame, orders: pd.DataFrame, rej: Any) -> None:
    """Reject (`rej.add(mask, reason)`, first reason kept) the returns `foreign_order_returns` finds, with their
    reasons: the one rule both engines apply (`features.validation`, `pipelines.engines.spark_checks`)."""
    foreign, above, before = foreign_order_returns(returns, orders)
    rej.add(foreign, FOREIGN_ORDER)
    rej.add(above, ABOVE_ORDER)
    rej.add(before, BEFORE_ORDER)


def reject_far_future(customers: pd.DataFrame, last_order: pd.Timestamp, rej: Any) -> None:
    """Reject (`rej.add(mask, reason)`) the customer dates `far_future` finds, each with its column's reason."""
    for col, mask in far_future(customers, last_order).items():
        rej.add(mask, far_future_reason(col, last_order))


#: From this share of a table's rows (and `MIN_RESPELLED` rows), references to customers that the customers table
#: holds under another spelling of their id are the exports' id formats differing, not typos.
RESPELLED_SHARE = 0.01
MIN_RESPELLED = 3
#: `check_churn_at_last_order` stops from this many customers at their last order's instant, when `CHURN_HOLDERS_SHARE`
#: of those with an order hold a `churned_at` (a "last purchase" column: each; a subscription's: the cancelled only).
MIN_CHURN_AT_ORDER = 20
CHURN_HOLDERS_SHARE = 0.9


def check_respelled_refs(
    table: str,
    t: pd.DataFrame,
    ref: str,
    known: pd.Index,
    unknown: pd.Series,
    reference: str = "customers",
    listed: pd.Series | None = None,
    what: str = "customer",
) -> None:
    """Structural error when many rows of `t` (`unknown`: those whose `ref` is not in `known`) name customers by
    another spelling of the ids `known` (the customers table's): `3` or `000003` for `C000003` (a prefix or
    leading zeros dropped, Parquet integers for text; `features.id_spellings.respelled_ids`). Rejected as `unknown <ref>`,
    the whole table would be lost (a train then said "orders has no dated order"). Without a customers table,
    `known` is the orders' customers (`reference` "orders"): kept, such rows were customers without an order.

    With a customers table, as many orders naming customers it lacks under no other spelling are an incomplete
    customers export (the unknown managers' rule, `check_unknown_managers`): a structural error too (was: each
    rejected `unknown customer_id`, exit 0: the demo with a third of its customers exported lost 62% of every
    table). Orders only (`table` "orders", the table the customer base comes from): a ticket from a prospect or a
    trial user, an order of a customer erased under the GDPR are a side table's normal rows, kept `unknown
    customer_id` rejects, which the run's warnings count (`pipelines.rejected_rows.said`). `listed`: every id of
    the customers table, its rejected rows' too: a customer the table holds on a rejected row is that row's fault,
    not a missing customer. Fewer stay row rejects. `what`: the thing `ref` names ("order": the returns' `order_id`
    against the orders', `check_respelled_orders`)."""
    from features.errors import StructuralError
    from features.id_spellings import respelled_ids

    n = int(unknown.sum())
    if n < max(MIN_RESPELLED, RESPELLED_SHARE * len(t)):
        return
    unknown = t.loc[unknown.to_numpy(dtype=bool), ref]
    pairs = respelled_ids(pd.Series(unknown.unique()), pd.Series(known))
    matched = unknown.isin(pd.Index([a for a, _ in pairs])) if pairs else unknown.iloc[:0]
    if pairs and matched.sum() >= max(MIN_RESPELLED, RESPELLED_SHARE * len(t)):
        shown = ", ".join(f"{a!r} for {b!r}" for a, b in pairs[:3])
        raise StructuralError(
            f"table {table!r}, column {ref!r}: {int(matched.sum()):,} of {len(t):,} rows name "
            f"{'an' if what[0] in 'aeiou' else 'a'} {what} the {reference} table writes otherwise ({shown}): the "
            f"exports write {what} ids differently (a prefix or leading zeros dropped, numbers for text, another "
            f"letter case). Read as other {what}s, these rows would be lost to theirs. Write the ids the same way "
            "in every table (keep them as text)"
        )
    if listed is not None and table == "orders":  # the customers it lacks (not those it rejected): some only
        absent = unknown[~unknown.isin(listed.dropna())]  # run only when the rule may fire
        if len(absent) < max(MIN_RESPELLED, RESPELLED_SHARE * len(t)):
            return
        shown = ", ".join(map(repr, absent.value_counts().index[:3]))
        raise StructuralError(
            f"table {table!r}, column {ref!r}: {len(absent):,} of {len(t):,} rows name a customer the customers "
            "table does "
            f"not list ({shown}): an incomplete customers export (former or deleted customers left out, a "
            f"filtered export?). Rejected as `unknown {ref}`, these rows would be dropped with everything they "
            "say about their customers. Export every customer the tables name, or remove the customers table to "
            "work without one"
        )


def check_respelled_orders(
    returns: pd.DataFrame, unknown: pd.Series | np.ndarray, accepted_orders: Callable[[], pd.Series]
) -> None:
    """`check_respelled_refs`' rule for the returns' `order_id` against the accepted orders' ids: many returns
    (`unknown`: accepted so far, naming no accepted order) naming orders by another spelling (`ord-1` for `ORD-1`,
    `1` for `O000001`) stop; fewer are kept, as a return of an order older than the export (was: every return so
    kept, exit 0, the checks against its order skipped without a word). `accepted_orders`: called only when
    enough returns name no order (an index of every order is the loading's peak at 1M, issue 14). Both engines
    (`validate_tables`; the Spark engine's `spark_stops.returns_stops`)."""
    n = int(np.asarray(unknown, dtype=bool).sum())
    if "order_id" not in returns.columns or n < max(MIN_RESPELLED, RESPELLED_SHARE * len(returns)):
        return
    known = pd.Index(accepted_orders().dropna().unique())
    check_respelled_refs("returns", returns, "order_id", known, pd.Series(unknown), "orders", what="order")


#: What tells twin ids apart (`check_case_twins`): `C0042` / `c0042`, and since round 30 `00042` / `42`.
_TWINS = "letter case or leading zeros"


def check_case_twins(table: str, column: str, ids: pd.Series, rows: int) -> None:
    """Structural error when `MIN_RESPELLED` ids of `column` (`ids`: its accepted ids), and 1% of the table's
    `rows`, each have a twin differing only by letter case or leading zeros (`features.id_spellings.case_twins_and_rows`:
    `C0042` and `c0042`, `00042` and `42`):
    the same customers exported twice under two spellings, which would double the base. Fewer stay two customers
    (ids are exact text), said by the loading note (`pipelines.load_notes.case_notes`).

    `table` "customers" counts the ids (a row each); "orders" (without a customers table, nothing says who the
    customers are) the rows naming either spelling: `C001` on some orders and `c001` on others split one
    customer's orders in two, each scored as a customer of its own."""
    from features.errors import StructuralError
    from features.id_spellings import case_twins_and_rows

    n, examples, rows_named = case_twins_and_rows(ids)
    if n < MIN_RESPELLED:
        return
    named = n if table == "customers" else rows_named
    if named < RESPELLED_SHARE * rows:
        return
    shown = "; ".join(" / ".join(repr(i) for i in group) for group in examples)
    if table == "customers":
        raise StructuralError(
            f"table {table!r}, column {column!r}: {n:,} ids (of {rows:,} rows) have a twin differing only by "
            f"{_TWINS} ({shown}): the same customers exported twice under two spellings, which would count "
            "each twice. Export each customer once, with its id spelled one way"
        )
    raise StructuralError(
        f"table {table!r}, column {column!r}: {named:,} of {rows:,} rows name one of {n:,} ids that have a twin "
        f"differing only by {_TWINS} ({shown}): one customer's rows under two spellings (an export that "
        "changed the case, a spreadsheet that dropped the zeros of ids of digits or grouped them, `7,007`), which would "
        "count as two "
        "customers, each with a part of the orders. Write each id one way in every export, ids of digits as "
        "text (or give a customers table, which says which ids are customers)"
    )


def check_unknown_managers(table: str, t: pd.DataFrame, unknown: pd.Series) -> None:
    """Structural error when many rows of `t` (`unknown`: those naming a manager the managers table lacks; 1% of
    the rows, and 3) would be rejected for it: an incomplete managers export (former managers left out) would drop
    those customers, and every order of theirs as `unknown customer_id`, with exit 0."""
    from features.errors import StructuralError

    n = int(unknown.sum())
    if n < max(MIN_RESPELLED, RESPELLED_SHARE * len(t)):
        return
    names = t.loc[unknown.to_numpy(dtype=bool), "account_manager_id"]
    shown = ", ".join(map(repr, names.value_counts().index[:3]))
    raise StructuralError(
        f"table {table!r}, column 'account_manager_id': {n:,} of {len(t):,} rows name a manager the "
        f"account_managers table does not list ({shown}): an incomplete managers export (former "
        "managers missing?). Rejected, these rows would be lost, and for customers every order of theirs. Export every "
        "manager (with `left_at` for those who left), or leave the column empty where no manager is known"
    )


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


def same_timed_instant(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where the datetime64[ns] `a` and `b` are one instant at a time of day other than midnight (NaT: False): the
    evidence of a date copied from the order (`check_returns_at_order`, `check_churn_at_last_order`). Date-only
    columns say nothing so: same-day returns and cancellations are common (round 35's review)."""
    return (a == b) & (a.view(np.int64) % np.int64(86_400 * 10**9) != 0)  # NaT on either side compares False


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


def check_refs_against_orders(parsed: Mapping[str, tuple[pd.DataFrame, Any, Any]]) -> None:
    """Without a customers table, the orders' customers (accepted so far) are who the other tables' customer ids
    must be spelled like: `check_respelled_refs` against them. Rows naming a customer without an order are kept
    (a ticket before the first order); only many rows naming the orders' customers respelled are structural."""
    from features.contract import TABLES
    from features.ids import positions_in

    orders, orders_rej, _ = parsed["orders"]
    known = pd.Index(orders.loc[orders_rej.ok, "customer_id"].dropna().unique())
    for name, (t, rej, _) in ((n, p) for n, p in parsed.items() if n != "orders"):
        for ref in TABLES[name].customer_refs:
            unknown = t[ref].notna() & (positions_in(t[ref], known) < 0) & rej.ok
            check_respelled_refs(name, t, ref, known, unknown, "orders")


def stop_when_most(
    table: str,
    column: str,
    frame: pd.DataFrame,
    reasons: np.ndarray,
    rules: Any,
    shown: tuple[str, ...],
    question: str,
) -> None:
    """Structural error when one of `rules` ((side, reason, what) triples) rejects more than half of `frame`'s
    rows (and at least `MIN_RESPELLED`): `what` the rows are, then `question` (what the column may be instead)
    and example rows of the `shown` columns."""
    from features.errors import StructuralError
    from features.names import examples

    for _, reason, what in rules:
        hit = np.asarray(reasons == reason, dtype=bool)
        n = int(hit.sum())
        if n >= MIN_RESPELLED and n > 0.5 * len(frame):
            cols = [c for c in shown if c in frame]
            raise StructuralError(
                f"table '{table}', column '{column}': {n:,} of the {len(frame):,} {table} are {what} (a day or "
                f"more): {question}\nExample rows:\n{examples(frame[cols], hit)}"
            )


#: An assignment dated a day or more after its manager's `left_at`: the customer given to someone gone (from that
#: date their point-in-time owner a manager who had left); or before the manager's `started_at`: not there yet.
#: A day of slack: a date without its time. A manager without the date, or unknown, judges nothing.
AFTER_MANAGER_LEFT = "assigned_at after its manager's left_at (a day later or more: the manager had left)"
BEFORE_MANAGER_STARTED = "assigned_at before its manager's started_at (a day earlier or more: not there yet)"
#: (the manager's date judging an assignment, the reason, what most such assignments mean), in the order applied
TENURE_RULES = (
    ("left_at", AFTER_MANAGER_LEFT, "dated after their manager's left_at"),
    ("started_at", BEFORE_MANAGER_STARTED, "dated before their manager's started_at"),
)


def assignments_outside_tenure(assignments: pd.DataFrame, managers: pd.DataFrame, column: str) -> np.ndarray:
    """The assignments whose `assigned_at` is a day or more after their manager's `left_at` (`column`), or before
    their `started_at`; `managers`: the accepted managers (ids unique)."""
    needed = ("assigned_at", "account_manager_id")
    if column not in managers.columns or any(c not in assignments.columns for c in needed):
        return np.zeros(len(assignments), dtype=bool)
    date = pd.Series(
        managers[column].to_numpy(dtype="datetime64[ns]"), index=managers["account_manager_id"].to_numpy()
    )
    date = date[date.notna() & date.index.notna()]
    at = pd.Series(assignments["assigned_at"].to_numpy(dtype="datetime64[ns]"))
    theirs = pd.Series(
        date.reindex(assignments["account_manager_id"].to_numpy()).to_numpy(dtype="datetime64[ns]")
    )
    gap = at - theirs if column == "left_at" else theirs - at
    return (gap >= pd.Timedelta(days=1)).to_numpy(dtype=bool)


def reject_assignments_outside_tenure(t: pd.DataFrame, rej: Any, managers: pd.DataFrame) -> None:
    """`TENURE_RULES` on the assignments (`t`, its `_Rejector`), after the unknown managers, then a customer's
    assignments to two managers at one instant (`features.assignment_ties`); both engines (the Spark engine per
    customer bucket, every bucket holding the managers)."""
    from features.assignment_ties import reject_simultaneous_assignments

    for column, reason, _ in TENURE_RULES:
        rej.add(assignments_outside_tenure(t, managers, column), reason)
    reject_simultaneous_assignments(t, rej)  # then two managers from one instant


def check_assignment_tenures(assignments: pd.DataFrame, reasons: np.ndarray) -> None:
    """Structural error when one of the `TENURE_RULES` rejects more than half of the assignments (and at least 3):
    the export's `assigned_at` is another date (the last change of the row) or the managers' dates are (a current
    role's start). Rejected one by one, the manager history would be lost with exit 0."""
    stop_when_most(
        "assignments",
        "assigned_at",
        assignments,
        reasons,
        TENURE_RULES,
        ("customer_id", "account_manager_id", "assigned_at"),
        "is assigned_at another date (a row's last change), or are the account_managers' started_at and left_at? "
        "A customer is assigned to a manager while they are there.",
    )


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


#: Per table, the event dates an export cannot hold more than `FUTURE_MARGIN` after its last order: a mistyped
#: year. A payment or closing so dated leaves the invoice unpaid or the ticket open at every cutoff; a return,
#: ticket, invoice or manager assignment so dated is after every cutoff, lost from every feature without a word.
CLOSING_DATES = {
    "invoices": ("issued_at", "due_at", "paid_at"),
    "tickets": ("opened_at", "closed_at"),
    "returns": ("returned_at",),
    "assignments": ("assigned_at",),
}


def reject_far_future_closings(name: str, t: pd.DataFrame, last_order: pd.Timestamp, rej: Any) -> None:
    """Reject the rows of `t` (table `name`) with a date of `CLOSING_DATES` more than `FUTURE_MARGIN` after
    `last_order` (the latest accepted order), with `far_future_reason` (the first such column's)."""
    if pd.isna(last_order):
        return
    for col in CLOSING_DATES.get(name, ()):
        if col in t.columns:
            rej.add(
                (t[col] > last_order + FUTURE_MARGIN).to_numpy(dtype=bool), far_future_reason(col, last_order)
            )
