"""What a mapping's sources are judged on besides the rows it routes: a currency, status or time-zone column the
mapping does not read (`check_source_currencies`, `_check_source_status`), and most of a source's rows routed to
no table (`check_mostly_unrouted`, called by `pipelines.mapping.apply_mapping`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.names import examples
from features.row_rules import MIN_ROWS, SHARE
from features.validation import StructuralError
from pipelines.mapping.expressions import parse
from pipelines.mapping.rows import derive_columns, names_read, where_rows

if TYPE_CHECKING:
    from pipelines.mapping import Mapping


def read_columns(mapping: Mapping, source: str) -> set[str]:
    """The columns of `source` the mapping reads: its tables' `where`, `derive`, `require`, `group_by` and
    `columns` (a derive's own name is no source column)."""
    out: set[str] = set()
    for spec in mapping.tables.values():
        if spec.source != source:
            continue
        for expr in [spec.where or "", *spec.derive.values()]:
            out |= names_read(expr) if expr.strip() else set()
        out |= set(spec.require.values())
        out |= {spec.group_by} if isinstance(spec.group_by, str) else set(spec.group_by or [])
        out |= {v if isinstance(v, str) else next(iter(v.values())) for v in spec.columns.values()}
    return out


def check_source_currencies(
    mapping: Mapping, sources: dict[str, pd.DataFrame], currency: str | None, timezone: str | None = None
) -> list[str]:
    """A source's currency column (`features.currency.CURRENCY_COLUMNS`: `Currency`, `currency_code`, ...) that
    the mapping does not read must name `data.currency` on every row, as a table's must: the mapping's tables
    have no such column (it names theirs), so amounts in two currencies were summed as one without a word (a
    multi-currency shop's export). Judged on the rows the source's tables keep (their `where`: one country's
    rows of a `part` source); a mapping reading the column (a `where` keeping one currency, a derive converting
    by it) judges it itself. Returned: the notes of a few refunds (`_check_source_status` below)."""
    from features.currency import check_currency_columns

    for name, frame in sources.items():
        read = read_columns(mapping, name)
        unread = frame[[c for c in frame.columns if c not in read]]
        what = f"source {name} ({mapping.sources[name].file})"
        try:
            check_currency_columns({what: unread}, currency)
        except StructuralError:  # judged again on the rows the tables' `where` keep (was: on every row, so a
            # `part` source filtered to one country's rows, all GBP, was refused for its other countries' EUR)
            kept = np.zeros(len(frame), dtype=bool)
            for table, spec in mapping.tables.items():
                if spec.source == name:
                    kept |= where_rows(table, spec, derive_columns(table, spec, frame))
            if kept.all():
                raise
            check_currency_columns({what: unread[kept]}, currency)
    return _check_source_status(mapping, sources, timezone)  # the notes of a few refunds


def _check_source_status(
    mapping: Mapping, sources: dict[str, pd.DataFrame], timezone: str | None
) -> list[str]:
    """A source's status or cancellation column the mapping does not read (`features.sale_status`: `Status`,
    `Cancelled at`) must mark none of the rows an orders, invoices or returns table keeps as no sale, and its
    time-zone column (`features.zone_columns`: `Time Zone`) name `timezone` (the mapping's or `data.timezone`)
    on them, judged at the time each row's table reads: a `where` reading the column judges it itself."""
    from features.contract import TABLES
    from features.refund_columns import check_refund_columns
    from features.sale_status import SALE_TABLES, check_unread_status
    from features.zone_columns import check_zone_columns

    notes: list[str] = []
    for name, frame in sources.items():
        read = read_columns(mapping, name)
        unread = frame[[c for c in frame.columns if c not in read]]
        for table, spec in mapping.tables.items():
            if spec.source != name or table not in TABLES:
                continue
            kept = where_rows(table, spec, derive_columns(table, spec, frame))
            if table in SALE_TABLES:
                what = f"source {name} ({mapping.sources[name].file})"
                check_unread_status(table, unread[kept], what, "returns" in mapping.tables)
                notes += check_refund_columns({table: unread[kept]}, "returns" in mapping.tables)
            dated = {c.name: spec.columns.get(c.name) for c in TABLES[table].columns if c.kind == "timestamp"}
            dated = {c: frame[s][kept] for c, s in dated.items() if isinstance(s, str) and s in frame}
            check_zone_columns({table: unread[kept].assign(**dated)}, timezone)
    return notes


def check_mostly_unrouted(mapping: Mapping, name: str, frame: pd.DataFrame, unrouted: np.ndarray) -> None:
    """Structural error when the `where` filters route no table to most of a source's rows (the contract's
    `features.row_rules` share): a filter that misses how the export writes a column (`Country == 'UK'` where
    it says `United Kingdom`, a case or a prefix) kept a few rows and trained on them with exit 0."""
    n = int(unrouted.sum())
    if n < MIN_ROWS or n <= SHARE * len(frame):
        return
    wheres = "; ".join(
        f"tables.{t}.where = {s.where!r}" if s.where else f"tables.{t} (no where)"
        for t, s in mapping.tables.items()
        if s.source == name and s.role == "route"
    )
    raise StructuralError(
        f"mapping source {name!r}: {n:,} of its {len(frame):,} rows are routed to no table by {wheres}. A "
        "filter that drops most of the export is more likely a value written otherwise than the filter expects "
        "(a name, a case, a prefix) than rows meant to be left out: check the filter against the rows below; to "
        f"keep only a part of the export on purpose, say so in the mapping: sources.{name}.part: true."
        f"{_common_values(mapping, name, frame[unrouted])}\nExample rows:\n"
        f"{examples(frame, pd.Series(unrouted, index=frame.index))}"
    )


def _common_values(mapping: Mapping, name: str, rows: pd.DataFrame) -> str:
    """How the unrouted rows write the columns the filters read, for columns of a few shared values only (a
    country, a kind: each value shown stands for 3 rows or more, 20 values or fewer), so no one's own value (a
    name, an e-mail) is printed."""
    import ast

    read = sorted(
        {
            n.id
            for s in mapping.tables.values()
            if s.source == name and s.where
            for n in ast.walk(parse(s.where))
            if isinstance(n, ast.Name) and n.id in rows.columns
        }
    )
    parts = []
    for col in read:
        counts = rows[col].astype("string").value_counts()
        if 0 < len(counts) <= 20 and counts.min() >= MIN_ROWS:
            parts.append(f"{col}: " + ", ".join(f"{v!r} ({n:,})" for v, n in counts.head(5).items()))
    return "\nThe unrouted rows write " + "; ".join(parts) if parts else ""
