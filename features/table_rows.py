"""A source file's number of rows as a sign of a failed export, judged on the FILES read (a mapping's tables, built
by its `where` and `group_by`, are not judged: a `where` keeping no row is a note, a stop for the orders and
the customers: `emptied_table_notes`). Both engines:
`pipelines.io.load_data` on each file it reads (a table's own, a mapping's sources), the Spark engine's driver
(`pipelines.engines.spark_cross_stops.cross_table_stops`) from each table's rows in, a table being its one source."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from features.errors import StructuralError

#: A spreadsheet's last row with a header above it: Excel's (and LibreOffice's) 1,048,576 rows, the 65,536 of
#: Excel 97-2003 (`.xls`). A CSV file of exactly so many data rows was saved from a sheet that cut what did not fit.
SHEET_ROW_LIMITS = {1_048_576: "Excel's and LibreOffice's", 65_536: "Excel 97-2003's (.xls)"}


#: Row limits of report tools and SQL clients that cut an export without a word: a file of exactly so many data rows
#: (any format: a query's limit reaches Parquet too) was perhaps cut there (`row_cap_notes`).
ROW_CAPS = {
    1_000: (
        "SQL Server Management Studio's 'Select Top 1000 Rows' and of MySQL Workbench's queries "
        "(LIMIT 1000 by default)"
    ),
    30_000: "Power BI's export of a visual's data to CSV",
    100_000: "a formatted Salesforce report's and Dynamics 365's export to Excel",
    150_000: "Power BI's export of a visual's data to Excel",
    1_000_000: "Metabase's downloads",
}


@dataclass(frozen=True)
class SourceRows:
    """One source file read: its name as shown, its data rows, whether it has a spreadsheet's shape (a CSV file:
    a Parquet file or a database dump never went through a sheet), the contract tables it gives, and whether a
    mapping reads it (`source`: the mapping's name of it)."""

    file: str
    rows: int
    sheet: bool
    tables: tuple[str, ...]
    source: str | None = None

    def said(self) -> str:
        if self.source is None:
            return f"table {self.tables[0]!r}"
        return f"mapping source {self.source!r} (for table(s) {', '.join(self.tables) or 'none'})"


class EmptySourceError(StructuralError):
    """A source file of a header and no row (`check_source_rows`); `tables`: the contract tables it gives. Scoring
    with a model trained with one of them says the way out that works there (`for_model`)."""

    def __init__(self, message: str, tables: tuple[str, ...], said: str, file: str) -> None:
        super().__init__(message)
        self.tables, self.said, self.file = tables, said, file

    def for_model(self, recorded: Mapping[str, Any] | None) -> StructuralError:
        """The error to show when scoring with a model whose recorded inputs are `recorded`: removing the file
        (this error's way out in training) would stop again on the model's inputs when the model was trained
        with the table, so then the way out is exporting it again or training without it."""
        trained = [t for t in self.tables if recorded and t in recorded]
        if not trained:
            return self
        return StructuralError(
            f"{self.said} has no usable row (a header and no rows in {self.file}): an export that failed or was "
            f"cut? The model was trained with {', '.join(trained)}: export the table again (the model cannot score "
            "data without it), or train a model on data without it"
        )


def check_source_rows(sources: Iterable[SourceRows]) -> None:
    """Structural error when a source file holds no row or (a CSV file) exactly a spreadsheet's last row. A header
    and no row (a CSV of its header line, a Parquet file of no row group): an export that failed or was cut would
    read as none of its events for every customer (no ticket, no return: a perfect base). A sheet's last row
    (`SHEET_ROW_LIMITS`, the header counted): the rows after it were dropped when the file went through a
    spreadsheet (the last months, or some customers' orders, missing without a word)."""
    for s in sources:
        if s.rows == 0:
            events = " or ".join(t.replace("_", " ") for t in s.tables)
            if "orders" in s.tables:
                way_out = "the orders are required"
            else:
                leave = "leave the source out of the mapping" if s.source else "remove the file"
                way_out = (
                    f"if the company truly has none, {leave}: the features reading {', '.join(s.tables)} are then "
                    "left out (a model trained with them cannot score data without them: train one without them)"
                )
            raise EmptySourceError(
                f"{s.said()} has no usable row (a header and no rows in {s.file}): an export that failed or was "
                f"cut? Read so, every customer would have no {events}. Export the table again; {way_out}",
                s.tables,
                s.said(),
                s.file,
            )
        if s.sheet and s.rows + 1 in SHEET_ROW_LIMITS:
            raise StructuralError(
                f"{s.said()} has exactly {s.rows:,} rows in {s.file}, with its header {s.rows + 1:,}: "
                f"{SHEET_ROW_LIMITS[s.rows + 1]} last row. The file went through a spreadsheet that dropped the "
                "rows after it? Export the table from its system directly (not through a spreadsheet), in parts "
                "under the limit, or as Parquet"
            )


#: The mapped tables that, built empty from a source with rows, stop: the orders are required, and a customers
#: table of no row rejects every order as an unknown customer's (`features.validation.check_customers_usable`,
#: whose words, "remove the file", do not fit a table a mapping builds).
_EMPTIED_STOPS = {
    "orders": "the orders are required",
    "customers": "every order would be rejected as an unknown customer's (leave the customers table out of the "
    "mapping to work without one)",
}


def emptied_table_notes(
    wheres: Mapping[str, str | None], rows: Mapping[str, int], kept: Mapping[str, Mapping[str, int]]
) -> list[str]:
    """A note per mapped table (`wheres`: its `where`, None without one) that keeps no row (`rows`: the table's
    rows built), naming what emptied it (`kept`: `pipelines.mapping.apply_mapping`'s count of the rows its
    `where` kept and of those each later step removed): a filter that matched nothing (Online Retail's lines
    without a cancellation make no returns), or the rows it kept all rejected (`missing customer_id`: a column
    `require`d empty throughout). Said, not stopped on (the source file itself is judged by `check_source_rows`);
    the orders or the customers so emptied from a source with rows stop (`_EMPTIED_STOPS`)."""
    notes = []
    for t, w in wheres.items():
        if rows.get(t, 1) != 0:
            continue
        counts = dict(kept.get(t, {}))
        taken = counts.pop("where", 0)
        said = f"mapping table {t!r} keeps no row of its source"
        fix = "Check the filter against the source's values (a name, a case or a prefix written otherwise)"
        known = bool(w) if not taken else bool(counts)  # what emptied the table can be named
        if not taken:
            said += f" (tables.{t}.where = {w!r} matched none)" if w else ""
        elif counts:  # `require: {customer_id: Customer}`, Customer blank throughout: not the `where`'s doing
            causes = ", ".join(f"{n:,} {why}" for why, n in counts.items())
            said += (
                f" (tables.{t}.where = {w!r} kept {taken:,} rows" if w else f" (it read {taken:,} rows"
            ) + f"; the mapping rejected all of them: {causes})"
            fix = (
                f"Fill those values in the source, or check the mapping's tables.{t}.require and group_by (and "
                "its source's routing)"
            )
        if t in _EMPTIED_STOPS and known:
            raise StructuralError(f"{said}: {_EMPTIED_STOPS[t]}. {fix}")
        notes.append(f"{said}: the data has no {t.replace('_', ' ')}")
    return notes


def row_cap_notes(rows: Mapping[str, int], kind: str = "table") -> list[str]:
    """A note per table (`kind` "mapping source": per source file of a mapping) whose rows in (`rows`) are exactly
    a report tool's or a SQL client's row limit (`ROW_CAPS`): an export cut there drops the rows after it (the last
    days, some customers' events) without a word. A note, not a stop: a table may hold exactly so many rows (a
    spreadsheet's last row, which no whole CSV ends on, stops: `check_source_rows`). Both engines: from the rows in
    each loading command reports (`pipelines.load_notes.row_cap_notes`)."""
    return [
        f"{kind} {name!r} has exactly {n:,} rows, the row limit of {ROW_CAPS[n]}: was the export cut there? "
        "The rows after it (the last days, some customers' events) would be missing without a word: if so, "
        "export the table whole (from its system directly, or in parts under the limit); a table of exactly "
        "that many rows is read as it is"
        for name, n in rows.items()
        if n in ROW_CAPS
    ]
