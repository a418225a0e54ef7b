"""Tiers and ratings of the Spark engine off the driver (issue 11): the whole base's cut points from a distributed
pass, then every customer's tier, reason, rating and flags assigned on the executors.

What the cut points are (`models.tiers.tier_cut_points`, the pandas engine's): over the scored customers with a
known value,
  - the Pareto top (basis "count"): the k-th customer, k = ceil(top_share x n_known), in the order value
    descending, customer id ascending (Python string order = Spark's UTF-8 byte order);
  - the rating cut points (method "quantile"): `np.quantile(values, cut_points)` (numpy's default "linear"
    method: the order statistics at floor((n-1)q) and the next one, interpolated as numpy's `_lerp` does).
Both are order statistics, so the pass is EXACT, not an estimate: Spark sorts the known (value, id) pairs by the
ranking order (range partitioning, on the executors), counts the rows of each sorted partition (one number per
partition to the driver), and fetches only the few rows at the needed ranks (`monotonically_increasing_id` is
the partition index << 33 plus the row's offset in the partition). The cut points are equal to the pandas
engine's bit for bit (tests/pipelines/test_spark_tiers.py checks `exact_quantiles` against `np.quantile`).
Basis "value" (the customers holding the top share of positive value) needs a running sum in ranking order whose
rounding the pandas engine's `np.cumsum` fixes; it is not distributed yet: its two columns (value, id) of the
known customers are brought to the driver and `tier_cut_points` runs there.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.tiers import TierConfig, TierCutPoints, assign_tiers_with_cut_points, tier_cut_points
from pipelines.engines.scoring import TIER_COLUMNS

if TYPE_CHECKING:  # pyspark is an optional extra: imported only when the Spark engine runs
    from pyspark.sql import DataFrame as SparkDataFrame

_SHIFT = 33  # `monotonically_increasing_id`: partition index in the upper 31 bits, offset in the lower 33


def quantile_ranks(n: int, q: float) -> tuple[int, int, float]:
    """numpy's "linear" quantile of n sorted values at q: (lower rank, upper rank, gamma), ranks ascending from 0."""
    virtual = np.float64(n - 1) * np.float64(q)
    if virtual >= n - 1:
        return n - 1, n - 1, 0.0
    if virtual < 0:
        return 0, 0, 0.0
    lo = int(np.floor(virtual))
    return lo, lo + 1, float(virtual - np.float64(lo))


def lerp(a: float, b: float, t: float) -> float:
    """numpy's `_lerp` (the interpolation of `np.quantile`), operation for operation."""
    a64, b64, t64 = np.float64(a), np.float64(b), np.float64(t)
    diff = b64 - a64
    if t64 >= 0.5:
        return float(b64 - diff * (np.float64(1) - t64))
    return float(a64 + diff * t64)


def exact_quantiles(n: int, qs: tuple[float, ...], at_rank: dict[int, float]) -> tuple[float, ...]:
    """`np.quantile(values, qs)` from n and the values at the ranks `quantile_ranks` names (ascending)."""
    out = []
    for q in qs:
        lo, hi, gamma = quantile_ranks(n, q)
        out.append(lerp(at_rank[lo], at_rank[hi], gamma))
    return tuple(out)


def pareto_rank(n_known: int, config: TierConfig) -> int | None:
    """Rank (0-based, ranking order) of the last customer inside the Pareto top, basis "count"; None if none."""
    k = math.ceil(round(config.great.top_share * n_known, 9)) if n_known else 0
    return min(k, n_known) - 1 if k > 0 else None


