"""The suite on two workers (`make test` runs `pytest -n 2`, pytest-xdist): which tests run where.

Tests are handed out a whole scope at a time (a module fixture is made once per scope), to whichever worker is
free, except the scopes of two lanes, each kept on one worker from the start. A scope is a test file, except that
a file's Spark tests are a scope of their own (`spark_scope`): the file's other tests do not wait on the Spark
worker. The lanes:
- lane 0: every test that uses Spark (the `spark`, `spark_available` or `cluster` fixture): one Spark session and
  one standalone cluster for the run, never two JVMs at once;
- lane 1: the files whose tests read a fresh process started early (`tests/background.py`): that worker starts
  them at collection, as a serial run does, and no other worker starts them again.
The files holding a test that reads the standalone cluster (`LATE_FIXTURES`: its `cvp score` run, a fresh process
started once the `trained` fixture exists, minutes) run last, on every worker and on a serial run (`ordered`): that
run overlaps the Spark tests before them instead of being waited for (186 s of setup when it ran third).
A new test file needs no mark: its Spark tests join lane 0 by using a Spark fixture, the file lane 1 by reading an
early process named in `EARLY_FILES` or `EARLY_TESTS` (or listing its own in `BACKGROUND`), the shared pool
otherwise. A module fixture used by both a file's Spark tests and its other tests is made once on each worker
(keep such fixtures cheap, or the Spark cases in a file of their own); a module listing fresh processes of its own
(`BACKGROUND`) is not split: its one worker starts them. A test that reads an early process on a
worker that did not start it starts it then (`background.take`): slower, same assertions.

Every worker computes the same lanes from the same collection; the first worker writes them to the run's shared
directory (`SHARED_ENV`, made by the controlling process) for the scheduler (`LaneScheduling`), which reads them
once all workers have collected. Without `-n`, nothing here changes anything: every test runs in the one process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: The directory every process of one distributed run shares (the `trained` fixture's training, the lanes).
SHARED_ENV = "CVP_TEST_SHARED"
#: Fixtures that run Spark.
SPARK_FIXTURES = frozenset({"spark", "spark_available", "cluster"})
#: Test files that read a fresh process started at collection (`tests/conftest.py`).
EARLY_FILES = ("test_tracking_server.py", "test_numba_cache.py", "test_objectives_bench.py")
#: Tests that read a fresh process started once a session fixture exists (`tests/pipelines/conftest.py`).
EARLY_TESTS = (
    "test_champion_loads_in_a_fresh_process_and_predicts",
    "test_a_killed_score_process_leaves_one_whole_set",
)
#: Fixtures read from the standalone cluster's background run: their files' tests run last (`ordered`).
LATE_FIXTURES = frozenset({"cluster"})
LANES_FILE = "lanes.json"
#: What a file's Spark tests' scope adds to the file's node id (`tests/x/test_y.py::spark`).
SPARK_SCOPE = "::spark"


def shared_dir() -> Path | None:
    """The run's shared directory on a distributed run, else None."""
    value = os.environ.get(SHARED_ENV)
    return Path(value) if value and worker() is not None else None


def worker() -> tuple[int, int] | None:
    """(this worker's index, the number of workers) on a distributed run, else None."""
    name, count = os.environ.get("PYTEST_XDIST_WORKER"), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not name or not count:
        return None
    return int(name.removeprefix("gw")), int(count)


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def spark_scope(nodeid: str) -> str:
    """The scope of a Spark test: its file's, marked (`SPARK_SCOPE`)."""
    return file_of(nodeid) + SPARK_SCOPE


