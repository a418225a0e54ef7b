"""Number columns' values in a form other than a number, beside the locale's separators (`features.numbers`): a
duration or a rating with its unit (`3 days`, `4/5`), digits of another script, a spreadsheet's error, formula or
invisible characters, an accounting format's negative (`(12.50)`, `12.50-`) or another minus sign; and an id
column's spreadsheet forms (`="00042"`). Each form's mask, its stop when the form is how the column is written
(`check_number_form`) and its row reject (`reject_number_forms`), for both engines.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.errors import StructuralError
from features.ids import (
    FORMULA,
    INVISIBLE,
    SCIENTIFIC,
    SHEET_ERROR,
    SHEET_ERRORS,
    invisible_in_ids,
    scientific_ids,
    spreadsheet_ids,
)
from features.mojibake import MOJIBAKE_FORM
from features.names import shown_values
from features.numbers import _unparsed_matching, check_locale_numbers, locale_numbers
from features.shares import check_share
from features.text import blank

#: A plain number with a currency sign or code or a unit before or after it (`$12.50`, `12.50 EUR`, `€12`, `15%`,
#: `30 min`): which currency or unit cannot be checked against the contract's, so it is never read as a number.
#: Also a duration written `h:mm` or `h:mm:ss` (`1:30`, `00:45:00`: a helpdesk's or time tracker's effort), or in
#: hours and minutes (`1h 30m`, `1h30`, `2 hrs 15 min`: Jira's, Toggl's and Harvest's way), in words (`2 hours`,
#: `1.5 hours`, `90 min.`), Jira's weeks, days and seconds (`1d 2h`, `1h 30m 15s`: `_DURATION`) or ISO 8601's
#: `PT1H30M` (an API's duration).
_DURATION_UNIT = r"(?:weeks?|wks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)"
_DURATION = (
    rf"^(?i:(?:\d{{1,6}}(?:\.\d{{1,3}})? ?{_DURATION_UNIT}\.?,? ?){{1,4}})$"
    r"|^(?i:P(?=\d|T\d)(?:\d{1,6}[YMWD]){0,4}(?:T(?:\d{1,6}(?:[.,]\d{1,3})?[HMS]){1,3})?)$"
)
_WITH_UNIT = (
    r"^[+-]?(?:[^\d\s.,+\-()]{1,4} ?)?[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?: ?[^\d\s.,+\-()]{1,4})?$"
    r"|^\d{1,4}:[0-5]\d(?::[0-5]\d)?$|^(?i:\d{1,4} ?(?:h|hrs?|hours?)\.? ?[0-5]?\d ?(?:m|mins?|minutes?)?\.?)$"
    rf"|{_DURATION}"
)
#: In a rating column only, a rating written with its scale or as stars (`4/5`, `4 out of 5`, `4 stars`,
#: `★★★★☆`: a survey tool's export). In an amount `4/5`, `12/2023` or `1 of 3` is no rating: an `unparseable` reject.
_RATING = r"^(?i:\d+(?:\.\d+)? ?(?:/|of|out of) ?\d+(?: stars?)?|\d+(?:\.\d+)? stars?|[★☆⭐]{1,10})$"


def unit_numbers(raw: pd.Series, unparsed: pd.Series | np.ndarray, rating: bool = False) -> np.ndarray:
    """Which values of a number column (as read), among `unparsed`, are a number with a currency sign, code or
    unit (`_WITH_UNIT`), or with `rating` (a column of the contract's `rating` kind) a rating with its scale
    (`_RATING`); a typographic minus (`−12.50`: `minus_numbers`) is not one."""
    pattern = f"{_WITH_UNIT}|{_RATING}" if rating else _WITH_UNIT
    return _unparsed_matching(raw, unparsed, pattern) & ~minus_numbers(raw, unparsed)


def check_unit_numbers(table: str, column: str, raw: pd.Series, found: np.ndarray, given: int) -> None:
    """Structural error when `LOCALE_SHARE` of a number column's values (and `MIN_ROWS`) carry a currency sign,
    code or unit: the export's format, not a few typos (rejected, those rows would be lost with exit 0)."""
    n = int(found.sum())
    if not check_share(n, given):
        return
    seen, rows = shown_values(raw, found)
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values are numbers with a currency sign, code or "
        f"unit, or durations h:mm{', or ratings with their scale' if column == 'satisfaction' else ''} ({seen}): "
        "which currency or unit cannot be checked, and rejecting these rows would drop them. Export plain numbers "
        "(`1234.50`), amounts in `data.currency`"
        + (", a discount as the amount given, not a percentage" if column == "discount" else "")
        + (", an effort in minutes (`90`, not `1:30`)" if column == "effort_minutes" else "")
        + (", a rating as its number alone (`4`, not `4/5` or `★★★★`)" if column == "satisfaction" else "")
        + f".{rows}"
    )