def spark_cut_points(scored: SparkDataFrame, value_col: str, config: TierConfig) -> TierCutPoints:
    """`tier_cut_points` of the scored customers (`eligible`) of a Spark frame of scores, computed by Spark.

    in:  one row per customer: customer_id (string), eligible (boolean), `value_col` (double, null/NaN unknown).
    out: the `TierCutPoints` the pandas engine computes from the same base (exact, see the module docstring).
    What reaches the driver: one count per sorted partition and at most 1 + 2 x (rating cut points) rows.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    rating = config.rating
    absolute = tuple(float(c) for c in rating.cut_points) if rating.method == "absolute" else None
    if value_col not in scored.columns:  # every value unknown, as `finish_scores` fills an absent column
        return TierCutPoints(None, None, absolute, 0)
    value, ident = F.col(value_col), F.col("customer_id")
    known = scored.filter(F.col("eligible") & value.isNotNull() & ~F.isnan(value)).select(
        value.alias("v"), ident.alias("id")
    )
    if config.great.basis == "value":  # documented: the running share of positive value runs on the driver
        pairs = known.toPandas()
        return tier_cut_points(pairs["v"].to_numpy(dtype=np.float64), pd.Index(pairs["id"]), config)
    # as many sorted partitions as the scores have (the engine's buckets), not `spark.sql.shuffle.partitions`
    parts = max(1, scored.rdd.getNumPartitions())
    order = (F.col("v").desc(), F.col("id").asc())
    ranked = (
        known.repartitionByRange(parts, *order)
        .sortWithinPartitions(*order)
        .select("v", "id", F.spark_partition_id().alias("p"), F.monotonically_increasing_id().alias("m"))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        # one global aggregation (no shuffle): the row count of each sorted partition
        sizes = ranked.agg(
            *(F.count(F.when(F.col("p") == p, 1)).alias(f"n{p}") for p in range(parts))
        ).first()
        counts = {p: int(sizes[f"n{p}"]) for p in range(parts)}
        n_known = int(sum(counts.values()))
        if n_known == 0:
            return TierCutPoints(None, None, absolute, 0)
        top = pareto_rank(n_known, config)
        wanted = set() if top is None else {top}
        if (
            rating.method == "quantile"
        ):  # ascending rank r is rank n - 1 - r in the ranking (descending) order
            for q in rating.cut_points:
                lo, hi, _ = quantile_ranks(n_known, q)
                wanted |= {n_known - 1 - lo, n_known - 1 - hi}
        starts, start = {}, 0
        for p in sorted(counts):
            starts[p] = start
            start += counts[p]
        ids = {}
        for rank in wanted:
            p = max(q for q in starts if starts[q] <= rank)
            ids[(p << _SHIFT) + rank - starts[p]] = rank
        rows = ranked.filter(F.col("m").isin(list(ids))).select("m", "v", "id").collect()
    finally:
        ranked.unpersist()
    found = {ids[r["m"]]: (float(r["v"]), str(r["id"])) for r in rows}
    if set(found) != wanted:  # the sorted partitions changed between the two jobs: never guess a cut point
        raise RuntimeError(f"the tier cut points' ranks {sorted(wanted)} were not all found: {sorted(found)}")
    pareto_value = pareto_id = None
    if top is not None:
        pareto_value, pareto_id = found[top]
    cuts = absolute
    if rating.method == "quantile":
        at = {n_known - 1 - r: v for r, (v, _) in found.items()}
        cuts = exact_quantiles(n_known, tuple(rating.cut_points), at)
    return TierCutPoints(pareto_value, pareto_id, cuts, n_known)


def assign_batches(
    batches: Iterator[pd.DataFrame],
    config: TierConfig,
    horizon_days: int,
    cuts: TierCutPoints,
    output_columns: tuple[str, ...] = (),
) -> Iterator[pd.DataFrame]:
    """The executors' half (a mapInPandas body): each batch of scores with `TIER_COLUMNS` added, assigned with
    the whole base's cut points (`assign_tiers_with_cut_points`, the pandas engine's function) to its scored
    (`eligible`) rows; None on the others. Tier and rating as text, as `finish_scores` writes them; the model's
    `output_columns` a batch lacks count as unknown (NaN), as `finish_scores` adds them."""
    for batch in batches:
        scored = batch["eligible"].to_numpy(dtype=bool)
        ids = pd.Index(batch["customer_id"][scored].astype("str"), name="customer_id")
        frame = batch[scored].set_index(ids)
        missing = [c for c in output_columns if c not in frame.columns]
        if missing:
            frame = frame.assign(**{c: np.nan for c in missing})
        tiers = assign_tiers_with_cut_points(frame, config, horizon_days, cuts)
        out = batch.copy()
        for col in TIER_COLUMNS:
            values = np.full(len(batch), None, dtype=object)
            text = tiers[col].astype("str")
            values[scored] = text.astype(object).where(text.notna(), None).to_numpy()
            out[col] = values
        yield out
