"""An event table's time-zone column (`timezone`, `Time Zone`, `tz`: not a contract column, so otherwise ignored)
naming another zone than `data.timezone` on a row: a shop or helpdesk exporting each row's local time beside the
name of its zone. Dates without an offset are read in `data.timezone` (the contract), so each such row's time was
read hours off without a word, the column listed as "not used". A structural error names the column, the zones
and the way out (an offset or a zone name inside each date, which is read). Pure function over raw tables
(`check_zone_columns`), with its row mask for the Spark engine (`other_zone_rows`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.errors import StructuralError
from features.names import examples, name_key

#: The tables of events whose times the zone would shift (a customer's `Time Zone` in a CRM export is a profile
#: attribute, not the zone of the table's dates: the customers table is not judged).
EVENT_TABLES = ("orders", "returns", "tickets", "invoices", "referrals", "assignments")

#: Column names (by `name_key`: any case, spaces, `_`, `-`) naming the zone of a row's times.
ZONE_COLUMNS = frozenset({"timezone", "tz", "tzname", "timezonename", "ianatimezone", "zone", "zonename"})


#: Names of UTC itself (lower case): one zone for a `data.timezone` of any of them.
_UTC = frozenset(
    {"utc", "etc/utc", "gmt", "etc/gmt", "z", "zulu", "universal", "etc/universal", "uct", "etc/uct"}
)


def _other_zone(column: str, values: pd.Series, timezone: str) -> pd.Series | None:
    """Which rows of `column` name another zone than `timezone` (blank cells are not judged); None when the
    column is no zone column."""
    if name_key(str(column)) not in ZONE_COLUMNS:
        return None
    text = values.astype("string").str.strip().str.lower()
    same = {timezone.strip().lower()}
    if same & _UTC:
        same |= _UTC
    return (text.notna() & (text != "") & ~text.isin(same)).astype(bool)


def other_zone_rows(table: str, raw: pd.DataFrame, timezone: str | None) -> np.ndarray:
    """Rows of `table` (raw, as read) whose zone column names another zone than `timezone` (`check_zone_columns`'
    mask, summed by the Spark engine)."""
    out = np.zeros(len(raw), dtype=bool)
    if table in EVENT_TABLES and timezone:
        for column in raw.columns:
            hit = _other_zone(column, raw[column], timezone)
            if hit is not None:
                out |= hit.to_numpy(dtype=bool)
    return out


def check_zone_columns(raw: Mapping[str, pd.DataFrame], timezone: str | None) -> None:
    """Structural error when an event table's zone column names another zone than `timezone` (`data.timezone`) on
    any row: its dates would be read in the wrong zone. `timezone` None: not checked."""
    if not timezone:
        return
    for table, frame in raw.items():
        if table not in EVENT_TABLES:
            continue
        for column in frame.columns:
            hit = _other_zone(column, frame[column], timezone)
            if hit is None or not hit.any():
                continue
            seen = frame[column][hit].astype("string").str.strip().value_counts().head(4)
            said = ", ".join(f"{v!r} ({k:,} rows)" for v, k in seen.items())
            raise StructuralError(
                f"table {table!r}, column {column!r}: {int(hit.sum()):,} of {len(frame):,} rows name another time "
                f"zone ({said}) than data.timezone = {timezone}, in which dates without an offset are read: the "
                "column is outside the contract and not read, so their times would be hours off. Write each date "
                "with its offset or zone (2023-01-05T10:00:00+01:00, 2023-01-05 10:00 Europe/Berlin), or convert "
                f"them to {timezone} (or set data.timezone when every row is in one other zone), then leave the "
                f"column out.\nExample rows:\n{examples(frame, hit.to_numpy(), also=[column])}"
            )
