"""The customer base and one engine's pass over it: what `pipelines.engines.run.run_score` hands a backend.

`customer_base`: every known customer's status (and, for the pandas engine, the shared customer index and the
chunks being built meanwhile). `score_tables`: one backend (`backend`: pandas, or Spark imported only when asked
for) scores the base, then the whole-base finish (`finish_scores`) ranks every customer; drift, timings and what
the backend adds come back beside the scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from features import feature_registry
from features.as_trained import AsTrained
from features.population import customer_status
from features.validation import StructuralError
from models.bundle import CustomerValueModel
from pipelines.cli_options import check_engine
from pipelines.config import AppConfig
from pipelines.engines.chunks import SharedCustomerIndex
from pipelines.engines.drift import DriftAccumulator, leave_out_trending
from pipelines.engines.scoring import EngineRun, customer_managers, finish_scores
from pipelines.engines.spill import ReasonSpill


class Backend(Protocol):
    """A scoring engine: the compact scores of every `scored` customer of `status`, drift counts into `drift`,
    value contributions into `contrib_path` (with `run_id`); see `EngineRun`."""

    def __call__(
        self,
        tables: Mapping[str, pd.DataFrame],
        as_of: pd.Timestamp,
        bundle: CustomerValueModel,
        cfg: AppConfig,
        chunk_customers: int,
        status: pd.DataFrame,
        drift: DriftAccumulator,
        contrib_path: Path | None = None,
        run_id: str | None = None,
        progress: Any = None,
    ) -> EngineRun: ...


def backend(engine: str, spark_master: str | None = None) -> Backend:
    """The backend of `--engine`; the Spark module is imported here, only when it is asked for."""
    check_engine(engine)
    if engine == "spark":
        import functools

        from pipelines.engines.spark_engine import score_spark

        return functools.partial(score_spark, spark_master=spark_master)
    from pipelines.engines.pandas_engine import score_pandas

    return score_pandas


@dataclass
class CustomerBase:
    """Every known customer's status (`features.population.customer_status`) and, for the pandas engine, the
    `SharedCustomerIndex` it was computed with (the chunk plan indexes the same id columns: one index serves both)
    and, when a chunk size is given, the chunks (`pipelines.engines.chunks.prefetched`), the plan and the first
    chunk already being built on their background thread while the statuses are computed and the run prepared
    (issue 14). `close` stops that builder (the run stopped before its chunk loop)."""

    shared: SharedCustomerIndex | None
    status: pd.DataFrame
    seconds: float
    chunks: Any = None

    def close(self) -> None:
        if self.chunks is not None:
            self.chunks.close()


def customer_base(
    engine: str,
    tables: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    cfg: AppConfig,
    chunk_customers: int | None = None,
    as_trained: AsTrained | None = None,
) -> CustomerBase:
    """The statuses of the tables' customers (and the pandas engine's index and chunks: `CustomerBase`)."""
    from pipelines.engines.chunks import iterate_chunks, prefetched, status_input

    t0 = time.perf_counter()
    shared = SharedCustomerIndex(tables) if engine == "pandas" else None
    index = None if shared is None else shared.index  # the chunk plan takes it from `shared`, maybe meanwhile
    chunks = None
    if shared is not None and chunk_customers is not None:
        chunks = prefetched(iterate_chunks(tables, as_of, cfg, chunk_customers, shared, as_trained))
    try:
        status = customer_status(status_input(tables, as_of), as_of, cfg.labels, index=index)
    except BaseException:
        if chunks is not None:
            chunks.close()
        raise
    return CustomerBase(shared, status, time.perf_counter() - t0, chunks)


def score_tables(
    engine: str,
    tables: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    bundle: CustomerValueModel,
    model_version: str,
    cfg: AppConfig,
    chunk_customers: int,
    contrib_path: Path | None = None,
    spark_master: str | None = None,
    run_id: str | None = None,
    progress: Any = None,
    bridge: Any = None,
    spill_dir: Path | None = None,
    profile_inputs: Any = None,
    base: CustomerBase | None = None,
    after_chunks: Callable[[], None] | None = None,
    as_trained: AsTrained | None = None,
    release: Callable[[], None] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any], ReasonSpill | None]:
    """Score every customer known in the tables with one engine: (scores, info, spill) whatever the engine.

    scores: one row per known customer, sorted by customer_id (`finish_scores`); info: drift (time-trending
    features left out, `pipelines.engines.drift`), timings, rows spot-checked, and what the backend adds.
    Writes only the contributions files (`contrib_path`; with `bridge`, a
    `pipelines.engines.pandas_engine.BridgeModel`, the previous run's model's too: pandas engine only);
    `run_score` writes the rest of the output set. With `spill_dir` the reason columns are left on disk (Spark:
    written there by the executors): scores come without them and `spill` is the `ReasonSpill` that gives them
    back; otherwise the scores keep them and `spill` is None. `profile_inputs` (issue 12) receives every
    chunk's feature table (Spark: every bucket's inputs, computed on the executors). `base`: the tables'
    `customer_base` when the caller built it already. `after_chunks()` is called when the backend has scored
    every chunk, before the whole-base finish. `as_trained`: the model's features built as trained (`features.as_trained`).
    `release()` lets go of the tables (issue 11: the Spark driver's, before it collects the compact scores): the
    finish then reads none of them (the managers are taken from them first, `customer_managers`); the Spark
    backend calls it once it reads them no more, other backends when they return.
    """
    base = base or customer_base(engine, tables, as_of, cfg)
    shared, status, status_s = base.shared, base.status, base.seconds
    if status.empty:
        raise StructuralError(f"no customer is known in the data as of {as_of.date()}: nothing to score")
    reference, left_out = leave_out_trending(bundle.drift_reference_, feature_registry(cfg.features))
    drift = DriftAccumulator(reference, left_out)
    # issue 15: the old model too, only when the model changed (nothing more runs otherwise)
    more: dict[str, Any] = {} if bridge is None else {"bridge": bridge}
    if spill_dir is not None:  # both engines (Spark: the executors write the parts, issue 11)
        more["spill_dir"] = spill_dir
    if profile_inputs is not None:  # issue 12: the profile's inputs, chunk (or Spark bucket) by chunk
        more["profile_inputs"] = profile_inputs
    if shared is not None:  # taken by the chunk plan, which frees it before the first chunk
        more["customer_index"] = shared
    if base.chunks is not None:  # being built already (issue 14)
        more["chunks"] = base.chunks
    if as_trained:  # inputs the model was trained without: its features built without them
        more["as_trained"] = as_trained
    managers = None
    if release is not None:  # the finish's one read of the tables, done before they go
        managers = customer_managers(tables, pd.Index(status["customer_id"], name="customer_id"))
        if engine == "spark":
            more["release"] = release
    run = backend(engine, spark_master)(
        tables, as_of, bundle, cfg, chunk_customers, status, drift, contrib_path, run_id, progress, **more
    )
    if (
        release is not None and "release" not in more
    ):  # a backend not given it: its tables let go once it returns
        release()
    if after_chunks is not None:
        after_chunks()
    t0 = time.perf_counter()
    scores = finish_scores(run.compact, tables, as_of, model_version, bundle, cfg, status, managers)
    timings = run.timings | {"status_s": status_s, "tiers_s": time.perf_counter() - t0}
    info = {
        "drift": drift.report(cfg.scoring.psi_threshold),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "explanations_spot_checked_rows": run.checked,
        # customers ordering again after their churned_at: scored as win-backs (`features.population.came_back`)
        "came_back_after_cancelling": int(status.attrs.get("came_back", 0)),
        **run.info,
    }
    return scores, info, run.spill
