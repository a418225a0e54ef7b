"""Typed, frozen settings for the feature table and the labels.

The YAML loader in `pipelines` composes these; nothing here reads files. Both models reject unknown keys so a
typo in a config file fails loudly, and no field has a default here: the values live in `configs/default.yaml`.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class FeatureConfig(BaseModel):
    """How the point-in-time feature table is computed.

    Attributes:
        windows_days: look-back windows in days; every windowed feature exists once per window
            (`profit_net_90d`, `profit_net_365d`). Positive, distinct.
        margin_rate_when_cost_missing: gross margin as a share of revenue, used for orders without a cost.
        service_hourly_cost: currency per hour of service effort (tickets.effort_minutes / 60).
        cost_per_ticket: fixed currency per ticket, on top of the effort hours.
        trend_window_days: margin trend compares the last N days with the N days before.
        active_within_days: a referred customer counts as "still active" if they ordered within N days before
            the cutoff.
        seasonal_profile: 12 positive monthly weights (January first) of the company's business through the
            year, used for the seasonal index where less than a year of order history exists
            (`features.seasonal`); None = no profile (the index is then missing there and totals are said to
            be extrapolated without a seasonal history).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    windows_days: tuple[int, ...]
    margin_rate_when_cost_missing: float = Field(ge=0.0, le=1.0)
    service_hourly_cost: float = Field(ge=0.0)
    cost_per_ticket: float = Field(ge=0.0)
    trend_window_days: int = Field(gt=0)
    active_within_days: int = Field(gt=0)
    seasonal_profile: tuple[float, ...] | None

    @field_validator("windows_days")
    @classmethod
    def _windows_positive_distinct(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value:
            raise ValueError("windows_days needs at least one window")
        if any(w <= 0 for w in value):
            raise ValueError(f"windows_days must be positive, got {value}")
        if len(set(value)) != len(value):
            raise ValueError(f"windows_days must be distinct, got {value}")
        # Sorted so that column order does not depend on how the YAML lists them.
        return tuple(sorted(value))

    @field_validator("seasonal_profile")
    @classmethod
    def _profile_twelve_positive(cls, value: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if value is not None and (len(value) != 12 or any(not (v > 0) for v in value)):
            raise ValueError(
                f"seasonal_profile needs 12 positive monthly weights (January first), got {value}"
            )
        return value


#: Label settings added since models began to carry theirs, with the behaviour a model pickled before each
#: was trained with: its unpickled `label_config` lacks the field (`models.bundle.CustomerValueModel` fills it
#: from here), which scoring reads back as the model's settings (was: "labels.reach_last_year: Field required",
#: exit 2, for every model registered before the setting).
LABEL_SETTINGS_BEFORE: dict[str, object] = {"reach_last_year": False}

#: The same for the feature settings (`feature_config`): a model pickled before `seasonal_profile` existed (models
#: carried their settings a day before it) was trained without a seasonal profile (was: exit 2, "the
#: configuration does not fit the model's features (... write rule columns with {w_long} ...):
#: features.seasonal_profile: Field required", a stop that named the rules, not the model's age).
FEATURE_SETTINGS_BEFORE: dict[str, object] = {"seasonal_profile": None}


class LabelConfig(BaseModel):
    """How labels and the multi-cutoff training set are built.

    Attributes:
        horizon_days: label horizon; labels read events in [cutoff, cutoff + horizon).
        n_cutoffs: how many training cutoffs (months back from as_of - horizon).
        cutoff_step_months: months between consecutive cutoffs, or "auto" (`step_months`): the fewest whole
            months that let half of the cutoffs span one horizon, so 1 for horizons up to half a year (a training
            cutoff at every time of year, which the season-matched total correction reads) and 2 for a year
            with 12 cutoffs (room for the one-horizon embargo of the validation slices).
        exclude_cancelled: customers with customers.churned_at < cutoff are not eligible at that cutoff.
        max_lapse_days: customers whose last order (or signup, when they never ordered) is more than this many
            days before the cutoff are not eligible; None disables the rule.
        require_order_before_cutoff: only customers with at least one order before the cutoff are eligible.
        max_days_past_data: train and backtest refuse an as-of more than this many days after the day after the
            last order (label windows past the data would read as churn); quiet days at the end are allowed.
        reach_last_year: horizons under a year, n_cutoffs > 1: where n_cutoffs would stop short of the as-of's
            time of year one year earlier, more cutoffs (same step) reach one step past it, so the model is
            fitted on, and its season-matched total corrected by, horizons at the time of year it scores at
            (only when the earliest has one horizon plus three months of orders before it, so a shorter history
            keeps the cutoffs it had).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    horizon_days: int = Field(gt=0)
    n_cutoffs: int = Field(gt=0)
    cutoff_step_months: int | Literal["auto"]
    exclude_cancelled: bool
    max_lapse_days: int | None = Field(gt=0)
    require_order_before_cutoff: bool
    max_days_past_data: int = Field(ge=0)
    reach_last_year: bool

    @field_validator("cutoff_step_months")
    @classmethod
    def _step_positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError(f"cutoff_step_months must be a positive number of months or 'auto', got {value}")
        return value

    def step_months(self, horizon_days: int | None = None) -> int:
        """Months between training cutoffs for a `horizon_days` horizon (default: this config's horizon).

        "auto": the smallest whole number of months s with (n_cutoffs // 2) x s months (30.4375 days each) at
        least one horizon: 1 for a 90- or 181-day horizon, 2 for 365 days with 12 cutoffs (as before "auto").
        """
        if self.cutoff_step_months != "auto":
            return int(self.cutoff_step_months)
        h = self.horizon_days if horizon_days is None else horizon_days
        half = max(1, self.n_cutoffs // 2)
        return max(1, math.ceil(h / (half * 30.4375) - 1e-9))
