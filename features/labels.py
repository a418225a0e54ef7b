"""Labels: what each customer did in the horizon after a cutoff.

Contract: `build_labels(tables, cutoff, horizon_days, config)` -> DataFrame indexed by `customer_id` (str, sorted),
one row per customer known before the cutoff (first order or signup before it), columns (float64):
- `label_net_profit_{h}d`: margin - returns - cost to serve (when tickets exist) of events in
  [cutoff, cutoff + h); can be negative.
- `label_revenue_{h}d`: revenue of orders in [cutoff, cutoff + h).
- `label_orders_{h}d`: number of orders in [cutoff, cutoff + h).
- `label_churned_{h}d`: 1 if the customer cancelled inside the horizon (`customers.churned_at` in
  [cutoff, cutoff + h)), else 1 if no order in [cutoff, cutoff + h), else 0. A churned_at after the horizon end
  is not known when the label is, so it does not decide (the label stays point-in-time at cutoff + h); one
  before the cutoff does not either (training-eligible customers with one came back since:
  `features.population.came_back`).
Only events at or after the cutoff are summed (events before it only decide which customers get a row).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from features.config import FeatureConfig
from features.table import compute


def label_columns(horizon_days: int) -> list[str]:
    """Names of the label columns for a horizon, in output order."""
    h = horizon_days
    return [f"label_net_profit_{h}d", f"label_revenue_{h}d", f"label_orders_{h}d", f"label_churned_{h}d"]


def build_labels(
    tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp, horizon_days: int, config: FeatureConfig
) -> pd.DataFrame:
    """Labels over [cutoff, cutoff + horizon_days) for the customers known before `cutoff` (see module doc)."""
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}")
    frame, _ = compute(tables, [cutoff], config, label_horizon_days=horizon_days, features=False)
    return frame.drop(columns="cutoff").set_index("customer_id")[label_columns(horizon_days)]
