"""The Spark session of the Spark engine: pyspark and Java checked first, runs on this machine (local mode or a
standalone cluster on 127.0.0.1) bound to 127.0.0.1, what a cluster's executors need set (their Python, the project
on their path), pyspark's pandas-3 warnings silenced on the driver and in every worker; and a standalone cluster of
one master and one worker started from the pyspark installation (the tests' and the benchmark's real cluster).
pyspark is imported only inside these functions."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from features.validation import StructuralError

if TYPE_CHECKING:  # pyspark is an optional extra
    import pandas as pd
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession

#: pyspark 4 warns once per Arrow batch that it does not fully support pandas 3; thousands per run, and the
#: warning machinery alone makes applyInPandas ~2.6x slower. Silenced on the driver and in every worker.
PANDAS3_WARNING = "PySpark does not yet fully support pandas"
#: pyspark's Arrow conversion still passes `copy=False` to `astype`, which pandas 3 deprecates (once per column).
PANDAS_COPY_WARNING = "The copy keyword is deprecated"
#: pyspark warns, with the whole Java stack trace, when a `toPandas` job fails (a CSV row Spark cannot parse), then
#: raises the same error, which the engine turns into its message (`spark_input.unreadable_files`): no trace shown.
#: Only those two warnings ("... but has reached the error below and can/will not continue"); the one saying it
#: falls back to the slow conversion still shows.
ARROW_FAILED_WARNING = "toPandas attempted Arrow optimization because .*, but has reached the error below"
#: The JVM's console log level: a failed task's ERROR lines (the Java trace of a row Spark cannot parse) would print
#: before the engine's own message; the error itself, with its trace, still reaches the engine (and the error log of
#: an unexpected one). `CVP_SPARK_LOG_LEVEL=ERROR` (or WARN, INFO) shows them. Under spark-submit the job's own
#: log4j settings stay, unless `CVP_SPARK_LOG_LEVEL` is given.
LOG_LEVEL = "FATAL"
DEFAULT_MASTER = "local[*]"
_ROOT = Path(__file__).resolve().parents[2]  # the directory holding the features/models/pipelines packages


class SparkUnavailable(StructuralError):
    """pyspark or a Java runtime is missing: the Spark engine cannot run."""


def quiet_pandas3() -> None:
    warnings.filterwarnings("ignore", message=PANDAS3_WARNING, category=FutureWarning)
    warnings.filterwarnings("ignore", message=PANDAS_COPY_WARNING, module="pyspark")
    warnings.filterwarnings("ignore", message=ARROW_FAILED_WARNING, module="pyspark")


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


def _on_this_machine(master: str | None) -> bool:
    """Local mode, or a standalone master on the loopback interface (the tests' and the benchmark's cluster)."""
    if _is_local(master):
        return True
    host = urllib.parse.urlsplit(master).hostname
    return host in ("127.0.0.1", "localhost", "::1")


#: The master URLs Spark takes: local mode, a local test cluster, a standalone master (or several, for HA), YARN,
#: Kubernetes.
_MASTER_FORMS = re.compile(
    r"local(\[(\*|\d+)(,\d+)?\])?|local-cluster\[\d+,\d+,\d+\]|spark://[^/\s]+:\d+(,[^/\s]+:\d+)*|yarn|k8s://\S+"
)


def check_master(master: str) -> None:
    """A master URL Spark cannot take, or a standalone master that does not answer, stops the run at once naming
    it (was: `--spark-master garbage` exit 1 `unexpected PySparkRuntimeError: [JAVA_GATEWAY_EXITED]`; a
    `spark://` master not running: 80 s of Spark's retries, then `unexpected Py4JJavaError`)."""
    if _MASTER_FORMS.fullmatch(master) is None:
        raise StructuralError(
            f"--spark-master {master!r} is not a Spark master URL: give local[N], local[*], spark://HOST:PORT, yarn "
            "or k8s://..."
        )
    if not master.startswith("spark://"):
        return
    why = None
    for address in master.removeprefix("spark://").split(","):
        host, _, port = address.rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
            return  # one master of the list answers
        except OSError as exc:
            why = exc.strerror or str(exc)
    raise StructuralError(
        f"the Spark master {master} does not answer ({why}): start it, or give the right --spark-master"
    )


#: The least memory Spark starts a driver with (`INVALID_DRIVER_MEMORY`: 1.5 times its 300 MiB reserve).
_MIN_DRIVER_MEMORY = 450 * 1024**2


def driver_memory() -> str:
    """`CVP_SPARK_DRIVER_MEMORY` (default 4g) checked before the JVM starts: a number and a unit (k, m, g, t), at
    least 450m (was: `garbage`, `4gb` or `0` stopped the JVM, `100m` stopped Spark: exit 1, `unexpected
    PySparkRuntimeError` or `Py4JJavaError` and a traceback log)."""
    import re

    text = os.environ.get("CVP_SPARK_DRIVER_MEMORY", "4g").strip()
    size = re.fullmatch(r"(\d{1,12})([kmgt])", text.lower())
    if size is None or int(size[1]) * 1024 ** ("kmgt".index(size[2]) + 1) < _MIN_DRIVER_MEMORY:
        raise StructuralError(
            f"CVP_SPARK_DRIVER_MEMORY = {text!r}: give the Spark driver's memory as a number and a unit, at least "
            "450m (4g, 8g, 512m), or unset it for the default 4g"
        )
    return text


def log_level() -> str:
    """`CVP_SPARK_LOG_LEVEL` (default `LOG_LEVEL`) checked before the session starts: one of log4j's levels."""
    text = (os.environ.get("CVP_SPARK_LOG_LEVEL") or LOG_LEVEL).strip()
    if text.upper() not in {"ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF"}:
        raise StructuralError(
            f"CVP_SPARK_LOG_LEVEL = {text!r}: give one of OFF, FATAL, ERROR, WARN, INFO, DEBUG, TRACE, ALL, or "
            f"unset it for the default {LOG_LEVEL}"
        )
    return text.upper()


def check_settings(master: str | None) -> tuple[str, str]:
    """What a session would start with, checked before any JVM: pyspark installed, the driver's memory and log
    level (returned), `--spark-master`. A setting given is meant to apply, whatever session is then used."""
    require_spark()
    memory, level = driver_memory(), log_level()
    if master:
        check_master(master)
    return memory, level


#: The running job's stack (`session_for_the_job`): a session started inside the job stops when the job ends.
_JOB: ContextVar[contextlib.ExitStack | None] = ContextVar("cvp_spark_job", default=None)


@contextlib.contextmanager
def session_for_the_job(master: str | None = None) -> Iterator[None]:
    """A job that needs one Spark session throughout (`spark_scope.one_spark_session`): the settings checked now,
    the session started by the job's first `spark_session` (not before: a job refused before it reads any data
    starts no JVM) and stopped when the job ends, however it ends, if that call started it."""
    check_settings(master)
    with contextlib.ExitStack() as stack:
        token = _JOB.set(stack)
        try:
            yield
        finally:
            _JOB.reset(token)


@contextlib.contextmanager
def spark_session(master: str | None = None) -> Iterator[SparkSession]:
    """The active Spark session if there is one (spark-submit, a notebook, a test fixture), else a new one.

    A session this function creates is stopped on exit; one it found is left running. The master is, in order:
    `master`, the one spark-submit was given, `local[*]`. What the session sets, on any master:
      - the executors' Python: `PYSPARK_PYTHON` if set, else this interpreter (`spark.pyspark.python`); on a
        cluster it must name an interpreter that exists on every worker with the project's dependencies;
      - the project on the executors' path: the directory holding `features/`, `models/`, `pipelines/` is put
        first on their `PYTHONPATH` (`spark.executorEnv.PYTHONPATH`): enough when the workers see the same path
        (one machine, a shared file system, the same image); else install the project on the workers (docs/spark.md,
        "Running on a cluster"; `--py-files` does not work: numba's kernel cache needs the source files on disk);
      - the driver's memory, `CVP_SPARK_DRIVER_MEMORY` (default 4g, checked by `driver_memory`; in local mode
        the driver JVM is also the executor), effective when this function launches the JVM; no limit on the
        results collected to the driver (`spark.driver.maxResultSize` 0: the engine still collects the scores);
      - PySpark's DataFrame debugging off (`spark.python.sql.dataFrameDebugging.enabled`): no call site recorded
        in the JVM for every column call (about 11 py4j round trips each).
    Under spark-submit, every setting its `--conf` (or `--driver-memory`, ...) gave wins over these.
    A master on this machine (`local[...]`, `spark://127.0.0.1:PORT`, `spark://localhost:PORT`) binds the driver
    to 127.0.0.1 and has no web UI: nothing listens on a public interface.
    """
    memory, level = check_settings(master)
    # Before the JVM starts: workers must run this interpreter (pandas 3, lightgbm, the project's packages).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    quiet_pandas3()
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    if (job := _JOB.get()) is not None:  # the first user inside a job: the session lasts the job
        _JOB.set(None)
        yield job.enter_context(spark_session(master))
        return
    submitted = SparkConf(loadDefaults=False)
    if "PYSPARK_GATEWAY_PORT" in os.environ:
        # Launched by spark-submit: join its JVM so its --master and --conf apply (and win over the settings below).
        SparkContext._ensure_initialized()
        submitted = SparkConf()
    master = master or submitted.get("spark.master", None) or DEFAULT_MASTER
    loopback = _on_this_machine(master)
    if loopback and "PYSPARK_GATEWAY_PORT" not in os.environ:
        # Read when the JVM we are about to launch starts; nothing then binds to a public interface.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    settings = {
        "spark.pyspark.python": os.environ["PYSPARK_PYTHON"],
        "spark.executorEnv.PYTHONPATH": os.pathsep.join(
            p for p in (str(_ROOT), os.environ.get("PYTHONPATH", "")) if p
        ),
        "spark.executorEnv.PYTHONWARNINGS": f"ignore:{PANDAS3_WARNING}:FutureWarning,ignore:{PANDAS_COPY_WARNING}",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.showConsoleProgress": "false",
        # Effective only when this function launches the JVM (under spark-submit, --driver-memory applies).
        "spark.driver.memory": memory,
        "spark.driver.maxResultSize": "0",
        # PySpark's DataFrame debugging records each Column call's Python call site in the JVM: ~11 py4j calls per
        # `F.col`, `.alias`, ... (half of a validation's 3,000-4,000), for a query context no message of ours shows
        "spark.python.sql.dataFrameDebugging.enabled": "false",
    }
    if loopback:
        settings |= {
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.host": "127.0.0.1",
            "spark.ui.enabled": "false",
        }
    builder = SparkSession.builder.appName("cvp-score").master(master)
    for key, value in settings.items():
        if not submitted.contains(key):
            builder = builder.config(key, value)
    session = builder.getOrCreate()
    if "PYSPARK_GATEWAY_PORT" not in os.environ or os.environ.get("CVP_SPARK_LOG_LEVEL"):
        session.sparkContext.setLogLevel(level)
    try:
        yield session
    finally:
        session.stop()


