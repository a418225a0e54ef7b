"""CustomerValueModel: one fitted object, its output contract, its feature contract, pickling and drift data."""

from __future__ import annotations

import cloudpickle
import numpy as np
import pandas as pd
import pytest

from models.bundle import CustomerValueModel, numeric_reference, population_stability_index
from tests.settings import defaults, override

# The value boosters' defaults with fewer, faster rounds (for the churn booster too).
FAST = {
    **defaults().models.lightgbm.model_dump(),
    "n_jobs": 1,
    "n_estimators": 60,
    "learning_rate": 0.1,
    "min_child_samples": 20,
}
H = 90


def training_set(n: int = 300, cutoffs: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(cutoffs):
        spend = rng.gamma(2.0, 1.0, n)
        recency = rng.exponential(100, n)
        buys = rng.random(n) < 1 / (1 + np.exp(recency / 50 - 2))
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": [f"{i:04d}" for i in range(n)],
                    "cutoff": pd.Timestamp("2023-01-01") + pd.DateOffset(months=3 * k),
                    "profit_net_90d": spend * 20,
                    "recency_days": recency,
                    "profile_region": pd.Categorical(rng.choice(["north", "south"], n)),
                    f"label_net_profit_{H}d": np.where(buys, 40 * spend, -3.0) + rng.normal(0, 5, n),
                    f"label_revenue_{H}d": np.where(buys, 150 * spend, 0.0),
                    f"label_orders_{H}d": buys.astype(float),
                    f"label_churned_{H}d": (~buys).astype(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def model() -> CustomerValueModel:
    return CustomerValueModel(H, override("models", lightgbm=FAST, churn_lightgbm=FAST)).fit(training_set())


def feature_table(seed: int = 7, n: int = 50) -> pd.DataFrame:
    ts = training_set(n=n, cutoffs=1, seed=seed)
    return ts.set_index("customer_id")[["profit_net_90d", "recency_days", "profile_region"]]


def test_predict_columns_index_and_relations(model):
    ft = feature_table()
    out = model.predict(ft)
    assert list(out.columns) == [
        "pred_value_90d",
        "pred_value_p10_90d",
        "pred_value_p90_90d",
        "pred_churn_prob_90d",
        "pred_expected_net_value_90d",
    ]
    assert out.index.equals(ft.index)
    np.testing.assert_array_equal(out["pred_expected_net_value_90d"], out["pred_value_90d"])
    assert (out["pred_value_p10_90d"] <= out["pred_value_p90_90d"]).all()
    assert out["pred_churn_prob_90d"].between(0, 1).all()
    # Column order of the input does not matter; strings for categories are accepted.
    shuffled = ft[["profile_region", "recency_days", "profit_net_90d"]].assign(
        profile_region=ft["profile_region"].astype("str")
    )
    pd.testing.assert_frame_equal(model.predict(shuffled), out)


def test_check_contract(model):
    ft = feature_table()
    assert model.check_contract(ft) == []
    bad = ft.drop(columns="recency_days").assign(profile_region=["east"] * len(ft), surprise=1.0)
    problems = model.check_contract(bad)
    assert len(problems) == 3
    assert "recency_days" in problems[0] and "surprise" in problems[1] and "east" in problems[2]


def test_pickle_roundtrip_and_size(model):
    blob = cloudpickle.dumps(model)
    assert len(blob) < 2_000_000
    again = cloudpickle.loads(blob)
    pd.testing.assert_frame_equal(again.predict(feature_table()), model.predict(feature_table()))


def test_explainable_booster_matches_value_column(model):
    ft = feature_table()
    boosters = model.explainable_boosters()
    assert set(boosters) == {"value", "churn"}
    raw = boosters["value"].predict(model.contract_.apply(ft), raw_score=True)
    np.testing.assert_allclose(raw, model.predict(ft)["pred_value_90d"])


def test_drift_reference(model):
    ref = model.drift_reference_
    assert set(ref["features"]) == {"profit_net_90d", "recency_days", "profile_region"}
    for entry in [*ref["features"].values(), *ref["predictions"].values()]:
        assert sum(entry["proportions"]) + entry["missing"] == pytest.approx(1.0)
    assert len(ref["features"]["recency_days"]["edges"]) == 9
    assert set(ref["predictions"]) == set(model.output_columns)
    # Same distribution -> PSI ~ 0; shifted -> large.
    ts = training_set()
    assert population_stability_index(ref["features"]["recency_days"], ts["recency_days"]) < 0.01
    assert population_stability_index(ref["features"]["recency_days"], ts["recency_days"] + 500) > 1.0


def test_numeric_reference_by_hand():
    ref = numeric_reference(np.array([1.0, 2.0, 3.0, 4.0, np.nan]), n_bins=2)
    # Median of 1..4 is 2.5: bins (-inf, 2.5] holds 1, 2; (2.5, inf) holds 3, 4; one of five rows missing.
    assert ref["edges"] == [2.5]
    assert ref["proportions"] == [0.4, 0.4]
    assert ref["missing"] == 0.2


def test_fit_rejects_bad_training_sets():
    ts = training_set(n=20, cutoffs=2)
    with pytest.raises(KeyError, match="label_net_profit_365d"):
        CustomerValueModel(365, defaults().models).fit(ts)
    with pytest.raises(ValueError, match="duplicate"):
        CustomerValueModel(H, defaults().models).fit(pd.concat([ts, ts.iloc[:1]]))


def test_the_lookalike_model_travels_with_the_bundle_and_old_bundles_read_none(model):
    """Issue 12: the lookalike model is pickled with the main models; a bundle pickled before it existed (no
    `lookalike_` in its state) still loads and says it has none, with the reason."""
    from models.lookalike import fit_lookalike
    from tests.models.test_lookalike import ATTRS, CONFIG, _rows

    lookalike = fit_lookalike(_rows(300, 5, ["2023-01-01"]), ATTRS, CONFIG)
    carrier = cloudpickle.loads(cloudpickle.dumps(model))
    carrier.attach_lookalike(lookalike)
    again = cloudpickle.loads(cloudpickle.dumps(carrier))
    frame = _rows(20, 6, ["2024-01-01"]).set_index("customer_id")
    pd.testing.assert_frame_equal(again.lookalike_.predict(frame), lookalike.predict(frame))
    assert again.lookalike_.early_days == CONFIG.early_days and again.lookalike_.attributes == ATTRS
    pd.testing.assert_frame_equal(again.predict(feature_table()), model.predict(feature_table()))
    # An old bundle: its pickled state has no lookalike attributes at all.
    old = cloudpickle.loads(cloudpickle.dumps(model))
    old.__dict__.pop("lookalike_", None)
    old.__dict__.pop("lookalike_note_", None)
    old = cloudpickle.loads(cloudpickle.dumps(old))
    assert old.lookalike_ is None and "registered before" in old.lookalike_note_
    pd.testing.assert_frame_equal(old.predict(feature_table()), model.predict(feature_table()))
