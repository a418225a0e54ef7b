"""Session hooks of the whole suite: fresh processes started in the background (`tests/background.py`)."""

from __future__ import annotations

import pytest

#: The Spark JVMs this session launches (the `spark` fixture's, a `cvp score --engine spark` process's) fork their
#: Python workers from `tests/spark_daemon.py`, which has the engine's imports loaded (`spark-submit` reads
#: PYSPARK_SUBMIT_ARGS when pyspark launches it; one given by the caller is kept as given).
SPARK_SUBMIT_ARGS = "--conf spark.python.daemon.module=tests.spark_daemon pyspark-shell"


def pytest_configure(config: pytest.Config) -> None:
    import os

    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", SPARK_SUBMIT_ARGS)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start now, in the background, the fresh processes that need nothing from the tests, for the collected tests
    that read them: the `trained` fixture's training, the tracking server, the numba warm-up into an empty cache,
    the objectives bench, and those a test module lists in its `BACKGROUND` (nothing for --collect-only)."""
    from tests import background

    if session.config.option.collectonly:
        return
    if any("trained" in getattr(item, "fixturenames", ()) for item in session.items):
        background.start_early("trained", background.trained_process)  # the first pipelines test waits for it
    if background.collected(session, "test_tracking_server.py"):
        background.start_early(
            "tracking-server", lambda: background.TrackingServer(background.scratch("tracking-server"))
        )
    if background.collected(session, "test_numba_cache.py"):
        background.start_early("numba-warm", background.numba_warm_up)
    if background.collected(session, "test_objectives_bench.py"):
        background.start_early("objectives", background.objectives_smoke)
    # a test module's own fresh interpreters, by name (`BACKGROUND`, e.g. tests/test_startup.py)
    modules = {id(item.module): item.module for item in session.items if getattr(item, "module", None)}
    for module in modules.values():
        for name, start in getattr(module, "BACKGROUND", {}).items():
            background.start_early(name, start)


def pytest_sessionfinish(session: pytest.Session) -> None:
    from tests import background

    background.stop_all()
