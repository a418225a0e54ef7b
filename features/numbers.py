"""Numbers written for a reader, not a parser: thousands separators (`1,234.50`, `1 234`, `1'234`, `1.234,50`) and
decimal commas (`31,16`). Which separator is which cannot be told without guessing (`1,234` is 1234 in one locale,
1.234 in another), so they are never read as numbers. Used by the contract's validation (`features.validation`)
for both engines. Rooms beside it: numbers in other forms (a unit, a rating, an accounting negative, a
spreadsheet's error or formula: `features.number_forms`), placeholder words for a missing value
(`features.placeholder_words`), columns mostly not parsing as their type (`features.unparsed_columns`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.errors import StructuralError
from features.names import examples, shown_values  # noqa: F401 (shown_values re-exported)
from features.shares import LOCALE_SHARE, MIN_ROWS, check_share  # noqa: F401 (re-exported)
from features.text import blank

#: Digits grouped by `,` `.` a space (also no-break, narrow no-break, and since round 29 thin and figure: ISO
#: 80000's and typeset reports' grouping), `'` or `’`, then `.`/`,` decimals; or
#: grouped the Indian way, lakhs and crores (`1,23,456.00`: groups of two above the last three, as India's
#: exports and Excel's en-IN format write them); or digits with a decimal comma. Only values that are not plain
#: numbers are judged (`1.234` is a plain number).
_LOCALE_NUMBER = (
    r"^[+-]?(?:[0-9]{1,3}(?:[,. \u00a0\u202f\u2009\u2007'\u2019][0-9]{3})+(?:[.,][0-9]*)?"
    r"|[0-9]{1,2}(?:,[0-9]{2})+,[0-9]{3}(?:\.[0-9]*)?|[0-9]*,[0-9]+)$"
)


def _unparsed_matching(raw: pd.Series, unparsed: pd.Series | np.ndarray, pattern: str) -> np.ndarray:
    """Which values of a number column (as read), among `unparsed` (the rows whose text did not parse as a plain
    number), match the anchored regex `pattern` once stripped."""
    out = np.zeros(len(raw), dtype=bool)
    at = np.flatnonzero(np.asarray(unparsed, dtype=bool))
    if not len(at) or pd.api.types.is_numeric_dtype(raw.dtype):
        return out
    text = raw.iloc[at].astype("str").str.strip()
    out[at] = text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    return out


def locale_numbers(raw: pd.Series, unparsed: pd.Series | np.ndarray) -> np.ndarray:
    """Which values of a number column (as read) are numbers in a locale's format, among `unparsed`."""
    return _unparsed_matching(raw, unparsed, _LOCALE_NUMBER)


def check_locale_numbers(
    table: str, column: str, raw: pd.Series, found: np.ndarray, given: int, parsed: pd.Series | None = None
) -> None:
    """Structural error when a column's numbers are written in a locale's format: on `LOCALE_SHARE` of its values,
    or (with `parsed`, the values read as plain numbers) on at least `MIN_ROWS` values and as many as the plain
    values of 1,000 or more: every amount that could carry a separator carries one, however few they are (a shop
    whose orders are mostly under 1,000 would otherwise lose exactly its largest orders as row rejects)."""
    n = int(found.sum())
    if not n:
        return
    large_plain = int((parsed.abs() >= 1000).sum()) if parsed is not None else n
    if n < LOCALE_SHARE * given and (n < MIN_ROWS or n < large_plain):
        return
    seen, rows = shown_values(raw, found)
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values are numbers written with a thousands "
        f"separator or a decimal comma ({seen}):"
        " which separator is which cannot be told without guessing (`1,234` is 1234 in one locale and 1.234 in "
        "another), and rejecting these rows would keep only the small amounts. Export plain numbers (`1234.50`: "
        f"no separator, `.` for decimals).{rows}"
    )


#: A whole number written with one thousands group after a point (`1.234`, `12.500`): a plain number to a parser
#: (1.234), 1234 to the export that wrote it (whole amounts or quantities in German, Dutch, ... format; two groups,
#: `1.234.567`, do not parse and are `_LOCALE_NUMBER`'s). Told apart only by the rest of the column: when every
#: other value is a whole number or has two decimals (`12.50`: a writer of two decimals never writes three) and
#: some are, the point groups thousands.
_ONE_GROUP = r"^[+-]?[1-9][0-9]{0,2}\.[0-9]{3}$"


