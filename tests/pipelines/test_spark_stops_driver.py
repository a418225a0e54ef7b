"""The pandas loader's column-level stops on the Spark engine's driver, without a session: for each `STOPS` case,
the executors' row step (`spark_input.check_rows`), the bucket step (`spark_checks.check_bucket`) and the sums of
the one aggregation (`spark_stats.partial_stats` / `merge_stats`) run in pandas on the case's tables, then the
driver's stops (`spark_stops`) raise the pandas loader's message (`tests/pipelines/spark_stop_driver.py`). The
Spark side between is run by the real loads of `test_spark_stops.py` (`SPARK_LOADS`: one per family)."""

from __future__ import annotations

import pytest

from features.validation import StructuralError
from pipelines.io import load_data
from tests.pipelines.spark_input_cases import CFG, STOPS, _write
from tests.pipelines.spark_stop_driver import driver_stops

#: Cases whose rule runs in a Spark job of its own (a window, a join): judged by their real load only.
SPARK_ONLY = ("rows-per-key", "returns-in-cents", "returns-of-other-orders")


@pytest.mark.parametrize("case", [c for c in STOPS if c not in SPARK_ONLY])
def test_column_level_stops_are_the_pandas_loaders_on_the_spark_driver(tmp_path, case):
    """A column following another convention: the Spark engine's masks and driver stops give the pandas loader's
    message, example rows and all (no personal column nor one outside the contract among them)."""
    tables, message = STOPS[case]
    data = _write(tmp_path / "data", **tables)
    with pytest.raises(StructuralError) as expected:
        load_data(data, currency=CFG.data.currency)
    assert str(expected.value).startswith(message)
    with pytest.raises(StructuralError) as got:
        driver_stops(data, CFG)
    assert str(got.value) == str(expected.value)
    assert "Secret" not in str(got.value) and "SECRET" not in str(got.value)
