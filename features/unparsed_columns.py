"""Columns whose given values mostly do not parse as their type (`$12.50`, `15%`, `WAHR`, `15.01.2023`): the
share from which that is how the column is written (`UNPARSED_SHARE`, `BOOL_MIN_ROWS`), the stop
(`check_mostly_unparsed`) with a hint at the type the values are (`wrong_type_hint`), and a required column given
on no row (`check_required_given`). Both engines. Numbers in a locale's or another form: `features.numbers`,
`features.number_forms`; placeholder words: `features.placeholder_words`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.errors import StructuralError
from features.shares import LOCALE_SHARE, MIN_ROWS

#: More than this share of a column's given values not parsing as its type (and `MIN_ROWS` of them) is how the
#: column is written (`$12.50`, `12.50 EUR`, `15%`, `WAHR`/`FALSCH`, `15.01.2023`), not a few bad rows: rejecting
#: them would drop most of the table's rows with exit 0.
UNPARSED_SHARE = 0.5


#: ... of a true/false column: 1% (`LOCALE_SHARE`) and `BOOL_MIN_ROWS`. Two values only, so spellings outside the
#: contract's by the ten (`WAAR`/`ONWAAR`, `ja`/`nein`, `oui`/`non`: a second export in another language) are its
#: convention, not typos: rejected, 30% of the orders were dropped for an optional `promo` flag with exit 0.
BOOL_MIN_ROWS = 10


def unparsed_share(kind: str) -> float:
    """The share of a column's given values that, unparsed, is how the column is written (`UNPARSED_SHARE`)."""
    return LOCALE_SHARE if kind == "bool" else UNPARSED_SHARE


def check_mostly_unparsed(
    table: str, column: str, raw: pd.Series, bad: pd.Series | np.ndarray, given: int
) -> None:
    """Structural error when most (`UNPARSED_SHARE`) of a number, true/false or date column's `given` values do
    not parse (`bad`: their rows; `raw`: the column as read); "no value parses" is the same rule throughout. Both
    engines (`features.column_checks._check_parsed`, `pipelines.engines.spark_stops.table_stops`)."""
    from features.contract import TABLES

    hit = np.asarray(bad, dtype=bool)
    n = int(hit.sum())
    kind = TABLES[table].column(column).kind
    few = n <= UNPARSED_SHARE * given
    if kind == "bool":  # another language's words: a stop from 1% and ten rows
        few = few and n < max(BOOL_MIN_ROWS, LOCALE_SHARE * given)
    if n < MIN_ROWS or few:
        return
    text = raw[hit].astype("str").str.strip()
    seen = ", ".join(map(repr, text.drop_duplicates().head(3).tolist()))
    if kind == "bool":
        from features.contract import BOOL_SPELLINGS

        what, fix = "true/false", f"True/false columns take {BOOL_SPELLINGS} (any case): export those."
    elif kind == "timestamp":
        from features.numeric_dates import numeric_dates_hint
        from features.year_day_month import year_day_month_hint

        what = "a date"
        fix = (
            "Dates must be ISO 8601 (2023-01-15, 2023-01-15 10:00:00+02:00), or match the format declared in "
            f"`data.date_formats` (a mapping's `date_formats`){numeric_dates_hint(text)}"
            f"{year_day_month_hint(text, table, column)}."
        )
    else:
        what, fix = (
            "a number",
            "Export plain numbers (`1234.50`; a currency sign or unit: `check_unit_numbers`).",
        )
    dropped = "most of the table's rows" if n > UNPARSED_SHARE * given else "those rows"
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values do not parse as {what} ({seen}): "
        f"rejected, {dropped} would be dropped. "
        f"{fix}\nExample rows:\n"
        f"{raw[hit].head(5).to_frame().to_string(max_colwidth=40)}"
    )


def check_required_given(table: str, column: str, rows: int, given: int) -> None:
    """Structural error when a required column holds no value on any of a table's rows (`MIN_ROWS` or more): an
    export that emptied it. Each row would be a `missing <column>` reject, the table lost with exit 0 (tickets
    without their effort: every customer's cost to serve gone). Both engines (`rows`, `given`: the whole column's)."""
    if given == 0 and rows >= MIN_ROWS:
        raise StructuralError(
            f"table {table!r}, column {column!r}: required, and empty on every one of the {rows:,} rows: each "
            f"row would be rejected (`missing {column}`) and the table lost. Export the column's values, or "
            "leave the table out"
        )


#: A true/false column's marks: a spreadsheet's checkbox column (`x` or a tick for true, an empty cell for false).
_MARKS = frozenset({"x", "✓", "✔", "☑", "*"})
#: A percentage (`15%`, `12,5 %`).
_PERCENT = r"[-+]?\d+(?:[.,]\d+)?\s?%"


def wrong_type_hint(kind: str, values: pd.Series) -> str:
    """For a column where no value parses (its kind; `values`: its first given values, at most 5: the rows both
    engines show), a sentence naming the form they share, to add to the error; else ''. A true/false column of
    marks (`x`, `✓`) or a number column of percentages (`15%`) (was: "wrong type throughout", no more)."""
    text = values.astype("str").str.strip().head(5)
    if not len(text):
        return ""
    if kind == "bool" and text.str.lower().isin(_MARKS).all():
        return (
            " The values are marks (`x`, `✓`: a checkbox column, an empty cell for false?), which are not read as "
            "true/false: export true/false (or 1/0)."
        )
    if kind in ("money", "number", "rating") and text.str.fullmatch(_PERCENT).all():
        return " The values are percentages (`15%`): export amounts (a discount as the amount given)."
    return ""
