"""The Spark tests' Python daemon (`spark.python.daemon.module`, set for the test session's Spark JVMs by
`tests/conftest.py`): pyspark's own daemon (`pyspark.daemon.manager`), after importing what the engine's Python
workers import (pandas, pyarrow, pyspark's worker, the engine modules whose functions run on the executors and, through them, LightGBM and
numba). The daemon forks one worker per task slot and Spark stops a worker idle for a minute; a worker forked
from this daemon starts with those modules loaded instead of importing them again (seconds per worker, paid at
each Spark test that follows another by more than a minute). Nothing in the engine changes: the workers run the
same functions, and a production session keeps pyspark's daemon.

No thread runs when the daemon forks: these imports start none (OpenBLAS's threads are stopped around a fork by
its own handler; LightGBM's OpenMP and numba start theirs when first used, in the worker)."""

from __future__ import annotations

import importlib

#: The modules a Spark engine worker imports, imported once here before the daemon forks any worker.
PRELOADED = (
    "pandas",
    "pyarrow",
    "pyspark.worker",
    "pipelines.engines.spark_buckets",
    "pipelines.engines.spark_checks",
    "pipelines.engines.spark_engine",
    "pipelines.engines.spark_features",
    "pipelines.engines.spark_input",
    "pipelines.engines.spark_parts",
    "pipelines.engines.spark_tiers",
    "pipelines.engines.spark_training",
)

if __name__ == "__main__":
    for name in PRELOADED:
        importlib.import_module(name)
    from pyspark.daemon import manager

    manager()
