"""Stored column types against contract kinds (`features.column_types`): every Arrow type a Parquet file (or a
Spark batch) can hold, in every kind of contract column, either parses exactly or stops the run with a structural
error naming the table, the column and the type; never an unexpected exception, never a value made up by turning
a list, a struct, a duration, a date or true/false into text."""

from __future__ import annotations

import datetime as dt
import decimal
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from features.contract import TABLES
from features.validation import StructuralError, validate_tables

N = 4
TS = [dt.datetime(2023, 1, d + 1, 10) for d in range(N)]
ARROW = {
    "int8": pa.array([1, 0, 1, 2], pa.int8()),
    "int64": pa.array([1, 2, 3, 4]),
    "uint64": pa.array([1, 2, 3, 2**63], pa.uint64()),
    "int64_nulls": pa.array([1, None, 3, 4]),
    "float32": pa.array([1.5, 2, 3, 4], pa.float32()),
    "float64": pa.array([1.0, 2, 3, float("nan")]),
    "bool": pa.array([True, False, True, True]),
    "bool_nulls": pa.array([True, False, None, True]),
    "string": pa.array(["a", "2023-01-02", "1", None]),
    "large_string": pa.array(["x", "y", "z", "w"], pa.large_string()),
    "binary": pa.array([b"a", b"b", b"c", None]),
    "binary_not_utf8": pa.array([b"a", b"\xff", b"c", None]),
    "date32": pa.array([dt.date(2023, 1, d + 1) for d in range(N)]),
    "ts_ns": pa.array(TS, pa.timestamp("ns")),
    "ts_tz": pa.array(TS, pa.timestamp("us", tz="Europe/Paris")),
    "duration": pa.array([1, 2, 3, 4], pa.duration("s")),
    "time64": pa.array([dt.time(1, 2)] * N),
    "decimal": pa.array(
        [decimal.Decimal("1.25"), decimal.Decimal("2.00"), None, decimal.Decimal("3")], pa.decimal128(10, 2)
    ),
    "list": pa.array([["a"], ["b"], [], None]),
    "struct": pa.array([{"a": 1}] * N),
    "map": pa.array([[("k", 1)]] * N, pa.map_(pa.string(), pa.int64())),
    "dictionary": pa.array(["a", "b", "a", "c"]).dictionary_encode(),
    "dictionary_int": pa.array([1, 2, 1, 3]).dictionary_encode(),
    "null": pa.nulls(N),
}
# Types no contract column may hold, whatever its kind: their text form would be made up.
NEVER = {"list", "struct", "map", "duration", "time64", "binary_not_utf8"}
BASE = {
    "orders": {
        "order_id": ["o1", "o2", "o3", "o4"],
        "customer_id": ["c1"] * N,
        "ordered_at": ["2023-01-01"] * N,
        "revenue": [1.0] * N,
    },
    "tickets": {
        "ticket_id": ["t1", "t2", "t3", "t4"],
        "customer_id": ["c1"] * N,
        "opened_at": ["2023-01-01"] * N,
        "effort_minutes": [1.0] * N,
    },
    "customers": {"customer_id": ["c1", "c2", "c3", "c4"]},
}


def _through_parquet(table: str, column: str, values: pa.Array) -> pd.DataFrame:
    t = pa.table(BASE[table])
    if column in t.column_names:
        t = t.set_column(t.schema.get_field_index(column), column, values)
    else:
        t = t.append_column(column, values)
    buf = io.BytesIO()
    pq.write_table(t, buf)
    buf.seek(0)
    return pd.read_parquet(buf)


# One column of each contract kind (the parsers work by kind, not by column).
KIND_COLUMNS = [
    ("orders", "customer_id"),
    ("orders", "channel"),
    ("orders", "ordered_at"),
    ("orders", "revenue"),
    ("orders", "quantity"),
    ("orders", "promo"),
    ("tickets", "satisfaction"),
]
CASES = [
    (table, column, TABLES[table].column(column).kind, type_name)
    for table, column in KIND_COLUMNS
    for type_name in ARROW
]
assert {kind for *_, kind, _ in CASES} == {c.kind for t in TABLES.values() for c in t.columns}


