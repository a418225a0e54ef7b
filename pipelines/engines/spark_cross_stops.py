"""The pandas engine's cross-table stops on the Spark engine's input: unknown managers and customers, assignments
outside their manager's tenure, respelled references, returns against their orders, referrals, churn dates,
currencies and the orders' own, judged on the driver from the per-bucket sums the bucket step counted
(`spark_checks.check_bucket`), each calling the pandas function (`features.manager_checks`, `features.crossrefs`,
`features.return_checks`, `features.churn_checks`, ...) only when its count may reach the stop. The column-level
stops, `TableRows` and how the rows reach the driver: `pipelines.engines.spark_stops`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd

from features.contract import TABLES
from pipelines.engines.spark_checks import (
    REASON,
    TABLE,
    UNKNOWN,
)
from pipelines.engines.spark_stops import TableRows, _sum


def cross_table_stops(
    stats: pd.DataFrame,
    reports: Mapping[str, tuple[int, int]],
    rows: Mapping[str, TableRows],
    files: Mapping[str, tuple[str, bool]] | None = None,
) -> None:
    """The stops across tables, after every table's own (see module). `reports`: rows in and accepted per table;
    `rows`: each table's `TableRows`; `files`: each table's source (a file or a directory of parts: its name, and
    whether it is CSV), whose rows in are the table's."""
    from features import crossrefs, manager_checks
    from features.table_rows import SourceRows, check_source_rows
    from features.validation import check_customers_usable

    check_source_rows(  # a header only, a spreadsheet's last row (a CSV source): the pandas engine's files
        SourceRows(file, reports[name][0], csv, (name,)) for name, (file, csv) in (files or {}).items()
    )

    def threshold(name: str) -> float:
        return max(crossrefs.MIN_RESPELLED, crossrefs.RESPELLED_SHARE * reports[name][0])

    if "account_managers" in reports:
        for name in ("customers", "assignments"):
            own = stats[stats[TABLE] == name]
            if name in reports and 0 < _sum(own, "u0") >= threshold(name):
                t = rows[name].parsed()
                if "account_manager_id" in t.columns:
                    manager_checks.check_unknown_managers(name, t, rows[name].bits(UNKNOWN, 0))
        own = stats[stats[TABLE] == "assignments"]  # most assigned after their manager left (or before)
        for _, reason, _ in manager_checks.TENURE_RULES:
            n = int(own.loc[own[REASON] == reason, "n"].sum())
            if n >= crossrefs.MIN_RESPELLED and n > 0.5 * int(own["n"].sum()):
                assignments = rows["assignments"]
                reasons = assignments.rows[REASON].to_numpy(dtype=object)
                manager_checks.check_assignment_tenures(assignments.parsed(), reasons)
    # the orders export ended a year or more before a table's (round 37): `crossrefs.check_orders_ended`
    for name in (n for n in reports if n in crossrefs.CLOSING_DATES):
        own = stats[stats[TABLE] == name]
        floor = max(crossrefs.ORDERS_ENDED_MIN, crossrefs.RESPELLED_SHARE * reports[name][0])
        # the table's opening date only (a late `due_at` is the row's own)
        opening = crossrefs.CLOSING_DATES[name][0]
        for reason in own[REASON].dropna().unique():
            n = int(own.loc[own[REASON] == reason, "n"].sum())
            last = crossrefs.last_order_of(str(reason), opening)
            if last is not None and n >= floor:  # the year after the last order: judged on the rows
                reasons = rows[name].rows[REASON].to_numpy(dtype=object)
                crossrefs.check_orders_ended(name, rows[name].parsed(), reasons, last)
    if "customers" not in reports:
        orders_stops(stats, reports, rows, threshold)
        return
    check_customers_usable(*reports["customers"])  # its accepted rows are its distinct known ids
    known: pd.Index | None = None
    listed: pd.Series | None = None
    for name in reports:
        own = stats[stats[TABLE] == name]
        for j, ref in enumerate(TABLES[name].customer_refs):
            if not 0 < _sum(own, f"u{1 + j}") >= threshold(name):
                continue
            if known is None:  # once: the customers table validated once however many tables reach the share
                customers = rows["customers"].parsed()
                known = accepted_customer_ids(rows["customers"], customers)
                listed = customers["customer_id"]  # its rejected rows' ids too
            t = rows[name].parsed()
            crossrefs.check_respelled_refs(
                name, t, ref, known, rows[name].bits(UNKNOWN, 1 + j), listed=listed
            )


