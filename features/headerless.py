"""A table file without its header line: the first data row read as the header (an export saved without
headers, a header line deleted). Its "column names" are then a customer's values, names and e-mail addresses
among them, so the missing-columns error must not print them (the rows printed below a header are masked by
personal column names, which such a file does not have)."""

from __future__ import annotations

import re

from features.ids import EMAIL_ADDRESS

_NUMBER = re.compile(r"[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}([ T].*)?|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}([ T].*)?")
_SHORT = re.compile(r"\d{1,4}")  # `2023`, `12`: a pivot's year or week columns can be names
_EMAIL = re.compile(EMAIL_ADDRESS)


def value_like_header_cells(columns: list[str]) -> tuple[list[str], int]:
    """Header cells that are values, not names: dates and numbers other than 1-4 digits (a pivot's `2023`, `12`
    columns), shown, and a count of e-mail addresses (never shown). `(shown, emails)`; empty/0 for a real header."""
    shown = [
        c
        for c in columns
        if _DATE.fullmatch(c.strip()) or (_NUMBER.fullmatch(c.strip()) and not _SHORT.fullmatch(c.strip()))
    ]
    emails = sum(1 for c in columns if _EMAIL.match(c))
    return shown, emails


def named_like_columns(columns: list[str]) -> bool:
    """Whether a header has a cell named like a column: a contract column of any table or a personal column
    (however written: `Customer ID`, `E-mail`), or a near miss of a contract column (`custmer_id`, `customer`).
    A line of values holds none; a header that holds none cannot be told from a row of names (`AM001,Ann Smith`)."""
    from features.contract import TABLES
    from features.names import PERSONAL_KEYS, did_you_mean, name_key

    names = [c for t in TABLES.values() for c in t.column_names]
    known = {name_key(c) for c in names} | PERSONAL_KEYS
    return any(name_key(c) in known or did_you_mean(c, names) for c in columns)


def headerless_message(table: str, columns: list[str], required: list[str]) -> str | None:
    """The structural error for a table whose header line is a data row, or None when the header looks real.
    A header without a value-like cell but without any cell named like a column either (a first row of names:
    `AM001,Ann Smith`) gets a message that prints none of its cells nor rows."""
    if not columns:  # a Parquet file written without columns (an empty frame): no header to doubt
        return (
            f"table {table!r} has no column at all (required: {', '.join(required)}): the file holds no table"
        )
    shown, emails = value_like_header_cells([str(c) for c in columns])
    if not shown and not emails:
        if named_like_columns([str(c) for c in columns]):
            return None
        return (
            f"table {table!r} is missing required column(s) {', '.join(required)}, and none of its "
            f"{len(columns)} header cells is named like a column: its first line may be a data row (a file saved "
            "without its header line?). Add a header line naming the columns; if the file has one, name them as "
            'the contract does (README, "The data contract"). Its cells and rows are not printed: without a '
            "header, personal columns cannot be recognised."
        )
    what = ", ".join(repr(c) for c in shown[:3]) + (f" and {emails} e-mail address(es)" if emails else "")
    return (
        f"table {table!r}: its first line is a data row, not a header (it holds values: {what}); the file has "
        f"no header line? Add one naming the columns (required: {', '.join(required)}). Its cells and rows "
        "are not printed: without a header, personal columns cannot be recognised."
    )


#: Lines looked at below the first for the header when the first names no column (`header_below`).
PREAMBLE_LINES = 10


def header_below(text: str) -> tuple[int, list[str]] | None:
    """Lines above the header: a report's title, an export date or filter, a blank line (ERP, BI and spreadsheet
    exports write them; a sheet saved as CSV pads them with commas). The first line was then read as the header
    and the run stopped with a message about something else: rows not matching a header of 1 or 2 columns ("an
    unquoted comma?"), a duplicate column name `''` (the padding), or a first line that "is a data row". Found
    when the first non-empty line of `text` (a file's first block) names no contract column and one of the next
    `PREAMBLE_LINES` is a contract header (`_contract_header`) that the first line is no header above
    (`_no_header_above`): (its line number, the contract-named cells, shown short), else None. A `sep=` first
    line has its own message. A foreign header (`Kundennr,Kanal,Typ`) above a row of values that are contract
    names (`1,Email,Promo`) is a header with its data: never called a preamble (round 18's first version was)."""
    import csv
    import io

    from features.contract import TABLES
    from features.names import name_key, shown_name

    known = {name_key(c) for t in TABLES.values() for c in t.column_names}
    reader = csv.reader(io.StringIO(text, newline=None))
    first = None  # the line read as the header: the first that is not empty (Arrow skips empty lines)
    try:
        for row in reader:
            if first is None:
                if row:
                    if any(name_key(c) in known for c in row) or row[0].strip().lower().startswith("sep="):
                        return None
                    first, first_row = reader.line_num, row
                continue
            if reader.line_num > first + PREAMBLE_LINES:
                return None
            if _contract_header(row) and _no_header_above(first_row, row):
                return reader.line_num, [shown_name(c) for c in row if name_key(c) in known]
    except csv.Error:
        return None
    return None


def _contract_header(row: list[str]) -> bool:
    """Whether a line is a contract table's header: two or more cells naming one table's columns, its id or a
    date column among them (`customer_id`, `Ordered At`: names no value holds, where `Email`, `Promo`, `Phone`,
    `Channel`, `Kind` are category values too), and no cell that is a value (a date, a number, an e-mail)."""
    from features.contract import TABLES
    from features.names import name_key

    shown, emails = value_like_header_cells(row)
    if shown or emails:
        return False
    keys = {name_key(c) for c in row}
    for table in TABLES.values():
        named = [c for c in table.columns if name_key(c.name) in keys]
        if len(named) >= 2 and any(c.kind in ("id", "timestamp") for c in named):
            return True
    return False


def _no_header_above(first: list[str], header: list[str]) -> bool:
    """Whether the first line is no header above `header`: fewer non-empty cells (a title, a title padded with
    commas by a sheet), a cell that is a value or holds a date (a filter's `From,2021-01-01`, `generated
    2024-01-31`). A line of as many names (`Kundennr,Kanal,Typ,Betrag`) is a header, whatever its rows hold."""
    shown, emails = value_like_header_cells(first)
    if shown or emails or any(_DATE.search(c) for c in first):
        return True
    return sum(1 for c in first if c.strip()) < sum(1 for c in header if c.strip())
