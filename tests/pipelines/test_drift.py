"""Drift of a scoring run: one PSI formula (`models.drift.psi`), summed over chunks, and no cry of wolf on
features that grow with the calendar by construction (`FeatureSpec.time_trending`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from features import feature_registry
from models.bundle import categorical_reference, numeric_reference, population_stability_index
from models.drift import psi
from pipelines.engines.drift import TRENDING_REASON, DriftAccumulator, leave_out_trending
from tests.settings import defaults


def test_psi_by_hand():
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
    expected = 0.25 * math.log(2) + 0.25 * math.log(1.5)
    assert psi(np.array([0.5, 0.5]), np.array([0.25, 0.75])) == pytest.approx(expected, abs=1e-12)
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0.0
    # an empty bin is floored at 1e-4, not infinite
    assert math.isfinite(psi(np.array([1.0, 0.0]), np.array([0.0, 1.0])))
    with pytest.raises(ValueError, match="same bins"):
        psi(np.array([0.5, 0.5]), np.array([0.2, 0.3, 0.5]))


def test_chunked_drift_equals_the_psi_of_one_pass():
    rng = np.random.default_rng(3)
    train = rng.normal(0, 1, 2000)
    scored = np.append(rng.normal(0.8, 1.3, 1500), [np.nan] * 40)
    region = pd.Series(rng.choice(["n", "s", "e"], 2000))
    new_region = pd.Series(rng.choice(["n", "s", "w"], len(scored)))
    reference = {"features": {"x": numeric_reference(train), "region": categorical_reference(region)}}
    acc = DriftAccumulator(reference)
    frame = pd.DataFrame({"x": scored, "region": new_region})
    for part in np.array_split(np.arange(len(frame)), 7):
        acc.add(frame.iloc[part], "features")
    got = acc.report(threshold=0.2)
    for col in ("x", "region"):
        one_pass = population_stability_index(reference["features"][col], frame[col])
        assert got["psi"][f"features:{col}"] == pytest.approx(one_pass, abs=1e-6)
    assert got["drifted_features"] == ["region", "x"]  # both moved well past 0.2


def test_a_feature_missing_in_training_and_scoring_does_not_drift():
    """An all-missing reference has no value bins; the chunked sum once compared a 1-bin reference with 2 bins of
    counts (numpy broadcast them) and reported PSI 9.2 for a column missing on both sides."""
    reference = {"features": {"never_known": numeric_reference(np.full(50, np.nan))}}
    acc = DriftAccumulator(reference)
    acc.add(pd.DataFrame({"never_known": np.full(30, np.nan)}), "features")
    report = acc.report(threshold=0.2)
    assert report["psi"]["features:never_known"] == 0.0 and report["drifted_features"] == []


def test_registry_marks_features_that_grow_with_the_calendar():
    registry = feature_registry(defaults().features)
    trending = {name for name, spec in registry.items() if spec.time_trending}
    # ages and lifetime totals grow whatever the customers do
    assert {
        "tenure_days",
        "relationship_manager_tenure_days",
        "relationship_manager_assigned_days",
        "orders_count_lifetime",
        "profit_net_lifetime",
    } <= trending
    # behaviour in a window, shares, means and times since the last event do not
    for name in (
        "orders_count_365d",
        "profit_net_90d",
        "payment_late_share_lifetime",
        "service_satisfaction_mean_lifetime",
        "recency_days",
        "profile_region",
    ):
        assert name in registry and name not in trending, name


def test_trending_features_are_left_out_and_the_summary_says_why():
    rng = np.random.default_rng(5)
    registry = feature_registry(defaults().features)
    reference = {
        "features": {
            "tenure_days": numeric_reference(rng.uniform(0, 500, 1000)),
            "orders_count_365d": numeric_reference(rng.poisson(4, 1000).astype(float)),
            "btyd_expected_orders": numeric_reference(
                rng.uniform(0, 3, 1000)
            ),  # not a registry feature: kept
        },
        "predictions": {"pred_value_365d": numeric_reference(rng.normal(100, 10, 1000))},
    }
    kept, left_out = leave_out_trending(reference, registry)
    assert left_out == {"tenure_days": TRENDING_REASON}
    assert set(kept["features"]) == {"orders_count_365d", "btyd_expected_orders"}
    assert kept["predictions"] == reference["predictions"] and "tenure_days" in reference["features"]
    acc = DriftAccumulator(kept, left_out)
    later = pd.DataFrame(
        {
            "tenure_days": rng.uniform(365, 865, 800),  # a year older: by construction, not a drift
            "orders_count_365d": rng.poisson(12, 800).astype(float),  # customers buy three times as often
            "btyd_expected_orders": rng.uniform(0, 3, 800),
        }
    )
    acc.add(later, "features")
    report = acc.report(threshold=0.2)
    assert report["drifted_features"] == ["orders_count_365d"]
    assert "features:tenure_days" not in report["psi"]
    assert report["left_out"] == {"tenure_days": TRENDING_REASON}
