"""The LightGBM boosters shared by the value and churn models: parameters from the config, purged early-stopped
fitting (`fit_booster`: final and calibration boosters, each trimmed to its rounds) and an exact rescaling of a
booster's raw output (`scale_booster`).
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.config import ModelConfig
from models.purged import PurgedSlices


def lgbm_params(config: ModelConfig, part: str = "value") -> dict[str, object]:
    """Keyword arguments for LGBMRegressor/LGBMClassifier from the config ("value" or "churn" parameters)."""
    p = config.lightgbm if part == "value" else config.churn_lightgbm
    return {
        "n_estimators": p.n_estimators,
        "learning_rate": p.learning_rate,
        "num_leaves": p.num_leaves,
        "min_child_samples": p.min_child_samples,
        "subsample": p.subsample,
        "subsample_freq": p.subsample_freq,
        "colsample_bytree": p.colsample_bytree,
        "reg_lambda": p.reg_lambda,
        "random_state": p.seed,
        "n_jobs": p.n_jobs,
        "verbose": -1,
        "deterministic": True,
        "force_row_wise": True,
    }


def scale_booster(booster: lgb.Booster, factor: float) -> lgb.Booster:
    """A copy of the booster whose raw output is `factor` times the original's, exactly.

    Every leaf value (and internal value) is multiplied, so tree structure, covers and hence TreeSHAP paths
    are unchanged and contributions scale by the same factor (still additive).
    """
    lines = []
    for line in booster.model_to_string().splitlines():
        key, sep, rest = line.partition("=")
        if sep and key == "tree_sizes":
            continue  # byte sizes of the trees change; without them LightGBM parses the trees sequentially
        if sep and key in ("leaf_value", "internal_value") and rest.strip():
            # A one-leaf tree (no split) has an empty internal_value line: nothing to scale there.
            values = np.array(rest.split(), dtype=np.float64) * factor
            line = key + "=" + " ".join(repr(float(v)) for v in values)
        lines.append(line)
    return lgb.Booster(model_str="\n".join(lines) + "\n")


def _trimmed(estimator: lgb.LGBMModel, rounds: int) -> lgb.Booster:
    return lgb.Booster(model_str=estimator.booster_.model_to_string(num_iteration=rounds))


def fit_booster(
    estimator: lgb.LGBMModel,
    X: pd.DataFrame,
    y: np.ndarray,
    slices: PurgedSlices,
    config: ModelConfig,
    refit: bool,
) -> tuple[lgb.Booster, lgb.Booster | None]:
    """Fit with purged early stopping; return (final booster, calibration booster).

    1. Early stopping: fitted on `slices.es_fit`, watching `slices.es_valid` -> the number of rounds.
    2. Calibration booster: the same rounds fitted on `slices.cal_fit` (the early-stopped booster itself when
       the rows are the same); its predictions on `slices.cal_valid` are out of time by at least one horizon,
       like the final model's at scoring time. None when nothing is held out for calibration.
    3. Final booster: with `refit`, the same rounds on every row (the latest cutoffs are learned too);
       without, the calibration booster itself (so a calibrator fitted on its output describes it).
    Every booster is trimmed to its rounds, so TreeSHAP on it reproduces `predict` (no hidden
    `best_iteration`).
    """
    rounds = int(estimator.n_estimators)
    es_booster = None
    use_es = config.early_stopping_rounds is not None and slices.es_valid.any() and slices.es_fit.any()
    if use_es:
        fit_rows, watch = slices.es_fit, slices.es_valid
        estimator.fit(
            X[fit_rows],
            y[fit_rows],
            eval_X=(X[watch],),
            eval_y=(y[watch],),
            callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)],
        )
        rounds = max(int(estimator.best_iteration_ or estimator.n_estimators), 1)
        es_booster = _trimmed(estimator, rounds)
    estimator.set_params(n_estimators=rounds)
    held = None
    if slices.cal_valid.any() and slices.cal_fit.any():
        if es_booster is not None and np.array_equal(slices.cal_fit, slices.es_fit):
            held = es_booster
        else:
            estimator.fit(X[slices.cal_fit], y[slices.cal_fit])
            held = _trimmed(estimator, rounds)
    if held is not None and not refit:
        return held, held
    estimator.fit(X, y)
    return _trimmed(estimator, rounds), held