def accepted_customer_ids(table: TableRows, parsed: pd.DataFrame | None = None) -> pd.Index:
    """The distinct `customer_id`s of a table's rows accepted so far, in source order: the ids the other tables'
    references are judged against (the customers table's, or without one the orders'). `parsed`: the table's
    `parsed()` when the caller has it already."""
    accepted = table.rows[REASON].isna().to_numpy()
    parsed = table.parsed() if parsed is None else parsed
    return pd.Index(parsed.loc[accepted, "customer_id"].dropna().unique())


def returns_stops(stats: pd.DataFrame, rows: Mapping[str, TableRows]) -> None:
    """Most returns naming an order in the data refunding more than it, naming another customer's order or dated
    before it (`features.return_checks.check_returns_against_orders`, after every other stop as in `validate_tables`):
    from the returns' counts of those rejects and of rows naming an accepted order (`NAMED`, set by
    `spark_orders.judge_returns`)."""
    from features import crossrefs, return_checks
    from features.id_sets import isin_ids

    own = stats[stats[TABLE] == "returns"]
    if own.empty:
        return
    accepted = own[REASON].isna()  # those naming no accepted order, a superset (an empty order_id counts)
    if _sum(own[accepted], "n") - _sum(own[accepted], "N0") >= max(
        crossrefs.MIN_RESPELLED, crossrefs.RESPELLED_SHARE * _sum(own, "n")
    ):
        returns, orders = rows["returns"], rows["orders"]
        t = returns.parsed()
        if "order_id" in t.columns:
            o = orders.parsed()
            known = o.loc[orders.rows[REASON].isna().to_numpy(), "order_id"]
            ok = returns.rows[REASON].isna().to_numpy()
            unknown = t["order_id"].notna().to_numpy() & ~isin_ids(t["order_id"], pd.Index(known)) & ok
            return_checks.check_respelled_orders(t, unknown, lambda: known)  # `ord-1` for `ORD-1` throughout
    named = _sum(own, "N0")
    for reason in return_checks.RETURN_CONVENTIONS:
        n = int(own.loc[own[REASON] == reason, "n"].sum())
        if n >= crossrefs.MIN_RESPELLED and n > 0.5 * named:
            returns = rows["returns"]
            reasons = returns.rows[REASON].to_numpy(dtype=object)
            return_checks.check_returns_against_orders(returns.parsed(), reasons, named)
    if _sum(own, "N1") >= max(crossrefs.MIN_RESPELLED, 0.5 * named):  # at their order's instant (bit 1)
        kept = [rows[t].parsed()[rows[t].rows[REASON].isna().to_numpy()] for t in ("returns", "orders")]
        return_checks.check_returns_at_order(*kept, named)


def referral_stops(stats: pd.DataFrame, rows: Mapping[str, TableRows]) -> None:
    """Most referrals dated after the referred customer's signup or before the referrer's
    (`features.referral_rules.check_referral_signups`, after the returns' stops as in `validate_tables`): from the
    referrals' counts of those rejects."""
    from features import crossrefs, referral_rules

    own = stats[stats[TABLE] == "referrals"]
    total = int(own["n"].sum())
    for _, reason, _ in referral_rules.REFERRAL_DATE_RULES:
        n = int(own.loc[own[REASON] == reason, "n"].sum())
        if n >= crossrefs.MIN_RESPELLED and n > 0.5 * total:
            referrals = rows["referrals"]
            referral_rules.check_referral_signups(
                referrals.parsed(), referrals.rows[REASON].to_numpy(dtype=object)
            )


