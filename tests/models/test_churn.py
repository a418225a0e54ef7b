"""Churn model: calibrated on a later slice, probabilities usable as probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.churn import ChurnModel
from models.metrics import brier, roc_auc
from tests.settings import defaults, override

# The value boosters' defaults with fewer, faster rounds (for the churn booster too).
FAST = {
    **defaults().models.lightgbm.model_dump(),
    "n_jobs": 1,
    "n_estimators": 80,
    "learning_rate": 0.1,
    "min_child_samples": 20,
}


def synthetic(n: int = 500, cutoffs: int = 4, seed: int = 0) -> pd.DataFrame:
    """P(churn) = sigmoid(recency / 60 - 2), plus a segment effect; features as the feature table names them."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(cutoffs):
        recency = rng.exponential(120, n)
        segment = rng.choice(["a", "b"], n)
        logit = recency / 60 - 2 + np.where(segment == "b", 0.8, 0.0)
        churned = rng.random(n) < 1 / (1 + np.exp(-logit))
        parts.append(
            pd.DataFrame(
                {
                    "cutoff": pd.Timestamp("2024-01-01") + pd.DateOffset(months=k),
                    "recency_days": recency,
                    "orders_count_90d": rng.poisson(2, n).astype(float),
                    "profile_segment": pd.Categorical(segment),
                    "label_churned_365d": churned.astype(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def fit(calibration: str = "isotonic") -> ChurnModel:
    ts = synthetic()
    X = ts[["recency_days", "orders_count_90d", "profile_segment"]]
    cfg = override("models", lightgbm=FAST, churn_lightgbm=FAST, calibration=calibration)
    return ChurnModel(cfg).fit(X, ts["label_churned_365d"], cutoff=ts["cutoff"], horizon_days=28)


@pytest.mark.parametrize("calibration", ["isotonic", "sigmoid"])
def test_calibrated_on_later_cutoffs_than_fitted(calibration):
    model = fit(calibration)
    assert max(model.fit_cutoffs_) < min(model.calibration_cutoffs_)
    assert model.calibration_cutoffs_ == [pd.Timestamp("2024-04-01")]
    test = synthetic(n=3000, cutoffs=1, seed=5)
    p = model.predict_proba(test)
    assert p.shape == (3000, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert ((p >= 0) & (p <= 1)).all()
    y = test["label_churned_365d"].to_numpy()
    assert roc_auc(y, p[:, 1]) > 0.75
    # Calibrated: predicted mean churn close to the observed rate, and Brier beats the constant base rate.
    assert abs(p[:, 1].mean() - y.mean()) < 0.05
    assert brier(y, p[:, 1]) < brier(y, np.full(len(y), y.mean()))
    assert set(model.predict(test)) <= {0, 1}


def test_calibration_changes_the_raw_probability_monotonically():
    model = fit("sigmoid")
    test = synthetic(n=200, cutoffs=1, seed=3)
    raw = model.predict_raw(test)
    cal = model.predict_proba(test)[:, 1]
    order = np.argsort(raw)
    assert np.all(np.diff(cal[order]) >= -1e-12)


def test_string_categories_and_single_cutoff_note():
    model = fit()
    test = synthetic(n=50, cutoffs=1, seed=4)
    as_str = test.assign(profile_segment=test["profile_segment"].astype("str"))
    np.testing.assert_allclose(model.predict_proba(as_str), model.predict_proba(test))
    one = synthetic(n=300, cutoffs=1)
    single = ChurnModel(override("models", lightgbm=FAST, churn_lightgbm=FAST)).fit(
        one[["recency_days", "orders_count_90d", "profile_segment"]],
        one["label_churned_365d"],
        one["cutoff"],
        28,
    )
    assert any("in-sample" in n for n in single.notes_)
    with pytest.raises(ValueError, match="0/1"):
        ChurnModel(defaults().models).fit(one[["recency_days"]], np.full(len(one), 2.0))


def test_labels_of_one_class_stop_with_the_horizon_named():
    """A horizon of a day (`labels.horizon_days: 1`): every customer-cutoff the churn model is calibrated on is
    labelled churned. Was: exit 1, scikit-learn's `ValueError` 'needs samples of at least 2 classes' and a
    traceback log (sigmoid), or every churn probability 1 without a word (isotonic). Now a structural error naming
    the setting (`models.churn._check_two_classes`)."""
    from features.errors import StructuralError

    ts = synthetic(n=100)
    X = ts[["recency_days", "orders_count_90d", "profile_segment"]]
    cfg = override("models", lightgbm=FAST, churn_lightgbm=FAST, calibration="isotonic")
    with pytest.raises(StructuralError, match=r"are all churned .*labels\.horizon_days = 1,"):
        ChurnModel(cfg).fit(X, np.ones(len(ts)), cutoff=ts["cutoff"], horizon_days=1)
