"""The score columns the reports read, found by name: the horizon, the required columns, the value interval, the
reason slots, windowed feature columns. What scoring wrote decides what is shown, never a number repeated here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_HORIZON_RE = re.compile(r"^pred_value_(\d+)d$")


def horizon_days_from_columns(columns: Sequence[str]) -> int:
    """The prediction horizon in days, read from the single `pred_value_{H}d` column."""
    found = sorted({int(m[1]) for c in columns if (m := _HORIZON_RE.match(str(c)))})
    if len(found) != 1:
        raise ValueError(f"scores need exactly one pred_value_<H>d column, found horizons {found}")
    return found[0]


def required_columns(h: int) -> list[str]:
    return [
        "customer_id",
        "as_of",
        "model_version",
        f"pred_value_{h}d",
        f"pred_churn_prob_{h}d",
        "tier",
        "tier_reason",
        "rating",
        "flags",
    ]


def window_column(columns: Sequence[str], stem: str, prefer: int) -> str | None:
    """`{stem}_{W}d` for W == prefer if present, else the longest window present, else None."""
    windows = sorted(int(m[1]) for c in columns if (m := re.match(rf"^{stem}_(\d+)d$", str(c))))
    if not windows:
        return None
    return f"{stem}_{prefer}d" if prefer in windows else f"{stem}_{windows[-1]}d"


def reason_slots(columns: Sequence[str], kind: str) -> list[int]:
    """The reason numbers k of the `{kind}_reason_{k}` columns present, in order (scoring writes 1..n with
    n = `explain.n_reasons`; `models.explain.top_reasons`)."""
    pattern = re.compile(rf"^{re.escape(kind)}_reason_(\d+)$")
    return sorted({int(m[1]) for c in columns if (m := pattern.match(str(c)))})


@dataclass(frozen=True)
class Interval:
    """The per-customer value interval as scoring wrote it: the two `pred_value_p<q>_{h}d` columns and their
    quantiles (`models.interval_quantiles`; the column names follow them, `models.bundle`: 0.1 -> `p10`)."""

    low: str
    high: str
    low_quantile: float
    high_quantile: float

    @property
    def label(self) -> str:
        """ "P10-P90" for the 0.1/0.9 quantiles, "P5-P95" for 0.05/0.95."""
        return f"P{round(self.low_quantile * 100)}-P{round(self.high_quantile * 100)}"


def interval_columns(columns: Sequence[str], h: int) -> Interval:
    """The low and high interval columns `pred_value_p<q>_{h}d` present in the scores, whatever their quantiles."""
    pattern = re.compile(rf"^pred_value_p(\d+)_{h}d$")
    found = sorted((int(m[1]), str(c)) for c in columns if (m := pattern.match(str(c))))
    if len(found) != 2 or found[0][0] == found[1][0]:
        raise ValueError(
            f"scores need two interval columns pred_value_p<q>_{h}d (low and high quantile), "
            f"found {[c for _, c in found]}"
        )
    (low_q, low), (high_q, high) = found
    return Interval(low, high, low_q / 100, high_q / 100)
