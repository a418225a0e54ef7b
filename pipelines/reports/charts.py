"""Team-page charts drawn with matplotlib and returned as inline SVG: Pareto curves, drivers per tier, ratings.

matplotlib is imported inside the functions that draw, so importing the report package stays cheap.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from pipelines.reports.phrases import group_label


def _svg(fig: Any) -> Markup:
    """A figure as an inline <svg> element: deterministic ids, no date, no XML prolog, scalable width."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "cvp-report", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    text = buf.getvalue()
    # Inline <svg> needs no XML prolog; width/height stay in pt so every chart's text prints at the same size,
    # and the stylesheet only shrinks a chart (max-width) on narrow screens.
    return Markup(text[text.index("<svg") :])


def _new_figure(width: float, height: float) -> Any:
    # A bare Figure (no pyplot): no global figure registry, no backend selection, nothing left open.
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    return fig


def _style_axes(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=9)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)


@dataclass(frozen=True)
class ParetoPanel:
    title: str
    curve: pd.DataFrame  # `models.tiers.pareto_curves` output
    value_label: str
    effort_label: str


def pareto_chart(panels: list[ParetoPanel], top_share: float) -> Markup:
    """One panel per ranking: cumulative share of profit and of service effort vs share of customers, with a
    dotted line at the top share the page talks about."""
    fig = _new_figure(4.4 * len(panels) + 0.6, 3.9)
    axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    for ax, panel in zip(axes, panels, strict=True):
        x = panel.curve["customer_share"].to_numpy() * 100
        ax.plot(
            x,
            panel.curve["value_share"].to_numpy() * 100,
            color="#1b7f3b",
            linewidth=2,
            label=panel.value_label,
        )
        ax.plot(
            x,
            panel.curve["effort_share"].to_numpy() * 100,
            color="#c77700",
            linewidth=2,
            label=panel.effort_label,
        )
        ax.plot(
            [0, 100],
            [0, 100],
            color="#999999",
            linestyle="--",
            linewidth=1,
            label="If all customers were equal",
        )
        ax.axvline(top_share * 100, color="#555555", linewidth=0.8, linestyle=":")
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlabel("Share of customers, most valuable first (%)", fontsize=9)
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 102)
        _style_axes(ax)
        ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
        ax.legend(fontsize=8, frameon=False, loc="lower right")
    axes[0].set_ylabel("Cumulative share (%)", fontsize=9)
    fig.tight_layout()
    return _svg(fig)


def drivers_chart(
    drivers: pd.DataFrame, tiers: list[str], colors: Mapping[str, str], currency: str
) -> Markup:
    """Small multiples: one panel per tier, mean contribution per feature group."""
    groups = list(drivers.index)
    fig = _new_figure(min(2.9 * len(tiers) + 1.4, 11), 0.3 * len(groups) + 1.3)
    axes = fig.subplots(1, len(tiers), sharey=True, squeeze=False)[0]
    lim = float(np.nanmax(np.abs(drivers.to_numpy()))) if drivers.size else 1.0
    lim = lim * 1.15 if lim > 0 else 1.0
    y = np.arange(len(groups))
    for ax, tier in zip(axes, tiers, strict=True):
        values = drivers[tier].fillna(0.0).to_numpy()
        bar_colors = ["#1b7f3b" if v >= 0 else "#b3261e" for v in values]
        ax.barh(y, values, color=bar_colors, height=0.6)
        ax.axvline(0, color="#333333", linewidth=0.8)
        ax.set_title(tier.capitalize(), fontsize=10, color=colors.get(tier, "#555555"), fontweight="bold")
        ax.set_xlim(-lim, lim)
        ax.set_xlabel(f"{currency} vs an average customer", fontsize=8)
        _style_axes(ax)
    axes[0].set_yticks(y, [group_label(g) for g in groups])
    axes[0].invert_yaxis()
    fig.tight_layout()
    return _svg(fig)


def rating_chart(counts: pd.DataFrame, tiers: list[str], colors: Mapping[str, str]) -> Markup:
    """Stacked bars: customers per rating, split by tier."""
    fig = _new_figure(6.4, 2.8)
    ax = fig.add_subplot()
    ratings = list(counts.index)
    left = np.zeros(len(ratings))
    for tier in tiers:
        values = counts[tier].to_numpy(dtype="float64") if tier in counts else np.zeros(len(ratings))
        ax.barh(
            ratings, values, left=left, color=colors.get(tier, "#888888"), label=tier.capitalize(), height=0.6
        )
        left += values
    ax.invert_yaxis()
    ax.set_xlabel("Customers", fontsize=9)
    ax.set_ylabel("Rating", fontsize=9)
    _style_axes(ax)
    ax.legend(fontsize=8, frameon=False, ncols=len(tiers), loc="upper center", bbox_to_anchor=(0.5, -0.28))
    fig.tight_layout()
    return _svg(fig)


def tier_history_chart(counts: pd.DataFrame, colors: Mapping[str, str]) -> Markup:
    """Customers per tier over the runs of the score history (index: as-of text, one column per tier)."""
    fig = _new_figure(6.4, 2.8)
    ax = fig.add_subplot()
    x = np.arange(len(counts.index))
    for tier in counts.columns:
        ax.plot(
            x,
            counts[tier].to_numpy(dtype="float64"),
            marker="o",
            color=colors.get(str(tier), "#888888"),
            linewidth=2,
            label=str(tier).capitalize(),
        )
    ax.set_xticks(x, [str(a) for a in counts.index], rotation=45 if len(x) > 6 else 0, ha="right")
    ax.set_ylabel("Customers", fontsize=9)
    ax.set_ylim(bottom=0)
    _style_axes(ax)
    ax.grid(axis="y", color="#e5e5e5", linewidth=0.8)
    ax.legend(
        fontsize=8, frameon=False, ncols=len(counts.columns), loc="upper center", bbox_to_anchor=(0.5, -0.3)
    )
    fig.tight_layout()
    return _svg(fig)
