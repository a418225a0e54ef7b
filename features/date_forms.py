"""A date column written in two forms: a declared format's values with day and month the other way round
(`01/14/2023` under `%d/%m/%Y`), or dates in another common form than the column's (`15/01/2023` among ISO dates,
ISO among a declared format): two exports put together. A few such rows are row rejects (not the column's
format); on 1% of the column (3 rows: `features.shares.check_share`, as for the number forms), a
structural error. Used by the contract's validation (`features.validation`) for both engines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.dates import _ISO
from features.errors import StructuralError
from features.folded_ids import ascii_spelling
from features.numbers import check_share, shown_values
from features.numeric_dates import MONTH3, SAS_DATE, SERIAL_DAYS, UNIX_TIME, numeric_dates_hint
from features.unparsed_columns import UNPARSED_SHARE
from features.week_dates import WEEK_DATES
from features.year_day_month import YEAR_DAY_MONTH


def swapped_format(date_format: str) -> str | None:
    """`date_format` with its day (`%d`) and month (`%m`) swapped, or None when it lacks either."""
    if "%d" not in date_format or "%m" not in date_format:
        return None
    return date_format.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def swapped_dates(raw: pd.Series, unmatched: pd.Series | np.ndarray, date_format: str | None) -> np.ndarray:
    """Which values of a date column (as read), among `unmatched` (given and not parsing), do not match the
    declared `date_format` but match it with day and month swapped (`swapped_format`)."""
    out = np.zeros(len(raw), dtype=bool)
    other = swapped_format(date_format) if date_format is not None else None
    at = np.flatnonzero(np.asarray(unmatched, dtype=bool))
    if other is None or not len(at) or not (raw.dtype == object or isinstance(raw.dtype, pd.StringDtype)):
        return out
    text = raw.iloc[at].astype("str").str.strip()
    as_declared = pd.to_datetime(text, format=date_format, errors="coerce")
    as_swapped = pd.to_datetime(text, format=other, errors="coerce")
    out[at] = (as_declared.isna() & as_swapped.notna()).to_numpy(dtype=bool)
    return out


#: ISO 8601's basic and reduced forms, which an ISO column does not take: a date without separators
#: (`20230305`, `20230305T083905`), a week (`2023-W10-1`) or a day of the year (`2023-064`), a month without its
#: day (`2023-03`: a report's month, a truncated export), a date with its hour only (`2023-03-05 08`, `T08Z`) and a
#: time of day without its date (`14:30`, `2:30 PM`), a quarter (`2023Q1`, `2023-Q1`, `Q1 2023`: a BI tool's or a
#: report's period), a year alone (`2021`: a CRM's "customer since"; `2021.0`, through a float column). A year, a month, a quarter and a time are not
#: whole dates (`_INCOMPLETE`).
_YYYYMMDD = r"(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_INCOMPLETE = (
    r"(?:19|20)\d{2}[-/](?:0[1-9]|1[0-2])|\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?: ?[ap]\.?m\.?)?"
    r"|(?:19|20)\d{2}[-/ ]?Q[1-4]|Q[1-4][-/ ](?:19|20)\d{2}|(?:19|20)\d{2}(?:\.0)?"
)
_ISO_OTHER = (
    rf"{_YYYYMMDD}(?:T?\d{{4}}(?:\d{{2}})?)?(?:Z|[+-]\d{{2}}(?::?\d{{2}})?)?"
    rf"|{WEEK_DATES}|{_INCOMPLETE}"
    r"|\d{4}-\d{2}-\d{2}[Tt ]\d{2}(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)
#: An ISO date-time followed by a zone abbreviation of 3 to 5 letters (`2023-01-05 10:00 CET`, `IST`: India, Ireland or
#: Israel) or by `UTC`/`GMT` with an offset (`GMT+1`: POSIX zones count west, `Etc/GMT+1` is UTC-1): no one instant.
#: `UTC`, `GMT` and `Z` alone are read, and `UTC`/`GMT` with a zero offset (`UTC+00:00`: one instant, either sign;
#: `features.dates._ISO`). The row reject of `zone_abbreviations`.
_ZONE_ABBREVIATION = (
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?"
    r"\s*(?:[A-Za-z]{3,5}|(?i:UTC|GMT)\s*[+-]\d{1,2}(?::?\d{2})?)$"
)
#: A date written in a common form other than the column's (ISO 8601, or the declared format): day, month and year
#: with `/`, `.` or `-` (`15/01/2023`, `01-15-23`, `15.01.2023`), year first with `/` or `.` or unpadded
#: (`2023/01/15`, `2023-1-5`), ISO itself in a column of a declared format, or a month's name (`5 Jan 2023`,
#: `05-Jan-2023`, `January 5, 2023`; the day with its ordinal suffix, `1st Jan 2023`, `2nd of March 2023`; in
#: another language, as a spreadsheet or Oracle of that locale writes it: `12 févr. 2023`, `5. März 2023`,
#: `5 de enero de 2023`, `05-OKT-23`), with a time of day (and an offset) or not; or a spreadsheet's serial day
#: number (`44197`: a cell formatted as a number, `SERIAL_DAYS`), or Unix time (`1704067200`, `1704067200000`: `EPOCH_SECONDS` to `EPOCH_NANOS`); or ISO 8601's other forms, `_ISO_OTHER`; or ISO with a zone abbreviation.
#: Any of the written ones after a weekday's name (`Fri, 01 Jan 2021 08:39:05 +0000`: RFC 2822, e-mail and HTTP
#: dates, `... GMT`; `Friday, January 1, 2021`: a spreadsheet's long date), and the C library's and Java's
#: `Date.toString()` form, the year last (`Fri Jan 01 08:39:05 CET 2021`, `... +0000 2021`: Unix `date`, APIs).
#: A time may be written with points (`05-JAN-21 08.39.05.000000 AM`: Oracle's default `TIMESTAMP` form, and
#: `15.01.2023 10.15`), or after a comma (`1/5/2021, 8:39:05 AM`: JavaScript's `toLocaleString()`, a
#: spreadsheet's long date and time). SAS's and Stata's compact forms (`features.numeric_dates.SAS_DATE`: `05JAN2023`).
_MONTH = (  # English, then French, German, Spanish, Italian, Dutch and Portuguese names' starts (`janv.`, `März`)
    rf"(?:{MONTH3}|f[ée]v|avr|mai|jui|ao[uû]|d[ée]c|j[äa]n|m[äa]r|mrz|okt|dez|ene|abr|ago|dic|set|gen|mag|giu|lug"
    r"|ott|mei|mrt|out)[^\W\d_]*\.?"
)
_WEEKDAY = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,? "
#: A weekday's or a zone's name in parentheses after a date or its time (`2023-01-05 10:00 (Thu)`, `2023/01/05(木)
#: 10:00`: Japanese and Korean exports; `... (UTC)`; JavaScript's `Date.toString()`, `Thu Jan 05 2023 10:00:00
#: GMT+0100 (Central European Standard Time)`: a browser's or Node's date written as text); fullwidth parentheses
#: too (`2023/01/05（木）`, `2023年1月5日(木)`), the time then after a space or none (`2023/01/05(木)10:00`).
_ASIDE = r"(?: ?[(（][^()（）]{1,40}[)）])?"
#: What comes before a date's time: a space or `T`, a comma (`toLocaleString()`), `at` (`January 5, 2023 at 10:00
#: AM`: Apple's and Google's long dates), or nothing after a parenthesis (`_ASIDE`).
#: A date as a Chinese, Japanese or Korean spreadsheet writes it: `2023年1月5日` (the long date), `2023. 1. 5.`
#: (Korean), and a time after it or after an ISO date with the morning or afternoon named (`오후 3:04:05`,
#: `午後3時04分`, `下午 3:04`).
_HALF_DAY = r"(?:[上下]午|午[前後]|오[전후])"
_CJK_HOUR = r"\d{1,2} ?[時时시] ?\d{1,2} ?[分분](?: ?\d{1,2} ?[秒초])?"
_CJK_TIME = rf"(?: ?(?:{_HALF_DAY} ?)?(?:\d{{1,2}}:\d{{2}}(?::\d{{2}})?|{_CJK_HOUR}))?"
_CJK_DATE = (
    rf"\d{{4}} ?[年년] ?\d{{1,2}} ?[月월] ?\d{{1,2}} ?[日일]{_ASIDE}{_CJK_TIME}"
    rf"|\d{{4}}\. ?\d{{1,2}}\. ?\d{{1,2}}\.?{_CJK_TIME}"
    rf"|\d{{4}}[-/]\d{{1,2}}[-/]\d{{1,2}} ?"
    rf"(?:{_HALF_DAY} ?\d{{1,2}}:\d{{2}}(?::\d{{2}})?|(?:{_HALF_DAY} ?)?{_CJK_HOUR})"
)
_BEFORE_TIME = r"(?:,?[ T]| at |(?<=[)）]))"
_OTHER_DATE = (
    rf"(?i)^(?:{_WEEKDAY})?(?:\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2}}(?:\d{{2}})?|\d{{4}}[./-]\d{{1,2}}[./-]\d{{1,2}}"
    rf"|\d{{1,2}}\.?(?:st|nd|rd|th)?(?: of| de)?[ -]{_MONTH},?[ -](?:de )?\d{{2,4}}"
    rf"|{_MONTH} \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}){_ASIDE}"
    rf"(?:{_BEFORE_TIME}\d{{1,2}}[:.]\d{{2}}(?:[:.]\d{{2}}(?:\.\d+)?)?(?: ?[ap]\.?m\.?)?)?"
    r"(?: ?(?:Z|[+-]\d{2}(?::?\d{2})?|[a-z]{3,5}))?"
    rf"{_ASIDE}$|^{_WEEKDAY}{_MONTH} \d{{1,2}} \d{{1,2}}:\d{{2}}(?::\d{{2}})? (?:(?:[a-z]{{3,5}}|[+-]\d{{4}}) )?\d{{4}}"
    rf"$|^{_WEEKDAY}{_MONTH} \d{{1,2}} \d{{4}} \d{{1,2}}:\d{{2}}(?::\d{{2}})?(?: GMT[+-]\d{{4}})?{_ASIDE}"
    rf"$|^{SAS_DATE}$|^(?:{_CJK_DATE})$|^{SERIAL_DAYS}$|^(?:{UNIX_TIME})$|^(?:{_ISO_OTHER})$|{_ZONE_ABBREVIATION}"
)
#: The row reject of a stray Unix time among a column's dates (`unix_times`); on 1% of the column, the stop of
#: `check_other_dates`, throughout `check_mostly_unparsed`'s, both with `numeric_dates_hint`'s sentence.
UNIX_TIME_REASON = (
    "Unix time in {} (seconds to nanoseconds since 1970-01-01 UTC, not a date: export ISO 8601 dates)"
)


ZONE_ABBREVIATION_REASON = (
    "a time zone abbreviation in {} (CET, EST, IST, GMT+1: not one instant; write an offset such as +01:00, "
    "Z, or an IANA zone name such as Europe/Paris)"
)


def zone_abbreviations(raw: pd.Series, unmatched: pd.Series | np.ndarray) -> np.ndarray:
    """Which values of a date column (as read), among `unmatched` (given and not parsing), are an ISO date-time
    with a zone abbreviation (`_ZONE_ABBREVIATION`)."""
    out = np.zeros(len(raw), dtype=bool)
    at, text = _unmatched_text(raw, unmatched)
    if text is not None:
        out[at] = text.str.fullmatch(_ZONE_ABBREVIATION).fillna(False).to_numpy(dtype=bool)
    return out


#: The longest value the date forms are looked for in: no written date is longer (a weekday, a month's name, a
#: time with nanoseconds and a zone's name take about 70 characters); a longer cell is none of them, and a cell of
#: thousands of characters is not handed to the patterns (their backtracking grows with the length).
_LONGEST_DATE = 100


def _unmatched_text(raw: pd.Series, unmatched: pd.Series | np.ndarray) -> tuple[np.ndarray, pd.Series | None]:
    """The positions of `unmatched` in `raw` and their values as stripped text, of at most `_LONGEST_DATE`
    characters (None when there are none or the column was not read as text)."""
    at = np.flatnonzero(np.asarray(unmatched, dtype=bool))
    if not len(at) or not (raw.dtype == object or isinstance(raw.dtype, pd.StringDtype)):
        return at, None
    text = raw.iloc[at].astype("str").str.strip()
    short = (text.str.len() <= _LONGEST_DATE).to_numpy(dtype=bool)
    return (at, text) if short.all() else (at[short], text[short])


def unix_times(raw: pd.Series, unmatched: pd.Series | np.ndarray) -> np.ndarray:
    """Which values of a date column (as read), among `unmatched` (given and not parsing), are Unix time
    (`1704067200`, `1704067200000`: `features.numeric_dates.UNIX_TIME`, the predicate of the stops' hint)."""
    out = np.zeros(len(raw), dtype=bool)
    at, text = _unmatched_text(raw, unmatched)
    if text is not None:
        out[at] = text.str.fullmatch(UNIX_TIME).fillna(False).to_numpy(dtype=bool)
    return out


def other_date_forms(
    raw: pd.Series, unmatched: pd.Series | np.ndarray, date_format: str | None = None
) -> np.ndarray:
    """Which values of a date column (as read), among `unmatched` (given and not parsing), are a date written in
    another common form (`_OTHER_DATE`) than the column's: ISO 8601, or the declared `date_format` (a value of
    the column's own form, impossible or not, is not one)."""
    out = np.zeros(len(raw), dtype=bool)
    at, text = _unmatched_text(raw, unmatched)
    if text is None:
        return out
    hit = text.str.fullmatch(_OTHER_DATE).fillna(False)
    if date_format is None:
        own = text.str.match(_ISO).fillna(False)
        swapped = _day_first(text)  # ISO's shape, day and month swapped
        hit, own = hit | swapped, own & ~swapped
    else:
        own = pd.to_datetime(text, format=date_format, errors="coerce").notna()
    out[at] = (hit & ~own).to_numpy(dtype=bool) | _folded_dates(text, date_format)
    return out


def _day_first(text: pd.Series) -> pd.Series:
    """Which of `text` (unmatched values of an ISO date column, stripped) are dates written year-day-month
    (`features.year_day_month.YEAR_DAY_MONTH`): since round 35 another form of the column (was: each rejected `unparseable <column>`,
    exit 0, and the column's values of a day of 12 or less, which parse, read with day and month swapped)."""
    return text.str.fullmatch(YEAR_DAY_MONTH).fillna(False)


#: The hyphens and dashes a word processor or a locale's formatter puts for `-` in a date (`2024‐01‐05`): Unicode's
#: hyphen U+2010 (and the non-breaking hyphen U+2011, which NFKC makes U+2010), the figure dash U+2012, the en dash
#: U+2013 and the minus sign U+2212 (`−05:00`). Read as `-` in dates only (`_folded_dates`): in an id they are
#: another id, as a letter of another script is.
_HYPHENS = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2212", "-"))


def _folded_dates(text: pd.Series, date_format: str | None) -> np.ndarray:
    """Which of `text` (unmatched values of a date column, stripped) are a date of the column's form or another
    common one once folded to ASCII (`features.folded_ids.ascii_spelling`, `_HYPHENS`): fullwidth `２０２３-０１-０５`
    (an East Asian input method), Arabic-Indic `٢٠٢٣-٠١-٠٥`, a non-breaking space before the time, `2024‐01‐05`
    with Unicode hyphens. Only the values that
    are not ASCII, each distinct one once."""
    out = np.zeros(len(text), dtype=bool)
    wide = ~text.str.isascii().fillna(True).to_numpy(dtype=bool)
    if not wide.any():
        return out
    values = text[wide]
    folded = values.map({v: ascii_spelling(v).translate(_HYPHENS) for v in values.unique()})
    folded = folded.where(folded.str.isascii().fillna(False) & (folded != values))
    date = folded.str.fullmatch(_OTHER_DATE).fillna(False) | folded.str.match(_ISO).fillna(False)
    if date_format is not None:
        date |= pd.to_datetime(folded, format=date_format, errors="coerce").notna()
    out[wide] = date.to_numpy(dtype=bool)
    return out


def check_swapped_dates(
    table: str, column: str, raw: pd.Series, found: np.ndarray, given: int, date_format: str | None
) -> None:
    """Structural error when 1% of a date column's values (and 3 rows: `check_share`, as for the
    other forms of a column) match only the declared format with day and month swapped (`found`:
    `swapped_dates`, `01/14/2023` under `%d/%m/%Y`): the column is written month first, in part or
    whole, and its values with a day of 12 or less, which match the declared format, would be read swapped (the
    5th of January as the 1st of May) without a word. Fewer are stray rows, rejected as not matching the
    declared format. Both engines (`pipelines.engines.spark_stops.table_stops`)."""
    n = int(np.asarray(found, dtype=bool).sum())
    if not check_share(n, given) or date_format is None:
        return
    other = swapped_format(date_format)
    seen, rows = shown_values(raw, found)
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values do not match the declared date format "
        f"{date_format!r} but do match {other!r} ({seen}): the column is written {other!r}, in part or whole, "
        "and its values whose day is 12 or less match both formats: they would be read with day and month "
        "swapped without a word. Export ISO dates (2023-01-15), or one format throughout and "
        f"declare that one.{rows}"
    )


