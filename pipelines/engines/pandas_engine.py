"""The pandas scoring backend: chunk after chunk in this process (`cvp score --engine pandas`, the default).

Each chunk (`pipelines.engines.chunks`) is built, scored and explained, its drift counts added and its value
contributions appended to the contributions file; only the compact per-customer scores stay in memory until
`run_score` finishes the whole base (tiers and ratings rank every customer at once).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.population import SCORED
from models.bundle import CustomerValueModel
from pipelines.config import AppConfig
from pipelines.engines.chunks import iterate_chunks
from pipelines.engines.drift import DriftAccumulator
from pipelines.engines.scoring import EngineRun, merge_counts, model_extras, score_features
from pipelines.outputs import ContributionsWriter, churn_contributions_path


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
) -> EngineRun:
    """Score every `scored` customer of `status` (`features.population.customer_status`) chunk by chunk.

    Adds the drift counts of the scored rows to `drift`. Writes value contributions to `contrib_path` chunk by
    chunk (with a `run_id` column after customer_id when `run_id` is given); `progress(k, n, rows)` after each.
    """
    compact_parts: list[pd.DataFrame] = []
    writer: pq.ParquetWriter | None = None
    timings = {"features_s": 0.0, "score_explain_s": 0.0}
    checked = 0
    unseen: dict[str, dict[str, int]] = {}
    ignored: set[str] = set()
    extras, notes = model_extras(tables, as_of, bundle)
    is_scored = status.set_index("customer_id")["status"] == SCORED
    # issue 15: churn contributions (probability points) beside the value contributions, same rows
    churn = (
        None if contrib_path is None else ContributionsWriter(churn_contributions_path(contrib_path), run_id)
    )
    try:
        t0 = time.perf_counter()
        for k, n_chunks, feats in iterate_chunks(tables, as_of, cfg, chunk_customers):
            timings["features_s"] += time.perf_counter() - t0
            t1 = time.perf_counter()
            mask = is_scored.reindex(feats.index.astype("str"), fill_value=False).to_numpy(dtype=bool)
            carried = [c for c in cfg.carried_features() if c in feats.columns]
            if not mask.all():  # not scored: only the carried feature values, no prediction
                compact_parts.append(feats.loc[~mask, carried])
            feats = feats[mask]
            if not len(feats):
                t0 = time.perf_counter()
                continue
            # The run spot-checks `explain.check_rows` rows per model in all, spread over the chunks left.
            share = -(-max(cfg.explain.check_rows - checked, 0) // (n_chunks - k))
            res = score_features(feats, bundle, cfg, check_rows=share, extras=extras)
            timings["score_explain_s"] += time.perf_counter() - t1
            checked += res.spot_checked_rows
            merge_counts(unseen, res.unseen_categories)
            ignored.update(res.ignored_columns)
            drift.add(res.features, "features")
            drift.add(res.scores, "predictions")
            compact_parts.append(res.scores)
            if contrib_path is not None and len(res.value_contrib.columns):
                frame = res.value_contrib.rename_axis("customer_id").reset_index()
                if run_id is not None:
                    frame.insert(1, "run_id", run_id)
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    # Dictionary pages only for the ids: tried on every float column they cost most of the write
                    # (a contribution rarely repeats) and the file comes out larger, not smaller.
                    ids = [c for c in ("customer_id", "run_id") if c in table.column_names]
                    writer = pq.ParquetWriter(contrib_path, table.schema, use_dictionary=ids)
                writer.write_table(table)
            if churn is not None:
                churn.add(res.churn_contrib)
            if progress is not None:
                progress(k + 1, n_chunks, len(feats))
            t0 = time.perf_counter()
    finally:
        if writer is not None:
            writer.close()
        if churn is not None:
            churn.close()
    info = {
        "notes": notes,
        "unseen_categories": {c: dict(sorted(v.items())) for c, v in sorted(unseen.items())},
        "ignored_columns": sorted(ignored),
    }
    if churn is not None and churn.rows:  # declared in the manifest (issue 15)
        info["churn_contributions"] = {"file": churn.path.name, "unit": "probability", "rows": churn.rows}
    return EngineRun(compact_parts, timings, checked, info)
