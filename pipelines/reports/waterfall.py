"""Per-customer waterfalls: the steps from an average customer to the prediction, and their SVG layout.

The waterfalls are laid out here and drawn by the `waterfall` template macro: 2,000 matplotlib figures would cost
minutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.explain import BASE_COLUMN
from pipelines.reports.phrases import BASE_WORDS, money, plain_feature

_BASE_COL = BASE_COLUMN
_OTHER_GROUP = "other"


@dataclass(frozen=True)
class WaterfallStep:
    """One row of a waterfall as drawn: a bar from x0 to x1 (SVG units) with its label and value text."""

    label: str
    title: str  # hover text in a manager's words (never a column name: `phrases.plain_feature`)
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


_WF_WIDTH, _WF_LABEL_W, _WF_VALUE_W, _WF_ROW, _WF_PAD = 640, 290, 96, 22, 6  # value: "-123,456 EUR"
#: the characters of a step's label that fit its 282 units of 12px text (about 6.7 a character; the whole label is the
#: hover text). Round 38, was 44 in 242 units: "Share of the company's revenue in the last …" ran past the
#: chart's left edge in chromium and read "e of the company's revenue in the last …".
_WF_LABEL_CHARS = 40


def _short(label: str) -> str:
    return label if len(label) <= _WF_LABEL_CHARS else label[: _WF_LABEL_CHARS - 1].rstrip() + "…"


class WaterfallSource:
    """The contribution matrix prepared once, so each customer's waterfall is a row lookup, not a pandas op."""

    def __init__(self, value_contrib: pd.DataFrame, registry: Mapping[str, Any]) -> None:
        features = value_contrib.drop(columns=[_BASE_COL], errors="ignore")
        self.names = np.array([str(c) for c in features.columns], dtype=object)
        self.labels = [plain_feature(n, registry) for n in self.names]
        self.matrix = features.to_numpy(dtype="float64", na_value=np.nan)
        self.matrix = np.nan_to_num(self.matrix, nan=0.0)
        if _BASE_COL in value_contrib:
            self.base = value_contrib[_BASE_COL].to_numpy(dtype="float64", na_value=np.nan)
        else:
            self.base = np.zeros(len(value_contrib))
        self.position = {str(cid): i for i, cid in enumerate(value_contrib.index)}

    def rows(self, customer_id: str, top: int) -> list[tuple[str, str, float]] | None:
        """(label, feature name, amount) rows: base, the `top` largest |contributions|, "everything else",
        prediction; None for a customer without contributions.

        The middle amounts sum to prediction - base exactly, so the chart always closes; zero contributions are
        never shown by name.
        """
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
        # every step's amount with its currency (round 38, was "+2,075" beside "1,200 EUR" and "6,205 EUR")
        text = money(amount, currency, sign=kind not in ("base", "total"))
        x0, x1 = sorted((sx(a), sx(b)))
        title = BASE_WORDS if name == _BASE_COL else label
        steps.append(
            WaterfallStep(_short(label), title, x0, max(x1, x0 + 1.0), _WF_PAD + i * _WF_ROW, kind, text)
        )
    ups = [r for r in rows[1:-1] if r[2] > 0]
    downs = [r for r in rows[1:-1] if r[2] < 0]
    summary = f"Starts from an average customer at {money(rows[0][2], currency)}"
    if ups:
        summary += f"; raised most by {max(ups, key=lambda r: r[2])[0].lower()}"
    if downs:
        summary += f"; lowered most by {min(downs, key=lambda r: r[2])[0].lower()}"
    summary += f"; ends at {money(rows[-1][2], currency)}."
    return Waterfall(
        steps, _WF_WIDTH, _WF_PAD * 2 + len(rows) * _WF_ROW, sx(0.0), left, right, _WF_ROW, summary
    )
