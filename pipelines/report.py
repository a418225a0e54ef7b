"""Static HTML reports: one team page and one page per account manager, with only that manager's customers.

Inputs (what scoring produces; the horizon H in days is read from the column names, e.g. `pred_value_365d`):

- `scores`: one row per customer (`customer_id` unique, str), all scored at the same `as_of`. Columns:
  `customer_id`, `as_of`, `model_version`, `pred_value_{H}d`, `pred_value_p10_{H}d`, `pred_value_p90_{H}d`
  (currency), `pred_churn_prob_{H}d` (0-1), `tier`, `tier_reason`, `rating`, `flags` (";"-joined, may be empty),
  `value_reason_{1..3}` / `value_reason_feature_{1..3}`, `churn_reason_{1..3}` / `churn_reason_feature_{1..3}`
  (sentences and the feature each one is about), `account_manager_id` (str or missing). Optional:
  `profit_net_{W}d` and `service_effort_hours_{W}d` (feature values over the last W days, for the Pareto chart).
- `value_contrib`: index `customer_id`, one column per feature with the value model's contribution in currency,
  plus `_base` (the expected value of an average customer); each row sums to `pred_value_{H}d`.
- `customers` (optional): the contract `customers` table; `name` is shown on manager pages only.
- `account_managers` (optional): `account_manager_id`, `name`, `started_at`, `left_at`.
- `model_card`: model_name, model_version, trained_at, horizon_days, currency, backtest (tidy: fold, model,
  metric, value), data_fingerprint (table -> rows and sha256), feature_manifest (groups present/absent).

Outputs, written atomically into `out_dir` (pages are readable by their owner only: they hold customer data):

- `index.html`: the team page. Aggregates only; no customer id and no personal column appears on it.
- `manager-<id>.html`: one per account manager, listing only that manager's customers; customers without a
  manager go to `manager-unassigned.html`.

Every page is self-contained (inline CSS, inline SVG charts, no scripts, no network) and byte-for-byte
deterministic for the same inputs. Team charts are drawn once with matplotlib; the per-customer waterfalls are
small SVGs laid out here and drawn by the template, because 2,000 matplotlib figures would cost minutes.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from pydantic import BaseModel, ConfigDict, Field, field_validator

from features.registry import GROUPS
from models.explain import BASE_COLUMN, MODEL_GROUP, tier_drivers, tier_separators
from models.tiers import pareto_curves
from pipelines.io import atomic_directory

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
UNASSIGNED_SLUG = "unassigned"
REPORT_MARKER = ".cvp-report"  # marks a directory of pages this product may replace as a whole
_BASE_COL = BASE_COLUMN
_PARETO_POINTS = 201  # curves are resampled so a chart of 1M customers stays a few kB
_OTHER_GROUP = "other"
_N_REASONS = 3


#: The CSS named colours (CSS Color Module Level 4), the only colour names accepted in `tier_colors`.
CSS_COLOR_NAMES: frozenset[str] = frozenset(
    """
    aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet
    brown burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan
    darkblue darkcyan darkgoldenrod darkgray darkgreen darkgrey darkkhaki darkmagenta darkolivegreen
    darkorange darkorchid darkred darksalmon darkseagreen darkslateblue darkslategray darkslategrey
    darkturquoise darkviolet deeppink deepskyblue dimgray dimgrey dodgerblue firebrick floralwhite
    forestgreen fuchsia gainsboro ghostwhite gold goldenrod gray green greenyellow grey honeydew
    hotpink indianred indigo ivory khaki lavender lavenderblush lawngreen lemonchiffon lightblue
    lightcoral lightcyan lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon
    lightseagreen lightskyblue lightslategray lightslategrey lightsteelblue lightyellow lime
    limegreen linen magenta maroon mediumaquamarine mediumblue mediumorchid mediumpurple
    mediumseagreen mediumslateblue mediumspringgreen mediumturquoise mediumvioletred midnightblue
    mintcream mistyrose moccasin navajowhite navy oldlace olive olivedrab orange orangered orchid
    palegoldenrod palegreen paleturquoise palevioletred papayawhip peachpuff peru pink plum
    powderblue purple rebeccapurple red rosybrown royalblue saddlebrown salmon sandybrown seagreen
    seashell sienna silver skyblue slateblue slategray slategrey snow springgreen steelblue tan teal
    thistle tomato turquoise violet wheat white whitesmoke yellow yellowgreen
    """.split()
)


class ReportConfig(BaseModel):
    """What the reports say and show. The lead's `report:` section of configs/default.yaml maps onto this.

    Attributes:
        actions: tier -> recommended action, in plain words; the key order is the order tiers are shown in
            (tiers found in the scores but not listed here come last, with no action).
        flag_phrases: flag -> plain-language warning shown to account managers (unknown flags are shown with
            underscores turned into spaces).
        tier_colors: tier -> badge and chart colour (CSS hex); unlisted tiers are grey.
        top_customers_per_manager: waterfall charts per manager page (the manager's most valuable customers).
        waterfall_features: features shown by name in a waterfall; the rest are summed into one "other" step.
        currency: the currency every money column is in (must match the model card's, when it states one).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    actions: dict[str, str] = {
        "great": "Retain and reward: personal contact each quarter, no discounts needed; ask them for referrals.",
        "good": (
            "Nurture toward great: offer loyalty benefits rather than discounts, check in after orders and "
            "learn what would make them stay."
        ),
        "problem": (
            "Renegotiate terms or let go: agree limits on service, prices that cover the cost to serve and "
            "firm payment terms; if they still lose money, stop chasing them."
        ),
    }
    flag_phrases: dict[str, str] = {
        "concentration": "A large share of the company's business depends on this customer",
        "manager_departed": "Their previous account manager left the company recently",
        "at_risk": "At risk of leaving: get in touch soon",
        "promo_abuse": "Buys mostly on promotion or discount",
        "return_abuse": "Returns an unusually large share of what they buy",
    }
    tier_colors: dict[str, str] = {"great": "#1b7f3b", "good": "#1f5fa8", "problem": "#b3261e"}
    top_customers_per_manager: int = Field(10, ge=0)
    waterfall_features: int = Field(8, ge=1)
    currency: str = "EUR"

    @field_validator("tier_colors")
    @classmethod
    def _colors_are_css_colours(cls, v: dict[str, str]) -> dict[str, str]:
        """Colours are pasted into CSS: only `#rgb`, `#rrggbb` or a named CSS colour (letters only) pass."""
        for tier, colour in v.items():
            if not (
                re.fullmatch(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})", colour)
                or colour.lower() in CSS_COLOR_NAMES
            ):
                raise ValueError(
                    f"tier_colors.{tier}: {colour!r} is not a colour; use #rgb, #rrggbb or a CSS colour name"
                )
        return v


