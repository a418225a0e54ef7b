"""Dates written year, day, month (`2025-25-01` for the 25th of January): ISO's shape with day and month the other
way round, as a writer's pattern `yyyy-dd-MM` or SQL Server's `SET DATEFORMAT ydm` gives them. Those of a day above
12 do not parse; those of a day of 12 or less parse as ISO, swapped, without a word. Judged by
`features.date_forms` (a part of a column: another form) and `features.unparsed_columns.check_mostly_unparsed` (throughout:
the hint), both engines."""

from __future__ import annotations

import pandas as pd

#: An ISO-shaped date that does not parse because it is written year, DAY, month (`2025-25-01` for the 25th of
#: January: a writer's pattern `yyyy-dd-MM`, a Java or .NET format string's slip, SQL Server's `SET DATEFORMAT
#: ydm`): a day of 13-31 where the month stands, a month where the day does, a time or offset after it or not.
YEAR_DAY_MONTH = (
    r"\d{4}-(?:1[3-9]|2\d|3[01])-(?:0[1-9]|1[0-2])(?:[Tt ][0-9:.,]+)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)


def year_day_month_hint(values: pd.Series, table: str, column: str) -> str:
    """For an ISO column most of whose values do not parse: when every one is written year-day-month
    (`YEAR_DAY_MONTH`, `2021-13-01`), a sentence saying so, that the others parse swapped, and the format that
    reads the column (round 35, was: "Dates must be ISO 8601", no word of the form); else ''."""
    text = values.astype("str").str.strip()
    if not len(text) or not text.str.fullmatch(YEAR_DAY_MONTH).all():
        return ""
    first = text.iloc[0]
    forms = {10: "%Y-%d-%m", 16: "%Y-%d-%m{}%H:%M", 19: "%Y-%d-%m{}%H:%M:%S"}
    declared = forms.get(len(first), "").format(first[10:11])
    declare = (
        f', or, when every value is so written, declare `data.date_formats: {{{table}.{column}: "{declared}"}}`'
        if declared
        else ""
    )
    return (
        f". The values look like dates written year-day-month ({first}: a pattern yyyy-dd-MM, SQL Server's ydm "
        "date format), and the column's values of a day of 12 or less parse as ISO with day and month swapped: "
        f"export ISO 8601 (year-month-day){declare}"
    )


#: A date written year first with `/` or `.` between its parts (`2021/25/01`, `2021.01.25`), a time after it or
#: not: `\1` the separator, then the middle and the last part; the time's separator (`T` or a space), its seconds
#: and its fraction, when written (`2021/25/01 10:30`, `2021/25/01T10:30:15.250`).
SLASHED = r"\d{4}([/.])(\d{1,2})\1(\d{1,2})(?:([Tt ])\d{1,2}:\d{2}(:\d{2})?([.,]\d{1,6})?)?"


def slashed_dates_hint(values: pd.Series, table: str, column: str) -> str:
    """For a date column no value of which parses (`values`: its given values; the Spark driver's, its first
    `spark_checks.HINT_VALUES`): when every one but placeholder words (`NA`) is written year first with `/` or `.`
    (`SLASHED`: `2021/25/01`, `2021/01/25 10:30`), a sentence naming the order its values show (a day above 12 in
    the middle: year/day/month; at the end: year/month/day) and the whole format to declare, the time's parts
    included, or that they cannot tell; '' else (and when the values' times are written in more than one way).
    Without the `". "` that ends its caller's sentence. Round 38: was the general hint, whose example format
    (`%d/%m/%Y`) reads none of them."""
    import numpy as np

    from features.placeholder_words import missing_placeholders

    text = values.astype("str").str.strip()
    text = text[~missing_placeholders(text, np.ones(len(text), dtype=bool), "timestamp")]
    parts = text.str.extract(f"^{SLASHED}$")
    if not len(text) or parts[0].isna().any() or parts[0].nunique() != 1:
        return ""
    times = (
        parts[3].fillna("").str.upper()
        + parts[3].notna().map({True: "%H:%M", False: ""})
        + parts[4].notna().map({True: ":%S", False: ""})
        + parts[5].str[0].fillna("").map(lambda mark: f"{mark}%f" if mark else "")
    )
    if times.nunique() != 1:
        return ""
    sep, middle, last, time = parts[0].iloc[0], parts[1].astype(int), parts[2].astype(int), times.iloc[0]
    if (middle > 12).any() and (last <= 12).all():
        order, fmt, seen = "year/day/month", f"%Y{sep}%d{sep}%m{time}", text[middle > 12].iloc[0]
    elif (last > 12).any() and (middle <= 12).all():
        order, fmt, seen = "year/month/day", f"%Y{sep}%m{sep}%d{time}", text[last > 12].iloc[0]
    else:
        return (
            f"The values are written year first with {sep!r} ({text.iloc[0]}), no day above 12 in the middle or "
            "at the end telling year/month/day from year/day/month: export ISO 8601, or declare the order "
            f'written, `data.date_formats: {{{table}.{column}: "%Y{sep}%m{sep}%d{time}"}}` or "%Y{sep}%d{sep}%m{time}"'
        )
    return (
        f"The values are written {order} ({seen}): export ISO 8601 (year-month-day), or declare "
        f'`data.date_formats: {{{table}.{column}: "{fmt}"}}`'
    )
