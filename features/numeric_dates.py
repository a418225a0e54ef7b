"""Dates written as numbers or in a compact form: a spreadsheet's serial day (`44197`), Unix time in seconds to
nanoseconds (`1704067200`), SAS's and Stata's `05JAN2023`; the regexes and the hint naming the form with the first
value's date (`numeric_dates_hint`). Pure. The parsing itself: `features.dates`.
"""

from __future__ import annotations

import re

import pandas as pd

from features.week_dates import week_dates_hint

#: A spreadsheet's serial day number (days since 1899-12-30: `44197` is 2021-01-01; a fraction is the time of
#: day), what a date cell formatted as a number exports.
SERIAL_DAYS = r"[1-6]\d{4}(?:\.\d+)?"
#: A month's first three letters (any case where used).
MONTH3 = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
#: SAS's and Stata's compact dates, the month's three letters between day and year (`05JAN2023`: SAS's `DATE9.`;
#: `05JAN2023:10:00:00`: `DATETIME20.`; `05jan2023 10:00`: Stata's `%tc`); matched in any case.
SAS_DATE = rf"\d{{1,2}}{MONTH3}\d{{2}}(?:\d{{2}})?(?:[: ]\d{{1,2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?)?"
#: Unix time, what a database or an API exports for a timestamp as a number: seconds since 1970-01-01 UTC (9 or
#: 10 digits, 1973-03-03 to 2033-05-18: `1704067200` is 2024-01-01), or milliseconds (12 or 13 digits), or
#: microseconds (15 or 16: Debezium's and Kafka Connect's change events, Avro's `timestamp-micros`, BigQuery's and
#: PostgreSQL's `EXTRACT(EPOCH ...) * 1e6`) or nanoseconds (18 or 19: Go's `UnixNano`, pandas' and Arrow's int64).
EPOCH_SECONDS = r"(?:[1-9]\d{8}|1\d{9})(?:\.\d+)?"
EPOCH_MILLIS = r"[1-9]\d{11}|1\d{12}"
EPOCH_MICROS = r"[1-9]\d{14}|1\d{15}"
EPOCH_NANOS = r"[1-9]\d{17}|1\d{18}"
#: Any form of Unix time, and each form's unit by its regex (`numeric_dates_hint`).
UNIX_TIME = f"{EPOCH_SECONDS}|{EPOCH_MILLIS}|{EPOCH_MICROS}|{EPOCH_NANOS}"
_EPOCH_UNITS = (
    (EPOCH_SECONDS, "s", "seconds"),
    (EPOCH_MILLIS, "ms", "milliseconds"),
    (EPOCH_MICROS, "us", "microseconds"),
    (EPOCH_NANOS, "ns", "nanoseconds"),
)


def numeric_dates_hint(values: pd.Series, numbers: bool = False) -> str:
    """For dates that did not parse: when every one is a spreadsheet's serial day number (`45123`: days since
    1899-12-30) or Unix time (`1704067200`, `1704067200000`: `EPOCH_SECONDS` to `EPOCH_NANOS`), a sentence naming
    the form with the first value's date (`44197 is 2021-01-01`, or 2025-01-02 in the 1904 date system of older
    Excel for Mac: the data cannot tell which); when every one is SAS's or Stata's compact form (`SAS_DATE`), the
    tool's formats that write ISO 8601 instead (as `features.placeholder_words._WAYS` names R's and SAS's missing values).
    The sentence is added to the error; else ''. `numbers`: the values' column is typed as numbers
    (`week_dates_hint`'s)."""
    text = values.astype("str").str.strip()
    if not len(text):
        return ""
    first = text.iloc[0]
    if text.str.fullmatch(SERIAL_DAYS).all():
        days = pd.Timedelta(
            days=int(float(first))
        )  # the 1904 system (Excel for Mac before 2011): 1462 days on
        day, mac = pd.Timestamp("1899-12-30") + days, pd.Timestamp("1904-01-01") + days
        return (
            f". The values look like a spreadsheet's serial day numbers ({first} is {day.date()}, or "
            f"{mac.date()} in a workbook of the 1904 date system): format the column as dates before exporting"
        )
    if text.str.fullmatch(f"(?i){SAS_DATE}").all():
        return (
            ". The values look like SAS's or Stata's compact dates (SAS's `DATE9.` or `DATETIME20.` format, Stata's "
            "`%td` or `%tc`): export them as ISO 8601 (SAS: format the column `E8601DA10.` or `E8601DT19.`; Stata: "
            "`%tdCCYY-NN-DD`)"
        )
    if text.str.fullmatch(UNIX_TIME).all():
        unit, name = next((u, n) for form, u, n in _EPOCH_UNITS if re.fullmatch(form, first))
        at = pd.Timestamp(int(float(first)) if unit == "s" else int(first), unit=unit).floor("s")
        return (
            f". The values look like Unix time in {name} since 1970-01-01 UTC "
            f"({first} is {at:%Y-%m-%d %H:%M:%S} UTC): export the column as ISO 8601 dates "
            f"({at:%Y-%m-%dT%H:%M:%S}Z)"
        )
    return week_dates_hint(text, numbers)  # ISO 8601's week and ordinal dates