@dataclass(frozen=True)
class ReportPaths:
    """Where the pages were written: the team page, one page per manager id, and the unassigned page."""

    index: Path
    managers: dict[str, Path] = field(default_factory=dict)
    unassigned: Path | None = None


# --------------------------------------------------------------------------------------------------- columns


_HORIZON_RE = re.compile(r"^pred_value_(\d+)d$")


def horizon_days_from_columns(columns: Sequence[str]) -> int:
    """The prediction horizon in days, read from the single `pred_value_{H}d` column."""
    found = sorted({int(m[1]) for c in columns if (m := _HORIZON_RE.match(str(c)))})
    if len(found) != 1:
        raise ValueError(f"scores need exactly one pred_value_<H>d column, found horizons {found}")
    return found[0]


def horizon_phrases(days: int) -> tuple[str, str]:
    """("within a year", "next year") style phrases for a horizon in days."""
    if days % 365 == 0:
        years = days // 365
        return (
            ("within a year", "next 12 months")
            if years == 1
            else (f"within {years} years", f"next {years} years")
        )
    return f"within {days} days", f"next {days} days"


def churn_phrase(prob: float, within: str) -> str:
    """'38% likely to stop buying within a year' (never prints 0% or 100% for a non-certain probability)."""
    if prob is None or (isinstance(prob, float) and math.isnan(prob)):
        return "Risk of leaving unknown"
    pct = round(float(prob) * 100)
    if pct == 0 and prob > 0:
        return f"Less than 1% likely to stop buying {within}"
    if pct == 100 and prob < 1:
        return f"More than 99% likely to stop buying {within}"
    return f"{pct}% likely to stop buying {within}"


def _required_columns(h: int) -> list[str]:
    return [
        "customer_id",
        "as_of",
        "model_version",
        f"pred_value_{h}d",
        f"pred_value_p10_{h}d",
        f"pred_value_p90_{h}d",
        f"pred_churn_prob_{h}d",
        "tier",
        "tier_reason",
        "rating",
        "flags",
    ]


def _window_column(columns: Sequence[str], stem: str, prefer: int) -> str | None:
    """`{stem}_{W}d` for W == prefer if present, else the longest window present, else None."""
    windows = sorted(int(m[1]) for c in columns if (m := re.match(rf"^{stem}_(\d+)d$", str(c))))
    if not windows:
        return None
    return f"{stem}_{prefer}d" if prefer in windows else f"{stem}_{windows[-1]}d"


# ------------------------------------------------------------------------------------------------ formatting


def _money(value: float, currency: str) -> str:
    if value is None or not np.isfinite(value):
        return "unknown"
    return f"{value:,.0f} {currency}".rstrip()


def _signed(value: float) -> str:
    return f"{value:+,.0f}"


def _pct(value: float) -> str:
    return "n/a" if value is None or not np.isfinite(value) else f"{value:.0%}"


def _is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NA or (isinstance(value, str) and not value.strip())


def _css_token(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "-", str(text).lower())


_SLUG_MAX = 48  # file names stay far below every file system's 255-byte limit, whatever the id


