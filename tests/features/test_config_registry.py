"""Config validation and the registry's phrases (coverage of produced columns is in test_feature_table)."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from features.registry import describe_value, feature_registry, feature_spec
from tests.settings import defaults, override


@pytest.mark.parametrize(
    "kwargs",
    [
        {"windows_days": ()},
        {"windows_days": (0, 90)},
        {"windows_days": (-5,)},
        {"windows_days": (90, 90)},
        {"margin_rate_when_cost_missing": 1.5},
        {"margin_rate_when_cost_missing": -0.1},
        {"service_hourly_cost": -1.0},
        {"cost_per_ticket": -1.0},
        {"trend_window_days": 0},
        {"active_within_days": -30},
        {"unknown_key": 1},
    ],
)
def test_invalid_feature_config_is_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        override("features", **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"horizon_days": 0},
        {"n_cutoffs": 0},
        {"cutoff_step_months": 0},
        {"max_lapse_days": 0},
        {"horizont_days": 365},
    ],
)
def test_invalid_label_config_is_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        override("labels", **kwargs)


def test_configs_are_frozen_and_windows_sorted() -> None:
    cfg = override("features", windows_days=(365, 30))
    assert cfg.windows_days == (30, 365)
    with pytest.raises(ValidationError):
        cfg.cost_per_ticket = 1.0  # type: ignore[misc]
    assert override("labels", max_lapse_days=None).max_lapse_days is None


def test_describe_value_phrases() -> None:
    assert describe_value("service_effort_hours_90d", 12.4) == "12 support hours in the last 90 days"
    assert describe_value("profit_net_lifetime", -1234.5) == "-1,234 net profit before the cutoff"
    assert (
        describe_value("price_promo_order_share_365d", 0.25)
        == "25% of orders on promotion in the last 365 days"
    )
    assert describe_value("profit_margin_trend_90d", 50.0).startswith("margin changed by +50")
    assert describe_value("profile_segment", "smb") == "segment smb"
    assert describe_value("tenure_days", math.nan).endswith(": unknown")
    assert describe_value("referral_was_referred", 1.0) == "came through a referral"
    assert describe_value("relationship_manager_departed_90d", 0.0).startswith(
        "their account manager did not"
    )
    # windows not in the default config still resolve from the name
    assert describe_value("service_tickets_7d", 3) == "3 support tickets in the last 7 days"
    with pytest.raises(KeyError):
        feature_spec("customer_id")
    with pytest.raises(KeyError):
        feature_spec("profit_avg_order_value_90d")  # declared lifetime only


def test_registry_specs_are_complete() -> None:
    for name, spec in feature_registry(defaults().features).items():
        assert spec.name == name
        assert spec.description and spec.unit
        assert ("{value" in spec.phrase) != (spec.unit == "flag"), name
        assert bool(spec.phrase_no) == (spec.unit == "flag"), name
        assert "{period}" not in spec.description and "{period}" not in spec.phrase
        assert describe_value(name, 1.0 if spec.dtype == "float64" else "x")
