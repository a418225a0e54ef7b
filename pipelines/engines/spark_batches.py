"""The scores stage's functions of one batch of the Spark engine (`pipelines.engines.spark_engine`, stage 3):
`score_batch` (the `mapInPandas` body: predictions, contributions, reasons), `bridge_columns` (the history's
previous model's contributions, issue 15), `batch_counts` (the batch's drift counts, on its first row:
`DRIFT`), and `score_schema`, the stage's schema read off `score_batch` on the driver.

Worker-side and pure: everything they need arrives as arguments (the bundle and settings broadcast).
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.as_trained import data_view
from models.bundle import CustomerValueModel
from pipelines.config import AppConfig
from pipelines.engines.drift import DriftAccumulator
from pipelines.engines.scoring import score_features, spot_check_rows
from pipelines.engines.spark_features import restore_features
from pipelines.engines.spark_parts import (
    BRIDGE_CHURN_PREFIX,
    BRIDGE_PREFIX,
    CHURN_PREFIX,
    CONTRIB_PREFIX,
    CONTRIB_PREFIXES,
)
from pipelines.engines.spark_session import arrow_safe as _arrow_safe
from pipelines.engines.spill import reason_columns

#: Scores-stage column: the batch's drift counts and unseen categories of its scored customers' features
#: (`batch_counts`), on its first row; the driver sums them (no separate pass over the features, no job).
DRIFT = "__drift"


def score_batch(
    batch: pd.DataFrame, bundle: CustomerValueModel, cfg: AppConfig, spot_ids: pd.Index | None = None
) -> pd.DataFrame:
    """Scores of one features-stage batch (the mapInPandas body).

    in:  the features stage's columns. out: customer_id, bucket, eligible, spot_checked (rows of this batch
    checked against LightGBM, on its first row, else 0), `score_features`' compact columns
    (predictions, reasons, carried features), then the value contributions as `contrib:<feature>` and
    `contrib:_base` (currency). Row order as given.
    """
    feats = restore_features(batch, bundle)
    # the customers spot-checked: by id, the pandas engine's rule (`scoring.spot_check_ids`), scored ones only
    spot = spot_check_rows(feats.index, spot_ids, batch["eligible"].to_numpy(dtype=bool))
    res = score_features(feats, bundle, cfg, check_rows=spot)
    # The spot-check count rides on the batch's first row so the driver can sum it over batches.
    checked = np.zeros(len(feats), dtype=np.int64)
    checked[:1] = res.spot_checked_rows
    head = pd.DataFrame(
        {
            "customer_id": feats.index.to_numpy(),
            "bucket": batch["bucket"].to_numpy(dtype=np.int32),
            "eligible": batch["eligible"].to_numpy(dtype=bool),
            "spot_checked": checked,
        }
    )
    compact = res.scores.reset_index(drop=True)
    contrib = res.value_contrib.reset_index(drop=True).add_prefix(CONTRIB_PREFIX)
    churn = res.churn_contrib.reset_index(drop=True).add_prefix(CHURN_PREFIX)
    return _arrow_safe(pd.concat([head, compact, contrib, churn], axis=1))


def bridge_columns(
    batch: pd.DataFrame, bundle: CustomerValueModel, old: CustomerValueModel, old_extras: pd.DataFrame | None,
    drop: list[str], as_data: bool, cfg: AppConfig,
) -> pd.DataFrame:  # fmt: skip
    """The bridge's contributions of one features-stage batch (issue 15): its eligible customers explained by the
    history's previous model, `old` (with its own model inputs, `old_extras`; this model's, `drop`, left out), as
    `pandas_engine._Bridge.add` explains them (`as_data`: the features of all the data, `bridge_plan`); `bridge:`
    (currency) and `bridge_churn:` (probability points) columns, one row per batch row (empty for the others:
    `write_contribution_parts` writes the eligible)."""
    rows = batch[batch["eligible"].to_numpy(dtype=bool)]
    feats = restore_features(rows, bundle)
    feats = data_view(feats) if as_data else feats.drop(columns=drop)
    res = score_features(feats, old, cfg, check_rows=0, extras=old_extras)
    both = pd.concat(
        [res.value_contrib.add_prefix(BRIDGE_PREFIX), res.churn_contrib.add_prefix(BRIDGE_CHURN_PREFIX)],
        axis=1,
    )
    return both.reindex(batch["customer_id"].astype("str").to_numpy()).reset_index(drop=True)


def batch_counts(batch: pd.DataFrame, bundle: CustomerValueModel, reference: Mapping[str, Any]) -> np.ndarray:
    """The `DRIFT` column of one features-stage batch, pickled on the first row (None on the others, and for no
    row): of its eligible customers' features, the PSI bin counts ("drift": {key: (float64 counts as bytes, n)})
    and the values of the model's categorical features unseen in training ("unseen": feature -> value -> rows,
    `FeatureContract.grade`, the pandas engine's count: only values outside the model's categories travel)."""
    feats = restore_features(batch[batch["eligible"].to_numpy(dtype=bool)], bundle)
    acc = DriftAccumulator(reference)
    acc.add(feats, "features")
    drift = {k: (np.asarray(acc.counts[k], dtype=np.float64).tobytes(), int(acc.n[k])) for k in acc.counts}
    payload = {"drift": drift, "unseen": bundle.contract_.grade(feats)[1]}
    out = np.full(len(batch), None, dtype=object)
    if len(batch):
        out[0] = pickle.dumps(payload)
    return out


def score_schema(
    bundle: CustomerValueModel, cfg: AppConfig, sample: pd.DataFrame, spill: bool = False
) -> tuple[str, bool, list[str]]:
    """DDL schema of the scores stage (without the contributions, written by the executors; with `spill`, without
    the reason columns, written by the executors too), whether the model has contributions, and the reason
    columns, read off `score_batch` run on a few rows on the driver.

    Running the real function (rather than restating its columns) keeps the schema in step with
    `score_features` when reasons or carried columns change.
    """
    out = score_batch(sample, bundle, cfg)
    compact = [c for c in out.columns if not c.startswith(CONTRIB_PREFIXES)]
    has_contrib = any(c.startswith(CONTRIB_PREFIX) for c in out.columns)
    reasons = reason_columns(compact)
    if spill:
        compact = [c for c in compact if c not in reasons]
    out = out[compact]
    cols = []
    for name, dtype in out.dtypes.items():
        if name == "bucket":
            kind = "int"
        elif pd.api.types.is_bool_dtype(dtype):
            kind = "boolean"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "double"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "bigint"
        else:
            kind = "string"
        cols.append(f"`{name}` {kind}")
    return ", ".join(cols), has_contrib, reasons
