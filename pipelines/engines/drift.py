"""Drift of a scoring run: per-chunk bin counts summed over the whole base, then one PSI per feature and prediction.

The reference is the model's (`CustomerValueModel.drift_reference_`: bins and shares of the customers a scoring
run would have scored at the training as-of and one and two months earlier, `pipelines.drift_reference`; of
the training rows in models trained before it, or using BTYD features; its `dates` say which). Features that grow
with the calendar by construction (`FeatureSpec.time_trending`: ages, lifetime totals) are left out: between the
reference's dates and a later scoring date they shift even when the customers behave exactly as before, so a
warning about them would cry wolf. The summary names each one left out and why; their windowed
siblings and every prediction column are still measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.registry import FeatureSpec
from models.bundle import DRIFT_SAMPLE_ROWS, expected_shares, reference_proportions
from models.drift import psi

TRENDING_REASON = "grows with the calendar by construction (an age or a lifetime total): not a drift signal"


def leave_out_trending(
    reference: Mapping[str, Any], registry: Mapping[str, FeatureSpec]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The reference without the time-trending features, and {feature: why it was left out}."""
    features = reference.get("features", {})
    left_out = {c: TRENDING_REASON for c in features if c in registry and registry[c].time_trending}
    kept = dict(reference) | {"features": {c: r for c, r in features.items() if c not in left_out}}
    return kept, dict(sorted(left_out.items()))


@dataclass
class DriftAccumulator:
    """Sums per-chunk bin counts so the PSI over all customers equals the PSI of one pass."""

    reference: dict[str, Any]
    left_out: dict[str, str] = field(default_factory=dict)  # feature -> why it is not measured
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    n: dict[str, int] = field(default_factory=dict)

    def add(self, frame: pd.DataFrame, group: str) -> None:
        for col, ref in self.reference.get(group, {}).items():
            if col not in frame.columns:
                continue
            values = frame[col]
            if ref["kind"] == "numeric":
                values = values.to_numpy(dtype=np.float64, na_value=np.nan)
            self.merge(f"{group}:{col}", reference_proportions(ref, values) * len(frame), len(frame))

    def merge(self, key: str, counts: np.ndarray, n: int) -> None:
        """Add the bin counts of `n` rows (another accumulator's, e.g. a Spark worker's) under `group:column`."""
        self.counts[key] = self.counts.get(key, 0) + counts
        self.n[key] = self.n.get(key, 0) + int(n)

    def report(self, threshold: float) -> dict[str, Any]:
        values: dict[str, float] = {}
        for key, counts in self.counts.items():
            group, col = key.split(":", 1)
            expected = expected_shares(self.reference[group][col])
            values[key] = round(psi(expected, counts / max(self.n[key], 1)), 6)
        drifted = sorted(k for k, v in values.items() if v > threshold)
        base, at_least = reference_customers(self.reference)
        return {
            "threshold": threshold,
            "drifted_features": [k.split(":", 1)[1] for k in drifted if k.startswith("features:")],
            "drifted_predictions": [k.split(":", 1)[1] for k in drifted if k.startswith("predictions:")],
            "psi": dict(sorted(values.items())),
            "left_out": dict(self.left_out),
            # the days whose scored base the PSI compares with (the training cutoffs for older models; None:
            # a model trained before the reference recorded them)
            "reference_dates": list(self.reference["dates"]) if "dates" in self.reference else None,
            "reference_customers": base,
            "reference_customers_at_least": at_least,  # a floor: the model's base is larger (sampled)
        }


def reference_customers(reference: dict[str, Any]) -> tuple[int | None, bool]:
    """About how many customers the model's base scored at each of its reference dates (its rows before the drift
    sample, `base_rows`, over its dates) and whether that is only a floor: None when the model recorded neither,
    at least that many when it was trained on a customer sample (`--sample-customers`: the base is larger than
    the sample) or recorded only its rows after the 200,000-row drift sample. The size a scoring run's tier cut
    points and PSI are measured against (`pipelines.score_console.small_base`; was: the rows after the sample,
    never above 66,666, so a 1M-customer company was said to have about 66,666)."""
    dates, rows = reference.get("dates"), reference.get("base_rows")
    at_least = bool(reference.get("sampled"))
    if rows is None:  # a model registered before `base_rows`: its rows after the sample
        rows = reference.get("n_rows")
        at_least = at_least or (rows or 0) >= DRIFT_SAMPLE_ROWS
    return (int(rows) // len(dates) if dates and rows else None), at_least
