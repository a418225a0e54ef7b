"""The chunk prefetch (`pipelines.engines.chunks.prefetched`, issue 14): the next chunk is built on one background
thread while the caller works on the current one; the same items in the same order, an error raised where the
caller asks for that item, the builder closed when the caller stops early, one thread when the process may use
one."""

from __future__ import annotations

import threading

import pytest

from pipelines.engines.chunks import prefetched
from tests.pipelines.score_helpers import score_trained


def cpus(monkeypatch, n: int) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(n)), raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


class Builder:
    """A generator of chunks that records which thread built each and whether it was closed."""

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.n, self.fail_at = n, fail_at
        self.threads: list[str] = []
        self.started = [threading.Event() for _ in range(n)]
        self.closed = False

    def __iter__(self):
        try:
            for k in range(self.n):
                self.started[k].set()
                self.threads.append(threading.current_thread().name)
                if k == self.fail_at:
                    raise ValueError(f"chunk {k} is broken")
                yield k, {"chunk": k}
        finally:
            self.closed = True


def test_the_same_items_in_order_built_on_one_background_thread(monkeypatch):
    cpus(monkeypatch, 2)
    built = Builder(5)
    reference = list(Builder(5))
    got = list(prefetched(iter(built)))
    assert got == reference
    main = threading.main_thread().name
    assert len(built.threads) == 5 and all(name != main for name in built.threads)
    assert len(set(built.threads)) == 1  # one worker, so the chunks are built in order
    assert built.closed


def test_the_next_chunk_is_built_while_the_caller_holds_the_current_one(monkeypatch):
    cpus(monkeypatch, 2)
    built = Builder(3)
    items = prefetched(iter(built))
    first = next(items)
    assert first[0] == 0
    # the caller has not asked for chunk 1, yet it is being built
    assert built.started[1].wait(timeout=10)
    assert [k for k, _ in items] == [1, 2]


def test_one_cpu_builds_on_the_callers_thread_one_at_a_time(monkeypatch):
    cpus(monkeypatch, 2)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    built = Builder(3)
    items = prefetched(iter(built))
    assert next(items)[0] == 0
    assert not built.started[1].is_set()  # nothing ahead of the caller
    assert [k for k, _ in items] == [1, 2]
    assert built.threads == [threading.main_thread().name] * 3


def test_an_error_building_a_chunk_is_raised_when_the_caller_asks_for_it(monkeypatch):
    cpus(monkeypatch, 2)
    built = Builder(4, fail_at=2)
    got = []
    with pytest.raises(ValueError, match="chunk 2 is broken"):
        for k, _ in prefetched(iter(built)):
            got.append(k)
    assert got == [0, 1]  # the chunks before it came through
    assert built.closed


def test_a_caller_stopping_early_closes_the_builder_and_leaves_no_thread(monkeypatch):
    cpus(monkeypatch, 2)
    before = {t.ident for t in threading.enumerate()}
    built = Builder(10)
    items = prefetched(iter(built))
    with pytest.raises(RuntimeError, match="scoring failed"):
        for k, _ in items:
            if k == 1:
                raise RuntimeError("scoring failed")
    items.close()
    assert built.closed
    assert len(built.threads) < 10  # not built to the end
    assert {t.ident for t in threading.enumerate()} <= before


def test_a_prefetched_run_writes_the_bytes_of_a_one_thread_run(trained, tmp_path, monkeypatch):
    """The pandas engine with two CPUs builds the chunks after the first on the background thread while the one
    before is scored; its output set is byte for byte a one-thread run's (`OMP_NUM_THREADS=1`: no prefetch),
    scores, both contribution files, the profile inputs and the run id."""
    import pipelines.engines.chunks as chunks_module
    from pipelines.outputs import output_paths

    builders: list[str] = []
    build = chunks_module.build_feature_table

    def spied(*args, **kwargs):
        builders.append(threading.current_thread().name)
        return build(*args, **kwargs)

    monkeypatch.setattr(chunks_module, "build_feature_table", spied)
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    cpus(monkeypatch, 2)
    two = score_trained(trained, tmp_path / "two" / "s.parquet")
    assert len(builders) > 2 and all(name.startswith("chunk-features") for name in builders)
    builders.clear()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    one = score_trained(trained, tmp_path / "one" / "s.parquet")
    assert builders and set(builders) == {threading.main_thread().name}
    assert two.manifest["run_id"] == one.manifest["run_id"]
    for kind in ("scores", "contributions", "churn_contributions", "profile_inputs"):
        a = output_paths(tmp_path / "two" / "s.parquet")[kind]
        b = output_paths(tmp_path / "one" / "s.parquet")[kind]
        assert a.read_bytes() == b.read_bytes(), kind


def test_the_plan_and_first_chunk_are_built_while_the_statuses_are_computed(trained, tmp_path, monkeypatch):
    """With two CPUs the chunk plan starts on the builder thread as soon as the customer index is built, while
    this thread computes the statuses (and the tables are hashed meanwhile on their own thread): the statuses
    wait here until the plan has started, which a run that plans only after them never does."""
    import pipelines.engines.chunks as chunks_module
    import pipelines.engines.score_base as base_module
    import pipelines.fingerprint as fingerprint_module

    planned, indexed = threading.Event(), threading.Event()
    seen: dict[str, str] = {}
    plan, status, hashing, index_init = (
        chunks_module.plan_chunks,
        base_module.customer_status,
        fingerprint_module.data_fingerprint,
        chunks_module.SharedCustomerIndex.__init__,
    )

    def spied_plan(*args, **kwargs):
        seen["plan"] = threading.current_thread().name
        planned.set()
        return plan(*args, **kwargs)

    def waiting_status(*args, **kwargs):
        seen["status"] = threading.current_thread().name
        assert planned.wait(timeout=60), "the chunk plan did not start while the statuses were computed"
        return status(*args, **kwargs)

    def spied_index(self, *args, **kwargs):
        indexed.set()
        return index_init(self, *args, **kwargs)

    def waiting_hash(*args, **kwargs):
        seen["hash"] = threading.current_thread().name
        assert indexed.wait(timeout=60), "the customer index was not built while the tables were hashed"
        return hashing(*args, **kwargs)

    monkeypatch.setattr(chunks_module, "plan_chunks", spied_plan)
    monkeypatch.setattr(base_module, "customer_status", waiting_status)
    monkeypatch.setattr(chunks_module.SharedCustomerIndex, "__init__", spied_index)
    monkeypatch.setattr(fingerprint_module, "data_fingerprint", waiting_hash)
    cpus(monkeypatch, 2)
    run = score_trained(trained, tmp_path / "s.parquet")
    assert run.manifest["customers_scored"] > 0
    main = threading.main_thread().name
    assert seen["status"] == main and seen["plan"].startswith("chunk-features")
    assert seen["hash"].startswith("fingerprint-beside")


def test_a_run_stopped_before_its_chunk_loop_leaves_no_builder_thread(trained, tmp_path, monkeypatch):
    """The chunks being built from the customer index on are stopped when the run stops before scoring them."""
    import pipelines.engines.run as run_module
    from features.validation import StructuralError

    def no_bridge(*args, **kwargs):
        raise StructuralError("the history cannot be read")

    monkeypatch.setattr(run_module, "bridge_model", no_bridge)
    cpus(monkeypatch, 2)
    before = {t.ident for t in threading.enumerate()}
    with pytest.raises(StructuralError, match="history cannot be read"):
        score_trained(trained, tmp_path / "s.parquet")
    assert {t.ident for t in threading.enumerate()} <= before
