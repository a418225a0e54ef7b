"""Validate raw tables against the data contract: structural errors stop, row-level problems become rejects.

Contract in: `raw: Mapping[str, pd.DataFrame]`, one raw frame per table as read from files (any dtypes; strings are
fine). Contract out: `ValidationResult` with
- `tables`: the accepted rows in the validated representation (see `features.contract`), original row order kept;
- `rejects`: per table, the original rows (as read) with `source_row` (0-based position in the input) and `reason`;
- `report`: per table, rows in, accepted, rejected by reason, ignored columns.
Invariant: for every table, rows in == accepted + rejected. A row is rejected for the first problem found, in the
order the checks run (column parsing, then row rules, then keys, then references across tables).
One column's parsing and checks: `features.column_checks`; the cross-table rules this module calls in order:
`features.manager_checks`, `features.crossrefs`, `features.referral_rules`, `features.return_checks`,
`features.churn_checks`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

from features.column_checks import ColumnStats, _check_bounds, _parse_checked
from features.column_types import readable_column
from features.contract import TABLES, Table
from features.conventions import check_conventions
from features.dates import (
    early_reason,
    isolated_early_dates,
)
from features.decimal_ids import reject_stray_decimal_ids

# Defined in a module without imports so the CLI can catch it before pandas loads; re-exported here.
from features.errors import StructuralError, working_on
from features.header import structural_checks, suggestions
from features.id_sets import isin_ids
from features.keys import (
    EMPTY_LINE,
    LABEL_ROW,
    REPEAT_TABLES,
    REPEATED_HEADER,
    check_one_row_per_key,
    check_repeated_rows,
    empty_lines,
    label_rows,
    repeated_headers,
    repeated_rows,
)
from features.row_rules import FIRST_SHARE as CONVENTION_SHARE
from features.row_rules import MIN_ROWS as CONVENTION_MIN_ROWS
from features.row_rules import check_row_conventions, row_rules
from features.sale_status import no_sale_reasons
from features.schemas import check_tables, key_is_unique
from features.table_rows import SourceRows, check_source_rows


@dataclass
class TableReport:
    table: str
    rows_in: int
    accepted: int
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    ignored_columns: tuple[str, ...] = ()
    did_you_mean: dict[str, str] = field(
        default_factory=dict
    )  # ignored column -> the contract column it resembles

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())


@dataclass
class ValidationResult:
    tables: dict[str, pd.DataFrame]
    rejects: dict[str, pd.DataFrame]
    report: dict[str, TableReport]

    @property
    def rows_rejected(self) -> int:
        return sum(r.rejected for r in self.report.values())


class _Rejector:
    """Collects the first rejection reason per row."""

    def __init__(self, n: int) -> None:
        self.reason = np.full(n, None, dtype=object)
        self._ok = np.ones(n, dtype=bool)  # kept beside the reasons: no pass over the objects per rule

    def add(self, mask: pd.Series | np.ndarray, reason: str | pd.Series) -> None:
        m = np.asarray(mask, dtype=bool)
        if not m.any():  # the usual rule: no row at all (no mask of the rows still accepted built)
            return
        m = m & self._ok
        if not m.any():
            return
        if isinstance(reason, pd.Series):
            self.reason[m] = reason.to_numpy(dtype=object)[m]
        else:
            self.reason[m] = reason
        self._ok &= ~m

    @property
    def ok(self) -> np.ndarray:
        return self._ok.copy()


def reject_duplicate_keys(t: pd.DataFrame, key: str, rej: _Rejector) -> pd.Series | None:
    """`duplicate <key>`: among the rows accepted so far, every occurrence of a key after the first (row order);
    returned as a mask (None when the key is unique).

    Only accepted rows compete for a key: a duplicate of an already-rejected row is judged on its own. Shared with
    the Spark engine, which runs it per customer bucket for the keys that are customer ids."""
    if key_is_unique(t[key]):
        return None
    ok = pd.Series(rej.ok, index=t.index)
    dup = ok & t[key].where(ok).duplicated(keep="first") & t[key].notna()
    rej.add(dup, f"duplicate {key}")
    return dup


def check_customers_usable(rows: int, usable: int) -> None:
    """A customers table (of `rows` rows) without a usable row is a structural error: every row of every other
    table would be rejected as an unknown customer. `usable`: its accepted customer ids (both engines)."""
    if usable == 0:
        raise StructuralError(
            f"table 'customers' has no usable row ({rows:,} rows, none accepted), so every order and "
            "event would be rejected as belonging to an unknown customer; fill the table, or remove the "
            "file to work without one"
        )


def known_ids(t: pd.DataFrame, rej: _Rejector, column: str) -> pd.Index:
    """The distinct ids of `column` among the rows accepted so far (who a reference may point at)."""
    return pd.Index(t.loc[rej.ok, column].dropna().unique())


def reject_unknown(t: pd.DataFrame, ref: str, known: pd.Index, rej: _Rejector) -> pd.Series:
    """`unknown <ref>`: rows accepted so far whose `ref` is set but not among the `known` ids (returned as a mask).

    A row already rejected is not counted: its `ref` may be an id the referenced table rejected by the same rule
    (`..`, `NULL`, `="AM1"`: `features.ids.ID_RULES`), which is that row's reason, not a missing referenced row."""
    unknown = pd.Series(rej.ok, index=t.index) & t[ref].notna() & ~isin_ids(t[ref], known)
    rej.add(unknown, f"unknown {ref}")
    return unknown


