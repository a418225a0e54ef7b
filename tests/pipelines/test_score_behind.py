"""What a scored batch leaves behind (`pipelines.engines.behind.Behind`, issue 14, twentieth part): its spilled
reasons and scores and its contributions are written on one background thread, in order, while the next batch is
scored; the output set is byte for byte the serial loop's. Steps run in the order submitted on one thread, at
most one behind the caller (its arguments let go once it ran), an error is raised by the next submit or by
close, no thread outlives the run, and one CPU runs the steps on the caller's thread."""

from __future__ import annotations

import gc
import threading
import weakref

import pandas as pd
import pytest

from pipelines.engines.behind import Behind
from tests.pipelines.score_helpers import score_trained


def cpus(monkeypatch, n: int) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(n)), raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


def _behind_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("score-behind")]


def _let_go(refs: list[weakref.ref]) -> bool:
    """No object of `refs` is alive. A frame nothing holds is freed by reference counting when let go; a full
    `gc.collect()` (seconds each late in a whole-suite worker's heap: 24 s and 11 s for the two tests below) runs
    only when one is still alive, to free it if it sits in a cycle nothing else holds: the same verdict."""
    if any(ref() is not None for ref in refs):
        gc.collect()
    return all(ref() is None for ref in refs)


def test_steps_run_in_order_on_one_background_thread(monkeypatch):
    cpus(monkeypatch, 2)
    done: list[tuple[int, str]] = []
    behind = Behind()
    for k in range(20):
        behind.submit(lambda k: done.append((k, threading.current_thread().name)), k)
    behind.close()
    assert [k for k, _ in done] == list(range(20))
    names = {name for _, name in done}
    assert len(names) == 1 and next(iter(names)).startswith("score-behind")
    assert not _behind_threads()
    behind.close()  # again: nothing


def test_at_most_one_step_is_behind_and_its_arguments_are_let_go(monkeypatch):
    """A submit returns only when every step before the new one has run, and a step's arguments (a batch's
    frames) are not held once it ran: one batch behind the caller at most, whatever the caller's pace."""
    cpus(monkeypatch, 2)
    finished: list[int] = []
    behind = Behind()
    gone: list[weakref.ref] = []

    def step(k: int, frame: pd.DataFrame) -> None:
        threading.Event().wait(0.01)  # slower than the caller
        finished.append(k)

    for k in range(6):
        frame = pd.DataFrame({"x": range(1000)})
        gone.append(weakref.ref(frame))
        behind.submit(step, k, frame)
        del frame
        assert finished == list(range(k))  # the step before this one has run; this one may be running
        assert _let_go(gone[:k])  # the steps that ran hold no batch
    behind.close()
    assert finished == list(range(6))
    assert _let_go(gone)


def test_a_steps_arguments_are_let_go_before_its_end_is_seen(monkeypatch):
    """The instant the next `submit` may return (the step's future resolved, seen here by a callback the worker
    runs as it resolves it), the step's arguments are already let go (was: `ThreadPoolExecutor`'s worker resolved
    the future while it still held the arguments, dropped a line later, so a `submit` could return with the batch
    before the last alive, and the test above could flake on a loaded machine)."""
    cpus(monkeypatch, 2)
    behind = Behind()
    seen: list[bool] = []
    try:
        for _ in range(5):
            ready = threading.Event()
            frame = pd.DataFrame({"x": range(1000)})
            ref = weakref.ref(frame)
            behind.submit(lambda frame, ready: ready.wait(), frame, ready)
            del frame
            pending = behind._pending
            # the step waits for `ready`: the callback runs as the worker resolves the future, on its thread
            assert pending is not None and not pending.done()
            pending.add_done_callback(lambda _, ref=ref: seen.append(_let_go([ref])))
            del pending
            ready.set()
            behind._wait()
    finally:
        behind.close()
    assert seen == [True] * 5


def test_one_cpu_runs_the_steps_on_the_callers_thread(monkeypatch):
    cpus(monkeypatch, 2)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    done: list[str] = []
    behind = Behind()
    behind.submit(lambda: done.append(threading.current_thread().name))
    assert done == [threading.main_thread().name]  # at once, before close
    behind.close()


def test_an_error_is_raised_by_the_next_submit_or_by_close(monkeypatch):
    cpus(monkeypatch, 2)

    def broken():
        raise OSError("disk full")

    behind = Behind()
    behind.submit(broken)
    with pytest.raises(OSError, match="disk full"):
        behind.submit(lambda: None)
    behind.close()
    assert not _behind_threads()
    behind = Behind()
    behind.submit(broken)
    with pytest.raises(OSError, match="disk full"):
        behind.close()
    assert not _behind_threads()
    behind = Behind()
    behind.submit(broken)
    behind.close(quiet=True)  # the caller raises its own error
    assert not _behind_threads()


def test_a_run_with_the_steps_behind_writes_the_serial_loops_bytes(trained, tmp_path, monkeypatch):
    """Small chunks and batches (several of each), two CPUs: the steps run on the background thread, and the
    scores, both contribution files and the profile inputs are byte for byte those of the same run with the
    steps on the scoring thread (the chunks prefetched in both)."""
    import pipelines.engines.behind as behind_module
    import pipelines.engines.pandas_engine as engine
    from pipelines.engines.drift import DriftAccumulator
    from pipelines.engines.spill import ReasonSpill
    from pipelines.outputs import output_paths

    cpus(monkeypatch, 2)
    monkeypatch.setattr(engine, "SCORE_BATCH_ROWS", 60)
    where: list[str] = []  # the reasons' spill: behind
    drift_where: list[str] = []  # the drift counts: on the scoring thread (the batch's features let go there)
    add, drift_add = ReasonSpill.add, DriftAccumulator.add

    def spied(self, *args, **kwargs):
        where.append(threading.current_thread().name)
        return add(self, *args, **kwargs)

    def drift_spied(self, *args, **kwargs):
        drift_where.append(threading.current_thread().name)
        return drift_add(self, *args, **kwargs)

    monkeypatch.setattr(ReasonSpill, "add", spied)
    monkeypatch.setattr(DriftAccumulator, "add", drift_spied)
    for name in ("behind", "serial"):
        (tmp_path / name).mkdir()
    behind = score_trained(trained, tmp_path / "behind" / "s.parquet", chunk_customers=150)
    assert len(where) > 6 and all(name.startswith("score-behind") for name in where)
    assert drift_where and set(drift_where) == {threading.main_thread().name}
    where.clear()
    monkeypatch.setattr(behind_module, "prediction_threads", lambda: 1)
    serial = score_trained(trained, tmp_path / "serial" / "s.parquet", chunk_customers=150)
    assert where and set(where) == {threading.main_thread().name}
    assert behind.manifest["drift"] == serial.manifest["drift"]
    for kind in ("scores", "contributions", "churn_contributions", "profile_inputs"):
        a = output_paths(tmp_path / "behind" / "s.parquet")[kind]
        b = output_paths(tmp_path / "serial" / "s.parquet")[kind]
        assert a.read_bytes() == b.read_bytes(), kind
    assert not _behind_threads()
