"""The Spark engine's side of the nineteenth hunt (`test_hostile_round19.py`): one Spark load."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.pipelines.test_hostile_round19 import _orders_with_times


@pytest.mark.spark
def test_the_spark_engine_reads_decimal_commas_and_names_zero_dates_the_same(spark, tmp_path):
    """`--engine spark` parses and judges dates on its executors with the pandas engine's code (`features.dates`):
    a time with ISO 8601's decimal comma is read (was: each row rejected `ambiguous or unknown date format`, exit
    0), a system's zero date (`0001-01-01`, `1899-12-30`) is a placeholder reject (was: `impossible date`), the same
    counts by reason. The hour-only form's stop comes from `features.date_forms.other_date_forms`, which Spark's
    masks already call; the zero dates' stop from the placeholder rows its aggregation already sums."""
    from pipelines.config import load_config
    from pipelines.engines.spark_input import load_spark
    from pipelines.io import load_data

    data = _orders_with_times(tmp_path / "data", 10, lambda day: f"{day} 10:15:30,5")
    orders = pd.read_csv(data / "orders.csv", dtype=str)
    orders.loc[[1, 2], "ordered_at"] = ["0001-01-01", "1899-12-30 00:00:00"]
    orders.to_csv(data / "orders.csv", index=False)
    got, _ = load_spark(spark, data, load_config(None), tmp_path / "rejects")
    expected = load_data(data)
    assert (
        got.result.report["orders"].rejected_by_reason == expected.result.report["orders"].rejected_by_reason
    )
    assert len(expected.result.report["orders"].rejected_by_reason) == 1
    assert sorted(got.tables["orders"]["ordered_at"]) == sorted(expected.tables["orders"]["ordered_at"])
    assert (got.tables["orders"]["ordered_at"].dt.strftime("%H:%M:%S.%f") == "10:15:30.500000").all()
