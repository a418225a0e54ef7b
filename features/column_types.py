"""Which stored column types can hold which contract kind: the gate in front of the value parsers.

A CSV column is text and the parsers judge every value. A Parquet (or Spark) column arrives with a type of its
own, and turning it into text would make anything pass as an id or a label: a list `['a']`, a struct, a
duration `0 days 00:00:01`, a date `2023-01-01` taken as a customer id, `True` as a region. So each column's
type is checked against its contract kind first: a type that cannot hold the kind is a structural error naming
the table, the column, the type and example rows; a type that can is converted exactly (never guessed):

| kind | accepted types |
|---|---|
| id | text, integers, floats and decimals (whole values; a fraction is a reject); bytes (UTF-8: Hive's, Impala's un-annotated BYTE_ARRAY text); a UUID-typed column as its `8-4-4-4-12` text (`pipelines.table_files.uuid_columns`); never fixed-length bytes (`FixedBytes`) |
| text | text, integers, floats (whole values written without `.0`), decimals, bytes (UTF-8) |
| money, number, rating | text, integers, floats, decimals |
| bool | true/false, text, integers and floats (1 and 0; any other value is a reject) |
| timestamp | timestamps, dates, text |

Dictionary-encoded (categorical) columns are judged by the type of their values.
"""

from __future__ import annotations

import datetime as dt
import decimal

import numpy as np
import pandas as pd

from features.contract import Column, Table
from features.errors import StructuralError

BINARY_IDS = "fixed-length binary values (bytes: a Parquet FIXED_LEN_BYTE_ARRAY column, fixed_size_binary, not of the UUID type)"
BINARY_WAY_OUT = ": write the ids as text (UUIDs as their 8-4-4-4-12 text, or with Parquet's UUID type)"
#: A Parquet `float16` (HALF_FLOAT) column holds about 3 significant digits: amounts, quantities and ratings stored
#: so are not the values exported (was: read by the pandas engine as stored, 344.82 as 344.75, every refund above
#: its order's rounded revenue rejected, exit 0; Spark's own "Illegal Parquet type: FIXED_LEN_BYTE_ARRAY (FLOAT16)").
HALF_FLOATS = "16-bit floats (half precision: about 3 significant digits, 344.82 is stored as 344.75, nothing above 65,504)"
HALF_FLOATS_WAY_OUT = ": 64-bit floats (double) or decimals"
#: the kinds a 16-bit float cannot hold (an id has its own exact limit, 2**11: `features.parsing.exact_float_limit`)
HALF_FLOAT_KINDS = ("money", "number", "rating")


class FixedBytes(bytes):
    """A value of a fixed-length bytes column (Parquet's FIXED_LEN_BYTE_ARRAY without the UUID type: a UUID's or a
    hash's raw bytes, not text), marked where the file is read (`pipelines.table_files.fixed_binary_columns`):
    pandas holds both kinds of bytes alike. An id column of them stops (`BINARY_IDS`); variable-length bytes are
    text (Hive, Impala and older writers store every string column so) and decoded as UTF-8."""


def fixed_length_bytes(s: pd.Series) -> pd.Series:
    """The values of a fixed-length bytes column as `FixedBytes` (a missing value stays missing)."""
    return s.map(lambda v: FixedBytes(v) if isinstance(v, (bytes, bytearray)) else v, na_action="ignore")


def _scalar_types(s: pd.Series) -> set[type]:
    """The Python types of an object column's values (error-free and cheap for the string columns CSV gives)."""
    values = s[s.notna()]
    return {type(v) for v in values.to_numpy(dtype=object)} if len(values) else set()


def _refuse(table: Table, col: Column, s: pd.Series, what: str, hint: str = "") -> StructuralError:
    given = s[s.notna()].head(5)
    if col.name in table.personal:  # messages land in batch logs: the rows, not a person's name or email
        given = given.map(lambda v: f"(personal {type(v).__name__})")
    rows = "\n".join(f"  row {i}: {v!r}"[:200] for i, v in given.items())
    expected = {
        "id": "an id (text or whole numbers)",
        "text": "text",
        "timestamp": "dates or timestamps",
        "bool": "true/false",
    }.get(col.kind, "numbers")
    if col.kind == "timestamp" and pd.api.types.is_numeric_dtype(s.dtype):  # `1704067200`: Unix time
        from features.numeric_dates import numeric_dates_hint

        hint = numeric_dates_hint(
            given.astype("int64") if pd.api.types.is_integer_dtype(s.dtype) else given, numbers=True
        )
    return StructuralError(
        f"table {table.name!r}, column {col.name!r} holds {what}, which cannot be read as {expected}; "
        f"store the column as {expected} (it is not converted by guessing){hint}.\nExample rows:\n{rows}"
    )


