"""Numbers written for a reader, not a parser: thousands separators (`1,234.50`, `1 234`, `1'234`, `1.234,50`) and
decimal commas (`31,16`). Which separator is which cannot be told without guessing (`1,234` is 1234 in one locale,
1.234 in another), so they are never read as numbers. Used by the contract's validation (`features.validation`)
for both engines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.errors import StructuralError

#: Digits grouped by `,` `.` a space (also no-break and narrow no-break), `'` or `’`, then `.`/`,` decimals; or
#: digits with a decimal comma. Only values that are not plain numbers are judged (`1.234` is a plain number).
_LOCALE_NUMBER = r"^[+-]?(?:\d{1,3}(?:[,. \u00a0\u202f'\u2019]\d{3})+(?:[.,]\d*)?|\d*,\d+)$"
#: From this share of a column's values (or one value, if fewer rows), the column is written in a locale's
#: format: rejecting those rows would keep only the amounts below 1,000 (or none), so the run stops.
LOCALE_SHARE = 0.01


def locale_numbers(raw: pd.Series, unparsed: pd.Series | np.ndarray) -> np.ndarray:
    """Which values of a number column (as read) are numbers in a locale's format, among `unparsed` (the rows
    whose text did not parse as a plain number)."""
    out = np.zeros(len(raw), dtype=bool)
    at = np.flatnonzero(np.asarray(unparsed, dtype=bool))
    if not len(at) or pd.api.types.is_numeric_dtype(raw.dtype):
        return out
    text = raw.iloc[at].astype("str").str.strip()
    out[at] = text.str.match(_LOCALE_NUMBER).fillna(False).to_numpy(dtype=bool)
    return out


def check_locale_numbers(table: str, column: str, raw: pd.Series, found: np.ndarray, given: int) -> None:
    """Structural error when a column's numbers are written in a locale's format (`LOCALE_SHARE` of its values)."""
    n = int(found.sum())
    if not n or n < LOCALE_SHARE * given:
        return
    examples = raw[found].head(5)
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values are numbers written with a thousands "
        f"separator or a decimal comma ({', '.join(map(repr, examples.astype('str').str.strip().tolist()[:3]))}):"
        " which separator is which cannot be told without guessing (`1,234` is 1234 in one locale and 1.234 in "
        "another), and rejecting these rows would keep only the small amounts. Export plain numbers (`1234.50`: "
        f"no separator, `.` for decimals).\nExample rows:\n{examples.to_frame().to_string(max_colwidth=40)}"
    )
