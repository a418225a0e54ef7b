"""Ids written as decimal numbers (`42.0`, a float export) beside or among ids written `42`: read as written, two
customers. A column mixing both on 1% of its rows each is structural (`check_decimal_ids`); a stray `42.0` among
`42`s is a row reject (`reject_stray_decimal_ids`). Long ids a spreadsheet cut to 15 significant digits
(`7654321000000018` written `7654321000000010`) stop (`check_cut_ids`). Used by the contract's validation (`features.validation`) for
both engines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.errors import StructuralError
from features.placeholder_words import share_floor


def check_decimal_ids(table: str, column: str, raw: pd.Series, parsed: pd.Series) -> None:
    """Structural error when an id column mixes ids written `42.0` (a float export) and `42` (text), each on 1% of
    its rows and 3 or more (`PLACEHOLDER_SHARE`, `MIN_ROWS`; `features.ids.decimal_ids`): read as written, `42.0`
    and `42` would be two customers. Both engines (`pipelines.engines.spark_stops.table_stops` from the masks'
    sums)."""
    from features.ids import decimal_ids, whole_ids

    floor = share_floor(len(parsed))
    decimal = decimal_ids(parsed)
    if decimal.sum() < floor:
        return
    whole = whole_ids(parsed)
    if whole.sum() < floor:
        return
    written = parsed[decimal].astype("str")
    known = set(parsed[whole].astype("str"))
    twins = [v for v in written.unique() if v.split(".")[0].lstrip("+") in known][:3]
    shown = ", ".join(f"{v!r} beside {v.split('.')[0].lstrip('+')!r}" for v in twins) or ", ".join(
        map(repr, written.unique()[:3])
    )
    raise StructuralError(
        f"table {table!r}, column {column!r}: {int(decimal.sum()):,} of {len(parsed):,} rows write the id as a "
        f"decimal number ({shown}) and {int(whole.sum()):,} as a whole number: a float export mixed with text. "
        f"Read as written, 42.0 and 42 would be two different ids. Export the ids as text (or integers) "
        f"throughout.\nExample rows:\n{raw[decimal].head(5).to_frame().to_string(max_colwidth=40)}"
    )


#: A stray `42.0` among ids written `42` (fewer than `check_decimal_ids`' floor): the float export's spelling of an
#: id the column writes otherwise; kept, it is a customer of its own (or `unknown customer_id`, a wrong reason).
STRAY_DECIMAL = "id written as a decimal number (42.0) among whole-number ids in {}"


def stray_decimal_columns(counts: Mapping[str, tuple[int, int]], rows: int) -> list[str]:
    """The id columns whose ids written `42.0` are strays among ids written `42`: `counts`, per id column of a
    table of `rows` rows, how many of each; the decimal ones below `check_decimal_ids`' floor, the whole ones not."""
    floor = share_floor(rows)
    return [c for c, (decimal, whole) in counts.items() if 0 < decimal < floor <= whole]


def reject_stray_decimal_ids(table: Any, t: pd.DataFrame, rej: Any, columns: list[str] | None = None) -> None:
    """Reject the ids written `42.0` in the id columns of `t` (a table's validated columns) where they are strays
    (`STRAY_DECIMAL`): `columns`, as judged over the whole table (the Spark engine, from its sums: judged again
    with them, `spark_input.validate_spark`); None, judged on `t`, the whole table (the pandas engine). After the
    row rules and dates, before the keys, on both engines."""
    from features.ids import decimal_ids, whole_ids

    masks: dict[str, np.ndarray] = {}  # judged here: each column's mask, computed once
    if columns is None:
        counts = {}
        for c in (c.name for c in table.columns if c.kind == "id" and c.name in t.columns):
            decimal = masks[c] = decimal_ids(t[c])
            counts[c] = (int(decimal.sum()), int(whole_ids(t[c]).sum()) if decimal.any() else 0)
        columns = stray_decimal_columns(counts, len(t))
    for c in columns:
        rej.add(masks[c] if c in masks else decimal_ids(t[c]), STRAY_DECIMAL.format(c))


#: A spreadsheet keeps 15 significant digits of a number: an id of 16 digits or more typed or opened as one is
#: written with zeros past its 15th digit (`7654321000000018` -> `7654321000000010`), so ids differing only there
#: became one. Judged over the column's distinct long ids: every one so cut, and `CUT_IDS` or more of them (the
#: chance that real 16-digit ids all end in 0 is 10**-CUT_IDS).
CUT_IDS = 6


def long_ids(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Which parsed ids (text) are whole numbers of 16 digits or more, and which of those end in zeros past their
    15th digit (what a spreadsheet writes of a longer number: `CUT_IDS`)."""
    import pyarrow.compute as pc

    from features.ids import matches_where, whole_ids
    from features.text import arrow_text

    whole = whole_ids(ids)
    if not whole.any():
        return whole, whole
    arr = arrow_text(ids.astype("str"))
    long = whole & np.asarray(pc.fill_null(pc.greater_equal(pc.utf8_length(arr), 16), False), dtype=bool)
    return long, matches_where(arr, long, r"^\d{15}0+$")


def check_cut_ids(table: str, column: str, raw: pd.Series, parsed: pd.Series) -> None:
    """Structural error when every distinct id of 16 digits or more of an id column ends in zeros past its 15th
    digit, `CUT_IDS` of them or more (`long_ids`): cut by a spreadsheet, several customers (orders) read as one.
    Both engines (`pipelines.engines.spark_stops.table_stops`, when the masks' sums allow it)."""
    long, cut = long_ids(parsed)
    if cut.sum() < CUT_IDS or cut.sum() != long.sum():
        return
    values = pd.unique(parsed[cut].astype("str"))
    if len(values) < CUT_IDS:
        return
    shown = ", ".join(map(repr, values[:3]))
    raise StructuralError(
        f"table {table!r}, column {column!r}: all {len(values):,} ids of 16 digits or more end in zeros past their "
        f"15th digit ({shown}): a spreadsheet keeps only 15 significant digits of a number and writes zeros for "
        "the rest, so ids that differed there are now one. Export the ids again from their source, or format the "
        "column as text before the file is opened in a spreadsheet."
        f"\nExample rows:\n{raw[cut].head(5).to_frame().to_string(max_colwidth=40)}"
    )