def check_other_dates(
    table: str, column: str, raw: pd.Series, found: np.ndarray, given: int, date_format: str | None
) -> None:
    """Structural error when 1% of a date column's values (and 3 rows: `check_share`) are dates
    written in another common form than the column's (`found`: `other_date_forms`: `15/01/2023`
    among ISO dates, ISO among a declared `%d/%m/%Y`): two exports of different formats put together, whose rows
    of the other form would be rejected with exit 0 (the demo with 10% of its orders so: 374 orders gone). Fewer
    stay row rejects; more than half of the column is `check_mostly_unparsed`'s. Both engines
    (`pipelines.engines.spark_stops.table_stops`)."""
    n = int(np.asarray(found, dtype=bool).sum())
    if not check_share(n, given) or n > UNPARSED_SHARE * given:  # most: the column's format
        return
    what = "ISO 8601 (2023-01-15)" if date_format is None else f"the declared date format {date_format!r}"
    seen, rows = shown_values(raw, found)
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values are dates written in another form than "
        f"{what} ({seen}): exports of two date formats put together? Rejected, these rows would be dropped. "
        "Export the column in one format: ISO 8601, or one format declared in `data.date_formats` (a mapping's "
        f"`date_formats`){numeric_dates_hint(raw[found])}{_incomplete_hint(raw[found])}{_zone_hint(raw[found])}"
        f"{_folded_hint(raw[found], date_format)}{_day_first_hint(raw[found], date_format)}."
        f"{rows}"
    )


