"""Rules across tables beside the customer references: customer and event dates against the data's last order (a
mistyped year; many: the orders export ended early, `check_orders_ended`), ids the customers table or the orders
write otherwise (respelled, letter-case twins), and the `stop_when_most` helper and shared thresholds
(`MIN_RESPELLED`, `RESPELLED_SHARE`) of the cross-table stops.

Pure functions over validated tables, called by `features.validation.validate_tables` (a row is rejected for the
first problem found) and by the Spark engine's checks (`pipelines.engines.spark_checks`: `far_future` in the
customer buckets with the last order sent to every bucket). Rooms beside it: returns against their orders
(`features.return_checks`), `churned_at` against the orders (`features.churn_checks`), rows against the account
managers (`features.manager_checks`), the referrals' own rules (`features.referral_rules`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

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


def last_order_of(reason: str, col: str) -> pd.Timestamp | None:
    """The last order's day a `far_future_reason` of `col` names (None: `reason` is none): the Spark driver reads
    it from its counts per reason (`spark_cross_stops.cross_table_stops`), the rows judged with it."""
    head = far_future_reason(col, pd.Timestamp("2000-01-01")).split("(")[0] + "("
    if not reason.startswith(head):
        return None
    day = pd.Timestamp(reason[len(head) : len(head) + 10])
    return day if far_future_reason(col, day) == reason else None


def reject_far_future(customers: pd.DataFrame, last_order: pd.Timestamp, rej: Any) -> None:
    """Reject (`rej.add(mask, reason)`) the customer dates `far_future` finds, each with its column's reason."""
    for col, mask in far_future(customers, last_order).items():
        rej.add(mask, far_future_reason(col, last_order))


#: From this share of a table's rows (and `MIN_RESPELLED` rows), references to customers that the customers table
#: holds under another spelling of their id are the exports' id formats differing, not typos.
RESPELLED_SHARE = 0.01
MIN_RESPELLED = 3


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
    from features.id_spellings import case_twins_and_rows

    stop_case_twins(table, column, *case_twins_and_rows(ids), rows)


def stop_case_twins(
    table: str, column: str, n: int, examples: list[tuple[str, ...]], rows_named: int, rows: int
) -> None:
    """`check_case_twins`' judgement and words from its counts: `n` twin groups, a few (`examples`), the values
    naming one of them (`rows_named`) of the table's `rows`. Also the Spark sampled training's, whose counts a Spark
    aggregation gives (`pipelines.engines.spark_training.check_id_twins_spark`, round 38)."""
    from features.errors import StructuralError

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


def same_timed_instant(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where the datetime64[ns] `a` and `b` are one instant at a time of day other than midnight (NaT: False): the
    evidence of a date copied from the order (`check_returns_at_order`, `check_churn_at_last_order`). Date-only
    columns say nothing so: same-day returns and cancellations are common (round 35's review)."""
    return (a == b) & (a.view(np.int64) % np.int64(86_400 * 10**9) != 0)  # NaT on either side compares False


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


#: From this many rows of a table (and `RESPELLED_SHARE` of its rows) opened more than `FUTURE_MARGIN` after the
#: last order, with the table running on through the year after it (`ORDERS_ENDED_MONTHS`), they are no mistyped
#: years: the orders export ends a year or more before the table's.
ORDERS_ENDED_MIN = 20
#: An orders export that stopped leaves the other table's rows in the year after its last order, `(last_order,
#: last_order + FUTURE_MARGIN]`: opened in at least this many distinct calendar months of it. A clump of far dates
#: with that year empty (a batch with a wrong year, scheduled work) stays row rejects.
ORDERS_ENDED_MONTHS = 6


def check_orders_ended(name: str, t: pd.DataFrame, reasons: np.ndarray, last_order: pd.Timestamp) -> None:
    """Structural error when `ORDERS_ENDED_MIN` rows of `t` (table `name`, and `RESPELLED_SHARE` of its rows; its
    `reasons`: each row's reject reason or None) were rejected by `reject_far_future_closings` for the table's
    opening date (`CLOSING_DATES[name][0]`: a due, payment or closing date far off is the row's own) and the
    table's rows are opened in `ORDERS_ENDED_MONTHS` months of the year after the last order: an orders export
    that stopped (or covers part of the period) while this table's ran on, not as many mistyped years (round 37;
    was: each a row reject "a mistyped year?", exit 0 and a warning: the tickets, returns or invoices of that time
    lost). Otherwise they stay row rejects. Whole tables, after the rejects (both engines: Spark from its counts
    per reason, then the rows on the driver)."""
    from features.errors import StructuralError
    from features.names import examples

    col = CLOSING_DATES.get(name, ("",))[0]
    if pd.isna(last_order) or col not in t.columns:
        return
    floor = max(ORDERS_ENDED_MIN, RESPELLED_SHARE * len(t))
    # the dates first (a comparison per row), the reasons (objects) only when enough rows may hold one
    if int((t[col] > last_order + FUTURE_MARGIN).sum()) < floor:
        return
    hit = np.asarray(reasons == far_future_reason(col, last_order), dtype=bool)
    n = int(hit.sum())
    gap = t[col][(t[col] > last_order) & (t[col] <= last_order + FUTURE_MARGIN)]
    months = int((gap.dt.year * 12 + gap.dt.month).nunique())
    if n < floor or months < ORDERS_ENDED_MONTHS:
        return
    latest = pd.Timestamp(t.loc[hit, col].max()).date()
    shown = [c for c in (f"{name[:-1]}_id", "customer_id", col) if c in t.columns]
    raise StructuralError(
        f"table {name!r}, column {col!r}: {n:,} of the {len(t):,} rows are dated more than a year after the "
        f"last order ({last_order.date()}), up to {latest}: the orders export ends a year or more before the "
        f"{name} export (an orders export that stopped, or of part of the period?), not {n:,} mistyped years: "
        f"{len(gap):,} {name} run on through the year after it ({months} of its months). Rejected one by one, "
        f"these rows would be lost with what they say of their customers. Export the orders again for the whole "
        f"period, or cut the {name} (and every other table) at the orders' end ({last_order.date()}).\n"
        f"Example rows:\n{examples(t[shown], hit)}"
    )
