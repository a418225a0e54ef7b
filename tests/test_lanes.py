"""Where `pytest -n 2` runs each test (`tests/lanes.py`), from fake collected items: no worker, no Spark."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from tests import lanes


def _item(nodeid: str, *fixtures: str, module: object = None) -> SimpleNamespace:
    path = nodeid.split("::", 1)[0]
    return SimpleNamespace(
        nodeid=nodeid,
        name=nodeid.rsplit("::", 1)[-1],
        path=Path(path),
        fixturenames=list(fixtures),
        module=module if module is not None else SimpleNamespace(),
    )


MIXED = "tests/pipelines/test_mixed.py"
OWN = "tests/test_own_processes.py"
ITEMS = [
    _item(f"{MIXED}::test_pandas", "tmp_path"),
    _item(f"{MIXED}::test_on_spark", "spark", "tmp_path"),
    _item(f"{MIXED}::test_pandas_too"),
    _item("tests/pipelines/test_spark_only.py::test_a[1]", "spark_available"),
    _item("tests/models/test_numba_cache.py::test_cache"),
    _item("tests/pipelines/test_plain.py::test_plain"),
    _item(f"{OWN}::test_reads_its_process", module=SimpleNamespace(BACKGROUND={"x": None})),
    _item(f"{OWN}::test_on_spark_too", "cluster", module=SimpleNamespace(BACKGROUND={"x": None})),
]


def test_a_files_spark_tests_are_pinned_to_lane_0_and_its_other_tests_go_to_the_pool() -> None:
    made = lanes.Lanes.of(ITEMS)
    assert made.scope(f"{MIXED}::test_on_spark") == f"{MIXED}{lanes.SPARK_SCOPE}"
    assert made.lane(f"{MIXED}::test_on_spark") == 0
    assert made.scope(f"{MIXED}::test_pandas") == made.scope(f"{MIXED}::test_pandas_too") == MIXED
    assert made.lane(f"{MIXED}::test_pandas") is None
    assert made.lane("tests/pipelines/test_spark_only.py::test_a[1]") == 0
    assert made.lane("tests/models/test_numba_cache.py::test_cache") == 1  # an early process's file
    assert made.lane("tests/pipelines/test_plain.py::test_plain") is None


def test_a_module_starting_its_own_processes_stays_whole_on_one_worker() -> None:
    made = lanes.Lanes.of(ITEMS)
    assert made.scope(f"{OWN}::test_reads_its_process") == made.scope(f"{OWN}::test_on_spark_too") == OWN
    assert made.lane(f"{OWN}::test_reads_its_process") == 0  # with its Spark test: one worker starts them
    alone = lanes.Lanes.of(ITEMS[6:7])
    assert alone.lane(f"{OWN}::test_reads_its_process") == 1


def test_the_files_reading_the_cluster_run_last_whole_in_their_order(monkeypatch) -> None:
    """The standalone cluster's background `cvp score` run overlaps the tests before its file's instead of being
    waited for: the file holding a `cluster` test goes last, its tests together (module fixtures made once)."""
    items = [_item("tests/pipelines/test_cluster.py::test_fake_daemons"), *ITEMS[:6]]
    items.insert(2, _item("tests/pipelines/test_cluster.py::test_on_the_cluster", "cluster"))
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # a serial run: no lanes file written
    monkeypatch.setattr(lanes, "_LANES", lanes._LANES)  # this run's lanes kept
    lanes.assign(items)  # in place, as pytest's collection hook passes them
    names = [i.nodeid for i in items]
    assert names[-2:] == [
        "tests/pipelines/test_cluster.py::test_fake_daemons",
        "tests/pipelines/test_cluster.py::test_on_the_cluster",
    ]
    assert names[:-2] == [i.nodeid for i in ITEMS[:6]]


def test_the_lanes_the_scheduler_reads_are_the_workers_and_a_serial_run_runs_everything(monkeypatch) -> None:
    made = lanes.Lanes.of(ITEMS)
    read = lanes.Lanes.loads(made.dumps())
    assert read.spark == made.spark and read.pinned == made.pinned
    assert read.scope(f"{MIXED}::test_on_spark") == made.scope(f"{MIXED}::test_on_spark")
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    assert all(lanes.runs_here(item) for item in ITEMS)
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    monkeypatch.setattr(lanes, "_LANES", made)
    assert not lanes.runs_here(ITEMS[1])  # Spark: worker 0's
    assert not lanes.runs_here(ITEMS[0])  # the pool: either worker, so not surely here
    assert lanes.runs_here(ITEMS[4])  # lane 1
