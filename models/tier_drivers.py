"""Explanations per tier: what drives each tier's predictions, and what separates a tier from the next lower one.

Reads the contribution frame of `models.explain.explain_booster` (see its contract) and the ordered categorical
`tier` column of `models.tiers.assign_tiers`; no time semantics of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.registry import FeatureSpec
from models.explain import _feature_columns, _group_of, group_contributions

__all__ = ["id_order", "tier_drivers", "tier_separators"]


def id_order(index: pd.Index) -> np.ndarray | None:
    """The positions that put a contribution frame's rows in customer-id order, None when they are. Its rows come
    in its file's order, chunk after chunk as scored (their number follows `--chunk-customers`; the Spark engine's
    buckets finish in any order): the means over customers are taken in id order, so they are the same to the
    last digit whatever the chunking (was: `profile_shap_drivers.csv` differing between `--chunk-customers 300`
    and 37). Only the rows and columns a mean reads are taken so, where it is taken (was: the whole file sorted on
    every read of it, `pipelines.outputs.by_customer`)."""
    return None if index.is_monotonic_increasing else index.argsort()


def _tier_series(tiers: pd.Series | pd.DataFrame, index: pd.Index) -> pd.Series:
    series = tiers["tier"] if isinstance(tiers, pd.DataFrame) else tiers
    if not isinstance(series.dtype, pd.CategoricalDtype) or not series.dtype.ordered:
        raise ValueError("tiers must be the ordered categorical `tier` column of assign_tiers")
    if series.index.equals(index):  # the contributions' own index (the profile, the team page's separators)
        return series
    # one hash lookup (was: `isin` then `reindex`, 9.6 s for 727,900 Arrow string ids, at `cvp report`)
    rows = series.index.get_indexer(index)
    if (rows < 0).any():
        raise ValueError("tiers must hold a tier for every row of contrib")
    return series.iloc[rows].set_axis(index)


def tier_drivers(
    contrib: pd.DataFrame, tiers: pd.Series | pd.DataFrame, registry: Mapping[str, FeatureSpec]
) -> dict[str, pd.DataFrame]:
    """What pushes each tier's predictions: mean contribution within the tier versus the whole base.

    in:  a contribution frame (one row per customer; `_base` ignored) and the tiers (`assign_tiers` output or
         its `tier` column), aligned by index.
    out: one frame per tier category (best tier first, empty tiers included with NaN means), index = group or
         feature name, columns `level` ("group" | "feature"), `group`, `tier_mean`, `base_mean`,
         `difference` (= tier_mean - base_mean), `n_customers`. Groups come first, then features, each sorted
         by |difference| descending (ties by name).
    """
    tier = _tier_series(tiers, contrib.index)
    names = _feature_columns(contrib)
    order = id_order(contrib.index)  # the means in id order: the same whatever the file's chunking
    if order is None:
        features = contrib[names]
    else:  # one take, as `contrib[names]` copies anyway
        features = contrib.iloc[order, contrib.columns.get_indexer(names)]
        tier = tier.iloc[order]
    grouped = group_contributions(features, registry)
    parts = {
        "group": (grouped, {g: g for g in grouped.columns}),
        "feature": (features, {f: _group_of(f, registry) for f in names}),
    }
    base_means = {level: table.mean(axis=0) for level, (table, _) in parts.items()}  # once, not once per tier
    out: dict[str, pd.DataFrame] = {}
    for name in reversed(list(tier.cat.categories)):
        mask = (tier == name).to_numpy()
        frames = []
        for level, (table, group_of) in parts.items():
            base_mean = base_means[level]
            tier_mean = table[mask].mean(axis=0) if mask.any() else base_mean * np.nan
            frame = pd.DataFrame(
                {
                    "level": level,
                    "group": [group_of[c] for c in table.columns],
                    "tier_mean": tier_mean.to_numpy(),
                    "base_mean": base_mean.to_numpy(),
                    "difference": (tier_mean - base_mean).to_numpy(),
                    "n_customers": int(mask.sum()),
                },
                index=pd.Index(table.columns, name="name"),
            )
            key = frame["difference"].abs().fillna(-1.0)
            frames.append(
                frame.assign(_key=-key).sort_values(["_key", "name"], kind="stable").drop(columns="_key")
            )
        out[str(name)] = pd.concat(frames)
    return out


def tier_separators(
    features_frame: pd.DataFrame, contrib: pd.DataFrame, tiers: pd.Series | pd.DataFrame, top: int = 10
) -> pd.DataFrame:
    """The features that most separate each tier from the next lower one (by mean contribution).

    Tier pairs come from the order of the tier categories (best first: great vs good, good vs problem), so this
    function does not know the tier names. For each pair, features are ranked by |mean contribution in the
    higher tier - mean contribution in the lower tier| and the `top` are kept.

    out: columns `pair` ("<higher>_vs_<lower>"), `rank` (1 = strongest), `feature`, `contrib_mean_higher`,
         `contrib_mean_lower`, `contrib_difference` (higher - lower), `feature_median_higher`,
         `feature_median_lower` (medians of the feature value; NaN for non-numeric features). Pairs with an
         empty tier are omitted.
    """
    tier = _tier_series(tiers, contrib.index)
    names = _feature_columns(contrib)
    ordered = list(reversed(list(tier.cat.categories)))
    if not features_frame.index.equals(contrib.index):
        features_frame = features_frame.reindex(contrib.index)
    order = id_order(contrib.index)  # each tier's rows in id order: its means the same whatever the chunking
    columns = contrib.columns.get_indexer(names)

    def mean_of(mask: np.ndarray) -> pd.Series:
        rows = np.flatnonzero(mask) if order is None else order[mask[order]]
        return contrib.iloc[rows, columns].mean(axis=0)

    rows = []
    for higher, lower in zip(ordered, ordered[1:], strict=False):
        hi = (tier == higher).to_numpy()
        lo = (tier == lower).to_numpy()
        if not hi.any() or not lo.any():
            continue
        mean_hi = mean_of(hi)
        mean_lo = mean_of(lo)
        diff = mean_hi - mean_lo
        ranked = sorted(names, key=lambda f: (-abs(diff[f]), f))[:top]
        for rank, f in enumerate(ranked, start=1):
            med_hi = med_lo = np.nan
            if f in features_frame.columns and pd.api.types.is_numeric_dtype(features_frame[f].dtype):
                med_hi = float(features_frame.loc[hi, f].median())
                med_lo = float(features_frame.loc[lo, f].median())
            rows.append(
                {
                    "pair": f"{higher}_vs_{lower}",
                    "rank": rank,
                    "feature": f,
                    "contrib_mean_higher": float(mean_hi[f]),
                    "contrib_mean_lower": float(mean_lo[f]),
                    "contrib_difference": float(diff[f]),
                    "feature_median_higher": med_hi,
                    "feature_median_lower": med_lo,
                }
            )
    columns = [
        "pair",
        "rank",
        "feature",
        "contrib_mean_higher",
        "contrib_mean_lower",
        "contrib_difference",
        "feature_median_higher",
        "feature_median_lower",
    ]
    return pd.DataFrame(rows, columns=columns)
