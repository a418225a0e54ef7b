"""The per-row masks of the Spark engine's row check (`spark_input.check_rows`): for each batch, which values of
each contract column hold a value, do not parse, or match one of the predicates of the pandas engine's column-level
stops (`features.numbers`, `features.date_forms`, `features.ids`), summed by `spark_checks` and judged by
`spark_stops`. Same predicates as the pandas engine's, so no rule is written twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.column_checks import ColumnStats
from features.contract import Table
from pipelines.engines.spark_checks import (
    ABOVE,
    ACCOUNTING,
    BAD,
    CALENDAR,
    CUT_ID,
    DECIMAL,
    DIGITS,
    DOTTED,
    FOLDED_ID,
    FORMULA,
    GIVEN,
    GROUPED,
    HALVES,
    HIDDEN,
    HIGH,
    LARGE,
    LOCALE,
    LONG_ID,
    LOW,
    MAIL,
    MASKS,
    MINUS,
    MOJIBAKE_TEXT,
    NEGATIVE,
    NONPOSITIVE,
    NONZERO,
    OTHER_DATE,
    OUTSIDE,
    PAIRED,
    PAIRS,
    PHONE,
    PLACEHOLDER,
    PLACEHOLDER_DATE,
    PLAIN,
    POSITIVE,
    RATED,
    SCIENTIFIC,
    SHEET,
    SWAPPED,
    UNIT,
    UNIT_MEDIANS,
    UTC_MIDNIGHT,
    WHOLE,
)


def checked_columns(table: Table, columns: list[str]) -> list[str]:
    return [c.name for c in table.columns if c.name in columns]


def column_masks(
    table: Table,
    raw: pd.DataFrame,
    parsed: pd.DataFrame,
    stats: Mapping[str, ColumnStats],
    date_formats: Mapping[str, str],
    timezone: str,
) -> dict[str, np.ndarray]:
    """One batch's `MASKS` (bit i: contract column i of the batch): holding a value, not parsing, and the row
    masks of the pandas engine's column-level stops (`spark_stops`), from the same predicates."""
    from features.column_types import readable_column
    from features.conventions import EFFORT_MEDIAN_MINUTES, RATINGS, no_margin, off_scale
    from features.date_forms import other_date_forms, swapped_dates
    from features.decimal_ids import long_ids
    from features.folded_ids import folded_ids
    from features.ids import (
        decimal_ids,
        email_ids,
        invisible_in_ids,
        missing_categories,
        missing_ids,
        phone_ids,
        scientific_ids,
        sheet_error_ids,
        spreadsheet_ids,
        whole_ids,
    )
    from features.mojibake import mojibake_ids
    from features.number_forms import (
        accounting_numbers,
        formula_numbers,
        invisible_numbers,
        minus_numbers,
        other_digits,
        sheet_error_numbers,
        unit_numbers,
    )
    from features.numbers import locale_numbers, point_groups
    from features.placeholder_words import missing_placeholders
    from features.utc_midnights import utc_midnights

    out = {mask: np.zeros(len(raw), dtype=np.int64) for mask in MASKS.values()}

    def put(mask: str, i: int, hit: Any) -> None:
        out[mask] |= np.asarray(hit, dtype=bool).astype(np.int64) << i

    for i, name in enumerate(checked_columns(table, list(raw.columns))):
        col = table.column(name)
        given, bad, dates, calendar = stats[name]
        put(GIVEN, i, given)
        put(BAD, i, bad)
        if col.kind == "id":  # `42.0` beside `42` (`features.decimal_ids.check_decimal_ids`)
            put(DECIMAL, i, decimal_ids(parsed[name]))
            put(WHOLE, i, whole_ids(parsed[name]))
            put(MAIL, i, email_ids(parsed[name]))  # a manager's e-mail as the id
            put(PHONE, i, phone_ids(parsed[name]))  # a customer's phone number as the id
            put(FOLDED_ID, i, folded_ids(parsed[name]))  # `Ｃ００１`
            put(FORMULA, i, spreadsheet_ids(parsed[name]))  # `="00042"`: judged as `id_formula`
            put(SCIENTIFIC, i, scientific_ids(parsed[name]))  # `1.23457E+11`: judged as `id_scientific`
            put(MOJIBAKE_TEXT, i, mojibake_ids(parsed[name]))  # `MÃ¼ller`: judged as `mojibake`
            put(SHEET, i, sheet_error_ids(parsed[name], required=col.required))  # `#REF!`, `#N/A`
            long, cut = long_ids(parsed[name])  # `7654321000000010`: cut to 15 digits
            put(LONG_ID, i, long)
            put(CUT_ID, i, cut)
        if col.kind == "id" and not col.required:  # `-` for "no manager": `_check_parsed`'s optional ids
            put(PLACEHOLDER, i, missing_ids(parsed[name]))
        elif col.kind == "text" and col.model_input:  # `NULL` as a region: `_check_parsed`'s categories
            put(PLACEHOLDER, i, missing_categories(parsed[name]))
            put(HIDDEN, i, invisible_in_ids(parsed[name]))  # `North\u200b`
            put(MOJIBAKE_TEXT, i, mojibake_ids(raw[name]))  # `MÃ¼nchen`, as read (before NFKC)
        elif col.kind in ("id", "text") or not bad.any():  # where the pandas engine looks for them
            pass
        else:
            text = readable_column(table, col, raw[name])  # the column as `_validate_table` judges it
            put(PLACEHOLDER, i, missing_placeholders(text, bad, col.kind))
            if col.kind == "timestamp":  # `01/14/2023` under `%d/%m/%Y`; `15/01/2023` among ISO dates
                fmt = date_formats.get(f"{table.name}.{name}")
                put(SWAPPED, i, swapped_dates(text, bad, fmt))
                put(OTHER_DATE, i, other_date_forms(text, bad, fmt))
            put(SHEET, i, sheet_error_numbers(text, bad))  # `#VALUE!` in a number, date or flag
            put(HIDDEN, i, invisible_numbers(text, bad))  # `12.50\u200b`, `true\u200b`
            if col.kind in ("money", "number", "rating"):
                put(FORMULA, i, formula_numbers(text, bad))
                put(ACCOUNTING, i, accounting_numbers(text, bad))  # `(12.50)`, `12.50-`
                put(MINUS, i, minus_numbers(text, bad))  # `−12.50`
                put(DIGITS, i, other_digits(text, bad))
                put(LOCALE, i, locale_numbers(text, bad))
                put(UNIT, i, unit_numbers(text, bad, rating=col.kind == "rating"))
        if dates is not None:  # `9999-12-31` for every missing date, as `_check_parsed` found them
            put(PLACEHOLDER_DATE, i, dates)
        if calendar is not None:  # `2566-01-05`: a Thai Buddhist-era year, another calendar's
            put(CALENDAR, i, calendar)
        if col.kind == "timestamp":  # `2023-01-05T00:00:00Z` on every row: dates read a day early
            put(UTC_MIDNIGHT, i, utc_midnights(raw[name], parsed[name], timezone))
        if col.kind == "bool":  # true: what `conventions.check_flags_throughout` counts
            put(NONZERO, i, parsed[name].eq(True).fillna(False).to_numpy(dtype=bool))
        if col.kind in ("money", "number"):  # `1.234` for 1234 beside whole numbers
            grouped, dotted, plain = point_groups(readable_column(table, col, raw[name]), bad)
            put(GROUPED, i, grouped)
            put(DOTTED, i, dotted)
            put(PLAIN, i, plain)
        if col.kind in ("money", "number", "rating"):
            v = parsed[name].to_numpy(dtype=np.float64, na_value=np.nan)
            known = ~np.isnan(v)
            put(LARGE, i, np.abs(v) >= 1000)
            put(NEGATIVE, i, v < 0)
            put(NONZERO, i, known & (v != 0))
            if (table.name, name) in RATINGS:
                low, high = RATINGS[(table.name, name)]
                put(RATED, i, known)
                outside, halves = off_scale(v, low, high)
                put(OUTSIDE, i, outside)
                put(HALVES, i, halves)
            put(NONPOSITIVE, i, known & (v <= 0))
            other = PAIRS.get((table.name, name))
            if other is not None and other in parsed.columns:  # cost against revenue
                ref = parsed[other].to_numpy(dtype=np.float64, na_value=np.nan)
                paired = known & ~np.isnan(ref) & (ref > 0)
                put(PAIRED, i, paired)
                put(ABOVE, i, paired & no_margin(v, ref))
            if (table.name, name) in UNIT_MEDIANS:
                low, high = EFFORT_MEDIAN_MINUTES
                put(POSITIVE, i, v > 0)
                put(HIGH, i, v > high)
                put(LOW, i, (v > 0) & (v < low))
    return out


def other_currency(raw: pd.DataFrame, currency: str | None) -> np.ndarray:
    """Bit 0: the row's currency column names another currency than `currency` (None: not checked), as
    `features.currency.check_currency_columns` judges it (blank cells are not judged)."""
    from features.currency import CURRENCY_COLUMNS, currency_text
    from features.names import name_key

    out = np.zeros(len(raw), dtype=np.int64)
    if not currency:
        return out
    want = currency.strip().upper()
    for column in raw.columns:
        if name_key(str(column)) in CURRENCY_COLUMNS:
            text = currency_text(raw[column])
            out |= (text.notna() & (text != "") & (text != want)).to_numpy(dtype=bool, na_value=False)
    return out
