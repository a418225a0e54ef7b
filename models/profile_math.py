"""Small numeric helpers of the ideal-customer profile (`models.profile`): ids taken by position when already in
order, the Wilson interval, Cramer's V and the univariate AUC and medians from sorted sides. Pure, numpy only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def same_ids(left: Any, right: Any) -> bool:
    """True when two id sequences (Index, Series or array) hold the same ids in the same order: one vectorised
    comparison, so a frame already in the order of the scores is taken as it is instead of hashed into it."""
    if left is right:
        return True
    if len(left) != len(right):
        return False
    import pyarrow as pa
    import pyarrow.compute as pc

    def arrow(ids: Any) -> Any:
        values = getattr(ids, "array", ids)
        if hasattr(values, "__arrow_array__"):
            return pa.array(values)
        return pa.array(np.asarray(values, dtype=object))

    try:
        equal = pc.equal(pc.cast(arrow(left), pa.large_string()), pc.cast(arrow(right), pa.large_string()))
    except (pa.ArrowException, TypeError, ValueError):
        return False
    return equal.null_count == 0 and bool(pc.all(equal).as_py())


def align(frame: pd.DataFrame | pd.Series, ids: pd.Index) -> pd.DataFrame | pd.Series:
    """`frame.reindex(ids)` (rows of ids not in `frame`: missing), without hashing when already in that order."""
    if same_ids(frame.index, ids):
        return frame.set_axis(ids)
    return frame.reindex(ids)


def _z(confidence: float) -> float:
    # The standard library's normal quantile: importing scipy.stats for one number cost `cvp profile` seconds.
    from statistics import NormalDist

    return float(NormalDist().inv_cdf(0.5 + confidence / 2.0))


def wilson_interval(successes: np.ndarray, n: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial share per row (NaN where n = 0)."""
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    z = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1.0 + z * z / n
        centre = (p + z * z / (2.0 * n)) / denom
        half = z * np.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def cramers_v(table: np.ndarray) -> float:
    """Cramer's V of a values x (not great, great) contingency table; NaN when undefined."""
    table = np.asarray(table, dtype=np.float64)
    table = table[table.sum(axis=1) > 0]
    n = table.sum()
    if n == 0 or table.shape[0] < 2 or (table.sum(axis=0) == 0).any():
        return float("nan")
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


def auc_sorted(great: np.ndarray, rest: np.ndarray) -> float:
    """P(a great value > a rest value) (ties count half), the two sides each sorted ascending; NaN if a side is
    empty."""
    if not len(great) or not len(rest):
        return float("nan")
    # Counted, not ranked: for each great value, the rest values below it (+ half the ties), by binary search in
    # the sorted rest; the great values sorted too, so the searches walk the rest in order (cache-friendly).
    below = np.searchsorted(rest, great, side="left")
    ties = np.searchsorted(rest, great, side="right") - below
    return float((below.sum() + 0.5 * ties.sum()) / (len(great) * len(rest)))


def median_sorted(values: np.ndarray) -> float:
    """`np.median` of values sorted ascending, read off without partitioning again (NaN when empty)."""
    n = len(values)
    if n == 0:
        return float("nan")
    m = n // 2
    return float(values[m]) if n % 2 else float(np.mean(values[m - 1 : m + 1]))


__all__ = ["align", "auc_sorted", "cramers_v", "median_sorted", "same_ids", "wilson_interval"]
