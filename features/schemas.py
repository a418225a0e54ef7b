"""pandera schemas for the validated tables, derived from the contract (one declaration, two uses).

`features.validation` produces frames that satisfy these; `check_tables` asserts it at the boundary so a bug in the
parsing code cannot pass malformed tables downstream.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.contract import TABLES, TICKET_KINDS, Column, Table

if TYPE_CHECKING:
    import pandera.pandas as pa


@contextmanager
def _without_pyspark_pandas() -> Iterator[None]:
    """Hide `pyspark.pandas` from pandera for the duration, unless the Spark engine already loaded it.

    pandera imports `pyspark.pandas` whenever pyspark is installed (at its own import) or already imported (when it
    registers its pandas backends, at the first validation: the Spark engine's commands). That costs about a second and
    prints pyspark's pandas-3 FutureWarning in every command. Our schemas check pandas frames only. A `None` entry in
    `sys.modules` makes the import fail at once, which pandera treats as "not available"; the entry is removed
    afterwards, so Spark can still import `pyspark.pandas` later.
    """
    hide = "pyspark.pandas" not in sys.modules
    if hide:
        sys.modules["pyspark.pandas"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if hide and sys.modules.get("pyspark.pandas", False) is None:
            del sys.modules["pyspark.pandas"]


def _pandera() -> ModuleType:
    """`pandera.pandas`, imported on first use (not at import: the CLI starts without it) and without pyspark."""
    with _without_pyspark_pandas():
        import pandera.pandas
    return pandera.pandas


_DTYPES = {
    "id": "str",
    "text": "str",
    "timestamp": "datetime64[ns]",
    "money": "float64",
    "number": "float64",
    "rating": "float64",
    "bool": "boolean",
}


def _checks(table: str, col: Column) -> list[pa.Check]:
    pa = _pandera()
    checks: list[pa.Check] = []
    if col.kind == "money" and not (table == "returns" and col.name == "amount"):
        checks.append(pa.Check.ge(0))
    if table == "returns" and col.name == "amount":
        checks.append(pa.Check.gt(0))
    if col.name == "effort_minutes":
        checks.append(pa.Check.ge(0))
    if col.name == "satisfaction":
        checks.append(pa.Check.isin([1.0, 2.0, 3.0, 4.0, 5.0]))
    if table == "tickets" and col.name == "kind":
        checks.append(pa.Check.isin(list(TICKET_KINDS)))
    return checks


@cache
def table_schema(name: str) -> pa.DataFrameSchema:
    pa = _pandera()
    table: Table = TABLES[name]
    columns = {
        c.name: pa.Column(
            _DTYPES[c.kind],
            checks=_checks(name, c),
            nullable=not c.required,
            required=c.required,
            unique=(c.name == table.key),
        )
        for c in table.columns
    }
    return pa.DataFrameSchema(columns, strict=True, name=name)


def _fixed_width_hashes(arr: Any) -> np.ndarray | None:
    """A 64-bit mix of each string of an Arrow string array whose values all have one length of at most 16
    bytes (ids such as "O00000001"), read from the data buffer as two big-endian integers; None otherwise.
    Equal strings give equal numbers, so distinct numbers prove distinct strings (the converse may fail)."""
    import pyarrow as pa

    parts = []
    width = None
    for chunk in arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]:
        n = len(chunk)
        if n == 0:
            continue
        if chunk.null_count or not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return None
        _, off_buf, data_buf = chunk.buffers()
        off_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(off_buf, dtype=off_type)[chunk.offset : chunk.offset + n + 1].astype(np.int64)
        lengths = np.diff(offsets)
        w = int(lengths[0])
        if w == 0 or w > 16 or (width is not None and w != width) or (lengths != w).any():
            return None
        width = w
        mat = np.zeros((n, 16), dtype=np.uint8)
        mat[:, :w] = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(n, w)
        halves = mat.view(">u8").astype(np.uint64)
        parts.append(halves[:, 0] * np.uint64(0x9E3779B97F4A7C15) ^ halves[:, 1])
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)


def key_is_unique(keys: pd.Series) -> bool:
    """True when no two present values of a key column are equal: one Arrow hash pass over the strings (pandas'
    `duplicated` on Arrow strings hashes them more slowly, and pandera's `unique` check calls it).

    Fixed-width ids (the usual export) are first tried as 64-bit numbers sorted once: all distinct proves the
    key unique at several times the speed of hashing the strings; any two equal numbers (a duplicate, or two
    ids that mix to the same number) leave the answer to the exact hash pass."""
    if keys.dtype == object or isinstance(keys.dtype, pd.StringDtype):
        import pyarrow as pa
        import pyarrow.compute as pc

        text = keys.astype("str")
        if hasattr(text.array, "__arrow_array__"):
            arr = pa.array(text.array)
        else:
            arr = pa.array(text.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
        mixed = _fixed_width_hashes(arr)
        if mixed is not None:
            mixed.sort()
            if not (mixed[1:] == mixed[:-1]).any():
                return True
        distinct = len(pc.unique(arr)) - (1 if arr.null_count else 0)  # `unique` keeps one null
        return distinct == len(arr) - arr.null_count
    return keys.dropna().is_unique


@cache
def _boundary_schema(name: str) -> pa.DataFrameSchema:
    """`table_schema` without its key's `unique` check, which `check_tables` runs as `key_is_unique`."""
    schema, key = table_schema(name), TABLES[name].key
    return schema if key is None else schema.update_column(key, unique=False)


def check_tables(tables: Mapping[str, pd.DataFrame], rows: bool = True) -> None:
    """Raise pandera's SchemaError if a validated table breaks the contract (`table_schema`: the key's
    uniqueness is checked with `key_is_unique`, the rest by pandera).

    `rows=False` checks what does not depend on the rows (columns present, no others, dtypes) on an empty slice:
    `features.validation.validate_tables` already rejects every row that breaks a value, null or key rule of
    the schema (tested rule by rule), so it does not run them a second time over the same data."""
    with _without_pyspark_pandas():
        for name, frame in tables.items():
            _boundary_schema(name).validate(frame if rows else frame.head(0), lazy=False)
            key = TABLES[name].key
            if rows and key is not None and key in frame.columns and not key_is_unique(frame[key]):
                raise _pandera().errors.SchemaError(
                    table_schema(name), frame, f"table {name!r}: column {key!r} has duplicate values"
                )