def page_slugs(manager_ids: Sequence[str]) -> dict[str, str]:
    """File-name part of each manager's page: bounded, unique under case folding, and stable.

    An id that is already a short, safe name (`AM001`) is used as it is, so account managers recognise their
    page. Any other id (unsafe characters, too long, the reserved `unassigned`, or equal to another id once case
    is ignored, as it would be on a case-insensitive file system) gets a readable prefix plus a hash of the
    exact id. The name depends only on the id itself, except where two ids would collide.
    """
    ids = list(dict.fromkeys(str(m) for m in manager_ids))
    folded: dict[str, int] = {}
    for mid in ids:
        folded[mid.casefold()] = folded.get(mid.casefold(), 0) + 1

    def plain(mid: str) -> bool:
        return (
            re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", mid) is not None
            and len(mid) <= _SLUG_MAX
            and mid.casefold() != UNASSIGNED_SLUG
            and folded[mid.casefold()] == 1
        )

    slugs: dict[str, str] = {}
    for mid in ids:
        if plain(mid):
            slugs[mid] = mid
        else:
            head = re.sub(r"[^a-z0-9_-]+", "_", mid.casefold()).strip("_")[:_SLUG_MAX] or "manager"
            slugs[mid] = f"{head}-{hashlib.sha256(mid.encode('utf-8')).hexdigest()[:12]}"
    names = [s.casefold() for s in slugs.values()] + [UNASSIGNED_SLUG]
    if len(set(names)) != len(names):  # a hash that collides with a plain id: astronomically unlikely
        raise ValueError("manager page names collide; rename the managers involved")
    return slugs


def _feature_label(name: str, registry: Mapping[str, Any]) -> str:
    """A short plain label for a feature: the head of its description plus its window ("Net profit, 365 days")."""
    spec = registry.get(name)
    if spec is None:
        return name.replace("_", " ")
    head = re.split(r":| \(| / ", spec.description, maxsplit=1)[0].strip()
    window = getattr(spec, "window_days", None)
    if window is not None and "in the last" not in head:
        return f"{head}, last {window} days"
    if name.endswith("_lifetime") and "before the cutoff" not in head:
        return f"{head}, all time"
    return head.replace(" before the cutoff", ", all time")


def _group_label(group: str) -> str:
    return group.replace("_", " ").capitalize()


# ------------------------------------------------------------------------------------------- matplotlib svg


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
class _ParetoPanel:
    title: str
    curve: pd.DataFrame  # `models.tiers.pareto_curves` output
    value_label: str
    effort_label: str


def _pareto_chart(panels: list[_ParetoPanel]) -> Markup:
    """One panel per ranking: cumulative share of profit and of service effort vs share of customers."""
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
        ax.axvline(20, color="#555555", linewidth=0.8, linestyle=":")
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


