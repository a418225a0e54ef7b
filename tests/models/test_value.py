"""Future-value model on a small synthetic training set with a known signal (its intervals: `test_value_intervals.py`)."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from models.boosters import scale_booster
from models.config import ModelConfig
from models.feature_contract import FeatureContract, feature_columns
from models.purged import purged_slices
from models.value import FutureValueModel
from tests.settings import defaults, override

# The value boosters' defaults with fewer, faster rounds (for the churn booster too).
FAST = {
    **defaults().models.lightgbm.model_dump(),
    "n_jobs": 1,
    "n_estimators": 80,
    "learning_rate": 0.1,
    "min_child_samples": 20,
}


# The synthetic labels are drawn independently per cutoff; a 28-day horizon lets monthly cutoffs be embargoed.
H = 28


def synthetic(n: int = 400, cutoffs: int = 4, seed: int = 0) -> pd.DataFrame:
    """n customers x `cutoffs` monthly cutoffs; net profit = 100 * spend_score - 30 * effort, 0 for non-buyers."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(cutoffs):
        spend = rng.gamma(2.0, 1.0, n)
        effort = rng.exponential(1.0, n)
        segment = rng.choice(["retail", "wholesale", "online"], n)
        buys = rng.random(n) < 1 / (1 + np.exp(-(spend - 1.5)))
        net = np.where(buys, 100 * spend - 30 * effort + rng.normal(0, 20, n), -5 * effort)
        net = net + np.where(segment == "wholesale", 50, 0) * buys
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": [f"{i:05d}" for i in range(n)],
                    "cutoff": pd.Timestamp("2024-01-01") + pd.DateOffset(months=k),
                    "profit_net_90d": spend * 25 + rng.normal(0, 5, n),
                    "service_effort_hours_90d": effort,
                    "noise": rng.normal(size=n),
                    "profile_segment": pd.Categorical(segment),
                    "label_net_profit_365d": net,
                    "label_orders_365d": buys.astype(float) * 3,
                    "label_churned_365d": (~buys).astype(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def fit_new(kind: str = "single", **overrides) -> tuple[FutureValueModel, pd.DataFrame]:
    """A model of `kind` with `overrides` fitted now on `synthetic()` (the determinism test's second fit)."""
    ts = synthetic()
    cfg = override("models", value_model=kind, lightgbm=FAST, churn_lightgbm=FAST, **overrides)
    X = ts[feature_columns(ts)]
    model = FutureValueModel(cfg).fit(
        X,
        ts["label_net_profit_365d"],
        cutoff=ts["cutoff"],
        bought=ts["label_orders_365d"] > 0,
        horizon_days=H,
    )
    return model, ts


#: The module's fitted models by their resolved settings: the tests read a model (predict, its boosters) and never
#: change it, so one fit serves every test asking for the same settings (was: 23 fits, 14 of them distinct).
_FITTED: dict[str, tuple[FutureValueModel, pd.DataFrame]] = {}


def fitted(kind: str = "single", **overrides) -> tuple[FutureValueModel, pd.DataFrame]:
    """`fit_new(kind, **overrides)`, fitted once per module for the same resolved settings (read-only: a test
    that changes the model or the frame makes its own with `fit_new`)."""
    key = override(
        "models", value_model=kind, lightgbm=FAST, churn_lightgbm=FAST, **overrides
    ).model_dump_json()
    if key not in _FITTED:
        _FITTED[key] = fit_new(kind, **overrides)
    return _FITTED[key]


def test_feature_columns_and_purged_slices():
    ts = synthetic(n=5, cutoffs=4)
    assert feature_columns(ts) == ["profit_net_90d", "service_effort_hours_90d", "noise", "profile_segment"]
    # 4 monthly cutoffs x 0.25 -> the latest one calibrates, the one before stops early; 28-day labels.
    s = purged_slices(ts["cutoff"], len(ts), H, 0.25)
    assert ts.loc[s.cal_valid, "cutoff"].unique().tolist() == [pd.Timestamp("2024-04-01")]
    assert ts.loc[s.es_valid, "cutoff"].unique().tolist() == [pd.Timestamp("2024-03-01")]
    assert ts.loc[s.es_fit, "cutoff"].max() == pd.Timestamp("2024-02-01")
    assert ts.loc[s.cal_fit, "cutoff"].max() == pd.Timestamp("2024-03-01")
    one = purged_slices(ts["cutoff"].iloc[:5], 5, H, 0.5)
    assert not one.es_valid.any() and not one.cal_valid.any()  # one cutoff: nothing later


@pytest.mark.parametrize("kind", ["single", "hurdle", "hurdle_lognormal", "tweedie"])
def test_value_model_learns_the_signal(kind):
    model, _ = fitted(kind)
    test = synthetic(n=400, cutoffs=1, seed=9)
    pred = model.predict(test)
    actual = test["label_net_profit_365d"].to_numpy()
    assert np.corrcoef(pred, actual)[0, 1] > 0.8
    assert abs(pred.sum() / actual.sum() - 1) < 0.15
    lo, hi = model.predict_interval(test)
    assert (lo <= hi).all()
    coverage = np.mean((actual >= lo) & (actual <= hi))
    assert 0.6 <= coverage <= 0.95  # nominal 0.8


def test_single_model_is_one_booster_in_currency():
    model, ts = fitted("single")
    assert list(model.boosters_) == ["value"]
    booster = model.explainable_booster
    Xt = model.contract_.apply(ts)
    raw = booster.predict(Xt, raw_score=True)
    np.testing.assert_allclose(raw, model.predict(ts))
    contrib = booster.predict(Xt, pred_contrib=True)
    np.testing.assert_allclose(contrib.sum(axis=1), model.predict(ts), rtol=1e-9, atol=1e-6)
    # Early-stopped and trimmed: the booster holds exactly the trees that predict.
    assert booster.num_trees() <= FAST["n_estimators"]


def test_hurdle_exposes_its_parts():
    model, ts = fitted("hurdle")
    assert set(model.boosters_) == {"buy", "net_if_buys", "net_if_none"}
    assert model.explainable_booster is None
    Xt = model.contract_.apply(ts)
    p = model.boosters_["buy"].predict(Xt)
    expected = p * model.boosters_["net_if_buys"].predict(Xt) + (1 - p) * model.boosters_[
        "net_if_none"
    ].predict(Xt)
    np.testing.assert_allclose(model.predict(ts), expected)


def test_lognormal_hurdle_and_tweedie_expose_their_parts():
    model, ts = fitted("hurdle_lognormal")
    assert set(model.boosters_) == {"buy", "log_spend", "net_if_none"}
    Xt = model.contract_.apply(ts)
    p = model.boosters_["buy"].predict(Xt)
    spend = np.exp(model.boosters_["log_spend"].predict(Xt)) * model.smearing_
    # Duan's smearing undoes the log's shrink of the mean: above 1 for a spread of residuals.
    assert model.smearing_ > 1.0
    expected = p * spend + (1 - p) * model.boosters_["net_if_none"].predict(Xt)
    np.testing.assert_allclose(model.predict(ts), expected)

    tw, ts = fitted("tweedie")
    assert set(tw.boosters_) == {"gain", "loss"}
    Xt = tw.contract_.apply(ts)
    gain = np.exp(tw.boosters_["gain"].predict(Xt, raw_score=True))
    loss = tw.boosters_["loss"].predict(Xt)
    assert (gain > 0).all() and (loss <= 1e-9).mean() > 0.9  # the loss part models min(net, 0)
    np.testing.assert_allclose(tw.predict(ts), gain + loss)
    assert tw.explainable_booster is None


def test_categories_as_strings_and_unknown_categories():
    model, ts = fitted("single")
    as_str = ts.assign(profile_segment=ts["profile_segment"].astype("str"))
    np.testing.assert_allclose(model.predict(as_str), model.predict(ts))
    unknown = ts.iloc[:3].assign(profile_segment=["martian", "retail", None])
    as_missing = ts.iloc[:3].assign(profile_segment=pd.Categorical([None, "retail", None]))
    np.testing.assert_allclose(model.predict(unknown), model.predict(as_missing))


def test_deterministic_and_sklearn_contract():
    a, ts = fitted("single")
    b, _ = fit_new("single")  # a second fit of the same settings, never the cached one
    np.testing.assert_array_equal(a.predict(ts), b.predict(ts))
    assert isinstance(clone(a).get_params()["config"], ModelConfig)
    assert a.get_params()["config"].single_objective == "huber"  # the default
    l2, _ = fitted("single", single_objective="regression")
    assert not np.allclose(l2.predict(ts), a.predict(ts))


def test_feature_contract_problems():
    ts = synthetic(n=20, cutoffs=1)
    contract = FeatureContract.from_frame(ts[feature_columns(ts)])
    assert contract.dtypes["profile_segment"] == "category"
    assert contract.categories["profile_segment"] == ["online", "retail", "wholesale"]
    bad = ts.drop(columns=["noise"]).assign(
        extra_feature=1.0, profit_net_90d="a lot", profile_segment=["vip"] + ["retail"] * 19
    )
    problems = contract.problems(bad)
    assert any("missing feature columns: ['noise']" in p for p in problems)
    assert any("extra_feature" in p for p in problems)
    assert any(p.startswith("profit_net_90d: expected a numeric") for p in problems)
    assert any("profile_segment: 1 categories unseen" in p and "vip" in p for p in problems)
    assert contract.problems(ts) == []
    with pytest.raises(KeyError, match="noise"):
        contract.apply(bad)


def test_config_rejects_bad_values():
    with pytest.raises(ValueError):
        override("models", value_model="forest")
    with pytest.raises(ValueError):
        override("models", tweedie_variance_power=2.0)
    with pytest.raises(ValueError):
        override("models", interval_quantiles=(0.9, 0.1))
    with pytest.raises(ValueError):
        override("models", unknown_key=1)
    with pytest.raises(ValueError):
        override("models", primary_metrics=("accuracy",))
    with pytest.raises(ValueError):
        override("models", huber_alpha=5.0, single_objective="regression")
    with pytest.raises(ValueError):
        override("models", lightgbm={"seed": "forty-two"})


def test_the_configured_seed_reaches_lightgbm():
    """Bagging and feature sampling are on by default: the same seed reproduces a fit, another seed changes it."""
    ts = synthetic()
    X, y = ts[feature_columns(ts)], ts["label_net_profit_365d"]

    def fit(seed: int) -> np.ndarray:
        cfg = override("models", lightgbm={**FAST, "seed": seed}, value_scale_correction=False)
        model = FutureValueModel(cfg).fit(
            X, y, cutoff=ts["cutoff"], bought=ts["label_orders_365d"] > 0, horizon_days=H
        )
        return model.predict(ts)

    first = fit(3)
    np.testing.assert_array_equal(fit(3), first)
    assert not np.allclose(fit(4), first)


def test_scale_booster_is_exact_and_keeps_shap_additive():
    model, ts = fitted("single", value_scale_correction=False)
    assert model.scale_ == 1.0
    booster = model.explainable_booster
    Xt = model.contract_.apply(ts.iloc[:50])
    doubled = scale_booster(booster, 2.0)
    np.testing.assert_allclose(doubled.predict(Xt), 2 * booster.predict(Xt), rtol=1e-12)
    np.testing.assert_allclose(
        doubled.predict(Xt, pred_contrib=True),
        2 * booster.predict(Xt, pred_contrib=True),
        rtol=1e-9,
        atol=1e-9,
    )
    corrected, _ = fitted("single", single_objective="huber")
    # Huber shrinks toward the median of a right-skewed target; the held-out correction scales it up.
    assert corrected.scale_ > 1.0


def test_in_sample_total_correction_is_the_final_boosters_own_ratio():
    """value_scale_basis=in_sample: the factor is sum(y) / sum(pred) of the uncorrected final booster on its rows
    (all of them when not matched to the season)."""
    plain, ts = fitted("single", single_objective="huber", value_scale_correction=False)
    corrected, _ = fitted(
        "single", single_objective="huber", value_scale_basis="in_sample", value_scale_season_days=None
    )
    expected = ts["label_net_profit_365d"].sum() / plain.predict(ts).sum()
    assert corrected.scale_ == pytest.approx(expected, rel=1e-9)
    np.testing.assert_allclose(corrected.predict(ts), expected * plain.predict(ts), rtol=1e-9)
    # Out of time, the ratio is measured on the calibration slice instead: another number.
    late, _ = fitted("single", single_objective="huber", value_scale_basis="out_of_time")
    assert late.scale_ != pytest.approx(corrected.scale_, rel=1e-6)


def test_in_sample_total_correction_is_measured_at_the_time_of_year_the_model_scores_at():
    """Huber's shrink of the total follows the season (demo company, 90 days: 0.97 on April cutoffs, 1.87 on
    November ones), so with a horizon under a year the factor is the booster's own ratio on the training cutoffs
    nearest, in the year, the date it scores at (one horizon after its latest cutoff), not over every cutoff."""
    plain, ts = fitted("single", single_objective="huber", value_scale_correction=False)
    matched, _ = fitted("single", single_objective="huber", value_scale_season_days=62)
    label = ts["label_net_profit_365d"]
    # Cutoffs 1 January to 1 April 2024, 28-day horizon: it scores at 29 April. 1 April is 28 days before that
    # in the year; the nearest after (1 January, 247 days on) is out of reach: April alone, weight 1.
    april = (ts["cutoff"] == pd.Timestamp("2024-04-01")).to_numpy()
    expected = label[april].sum() / plain.predict(ts[april]).sum()
    assert matched.scale_cutoffs_ == ["2024-04-01"]
    assert matched.scale_ == pytest.approx(expected, rel=1e-9)
    np.testing.assert_allclose(matched.predict(ts), expected * plain.predict(ts), rtol=1e-9)
    assert matched.scale_ != pytest.approx(label.sum() / plain.predict(ts).sum(), rel=1e-3)
    # Out of reach (a 5-day window): every cutoff, and a note says so.
    far, _ = fitted("single", single_objective="huber", value_scale_season_days=5)
    assert far.scale_cutoffs_ == []
    assert far.scale_ == pytest.approx(label.sum() / plain.predict(ts).sum(), rel=1e-9)
    assert any("no training cutoff within 5 days" in n for n in far.notes_)


def test_scale_booster_keeps_one_leaf_trees():
    """A tree without a split (a constant target after some rounds) has an empty internal_value line."""

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=200)})
    booster = lgb.LGBMRegressor(n_estimators=3, min_child_samples=500, verbose=-1).fit(X, X["x"] * 2).booster_
    assert (
        "internal_value=\n" in booster.model_to_string() or "internal_value=\r" in booster.model_to_string()
    )
    np.testing.assert_allclose(scale_booster(booster, 3.0).predict(X), 3 * booster.predict(X), rtol=1e-12)


