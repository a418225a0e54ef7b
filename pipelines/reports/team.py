"""View models of the team page: Pareto curves, value drivers per tier, what separates neighbouring tiers, ratings.

Aggregates only: no customer id and no personal column leaves this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from features.registry import GROUPS
from models.explain import BASE_COLUMN, MODEL_GROUP
from models.tier_drivers import id_order, tier_drivers, tier_separators
from models.tiers import pareto_curves
from pipelines.reports.charts import ParetoPanel, drivers_chart, pareto_chart, rating_chart
from pipelines.reports.columns import window_column
from pipelines.reports.config import ReportConfig
from pipelines.reports.phrases import group_label, money, pct, plain_feature, to_date

_PARETO_POINTS = 201  # curves are resampled so a chart of 1M customers stays a few kB


def drivers(
    value_contrib: pd.DataFrame, frame: pd.DataFrame, tiers: list[str], registry: Mapping[str, Any]
) -> tuple[pd.DataFrame, pd.Series, float] | None:
    """Mean value contribution per feature group (rows) and tier (columns), the all-customer mean per group,
    and the mean base value; None without contributions for the scored customers.

    Reads `models.tier_drivers.tier_drivers` (group level); groups are in registry order, then `model`.
    """
    contrib = value_contrib.loc[value_contrib.index.isin(frame["customer_id"])]
    if contrib.empty or not tiers:
        return None
    # tier_drivers wants assign_tiers' ordered categorical (worst first); ours is shown best first.
    tier = pd.Series(
        pd.Categorical(frame["tier"].astype(str), categories=list(reversed(tiers)), ordered=True),
        index=pd.Index(frame["customer_id"], name=contrib.index.name),
    )
    by_tier = tier_drivers(contrib, tier, registry)
    groups = {t: d[d["level"] == "group"] for t, d in by_tier.items()}
    order = [g for g in (*GROUPS, MODEL_GROUP) if g in groups[tiers[0]].index]
    means = pd.DataFrame({t: groups[t]["tier_mean"] for t in tiers}).reindex(order)
    overall = groups[tiers[0]]["base_mean"].reindex(order)
    order = id_order(contrib.index)  # in id order: the same mean whatever the file's chunking
    values = contrib[BASE_COLUMN] if BASE_COLUMN in contrib else None
    base = float("nan") if values is None else float((values if order is None else values.iloc[order]).mean())
    return means, overall, base


def separators(
    value_contrib: pd.DataFrame,
    frame: pd.DataFrame,
    tiers: list[str],
    registry: Mapping[str, Any],
    currency: str,
    top: int = 6,
) -> list[dict[str, Any]]:
    """Per pair of neighbouring tiers (great vs good, good vs problem), the features whose mean value contribution
    differs most (`models.tier_drivers.tier_separators`), described from the registry."""
    contrib = value_contrib.loc[value_contrib.index.isin(frame["customer_id"])]
    if contrib.empty or len(tiers) < 2:
        return []
    tier = pd.Series(
        pd.Categorical(frame["tier"].astype(str), categories=list(reversed(tiers)), ordered=True),
        index=pd.Index(frame["customer_id"], name=contrib.index.name),
    ).reindex(contrib.index)
    table = tier_separators(frame.set_index("customer_id").reindex(contrib.index), contrib, tier, top=top)
    out = []
    for pair, rows in table.groupby("pair", sort=False):
        higher, lower = str(pair).split("_vs_", 1)
        out.append(
            {
                "higher": higher,
                "lower": lower,
                "rows": [
                    {
                        "feature": r.feature,
                        "title": plain_feature(r.feature, registry),  # hover text: words, never the column
                        "label": to_date(registry[r.feature].description)
                        if r.feature in registry
                        else plain_feature(r.feature, registry),
                        "higher": money(r.contrib_mean_higher, currency, sign=True),
                        "lower": money(r.contrib_mean_lower, currency, sign=True),
                        "difference": money(r.contrib_difference, currency, sign=True),
                    }
                    for r in rows.itertuples()
                ],
            }
        )
    return out


def pareto_view(frame: pd.DataFrame, h: int, next_period: str, config: ReportConfig) -> dict[str, Any] | None:
    """Pareto curves (expected, and actual when the scores carry net profit) and the profit and effort shares of
    the top `config.pareto_top_share` of customers; None without a service-effort column or customers."""
    value_col = f"pred_value_{h}d"
    effort_col = window_column(list(frame.columns), "service_effort_hours", h)
    if not effort_col or not len(frame):
        return None
    window = int(effort_col.rsplit("_", 1)[1][:-1])
    by_id = frame.set_index("customer_id")
    panels = [
        ParetoPanel(
            f"Expected, {next_period}",
            pareto_curves(by_id, value_col, effort_col, n_points=_PARETO_POINTS),
            "Expected profit",
            f"Service hours, last {window} days",
        )
    ]
    profit_col = window_column(list(frame.columns), "profit_net", h)
    if profit_col:
        panels.append(
            ParetoPanel(
                f"Actual, last {window} days",
                pareto_curves(by_id, profit_col, effort_col, n_points=_PARETO_POINTS),
                f"Net profit, last {window} days",
                f"Service hours, last {window} days",
            )
        )
    expected = panels[0].curve
    top = config.pareto_top_share
    return {
        "chart": pareto_chart(panels, top),
        "top_share": pct(top),
        "profit_top": pct(float(np.interp(top, expected["customer_share"], expected["value_share"]))),
        "effort_top": pct(float(np.interp(top, expected["customer_share"], expected["effort_share"]))),
        "given_back": money(
            float(frame[value_col].clip(lower=0).sum() - frame[value_col].sum()), config.currency
        ),
        "has_losses": bool((frame[value_col] < 0).any()),
        "columns": [  # in words, the scores file's column beside them for a data scientist
            {"words": f"expected profit, {next_period}", "name": value_col},
            {"words": f"service hours, last {window} days", "name": effort_col},
        ]
        + ([{"words": f"net profit, last {window} days", "name": profit_col}] if profit_col else []),
        "window": window,
    }


def drivers_view(
    contrib: pd.DataFrame,
    frame: pd.DataFrame,
    tiers: list[str],
    config: ReportConfig,
    registry: Mapping[str, Any],
) -> dict[str, Any] | None:
    """The drivers chart and table (mean contribution per feature group and tier); None without contributions."""
    found = drivers(contrib, frame, tiers, registry)
    if found is None:
        return None
    means, overall, base = found
    return {
        "chart": drivers_chart(means, tiers, config.tier_colors, config.currency),
        "base": money(base, config.currency),
        "groups": [
            {
                "label": group_label(g),
                # the currency in each cell (round 38, was "+120": the caption alone named it)
                "cells": [
                    money(v, config.currency, sign=True) if np.isfinite(v) else "" for v in means.loc[g]
                ],
                "overall": money(overall[g], config.currency, sign=True) if np.isfinite(overall[g]) else "",
            }
            for g in means.index
        ],
    }


def ratings_view(frame: pd.DataFrame, tiers: list[str], colors: Mapping[str, str]) -> dict[str, Any]:
    """Customers per rating and tier: a stacked bar chart and its table, grades in their own order."""
    rating = frame["rating"]
    ratings = rating.astype("object").where(rating.notna(), "unrated").astype(str)
    if isinstance(rating.dtype, pd.CategoricalDtype):
        # assign_tiers' ratings are ordered categoricals (A..D or 1..10): keep that order, not the string one.
        grade_order = [str(c) for c in rating.cat.categories]
    else:
        grade_order = sorted(set(ratings) - {"unrated"}, key=lambda g: (len(g), g) if g.isdigit() else (0, g))
    counts = pd.crosstab(ratings, frame["tier"].astype(str))
    counts = counts.reindex([g for g in [*grade_order, "unrated"] if g in counts.index])
    return {
        "chart": rating_chart(counts, tiers, colors) if len(counts) else Markup(""),
        "rows": [
            {
                "rating": r,
                "cells": [int(counts.loc[r].get(t, 0)) for t in tiers],
                "total": int(counts.loc[r].sum()),
            }
            for r in counts.index
        ],
    }