def _validate_table(
    table: Table,
    raw: pd.DataFrame,
    timezone: str,
    date_formats: Mapping[str, str] | None = None,
    max_values: Mapping[str, float] | None = None,
    column_stats: dict[str, ColumnStats] | None = None,
    refunds: bool = False,
) -> tuple[pd.DataFrame, _Rejector, tuple, dict[str, str]]:
    """One table's column parsing, row rules, bounds and key duplicates (`validate_tables` adds references).

    With `column_stats` (the Spark engine validating one part of a table), the "no value parses" check is left
    to the caller: it gets {column: (given, bad, placeholder dates, other calendars' dates)} row masks instead
    (`ColumnStats`), to judge over the whole column. `refunds`: the data holds a returns table (`sale_status`).
    """
    structural_checks(table, raw)
    raw = raw.reset_index(drop=True)
    for col in (c for c in table.columns if c.name in raw.columns and raw[c.name].dtype == object):
        # Parquet bytes not UTF-8 stop before the row checks below read the column as text
        raw[col.name] = readable_column(table, col, raw[col.name])
    rej = _Rejector(len(raw))
    rej.add(empty_lines(raw), EMPTY_LINE)  # `,,,,,,`: a spreadsheet's blank rows saved into the CSV
    rej.add(repeated_headers(raw), REPEATED_HEADER)  # two exports concatenated with their headers
    rej.add(label_rows(raw), LABEL_ROW)  # `Customer ID, Signup date, ...` under the header
    rej.add(*no_sale_reasons(table.name, raw, refunds))  # a status column: `cancelled`, `test` (no sale)
    parsed: dict[str, pd.Series] = {}
    for col in (c for c in table.columns if c.name in raw.columns):
        with working_on(column=col.name):  # an unexpected error is named by its column, never its message
            parsed[col.name] = _parse_checked(table, col, raw, rej, timezone, date_formats, column_stats)
    # Without a copy: an unchanged column (a Parquet float or date) shares the raw column's buffer, not a second
    # copy beside the raw tables (the loading peak, issue 14); copy-on-write keeps the two independent.
    t = pd.DataFrame(parsed, index=raw.index, copy=False)
    if "kind" in t.columns and table.name == "tickets":
        t["kind"] = t["kind"].str.lower()
    if column_stats is None:  # a part of a table (Spark) cannot judge the column's convention
        check_conventions(table.name, t)
    row_rules(table.name, t, rej, max_values)
    _check_bounds(table, t, max_values or {}, rej)
    rejected = len(t) - int(np.count_nonzero(rej._ok))
    # every ticket closed before opened (a part cannot tell), most efforts above their bound: judged only when
    # enough rows are rejected for a convention to fire (issue 14: the reasons as a Series cost 0.2 s per 1M rows)
    if column_stats is None and rejected >= CONVENTION_MIN_ROWS and rejected > CONVENTION_SHARE * len(t):
        check_row_conventions(table.name, t, pd.Series(rej.reason, index=t.index, dtype=object))
    for col in (c for c in table.columns if c.kind == "timestamp" and c.name in t and column_stats is None):
        early = isolated_early_dates(t[col.name], rej.ok)  # `1921` for `2021`: a century of tenure
        rej.add(early, early_reason(col.name))
    if column_stats is None:  # a stray `42.0` among ids written `42` (Spark: `check_rows`, from its sums)
        reject_stray_decimal_ids(table, t, rej)
    if table.key is not None:
        duplicate = reject_duplicate_keys(t, table.key, rej)
        if duplicate is not None and column_stats is None:  # one row per order line: not a row problem
            check_one_row_per_key(table.name, t, table.key, duplicate)
    if table.name in REPEAT_TABLES and column_stats is None:  # the rows exported twice under new ids
        check_repeated_rows(table.name, t, repeated_rows(table.name, t, rej.ok))
    ignored = tuple(str(c) for c in raw.columns if c not in table.column_names)
    return t, rej, ignored, suggestions(table, raw)


