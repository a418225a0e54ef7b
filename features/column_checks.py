"""One column of a table parsed and checked (`_parse_checked`, `_check_parsed`): its values made readable and parsed
by their kind, then the column's stops (a convention the whole column follows: a locale's numbers, placeholder
words, dates in another form) and its row rejects, in order; and the contract's bounds (`_check_bounds`). Called
per column by `features.validation._validate_table`; the Spark engine calls `_check_parsed` on a part of a table
with `column_stats` (`ColumnStats`), to judge the column's stops over the whole column itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features.column_types import readable_column
from features.contract import Column, Table
from features.date_checks import check_date_column
from features.dates import impossible_dates, parse_timestamps_native
from features.decimal_ids import check_cut_ids, check_decimal_ids
from features.errors import StructuralError
from features.folded_ids import check_folded_ids, folded_ids
from features.ids import (
    ID_RULES,
    INVISIBLE,
    LOOKALIKE,
    MAX_TEXT_CHARS,
    MISSING_ID,
    SHEET_ERROR,
    check_email_ids,
    email_ids,
    invisible_in_ids,
    lookalike_ids,
    missing_categories,
    missing_ids,
    overlong_texts,
    phone_ids,
    scientific_ids,
    sheet_error_ids,
    spreadsheet_ids,
    total_lines,
)
from features.mojibake import MOJIBAKE, mojibake_ids
from features.names import examples
from features.number_forms import (
    check_number_form,
    invisible_numbers,
    reject_number_forms,
    sheet_error_numbers,
)
from features.numbers import check_point_groups, point_groups
from features.numeric_dates import numeric_dates_hint
from features.parsing import OUT_OF_RANGE, _check_float_ids, _parse_column, unrepresentable
from features.placeholder_words import check_missing_placeholders, missing_placeholders, placeholder_hint
from features.row_rules import BOUND_REASON
from features.text import TextBytes, blank
from features.unparsed_columns import check_mostly_unparsed, check_required_given, wrong_type_hint
from features.year_day_month import slashed_dates_hint

if TYPE_CHECKING:  # the rejects collector is validation's; it calls this module
    from features.validation import _Rejector


#: One column of a part of a table (the Spark engine): its rows holding a value, those not parsing, and for a date
#: column its placeholder dates (`features.placeholder_dates.placeholder_rows`) and its dates in another calendar's years
#: (`features.date_forms.other_calendar_dates`), which the caller judges over the whole column.
ColumnStats = tuple[pd.Series, pd.Series, np.ndarray | None, np.ndarray | None]


def _check_parsed(
    table: Table,
    col: Column,
    raw: pd.Series,
    parsed: pd.Series,
    rej: _Rejector,
    unknown_format: pd.Series | None = None,
    date_format: str | None = None,
    column_stats: dict[str, ColumnStats] | None = None,
    placeholders: bool | None = None,
    *,
    timezone: str,
) -> None:
    """`placeholders`: whether every given value is a placeholder word (Spark's driver, from its sums: `raw` is
    then the first 5 given rows); None: counted here. `timezone`: `data.timezone` (dates at midnight UTC)."""
    raw_text = TextBytes.of(raw)  # the bytes of a text column, read once for its checks (issue 14)
    given = ~blank(raw, raw_text)
    if col.kind == "text" or (col.kind == "id" and not pd.api.types.is_float_dtype(raw.dtype)):
        bad = pd.Series(False, index=raw.index)
    else:
        bad = given & parsed.isna()
    if column_stats is not None:  # a part of the table (Spark): the caller judges the whole column
        column_stats[col.name] = (given, bad, None, None)
    elif given.any() and bad.sum() == given.sum() and len(raw) >= 1:
        what = {"timestamp": "a date", "bool": "true/false", "id": "a whole-number id", "text": "text"}.get(
            col.kind, "a number"
        )
        if placeholders is None:  # `NULL`, `NA` on every row: an empty column
            placeholders = bool(missing_placeholders(raw, given, col.kind).sum() == given.sum())
        hint = placeholder_hint(raw[given].head(5), placeholders, col.kind)
        if col.kind == "timestamp" and not hint:
            hint = (
                f" Dates must be ISO 8601 (2023-01-15, 2023-01-15 10:00:00+02:00) unless a format is declared, "
                f"e.g. in the config `data.date_formats: {{{table.name}.{col.name}: '%d/%m/%Y'}}`"
                if date_format is None
                else f" The declared date format is {date_format!r}."
            )
            hint += numeric_dates_hint(raw[given])
            if date_format is None and (slashed := slashed_dates_hint(raw[given], table.name, col.name)):
                hint = " " + slashed  # in place of the general example (`%d/%m/%Y` reads none of them)
        hint += wrong_type_hint(col.kind, raw[given].head(5))  # `x` marks, `15%`: the first rows, as Spark's
        raise StructuralError(
            f"table {table.name!r}, column {col.name!r}: no value parses as {what} (wrong type throughout).{hint}\n"
            f"Example rows:\n{examples(raw.to_frame(), given)}"
        )
    text = None
    if col.kind in ("id", "text"):  # the parsed values are the raw ones when nothing was cleaned (usually)
        text = raw_text if raw_text is not None and parsed.array is raw.array else TextBytes.of(parsed)
    if col.kind == "id":
        once: dict = {}  # a rule whose mask the stop computed: its reject reuses it (judged once per column)
        if not col.required and column_stats is None:  # `-` written for every customer without a manager
            check_missing_placeholders(table.name, col.name, raw, missing_ids(parsed))
        if column_stats is None:  # `42.0` beside `42`: a float export mixed with text; managers' e-mails
            check_decimal_ids(table.name, col.name, raw, parsed)
            check_cut_ids(table.name, col.name, raw, parsed)  # `7654321000000010`: cut to 15 digits
            mails, n = int(email_ids(parsed, text).sum()), int(given.sum())
            check_email_ids(table.name, col.name, mails, n)
            check_email_ids(table.name, col.name, int(phone_ids(parsed, text).sum()), n, "phone numbers")
            # `="00042"` on 1%: the export's way of keeping zeros, not a few rows (Spark: `FORMULA` of its ids)
            check_number_form(table.name, col.name, raw, spreadsheet_ids(parsed, text), n, "id_formula")
            # `1.23457E+11` on 1%: a spreadsheet's rounding of every long id, not a few rows (Spark: `SCIENTIFIC`)
            check_number_form(table.name, col.name, raw, scientific_ids(parsed, text), n, "id_scientific")
            check_number_form(
                table.name, col.name, raw, sheet_error_ids(parsed, text, col.required), n, "sheet"
            )  # `#REF!`
            once[folded_ids] = folded_ids(parsed, text)  # `Ｃ００１`: its stop and its reject, one mask
            check_folded_ids(table.name, col.name, raw, once[folded_ids], n)
            once[mojibake_ids] = mojibake_ids(parsed, text)  # `MÃ¼ller`: the same
            check_number_form(table.name, col.name, raw, once[mojibake_ids], n, "mojibake")
        rej.add(bad, f"non-integer id in {col.name}")
        for rule, reason in ID_RULES:  # NULL, 0, 1.23457E+11, ="00042", a zero-width space
            hit = once[rule] if rule in once else rule(parsed, text)
            rej.add(hit, reason.format(col.name))
    if col.kind == "text" and col.model_input:  # `NULL` as a region: a category of its own to the model
        missing = missing_categories(parsed)
        if column_stats is None:  # written for every customer without one: the export's convention
            check_missing_placeholders(table.name, col.name, raw, missing)
        rej.add(missing, MISSING_ID.format(col.name) + " (NULL, N/A, -, ...)")
        hidden = invisible_in_ids(parsed, text)  # `North\u200b`: a region of its own to the model
        if column_stats is None:  # on 1%: the export's, not a few rows (Spark: `spark_masks`, `HIDDEN`)
            check_number_form(table.name, col.name, raw, hidden, int(given.sum()), "invisible")
        rej.add(hidden, INVISIBLE.format(col.name))
        rej.add(lookalike_ids(parsed, text), LOOKALIKE.format(col.name))  # `Nоrth`, a Cyrillic `о`
        twice = mojibake_ids(raw)  # `MÃ¼nchen` (as read: NFKC folds its `¼`): a region of its own
        if column_stats is None:
            check_number_form(table.name, col.name, raw, twice, int(given.sum()), "mojibake")
        rej.add(twice, MOJIBAKE.format(col.name))
    if col.kind == "id" or (col.kind == "text" and col.model_input):  # a megabyte of region
        rej.add(overlong_texts(parsed), f"{col.name} longer than {MAX_TEXT_CHARS:,} characters")
    if col.kind in ("id", "text") and col.name not in table.personal:  # a spreadsheet's summary line
        rej.add(
            total_lines(parsed, col.kind == "id", text),
            f"a total or subtotal line in {col.name} (Total, ...)",
        )
    if col.kind not in ("id", "text") and bad.any() and column_stats is None:  # `NULL` throughout: "no value"
        check_missing_placeholders(table.name, col.name, raw, missing_placeholders(raw, bad, col.kind))
    # `#VALUE!` where a date's formula failed, `true\u200b`: the numbers' and ids' reasons and stops
    if col.kind in ("timestamp", "bool") and bad.any():
        for form, rule, reason in (
            ("sheet", sheet_error_numbers, SHEET_ERROR),
            ("invisible", invisible_numbers, INVISIBLE),
        ):
            found = rule(raw, bad)
            if column_stats is None:
                check_number_form(table.name, col.name, raw, found, int(given.sum()), form)
            rej.add(found, reason.format(col.name))
    if col.kind == "timestamp" or unknown_format is not None:  # placeholders, other forms, DST: `date_checks`
        check_date_column(
            table, col, raw, parsed, given, bad, rej, unknown_format, date_format, column_stats, timezone
        )
    if col.kind in ("money", "number", "rating") and bad.any():  # `１２`, `1,234.50`, `$12.50`: never guessed
        reject_number_forms(
            table.name, col.name, raw, bad, parsed, rej, column_stats is None, col.kind == "rating"
        )
    if col.kind in ("money", "number") and column_stats is None:  # `1.234` for 1234 beside whole numbers
        grouped, other, plain = point_groups(raw, bad)
        check_point_groups(table.name, col.name, raw, grouped, other.sum(), plain.sum(), int(given.sum()))
    rej.add(bad, f"unparseable {col.name}")
    if col.required:
        if column_stats is None:  # a part of the table (Spark) cannot tell the column is empty throughout
            check_required_given(table.name, col.name, len(raw), int(given.sum()))
        rej.add(~given, f"missing {col.name}")
    if col.kind not in ("id", "text") and column_stats is None:  # `$12.50`, `WAHR` on most rows: the format
        check_mostly_unparsed(table.name, col.name, raw, bad, int(given.sum()))
    if col.kind in ("money", "number", "rating"):  # `1e-400` read as 0, `1e400` as inf: neither is the value
        rej.add(unrepresentable(raw, parsed), OUT_OF_RANGE.format(col.name))
        rej.add(np.isinf(parsed.to_numpy(dtype="float64")), f"non-finite {col.name}")


def _check_bounds(table: Table, t: pd.DataFrame, max_values: Mapping[str, float], rej: _Rejector) -> None:
    for key, bound in max_values.items():
        name, _, col = key.partition(".")
        if name == table.name and col in t.columns:
            rej.add(t[col] > bound, BOUND_REASON.format(column=col, bound=bound, table=name))


def _parse_checked(
    table: Table,
    col: Column,
    raw: pd.DataFrame,
    rej: _Rejector,
    timezone: str,
    date_formats: Mapping[str, str] | None,
    column_stats: dict[str, ColumnStats] | None,
) -> pd.Series:
    """One column of `raw` made readable, parsed and checked (its rejects into `rej`)."""
    column = readable_column(table, col, raw[col.name])
    if column is not raw[col.name]:
        raw[col.name] = column
    if col.kind == "id":
        _check_float_ids(table.name, col.name, raw[col.name])
    if col.kind != "timestamp":
        value = _parse_column(col, raw[col.name], timezone, None)
        _check_parsed(table, col, raw[col.name], value, rej, None, None, column_stats, timezone=timezone)
        return value
    fmt = (date_formats or {}).get(f"{table.name}.{col.name}")
    value, unknown = parse_timestamps_native(raw[col.name], timezone, fmt)
    _check_parsed(table, col, raw[col.name], value, rej, unknown, fmt, column_stats, timezone=timezone)
    impossible = impossible_dates(value)
    if impossible.any():  # `where` copies the column even when it changes nothing
        value = value.where(~impossible)
    return value.astype("datetime64[ns]")