def half_floats(table: Table, col: Column, s: pd.Series) -> StructuralError:
    """The stop for a number column stored as 16-bit floats (`HALF_FLOATS`): the pandas engine's, with example rows,
    and the Spark engine's (`pipelines.engines.spark_sources.read_source`, from the file's footer: no rows), which
    cannot read the type at all."""
    return _refuse(table, col, s, HALF_FLOATS, HALF_FLOATS_WAY_OUT)


def half_float_column(col: Column | None, dtype: object) -> bool:
    """The one rule for 16-bit floats, both engines: a contract money, number or rating column whose type (`dtype`:
    numpy's, as read by the pandas engine or from a Parquet footer's Arrow type) is `float16`. Strict on purpose:
    it stops even when every value is exact (small whole numbers, a rating 4.5), the writer's type being one that
    cannot hold money; judging by values would need the Spark engine to read them before it can."""
    return col is not None and col.kind in HALF_FLOAT_KINDS and dtype == np.float16


def _whole_number_text(s: pd.Series) -> pd.Series:
    """Floats as text: whole values without the spurious `.0` (a nullable integer column read as float)."""
    out = s.astype("str").where(s.notna(), None)
    whole = s.notna() & np.isfinite(s) & (s % 1 == 0) & (s.abs() < 2**53)
    if whole.any():
        out[whole] = s[whole].astype("int64").astype("str")
    return out


def _decode_bytes(table: Table, col: Column, s: pd.Series) -> pd.Series:
    def decode(v):
        return v.decode("utf-8") if isinstance(v, (bytes, bytearray)) else v

    try:
        return s.map(decode, na_action="ignore").astype("str").where(s.notna(), None)
    except UnicodeDecodeError:
        bad = s.map(lambda v: isinstance(v, bytes) and not _is_utf8(v), na_action="ignore").fillna(False)
        raise _refuse(table, col, s[bad.astype(bool)], "bytes that are not UTF-8 text") from None


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decimals(col: Column, s: pd.Series) -> pd.Series:
    """Decimals exactly. Numbers and ids become float64 (ids then follow the float-id rules: whole values as
    integers, a fraction is a `non-integer id` reject, values >= 2**53 a structural error); text keeps whole
    values as integers and others as written."""
    if col.kind != "text":
        return s.astype("float64")
    text = [None if pd.isna(v) else str(int(v)) if v == v.to_integral_value() else str(v) for v in s]
    return pd.Series(text, index=s.index, dtype="str")


def readable_column(table: Table, col: Column, s: pd.Series) -> pd.Series:
    """`s` ready for the value parsers of its kind, or a `StructuralError` when its type cannot hold the kind."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(s.cat.categories.dtype)  # judged by the type of its values
    kind = col.kind
    dtype = s.dtype
    if isinstance(dtype, pd.StringDtype):
        return s
    if pd.api.types.is_bool_dtype(dtype):
        if kind == "bool":
            return s
        raise _refuse(table, col, s, "true/false values")
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        if half_float_column(col, dtype):
            raise half_floats(table, col, s)
        if kind == "timestamp":
            raise _refuse(table, col, s, f"numbers ({dtype})")
        if kind == "bool":
            flags = pd.Series(pd.NA, index=s.index, dtype="boolean")
            flags[s == 1] = True
            flags[s == 0] = False
            # other numbers stay as their text, which the bool parser rejects row by row
            return s.astype("str").where(s.notna(), None).where(flags.isna(), flags.astype("str").str.lower())
        if kind == "text" and pd.api.types.is_float_dtype(dtype):
            return _whole_number_text(s)
        return s
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if kind == "timestamp":
            return s
        raise _refuse(table, col, s, f"timestamps ({dtype})")
    if pd.api.types.is_timedelta64_dtype(dtype):
        raise _refuse(table, col, s, f"durations ({dtype})")
    if dtype is not np.dtype(object):
        raise _refuse(table, col, s, f"values of type {dtype}")
    types = _scalar_types(s)
    if types <= {str}:
        return s
    if types <= {bool, np.bool_}:  # true/false with missing values
        if kind == "bool":
            return s
        raise _refuse(table, col, s, "true/false values")
    if types <= {bytes, bytearray, FixedBytes, str}:
        if (
            kind == "id" and FixedBytes in types
        ):  # a UUID's or a hash's raw bytes: which text they spell is a guess
            raise _refuse(table, col, s, BINARY_IDS, BINARY_WAY_OUT)
        return _decode_bytes(table, col, s)
    if types <= {decimal.Decimal} and kind != "timestamp":
        return _decimals(col, s)
    if types <= {dt.date, dt.datetime, pd.Timestamp} and kind == "timestamp":
        return s
    if types <= {str, int, float} and kind != "timestamp":
        return s  # an in-memory frame with mixed scalars: each value is parsed as written
    nested = any(issubclass(t, (list, tuple, dict, np.ndarray)) for t in types)
    what = (
        "nested values (lists, maps or structs)"
        if nested
        else f"values of type {' and '.join(sorted(t.__name__ for t in types))}"
    )
    raise _refuse(table, col, s, what)
