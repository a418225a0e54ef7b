"""Numbers written for a reader, not a parser: thousands separators (`1,234.50`, `1 234`, `1'234`, `1.234,50`) and
decimal commas (`31,16`). Which separator is which cannot be told without guessing (`1,234` is 1234 in one locale,
1.234 in another), so they are never read as numbers. Used by the contract's validation (`features.validation`)
for both engines."""

from __future__ import annotations

import re
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
from features.names import examples, shown_values  # noqa: F401 (shown_values re-exported)
from features.shares import LOCALE_SHARE, MIN_ROWS, check_share  # noqa: F401 (re-exported)
from features.text import blank

#: Digits grouped by `,` `.` a space (also no-break, narrow no-break, and since round 29 thin and figure: ISO
#: 80000's and typeset reports' grouping), `'` or `’`, then `.`/`,` decimals; or
#: grouped the Indian way, lakhs and crores (`1,23,456.00`: groups of two above the last three, as India's
#: exports and Excel's en-IN format write them); or digits with a decimal comma. Only values that are not plain
#: numbers are judged (`1.234` is a plain number).
_LOCALE_NUMBER = (
    r"^[+-]?(?:[0-9]{1,3}(?:[,. \u00a0\u202f\u2009\u2007'\u2019][0-9]{3})+(?:[.,][0-9]*)?"
    r"|[0-9]{1,2}(?:,[0-9]{2})+,[0-9]{3}(?:\.[0-9]*)?|[0-9]*,[0-9]+)$"
)


def _unparsed_matching(raw: pd.Series, unparsed: pd.Series | np.ndarray, pattern: str) -> np.ndarray:
    """Which values of a number column (as read), among `unparsed` (the rows whose text did not parse as a plain
    number), match the anchored regex `pattern` once stripped."""
    out = np.zeros(len(raw), dtype=bool)
    at = np.flatnonzero(np.asarray(unparsed, dtype=bool))
    if not len(at) or pd.api.types.is_numeric_dtype(raw.dtype):
        return out
    text = raw.iloc[at].astype("str").str.strip()
    out[at] = text.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    return out


def locale_numbers(raw: pd.Series, unparsed: pd.Series | np.ndarray) -> np.ndarray:
    """Which values of a number column (as read) are numbers in a locale's format, among `unparsed`."""
    return _unparsed_matching(raw, unparsed, _LOCALE_NUMBER)


def check_locale_numbers(
    table: str, column: str, raw: pd.Series, found: np.ndarray, given: int, parsed: pd.Series | None = None
) -> None:
    """Structural error when a column's numbers are written in a locale's format: on `LOCALE_SHARE` of its values,
    or (with `parsed`, the values read as plain numbers) on at least `MIN_ROWS` values and as many as the plain
    values of 1,000 or more: every amount that could carry a separator carries one, however few they are (a shop
    whose orders are mostly under 1,000 would otherwise lose exactly its largest orders as row rejects)."""
    n = int(found.sum())
    if not n:
        return
    large_plain = int((parsed.abs() >= 1000).sum()) if parsed is not None else n
    if n < LOCALE_SHARE * given and (n < MIN_ROWS or n < large_plain):
        return
    seen, rows = shown_values(raw, found)
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values are numbers written with a thousands "
        f"separator or a decimal comma ({seen}):"
        " which separator is which cannot be told without guessing (`1,234` is 1234 in one locale and 1.234 in "
        "another), and rejecting these rows would keep only the small amounts. Export plain numbers (`1234.50`: "
        f"no separator, `.` for decimals).{rows}"
    )


#: A whole number written with one thousands group after a point (`1.234`, `12.500`): a plain number to a parser
#: (1.234), 1234 to the export that wrote it (whole amounts or quantities in German, Dutch, ... format; two groups,
#: `1.234.567`, do not parse and are `_LOCALE_NUMBER`'s). Told apart only by the rest of the column: when every
#: other value is a whole number or has two decimals (`12.50`: a writer of two decimals never writes three) and
#: some are, the point groups thousands.
_ONE_GROUP = r"^[+-]?[1-9][0-9]{0,2}\.[0-9]{3}$"


