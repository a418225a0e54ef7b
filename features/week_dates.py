"""ISO 8601's week and ordinal dates, written once: the forms a date column's reject and stop recognise
(`features.date_forms._ISO_OTHER`) and the format that reads a column of them (`features.numeric_dates.numeric_dates_hint`).
An ISO column does not take them; declared in `data.date_formats`, the named format reads each value as its day."""

from __future__ import annotations

import pandas as pd

#: ISO 8601's basic ordinal date (`2023005`: a mainframe's `YYYYDDD`, COBOL's and DB2's `JULIAN` dates): a year of
#: 1900-2099 and a day 001-366, so a Julian day number (`2459950`, years 2415-2488) is not one.
_BASIC_ORDINAL = r"(?:19|20)\d{2}(?:00[1-9]|0[1-9]\d|[12]\d\d|3[0-5]\d|36[0-6])"
#: A whole week or ordinal date with the strftime format that reads it: a week date extended (`2023-W01-4`: a
#: planning or payroll system's) or basic (`2023W014`), an ordinal date (`2023-005`: a mainframe's, a log's; basic,
#: `2023005`).
WEEK_DATE_FORMS = (
    (r"\d{4}-W\d{2}-[1-7]", "%G-W%V-%u", "week"),
    (r"\d{4}W\d{2}[1-7]", "%GW%V%u", "week"),
    (r"\d{4}-(?:[0-2]\d\d|3[0-5]\d|36[0-6])", "%Y-%j", "ordinal"),
    (_BASIC_ORDINAL, "%Y%j", "ordinal"),
)
#: A time after such a date (`2023-W01-4T10:00`, `T10:00:00`), with the format's part that reads it; a zone or
#: offset after it (`Z`, `+02:00`) has no format here: such values are named, not read.
WEEK_DATE_TIMES = ((r"T\d{2}:\d{2}", "T%H:%M"), (r"T\d{2}:\d{2}:\d{2}", "T%H:%M:%S"))
_ZONE = r"(?:Z|[+-]\d{2}(?::?\d{2})?)"
#: Any of them, a time and zone optional, or another week form: without its day (`2023-W01`: no whole date), or
#: mixing the basic and extended forms (`2023W01-4`, which no format here reads).
WEEK_DATES = (
    "(?:" + "|".join(form for form, _, _ in WEEK_DATE_FORMS) + ")"
    "(?:T\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?" + _ZONE + "?)?|\\d{4}-?W\\d{2}(?:-?[1-7])?"
)


def week_dates_hint(text: pd.Series, numbers: bool = False) -> str:
    """For stripped date texts that did not parse: when every one is one form of `WEEK_DATE_FORMS`, a time of
    `WEEK_DATE_TIMES` after it or not, a sentence naming the form, the first value's day and the format that reads
    them; with a zone or a fraction of a second after the time, that no declared format reads them here; else ''.
    `numbers`: the values come from a column typed as numbers, which no declared format reads (as `20230105` in
    an integer column): the sentence says to store the column as text before declaring the format."""
    first = text.iloc[0]
    for form, fmt, name in WEEK_DATE_FORMS:
        for time, clock in (("", ""), *WEEK_DATE_TIMES, (r"T[\d:.]+" + _ZONE + "?", None)):
            if not text.str.fullmatch(form + time).all():
                continue
            if clock is None:
                return (
                    f". The values look like ISO 8601 {name} dates with a time and zone or fraction ({first}): "
                    "no declared format reads them here: export calendar dates (ISO 8601)"
                )
            day = pd.to_datetime(first, format=fmt + clock, errors="coerce")
            said = f"{first}: no such day" if pd.isna(day) else f"{first} is {day if clock else day.date()}"
            return (
                f". The values look like ISO 8601 {name} dates ({said}): export calendar dates, or "
                f"{'store the column as text and ' if numbers else ''}declare the format '{fmt + clock}' in "
                "`data.date_formats` (a mapping's `date_formats`)"
            )
    return ""
