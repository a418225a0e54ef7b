"""The population stability index (PSI), once: the model bundle's check and the scoring engines' drift summary
both call `psi`."""

from __future__ import annotations

import numpy as np

#: Shares are floored here before the logarithm: an empty bin on one side would make the index infinite.
SHARE_FLOOR = 1e-4


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI = sum (p - q) ln(p / q) over the same bins, p the actual shares, q the expected (reference) shares.

    Both are shares per bin (the missing share included as a bin), floored at `SHARE_FLOOR`. Bins must match:
    a length mismatch is a bug, not a drift.
    """
    q = np.asarray(expected, dtype=np.float64)
    p = np.asarray(actual, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"PSI needs the same bins on both sides: {q.shape} expected, {p.shape} actual")
    p, q = np.maximum(p, SHARE_FLOOR), np.maximum(q, SHARE_FLOOR)
    return float(np.sum((p - q) * np.log(p / q)))
