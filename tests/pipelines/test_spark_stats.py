"""The Spark validation's one aggregation summed by numpy per input partition (`pipelines.engines.spark_stats`):
the same counts, mask sums and early dates as the Spark SQL aggregation it replaces, on hand-written rows (no
Spark: the partition step and the driver's merge are plain pandas)."""

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


def test_text_columns_reach_the_rejects_as_they_are_without_a_python_call_per_value(monkeypatch):
    """The row step's raw columns as text (`spark_input._as_text`): a text column (every column of a CSV file) is
    its values already, not passed through `str()` one value at a time (about a quarter of the row checks' CPU on
    the demo's Parquet tables, docs/spark.md); the same values and dtype as that mapping gives, missing kept
    missing; a column of another type still goes through `str()`."""
    import builtins

    import pipelines.engines.spark_input as spark_input

    calls: list[object] = []

    def counted(value: object) -> str:
        calls.append(value)
        return builtins.str(value)

    monkeypatch.setattr(spark_input, "str", counted, raising=False)  # what the module's `str()` calls resolve to
    for dtype in ("str", "string"):  # pandas' default text dtype, and the nullable one (missing as pd.NA)
        text = pd.Series(["C1", None, "  x "], dtype=dtype)
        expected = text.astype(object).where(text.notna(), None).map(lambda v: v if v is None else builtins.str(v))
        pd.testing.assert_series_equal(spark_input._as_text(text), expected)
    assert calls == []
    amounts = spark_input._as_text(pd.Series([1.5, None]))
    assert amounts.tolist()[0] == "1.5" and pd.isna(amounts.tolist()[1]) and calls == [1.5]