def _day_first_hint(values: pd.Series, date_format: str | None) -> str:
    """For dates of another form in an ISO column: when some are written year-day-month (`_day_first`), a sentence
    saying that the others of that writer parse with day and month swapped; else ''."""
    n = 0 if date_format is not None else int(_day_first(values.astype("str").str.strip()).sum())
    if not n:
        return ""
    return (
        f". {n:,} of them are written year-day-month (2025-25-01 for 2025-01-25: a pattern yyyy-dd-MM, SQL "
        "Server's ydm date format): that writer's dates of a day of 12 or less parse as ISO with day and month "
        "swapped, without a word. Export ISO 8601 (year-month-day) throughout"
    )


def _zone_hint(values: pd.Series) -> str:
    """For dates of another form: when some name their zone by an abbreviation (`_ZONE_ABBREVIATION`), a sentence
    saying so (no instant is guessed for them); else ''."""
    n = int(values.astype("str").str.strip().str.fullmatch(_ZONE_ABBREVIATION).sum())
    if not n:
        return ""
    return f". {n:,} of them name their time zone by an abbreviation (CET, EST, IST: not one instant): write an offset"


def _incomplete_hint(values: pd.Series) -> str:
    """For dates of another form: when some are no whole date (`_INCOMPLETE`: a year or month without its day, `2023-03`,
    a quarter, `2023Q1`, or a time without its date, `14:30`), a sentence saying so (no day can be guessed for them); else ''."""
    n = int(values.astype("str").str.strip().str.fullmatch(f"(?i){_INCOMPLETE}").sum())
    if not n:
        return ""
    return f". {n:,} of them are no whole date (a month or quarter without its day, a time without its date, a year alone): no day is guessed"