#: A digit of another script than ASCII 0-9: fullwidth `１２.５０` (East Asian input), Arabic-Indic `١٢٫٥`, Persian
#: `۱۲`. Python's `float()` would read some of them; the contract reads plain ASCII numbers, and never guesses which
#: decimal or grouping sign another script's number uses (`٫`, `٬`).
_OTHER_DIGITS = r"^.*(?![0-9])\d.*$"


def other_digits(raw: pd.Series, unparsed: pd.Series | np.ndarray) -> np.ndarray:
    """Which values of a number column (as read), among `unparsed`, hold a digit of another script (`_OTHER_DIGITS`)."""
    return _unparsed_matching(raw, unparsed, _OTHER_DIGITS)


def check_other_digits(table: str, column: str, raw: pd.Series, found: np.ndarray, given: int) -> None:
    """Structural error when `LOCALE_SHARE` of a number column's values (and `MIN_ROWS`) are written in another
    script's digits: the export's number format (rejected, those rows would be lost with exit 0). Both engines
    (`pipelines.engines.spark_stops.table_stops` from the rows summed in its one aggregation)."""
    n = int(found.sum())
    if not check_share(n, given):
        return
    seen, rows = shown_values(raw, found)
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values are numbers written in digits other than "
        f"ASCII 0-9 ({seen}: "
        "fullwidth, Arabic-Indic, ...): rejecting these rows would drop them. Export plain numbers (`1234.50`: "
        f"digits 0-9, `.` for decimals).{rows}"
    )


def sheet_error_numbers(raw: pd.Series, unparsed: pd.Series | np.ndarray) -> np.ndarray:
    """Which values of a number, date or true/false column (as read), among `unparsed`, are a spreadsheet's error
    value (`#VALUE!`, `#DIV/0!`: `features.ids.SHEET_ERRORS`, the one rule for ids and these columns)."""
    return _unparsed_matching(raw, unparsed, SHEET_ERRORS)


def invisible_numbers(raw: pd.Series, unparsed: pd.Series | np.ndarray) -> np.ndarray:
    """Which values of a number, date or true/false column (as read), among `unparsed`, hold a control or format character (a
    zero-width space, a soft hyphen, a BOM: `features.ids.invisible_in_ids`, the ids' rule): `12.50` as printed,
    not a number with a unit."""
    out = np.zeros(len(raw), dtype=bool)
    at = np.flatnonzero(np.asarray(unparsed, dtype=bool))
    if len(at) and not pd.api.types.is_numeric_dtype(raw.dtype):
        out[at] = invisible_in_ids(raw.iloc[at].astype("str"))
    return out


def formula_numbers(raw: pd.Series, unparsed: pd.Series | np.ndarray) -> np.ndarray:
    """Which values of a number column (as read), among `unparsed`, a spreadsheet wrote as a formula or with its
    text prefix (`="12.50"`, `'12.50`: `features.ids.spreadsheet_ids`, the ids' rule), not a number with a unit."""
    out = np.zeros(len(raw), dtype=bool)
    at = np.flatnonzero(np.asarray(unparsed, dtype=bool))
    if len(at) and not pd.api.types.is_numeric_dtype(raw.dtype):
        out[at] = spreadsheet_ids(raw.iloc[at].astype("str").str.strip())
    return out


#: A negative number in an accounting format: in parentheses (`(12.50)`, a ledger's or spreadsheet's format) or with
#: a trailing minus (`12.50-`, SAP's). Its sign is the export's convention: never read (a refund the contract wants
#: positive, a negative revenue: either way the row is judged on the number as the contract reads it).
_ACCOUNTING = r"^(?:\(\s*[0-9][0-9.,' ]*\s*\)|[0-9][0-9.,' ]*\s*-)$"


def accounting_numbers(raw: pd.Series, unparsed: pd.Series | np.ndarray) -> np.ndarray:
    """Which values of a number column (as read), among `unparsed`, are negatives in an accounting format."""
    return _unparsed_matching(raw, unparsed, _ACCOUNTING)


#: A negative number written with a minus sign other than `-`: the typographic minus `−` (U+2212, what word
#: processors, typeset reports and some spreadsheet locales write), an en or em dash (`–12.50`), a small or
#: fullwidth hyphen-minus. Its sign is never read (as `_ACCOUNTING`'s).
_OTHER_MINUS = r"^[\u2212\u2013\u2014\ufe63\uff0d]\s?[0-9][0-9.,' ]*$"


def minus_numbers(raw: pd.Series, unparsed: pd.Series | np.ndarray) -> np.ndarray:
    """Which values of a number column (as read), among `unparsed`, are negatives written with another minus sign
    than `-` (`_OTHER_MINUS`: `−12.50`)."""
    return _unparsed_matching(raw, unparsed, _OTHER_MINUS)


