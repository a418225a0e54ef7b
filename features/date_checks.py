"""The date checks of one parsed timestamp column (`features.column_checks._check_parsed`'s date block), in order:
placeholder, impossible and other-calendar dates, dates written as midnight UTC (`features.utc_midnights`), then
the values not in the expected form (swapped day and month, another date form, a Unix time, a zone abbreviation,
the unknown format), then a zone's DST gap or repeated hour. Each is a row reject with its reason (`rej`: the
table's `_Rejector`); with `column_stats` None (the whole column, not a Spark part), each family's stop first."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.contract import Column, Table
from features.date_forms import (
    UNIX_TIME_REASON,
    ZONE_ABBREVIATION_REASON,
    check_other_calendars,
    check_other_dates,
    check_swapped_dates,
    other_calendar_dates,
    other_date_forms,
    swapped_dates,
    unix_times,
    zone_abbreviations,
)
from features.dates import (
    AMBIGUOUS_TIME,
    MIN_DATE,
    NONEXISTENT_TIME,
    UNKNOWN_FORMAT,
    dst_faults,
    impossible_dates,
)
from features.placeholder_dates import ZERO_DATE_REASON, placeholder_rows
from features.placeholder_words import check_missing_placeholders
from features.utc_midnights import check_utc_midnights, utc_midnights


def check_date_column(
    table: Table,
    col: Column,
    raw: pd.Series,
    parsed: pd.Series,
    given: pd.Series,
    bad: pd.Series,
    rej: Any,
    unknown_format: pd.Series | None,
    date_format: str | None,
    column_stats: dict[str, Any] | None,
    timezone: str,
) -> None:
    """`raw` as read, `parsed` its dates, `given` its rows holding a value, `bad` those not parsing, `unknown_format`
    the given rows in no known form (None: not a date column parsed here)."""
    if col.kind == "timestamp":
        placeholder, open_end = placeholder_rows(raw, parsed, date_format)  # 1970-01-01; 9999-12-31
        impossible = impossible_dates(parsed)
        calendar = other_calendar_dates(parsed, impossible)  # `2566-01-05`: a Thai Buddhist-era year
        if column_stats is None:  # written for every missing date of the column: the export's convention
            check_missing_placeholders(table.name, col.name, raw, placeholder | open_end)
            check_other_calendars(table.name, col.name, raw, calendar, int(given.sum()))
            # `2023-01-05T00:00:00Z` on every row: dates a zone behind UTC reads a day early (Spark: `spark_masks`)
            check_utc_midnights(
                table.name, col.name, raw, utc_midnights(raw, parsed, timezone), int(given.sum())
            )
        else:  # the caller sums them over the whole column
            column_stats[col.name] = (given, bad, placeholder | open_end, calendar)
        # 0001-01-01, 1899-12-30; MySQL's 0000-00-00, which parses as no date (before the format's rejects, below)
        rej.add(open_end & ((parsed < MIN_DATE) | parsed.isna()), ZERO_DATE_REASON.format(col.name))
        rej.add(open_end, f"placeholder date in {col.name} (9999-12-31, 2999-12-31, ...: an open end)")
        rej.add(impossible, f"impossible date in {col.name}")
        rej.add(placeholder, f"placeholder date in {col.name} (1970-01-01 or 1900-01-01)")
    if unknown_format is not None:
        if column_stats is None:  # `01/14/2023` under `%d/%m/%Y` on 1%: the other values read swapped
            swapped = swapped_dates(raw, unknown_format & given, date_format)
            check_swapped_dates(table.name, col.name, raw, swapped, int(given.sum()), date_format)
            # `15/01/2023` among ISO; `2025-25-01` (year-day-month, unparseable ISO: the Spark masks' `bad` too)
            other = other_date_forms(raw, (unknown_format | bad) & given, date_format)
            check_other_dates(table.name, col.name, raw, other, int(given.sum()), date_format)
        rej.add(
            unix_times(raw, unknown_format & given), UNIX_TIME_REASON.format(col.name)
        )  # a stray 1704067200
        rej.add(zone_abbreviations(raw, unknown_format & given), ZONE_ABBREVIATION_REASON.format(col.name))
        if date_format is None:
            rej.add(unknown_format & given, f"{UNKNOWN_FORMAT} in {col.name}")
        else:
            rej.add(
                unknown_format & given, f"{col.name} does not match the declared date format {date_format}"
            )
    if col.kind == "timestamp" and date_format is None and bad.any():  # a zone's DST gap or repeated hour
        at = np.flatnonzero(bad.to_numpy())
        gap, twice = dst_faults(raw.iloc[at])
        for mask, why in ((gap, NONEXISTENT_TIME), (twice, AMBIGUOUS_TIME)):
            if mask.any():
                hit = np.zeros(len(raw), dtype=bool)
                hit[at[mask]] = True
                rej.add(hit, f"{why} {col.name}")