def churn_stops(
    stats: pd.DataFrame, reports: Mapping[str, tuple[int, int]], rows: Mapping[str, TableRows]
) -> None:
    """Customers ordering a day or more after their `churned_at` (`features.churn_checks.check_orders_after_churn`,
    the last stop as in `validate_tables`): from the customers counted so (`AFTER_CHURN`, set per bucket by
    `spark_checks.check_bucket`); `reports`: rows in and accepted per table."""
    from features import churn_checks, crossrefs

    own = stats[stats[TABLE] == "customers"]
    n, at_last = _sum(own, "H0"), _sum(own, "H1")  # bit 1: a churned_at at the last order's instant
    if "customers" in reports and (
        at_last >= churn_checks.MIN_CHURN_AT_ORDER
        or n >= max(crossrefs.MIN_RESPELLED, crossrefs.RESPELLED_SHARE * reports["customers"][1])
    ):
        accepted = [rows[t].parsed()[rows[t].rows[REASON].isna().to_numpy()] for t in ("customers", "orders")]
        churn_checks.check_churn_dates(*accepted)


def currency_stops(
    stats: pd.DataFrame,
    rows: Mapping[str, TableRows],
    read: Mapping[str, list[str]],
    currency: str | None,
    timezone: str | None = None,
) -> None:
    """A table's currency column naming another currency than `data.currency` on any row
    (`features.currency.check_currency_columns`, before any table's checks as in `pipelines.io.load_data`), or a
    time-zone column naming another zone than `timezone` (`features.zone_columns`): from the rows counted with one
    (`CURRENCY`'s bits 0 and 2; bit 1 is no longer set: a row marked as no sale is a row reject; bit 3: a refund column's refund without a returns table, `features.refund_columns`); `read`: each table's columns as read, in order."""
    from features.currency import check_currency_columns
    from features.refund_columns import check_refund_columns
    from features.zone_columns import check_zone_columns

    for name, columns in read.items():
        own = stats[stats[TABLE] == name]
        if any(_sum(own, f"c{bit}") for bit in range(4)):  # bit 2: another zone; 3: refunds, no returns table
            frame = pd.DataFrame({c: rows[name].raw(c).astype("str") for c in columns})
            check_currency_columns({name: frame}, currency)
            check_zone_columns({name: frame}, timezone)
            check_refund_columns({name: frame}, not _sum(own, "c3"))


def orders_stops(
    stats: pd.DataFrame,
    reports: Mapping[str, tuple[int, int]],
    rows: Mapping[str, TableRows],
    threshold: Callable[[str], float],
) -> None:
    """Without a customers table, the side tables' customer ids spelled otherwise than the accepted orders'
    (`features.crossrefs.check_refs_against_orders`): when a table's rows naming none of them (the bucket step's
    `UNKNOWN` bits, a superset) may reach the threshold, the driver judges them exactly on that table's rows (those
    accepted so far: not yet rejected against their order, for returns)."""
    from features import crossrefs, return_checks

    known: pd.Index | None = None
    for name in reports:
        own = stats[stats[TABLE] == name]
        for j, ref in enumerate(TABLES[name].customer_refs):
            if name == "orders" or not 0 < _sum(own, f"u{1 + j}") >= threshold(name):
                continue
            if known is None:
                known = accepted_customer_ids(rows["orders"])
            t = rows[name].parsed()
            reason = rows[name].rows[REASON]
            later = (
                return_checks.FOREIGN_ORDER,
                return_checks.ABOVE_ORDER,
                return_checks.BEFORE_ORDER,
                return_checks.BEYOND_ORDER,
            )
            ok = (reason.isna() | reason.isin(later if name == "returns" else ())).to_numpy()
            unknown = t[ref].notna() & (known.get_indexer(t[ref]) < 0) & ok
            crossrefs.check_respelled_refs(name, t, ref, known, unknown, "orders")
