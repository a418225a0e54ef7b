"""Work the scoring loop leaves behind it, on one background thread, in order (issue 14, twentieth part).

What the pandas engine writes of a batch once it is scored and explained (its reason columns spilled to disk,
its compact scores spilled, its contributions handed to their writers; and a chunk's unscored customers' compact
scores) reads that batch only, and each goes to one file in the order the batches come. `Behind.submit` runs these steps on one background thread
while the caller scores the next batch, one step at a time and in the order submitted, so every accumulator
and file receives exactly what the serial loop gave it, in the same order: the same counts and bytes. Nothing is
queued: a `submit` first waits for the step before it, so one step runs behind the caller and overlaps only what
the caller does until its next `submit`, and at most one batch more is alive (a step's arguments are let go
before its end is seen: `_run_once`). An error in a step is raised by
the next `submit` or by `close`; `close` waits for the last step and stops the thread (none outlives the run).
On one thread (`OMP_NUM_THREADS=1`: `models.threads.prediction_threads`) the steps run on the caller's thread,
as they are submitted.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from models.threads import prediction_threads

__all__ = ["Behind"]


def _run_once(slot: list[tuple[Callable[..., Any], tuple[Any, ...]]]) -> Any:
    """Run the step held in `slot`, taking it out first and dropping it before returning: the executor's worker
    resolves the step's future while it still holds what it was given (dropped a line later), so the step and
    its arguments (a batch's frames) must be let go before the future resolves and the next `submit` returns."""
    step, args = slot.pop()
    try:
        return step(*args)
    finally:
        del step, args


class Behind:
    """Steps run in order on one background thread (`submit`), waited for by `close`."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        if prediction_threads() >= 2:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="score-behind")
        self._pending: Future[Any] | None = None

    def submit(self, step: Callable[..., Any], *args: Any) -> None:
        """Run `step(*args)` after the steps submitted before it (on the caller's thread without a pool)."""
        if self._pool is None:
            step(*args)
            return
        self._wait()
        self._pending = self._pool.submit(_run_once, [(step, args)])

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self, quiet: bool = False) -> None:
        """Wait for the last step and stop the thread; its error is raised unless `quiet` (the caller is raising
        its own). Closing again does nothing."""
        try:
            self._wait()
        except BaseException:
            if not quiet:
                raise
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
