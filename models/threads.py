"""How many threads this process's prediction and explanation may use (one rule for LightGBM and the explainer).

The CPUs this process may run on (`os.sched_getaffinity`: a container's or `taskset`'s limit, not the host's
count), lowered by `OMP_NUM_THREADS` when it is set to a positive integer. That variable is how a process says
"parallel workers run beside me": Spark sets it in every Python worker to `spark.task.cpus` (1 by default; Spark
3.5+, SPARK-42613, unless `spark.executorEnv.OMP_NUM_THREADS` is set), so a worker scoring one of several
concurrent tasks predicts and explains on one thread instead of each worker taking every core. A user's value
wins everywhere (`OMP_NUM_THREADS=1 cvp score ...`).

LightGBM is given the count explicitly (`booster.predict(..., num_threads=prediction_threads())`): its default
is OpenMP's, which the model's training `n_jobs` does not fix but which is easy to change by accident (a library
that calls `omp_set_num_threads`), and the explainer's Python threads follow the same count. The number of
threads never changes a prediction: each row's trees are summed in the same order on whichever thread runs it
(tested in `tests/models/test_threads.py`).
"""

from __future__ import annotations

import os

__all__ = ["prediction_threads"]


def _omp_limit() -> int | None:
    raw = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()  # "4,2" = nested levels: the outer one
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value > 0 else None


def prediction_threads() -> int:
    """Threads for LightGBM's predict and the TreeSHAP explainer: the affinity's CPUs, at most `OMP_NUM_THREADS`."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this platform (macOS, Windows)
        cpus = os.cpu_count() or 1
    limit = _omp_limit()
    if limit is not None:
        cpus = min(cpus, limit)
    return max(1, cpus)
