"""Conformalized quantile regression (CQR) for the value interval (`models.interval_residuals: quantile`, off).

Each customer's P10 / P90 come from two LightGBM quantile boosters on the customer's own features (the season
columns, tenure, recency), not from a table per prediction bin, then move by finite-sample offsets measured on the
calibration slice (`models.conformal.quantile_offsets`, asymmetric, relative to the predicted width). The
calibration boosters are fitted on `cal_fit` and predict the calibration slice (out of time by one horizon); the
two that score are fitted on every row. Measured in docs/model-quality.md ("Why coverage moves from fold to fold"): new
customers' coverage near 0.80, the aggregate not better, so it is not the default.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.conformal import quantile_bounds, quantile_offsets
from models.threads import prediction_threads


def fit_cqr(
    Xt: pd.DataFrame,
    y: np.ndarray,
    fit_rows: np.ndarray,
    cal_rows: np.ndarray,
    params: dict[str, object],
    quantiles: tuple[float, float],
) -> tuple[dict[str, lgb.Booster], float, np.ndarray]:
    """(boosters {"low", "high"} fitted on every row, width floor, offsets [[low, high]]) of CQR; `params` are the
    value boosters' LightGBM settings with their number of rounds."""
    lo_q, hi_q = quantiles
    boosters: dict[str, lgb.Booster] = {}
    cal: dict[str, np.ndarray] = {}
    for name, alpha in (("low", lo_q), ("high", hi_q)):
        p = {**params, "objective": "quantile", "alpha": alpha}
        held = lgb.LGBMRegressor(**p).fit(Xt[fit_rows], y[fit_rows])
        cal[name] = np.asarray(held.predict(Xt[cal_rows]), dtype=np.float64)
        boosters[name] = lgb.LGBMRegressor(**p).fit(Xt, y).booster_
    floor, offsets = quantile_offsets(y[cal_rows], cal["low"], cal["high"], lo_q, hi_q)
    return boosters, floor, offsets


def cqr_bounds(
    boosters: dict[str, lgb.Booster], Xt: pd.DataFrame, offsets: np.ndarray, floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of the rows `Xt` (in the feature contract's columns)."""
    t = prediction_threads()
    q_lo, q_hi = (
        np.asarray(boosters[k].predict(Xt, num_threads=t), dtype=np.float64) for k in ("low", "high")
    )
    return quantile_bounds(q_lo, q_hi, offsets, floor)
