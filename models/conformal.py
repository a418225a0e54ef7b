"""Split-conformal interval pieces of the future-value model (`models.value.FutureValueModel`).

Pure numpy on calibration residuals: finite-sample order statistics, the per-bin (Mondrian) table of offsets, the
customer-age segments, the "bought nothing" score of `interval_residuals: relative_zero` (the upper bound's of the
default `relative_zero_upper`) and the offsets of conformalized quantile regression (`quantile`). The model decides which
residuals to pass; these functions only turn residuals into offsets and offsets back into bounds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.config import ModelConfig


def conformal_offsets(resid: np.ndarray, low_q: float, high_q: float) -> tuple[float, float, bool]:
    """Finite-sample split-conformal (low, high) offsets of residuals y - pred, and whether they were capped.

    With n residuals sorted r_(1) <= ... <= r_(n): high = r_(ceil((n + 1) * high_q)) and low =
    r_(floor((n + 1) * low_q)), i.e. quantile levels ceil((n+1)q)/n, so that under exchangeability a new
    residual falls in [low, high] with probability >= high_q - low_q. When n is too small for an order
    statistic to exist (rank 0 or n + 1) the extreme residual is used and `capped` is True.
    """
    r = np.sort(np.asarray(resid, dtype=np.float64))
    n = len(r)
    k_hi = int(np.ceil((n + 1) * high_q - 1e-9))
    k_lo = int(np.floor((n + 1) * low_q + 1e-9))
    capped = k_hi > n or k_lo < 1
    return float(r[max(k_lo, 1) - 1]), float(r[min(k_hi, n) - 1]), capped


def conformal_table(
    pred: np.ndarray, resid: np.ndarray, cfg: ModelConfig, resid_high: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """(edges, offsets, capped): finite-sample conformal (low, high) offsets per bin of the prediction (Mondrian;
    `interval_bins` bins of equal count, at least 100 residuals each), and how many bins were capped. With
    `resid_high` the high offsets are that score's (each side's guarantee holds for its own monotone score)."""
    n_bins = max(1, min(cfg.interval_bins, len(resid) // 100))
    edges = np.unique(np.quantile(pred, np.linspace(0, 1, n_bins + 1)[1:-1])) if n_bins > 1 else np.array([])
    bins = np.searchsorted(edges, pred, side="right")
    lo_q, hi_q = cfg.interval_quantiles
    offsets = np.zeros((len(edges) + 1, 2))
    capped = 0
    upper = resid if resid_high is None else resid_high
    for b in range(len(edges) + 1):
        part = bins == b if (bins == b).any() else np.ones(len(resid), dtype=bool)
        low, high, cap = conformal_offsets(resid[part], lo_q, hi_q)
        if resid_high is not None:
            _, high, cap_high = conformal_offsets(upper[part], lo_q, hi_q)
            cap = cap or cap_high
        offsets[b] = (low, high)
        capped += int(cap)
    return edges, offsets, capped


#: The feature that tells new customers from established ones for the interval (Mondrian by customer age).
TENURE = "tenure_days"


def is_new(X: pd.DataFrame, days: int | None) -> np.ndarray:
    """Customers younger than `days` (a missing tenure counts as new: no first order or signup known)."""
    tenure = pd.to_numeric(X[TENURE], errors="coerce").to_numpy(dtype=np.float64)
    return ~(tenure >= days)


def interval_residuals(config: ModelConfig) -> str:
    # A champion pickled before relative intervals existed is refitted with the interval it was fitted with.
    return getattr(config, "interval_residuals", "absolute")


def zero_atom_score(actual: np.ndarray, pred: np.ndarray, floor: float) -> np.ndarray:
    """Relative conformal score with "bought nothing" at -1 for every positive prediction (`relative_zero`).

    `relative` divides y - pred by s = max(|pred|, floor), so below the floor an actual 0 scores -pred / floor: a
    different score for every prediction, and a bin whose calibration customers mostly bought nothing gets
    P10 = P90 = -(their prediction) / floor, which misses 0 as soon as the scored predictions sit a little lower
    (CDNOW, fold 1998-04: coverage 0.387). Here, for pred > 0: (y - pred) / s above the prediction, (y - pred) /
    pred between 0 and the prediction (0 -> -1), and -1 + y / s below 0; for pred <= 0, (y - pred) / s. Increasing
    in y for every prediction (so the conformal set is an interval) and equal to `relative` where pred >= floor.
    """
    s = np.maximum(np.abs(pred), floor)
    plain = (actual - pred) / s
    pos = pred > 0
    between = pos & (actual < pred) & (actual >= 0)
    below = pos & (actual < 0)
    out = plain.copy()
    out[between] = (actual[between] - pred[between]) / pred[between]
    out[below] = -1.0 + actual[below] / s[below]
    return out


def zero_atom_bound(pred: np.ndarray, offset: np.ndarray, floor: float) -> np.ndarray:
    """The actual value whose `zero_atom_score` is `offset` (per row): the interval bound."""
    s = np.maximum(np.abs(pred), floor)
    out = pred + s * offset
    pos = pred > 0
    mid = pos & (offset < 0) & (offset >= -1)
    low = pos & (offset < -1)
    out[mid] = pred[mid] * (1.0 + offset[mid])
    out[low] = (offset[low] + 1.0) * s[low]
    return out


def quantile_offsets(
    actual: np.ndarray, q_low: np.ndarray, q_high: np.ndarray, low_q: float, high_q: float
) -> tuple[float, np.ndarray]:
    """(floor, [[low, high]]): the finite-sample offsets of conformalized quantile regression, asymmetric.

    Scores relative to the predicted width w = max(q_high - q_low, floor), floor = the median width on the
    calibration rows: (y - q_low) / w for the lower bound and (y - q_high) / w for the upper one, each side's
    order statistic as in `conformal_offsets` (rank floor((n + 1) low_q), ceil((n + 1) high_q)), so that a new
    row falls below its lower bound with probability <= low_q and above its upper one with <= 1 - high_q.
    """
    width = np.asarray(q_high, dtype=np.float64) - np.asarray(q_low, dtype=np.float64)
    floor = max(float(np.median(np.maximum(width, 0.0))), 1e-9)
    w = np.maximum(width, floor)
    low, _, _ = conformal_offsets((actual - q_low) / w, low_q, high_q)
    _, high, _ = conformal_offsets((actual - q_high) / w, low_q, high_q)
    return floor, np.array([[low, high]])


def quantile_bounds(
    q_low: np.ndarray, q_high: np.ndarray, offsets: np.ndarray, floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """The (low, high) bounds of `quantile_offsets` for predicted quantiles (the inverse of its scores)."""
    w = np.maximum(q_high - q_low, floor)
    return q_low + w * offsets[0, 0], q_high + w * offsets[0, 1]
