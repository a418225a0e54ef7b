"""The Spark engine's side of the twenty-first hunt (`test_hostile_round21.py`): one Spark load."""

from __future__ import annotations

import pytest

from features.validation import StructuralError
from tests.pipelines.test_hostile_round21 import CUT, orders_of


@pytest.mark.spark
def test_the_spark_engine_stops_on_ids_cut_to_15_digits(spark, tmp_path):
    """Customer ids a spreadsheet cut to 15 significant digits stop as in the pandas engine (from the sums of the
    long and cut ids of its one aggregation, `spark_stops.table_stops`; was: read as written, exit 0)."""
    from pipelines.config import load_config
    from pipelines.engines.spark_input import load_spark

    said = r"column 'customer_id': all 8 ids of 16 digits or more end in zeros past their 15th digit"
    with pytest.raises(StructuralError, match=said):
        load_spark(spark, orders_of(tmp_path / "cut", CUT, n=10), load_config(None), tmp_path / "rejects")
