"""The rows a model's drift reference is built from: the customers a scoring run would score at the training as-of
and on the same day one and two months earlier (`scoring.drift_reference_months`), with the features it would
give them.

Was: the training rows, pooled over the training cutoffs (a year and more before the as-of for a 365-day horizon:
labels need a whole horizon after each cutoff). Scoring at the model's own as-of then compared today's base with
the base of one to two years before, so a scheduled run warned about drift when nothing had changed since the
training: Online Retail's model as of 2011-09-01 (cutoffs January-June 2011, a young company whose 365-day
shares grow every month) scored at that date had PSI 0.56 on profit_margin_trend_90d, 0.45 on recency_days; the
tests' 800-customer demo at its as-of 0.30 on relationship_manager_departed_90d (5% of the rows at three of its
four cutoffs, none at the as-of). The base at the as-of and one and two months earlier: 0.02 and 0.07 (the
3,000-customer demo: 0.19, was 0.21). Three dates, not the as-of alone: a campaign week just before one date moves
recency_days (the demo's model as of 2025-06-30 scored a month later: 0.32 against the as-of alone, 0.20 against
the three). Measured on every feature not left out as time-trending (docs/measurements.md, "drift reference").
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from features.population import customer_status
from features.table import build_feature_table, company_totals


def scored_rows(
    tables: dict[str, pd.DataFrame], day: pd.Timestamp, cfg: Any, sample: Any = None
) -> pd.DataFrame:
    """The features of the customers `cvp score` would score at `day` (status `scored`), indexed by customer.
    `sample`: the training sample (`features.training.CustomerSample`): its tables hold the sampled customers,
    the company values come from the whole base's orders, as the training set's do; only the sampled customers'
    rows are kept (`CustomerSample.restrict`: the rows of the customers they referred are read, never output)."""
    from pipelines.engines.chunks import status_input

    totals = None if sample is None else company_totals(sample.company_orders, [day], cfg.features)[day]
    status = customer_status(status_input(tables, day), day, cfg.labels)
    if sample is not None:  # the sample's tables also hold the customers they referred: read, never output
        status = sample.restrict(status)
    features = build_feature_table(tables, day, cfg.features, totals)
    return features.loc[features.index.isin(status.loc[status["status"] == "scored", "customer_id"])]


def recent_scored_rows(
    tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, cfg: Any, sample: Any = None
) -> tuple[pd.DataFrame, list[str]]:
    """(`scored_rows` at the as-of and `cfg.scoring.drift_reference_months` months earlier, stacked; their dates,
    ISO)."""
    frames, dates = [], []
    for months in cfg.scoring.drift_reference_months:
        day = (pd.Timestamp(as_of) - pd.DateOffset(months=months)).normalize()
        rows = scored_rows(tables, day, cfg, sample)
        if len(rows):
            frames.append(rows)
            dates.append(day.date().isoformat())
    if not frames:
        return pd.DataFrame(), []
    return pd.concat(frames, ignore_index=True), dates
