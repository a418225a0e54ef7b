"""The pandas scoring backend: chunk after chunk in this process (`cvp score --engine pandas`, the default).

Each chunk (`pipelines.engines.chunks`) is built, scored and explained, its drift counts added and its value
contributions appended to the contributions file. The next chunk's tables and features are built on one
background thread while the current one is scored (`chunks.prefetched`; LightGBM and the TreeSHAP kernels
release the GIL), so the second core has work outside the threaded predict and explain (issue 14). What a scored
batch leaves on disk (spilled reasons and compact scores, contributions) is written on one more background thread,
in order, at most one batch behind, while the next batch is scored (`pipelines.engines.behind.Behind`: the bytes of
the serial loop). The compact per-customer scores wait for `run_score` to finish
the whole base (tiers and ratings rank every customer at once): with a spill directory on disk, chunk by chunk
(`pipelines.engines.spill.ScoreParts`, read back at the end of the loop), otherwise in memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from features.as_trained import AsTrained, carried_values, data_view
from features.id_sets import IdSet
from features.validation import isin_ids
from models.bundle import CustomerValueModel
from models.explain import release_explainers
from pipelines.config import AppConfig
from pipelines.engines.behind import Behind
from pipelines.engines.chunks import SharedCustomerIndex, iterate_chunks, prefetched
from pipelines.engines.drift import DriftAccumulator
from pipelines.engines.scoring import (
    ContractMismatch,
    EngineRun,
    merge_counts,
    model_extras,
    score_features,
    scored_customer_ids,
    spot_check_ids,
    spot_check_rows,
)
from pipelines.engines.spill import ReasonSpill, ScoreParts, reason_columns
from pipelines.io import release_memory
from pipelines.outputs import ContributionsWriter, bridge_contributions_path, churn_contributions_path

#: Rows of a chunk scored and explained at once. A chunk's features are built for `scoring.chunk_customers`
#: customers, then scored in batches of this many rows: the model matrices, the three contribution frames (value,
#: churn log-odds, churn points) and the reason arrays of a batch are alive together, hundreds of bytes per row
#: and feature, so a whole 100,000-row chunk at once made the run's peak (issue 14: at 1M, the contributions
#: write). Every row is scored, explained and worded on its own: the batches change no output.
SCORE_BATCH_ROWS = 25_000


@dataclass(frozen=True)
class BridgeModel:
    """The model of the history's previous run, when it is not this run's (issue 15): each chunk is explained
    with it too, and its value and churn contributions on this run's data are the run's bridge (the data/model
    split of `models.transitions`)."""

    bundle: CustomerValueModel
    version: str
    #: it reads the features of all the data (`features.as_trained.bridge_view` "data"), not this run's model's
    as_data: bool = False


class _Bridge:
    """The bridge files of a run being written, chunk by chunk; `drop` removes them and keeps the reason."""

    def __init__(
        self,
        model: BridgeModel,
        tables: Mapping[str, pd.DataFrame],
        as_of: pd.Timestamp,
        contrib_path: Path,
        run_id: str | None,
    ) -> None:
        self.model = model
        self.extras, _ = model_extras(tables, as_of, model.bundle)
        self.value = ContributionsWriter(bridge_contributions_path(contrib_path, "value"), run_id)
        self.churn = ContributionsWriter(bridge_contributions_path(contrib_path, "churn"), run_id)
        self.note: str | None = None
        self.seconds = 0.0

    def add(self, feats: pd.DataFrame, cfg: AppConfig) -> None:
        t0 = time.perf_counter()
        try:
            feats = data_view(feats) if self.model.as_data else feats  # as it was trained (`bridge_view`)
            res = score_features(feats, self.model.bundle, cfg, check_rows=0, extras=self.extras)
        except ContractMismatch as exc:
            self.drop(
                f"the previous run's model v{self.model.version} does not accept the features built for this "
                f"run ({str(exc).splitlines()[-1].strip(' -')})"
            )
            return
        self.value.add(res.value_contrib)
        self.churn.add(res.churn_contrib)
        self.seconds += time.perf_counter() - t0

    def drop(self, note: str) -> None:
        self.note = note
        self.close()
        for writer in (self.value, self.churn):
            writer.path.unlink(missing_ok=True)

    def close(self) -> None:
        self.value.close()
        self.churn.close()

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"old_model_version": self.model.version}
        if self.note is not None:
            return out | {"note": self.note}
        return out | {
            "files": {"value": self.value.path.name, "churn": self.churn.path.name},
            "unit": {"value": "currency", "churn": "probability"},
            "rows": {"value": self.value.rows, "churn": self.churn.rows},
        }


def score_pandas(
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
    bridge: BridgeModel | None = None,
    spill_dir: Path | None = None,
    profile_inputs: Any = None,
    customer_index: SharedCustomerIndex | None = None,
    chunks: Iterator[tuple[int, int, pd.DataFrame]] | None = None,
    as_trained: AsTrained | None = None,
) -> EngineRun:
    """Score every `scored` customer of `status` (`features.population.customer_status`) chunk by chunk.

    Adds the drift counts of the scored rows to `drift`. Writes value contributions to `contrib_path` chunk by
    chunk (with a `run_id` column after customer_id when `run_id` is given); `progress(k, n, rows)` after each.
    With `bridge` (the previous run's model, when it differs), each chunk is explained with that model too and
    its contributions written beside (`pipelines.outputs.bridge_contributions_path`); without it nothing more runs.
    With `spill_dir`, each chunk's reason columns are written there (`pipelines.engines.spill.ReasonSpill`, handed
    back as `EngineRun.spill`) instead of kept in the compact scores, and the compact scores themselves wait there
    (`ScoreParts`) until the last chunk is done. With `profile_inputs` (issue 12,
    `pipelines.profile_inputs.ProfileInputsWriter`), every chunk's feature table is handed to it before the
    unscored customers are set aside. With `customer_index` (the index `status` was computed with), the chunk
    plan takes it instead of factorizing every id column again. `chunks`: those chunks, already being built
    (`pipelines.engines.score_base.customer_base`, issue 14), closed here when the loop ends. `as_trained`: the model's
    features built as trained (`features.as_trained`; `chunks.iterate_chunks`).
    """
    # With a spill directory the compact scores go to disk chunk by chunk too: nothing the chunk loop holds grows
    # with the number of customers (issue 14); they are read back for the whole-base finish.
    compact_parts: list[pd.DataFrame] | ScoreParts = [] if spill_dir is None else ScoreParts(spill_dir)
    timings = {"features_s": 0.0, "score_explain_s": 0.0}
    checked = 0
    unseen: dict[str, dict[str, int]] = {}
    ignored: set[str] = set()
    extras, notes = model_extras(tables, as_of, bundle)
    # prepared once for every chunk's lookup (issue 14: packed again per chunk, 1 CPU-s at 1M)
    scored = scored_customer_ids(status)
    scored_ids = IdSet(scored)
    spot_ids = spot_check_ids(scored, cfg.explain.check_rows)  # which customers are spot-checked: by id
    value = None if contrib_path is None else ContributionsWriter(contrib_path, run_id)
    # issue 15: churn contributions (probability points) beside the value contributions, same rows
    churn = (
        None if contrib_path is None else ContributionsWriter(churn_contributions_path(contrib_path), run_id)
    )
    spill = None if spill_dir is None else ReasonSpill(spill_dir)
    bridged = None
    if bridge is not None and contrib_path is not None:
        bridged = _Bridge(bridge, tables, as_of, contrib_path, run_id)
    # issue 14: chunk k+1's tables and features are built on one background thread while chunk k is scored (with
    # the profile inputs built there too the 1M peak was 3,939 MB against 3,877 MB: they stay on this thread)
    if chunks is None:
        chunks = prefetched(iterate_chunks(tables, as_of, cfg, chunk_customers, customer_index, as_trained))
    # issue 14, twentieth part: what a scored batch leaves on disk (its spilled reasons and compact scores, its
    # contributions) is written on one background thread, in order, while the next batch is explained. Bounded:
    # the step holds the batch's scores and contribution frames only (its features are let go here, after their
    # drift counts; the chunk's profile inputs stay on this thread: kept behind, they held a whole chunk's
    # features and broke the memory bar, nineteenth part), and at most one batch is behind (`Behind.submit`
    # waits for the step before)
    behind = Behind()

    def after_batch(scores: pd.DataFrame, value_contrib: Any, churn_contrib: Any) -> None:
        if spill is None:
            compact_parts.append(scores)
        else:  # the sentences go to disk: memory stays flat in the number of customers (issue 14)
            spilled = reason_columns(scores.columns)
            spill.add(scores[spilled])
            compact_parts.append(scores.drop(columns=spilled))
        if value is not None:
            value.add(value_contrib)
        if churn is not None:
            churn.add(churn_contrib)

    try:
        t0 = time.perf_counter()
        for k, n_chunks, feats in chunks:
            timings["features_s"] += time.perf_counter() - t0
            t1 = time.perf_counter()
            if profile_inputs is not None:  # issue 12: the profile's inputs, every customer of the chunk
                profile_inputs.add(data_view(feats))  # a report: the features of all the data
            mask = isin_ids(feats.index, scored_ids)
            if not mask.all():  # not scored: only the carried feature values (all the data's), no prediction
                behind.submit(compact_parts.append, carried_values(feats.loc[~mask], cfg.carried_features()))
            feats = feats[mask]
            if not len(feats):
                t0 = time.perf_counter()
                continue
            # The run spot-checks `explain.check_rows` customers per model in all, chosen by id as the Spark
            # engine chooses them (`spot_check_ids`), whatever the chunks and batches.
            n_batches = -(-len(feats) // SCORE_BATCH_ROWS)
            for b in range(n_batches):
                part = feats.iloc[b * SCORE_BATCH_ROWS : (b + 1) * SCORE_BATCH_ROWS]
                spot = spot_check_rows(part.index, spot_ids)
                res = score_features(part, bundle, cfg, check_rows=spot, extras=extras)
                checked += res.spot_checked_rows
                merge_counts(unseen, res.unseen_categories)
                ignored.update(res.ignored_columns)
                drift.add(res.features, "features")
                drift.add(res.scores, "predictions")
                behind.submit(after_batch, res.scores, res.value_contrib, res.churn_contrib)
                if bridged is not None and bridged.note is None:
                    bridged.add(part, cfg)
                del res, part
            timings["score_explain_s"] += time.perf_counter() - t1
            if progress is not None:
                progress(k + 1, n_chunks, len(feats))
            del feats
            release_memory()  # the chunk's garbage, while the next chunk is built (issue 14)
            t0 = time.perf_counter()
        behind.close()  # the last batch's steps done (their error raised here)
    finally:
        # stopped by an error: the step running is waited for, the error raised is the loop's
        behind.close(quiet=True)
        chunks.close()  # a chunk being built is waited for, so no thread outlives the run
        release_explainers()  # the explainers' tables are not needed by the whole-base finish (issue 14)
        if value is not None:
            value.close()
        if churn is not None:
            churn.close()
        if bridged is not None:
            bridged.close()
    info = {
        "notes": notes,
        "unseen_categories": {c: dict(sorted(v.items())) for c, v in sorted(unseen.items())},
        "ignored_columns": sorted(ignored),
    }
    if churn is not None and churn.rows:  # declared in the manifest (issue 15)
        info["churn_contributions"] = {"file": churn.path.name, "unit": "probability", "rows": churn.rows}
    if bridged is not None:  # issue 15: the data/model split's bridge, declared in the manifest
        info["bridge"] = bridged.info()
        timings["bridge_s"] = bridged.seconds
    compact = compact_parts.frames() if isinstance(compact_parts, ScoreParts) else compact_parts
    return EngineRun(compact, timings, checked, info, spill)