def point_groups(
    raw: pd.Series, unparsed: pd.Series | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Among a number column's values (as read) that parse (given, not `unparsed`): which are written like
    `1.234` (`_ONE_GROUP`), which hold a decimal point otherwise (`12.5`, `0.125`, `3.14159`), which hold none
    or two decimals (`12`, `12.50`: the third mask, "plain", what a writer of whole numbers or of two decimals
    writes). Once a value holds a point otherwise the point is a decimal point: the usual column (prices written
    by a float's shortest form) stops there, the first such values of its first rows marked and nothing else (no
    pass over the column, issue 14); a column of two decimals throughout is read whole (0.2 s per 1M values)."""
    import pyarrow.compute as pc

    from features.text import arrow_text

    grouped, other, plain = (np.zeros(len(raw), dtype=bool) for _ in range(3))
    if pd.api.types.is_numeric_dtype(raw.dtype) or not len(raw):
        return grouped, other, plain

    def decimals(at: np.ndarray) -> tuple[object, np.ndarray, np.ndarray]:
        arr = arrow_text(raw.iloc[at].astype("str"))
        dotted = np.asarray(pc.fill_null(pc.match_substring(arr, "."), False), dtype=bool)
        other, d = np.zeros(len(at), dtype=bool), np.flatnonzero(dotted)
        two = np.zeros(len(at), dtype=bool)
        if len(d):  # `1.234`: the point 4th from last; `12.50`: 3rd from last
            trimmed = pc.utf8_trim_whitespace(arr.take(d))
            last = pc.utf8_slice_codeunits(trimmed, start=-4, stop=-3)
            two[d] = np.asarray(
                pc.fill_null(pc.match_substring_regex(trimmed, r"\.[0-9]{2}$"), False), dtype=bool
            )
            other[d] = ~np.asarray(pc.fill_null(pc.equal(last, "."), False), dtype=bool) & ~two[d]
        return arr, dotted & ~two, other

    given = ~np.asarray(unparsed, dtype=bool)
    head = np.flatnonzero(given[:1000])
    head = head[~blank(raw.iloc[head]).to_numpy(dtype=bool)]
    if len(head) and (found := decimals(head)[2]).any():
        other[head[found]] = True
        return grouped, other, plain
    at = np.flatnonzero(given & ~blank(raw).to_numpy(dtype=bool))
    if not len(at):
        return grouped, other, plain
    arr, dotted, other[at] = decimals(at)
    plain[at] = ~dotted
    if other.any() or not dotted.any():
        return grouped, other, plain
    d = np.flatnonzero(dotted)
    taken = pc.utf8_trim_whitespace(arr.take(d))  # type: ignore[attr-defined]
    grouped[at[d]] = np.asarray(pc.fill_null(pc.match_substring_regex(taken, _ONE_GROUP), False), dtype=bool)
    other[at[d]] = ~grouped[at[d]]
    return grouped, other, plain


def check_point_groups(
    table: str, column: str, raw: pd.Series, grouped: np.ndarray, other: int, plain: int, given: int
) -> None:
    """Structural error when `MIN_ROWS` values of a number column or more are written like `1.234` and no other
    value holds a decimal point but before two decimals while `MIN_ROWS` or more are whole numbers or have two
    decimals (`12`, `12.50`: `point_groups`' counts; since round 32 the two decimals too): the point
    is a thousands separator (1.234 = 1234), and read as a decimal point every such amount would be a thousand
    times too small with exit 0 (the demo's orders in whole euros in German format: its 38 orders from 1,000 on
    read as 1.0-9.9). Never guessed. Both engines (`pipelines.engines.spark_stops.table_stops`, from the sums)."""
    n = int(np.asarray(grouped, dtype=bool).sum())
    if n < MIN_ROWS or other or plain < MIN_ROWS:
        return
    seen, rows = shown_values(raw, grouped)
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values are written with a point before three "
        f"digits ({seen}) and every other value is a whole number or has two decimals ({plain:,}): "
        "the point looks like a thousands separator (1.234 = 1234; a writer of two decimals never writes three); "
        "read as a decimal point, these amounts would be a thousand times too small. "
        "Which one it is cannot be told without guessing. Export plain numbers (`1234`; `.` only for decimals)."
        + rows
    )
