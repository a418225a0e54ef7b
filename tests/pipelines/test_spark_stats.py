"""The Spark validation's one aggregation summed by numpy per input partition (`pipelines.engines.spark_stats`):
the same counts, mask sums and early dates as the Spark SQL aggregation it replaces, on hand-written rows (no
Spark: the partition step and the driver's merge are plain pandas); and the row step's raw columns as text."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.engines.spark_checks import BAD, FIRST, FRONTIER, GIVEN, MASKS, REASON, TABLE, UNKNOWN
from pipelines.engines.spark_stats import PART, merge_stats, partial_stats

D = pd.Timestamp


def _batch(rows: list[tuple]) -> pd.DataFrame:
    """(table, part, reason, given, bad, unknown, first, frontier, date) rows, every other mask 0."""
    frame = pd.DataFrame(rows, columns=[TABLE, PART, REASON, GIVEN, BAD, UNKNOWN, FIRST, FRONTIER, "date"])
    for mask in MASKS.values():
        if mask not in frame:
            frame[mask] = 0
    date = frame.pop("date").astype("datetime64[ns]")
    frame["__e1"] = date.where(frame[FIRST].to_numpy() & 2 > 0)
    frame["__f1"] = date.where(
        frame[FRONTIER].fillna(0).to_numpy(dtype=np.int64) & 2 > 0
    )  # a missing mask: 0
    return frame


def test_partition_sums_merged_on_the_driver_are_the_aggregations_counts():
    one = [  # partition 0 of orders, in two Arrow batches; partition 1 of customers in another task
        _batch(
            [
                ("orders", 0, None, 0b011, 0b000, 0, 0b10, 0, D("2024-01-02")),
                ("orders", 0, None, 0b111, 0b100, 0, 0b10, 0b10, D("2024-01-05")),
                ("orders", 0, "negative revenue", 0b101, 0b000, 0b010, 0, 0, D("2024-02-01")),
            ]
        ),
        _batch([("orders", 0, None, 0b001, 0b000, 0, 0b10, 0, D("2023-12-31"))]),
    ]
    two = [_batch([("customers", 1, None, 0b001, 0b001, 0b001, 0, np.nan, None)])]
    long = pd.concat(
        [next(partial_stats(iter(one), 3, [1])), next(partial_stats(iter(two), 3, [1]))], ignore_index=True
    )
    got = merge_stats(long, 3, [1]).sort_values([TABLE, REASON], na_position="first").reset_index(drop=True)
    assert got[TABLE].tolist() == ["customers", "orders", "orders"]
    assert got[REASON].tolist() == [None, None, "negative revenue"]
    assert got[PART].tolist() == [1, 0, 0]
    assert got["n"].tolist() == [1, 3, 1]
    # bit i of GIVEN summed per group: the accepted orders hold column 0 three times, 1 twice, 2 once
    assert [got[f"g{i}"].tolist() for i in range(3)] == [[1, 3, 1], [0, 2, 0], [0, 1, 1]]
    assert [got[f"b{i}"].tolist() for i in range(3)] == [[1, 0, 0], [0, 0, 0], [0, 1, 0]]
    assert [got[f"u{i}"].tolist() for i in range(3)] == [[1, 0, 0], [0, 0, 1], [0, 0, 0]]
    assert (got["p0"] == 0).all() and got["p0"].dtype == np.int64  # a mask set nowhere: every sum 0
    # the FIRST dates of each group (any order) and its earliest FRONTIER
    assert got["E1"].tolist()[0] == [] and got["E1"].tolist()[2] == []
    assert sorted(got["E1"].tolist()[1]) == [D("2023-12-31"), D("2024-01-02"), D("2024-01-05")]
    assert got["F1"].isna().tolist() == [True, False, True] and got["F1"][1] == D("2024-01-05")
    assert "E0" not in got and "F0" not in got  # only the date columns' indexes
    empty = merge_stats(long.iloc[:0], 3, [1])
    assert len(empty) == 0 and {"n", "g2", "u2", "E1", "F1"} <= set(empty.columns)


def test_raw_columns_reach_the_rejects_as_str_would_write_them_without_a_python_call_per_value(monkeypatch):
    """The row step's raw columns as text (`spark_input._as_text`): `str()` of each value, missing kept missing, but
    a text column (every column of a CSV file), a float64 column and a naive datetime's whole seconds without a
    Python call per value (that call was 70-80% of the row checks' CPU on the demo's Parquet tables, docs/spark.md);
    the same values, types and dtype as the call gives; a fraction of a second, a zone or another type still goes
    through `str()`."""
    import builtins

    import pipelines.engines.spark_input as spark_input

    calls: list[object] = []

    def counted(value: object) -> str:
        calls.append(value)
        return builtins.str(value)

    def by_call(s: pd.Series) -> pd.Series:  # the code before: `str()` of every value
        return s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else builtins.str(v))

    def same(s: pd.Series) -> None:
        got, expected = spark_input._as_text(s), by_call(s)
        pd.testing.assert_series_equal(got, expected)
        assert [type(v) for v in got] == [type(v) for v in expected]

    # what the module's `str()` calls resolve to
    monkeypatch.setattr(spark_input, "str", counted, raising=False)
    stamps = pd.to_datetime(
        ["2021-01-05 10:00:00", None, "2021-01-05", "1677-09-22 00:12:43"], format="ISO8601"
    )
    vectorised = [
        pd.Series(["C1", None, "  x "], dtype="str"),
        pd.Series(["C1", None], dtype="string"),  # missing as pd.NA
        pd.Series(
            [0.1 + 0.2, np.nan, 1e16, 1e-5, -0.0, 12.5, 2.0**53], index=[7, 3, 5, 1, 2, 4, 6], name="amount"
        ),
        pd.Series(stamps),
        pd.Series(stamps).astype("datetime64[s]"),
    ]
    for s in vectorised:
        same(s)
    assert calls == []
    fraction = pd.Series(pd.to_datetime(["2021-01-05 10:00:00.25", "2021-01-05 10:00:01"], format="ISO8601"))
    zoned = pd.Series(pd.to_datetime(["2021-01-05 10:00"]).tz_localize("Europe/Berlin"))
    for s in (fraction, zoned, pd.Series([0.1], dtype="float32"), pd.Series([3, 4])):
        same(s)
    assert len(calls) == 1 + 1 + 1 + 2  # the fraction only (its whole second is written as the others)
