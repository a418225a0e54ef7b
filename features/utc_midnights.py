"""A date column of dates without a time written as instants at midnight UTC: `2023-01-05T00:00:00Z` (a JSON API's
or JavaScript's date, pandas' `to_datetime(..., utc=True)`, a BI tool's export), or a Parquet timestamp in UTC at
00:00. Read as the instants they name and converted to a `data.timezone` behind UTC (`America/New_York`), each
falls on the evening of the day before (2023-01-04 19:00): every order a day early, the first of each month in the
month before, with exit 0. Real events do not all happen at midnight UTC, so a column written so on (nearly)
every row is dates; a few such values among times of day are instants and stay so. Both engines: the pandas
engine's date checks (`features.date_checks`) on the whole column, the Spark engine's row step marking its rows
(`spark_masks`, `UTC_MIDNIGHT`) and its driver judging their sum (`spark_stops.table_stops`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.errors import StructuralError

#: A value written as midnight UTC: the date, a zero time (`00:00`, `00:00:00`, a zero fraction) and a zero offset.
_UTC_MIDNIGHT = (
    r"\d{4}-\d{2}-\d{2}[Tt ]00:00(?::00(?:[.,]0+)?)?\s*(?:[Zz]|[+-]00(?::?00)?|[Uu][Tt][Cc]|[Gg][Mm][Tt])"
)
#: From this many values (and `SHARE` of the column's given values), a column so written is dates: a stop.
MIN_ROWS = 10
SHARE = 0.99
#: The first given values looked at before the whole column (or a Spark batch): under half of them so written,
#: the column is instants (a regular expression over every value of every date column is not paid for).
_SAMPLE = 200


def _behind_in_year(day: pd.Series, timezone: str) -> np.ndarray:
    """Whether `timezone` is behind UTC at some time of each `day`'s year (its offset in mid-January or mid-July):
    `Atlantic/Azores` is UTC-1 in winter and UTC+0 in summer, and its summer midnights belong to the same column
    of dates as its winter ones, which it reads a day early. A zone never behind UTC (`Europe/London`): never."""
    years = day.dt.year
    behind = {}
    for year in years.dropna().unique():
        at = [pd.Timestamp(int(year), month, 15, tz=timezone).utcoffset() for month in (1, 7)]
        behind[year] = min(at) < pd.Timedelta(0)
    return years.map(behind).fillna(False).to_numpy(dtype=bool)


def utc_midnights(raw: pd.Series, parsed: pd.Series, timezone: str = "UTC") -> np.ndarray:
    """Which values of a date column (`raw` as read: text or a Parquet timestamp; `parsed`: the dates in
    `data.timezone`, naive) are written as midnight UTC in a `timezone` behind UTC: judged at each value's year
    (`_behind_in_year`), so a zone behind UTC only in winter counts the column's summer dates too, or falling on
    another day once converted. None when fewer than half of the first `_SAMPLE` given values are so written."""
    out = np.zeros(len(raw), dtype=bool)
    local = pd.Series(pd.to_datetime(parsed, errors="coerce").to_numpy(), index=raw.index)
    given = np.flatnonzero(local.notna().to_numpy())
    if not len(given):
        return out
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        utc = raw.dt.tz_convert("UTC").dt.tz_localize(None)
        midnight = (utc == utc.dt.normalize()).to_numpy(dtype=bool)
        day = utc.dt.normalize()
    elif raw.dtype == object or isinstance(raw.dtype, pd.StringDtype):
        first = raw.iloc[given[:_SAMPLE]].astype("str").str.strip()
        if first.str.fullmatch(_UTC_MIDNIGHT).mean() < 0.5:
            return out
        text = raw.astype("str").str.strip()
        midnight = text.str.fullmatch(_UTC_MIDNIGHT).fillna(False).to_numpy(dtype=bool)
        day = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
        day[midnight] = pd.to_datetime(text[midnight].str[:10], errors="coerce")
    else:  # naive timestamps: read in `data.timezone`, no instant to shift
        return out
    shifted = (local.dt.normalize() != day).to_numpy(dtype=bool) | _behind_in_year(day, timezone)
    out[:] = midnight & shifted & local.notna().to_numpy()
    return out


def utc_midnights_fire(n: int, given: int) -> bool:
    """Whether `n` values written as midnight UTC (`utc_midnights`) among a column's `given` values are how the
    column is written: `MIN_ROWS` or more, `SHARE` of them."""
    return n >= max(MIN_ROWS, SHARE * given)


def check_utc_midnights(table: str, column: str, raw: pd.Series, found: np.ndarray, given: int) -> None:
    """Structural error when `found` (`utc_midnights`) fires (`utc_midnights_fire`): the column's dates would each
    be read a day early."""
    n = int(np.asarray(found, dtype=bool).sum())
    if not utc_midnights_fire(n, given):
        return
    shown = raw[np.asarray(found, dtype=bool)].head(5)
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values are midnight UTC ({str(shown.iloc[0])!r}): "
        "dates without a time written as UTC instants (a JSON API, pandas' to_datetime(utc=True), a BI tool)? "
        "Read in data.timezone, behind UTC, each would fall on the evening of the day before (every event a day "
        "early; in a zone behind UTC in winter only, each winter event). Export the dates without a time (2023-01-05), which are read in data.timezone, or the times "
        f"the events happened.\nExample rows:\n{shown.to_frame().to_string(max_colwidth=40)}"
    )