def _folded_hint(values: pd.Series, date_format: str | None) -> str:
    """For dates of another form: when some are written in other digits than 0-9 or Unicode compatibility forms
    (`_folded_dates`: not any other non-ASCII date, a Turkish `15 Mayıs 2023`), a sentence saying so; else ''."""
    n = int(_folded_dates(values.astype("str").str.strip(), date_format).sum())
    if not n:
        return ""
    return f". {n:,} of them in other digits than 0-9 or Unicode compatibility forms (fullwidth, Arabic-Indic, a non-breaking space, a Unicode hyphen or dash): export ASCII"


#: Years of other calendars for this data's 1900-2099 (`features.dates.MIN_DATE`, `MAX_DATE`): the Thai solar
#: calendar's Buddhist era, 543 years ahead (2566 is 2023: a Thai locale's spreadsheet, ERP or phone), and the
#: Islamic (Hijri) and Iranian (Solar Hijri) calendars', 578 to 621 years behind (1444 and 1402 are 2023). Such a
#: date parses as a Gregorian one centuries off: an `impossible date` reject, never converted.
OTHER_CALENDAR_YEARS = ((2443, 2642), (1279, 1521))


def other_calendar_dates(parsed: pd.Series, impossible: pd.Series | np.ndarray) -> np.ndarray:
    """Which parsed dates, among the `impossible` ones (outside 1900-2099), have a year of another calendar
    (`OTHER_CALENDAR_YEARS`)."""
    out = np.zeros(len(parsed), dtype=bool)
    at = np.flatnonzero(np.asarray(impossible, dtype=bool))
    if len(at):
        years = parsed.iloc[at].dt.year.to_numpy()
        out[at] = np.logical_or.reduce([(years >= lo) & (years <= hi) for lo, hi in OTHER_CALENDAR_YEARS])
    return out


def check_other_calendars(table: str, column: str, raw: pd.Series, found: np.ndarray, given: int) -> None:
    """Structural error when 1% of a date column's values (and 3 rows: `check_share`), in part or throughout,
    are dates of another calendar's years (`found`: `other_calendar_dates`, `2566-01-05`): each would be an
    `impossible date` reject, the rows dropped with exit 0 (the demo with 5% of its orders in Buddhist-era years:
    149 lost). Fewer stay that reject (a mistyped year). Both engines (`pipelines.engines.spark_stops`)."""
    n = int(np.asarray(found, dtype=bool).sum())
    if not check_share(n, given):
        return
    seen, rows = shown_values(raw, found)
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values are dates in years of another calendar "
        f"({seen}): a Thai Buddhist-era year is 543 years ahead of the Gregorian one (2566 is 2023), an Islamic "
        "(Hijri) or Iranian year 578 to 621 behind (1444, 1402 are 2023). Rejected as impossible dates, these "
        "rows would be dropped; another calendar is never converted. Export Gregorian dates (ISO 8601, "
        f"2023-01-15).{rows}"
    )
