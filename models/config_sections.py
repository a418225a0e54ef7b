"""The typed settings of the `explain:` and `profile:` sections (with `profile.lookalike`), apart from the code that
uses them (`models.explain`, `models.profile`, `models.lookalike`): `pipelines.config` reads them for every command,
and `cvp validate` or `cvp features` should not import the reasons', profile's and lookalike's code to do it."""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ExplainConfig", "LookalikeConfig", "ProfileConfig"]


class ExplainConfig(BaseModel):
    """Explanation settings (the `explain:` section of the YAML config).

    Attributes:
        n_reasons: reasons per customer and model in reports (`top_reasons(n=...)`).
        check_rows: rows spot-checked against LightGBM's own `pred_contrib` per model in a scoring run (the
            pandas engine spreads them over its chunks; the Spark engine checks them per bucket). LightGBM's exact
            TreeSHAP is slow on deep trees, so a run checks a fixed sample, not a share of the base.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_reasons: int = Field(ge=1, le=20)
    check_rows: int = Field(ge=0)


class LookalikeConfig(BaseModel):
    """The `profile.lookalike:` settings.

    Attributes:
        early_days: a customer whose signup lies within this many days before the cutoff is "new".
        top_share: "great after the horizon" = net profit over the horizon in this top share of the customers
            known at the cutoff (and positive).
        great_probability: from this P(great), the provisional tier suggestion is the best tier.
        n_cutoffs, cutoff_step_months: the training cutoffs (as `labels:`; their own, so a short `labels:` setting
            for the main models does not starve this one of new customers).
        min_training_rows: fewer new-customer rows over the training cutoffs: no model, and the reason is said.
        n_estimators, learning_rate, num_leaves, min_child_samples, seed: the two small LightGBM models.
        n_reasons: reasons per new customer.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    early_days: int = Field(ge=1)
    top_share: float = Field(gt=0.0, lt=1.0)
    great_probability: float = Field(gt=0.0, lt=1.0)
    n_cutoffs: int = Field(ge=2)
    cutoff_step_months: int = Field(ge=1)
    min_training_rows: int = Field(ge=10)
    n_estimators: int = Field(ge=1)
    learning_rate: float = Field(gt=0.0)
    num_leaves: int = Field(ge=2)
    min_child_samples: int = Field(ge=1)
    seed: int
    n_reasons: int = Field(ge=1)


class ProfileConfig(BaseModel):
    """Settings of the ideal-customer profile and payback (the `profile:` section of the YAML config).

    Attributes:
        attributes: customers columns that describe who a customer is (text); absent columns are skipped.
        min_support: an attribute value held by fewer customers is marked "too little support" and never
            defines the profile.
        confidence: two-sided level of the Wilson interval of the share of great customers.
        match_min_attributes: a customer matches the profile when at least this many of their attribute values
            are profile values (supported, Wilson lower bound above the base share of great customers).
        behaviour_top: behaviour features listed in the profile.
        acquisition_cost_by_channel: cost of winning one customer per acquisition channel (currency), used when
            `customers.acquisition_cost` is absent or empty for a customer; a channel not listed stays unknown.
        new_customer_actions: what a manager does first with a new customer, per provisional tier.
        lookalike: the lookalike model for new customers (`LookalikeConfig`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    attributes: tuple[str, ...] = Field(min_length=1)
    min_support: int = Field(ge=1)
    confidence: float = Field(gt=0.5, lt=1.0)
    match_min_attributes: int = Field(ge=1)
    behaviour_top: int = Field(ge=1)
    acquisition_cost_by_channel: dict[str, float]
    new_customer_actions: dict[str, str]
    lookalike: LookalikeConfig

    @field_validator("acquisition_cost_by_channel")
    @classmethod
    def _costs_ok(cls, value: dict[str, float]) -> dict[str, float]:
        bad = {k: v for k, v in value.items() if not math.isfinite(v) or v < 0}
        if bad:
            raise ValueError(f"acquisition costs must be finite and >= 0, got {bad}")
        return value
