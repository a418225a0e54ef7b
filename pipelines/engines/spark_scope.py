"""One Spark session for a whole Spark scoring run (issue 11, step 2).

The Spark load keeps the validated rows persisted in its session (`spark_input.SparkTables.accepted`) for the
scoring backend; a session started by the load alone would stop, and drop them, before the backend runs. So
`run_score` runs inside `one_spark_session`: with `--engine spark` the job's first `spark_session` (the
load's) starts the session and keeps it for the whole job (the backend then finds it active and leaves it
running; it stops when the job ends, however it ends: `spark_session.session_for_the_job`). It starts only when
the load needs it: what the job refuses before reading the data (the model's as-of or currency, the outputs)
costs no JVM start (was: entered around the whole job, a wrong `--as-of` paid a JVM start before its exit 2).
pyspark is imported only when the engine is spark.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def one_spark_session(job: F) -> F:
    """`job` (whose parameters include `engine` and `spark_master`) inside one Spark session when engine is spark."""
    signature = inspect.signature(job)

    @functools.wraps(job)
    def run(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        if bound.arguments.get("engine") != "spark":
            return job(*args, **kwargs)
        from pipelines.engines.spark_session import session_for_the_job

        with session_for_the_job(bound.arguments.get("spark_master")):
            return job(*args, **kwargs)

    return run  # type: ignore[return-value]
