"""What a user's console shows when `--engine spark` stops on a known problem: the product's message, no Java trace.

The JVM writes its log lines to the process's stderr, so only a `cvp` process of its own (its own JVM) shows them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pipelines.engines.spark_session import log_level
from tests.conftest import SPARK_JVM_ARGS
from tests.helpers import csv_data, raw_orders
from tests.shared_data import REPO


@pytest.mark.spark
def test_a_csv_row_spark_cannot_parse_stops_without_a_java_trace_on_the_console(spark_available, tmp_path):
    """An orders CSV with a row of one field too many: exit 2 with the pandas engine's message. Was: about 220
    lines of the JVM's ERROR log (a failed task's Java trace) and pyspark's "toPandas attempted Arrow
    optimization" warning with the trace again, before the message."""
    data = csv_data(tmp_path, orders=raw_orders(40))
    lines = (data / "orders.csv").read_text().splitlines()
    lines[3] += ",an extra field"
    (data / "orders.csv").write_text("\n".join(lines) + "\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "CVP_SPARK_DRIVER_MEMORY": "1g"}
    env.pop("CVP_SPARK_LOG_LEVEL", None)
    # pyspark's own Python daemon, as a user's `cvp` has: the tests' preloading one (`tests/spark_daemon.py`) imports
    # the training and scoring modules that this one short run never uses (44 s -> 30-38 s)
    env["PYSPARK_SUBMIT_ARGS"] = (
        f"{SPARK_JVM_ARGS} pyspark-shell"  # the tests' JVM options (`tests/conftest.py`)
    )
    run = [sys.executable, "-c", "from pipelines.cli import app; app()", "train", "--engine", "spark"]
    done = subprocess.run(
        [*run, "--spark-master", "local[1]", "--data", data, "--as-of", "2023-03-01"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
        check=False,
    )
    shown = done.stdout + done.stderr
    assert done.returncode == 2, shown[-3000:]
    assert "have more or fewer fields" in shown and "source row 2: 5 fields" in shown, shown[-3000:]
    assert "at org.apache" not in shown and "Traceback" not in shown, shown[-3000:]
    assert "toPandas attempted Arrow optimization" not in shown and "ERROR" not in shown, shown[-3000:]


def test_the_spark_log_level_is_checked_before_the_jvm_starts(monkeypatch):
    from features.validation import StructuralError

    monkeypatch.delenv("CVP_SPARK_LOG_LEVEL", raising=False)
    assert log_level() == "FATAL"
    monkeypatch.setenv("CVP_SPARK_LOG_LEVEL", "warn")
    assert log_level() == "WARN"
    monkeypatch.setenv("CVP_SPARK_LOG_LEVEL", "loud")
    with pytest.raises(StructuralError, match="CVP_SPARK_LOG_LEVEL = 'loud'"):
        log_level()


def test_only_the_arrow_warnings_followed_by_the_same_error_are_silenced():
    """pyspark's two `toPandas` warnings that precede the error it raises (the engine's message follows) are
    silenced; the one saying it falls back to the slow conversion still shows."""
    import warnings

    from pipelines.engines.spark_session import quiet_pandas3

    head = "toPandas attempted Arrow optimization because 'spark.sql.execution.arrow.pyspark.enabled' is set to true"
    raised = [
        f"{head}, but has reached the error below and can not continue. Note that ...\n  java.lang.Exception",
        f"{head}, but has reached the error below and will not continue because automatic fallback ...\n  e",
    ]
    fallback = f"{head}; however, failed by the reason below:\n  e\nAttempting non-optimization as ..."
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("default")
        quiet_pandas3()
        for text in [*raised, fallback]:
            warnings.warn_explicit(
                text, UserWarning, "conversion.py", 1, module="pyspark.sql.pandas.conversion"
            )
    assert [str(w.message) for w in shown] == [fallback]
