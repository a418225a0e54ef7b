"""A table's number of rows as a sign of a failed export (both engines: `features.validation.validate_tables` after
its per-table checks, `pipelines.engines.spark_stops.cross_table_stops` from each table's rows in)."""

from __future__ import annotations

from collections.abc import Mapping

from features.errors import StructuralError

#: A spreadsheet's last row with a header above it: Excel's (and LibreOffice's) 1,048,576 rows, the 65,536 of
#: Excel 97-2003 (`.xls`). A file of exactly so many data rows was saved from a sheet that cut what did not fit.
SHEET_ROW_LIMITS = {1_048_576: "Excel's and LibreOffice's", 65_536: "Excel 97-2003's (.xls)"}


def check_table_rows(rows: Mapping[str, int]) -> None:
    """Structural error when a table (`rows`: each table's rows in) holds no row or exactly a spreadsheet's last
    row. A header and no row (a CSV of its header line, a Parquet file of no row group): an export that failed or
    was cut would read as none of its events for every customer (no ticket, no return: a perfect base). A sheet's
    last row (`SHEET_ROW_LIMITS`, the header counted): the rows after it were dropped when the file went through a
    spreadsheet (the last months, or some customers' orders, missing without a word)."""
    for name, n in rows.items():
        if n == 0:
            way_out = (
                "the table is required"
                if name == "orders"
                else (
                    "if the company truly has none, remove the file (or leave the table out of the mapping): the "
                    f"features reading {name} are then left out"
                )
            )
            raise StructuralError(
                f"table {name!r} has no usable row (a header and no rows): an export that failed or was cut? "
                f"Read so, every customer would have no {name.replace('_', ' ')}. Export the table again; {way_out}"
            )
        if n + 1 in SHEET_ROW_LIMITS:
            raise StructuralError(
                f"table {name!r} has exactly {n:,} rows, with its header {n + 1:,}: {SHEET_ROW_LIMITS[n + 1]} last "
                "row. The file went through a spreadsheet that dropped the rows after it? Export the table from "
                "its system directly (not through a spreadsheet), or in parts under the limit"
            )