_OMP_CODE = (
    "import os, sys; import models.churn, models.value; "
    "print(os.environ['OMP_WAIT_POLICY'], 'lightgbm' in sys.modules)"
)


def _omp_interpreter(policy: str | None):
    """A fresh interpreter importing the models package with OMP_WAIT_POLICY unset or set to `policy`."""
    import os

    from tests.background import Fresh, scratch

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    return lambda: Fresh(
        ["-c", _OMP_CODE], scratch("omp"), env=env | ({"OMP_WAIT_POLICY": policy} if policy else {})
    )


#: The fresh interpreters of this module, started when the tests are collected (`tests/conftest.py`).
BACKGROUND = {"omp: unset": _omp_interpreter(None), "omp: ACTIVE": _omp_interpreter("ACTIVE")}


def test_openmp_threads_wait_passively_unless_the_user_says_otherwise() -> None:
    """LightGBM's OpenMP threads busy-wait by default, which slows fits several times on a shared machine; the
    policy is read when lightgbm loads, so importing the models package must set it first (a user's value wins)."""
    from tests.background import take

    (code_p, passive, err_p), (code_a, active, err_a) = (
        take(name, BACKGROUND[name]).wait(timeout=600) for name in ("omp: unset", "omp: ACTIVE")
    )
    assert [code_p, code_a] == [0, 0], err_p[-2000:] + err_a[-2000:]
    assert passive.split() == ["PASSIVE", "True"]
    assert active.split() == ["ACTIVE", "True"]
