"""The score columns the reports read, found by name: the horizon, the required columns, the reason slots,
windowed feature columns. What scoring wrote decides what is shown, never a number repeated here."""

from __future__ import annotations

import re
from collections.abc import Sequence

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
        f"pred_value_p10_{h}d",
        f"pred_value_p90_{h}d",
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
