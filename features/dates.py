"""Dates and date-times of raw columns: ISO 8601 unless a format is declared, offsets and IANA zones per row.

Nothing is guessed: `15/01/2023` without a declared `date_format` is an unknown format (the caller rejects the row
with `UNKNOWN_FORMAT`), and dates outside [MIN_DATE, MAX_DATE) are impossible. Pure: no I/O, no clock.
Rooms beside it: dates standing for no date (placeholders, open ends, zero days: `features.placeholder_dates`),
dates written as numbers (serial days, Unix time: `features.numeric_dates`), a date column's checks in order
(`features.date_checks`) and its other forms (`features.date_forms`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from features.text import blank

MIN_DATE = pd.Timestamp("1900-01-01")
MAX_DATE = pd.Timestamp("2100-01-01")


_NAIVE_ISO = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?$"
#: RFC 3339 allows `t` and `z` in lower case (`2023-01-05t10:00:00z`); `UTC` and `GMT` after the time, in any
#: case and with or without a space (`2023-01-05 10:00:00 GMT`), name the same instant as `Z`, and so with a zero
#: offset (`UTC+0`, `UTC+00:00`, `GMT-00`: either sign, one instant); a non-zero one (`GMT+1`: POSIX counts west)
#: is not read (`features.date_forms._ZONE_ABBREVIATION`). A zone abbreviation other than these (`CET`, `EST`,
#: `IST`: India, Ireland or Israel) is no zone: not ISO. An offset followed by its
#: zone in brackets (RFC 9557, Java's `ZonedDateTime`: `2023-01-05T10:00+01:00[Europe/Paris]`) is the offset's
#: instant, the zone a known IANA name; a bracket without an offset is not read. A fraction of a second takes ISO
#: 8601's decimal comma as well as its point (`10:00:05,123`: Java's, log4j's and Python logging's form).
_ISO = (
    r"^(?P<dt>\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?)"
    r"\s*(?P<off>[Zz]|[+-]\d{2}(?::?\d{2})?)?(?:\[(?P<bracket>[A-Za-z_]+(?:/[A-Za-z0-9_+-]+)*)\])?"
    r"(?:\s+(?P<zone>[A-Za-z_]+(?:/[A-Za-z0-9_+-]+)+)|\s*(?P<utc>(?i:UTC|GMT)(?:\s*[+-]0{1,2}(?::?00)?)?))?$"
)
UNKNOWN_FORMAT = "ambiguous or unknown date format"


#: The offsets a place on Earth keeps its clocks at: from -12:00 to +14:00, in whole hours, half hours or the
#: quarters `:45` (Nepal `+05:45`, Chatham `+12:45`, Eucla `+08:45`). Another (`+15:00`, `+05:17`: a corrupted
#: export, a time written into the offset) names no instant the data can have: the value is unparseable.
OFFSET_RANGE_MINUTES = (-12 * 60, 14 * 60)
OFFSET_MINUTES_PAST = (0, 30, 45)


def _offset_minutes(off: str) -> float:
    if off in ("Z", "z"):
        return 0.0
    sign = -1 if off[0] == "-" else 1
    digits = off[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    total = sign * (hours * 60 + minutes)
    low, high = OFFSET_RANGE_MINUTES
    if minutes not in OFFSET_MINUTES_PAST or not low <= total <= high:
        return np.nan
    return total


def zone_ok(zone: str) -> bool:
    """Whether `zone` names a time zone this machine's zone database knows (`Europe/Paris`, `UTC`, `EST`)."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_timezone(v: str) -> str:
    """An IANA zone name (`Europe/Paris`, `UTC`); anything else is a configuration error."""
    if not zone_ok(v):
        raise ValueError(
            f"unknown timezone {v!r}: use an IANA zone name such as 'UTC' or 'Europe/Paris'"
        ) from None
    return v