@pytest.mark.parametrize(("table", "column", "kind", "type_name"), CASES)
def test_every_stored_type_in_every_column_parses_exactly_or_is_structural(table, column, kind, type_name):
    raw = {table: _through_parquet(table, column, ARROW[type_name])}
    if table != "orders":
        raw["orders"] = pd.DataFrame(BASE["orders"])
    try:
        res = validate_tables(raw)
    except StructuralError as exc:
        assert f"table {table!r}, column {column!r}" in str(exc)
        return
    assert type_name not in NEVER, f"{type_name} in {table}.{column} ({kind}) was accepted"
    rep = res.report[table]
    assert rep.rows_in == rep.accepted + rep.rejected == N
    accepted = res.tables[table][column] if column in res.tables[table] else None
    if accepted is not None and kind in ("id", "text"):
        text = [v for v in accepted.tolist() if isinstance(v, str)]
        # no list, struct, true/false, duration or date rendered as text
        assert not any(v.startswith(("[", "{", "(")) or v in ("True", "False") for v in text), text
        assert not any("days" in v or v.startswith("2023-01-0") for v in text if type_name != "string"), text


def _orders_with(column: str, values: pa.Array) -> pd.DataFrame:
    return _through_parquet("orders", column, values)


@pytest.mark.parametrize("type_name", ["bool", "bool_nulls", "date32", "ts_ns", "list", "struct", "duration"])
def test_ids_and_text_refuse_types_that_are_not_ids_or_text(type_name):
    for column in ("customer_id", "channel"):
        with pytest.raises(StructuralError, match=rf"column '{column}' holds"):
            validate_tables({"orders": _orders_with(column, ARROW[type_name])})


def test_integer_flags_read_one_and_zero_and_reject_other_numbers():
    res = validate_tables({"orders": _orders_with("promo", pa.array([1, 0, 2, None], pa.int8()))})
    assert res.tables["orders"]["promo"].tolist() == [True, False, pd.NA]
    assert res.rejects["orders"]["reason"].tolist() == ["unparseable promo"]


def test_decimal_ids_follow_the_float_id_rules_and_decimal_text_keeps_its_digits():
    ids = pa.array(
        [decimal.Decimal("7"), decimal.Decimal("8.5"), decimal.Decimal("9.00"), decimal.Decimal("10")],
        pa.decimal128(10, 2),
    )
    res = validate_tables({"orders": _orders_with("order_id", ids)})
    assert res.tables["orders"]["order_id"].tolist() == ["7", "9", "10"]
    assert res.rejects["orders"]["reason"].tolist() == ["non-integer id in order_id"]
    text = validate_tables({"orders": _orders_with("channel", ARROW["decimal"])}).tables["orders"]["channel"]
    assert text.tolist()[:2] == ["1.25", "2"]


def test_utf8_bytes_are_text_and_other_bytes_are_structural_naming_the_row():
    res = validate_tables({"orders": _orders_with("channel", ARROW["binary"])})
    assert res.tables["orders"]["channel"].tolist()[:3] == ["a", "b", "c"]
    with pytest.raises(StructuralError, match=r"not UTF-8[\s\S]*row 1: b'\\xff'"):
        validate_tables({"orders": _orders_with("channel", ARROW["binary_not_utf8"])})


def test_nullable_integer_text_keeps_no_spurious_decimal():
    # an integer column with a missing value arrives as float64: 1.0 must stay "1", not become "1.0"
    channel = validate_tables({"orders": _orders_with("channel", ARROW["int64_nulls"])}).tables["orders"][
        "channel"
    ]
    assert channel.isna().tolist() == [False, True, False, False]
    assert channel.dropna().tolist() == ["1", "3", "4"]


def test_timestamps_from_dates_and_zoned_timestamps_parse():
    for type_name in ("date32", "ts_tz"):
        res = validate_tables({"orders": _orders_with("ordered_at", ARROW[type_name])})
        assert res.report["orders"].accepted == N
        assert np.issubdtype(res.tables["orders"]["ordered_at"].dtype, np.datetime64)
