"""An event table's time-zone column (`timezone`, `Time Zone`, `tz`: not a contract column, so otherwise ignored)
naming another zone than `data.timezone` on a row: a shop or helpdesk exporting each row's local time beside the
name of its zone. Dates without an offset are read in `data.timezone` (the contract), so each such row's time was
read hours off without a word, the column listed as "not used". A structural error names the column, the zones
and the way out (an offset or a zone name inside each date, which is read). Pure function over raw tables
(`check_zone_columns`), with its row mask for the Spark engine (`other_zone_rows`)."""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from features.contract import TABLES
from features.errors import StructuralError
from features.names import examples, name_key

#: The tables of events whose times the zone would shift (a customer's `Time Zone` in a CRM export is a profile
#: attribute, not the zone of the table's dates: the customers table is not judged).
EVENT_TABLES = ("orders", "returns", "tickets", "invoices", "referrals", "assignments")

#: Column names (by `name_key`: any case, spaces, `_`, `-`) naming the zone of a row's times (a bare `zone` is not
#: one: a sales region, `North`).
ZONE_COLUMNS = frozenset({"timezone", "tz", "tzname", "timezonename", "ianatimezone", "zonename"})

#: A UTC offset written alone (`+01:00`, `-0500`, `+05`): a zone column's other form.
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})?")
#: A date carrying its own offset or zone after its time (`...10:00+01:00`, `...10:00:00Z`, `... 10:00 Europe/Berlin`):
#: read right, not judged.
_OWN_ZONE = (
    r"(?i).*\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:z|[+-]\d{2}(?::?\d{2})?|utc\S*|gmt\S*|[a-z]+/[a-z_/+-]+)"
)


@functools.cache
def _zone_names() -> dict[str, str]:
    """The IANA zone names (and `CET`, `EST`, `UTC`...) by their lower case."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def _offsets(times: pd.Series, zone: str) -> pd.Series:
    """Each naive time's UTC offset as wall-clock time in `zone` (an IANA name or an offset `+01:00`; NaT where
    the local time is skipped or repeated)."""
    found = _OFFSET.fullmatch(zone)
    if found:
        sign, hours, minutes = found.groups()
        return pd.Series(pd.Timedelta(hours=int(hours), minutes=int(minutes or 0)), index=times.index) * (
            -1 if sign == "-" else 1
        )
    local = times.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    return local.dt.tz_localize(None) - local.dt.tz_convert("UTC").dt.tz_localize(None)


def _row_times(table: str, raw: pd.DataFrame) -> pd.Series:
    """Each row's time as read without a zone (its table's first date column; NaT where there is none, or where
    the date carries its own offset or zone: read right whatever the column says)."""
    column = next((c.name for c in TABLES[table].columns if c.kind == "timestamp" and c.name in raw), None)
    if column is None or isinstance(raw[column].dtype, pd.DatetimeTZDtype):
        return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    text = raw[column].astype("string").str.strip()
    own = text.str.fullmatch(_OWN_ZONE).fillna(False).to_numpy(dtype=bool)
    try:
        times = pd.to_datetime(text.where(~own), errors="coerce", format="mixed")
    except (ValueError, TypeError):  # an offset the pattern missed, among naive dates: not judged
        return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    return times if getattr(times.dt, "tz", None) is None else times.dt.tz_localize(None)


def _other_zone(table: str, column: str, values: pd.Series, timezone: str, raw: pd.DataFrame) -> pd.Series:
    """Which rows of the zone column `column` (`zone_columns`) name a zone (an IANA name or a UTC offset; other
    values are not judged) whose UTC offset at the row's own time differs from `timezone`'s."""
    text = values.astype("string").str.strip()
    names = _zone_names()
    zones = text.map(  # per distinct value
        {v: names.get(v.lower()) or (v if _OFFSET.fullmatch(v) else None) for v in text.dropna().unique()}
    )
    out = pd.Series(False, index=values.index)
    if zones.isna().all():
        return out
    times = _row_times(table, raw.reset_index(drop=True)).set_axis(values.index)
    known = zones.notna() & times.notna()
    if not known.any():
        return out
    ours = _offsets(times[known], timezone)
    for zone, rows in zones[known].groupby(zones[known]).groups.items():
        theirs = _offsets(times[rows], str(zone))
        out[rows] = (theirs.notna() & ours[rows].notna() & (theirs != ours[rows])).to_numpy(dtype=bool)
    return out


def zone_columns(table: str, columns: Iterable[object]) -> list[object]:
    """The columns of an event table naming its rows' zone (judged by `check_zone_columns` and `other_zone_rows`;
    not a model input)."""
    return [c for c in columns if name_key(str(c)) in ZONE_COLUMNS] if table in EVENT_TABLES else []


def other_zone_rows(table: str, raw: pd.DataFrame, timezone: str | None) -> np.ndarray:
    """Rows of `table` (raw, as read) whose zone column names another zone than `timezone` (`check_zone_columns`'
    mask, summed by the Spark engine)."""
    out = np.zeros(len(raw), dtype=bool)
    for column in zone_columns(table, raw.columns) if timezone else ():
        out |= _other_zone(table, column, raw[column], timezone, raw).to_numpy(dtype=bool)
    return out


def check_zone_columns(raw: Mapping[str, pd.DataFrame], timezone: str | None) -> None:
    """Structural error when an event table's zone column names another zone than `timezone` (`data.timezone`) on
    any row: its dates would be read in the wrong zone. `timezone` None: not checked."""
    if not timezone:
        return
    for table, frame in raw.items():
        for column in zone_columns(table, frame.columns):
            hit = _other_zone(table, column, frame[column], timezone, frame)
            if not hit.any():
                continue
            seen = frame[column][hit].astype("string").str.strip().value_counts().head(4)
            said = ", ".join(f"{v!r} ({k:,} row{'s' * (k != 1)})" for v, k in seen.items())
            raise StructuralError(
                f"table {table!r}, column {column!r}: {int(hit.sum()):,} of {len(frame):,} rows name another time "
                f"zone ({said}) than data.timezone = {timezone}, in which dates without an offset are read: the "
                "column is outside the contract and not read, so their times would be hours off. Write each date "
                "with its offset or zone (2023-01-05T10:00:00+01:00, 2023-01-05 10:00 Europe/Berlin), or convert "
                f"them to {timezone} (or set data.timezone when every row is in one other zone), then leave the "
                f"column out.\nExample rows:\n{examples(frame, hit.to_numpy(), also=[column])}"
            )