#: The other forms of a number column's unparsed values judged like the forms above: the mask, what the values
#: are (in a stop's message), what to export instead, and the row reject's reason (the ids' own: `{}` the column).
_OTHER_FORMS = {
    "sheet": (
        sheet_error_numbers,
        "a spreadsheet's error value (a formula that failed: #VALUE!, #DIV/0!, #REF!, ...)",
        "Correct the formulas in the spreadsheet (or leave the cells empty where the value is unknown) before "
        "exporting",
        SHEET_ERROR,
    ),
    "invisible": (
        invisible_numbers,
        "written with an invisible character (a zero-width space, a soft hyphen, a BOM, a control character)",
        "Export plain values (`1234.50`, `2023-01-05`, `true`), without invisible characters",
        INVISIBLE,
    ),
    "formula": (
        formula_numbers,
        'numbers written as a spreadsheet formula or with its text prefix (="12.50", \'12.50)',
        "Export the values, not the formulas (plain numbers: `1234.50`)",
        FORMULA,
    ),
    "minus": (
        minus_numbers,
        "negative numbers written with another minus sign than '-' (−12.50, –12.50: a typographic minus or a dash)",
        "Export plain numbers, a negative one with the minus sign '-' (`-12.50`); an amount the contract wants "
        "positive (a refund, a discount) without a sign",
        "number with another minus sign than '-' in {} (−12.50, –12.50)",
    ),
    "accounting": (
        accounting_numbers,
        "negative numbers in an accounting format ((12.50) or 12.50-: parentheses or a trailing minus)",
        "Export plain numbers, a negative one with a leading minus (`-12.50`); an amount the contract wants "
        "positive (a refund, a discount) without a sign",
        "negative number in an accounting format in {} ((12.50), 12.50-)",
    ),
}
#: Forms of an id column's values judged as `_OTHER_FORMS` are (`check_number_form`; their rows are rejected by
#: `features.ids.ID_RULES`): a script's `="00042"` keeping a spreadsheet's leading zeros, `'00042`.
_ID_FORMS = {
    "id_formula": (
        spreadsheet_ids,
        'ids written as a spreadsheet formula or with its text prefix (="00042", \'00042)',
        "Export the ids as plain text (`00042`: a spreadsheet keeps leading zeros in a column formatted as text)",
        FORMULA,
    ),
    "id_scientific": (
        scientific_ids,
        "ids a spreadsheet rounded to scientific notation (1.23457E+11: every id sharing those 6 digits one; "
        "a float's 1.2345678901234568e+16, 17 digits)",
        "Export the ids again from their system, or format the id column as text before a spreadsheet opens the "
        "file (the rounded digits are lost)",
        SCIENTIFIC,
    ),
    "mojibake": MOJIBAKE_FORM,  # `MÃ¼ller`: an id or category encoded twice
}


def check_number_form(
    table: str, column: str, raw: pd.Series, found: np.ndarray, given: int, form: str
) -> None:
    """Structural error when `LOCALE_SHARE` of a number column's values (and `MIN_ROWS`) are of one of the
    `_OTHER_FORMS` (`form`): the export's way, not a few bad rows (rejected, those rows would be lost with exit 0).
    Both engines (`pipelines.engines.spark_stops.table_stops` from the rows summed in its one aggregation)."""
    n = int(found.sum())
    if not check_share(n, given):
        return
    _, what, fix, _ = _OTHER_FORMS[form] if form in _OTHER_FORMS else _ID_FORMS[form]
    seen, rows = shown_values(raw, found)
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values are {what} ({seen}): rejecting these "
        f"rows would drop them. {fix}.{rows}"
    )


def reject_number_forms(
    table: str,
    column: str,
    raw: pd.Series,
    bad: pd.Series,
    parsed: pd.Series,
    rej: Any,
    judge: bool,
    rating: bool = False,
) -> None:
    """The numbers written otherwise among a number column's unparsed values (`bad`), each its own reject reason:
    first a spreadsheet's error value, an invisible character or a formula, then another script's digits, a
    locale's separators, then a currency sign or unit; with `judge` (the whole column: not a Spark batch), each
    form's stop first; with `rating` (a rating column), a rating with its scale is a unit (`unit_numbers`)."""
    given = int((~blank(raw)).sum())
    for form, (mask, _, _, reason) in _OTHER_FORMS.items():
        found = mask(raw, bad)
        if judge:
            check_number_form(table, column, raw, found, given, form)
        rej.add(found, reason.format(column))
    forms = (
        (other_digits(raw, bad), check_other_digits, "number written in digits other than 0-9 in"),
        (
            locale_numbers(raw, bad),
            check_locale_numbers,
            "number with a thousands separator or decimal comma in",
        ),
        (unit_numbers(raw, bad, rating), check_unit_numbers, "number with a currency sign or unit in"),
    )
    for found, check, reason in forms:
        if judge:
            check(table, column, raw, found, given, *([parsed] if check is check_locale_numbers else []))
        rej.add(found, f"{reason} {column}")