def _drivers_chart(
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
    axes[0].set_yticks(y, [_group_label(g) for g in groups])
    axes[0].invert_yaxis()
    fig.tight_layout()
    return _svg(fig)


def _rating_chart(counts: pd.DataFrame, tiers: list[str], colors: Mapping[str, str]) -> Markup:
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


# --------------------------------------------------------------------------------------- hand-drawn waterfall


@dataclass(frozen=True)
class WaterfallStep:
    """One row of a waterfall as drawn: a bar from x0 to x1 (SVG units) with its label and value text."""

    label: str
    title: str  # the feature column name (hover text for data scientists)
    x0: float
    x1: float
    y: float
    kind: str  # "base", "up", "down", "total"
    value_text: str


@dataclass(frozen=True)
class Waterfall:
    """A laid-out waterfall chart for one customer (drawn by the `waterfall` template macro)."""

    steps: list[WaterfallStep]
    width: int
    height: int
    zero_x: float
    plot_left: int
    plot_right: int
    row_height: int
    summary: str  # the chart in one sentence, for screen readers and print


_WF_WIDTH, _WF_LABEL_W, _WF_VALUE_W, _WF_ROW, _WF_PAD = 640, 250, 78, 22, 6


class _WaterfallSource:
    """The contribution matrix prepared once, so each customer's waterfall is a row lookup, not a pandas op."""

    def __init__(self, value_contrib: pd.DataFrame, registry: Mapping[str, Any]) -> None:
        features = value_contrib.drop(columns=[_BASE_COL], errors="ignore")
        self.names = np.array([str(c) for c in features.columns], dtype=object)
        self.labels = [_feature_label(n, registry) for n in self.names]
        self.matrix = features.to_numpy(dtype="float64", na_value=np.nan)
        self.matrix = np.nan_to_num(self.matrix, nan=0.0)
        if _BASE_COL in value_contrib:
            self.base = value_contrib[_BASE_COL].to_numpy(dtype="float64", na_value=np.nan)
        else:
            self.base = np.zeros(len(value_contrib))
        self.position = {str(cid): i for i, cid in enumerate(value_contrib.index)}

    def rows(self, customer_id: str, top: int) -> list[tuple[str, str, float]] | None:
        i = self.position.get(customer_id)
        if i is None:
            return None
        return _waterfall_rows(self.matrix[i], self.names, self.labels, float(self.base[i]), top)


def _waterfall_rows(
    values: np.ndarray, names: np.ndarray, labels: Sequence[str], base: float, top: int
) -> list[tuple[str, str, float]]:
    # Stable order: by |value| descending, then by name, so equal contributions never swap between runs.
    order = np.lexsort((names.astype(str), -np.abs(values)))
    shown = [int(i) for i in order[:top] if values[i] != 0.0]
    rest = np.ones(len(values), dtype=bool)
    rest[shown] = False
    rows = [("Average customer", _BASE_COL, base)]
    rows += [(labels[i], str(names[i]), float(values[i])) for i in shown]
    other = float(values[rest].sum())
    if rest.any() and other != 0.0:
        rows.append((f"Everything else ({int(rest.sum())} factors)", _OTHER_GROUP, other))
    rows.append(("Expected value", "prediction", base + float(values.sum())))
    return rows


def waterfall_steps(
    contrib: pd.Series, registry: Mapping[str, Any], top: int
) -> list[tuple[str, str, float]]:
    """(label, feature name, amount) rows: base, the `top` largest |contributions|, "everything else", prediction.

    `contrib` is one row of `value_contrib` (features plus `_base`). The middle amounts sum to prediction - base
    exactly, so the chart always closes; zero contributions are never shown by name.
    """
    return _WaterfallSource(contrib.to_frame().T, registry).rows(str(contrib.name), top) or []


def layout_waterfall(rows: list[tuple[str, str, float]], currency: str) -> Waterfall:
    """SVG geometry for waterfall rows (first = base, last = prediction, middle = steps)."""
    starts, ends = [], []
    running = 0.0
    for i, (_, _, amount) in enumerate(rows):
        if i == 0 or i == len(rows) - 1:
            starts.append(0.0)
            ends.append(amount)
            running = amount
        else:
            starts.append(running)
            running += amount
            ends.append(running)
    lo = min(0.0, *starts, *ends)
    hi = max(0.0, *starts, *ends)
    span = hi - lo if hi > lo else 1.0
    left, right = _WF_LABEL_W, _WF_WIDTH - _WF_VALUE_W

    def sx(v: float) -> float:
        return round(left + (v - lo) / span * (right - left), 1)

    steps = []
    for i, ((label, name, amount), a, b) in enumerate(zip(rows, starts, ends, strict=True)):
        kind = "base" if i == 0 else "total" if i == len(rows) - 1 else ("up" if amount >= 0 else "down")
        text = _money(amount, currency) if kind in ("base", "total") else _signed(amount)
        x0, x1 = sorted((sx(a), sx(b)))
        steps.append(WaterfallStep(label, name, x0, max(x1, x0 + 1.0), _WF_PAD + i * _WF_ROW, kind, text))
    ups = [r for r in rows[1:-1] if r[2] > 0]
    downs = [r for r in rows[1:-1] if r[2] < 0]
    summary = f"Starts from an average customer at {_money(rows[0][2], currency)}"
    if ups:
        summary += f"; raised most by {max(ups, key=lambda r: r[2])[0].lower()}"
    if downs:
        summary += f"; lowered most by {min(downs, key=lambda r: r[2])[0].lower()}"
    summary += f"; ends at {_money(rows[-1][2], currency)}."
    return Waterfall(
        steps, _WF_WIDTH, _WF_PAD * 2 + len(rows) * _WF_ROW, sx(0.0), left, right, _WF_ROW, summary
    )


# ------------------------------------------------------------------------------------------------ the model


def _tier_order(tiers: pd.Series, config: ReportConfig) -> list[str]:
    present = set(tiers.dropna().astype(str))
    ordered = [t for t in config.actions if t in present]
    return ordered + sorted(present - set(ordered))


def _flags_plain(flags: Any, phrases: Mapping[str, str]) -> list[str]:
    if _is_blank(flags):
        return []
    tokens = [f.strip() for f in str(flags).split(";") if f.strip()]
    return [phrases.get(f, f.replace("_", " ").capitalize()) for f in tokens]


def _reasons(row: Mapping[str, Any], kind: str) -> list[dict[str, str]]:
    out = []
    for k in range(1, _N_REASONS + 1):
        text = row.get(f"{kind}_reason_{k}")
        if _is_blank(text):
            continue
        feature = row.get(f"{kind}_reason_feature_{k}")
        out.append({"text": str(text), "feature": "" if _is_blank(feature) else str(feature)})
    return out


def _backtest_table(backtest: Any) -> dict[str, Any] | None:
    """Mean +- std per (model, metric) from the tidy backtest frame, models as rows and metrics as columns."""
    if not isinstance(backtest, pd.DataFrame) or backtest.empty:
        return None
    stats = backtest.groupby(["model", "metric"], sort=True)["value"].agg(["mean", "std", "count"])
    metrics = sorted(backtest["metric"].astype(str).unique())
    rows = []
    for model in sorted(backtest["model"].astype(str).unique()):
        cells = []
        for metric in metrics:
            if (model, metric) not in stats.index:
                cells.append("")
                continue
            s = stats.loc[(model, metric)]
            cell = f"{s['mean']:.3f}"
            if s["count"] > 1 and np.isfinite(s["std"]):
                cell += f" ± {s['std']:.3f}"
            cells.append(cell)
        rows.append({"model": model, "cells": cells})
    folds = int(backtest["fold"].nunique()) if "fold" in backtest else 0
    return {"metrics": metrics, "rows": rows, "folds": folds}


def _fingerprint_rows(fingerprint: Any) -> list[dict[str, str]]:
    if not isinstance(fingerprint, Mapping):
        return []
    rows = []
    for table in sorted(fingerprint):
        item = fingerprint[table]
        if isinstance(item, Mapping):
            n, digest = item.get("rows", ""), item.get("sha256", "")
        elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) >= 2:
            n, digest = item[0], item[1]
        else:
            n, digest = "", item
        rows.append(
            {"table": str(table), "rows": f"{n:,}" if isinstance(n, int) else str(n), "sha256": str(digest)}
        )
    return rows


