"""The tier rules and their configuration (the `tiers:` section of the YAML config), as validated data.

`models.tiers` applies them; this module only says what a rule, the "great" rule, the rating scale, the
stability rule and the whole `TierConfig` are, and how one threshold rule is evaluated on a frame.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The tier names, worst to best (`models.tiers.TIER_NAMES` keeps this order).
TierName = Literal["problem", "good", "great"]
_LETTERS = ("D", "C", "B", "A")
_OPS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}


def _check_template(column: str) -> str:
    """A column name may contain `{h}` (horizon days) and nothing else to fill."""
    try:
        column.format(h=365)
    except (KeyError, IndexError, ValueError) as err:
        raise ValueError(f"column {column!r} may only use the placeholder {{h}}") from err
    return column


class ThresholdRule(BaseModel):
    """`column op threshold` (or `column op threshold x scale_column`), evaluated per customer.

    Attributes:
        name: short identifier shown in `tier_reason` / `flags` (lower snake case).
        column: input column; `{h}` is replaced by the horizon in days (the window placeholders `{w_long}` /
            `{w_short}` of the YAML are filled by the config loader, `pipelines.config.expand_column`).
        op: comparison, one of ">", ">=", "<", "<=".
        threshold: the number compared with (a share when `scale_column` is set).
        scale_column: when set, the right-hand side is `threshold * scale_column` row by row
            (e.g. cost to serve > 0.5 x margin; with a margin <= 0 any positive cost fires).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    column: str
    op: Literal[">", ">=", "<", "<="]
    threshold: float = Field(allow_inf_nan=False)
    scale_column: str | None = None

    @field_validator("column", "scale_column")
    @classmethod
    def _columns_ok(cls, value: str | None) -> str | None:
        return None if value is None else _check_template(value)

    def columns(self, horizon_days: int) -> tuple[str, ...]:
        """The input columns for a horizon."""
        cols = [self.column.format(h=horizon_days)]
        if self.scale_column is not None:
            cols.append(self.scale_column.format(h=horizon_days))
        return tuple(cols)

    def describe(self, horizon_days: int) -> str:
        """The rule as text, e.g. `profit_cost_to_serve_365d > 0.5 x profit_margin_365d`."""
        cols = self.columns(horizon_days)
        rhs = f"{self.threshold:g}" if len(cols) == 1 else f"{self.threshold:g} x {cols[1]}"
        return f"{cols[0]} {self.op} {rhs}"

    def evaluate(self, frame: pd.DataFrame, horizon_days: int) -> tuple[np.ndarray, np.ndarray] | None:
        """(fired, missing) boolean arrays, or None when an input column is absent (rule skipped).

        `missing` = some input is NaN for that row; such rows never fire.
        """
        cols = self.columns(horizon_days)
        if any(c not in frame.columns for c in cols):
            return None
        lhs = as_float(frame[cols[0]])
        rhs = np.full(len(frame), self.threshold)
        missing = np.isnan(lhs)
        if len(cols) == 2:
            scale = as_float(frame[cols[1]])
            missing |= np.isnan(scale)
            rhs = self.threshold * scale
        with np.errstate(invalid="ignore"):
            fired = _OPS[self.op](lhs, rhs) & ~missing
        return fired, missing


class FlagRule(ThresholdRule):
    """A threshold rule that adds a flag; `only_tiers` restricts it (e.g. at_risk only for great customers)."""

    only_tiers: tuple[TierName, ...] | None = None