class Lanes:
    """The run's lanes: the Spark tests' node ids, and the pinned scopes with their lane (0 Spark, 1 early)."""

    def __init__(self, spark: Iterable[str] = (), pinned: dict[str, int] | None = None) -> None:
        self.spark = frozenset(spark)
        self.pinned = dict(pinned or {})

    @classmethod
    def of(cls, items: Iterable[Any]) -> Lanes:
        items = list(items)
        # a module listing its own fresh processes stays whole: the one worker running it starts them
        whole = {file_of(i.nodeid) for i in items if getattr(getattr(i, "module", None), "BACKGROUND", None)}
        spark: list[str] = []
        pinned: dict[str, int] = {}
        for item in items:
            path = file_of(item.nodeid)
            if SPARK_FIXTURES & set(getattr(item, "fixturenames", ())):
                if path in whole:
                    pinned[path] = 0
                else:
                    spark.append(item.nodeid)
                    pinned[spark_scope(item.nodeid)] = 0
            elif pinned.get(path) != 0 and (
                item.path.name in EARLY_FILES or item.name in EARLY_TESTS or path in whole
            ):
                pinned[path] = 1
        return cls(spark, pinned)

    def scope(self, nodeid: str) -> str:
        """The scope of a test: its file's, or its file's Spark scope for a Spark test."""
        return spark_scope(nodeid) if nodeid in self.spark else file_of(nodeid)

    def lane(self, nodeid: str) -> int | None:
        """The lane of a test, None for the shared pool."""
        return self.pinned.get(self.scope(nodeid))

    def dumps(self) -> str:
        return json.dumps({"spark": sorted(self.spark), "pinned": self.pinned})

    @classmethod
    def loads(cls, text: str) -> Lanes:
        data = json.loads(text)
        return cls(data["spark"], data["pinned"])


_LANES = Lanes()


def ordered(items: list[Any]) -> list[Any]:
    """The collected tests, those of every file holding a test that reads `LATE_FIXTURES` moved to the end (a
    file stays whole: its module fixtures are made once), each part in its collection order."""
    late = {file_of(i.nodeid) for i in items if LATE_FIXTURES & set(getattr(i, "fixturenames", ()))}
    first = [i for i in items if file_of(i.nodeid) not in late]
    return first + [i for i in items if file_of(i.nodeid) in late]


def assign(items: list[Any]) -> None:
    """At collection, in every process: order the tests (`ordered`, in place: every worker the same order) and
    compute the lanes; the first worker writes them for the scheduler."""
    global _LANES
    items[:] = ordered(items)
    _LANES = Lanes.of(items)
    shared, me = shared_dir(), worker()
    if shared is not None and me is not None and me[0] == 0:
        tmp = shared / f"{LANES_FILE}.tmp"
        tmp.write_text(_LANES.dumps())
        tmp.replace(shared / LANES_FILE)


def runs_here(item: Any) -> bool:
    """Whether `item` surely runs in this process: always on a serial run; on a worker, when its scope is pinned
    to this worker's lane (a scope of the shared pool may run on either worker)."""
    me = worker()
    if me is None:
        return True
    lane = _LANES.lane(item.nodeid)
    return lane is not None and lane % me[1] == me[0]


def _scheduler_base() -> Any:
    from xdist.scheduler import LoadScopeScheduling

    return LoadScopeScheduling


def make_scheduler(config: Any, log: Any) -> Any:
    """xdist's scope scheduling by file (a file's Spark tests a scope apart), the lanes' scopes pinned to their
    worker (all sent at the start)."""

    class LaneScheduling(_scheduler_base()):
        def _lanes(self) -> Lanes:
            if not hasattr(self, "_lanes_read"):
                shared = os.environ.get(SHARED_ENV)
                path = Path(shared) / LANES_FILE if shared else None
                self._lanes_read = Lanes.loads(path.read_text()) if path and path.is_file() else Lanes()
            return self._lanes_read

        def _split_scope(self, nodeid: str) -> str:
            return self._lanes().scope(nodeid)

        def _index(self, node: Any) -> int:
            return int(node.gateway.id.removeprefix("gw"))

        def _assign_work_unit(self, node: Any) -> None:
            """Give `node` its lane's scopes not yet handed out (all at once), else the next scope of the pool;
            a lane whose worker is gone goes to the pool."""
            alive = {self._index(n) for n in self.nodes}
            count = max(alive) + 1 if alive else 1

            def owner(scope: str) -> int | None:
                lane = self._lanes().pinned.get(scope)
                if lane is None:
                    return None
                index = lane % max(count, 1)
                return index if index in alive else None

            mine = [scope for scope in self.workqueue if owner(scope) == self._index(node)]
            if not mine:
                mine = [scope for scope in self.workqueue if owner(scope) is None][:1]
            if not mine:
                return
            assigned = self.assigned_work.setdefault(node, {})
            collection = self.registered_collections[node]
            indexes = []
            for scope in mine:
                unit = self.workqueue.pop(scope)
                assigned[scope] = unit
                indexes += [collection.index(nodeid) for nodeid, done in unit.items() if not done]
            node.send_runtest_some(indexes)

    return LaneScheduling(config, log)