def _manifest_rows(manifest: Any) -> list[dict[str, str]]:
    if not isinstance(manifest, Mapping):
        return [] if manifest is None else [{"key": "summary", "value": str(manifest)}]
    rows = []
    for key in manifest:
        value = manifest[key]
        if isinstance(value, list | tuple | set):
            value = ", ".join(sorted(str(v) for v in value)) or "none"
        rows.append({"key": str(key).replace("_", " ").capitalize(), "value": str(value)})
    return rows


_CARD_KNOWN = {"backtest", "data_fingerprint", "feature_manifest"}


def _model_card_view(card: Mapping[str, Any], h: int, currency: str) -> dict[str, Any]:
    facts = [
        ("Model", card.get("model_name", "unknown")),
        ("Version", card.get("model_version", "unknown")),
        ("Trained at", card.get("trained_at", "unknown")),
        ("Horizon", f"{card.get('horizon_days', h)} days"),
        ("Currency", card.get("currency", currency)),
    ]
    shown = {"model_name", "model_version", "trained_at", "horizon_days", "currency"}
    for key in sorted(k for k in card if k not in shown | _CARD_KNOWN):
        value = card[key]
        if isinstance(value, str | int | float | bool) or value is None:
            facts.append((str(key).replace("_", " ").capitalize(), value))
    return {
        "facts": [{"key": k, "value": str(v)} for k, v in facts],
        "backtest": _backtest_table(card.get("backtest")),
        "fingerprint": _fingerprint_rows(card.get("data_fingerprint")),
        "manifest": _manifest_rows(card.get("feature_manifest")),
    }


def _prepare(scores: pd.DataFrame, customers: pd.DataFrame | None) -> pd.DataFrame:
    """Scores with `manager` (str or "" for unassigned) and `customer_name` (str or "") attached; not mutated."""
    frame = scores.copy()
    frame["customer_id"] = frame["customer_id"].astype(str)
    names = pd.Series("", index=frame.index, dtype="str")
    if customers is not None and "customer_id" in customers:
        cust = customers.drop_duplicates("customer_id").set_index(customers["customer_id"].astype(str))
        if "name" in cust:
            names = frame["customer_id"].map(cust["name"]).fillna("").astype(str)
        if "account_manager_id" not in frame and "account_manager_id" in cust:
            frame["account_manager_id"] = frame["customer_id"].map(cust["account_manager_id"])
    frame["customer_name"] = names
    if "account_manager_id" not in frame:
        frame["account_manager_id"] = pd.NA
    manager = frame["account_manager_id"].astype("str")  # missing stays missing under the str dtype
    frame["manager"] = manager.where(manager.notna() & (manager.str.strip() != ""), "")
    return frame


