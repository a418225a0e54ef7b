"""Dates a person gives (a command-line flag, `demo.start` / `demo.end`): a day, in one shape, never the clock.

The one rule for them (`parse_date`, `date_problem`), with the words of each kind of date (`DayRule`): a run's
as-of and a generated company's first and last day refuse a time of day each in their own words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from features.validation import StructuralError


@dataclass(frozen=True)
class DayRule:
    """Why a date with a time of day is refused, and what the two days offered instead mean (said after each)."""

    why: str
    before: str = ""  # after the day itself
    that_day: str = ""  # after the next day


#: The rule of each kind of date a person gives: a run's as-of, or a generated company's first and last day.
AS_OF_DAY = DayRule(
    "a run is as of a day, events strictly before its first instant (the manifest, the score history and the "
    "model record the day alone)",
    " (events before that day)",
    " (that day's events too)",
)
DEMO_DAY = DayRule("the generated company runs from one day to another (its history is whole days)")


def date_problem(text: str, timezone: str = "UTC", day_rule: DayRule = AS_OF_DAY) -> tuple[Any, str | None]:
    """(timestamp, None), or (None, what is wrong with `text` as a date: `is not a date (...)`; a time of day is
    refused in the words of `day_rule`).

    A time may carry a zero UTC offset (`Z`, `+00:00`): the instant is read as the data's timestamps are, in
    `timezone` (`data.timezone`), so `2025-12-31T00:00:00Z` is the day 2025-12-31 when the data is in UTC and a
    time of day otherwise. Another offset is refused (pandas would drop it)."""
    import re

    import pandas as pd

    from features.dates import MAX_DATE, MIN_DATE

    bad = "is not a date (use YYYY-MM-DD)"
    time = r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]00:?00)?"
    if not re.fullmatch(rf"\d{{4}}-\d{{2}}-\d{{2}}(?:{time})?", str(text).strip()):
        return None, bad
    zone = ""
    try:
        ts = pd.Timestamp(str(text).strip())
        if ts.tzinfo is not None:
            zone = (
                ""
                if timezone == "UTC"
                else f" ({ts.tz_convert(timezone).time()} in {timezone}, the data's zone)"
            )
            ts = ts.tz_convert(timezone).tz_localize(None)
    except (ValueError, TypeError, OverflowError):
        return None, bad
    if pd.isna(ts):
        return None, bad
    if not MIN_DATE <= ts < MAX_DATE:
        return None, "is outside 1900-2099"
    if ts != ts.normalize():
        day = ts.normalize()
        return None, (
            f"has a time of day{zone}: {day_rule.why}; give {day.date()}{day_rule.before} or "
            f"{(day + pd.Timedelta(days=1)).date()}{day_rule.that_day}"
        )
    return ts, None


def parse_date(text: str, what: str = "--as-of", timezone: str = "UTC", day_rule: DayRule = AS_OF_DAY) -> Any:
    """A date given by a person (a command-line flag, `demo.start`): ISO 8601 (YYYY-MM-DD; a time only at
    midnight, the same day, with no offset or a zero UTC offset read in `timezone`, the data's), between 1900 and
    2099; a pandas Timestamp.

    A time of day is refused (was: accepted, the features cut at that instant while the manifest, the score
    history's partition, the model's as-of and the registry keep the day alone: a run of one day at 17:00 replaced
    the 09:00 run's partition as its re-run). A batch run is as of a day; `cvp generate --start/--end` are days
    too, said in their own words (`day_rule=DEMO_DAY`; `what` names the flag or key, nothing more).

    Only that shape: pandas would also read `now`, `today` (a cutoff from the clock: a run that cannot be
    repeated), `20240701`, `1 July 2024` or an offset it then drops."""
    ts, problem = date_problem(text, timezone, day_rule)
    if problem is not None:
        raise StructuralError(f"{what} {text!r} {problem}")
    return ts
