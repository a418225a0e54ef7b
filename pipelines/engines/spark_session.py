"""The Spark session of the Spark engine: pyspark and Java checked first, local runs bound to 127.0.0.1, pyspark's
pandas-3 warnings silenced on the driver and in every worker. pyspark is imported only inside these functions."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from features.validation import StructuralError

if TYPE_CHECKING:  # pyspark is an optional extra
    import pandas as pd
    from pyspark.sql import SparkSession

#: pyspark 4 warns once per Arrow batch that it does not fully support pandas 3; thousands per run, and the
#: warning machinery alone makes applyInPandas ~2.6x slower. Silenced on the driver and in every worker.
PANDAS3_WARNING = "PySpark does not yet fully support pandas"
#: pyspark's Arrow conversion still passes `copy=False` to `astype`, which pandas 3 deprecates (once per column).
PANDAS_COPY_WARNING = "The copy keyword is deprecated"
DEFAULT_MASTER = "local[*]"
_ROOT = Path(__file__).resolve().parents[2]  # the directory holding the features/models/pipelines packages


class SparkUnavailable(StructuralError):
    """pyspark or a Java runtime is missing: the Spark engine cannot run."""


def quiet_pandas3() -> None:
    warnings.filterwarnings("ignore", message=PANDAS3_WARNING, category=FutureWarning)
    warnings.filterwarnings("ignore", message=PANDAS_COPY_WARNING, module="pyspark")


def arrow_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as object arrays (None for missing) for pyspark's Arrow writer.

    pandas 3 keeps `str` columns in chunked Arrow arrays, which pyspark 4's batch builder rejects.
    """
    import pandas as pd

    text = [
        c for c, d in frame.dtypes.items() if isinstance(d, pd.StringDtype) or pd.api.types.is_object_dtype(d)
    ]
    if not text:
        return frame
    fixed = {c: frame[c].astype(object).where(frame[c].notna(), None) for c in text}
    return frame.assign(**fixed)


def require_spark() -> None:
    """Raise `SparkUnavailable` with an actionable message if pyspark or Java is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise SparkUnavailable(
            "the Spark engine needs pyspark: pip install '.[spark]' (pyspark 4.x, with a Java 17+ runtime)"
        ) from exc
    java_home = os.environ.get("JAVA_HOME")
    java = Path(java_home, "bin", "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise SparkUnavailable(
            "the Spark engine needs a Java runtime (17 or newer): install one and put `java` on PATH or set "
            "JAVA_HOME"
        )


def _is_local(master: str | None) -> bool:
    return master is None or master.startswith("local")


@contextlib.contextmanager
def spark_session(master: str | None = None) -> Iterator[SparkSession]:
    """The active Spark session if there is one (spark-submit, a notebook, a test fixture), else a new one.

    A session this function creates is stopped on exit; one it found is left running. The master is, in order:
    `master`, the one spark-submit was given, `local[*]`. Local masters bind to 127.0.0.1 only and get 4 GB of
    driver memory (env CVP_SPARK_DRIVER_MEMORY; in local mode the driver JVM is also the executor).
    """
    require_spark()
    # Before the JVM starts: workers must run this interpreter (pandas 3, lightgbm, the project's packages),
    # and a local run must not listen on public interfaces.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    quiet_pandas3()
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    configured = None
    if "PYSPARK_GATEWAY_PORT" in os.environ:
        # Launched by spark-submit: join its JVM so its --master (and --conf) apply.
        SparkContext._ensure_initialized()
        configured = SparkConf().get("spark.master", None)
    elif _is_local(master):
        # Read when the JVM we are about to launch starts; nothing then binds to a public interface.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    master = master or configured or DEFAULT_MASTER
    worker_path = os.pathsep.join(p for p in (str(_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    builder = (
        SparkSession.builder.appName("cvp-score")
        .master(master)
        .config("spark.pyspark.python", os.environ["PYSPARK_PYTHON"])
        .config("spark.executorEnv.PYTHONPATH", worker_path)
        .config(
            "spark.executorEnv.PYTHONWARNINGS",
            f"ignore:{PANDAS3_WARNING}:FutureWarning,ignore:{PANDAS_COPY_WARNING}",
        )
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if _is_local(master):
        builder = (
            builder.config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            # Effective only when this builder launches the JVM (not under spark-submit, whose flag wins).
            .config("spark.driver.memory", os.environ.get("CVP_SPARK_DRIVER_MEMORY", "4g"))
            .config("spark.driver.maxResultSize", "0")
        )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def spark_jobs(spark: SparkSession) -> int:
    """How many Spark jobs this session's context has started (those without a job group, as the engine runs
    them): read from `statusTracker`, no listener. Its difference around a call counts that call's jobs."""
    return len(spark.sparkContext.statusTracker().getJobIdsForGroup())