def _split_status(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scored rows, the others) by the `status` column (`features.population`); all scored without it."""
    if "status" not in frame:
        return frame, frame.iloc[0:0]
    scored = (frame["status"].astype("str") == "scored").to_numpy()
    return frame[scored], frame[~scored]


def _status_counts(not_scored: pd.DataFrame, n_scored: int) -> list[dict[str, Any]]:
    """Customers per status for the team page, scored first."""
    counts = not_scored["status"].astype("str").value_counts().sort_index() if len(not_scored) else {}
    return [{"status": "scored", "count": n_scored}] + [
        {"status": str(k), "count": int(v)} for k, v in dict(counts).items()
    ]


def _status_rows(sub: pd.DataFrame) -> list[dict[str, str]]:
    """The customers of one manager that were not scored: id, name, status, the plain reason."""
    sub = sub.sort_values(["status", "customer_id"], kind="mergesort")
    return [
        {
            "customer_id": str(r["customer_id"]),
            "name": str(r["customer_name"]),
            "status": str(r["status"]).replace("_", " "),
            "reason": "" if _is_blank(r.get("status_reason")) else str(r["status_reason"]),
        }
        for r in sub.to_dict("records")
    ]


def _manager_directory(frame: pd.DataFrame, account_managers: pd.DataFrame | None) -> pd.DataFrame:
    """One row per manager id seen in the scores or the managers table: id, name, left_at."""
    ids = set(frame.loc[frame["manager"] != "", "manager"])
    table = pd.DataFrame({"account_manager_id": pd.Series(dtype="str")})
    if account_managers is not None and "account_manager_id" in account_managers:
        table = account_managers.copy()
        table["account_manager_id"] = table["account_manager_id"].astype(str)
        table = table.drop_duplicates("account_manager_id")
        ids |= set(table["account_manager_id"])
    out = pd.DataFrame({"account_manager_id": sorted(ids)})
    out = out.merge(table, on="account_manager_id", how="left")
    if "name" not in out:
        out["name"] = pd.NA
    if "left_at" not in out:
        out["left_at"] = pd.NaT
    return out


def _customer_rows(
    frame: pd.DataFrame, h: int, config: ReportConfig, within: str, show_names: bool
) -> list[dict[str, Any]]:
    """Table rows for one manager page, most valuable first (ties by customer id)."""
    cur = config.currency
    ordered = frame.sort_values(
        [f"pred_value_{h}d", "customer_id"], ascending=[False, True], kind="mergesort"
    )
    rows = []
    for rec in ordered.to_dict("records"):
        tier = str(rec["tier"])
        churn = churn_phrase(rec[f"pred_churn_prob_{h}d"], within)
        rows.append(
            {
                "customer_id": rec["customer_id"],
                "name": rec["customer_name"] if show_names else "",
                "tier": tier,
                "tier_class": _css_token(tier),
                "tier_reason": "" if _is_blank(rec.get("tier_reason")) else str(rec["tier_reason"]),
                "rating": "" if _is_blank(rec.get("rating")) else str(rec["rating"]),
                "value": _money(rec[f"pred_value_{h}d"], cur),
                "low": _money(rec[f"pred_value_p10_{h}d"], ""),
                "high": _money(rec[f"pred_value_p90_{h}d"], ""),
                "churn": churn,
                # The figure and the words are split only for layout; together they read as `churn`.
                "churn_pct": churn.split(" likely ", 1)[0] if " likely " in churn else "",
                "churn_rest": ("likely " + churn.split(" likely ", 1)[1]) if " likely " in churn else churn,
                "churn_high": bool(rec[f"pred_churn_prob_{h}d"] >= 0.5),
                "value_reasons": _reasons(rec, "value"),
                "churn_reasons": _reasons(rec, "churn"),
                "flags": _flags_plain(rec.get("flags"), config.flag_phrases),
                "action": config.actions.get(tier, ""),
            }
        )
    return rows


def _has_flag(flags: pd.Series, flag: str) -> pd.Series:
    return flags.fillna("").astype(str).str.split(";").map(lambda fs: flag in {f.strip() for f in fs})


def _tier_summary(
    frame: pd.DataFrame, tiers: list[str], h: int, config: ReportConfig
) -> list[dict[str, Any]]:
    value = frame[f"pred_value_{h}d"].astype("float64")
    total = float(value.sum())
    n = len(frame)
    out = []
    for tier in tiers:
        mask = frame["tier"].astype(str) == tier
        tier_value = float(value[mask].sum())
        out.append(
            {
                "tier": tier,
                "tier_class": _css_token(tier),
                "count": int(mask.sum()),
                "customer_share": _pct(mask.sum() / n) if n else "n/a",
                "value": _money(tier_value, config.currency),
                "negative": tier_value < 0,
                # A share of a non-positive total has no meaning (negative profit pools flip the signs).
                "value_share": _pct(tier_value / total) if total > 0 else "n/a",
                "action": config.actions.get(tier, ""),
            }
        )
    return out


def _drivers(
    value_contrib: pd.DataFrame, frame: pd.DataFrame, tiers: list[str], registry: Mapping[str, Any]
) -> tuple[pd.DataFrame, pd.Series, float] | None:
    """Mean value contribution per feature group (rows) and tier (columns), the all-customer mean per group,
    and the mean base value; None without contributions for the scored customers.

    Reads `models.explain.tier_drivers` (group level); groups are in registry order, then `model`.
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
    base = float(contrib[BASE_COLUMN].mean()) if BASE_COLUMN in contrib else float("nan")
    return means, overall, base