def _each_table(
    raw: Mapping[str, pd.DataFrame],
    timezone: str,
    date_formats: Mapping[str, str] | None,
    max_values: Mapping[str, float] | None,
    threads: int,
) -> Iterator[tuple[str, tuple]]:
    """Each table of `raw` with its own checks (`_validate_table`), in `raw`'s order. With `threads` >= 2, two
    tables are checked at once on two threads (issue 14: much of the checks is Arrow's and numpy's work, which
    releases the GIL); the tables are taken from `raw` in order on the caller's thread (a `ReadAhead` checks them
    there) and the verdicts given in order: the first table's error stops, as when they ran one after another."""
    refunds = "returns" in raw  # an order marked refunded stands: its refund is in the returns table

    def one(name: str, frame: pd.DataFrame) -> tuple:
        with working_on(table=name):
            return _validate_table(TABLES[name], frame, timezone, date_formats, max_values, None, refunds)

    if threads < 2 or len(raw) < 2:
        for name, frame in raw.items():
            yield name, one(name, frame)
        return
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="validate")
    try:  # no thread outlives the checks: the tables not started are cancelled on an error
        futures = [(name, pool.submit(one, name, raw[name])) for name in raw]
        for name, future in futures:
            yield name, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def validate_tables(
    raw: Mapping[str, pd.DataFrame],
    timezone: str = "UTC",
    date_formats: Mapping[str, str] | None = None,
    max_values: Mapping[str, float] | None = None,
    threads: int = 1,
    files: Mapping[str, Any] | None = None,
) -> ValidationResult:
    """Validate every present table; raise `StructuralError` on structural problems.

    `raw` keys outside the contract are a structural error (a misnamed file must not be silently ignored).
    `date_formats` declares non-ISO date formats per `table.column` (strftime, e.g. "%d/%m/%Y"); every other
    timestamp must be ISO 8601. `max_values` bounds money/number columns per `table.column` (row rejects above).
    `threads`: 2 or more checks two tables at once (`_each_table`; the caller's `prediction_threads()`), same
    verdicts in the same order. `files`: each table's file (path), when each table is its file (no mapping): a
    file of a header only or of a spreadsheet's last row stops (`features.table_rows.check_source_rows`).
    """
    unknown = sorted(set(raw) - set(TABLES))
    if unknown:
        raise StructuralError(f"unknown table(s) {', '.join(unknown)}; the contract has {', '.join(TABLES)}")
    if "orders" not in raw:
        raise StructuralError("required table 'orders' is missing (expected orders.csv or orders.parquet)")

    parsed: dict[str, tuple[pd.DataFrame, _Rejector, tuple]] = {}
    suggested: dict[str, dict[str, str]] = {}
    for name, (t, rej, ignored, resembling) in _each_table(raw, timezone, date_formats, max_values, threads):
        parsed[name] = (t, rej, ignored)
        suggested[name] = resembling

    check_source_rows(  # a header only, a spreadsheet's last row: judged on the files, not a mapping's tables
        SourceRows(PurePath(str(f)).name, len(raw[n]), str(f).endswith(".csv"), (n,))
        for n, f in (files or {}).items()
        if n in parsed
    )
    # Managers first: a customer row rejected for an unknown manager is then unknown to the other tables.
    if "account_managers" in parsed:
        from features.manager_checks import check_unknown_managers

        am, am_rej, _ = parsed["account_managers"]
        known_am = known_ids(am, am_rej, "account_manager_id")
        for name in ("customers", "assignments"):
            if name in parsed:
                t, rej, _ = parsed[name]
                if "account_manager_id" in t.columns:
                    unknown = reject_unknown(t, "account_manager_id", known_am, rej)
                    check_unknown_managers(name, t, unknown)  # many: the managers export is incomplete
        if "assignments" in parsed:  # assigned after the manager left or before they started
            from features.manager_checks import check_assignment_tenures, reject_assignments_outside_tenure

            t, rej, _ = parsed["assignments"]
            reject_assignments_outside_tenure(t, rej, am[am_rej.ok])
            check_assignment_tenures(t, rej.reason)

    # `paid_at 2099`: unpaid at every cutoff
    from features.crossrefs import check_orders_ended, reject_far_future_closings

    last_order = parsed["orders"][0].loc[parsed["orders"][1].ok, "ordered_at"].max()
    for name, (t, rej, _) in parsed.items():
        reject_far_future_closings(name, t, last_order, rej)
    for name, (t, rej, _) in parsed.items():  # many: the orders export ends a year or more early (round 37)
        check_orders_ended(name, t, rej.reason, last_order)
    # References across tables: only against the customers table when it exists (a ticket from a customer
    # with no orders yet is legitimate, so orders alone do not define who exists).
    if "customers" in parsed:
        from features.crossrefs import reject_far_future

        cust, cust_rej, _ = parsed["customers"]
        # first a signup or cancellation dated years after the data (`features.crossrefs`)
        orders, orders_rej, _ = parsed["orders"]
        reject_far_future(cust, orders.loc[orders_rej.ok, "ordered_at"].max(), cust_rej)
        known = known_ids(cust, cust_rej, "customer_id")
        check_customers_usable(len(cust), len(known))
        from features.crossrefs import check_respelled_refs

        for name, (t, rej, _) in parsed.items():
            for ref in TABLES[name].customer_refs:
                unknown = reject_unknown(t, ref, known, rej)
                # `3` for `C000003` throughout; customers the table lacks (an incomplete export)
                check_respelled_refs(name, t, ref, known, unknown, listed=cust["customer_id"])
    else:  # no customers table: the side tables' ids spelled like the orders' customers (`3` for `C000003`)
        from features.crossrefs import check_refs_against_orders

        check_refs_against_orders(parsed)
    if "referrals" in parsed:  # referred after referring others; against signups (`features.crossrefs`)
        from features.referral_rules import reject_referrals_against_signups, reject_referred_after_referring

        reject_referred_after_referring(*parsed["referrals"][:2])
        orders, orders_rej, _ = parsed["orders"]  # signups, first orders; without a customers table too
        accepted = cust[cust_rej.ok] if "customers" in parsed else None
        reject_referrals_against_signups(*parsed["referrals"][:2], accepted, orders[orders_rej.ok])
    if "returns" in parsed:  # a return of another customer's order (`features.crossrefs`)
        from features.return_checks import judge_return_totals, reject_order_mismatches

        (o, o_rej, _), (r, r_rej, _) = parsed["orders"], parsed["returns"]
        named = o_rej.ok
        if "order_id" in o.columns and "order_id" in r.columns:
            # Only the accepted orders some return names, in their order (the rule keeps each id's first): the
            # rule's index of every accepted order was the loading peak at 1M (issue 14); same masks.
            named = named & isin_ids(o["order_id"], r["order_id"].dropna())
        if "order_id" in o.columns and "order_id" in r.columns:  # `ord-1` for `ORD-1` throughout
            from features.return_checks import check_respelled_orders

            unknown = r["order_id"].notna().to_numpy() & ~isin_ids(
                r["order_id"], pd.Index(o.loc[named, "order_id"])
            )
            check_respelled_orders(r, unknown & r_rej.ok, lambda: o.loc[o_rej.ok, "order_id"])
        reject_order_mismatches(r, o[named], r_rej)
        judge_return_totals(r, o[named], r_rej)  # most refunds above their order; refunded twice
    if "customers" in parsed:  # ordering after their churned_at: a stale cancellation (`features.crossrefs`)
        from features.churn_checks import judge_orders_after_churn

        judge_orders_after_churn(parsed)
    # the same customers twice, `C0042` and `c0042` (the last stop: Spark judges it on the driver's ids)
    if "customers" in parsed:
        from features.crossrefs import check_case_twins

        cust, cust_rej, _ = parsed["customers"]
        check_case_twins("customers", "customer_id", cust.loc[cust_rej.ok, "customer_id"], len(cust))
    else:  # without one, `C001` on some orders and `c001` on others: one customer's orders split in two
        from features.crossrefs import check_case_twins

        o, o_rej, _ = parsed["orders"]
        check_case_twins("orders", "customer_id", o.loc[o_rej.ok, "customer_id"], len(o))
    tables: dict[str, pd.DataFrame] = {}
    rejects: dict[str, pd.DataFrame] = {}
    report: dict[str, TableReport] = {}
    for name, (t, rej, ignored) in parsed.items():
        ok = rej.ok
        # No copy when every row is accepted (the usual case): a second copy of a large table is the peak.
        tables[name] = t if ok.all() else t[ok].reset_index(drop=True)
        bad = (
            raw[name].iloc[np.flatnonzero(~ok)].reset_index(drop=True)
        )  # the rejected rows only, not a copy of all
        bad.insert(0, "source_row", np.flatnonzero(~ok))
        bad["reason"] = rej.reason[~ok].astype(str)
        rejects[name] = bad.reset_index(drop=True)
        counts = bad["reason"].value_counts().sort_index()
        report[name] = TableReport(
            table=name,
            rows_in=len(t),
            accepted=int(ok.sum()),
            rejected_by_reason={str(k): int(v) for k, v in counts.items()},
            ignored_columns=ignored,
            did_you_mean=suggested[name],
        )
        assert report[name].rows_in == report[name].accepted + report[name].rejected
    # The boundary: the pandera schemas' columns and dtypes. Their value, null and key rules are the row checks
    # above (every accepted row satisfies them: tests/features/test_schema_boundary.py), not run twice.
    check_tables(tables, rows=False)
    return ValidationResult(tables=tables, rejects=rejects, report=report)