class GreatRule(BaseModel):
    """Who is "great" among the non-problem customers.

    Attributes:
        basis: "count" = the top `top_share` of customers by count (ranked by value); "value" = the smallest
            set of top-ranked customers whose cumulative positive value reaches `top_share` of the base's total
            positive value.
        top_share: share of customers (count) or of positive value (value), in (0, 1].
        churn_column: churn probability column (`{h}` = horizon days).
        max_churn_prob: great customers must have a known churn probability strictly below this.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    basis: Literal["count", "value"]
    top_share: float = Field(gt=0.0, le=1.0)
    churn_column: str
    max_churn_prob: float = Field(gt=0.0, le=1.0)

    @field_validator("churn_column")
    @classmethod
    def _column_ok(cls, value: str) -> str:
        return _check_template(value)


class RatingConfig(BaseModel):
    """Rating from the expected net value.

    Attributes:
        scale: "letters" (D < C < B < A, 3 cut points) or "score10" (1 < ... < 10, 9 cut points).
        method: "quantile" = cut points are quantiles in (0, 1) of the known values of the scored base (a
            relative grade: A = the best customers of this base); "absolute" = cut points are currency values.
        cut_points: strictly increasing; a value at or above cut point k gets grade k + 1 (counted from the
            lowest grade): 3 for letters (quantiles (0.25, 0.5, 0.8) make A the Pareto top 20%), 9 for score10
            (deciles for quantiles).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    scale: Literal["letters", "score10"]
    method: Literal["quantile", "absolute"]
    cut_points: tuple[float, ...]

    @model_validator(mode="after")
    def _cut_points_fit(self) -> RatingConfig:
        cuts = self.cut_points
        expected = 3 if self.scale == "letters" else 9
        if len(cuts) != expected:
            raise ValueError(f"rating scale {self.scale!r} needs {expected} cut points, got {len(cuts)}")
        if any(not math.isfinite(c) for c in cuts) or any(
            b <= a for a, b in zip(cuts, cuts[1:], strict=False)
        ):
            raise ValueError(f"rating cut points must be finite and strictly increasing, got {cuts}")
        if self.method == "quantile" and not all(0.0 < c < 1.0 for c in cuts):
            raise ValueError(f"quantile cut points must lie in (0, 1), got {cuts}")
        return self

    def grades(self) -> list[str] | list[int]:
        """Grade labels from the lowest to the highest."""
        return list(_LETTERS) if self.scale == "letters" else list(range(1, 11))


class StabilityConfig(BaseModel):
    """How reported tiers resist flapping between runs (`models.stability.stable_tiers` has the rules).

    Attributes:
        rule: "none" (the raw tier), "margin" (move only when the value passes the boundary by a margin) or
            "consecutive" (move when the new raw tier has held for `runs` runs).
        margin_share: the margin as a share of the run's great boundary (rule "margin").
        runs: consecutive runs a new raw tier must hold before it is reported (rule "consecutive").
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: Literal["none", "margin", "consecutive"]
    margin_share: float = Field(ge=0.0, lt=1.0)
    runs: int = Field(ge=1)


class TierConfig(BaseModel):
    """Every tier, rating and flag rule, as data (the `tiers:` section of the YAML config).

    Attributes:
        value_column: expected net value over the horizon (currency), the ranking and rating basis.
        problem_rules: applied in order; the first that fires decides `tier_reason`.
        great: the Pareto rule for "great" (see `GreatRule`).
        rating: the rating scale and cut points (see `RatingConfig`).
        flag_rules: each adds its name to `flags` when it fires, in this order.
        stability: the rule that keeps reported tiers from flapping between runs (see `StabilityConfig`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    value_column: str
    problem_rules: tuple[ThresholdRule, ...]
    great: GreatRule
    rating: RatingConfig
    flag_rules: tuple[FlagRule, ...]
    stability: StabilityConfig

    @field_validator("value_column")
    @classmethod
    def _column_ok(cls, value: str) -> str:
        return _check_template(value)

    @model_validator(mode="after")
    def _names_unique(self) -> TierConfig:
        for kind, rules in (("problem_rules", self.problem_rules), ("flag_rules", self.flag_rules)):
            names = [r.name for r in rules]
            if len(set(names)) != len(names):
                raise ValueError(f"{kind} names must be unique, got {names}")
        return self


def as_float(series: pd.Series) -> np.ndarray:
    """Float64 values with NaN for missing (nullable dtypes included)."""
    return series.to_numpy(dtype=np.float64, na_value=np.nan)