def spark_jobs(spark: SparkSession) -> int:
    """How many Spark jobs this session's context has started (those without a job group, as the engine runs
    them): read from `statusTracker`, no listener. Its difference around a call counts that call's jobs."""
    return len(spark.sparkContext.statusTracker().getJobIdsForGroup())


@dataclass(frozen=True)
class StandaloneCluster:
    """A running standalone cluster: its master URL (`spark://127.0.0.1:PORT`), the master's web UI, and where its
    daemons log (`master.log`, `worker.log`; executors' logs under `work/`)."""

    master_url: str
    web_url: str
    logs: Path
    pids: tuple[int, ...]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive_workers(web_url: str) -> int:
    try:
        with urllib.request.urlopen(f"{web_url}/json/", timeout=5) as answer:
            return int(json.load(answer).get("aliveworkers", 0))
    except (OSError, ValueError):
        return 0


def _group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(process: subprocess.Popen, grace: float) -> None:
    """SIGTERM to the daemon's process group (the daemon, and for a worker its executors and their Python
    workers); SIGKILL to whatever of the group is left after `grace` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        process.poll()  # reaps the daemon once it exits, so the group counts only what is still running
        if not _group_alive(process.pid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def standalone_cluster(
    workdir: Path, cores: int = 2, memory: str = "1g", timeout: float = 180.0
) -> Iterator[StandaloneCluster]:
    """One master and one worker of Spark's standalone cluster manager, started from the pyspark installation
    (`spark-class org.apache.spark.deploy.master.Master` and `...worker.Worker`, `SPARK_HOME` the pyspark package),
    bound to 127.0.0.1 on free ports, with `cores` cores and `memory` for executors on the worker; logs and the
    worker's directory under `workdir`. Yields once the worker is registered (the master's JSON at its web UI),
    stops both, with their executors, on exit, also after a failure or a SIGTERM. Used by the tests and
    `bench/score_spark.py`; on a real cluster the same two classes run on separate machines (docs/spark.md, "Running
    on a cluster").

    The master's REST submission server is off; the daemons' heaps are small (`SPARK_DAEMON_MEMORY`, 256m)."""
    require_spark()
    from pyspark.find_spark_home import _find_spark_home

    home = _find_spark_home()
    spark_class = str(Path(home, "bin", "spark-class"))
    workdir.mkdir(parents=True, exist_ok=True)
    master_port, master_ui, worker_port, worker_ui = (_free_port() for _ in range(4))
    url, web = f"spark://127.0.0.1:{master_port}", f"http://127.0.0.1:{master_ui}"
    env = os.environ | {
        "SPARK_HOME": home,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_DAEMON_MEMORY": os.environ.get("SPARK_DAEMON_MEMORY", "256m"),
        "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",
    }
    daemons = {
        "master": [
            "org.apache.spark.deploy.master.Master",
            *("--host", "127.0.0.1", "--port", str(master_port), "--webui-port", str(master_ui)),
        ],
        "worker": [
            "org.apache.spark.deploy.worker.Worker",
            *("--host", "127.0.0.1", "--port", str(worker_port), "--webui-port", str(worker_ui)),
            *("--cores", str(cores), "--memory", memory, "--work-dir", str(workdir / "work"), url),
        ],
    }
    started: dict[str, subprocess.Popen] = {}
    # A SIGTERM (a CI timeout, `kill`) unwinds through the `finally` below instead of orphaning the daemons.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        for name, args in daemons.items():
            with open(workdir / f"{name}.log", "wb") as log:
                # its own session: the group holds the daemon and everything it launches, stopped as one
                started[name] = subprocess.Popen(
                    [spark_class, *args],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
        deadline = time.monotonic() + timeout
        while _alive_workers(web) < 1:
            dead = [n for n, p in started.items() if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                tail = (workdir / f"{(dead or ['worker'])[0]}.log").read_text(errors="replace")[-2000:]
                why = f"{dead[0]} exited" if dead else f"no worker registered within {timeout:.0f} s"
                raise RuntimeError(f"the standalone Spark cluster did not start: {why}\n{tail}")
            time.sleep(0.5)
        yield StandaloneCluster(url, web, workdir, tuple(p.pid for p in started.values()))
    finally:
        for process in reversed(started.values()):
            _stop(process, grace=10.0)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def short_plan(frame: SparkDataFrame) -> SparkDataFrame:
    """`frame`'s rows as a new DataFrame whose plan is one scan of its rows' RDD, persisted (`MEMORY_AND_DISK`).

    Every DataFrame built over another holds that one's whole plan, which Spark analyses again for each new
    DataFrame: over the validation's plan (its self-joins and unions) that analysis (`DeduplicateRelations`
    renewing the duplicated relations) took 1-2 s of the driver's JVM per `filter` / `select` / sort, paid by
    every DataFrame the load builds on the validated rows (docs/measurements.md, "Tests' time"). The RDD is the
    plan's own internal rows (`queryExecution().toRdd()`, as `Dataset.checkpoint` takes them, made a frame by
    `internalCreateDataFrame`): no conversion to Java `Row`s and back (`createDataFrame(javaRDD, schema)` cost
    +30 CPU-s per 1.5M rows of 149 columns when the persisted copy was filled; this way the fill costs what a
    plain `persist` does). The rows are consumed as they stream (the persisted copy's column buffers, or any
    operator, which copies what it keeps), and the RDD keeps its lineage: rows lost with an executor are computed
    again from it, as a persisted frame's are (unlike `localCheckpoint`'s, which fail the run), and no storage is
    written (unlike `checkpoint`). The caller unpersists it."""
    from pyspark import StorageLevel
    from pyspark.sql.classic.dataframe import DataFrame

    spark = frame.sparkSession
    rows = frame._jdf.queryExecution().toRdd()
    jdf = spark._jsparkSession.internalCreateDataFrame(rows, frame._jdf.schema(), False)
    return DataFrame(jdf, spark).persist(StorageLevel.MEMORY_AND_DISK)