def check_date_format(key: str, fmt: str) -> str:
    """A strftime format that names a whole date with its century and reads back what it writes.

    A two-digit year (`%y`, and `%D`, `%x`, which hold one) is refused: the year is guessed from a fixed pivot
    (`65` read as 2065, `69` as 1969), so a birth year or an old signup lands decades off without a word."""

    short = [d for d in re.findall(r"%%|%[-#]?([A-Za-z])", fmt) if d in ("y", "D", "x")]
    if short:
        wanted = fmt.replace("%D", "%m/%d/%Y").replace("%x", "%m/%d/%Y").replace("%y", "%Y")
        raise ValueError(
            f"date format {fmt!r} for {key!r} has a two-digit year (%{short[0]}): its century would be guessed "
            f"(`65` read as 2065, `69` as 1969). Export four-digit years and declare {wanted!r}"
        )
    probe = pd.Timestamp("2023-11-25 13:45:00")
    try:
        text = probe.strftime(fmt)
        back = pd.to_datetime(pd.Series([text]), format=fmt).iloc[0]
    except (ValueError, TypeError) as exc:
        raise ValueError(f"date format {fmt!r} for {key!r} is not a usable strftime format: {exc}") from None
    if back.normalize() != probe.normalize():
        raise ValueError(
            f"date format {fmt!r} for {key!r} does not determine a whole date (day, month, year)"
        )
    return fmt


def _pandas_iso(dt: pd.Series) -> pd.Series:
    """ISO date-times as pandas reads them: `T` for RFC 3339's `t` (`2023-01-05t10:00`), a point for ISO 8601's
    decimal comma (`10:00:05,123`: Java's, log4j's and Python logging's form, the one ISO 8601 prefers)."""
    return dt.str.replace("t", "T", regex=False).str.replace(",", ".", regex=False)


#: ISO 8601's end of a day, `24:00` (`2023-01-05T24:00:00`, also with a zero fraction, an offset or a zone: ISO
#: 8601-1:2019/Amd 1:2022, PostgreSQL, schedules' "end of day"), which is the next day's `00:00`.
_END_OF_DAY = r"^(\d{4}-\d{2}-\d{2})[Tt ]24:00(?::00(?:[.,]0{1,9})?)?(?![0-9:.,])(.*)$"
#: A time whose second is 60 (`2016-12-31T23:59:60Z`: a leap second, UTC's; `10:14:60`: a writer that rounds
#: 59.9996 up), which is the next minute's `:00`, as PostgreSQL reads it.
_SECOND_60 = r"^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}):60(?:[.,]0{1,9})?(?![0-9:.,])(.*)$"


#: Go's `time.Time.String()` (`fmt.Println(t)`, `%v`, `log.Print`: services and scripts written in Go), the
#: offset then the zone's abbreviation: `2023-01-05 10:00:00.123 +0100 CET`, `... +0000 UTC`, `+0300 +03` (a zone
#: without an abbreviation), and after a time read from the clock its monotonic reading (` m=+0.000012`). The offset
#: names the instant; `UTC`/`GMT` with another offset than +0000, or a numeric abbreviation other than the offset,
#: contradict it (`_go_written`: not read).
_GO = (
    r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,9})?) ([+-]\d{4}) ([A-Za-z]{2,5}|[+-]\d{2}(?:\d{2})?)"
    r"(?: m=[+-]\d+\.\d{1,9})?$"
)


def _go_written(text: pd.Series) -> pd.Series:
    """The values of `text` written in Go's `time.Time.String()` form (`_GO`) whose abbreviation agrees with the
    offset, as ISO 8601 with that offset (`2023-01-05 10:00:00+0100`), on their index."""
    parts = text.str.extract(_GO)
    parts = parts[parts[0].notna()]
    off, abbr = parts[1], parts[2]
    utc = abbr.str.upper().isin(["UTC", "GMT"])
    numeric = abbr.str.startswith(("+", "-"))
    agrees = (~utc | off.isin(["+0000", "-0000"])) & (~numeric | (abbr.str.ljust(5, "0") == off))
    return (parts[0] + off)[agrees]


