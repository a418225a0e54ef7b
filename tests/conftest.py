"""Session hooks of the whole suite: fresh processes started in the background (`tests/background.py`)."""

from __future__ import annotations

import pytest

#: The C2 thresholds of the tests' Spark JVMs that train or score (the session's driver; the standalone cluster's
#: scoring driver and executor, `tests/pipelines/spark_cluster_run.py`).
TIER4_OPTIONS = (
    "-XX:Tier4InvocationThreshold=50000 -XX:Tier4CompileThreshold=60000 -XX:Tier4BackEdgeThreshold=400000"
)
#: The Spark JVMs this session launches (the `spark` fixture's, a `cvp score --engine spark` process's) fork their
#: Python workers from `tests/spark_daemon.py`, which has the engine's imports loaded (`spark-submit` reads
#: PYSPARK_SUBMIT_ARGS when pyspark launches it; one given by the caller is kept as given). Their queries run
#: tiny tables, so the session compiles less: expressions interpreted, no whole-stage code generated (each query's
#: generated classes were new code for the JIT to compile again), and the optimising (C2) compiler kept for
#: methods ten times hotter than its defaults (Tier4 thresholds). Where the JVM's CPU went in a `pytest -n 2` run:
#: 715 CPU-s, 270 of them its compiler threads; the Spark tests of three files (34, with the Spark training and
#: scoring ones) 511 -> 377 CPU-s, every one of them cheaper (docs/measurements.md, "Tests' time"). The serial
#: collector, not G1 (Java 17's default on this 2-core machine: its concurrent marking and refinement threads):
#: a session heap of tiny tables, and test_spark_stops.py 55 -> 48-52 CPU-s, test_spark_parity.py 50 -> 48
#: (docs/measurements.md, the testcut35 row; no cut seen on the whole suite's CPU-s). Results are the same whichever way Spark evaluates or collects;
#: the product's own runs (the benchmark's, a user's) keep Spark's and Java's defaults.
SPARK_SUBMIT_ARGS = (
    "--conf spark.python.daemon.module=tests.spark_daemon"
    f' --driver-java-options "{TIER4_OPTIONS} -XX:+UseSerialGC"'
    " --conf spark.sql.codegen.wholeStage=false --conf spark.sql.codegen.factoryMode=NO_CODEGEN pyspark-shell"
)
#: The options of the JVMs the tests start fresh for little work (the console test's Spark-engine `cvp`, stopped
#: at its load; the standalone cluster's master and worker daemons): the C1 compiler only (no C2 compiler threads
#: optimising code for a long life) and the serial collector. Not the JVMs that train or score: with C1 only the
#: session's training and scoring tests ran 1.5-2x longer (docs/measurements.md, "Tests' time").
JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
#: `JVM_OPTIONS` as spark-submit arguments, for a fresh process's PYSPARK_SUBMIT_ARGS.
SPARK_JVM_ARGS = (
    f'--driver-java-options "{JVM_OPTIONS}" --conf "spark.executor.extraJavaOptions={JVM_OPTIONS}"'
)


def pytest_configure(config: pytest.Config) -> None:
    import os
    import tempfile

    from tests import lanes

    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", SPARK_SUBMIT_ARGS)
    os.environ.setdefault("SPARK_DAEMON_JAVA_OPTS", JVM_OPTIONS)  # the standalone cluster's master and worker
    if getattr(config.option, "numprocesses", None) and not hasattr(config, "workerinput"):
        # the controlling process of `pytest -n N`: one directory its workers share (`tests/lanes.py`)
        os.environ[lanes.SHARED_ENV] = tempfile.mkdtemp(prefix="cvp-tests-")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """On `pytest -n N`: whole files to the free worker (a file's Spark tests apart from its others), the Spark
    tests and the early processes' files each kept on one worker (`tests/lanes.py`)."""
    from tests import lanes

    return lanes.make_scheduler(config, log)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    from tests import lanes

    lanes.assign(items)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start now, in the background, the fresh processes that need nothing from the tests, for the collected tests
    that read them: the `trained` fixture's training, the tracking server, the numba warm-up into an empty cache,
    the objectives bench, and those a test module lists in its `BACKGROUND` (nothing for --collect-only)."""
    from tests import background, lanes

    if session.config.option.collectonly:
        return
    if any("trained" in getattr(item, "fixturenames", ()) for item in session.items):
        # the first pipelines test waits for it; on `-n N` the first worker here trains, the others wait for it
        background.start_early("trained", background.trained_process)
    if background.collected(session, "test_tracking_server.py"):
        background.start_early(
            "tracking-server", lambda: background.TrackingServer(background.scratch("tracking-server"))
        )
    if background.collected(session, "test_numba_cache.py"):
        background.start_early("numba-warm", background.numba_warm_up)
    if background.collected(session, "test_objectives_bench.py"):
        background.start_early("objectives", background.objectives_smoke)
    # a test module's own fresh interpreters, by name (`BACKGROUND`, e.g. tests/test_startup.py)
    modules = {
        id(item.module): item.module
        for item in session.items
        if getattr(item, "module", None) and lanes.runs_here(item)
    }
    for module in modules.values():
        for name, start in getattr(module, "BACKGROUND", {}).items():
            background.start_early(name, start)


def pytest_sessionfinish(session: pytest.Session) -> None:
    import os
    import shutil

    from tests import background, lanes

    background.stop_all()
    if not hasattr(session.config, "workerinput") and os.environ.get(lanes.SHARED_ENV):
        shutil.rmtree(os.environ.pop(lanes.SHARED_ENV), ignore_errors=True)  # after every worker ended