def _separators(
    value_contrib: pd.DataFrame,
    frame: pd.DataFrame,
    tiers: list[str],
    registry: Mapping[str, Any],
    currency: str,
    top: int = 6,
) -> list[dict[str, Any]]:
    """Per pair of neighbouring tiers (great vs good, good vs problem), the features whose mean value contribution
    differs most (`models.explain.tier_separators`), described from the registry."""
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
                        "label": registry[r.feature].description if r.feature in registry else r.feature,
                        "higher": _signed(r.contrib_mean_higher),
                        "lower": _signed(r.contrib_mean_lower),
                        "difference": _signed(r.contrib_difference),
                    }
                    for r in rows.itertuples()
                ],
            }
        )
    return out


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def _write_page(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def build_reports(
    scores: pd.DataFrame,
    value_contrib: pd.DataFrame,
    model_card: Mapping[str, Any],
    out_dir: Path | str,
    config: ReportConfig,
    registry: Mapping[str, Any],
    customers: pd.DataFrame | None = None,
    account_managers: pd.DataFrame | None = None,
) -> ReportPaths:
    """Write the team page and one page per account manager into `out_dir` (created if missing).

    See the module docstring for the input contract. Inputs are not mutated. Raises ValueError when required
    score columns are missing, `customer_id` is not unique, or the model card's currency differs from
    `config.currency`.
    """
    h = horizon_days_from_columns(list(scores.columns))
    missing = [c for c in _required_columns(h) if c not in scores]
    if missing:
        raise ValueError(f"scores are missing columns {missing}")
    if scores["customer_id"].duplicated().any():
        raise ValueError("scores must have one row per customer_id")
    card_currency = model_card.get("currency")
    if card_currency and card_currency != config.currency:
        raise ValueError(
            f"model card currency {card_currency!r} differs from report currency {config.currency!r}"
        )

    final = Path(out_dir).resolve()
    # Pages are written into a staging directory that replaces `out_dir` as a whole: no stale page of an
    # earlier run (a manager who left, a renamed id) survives beside the new ones.
    with atomic_directory(final, REPORT_MARKER) as out:
        env = _environment()
        within, next_period = horizon_phrases(h)
        frame = _prepare(scores, customers)
        frame, not_scored = _split_status(frame)
        tiers = _tier_order(frame["tier"], config)
        as_of = pd.to_datetime(frame["as_of"]).max()
        versions = sorted(frame["model_version"].dropna().astype(str).unique())
        common = {
            "as_of": "unknown" if pd.isna(as_of) else as_of.strftime("%Y-%m-%d"),
            "model_version": ", ".join(versions) or "unknown",
            "horizon_days": h,
            "within": within,
            "next_period": next_period,
            "currency": config.currency,
            "tier_colors": config.tier_colors,
            "actions": [
                {"tier": t, "tier_class": _css_token(t), "text": config.actions.get(t, "")} for t in tiers
            ],
            "status_counts": _status_counts(not_scored, len(frame)),
        }

        directory = _manager_directory(pd.concat([frame, not_scored]), account_managers)
        others = {mid: _status_rows(sub) for mid, sub in not_scored.groupby("manager", sort=True)}
        slugs = page_slugs(list(directory["account_manager_id"]))  # every name known before a page is written

        contrib = value_contrib.copy()
        contrib.index = contrib.index.astype(str)
        source = _WaterfallSource(contrib, registry)
        value_col = f"pred_value_{h}d"
        at_risk = _has_flag(frame["flags"], "at_risk")
        frame = frame.assign(_at_risk=at_risk)

        def manager_page(manager_id: str, title: str, sub: pd.DataFrame, extra: dict[str, Any]) -> str:
            top = sub.sort_values([value_col, "customer_id"], ascending=[False, True], kind="mergesort")
            top = top.head(config.top_customers_per_manager)
            charts = []
            for rec in top[["customer_id", "customer_name", value_col]].to_dict("records"):
                rows = source.rows(rec["customer_id"], config.waterfall_features)
                if rows is None:
                    continue
                charts.append(
                    {
                        "customer_id": rec["customer_id"],
                        "name": rec["customer_name"],
                        "value": _money(rec[value_col], config.currency),
                        "chart": layout_waterfall(rows, config.currency),
                    }
                )
            return env.get_template("manager.html.j2").render(
                **common,
                **extra,
                title=title,
                manager_id=manager_id,
                summary=_tier_summary(sub, tiers, h, config),
                n_customers=len(sub),
                total_value=_money(float(sub[value_col].sum()), config.currency),
                at_risk=int(sub["_at_risk"].sum()),
                rows=_customer_rows(sub, h, config, within, show_names=True),
                waterfalls=charts,
                not_scored=others.get(manager_id, []),
            )

        empty = frame.iloc[0:0]
        manager_paths: dict[str, Path] = {}
        links = []
        frame_groups = {mid: sub for mid, sub in frame.groupby("manager", sort=True)}
        for rec in directory.to_dict("records"):
            mid = rec["account_manager_id"]
            sub = frame_groups.get(mid, empty)
            name = "" if _is_blank(rec.get("name")) else str(rec["name"])
            left_at = rec.get("left_at")
            left = (
                "" if _is_blank(left_at) or pd.isna(left_at) else pd.Timestamp(left_at).strftime("%Y-%m-%d")
            )
            path = out / f"manager-{slugs[mid]}.html"
            html = manager_page(mid, name or mid, sub, {"manager_name": name, "left_at": left})
            _write_page(path, html)
            manager_paths[mid] = path
            links.append(_manager_link(path.name, mid, name, left, sub, value_col, config))

        unassigned_path = None
        if "" in frame_groups or "" in others:
            sub = frame_groups.get("", empty)
            unassigned_path = out / f"manager-{UNASSIGNED_SLUG}.html"
            html = manager_page(
                "", "Customers without an account manager", sub, {"manager_name": "", "left_at": ""}
            )
            _write_page(unassigned_path, html)
            links.append(
                _manager_link(unassigned_path.name, "", "No account manager", "", sub, value_col, config)
            )

        index_path = out / "index.html"
        _write_page(
            index_path, _team_page(env, common, frame, contrib, tiers, h, config, registry, model_card, links)
        )
    return ReportPaths(
        index=final / index_path.name,
        managers={mid: final / path.name for mid, path in manager_paths.items()},
        unassigned=None if unassigned_path is None else final / unassigned_path.name,
    )


def _manager_link(
    href: str, mid: str, name: str, left: str, sub: pd.DataFrame, value_col: str, config: ReportConfig
) -> dict[str, Any]:
    counts = sub["tier"].astype(str).value_counts()
    return {
        "href": href,
        "id": mid,
        "name": name,
        "left_at": left,
        "count": len(sub),
        "tiers": {t: int(counts.get(t, 0)) for t in config.actions},
        "value": _money(float(sub[value_col].sum()), config.currency),
        "at_risk": int(sub["_at_risk"].sum()),
    }


def _team_page(
    env: Environment,
    common: dict[str, Any],
    frame: pd.DataFrame,
    contrib: pd.DataFrame,
    tiers: list[str],
    h: int,
    config: ReportConfig,
    registry: Mapping[str, Any],
    model_card: Mapping[str, Any],
    links: list[dict[str, Any]],
) -> str:
    value_col = f"pred_value_{h}d"
    pareto = None
    effort_col = _window_column(list(frame.columns), "service_effort_hours", h)
    if effort_col and len(frame):
        window = int(effort_col.rsplit("_", 1)[1][:-1])
        by_id = frame.set_index("customer_id")
        panels = [
            _ParetoPanel(
                f"Expected, {common['next_period']}",
                pareto_curves(by_id, value_col, effort_col, n_points=_PARETO_POINTS),
                "Expected profit",
                f"Service hours, last {window} days",
            )
        ]
        profit_col = _window_column(list(frame.columns), "profit_net", h)
        if profit_col:
            panels.append(
                _ParetoPanel(
                    f"Actual, last {window} days",
                    pareto_curves(by_id, profit_col, effort_col, n_points=_PARETO_POINTS),
                    f"Net profit, last {window} days",
                    f"Service hours, last {window} days",
                )
            )
        expected = panels[0].curve
        pareto = {
            "chart": _pareto_chart(panels),
            "profit_top20": _pct(float(np.interp(0.2, expected["customer_share"], expected["value_share"]))),
            "effort_top20": _pct(float(np.interp(0.2, expected["customer_share"], expected["effort_share"]))),
            "given_back": _money(
                float(frame[value_col].clip(lower=0).sum() - frame[value_col].sum()), config.currency
            ),
            "has_losses": bool((frame[value_col] < 0).any()),
            "columns": [value_col, effort_col] + ([profit_col] if profit_col else []),
            "window": window,
        }
    drivers = _drivers(contrib, frame, tiers, registry)
    drivers_view = None
    if drivers is not None:
        means, overall, base = drivers
        drivers_view = {
            "chart": _drivers_chart(means, tiers, config.tier_colors, config.currency),
            "base": _money(base, config.currency),
            "groups": [
                {
                    "label": _group_label(g),
                    "cells": [_signed(v) if np.isfinite(v) else "" for v in means.loc[g]],
                    "overall": _signed(overall[g]) if np.isfinite(overall[g]) else "",
                }
                for g in means.index
            ],
        }
    separators = _separators(contrib, frame, tiers, registry, config.currency)
    rating = frame["rating"]
    ratings = rating.astype("object").where(rating.notna(), "unrated").astype(str)
    if isinstance(rating.dtype, pd.CategoricalDtype):
        # assign_tiers' ratings are ordered categoricals (A..D or 1..10): keep that order, not the string one.
        grade_order = [str(c) for c in rating.cat.categories]
    else:
        grade_order = sorted(set(ratings) - {"unrated"}, key=lambda g: (len(g), g) if g.isdigit() else (0, g))
    counts = pd.crosstab(ratings, frame["tier"].astype(str))
    counts = counts.reindex([g for g in [*grade_order, "unrated"] if g in counts.index])
    rating_view = {
        "chart": _rating_chart(counts, tiers, config.tier_colors) if len(counts) else Markup(""),
        "rows": [
            {
                "rating": r,
                "cells": [int(counts.loc[r].get(t, 0)) for t in tiers],
                "total": int(counts.loc[r].sum()),
            }
            for r in counts.index
        ],
    }
    return env.get_template("index.html.j2").render(
        **common,
        title="Customer value: team overview",
        n_customers=len(frame),
        total_value=_money(float(frame[value_col].sum()), config.currency),
        at_risk=int(frame["_at_risk"].sum()),
        tiers=tiers,
        summary=_tier_summary(frame, tiers, h, config),
        pareto=pareto,
        drivers=drivers_view,
        separators=separators,
        ratings=rating_view,
        card=_model_card_view(model_card, h, config.currency),
        managers=links,
    )