def point_groups(
    raw: pd.Series, unparsed: pd.Series | np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Among a number column's values (as read) that parse (given, not `unparsed`): which are written like
    `1.234` (`_ONE_GROUP`), which hold a decimal point otherwise (`12.5`, `0.125`, `3.14159`), which hold none
    or two decimals (`12`, `12.50`: the third mask, "plain", what a writer of whole numbers or of two decimals
    writes). Once a value holds a point otherwise the point is a decimal point: the usual column (prices written
    by a float's shortest form) stops there, the first such values of its first rows marked and nothing else (no
    pass over the column, issue 14); a column of two decimals throughout is read whole (0.2 s per 1M values)."""
    import pyarrow.compute as pc

    from features.text import arrow_text

    grouped, other, plain = (np.zeros(len(raw), dtype=bool) for _ in range(3))
    if pd.api.types.is_numeric_dtype(raw.dtype) or not len(raw):
        return grouped, other, plain

    def decimals(at: np.ndarray) -> tuple[object, np.ndarray, np.ndarray]:
        arr = arrow_text(raw.iloc[at].astype("str"))
        dotted = np.asarray(pc.fill_null(pc.match_substring(arr, "."), False), dtype=bool)
        other, d = np.zeros(len(at), dtype=bool), np.flatnonzero(dotted)
        two = np.zeros(len(at), dtype=bool)
        if len(d):  # `1.234`: the point 4th from last; `12.50`: 3rd from last
            trimmed = pc.utf8_trim_whitespace(arr.take(d))
            last = pc.utf8_slice_codeunits(trimmed, start=-4, stop=-3)
            two[d] = np.asarray(
                pc.fill_null(pc.match_substring_regex(trimmed, r"\.[0-9]{2}$"), False), dtype=bool
            )
            other[d] = ~np.asarray(pc.fill_null(pc.equal(last, "."), False), dtype=bool) & ~two[d]
        return arr, dotted & ~two, other

    given = ~np.asarray(unparsed, dtype=bool)
    head = np.flatnonzero(given[:1000])
    head = head[~blank(raw.iloc[head]).to_numpy(dtype=bool)]
    if len(head) and (found := decimals(head)[2]).any():
        other[head[found]] = True
        return grouped, other, plain
    at = np.flatnonzero(given & ~blank(raw).to_numpy(dtype=bool))
    if not len(at):
        return grouped, other, plain
    arr, dotted, other[at] = decimals(at)
    plain[at] = ~dotted
    if other.any() or not dotted.any():
        return grouped, other, plain
    d = np.flatnonzero(dotted)
    taken = pc.utf8_trim_whitespace(arr.take(d))  # type: ignore[attr-defined]
    grouped[at[d]] = np.asarray(pc.fill_null(pc.match_substring_regex(taken, _ONE_GROUP), False), dtype=bool)
    other[at[d]] = ~grouped[at[d]]
    return grouped, other, plain


def check_point_groups(
    table: str, column: str, raw: pd.Series, grouped: np.ndarray, other: int, plain: int, given: int
) -> None:
    """Structural error when `MIN_ROWS` values of a number column or more are written like `1.234` and no other
    value holds a decimal point but before two decimals while `MIN_ROWS` or more are whole numbers or have two
    decimals (`12`, `12.50`: `point_groups`' counts; since round 32 the two decimals too): the point
    is a thousands separator (1.234 = 1234), and read as a decimal point every such amount would be a thousand
    times too small with exit 0 (the demo's orders in whole euros in German format: its 38 orders from 1,000 on
    read as 1.0-9.9). Never guessed. Both engines (`pipelines.engines.spark_stops.table_stops`, from the sums)."""
    n = int(np.asarray(grouped, dtype=bool).sum())
    if n < MIN_ROWS or other or plain < MIN_ROWS:
        return
    seen, rows = shown_values(raw, grouped)
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values are written with a point before three "
        f"digits ({seen}) and every other value is a whole number or has two decimals ({plain:,}): "
        "the point looks like a thousands separator (1.234 = 1234; a writer of two decimals never writes three); "
        "read as a decimal point, these amounts would be a thousand times too small. "
        "Which one it is cannot be told without guessing. Export plain numbers (`1234`; `.` only for decimals)."
        + rows
    )


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


#: From this share of a column's rows (and `MIN_ROWS` rows), a placeholder word for a missing value (`NULL`,
#: `N/A`, ...: `features.ids.PLACEHOLDER_IDS`) in a date, number or true/false column is how the export writes
#: "no value" (a SQL dump's NULL for every customer never cancelled), not a few bad rows.
PLACEHOLDER_SHARE = 0.01


def share_floor(rows: int) -> float:
    """The least count of `rows` rows that is an export's way rather than a few wrong rows: `PLACEHOLDER_SHARE` of
    them and `MIN_ROWS`; the one floor of the placeholder, negative-value, quantity and decimal-id stops (both
    engines: the Spark driver passes its counts)."""
    return max(MIN_ROWS, PLACEHOLDER_SHARE * rows)


#: ... and, in those columns only, `NaT`: pandas' missing date as text (a date column turned to text before its
#: export; as an id it may be a name's initials, `NAT`, which the id rules keep), PostgreSQL's `infinity`,
#: `-infinity` for an open end or start of a date (a number column reads them as infinite: `non-finite`), and R's
#: `NA` (`write.csv`'s and `readr::write_csv`'s missing value; as an id or a category it may be North America or
#: Namibia, which the id and category rules keep), `.`, the missing value of SAS, Stata and SPSS, and `-`: an
#: export's "none", or a spreadsheet's accounting format's zero (` -   `): which one cannot be told, so a stop.
VALUE_PLACEHOLDERS = ("nat", "infinity", "-infinity", "na", ".", "-")
#: ... and, in a date column only, a state for a date not there yet (a CRM's, HR or billing system's words:
#: `paid_at` "unpaid", "open", "pending" for each unpaid invoice, `churned_at` "never", "active", `left_at`
#: "present"): rejected, they dropped the very rows still open. In a true/false or number column they are values
#: of another type (`disputed` "open", `promo` "active": a flag, not a missing value; exported empty, every true
#: flag would be lost), judged as such.
DATE_STATES = tuple(
    "never unpaid open pending outstanding active ongoing present current unknown missing tbd".split()
) + ("not paid",)
#: The way a tool that writes a placeholder writes empty cells instead (`_tool_way`).
_WAYS = {
    "na": ' (R: write.csv(x, na = ""))',
    ".": " (`.` is how SAS, Stata and SPSS show a missing value)",
    "-": " (`-` is also how a spreadsheet's accounting format shows a zero: format the column as numbers)",
}


def missing_placeholders(raw: pd.Series, unparsed: pd.Series | np.ndarray, kind: str) -> np.ndarray:
    """Which values (as read) of a date, number or true/false column (its contract `kind`) are a placeholder word
    for a missing value, among `unparsed` (the rows that did not parse): `DATE_STATES` in a date column only."""
    from features.ids import placeholder_ids

    out = np.zeros(len(raw), dtype=bool)
    at = np.flatnonzero(np.asarray(unparsed, dtype=bool))
    if not len(at) or pd.api.types.is_numeric_dtype(raw.dtype):
        return out
    text = raw.iloc[at].astype("str").str.strip()
    words = VALUE_PLACEHOLDERS + (DATE_STATES if kind == "timestamp" else ())
    out[at] = placeholder_ids(text) | text.str.lower().isin(words).to_numpy(dtype=bool)
    out[at] |= text.str.fullmatch(_ACCOUNTING_ZERO).fillna(False).to_numpy(dtype=bool)
    return out


#: `-` with a currency sign or code (`$ -   `, `€ -`, `- EUR`): a spreadsheet's accounting format's zero, the
#: spaces its fill's (`$    -`; Excel's euro accounting format writes `-   €`).
_ACCOUNTING_ZERO = r"[^\d\s.,+\-()]{1,4}\s*-|-\s*[^\d\s.,+\-()]{1,4}"


def _tool_way(words: list[str], kind: str) -> str:
    """What the tool that wrote the placeholder `words` in a column of `kind` should do (`_WAYS`: R's `NA`, SAS's
    `.`; a spreadsheet's accounting zero in a money or number column only: a date's or a category's `-` is
    "none"); else ''."""
    said = {"-" if re.fullmatch(_ACCOUNTING_ZERO, w) else w.lower() for w in words}
    if kind not in ("money", "number"):
        said.discard("-")
    return "".join(_WAYS[w] for w in sorted(said & _WAYS.keys()))


def placeholder_hint(values: pd.Series, every: bool, kind: str) -> str:
    """For a column of `kind` where no value parses and `every` given value is a placeholder word (`NULL`, R's
    `NA`: a column empty on every row, written so; both engines count them: `missing_placeholders`), a sentence
    saying so, naming the words among `values` (its first given values: the rows both engines show), to say
    instead of the column's format; else '' (`.` on 90 rows and `05JAN2023` on 10: dates in a form)."""
    if not every or not len(values):
        return ""
    words = sorted(set(values.astype("str").str.strip().head(5)))[:3]
    return (
        f" The values are {', '.join(map(repr, words))}, an export's placeholder for a missing value: the column "
        f"is empty on every row. Export missing values as empty cells{_tool_way(words, kind)}, or leave the "
        "column out."
    )


def check_missing_placeholders(table: str, column: str, raw: pd.Series, found: np.ndarray) -> None:
    """Structural error when a column writes "no value" as a placeholder word (`PLACEHOLDER_SHARE` of its rows):
    a date, number or true/false column, an optional id column (`features.ids.missing_ids`: `-`, `0`, `NULL`
    for a customer without a manager) or a model-read category (`features.ids.missing_categories`)."""
    n = int(found.sum())
    if n < share_floor(len(raw)):
        return
    from features.contract import TABLES

    words = sorted(set(raw[found].astype("str").str.strip()))[:3]
    kind = TABLES[table].column(column).kind
    what, fix = "a value", f"Export missing values as empty cells{_tool_way(words, kind)}."
    if kind == "id":  # an optional id: `-` for "no manager" on each such row
        what = "an id"
        fix = f"{column} is optional: export a missing {column.removesuffix('_id').replace('_', ' ')} as an empty cell."
    elif kind == "text":  # `NULL` as a region: a category the model would learn
        what = "a category"
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {len(raw):,} rows hold {', '.join(map(repr, words))}, an "
        f"export's placeholder for a missing value: each would be rejected as not {what} (with it the row, and "
        f"for a customer every order of theirs). {fix}\nExample rows:\n"
        f"{raw[found].head(5).to_frame().to_string(max_colwidth=40)}"
    )


#: More than this share of a column's given values not parsing as its type (and `MIN_ROWS` of them) is how the
#: column is written (`$12.50`, `12.50 EUR`, `15%`, `WAHR`/`FALSCH`, `15.01.2023`), not a few bad rows: rejecting
#: them would drop most of the table's rows with exit 0.
UNPARSED_SHARE = 0.5


#: ... of a true/false column: 1% (`LOCALE_SHARE`) and `BOOL_MIN_ROWS`. Two values only, so spellings outside the
#: contract's by the ten (`WAAR`/`ONWAAR`, `ja`/`nein`, `oui`/`non`: a second export in another language) are its
#: convention, not typos: rejected, 30% of the orders were dropped for an optional `promo` flag with exit 0.
BOOL_MIN_ROWS = 10


def unparsed_share(kind: str) -> float:
    """The share of a column's given values that, unparsed, is how the column is written (`UNPARSED_SHARE`)."""
    return LOCALE_SHARE if kind == "bool" else UNPARSED_SHARE


def check_mostly_unparsed(
    table: str, column: str, raw: pd.Series, bad: pd.Series | np.ndarray, given: int
) -> None:
    """Structural error when most (`UNPARSED_SHARE`) of a number, true/false or date column's `given` values do
    not parse (`bad`: their rows; `raw`: the column as read); "no value parses" is the same rule throughout. Both
    engines (`features.validation._check_parsed`, `pipelines.engines.spark_stops.table_stops`)."""
    from features.contract import TABLES

    hit = np.asarray(bad, dtype=bool)
    n = int(hit.sum())
    kind = TABLES[table].column(column).kind
    few = n <= UNPARSED_SHARE * given
    if kind == "bool":  # another language's words: a stop from 1% and ten rows
        few = few and n < max(BOOL_MIN_ROWS, LOCALE_SHARE * given)
    if n < MIN_ROWS or few:
        return
    text = raw[hit].astype("str").str.strip()
    seen = ", ".join(map(repr, text.drop_duplicates().head(3).tolist()))
    if kind == "bool":
        from features.contract import BOOL_SPELLINGS

        what, fix = "true/false", f"True/false columns take {BOOL_SPELLINGS} (any case): export those."
    elif kind == "timestamp":
        from features.dates import numeric_dates_hint
        from features.year_day_month import year_day_month_hint

        what = "a date"
        fix = (
            "Dates must be ISO 8601 (2023-01-15, 2023-01-15 10:00:00+02:00), or match the format declared in "
            f"`data.date_formats` (a mapping's `date_formats`){numeric_dates_hint(text)}"
            f"{year_day_month_hint(text, table, column)}."
        )
    else:
        what, fix = (
            "a number",
            "Export plain numbers (`1234.50`; a currency sign or unit: `check_unit_numbers`).",
        )
    dropped = "most of the table's rows" if n > UNPARSED_SHARE * given else "those rows"
    raise StructuralError(
        f"table {table!r}, column {column!r}: {n:,} of {given:,} values do not parse as {what} ({seen}): "
        f"rejected, {dropped} would be dropped. "
        f"{fix}\nExample rows:\n"
        f"{raw[hit].head(5).to_frame().to_string(max_colwidth=40)}"
    )


def check_required_given(table: str, column: str, rows: int, given: int) -> None:
    """Structural error when a required column holds no value on any of a table's rows (`MIN_ROWS` or more): an
    export that emptied it. Each row would be a `missing <column>` reject, the table lost with exit 0 (tickets
    without their effort: every customer's cost to serve gone). Both engines (`rows`, `given`: the whole column's)."""
    if given == 0 and rows >= MIN_ROWS:
        raise StructuralError(
            f"table {table!r}, column {column!r}: required, and empty on every one of the {rows:,} rows: each "
            f"row would be rejected (`missing {column}`) and the table lost. Export the column's values, or "
            "leave the table out"
        )


#: A true/false column's marks: a spreadsheet's checkbox column (`x` or a tick for true, an empty cell for false).
_MARKS = frozenset({"x", "✓", "✔", "☑", "*"})
#: A percentage (`15%`, `12,5 %`).
_PERCENT = r"[-+]?\d+(?:[.,]\d+)?\s?%"


def wrong_type_hint(kind: str, values: pd.Series) -> str:
    """For a column where no value parses (its kind; `values`: its first given values, at most 5: the rows both
    engines show), a sentence naming the form they share, to add to the error; else ''. A true/false column of
    marks (`x`, `✓`) or a number column of percentages (`15%`) (was: "wrong type throughout", no more)."""
    text = values.astype("str").str.strip().head(5)
    if not len(text):
        return ""
    if kind == "bool" and text.str.lower().isin(_MARKS).all():
        return (
            " The values are marks (`x`, `✓`: a checkbox column, an empty cell for false?), which are not read as "
            "true/false: export true/false (or 1/0)."
        )
    if kind in ("money", "number", "rating") and text.str.fullmatch(_PERCENT).all():
        return " The values are percentages (`15%`): export amounts (a discount as the amount given)."
    return ""