def _parse_iso(text: pd.Series, timezone: str) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 text (already stripped, blanks missing) -> naive wall-clock time in `timezone` and a mask of
    values that are not ISO 8601 at all (`_parse_iso_text`); a value at `24:00` (`_END_OF_DAY`) is read as the
    next day's midnight, one at second 60 (`_SECOND_60`) as the next minute's `:00` (was each: `unparseable
    <column>`, a row lost with exit 0). Only values that did not parse are looked at again."""
    out, unknown = _parse_iso_text(text, timezone)
    if unknown.any():  # Go's `time.Time.String()`: the offset then the zone's abbreviation
        go = _go_written(text[unknown])
        if len(go):
            out[go.index], unknown[go.index] = _parse_iso_text(go, timezone)
    missed = text.notna() & out.isna() & ~unknown
    if not missed.any():
        return out, unknown
    parts = text[missed].str.extract(_END_OF_DAY)
    parts = parts[parts[0].notna()]
    day = pd.to_datetime(parts[0], format="%Y-%m-%d", errors="coerce")
    parts, day = parts[day.notna()], day[day.notna()]
    if len(parts):
        written = (day + pd.Timedelta(days=1)).dt.strftime("%Y-%m-%dT00:00") + parts[1]
        out[written.index], unknown[written.index] = _parse_iso_text(written, timezone)
    parts = text[missed & out.isna()].str.extract(_SECOND_60)
    parts = parts[parts[0].notna()]
    if not len(parts):
        return out, unknown
    minute = pd.to_datetime(
        parts[0].str[:10] + "T" + parts[0].str[11:], format="%Y-%m-%dT%H:%M", errors="coerce"
    )
    # the next minute's `:00` written before reading: a clock change is its own
    minute = minute + pd.Timedelta(minutes=1)
    known = minute.notna() & (minute.dt.year <= 9999)
    written = minute[known].dt.strftime("%Y-%m-%dT%H:%M:00") + parts.loc[known, 1]
    out[written.index], unknown[written.index] = _parse_iso_text(written, timezone)
    late = parts[~known]  # `9999-12-31 23:59:60` (a placeholder; past ISO's years): second 59, one second on
    if len(late):
        read, unknown[late.index] = _parse_iso_text(late[0] + ":59" + late[1], timezone)
        out[late.index] = read + pd.Timedelta(seconds=1)
    return out, unknown


def _parse_iso_text(text: pd.Series, timezone: str) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 text (already stripped, blanks missing) -> naive wall-clock time in `timezone` and a mask of
    values that are not ISO 8601 at all. Vectorised: one regex pass in Arrow for the usual naive values, a
    second only for the rest; offsets and zone names are few distinct values, handled per distinct value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    unknown = pd.Series(False, index=text.index)
    present = text.notna()
    if hasattr(text.array, "__arrow_array__"):  # Arrow-backed strings: no copy
        arr = pa.array(text.array)
    else:
        arr = pa.array(text.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    naive = np.asarray(pc.fill_null(pc.match_substring_regex(arr, _NAIVE_ISO), False))
    if naive.sum() == present.sum():  # the usual case: every given value is a plain ISO date or date-time
        return pd.to_datetime(text, format="ISO8601", errors="coerce").astype("datetime64[us]"), unknown
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    if naive.any():
        out[naive] = pd.to_datetime(text[naive], format="ISO8601", errors="coerce").astype("datetime64[us]")
    rest = present.to_numpy() & ~naive
    if not rest.any():
        return out, unknown
    idx = text.index[rest]
    parts = pc.extract_regex(pa.array(text[rest].to_numpy(dtype=object), type=pa.large_string()), _ISO)
    valid = np.asarray(parts.is_valid())
    dt = pd.Series(parts.field("dt").to_numpy(zero_copy_only=False), index=idx)
    off = pd.Series(parts.field("off").to_numpy(zero_copy_only=False), index=idx)
    zone = pd.Series(parts.field("zone").to_numpy(zero_copy_only=False), index=idx)
    utc = pd.Series(parts.field("utc").to_numpy(zero_copy_only=False), index=idx).fillna("") != ""
    valid &= ~(
        (off.fillna("") != "") & ((zone.fillna("") != "") | utc)
    ).to_numpy()  # "Z UTC": one or the other
    bracket = pd.Series(parts.field("bracket").to_numpy(zero_copy_only=False), index=idx).fillna("")
    for b in bracket[bracket != ""].unique():  # `+01:00[Europe/Paris]`: after an offset, a known zone only
        at = (bracket == b).to_numpy()
        alone = (
            (off[at].fillna("") != "").to_numpy()
            & (zone[at].fillna("") == "").to_numpy()
            & ~utc[at].to_numpy()
        )
        valid[at] &= zone_ok(b) & alone
    unknown[idx[~valid]] = True
    dt, off, zone = dt[valid], off[valid].fillna("").mask(utc[valid], "Z"), zone[valid].fillna("")
    dt = _pandas_iso(dt)
    wall = pd.to_datetime(dt, format="ISO8601", errors="coerce").astype("datetime64[us]")
    # far outside the range a date may have (a sentinel such as 9999-12-31 with an offset), a value is impossible
    # whatever its zone: kept as written, since converting it can leave the calendar (year 10000: a traceback)
    far = ((wall < MIN_DATE - pd.Timedelta(days=2)) | (wall >= MAX_DATE + pd.Timedelta(days=2))).to_numpy()
    plain = ((off == "") & (zone == "")).to_numpy() | far
    out[wall.index[plain]] = wall[plain]
    off, zone = off.mask(far, ""), zone.mask(far, "")
    if (off != "").any():
        minutes = off[off != ""].map({o: _offset_minutes(o) for o in off[off != ""].unique()})
        utc = wall[minutes.index] - pd.to_timedelta(minutes.astype("float64"), unit="min")
        local = utc.dt.tz_localize("UTC").dt.tz_convert(timezone).dt.tz_localize(None)
        out[local.index] = local.astype("datetime64[us]")
        named = bracket[valid].reindex(utc.index)
        for b in named[
            named != ""
        ].unique():  # `+05:00[Europe/Paris]`: the offset is not the zone's, ambiguous
            rows = named.index[(named == b).to_numpy()]
            there = utc[rows].dt.tz_localize("UTC").dt.tz_convert(b).dt.tz_localize(None)
            wrong = rows[(there != wall[rows]).to_numpy()]
            out[wrong], unknown[wrong] = pd.NaT, True
    for z in zone[zone != ""].unique():
        rows = zone.index[(zone == z).to_numpy()]
        if not zone_ok(z):
            unknown[rows] = True
            continue
        aware = wall[rows].dt.tz_localize(z, ambiguous="NaT", nonexistent="NaT")
        out[rows] = aware.dt.tz_convert(timezone).dt.tz_localize(None).astype("datetime64[us]")
    return out, unknown


def parse_timestamps_native(
    s: pd.Series, timezone: str, date_format: str | None = None
) -> tuple[pd.Series, pd.Series]:
    """Parse to naive wall-clock time in `timezone` (no overflow), plus a mask of values in an unknown format.

    Text must be ISO 8601 unless `date_format` (a strftime format such as "%d/%m/%Y") is declared for the
    column; then every value must match that format exactly. Nothing is guessed.
    """
    none = pd.Series(False, index=s.index)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert(timezone).dt.tz_localize(None), none
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return s, none
    if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]"), s.notna()  # numbers are not dates
    text = s.astype("str").str.strip()
    text = text.where(~blank(s), None)
    if date_format is not None:
        out = pd.to_datetime(text, format=date_format, errors="coerce").astype("datetime64[us]")
        return out, text.notna() & out.isna()
    return _parse_iso(text, timezone)


def impossible_dates(t: pd.Series) -> pd.Series:
    """Dates before `MIN_DATE` or from `MAX_DATE` on. A naive date column in range is proven so by its earliest
    and latest date, read from its integers (issue 14: four comparisons per column, twice, at 1M customers)."""
    if len(t) and pd.api.types.is_datetime64_dtype(t.dtype):
        stamps = t.to_numpy().view(
            "i8"
        )  # NaT is the smallest int64: never the latest, masked for the earliest
        none, dated = np.iinfo(np.int64).max, stamps != np.iinfo(np.int64).min
        lo, hi = np.min(stamps, where=dated, initial=none), np.max(stamps)
        if lo == none or (
            pd.Timestamp(np.int64(lo).view(t.dtype)) >= MIN_DATE and pd.Timestamp(hi.view(t.dtype)) < MAX_DATE
        ):
            return pd.Series(False, index=t.index)
    return t.notna() & ((t < MIN_DATE) | (t >= MAX_DATE))


#: Reasons for a local time named with its zone that the zone's clock skipped or showed twice (a DST change).
NONEXISTENT_TIME = "non-existent local time (the clock skipped it at a DST change) in"
AMBIGUOUS_TIME = "ambiguous local time (shown twice at a DST change; write its offset) in"


def dst_faults(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """For raw ISO texts with an IANA zone name (`2023-03-26 02:30 Europe/Paris`), which name a wall-clock time
    that zone skipped (non-existent) and which one it showed twice (ambiguous), as two masks. Call it on the rows
    that did not parse: the parser reads both as missing, not guessing an hour."""
    import pyarrow as pa
    import pyarrow.compute as pc

    gap, twice = np.zeros(len(s), dtype=bool), np.zeros(len(s), dtype=bool)
    if not len(s) or not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
        return gap, twice
    text = s.astype("str").str.strip()
    parts = pc.extract_regex(
        pa.array(text.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True), _ISO
    )
    zone = pd.Series(parts.field("zone").to_numpy(zero_copy_only=False), index=s.index)
    dt = pd.Series(parts.field("dt").to_numpy(zero_copy_only=False), index=s.index)
    named = zone.notna() & (zone != "") & np.asarray(parts.is_valid())
    for z in zone[named].unique():
        if not zone_ok(z):
            continue
        at = np.flatnonzero((named & (zone == z)).to_numpy())
        wall = pd.to_datetime(_pandas_iso(dt.iloc[at]), format="ISO8601", errors="coerce")
        skipped = wall.dt.tz_localize(z, ambiguous="NaT", nonexistent="NaT").isna() & wall.notna()
        fwd = wall.dt.tz_localize(z, ambiguous="NaT", nonexistent="shift_forward")
        gap[at] = (skipped & fwd.notna()).to_numpy()
        twice[at] = (skipped & fwd.isna()).to_numpy()
    return gap, twice


def parse_timestamps(s: pd.Series, timezone: str, date_format: str | None = None) -> pd.Series:
    """Parse dates or date-times (ISO 8601, naive, with an offset or an IANA zone name; or the declared
    `date_format`) to naive `datetime64[ns]` wall-clock time in `timezone`.

    Naive input is taken to already be in `timezone`. Values in another format, unparseable values and dates
    outside 1900-2099 become NaT (the caller rejects them with a reason).
    """
    t, _ = parse_timestamps_native(s, timezone, date_format)
    return t.where(~impossible_dates(t)).astype("datetime64[ns]")


#: A date this many years before every other date of its column (but for `EARLY_SHARE` of the rows) is a mistyped
#: year (`1921` for `2021`), not the data: read as a date it gives a customer a century of tenure.
EARLY_GAP_YEARS = 5
EARLY_SHARE = 0.001
EARLY_GAP = np.timedelta64(int(EARLY_GAP_YEARS * 365.25), "D")
#: Columns with fewer dated rows than this have no "bulk" to stand apart from: not judged.
EARLY_MIN_ROWS = 100


def early_reason(column: str) -> str:
    """The reject reason of `isolated_early_dates` (both engines)."""
    return f"{column} {EARLY_GAP_YEARS} years or more before every other (mistyped year?)"


def early_count(dated: int) -> int:
    """How many of a column's `dated` rows may stand apart before it (`EARLY_SHARE`, at least one): the rule
    looks at the `early_count(dated) + 1` earliest dates. Judged only from `EARLY_MIN_ROWS` dated rows."""
    return max(1, int(EARLY_SHARE * dated))


def last_early_date(first: np.ndarray) -> np.datetime64 | None:
    """From the `early_count + 1` earliest dates of a column, sorted: the latest date on the early side of the
    last gap of `EARLY_GAP_YEARS` or more between two of them (None: no such gap). Every date of the column up
    to it is a mistyped year. The one predicate of both engines (the Spark engine gathers those earliest dates
    from every part of the column, `pipelines.engines.spark_stops.early_dates`)."""
    gaps = np.diff(first) >= EARLY_GAP
    if not gaps.any():
        return None
    return first[int(np.flatnonzero(gaps)[-1])]


def isolated_early_dates(values: pd.Series, ok: np.ndarray) -> np.ndarray:
    """Which dates of `values` (those of the rows `ok`) lie `EARLY_GAP_YEARS` or more before the next date of the
    column, with at most `EARLY_SHARE` of the dated rows (at least one) on the early side of that gap: a few rows
    dated decades before everything else. A company whose records start years apart is not judged (the early side
    holds more rows than that)."""
    dated = values.notna().to_numpy() & ok
    out = np.zeros(len(values), dtype=bool)
    n = int(np.count_nonzero(dated))
    if n < EARLY_MIN_ROWS:
        return out
    column = values.to_numpy(dtype="datetime64[ns]")  # the column itself when it is in ns (validated dates)
    k = early_count(n)
    # The usual column, in two passes instead of a partition (issue 14: 0.1 s per column of 2.3M dates): when k + 1
    # dates lie less than the gap after the earliest, so do the k + 1 earliest, and no gap separates them. Over
    # the whole column with the dated rows as a mask: no copy of the dates (0.5 s of copies at 1M customers).
    earliest = np.min(column.view("i8"), where=dated, initial=np.iinfo(np.int64).max).view("datetime64[ns]")
    if np.count_nonzero((column < earliest + EARLY_GAP) & dated) > k:
        return out
    at = np.flatnonzero(dated)
    stamps = column[at]
    first = np.partition(stamps, k)[: k + 1]  # the k + 1 earliest, unsorted
    first.sort()
    last_early = last_early_date(first)
    if last_early is None:
        return out
    out[at[stamps <= last_early]] = True
    return out
