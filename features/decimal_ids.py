"""Ids written as decimal numbers (`42.0`, a float export) beside or among ids written `42`: read as written, two
customers. A column mixing both on 1% of its rows each is structural (`check_decimal_ids`); a stray `42.0` among
`42`s is a row reject (`reject_stray_decimal_ids`). Used by the contract's validation (`features.validation`) for
both engines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.errors import StructuralError
from features.numbers import MIN_ROWS, PLACEHOLDER_SHARE


def check_decimal_ids(table: str, column: str, raw: pd.Series, parsed: pd.Series) -> None:
    """Structural error when an id column mixes ids written `42.0` (a float export) and `42` (text), each on 1% of
    its rows and 3 or more (`PLACEHOLDER_SHARE`, `MIN_ROWS`; `features.ids.decimal_ids`): read as written, `42.0`
    and `42` would be two customers. Both engines (`pipelines.engines.spark_stops.table_stops` from the masks'
    sums)."""
    from features.ids import decimal_ids, whole_ids

    floor = max(MIN_ROWS, PLACEHOLDER_SHARE * len(parsed))
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
    floor = max(MIN_ROWS, PLACEHOLDER_SHARE * rows)
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
