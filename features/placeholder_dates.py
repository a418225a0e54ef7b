"""Dates that stand for no date: a placeholder (`1970-01-01`, `1900-01-01`), an open end (`2099-12-31`,
`9999-12-31`), a zero or day-zero date (`0001-01-01`, `1899-12-30`), found on the parsed column
(`placeholder_dates`, `open_end_dates`, `zero_dates`, `placeholder_rows`) or on its text before parsing
(`placeholder_texts`, `zero_texts`, `zero_day_texts`). Pure. The parsing itself: `features.dates`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.dates import MIN_DATE, _parse_iso

#: Midnight of these days is what exports write for "no date": the Unix epoch (a zero timestamp) and the
#: default of SQL Server's `datetime` and of spreadsheets' day 1. Taken as a date, a signup at 1970-01-01 made a
#: customer of 50 years' tenure and a `churned_at` of 1970 cancelled them; such values are rejected, never read.
PLACEHOLDER_DATES = (pd.Timestamp("1970-01-01"), pd.Timestamp("1900-01-01"))


def placeholder_dates(t: pd.Series) -> pd.Series:
    """Which parsed (naive, wall-clock) values are exactly a `PLACEHOLDER_DATES` midnight."""
    return t.isin(PLACEHOLDER_DATES) & t.notna()


#: What exports write for "no end date" (a customer never cancelled, an invoice not yet paid, a manager still
#: there): the last or first day of a far year, `9999-12-31` (SQL's and data warehouses' open end), `2999-12-31`,
#: `3000-01-01`, `2100-01-01`. A date on the last or first day of a year from `OPEN_END_FROM` on, at any time of
#: day (an offset moves `9999-12-31 23:59:59Z` into the next day elsewhere): never a real date of this data. Each
#: was an `impossible date` reject, and with it the row: a customer, and every order of theirs.
OPEN_END_FROM = 2099


def open_end_dates(t: pd.Series) -> pd.Series:
    """Which parsed (naive) values are an open-end placeholder: Dec 31 or Jan 1 of a year >= `OPEN_END_FROM`."""
    late = t.notna() & (t >= pd.Timestamp(f"{OPEN_END_FROM}-12-31"))
    if not late.any():
        return late
    days = t[late]
    ends = ((days.dt.month == 12) & (days.dt.day == 31)) | ((days.dt.month == 1) & (days.dt.day == 1))
    return late & ends.reindex(t.index, fill_value=False)


#: The row reject of `zero_dates` (the column's name to format in).
ZERO_DATE_REASON = (
    "placeholder date in {} (0001-01-01, 1753-01-01, 1899-12-30, ...: a system's zero or minimum date)"
)


def zero_dates(t: pd.Series) -> pd.Series:
    """Which parsed (naive) values are a system's zero or minimum date written for "no date", at any time of day
    (an offset moves them): the first day of a year before 1900 (`0001-01-01`: .NET's `DateTime.MinValue`, Go's
    zero time, SQL Server's `datetime2`; `1753-01-01`: SQL Server's `datetime`; `1000-01-01`: MySQL's `DATE`) and
    the OLE Automation zero `1899-12-30` (Excel, Access, VBA, Delphi) or Excel's day 0 shown as `1899-12-31`.
    Before `MIN_DATE`, never a date of this data: each was an `impossible date` reject, and with it the row."""
    early = t.notna() & (t < MIN_DATE)
    if not early.any():
        return early
    days = t[early]
    zero = ((days.dt.month == 1) & (days.dt.day == 1)) | (
        (days.dt.year == 1899) & (days.dt.month == 12) & (days.dt.day >= 30)
    )
    return early & zero.reindex(t.index, fill_value=False)


def placeholder_rows(
    raw: pd.Series, parsed: pd.Series, date_format: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a date column (`raw` as read, `parsed` by `parse_timestamps_native`) holding a placeholder for
    "no date": (`PLACEHOLDER_DATES`; open ends `open_end_dates` and zero dates `zero_dates`, the second mask), whatever the zone a time-zone-aware column or an
    offset in the text gives them. The one predicate of the row rejects and of the column's convention check
    (`features.placeholder_words.check_missing_placeholders`) in both engines."""
    placeholder, open_end = placeholder_dates(parsed), open_end_dates(parsed) | zero_dates(parsed)
    if isinstance(raw.dtype, pd.DatetimeTZDtype):  # a zero timestamp shown in another zone: 01:00 in London
        utc = raw.dt.tz_convert("UTC").dt.tz_localize(None)
        placeholder = placeholder | placeholder_dates(utc)
        open_end = open_end | open_end_dates(utc) | zero_dates(utc)
    elif date_format is None:  # `1970-01-01T00:00Z` read in another zone: 01:00 in Paris
        placeholder = placeholder | placeholder_texts(raw)
        open_end = open_end | zero_texts(raw)  # `0001-01-01T00:00:00Z` in New York: 0000-12-31 19:03
    else:  # in a declared format too: SAP's `00000000` in a `%Y%m%d` column
        open_end = open_end | zero_day_texts(raw)
    return np.asarray(placeholder, dtype=bool), np.asarray(open_end, dtype=bool)


#: A placeholder day's midnight as written, whatever offset or zone follows (`1970-01-01T00:00Z`,
#: `1900-01-01 00:00:00+02:00`, `1970-01-01 Europe/Paris`).
_WRITTEN_PLACEHOLDER = r"^(?:1970|1900)-01-01(?:[Tt ]00:00(?::00(?:[.,]0+)?)?)?\s*(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?(?:\s+[A-Za-z_/+\-0-9]+)?$"


def placeholder_texts(s: pd.Series) -> np.ndarray:
    """Which ISO texts of a raw column are a placeholder date written with an offset or a zone: the midnight of
    a `PLACEHOLDER_DATES` day as written (`1970-01-01T00:00Z`), or an instant that is one in UTC (a zero
    timestamp shown in a zone: `1969-12-31T19:00-05:00`). Converted to `data.timezone` they are another time
    (01:00 in Paris) that `placeholder_dates` would not catch."""
    pattern = r"^[\s\p{Z}\x{1c}-\x{1f}\x{85}]*(?:1969-12-31|1970-01-0[12]|1899-12-31|1900-01-0[12])"
    near = _texts_matching(s, b"1", pattern)
    if not near.any():
        return near
    rows = s[near].astype("str").str.strip()
    written = rows.str.match(_WRITTEN_PLACEHOLDER).fillna(False).to_numpy(dtype=bool)
    utc, _ = _parse_iso(rows.where(rows != "", None), "UTC")
    hit = near.copy()
    hit[near] = written | placeholder_dates(utc).to_numpy(dtype=bool)
    return hit


#: A zero date as written (`zero_dates`), whatever time, offset or zone follows: converted to `data.timezone` it
#: is the evening before in the Americas (`1899-12-30T00:00:00Z`: 1899-12-29 19:00 in New York).
_WRITTEN_ZERO = r"^[\s\p{Z}\x{1c}-\x{1f}\x{85}]*(?:(?:0\d{3}|1[0-8]\d{2})-01-01|1899-12-3[01])(?:[Tt\s]|$)"
#: A date written with zeros only, no date at all whatever the column's format: MySQL's zero date `0000-00-00`
#: (`0000-00-00 00:00:00`: what a `DATE` or `DATETIME` column holds for "no date" unless the server's
#: `NO_ZERO_DATE` mode forbids it; dumps and `SELECT ... INTO OUTFILE` write it), SAP's initial date `00000000` (an
#: empty `DATS` field; `00000000000000` an empty timestamp), `00/00/0000`, `00.00.0000` (dBase, FoxPro, Access).
_ZERO_DAY = (
    r"^[\s\p{Z}\x{1c}-\x{1f}\x{85}]*(?:0{8}(?:0{6})?|0{4}-00-00|00[/.-]00[/.-]0{4}|0{4}[/.]00[/.]00)"
    r"(?:[Tt\s]|$)"
)


def zero_texts(s: pd.Series) -> np.ndarray:
    """Which texts of a raw column are written as a system's zero date (`zero_dates`): judged on the date as
    written, not on its reading in `data.timezone`."""
    return _texts_matching(s, b"01", _WRITTEN_ZERO) | zero_day_texts(s)


def zero_day_texts(s: pd.Series) -> np.ndarray:
    """Which texts of a raw column are a date written with zeros only (`_ZERO_DAY`), whatever the column's format:
    no date at all."""
    return _texts_matching(s, b"0", _ZERO_DAY)


def _texts_matching(s: pd.Series, digits: bytes, pattern: str) -> np.ndarray:
    """Which texts of a raw column match the regex `pattern`, run only over those starting with one of `digits`
    or a space (no regex over the usual 20xx dates)."""
    if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
        return np.zeros(len(s), dtype=bool)
    from features.ids import matches_where
    from features.text import arrow_text, first_bytes

    arr = arrow_text(s.astype("str"))
    first = digits + b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\xc2\xe1\xe2\xe3"
    near = np.isin(first_bytes(arr), np.frombuffer(first, np.uint8))
    return matches_where(arr, near, pattern) if near.any() else near
