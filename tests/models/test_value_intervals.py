"""Future-value model's intervals (conformal tables, the zero atom, season, customer age, pooled cutoffs, quantile
regression) on small synthetic training sets; the model itself in `test_value.py`, whose fast boosters and horizon
these reuse."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.feature_contract import feature_columns
from models.value import FutureValueModel
from tests.models.test_value import FAST, H
from tests.settings import override


def atom_synthetic(n: int = 500, cutoffs: int = 4, seed: int = 0) -> pd.DataFrame:
    """Half the customers buy nothing in the horizon (net 0) whatever their past; buyers spend ~ their score."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(cutoffs):
        score = rng.uniform(10.0, 100.0, n)
        buys = rng.random(n) < 0.5
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": [f"{i:05d}" for i in range(n)],
                    "cutoff": pd.Timestamp("2024-01-01") + pd.DateOffset(months=k),
                    "profit_net_90d": score,
                    "noise": rng.normal(size=n),
                    "label_net_profit_365d": np.where(buys, score * rng.lognormal(0.0, 0.5, n), 0.0),
                    "label_orders_365d": buys.astype(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _fit_atom(residuals: str) -> FutureValueModel:
    ts = atom_synthetic()
    cfg = override("models", lightgbm=FAST, churn_lightgbm=FAST, interval_residuals=residuals)
    return FutureValueModel(cfg).fit(
        ts[feature_columns(ts)], ts["label_net_profit_365d"], cutoff=ts["cutoff"], horizon_days=H
    )


def test_relative_interval_starts_at_zero_for_every_customer_who_may_not_buy():
    # Half of every customer's outcomes are 0: the P10 of each is 0. Relative residuals (y - pred) / pred put
    # that atom at -1 for every prediction, so every lower bound above the floor is 0; absolute residuals
    # (y - pred) put it at -pred, and one offset per bin scatters the lower bounds around 0: above it for some
    # of the larger predictions of a bin (their non-buying outcome falls below the interval).
    test = atom_synthetic(n=600, cutoffs=1, seed=5)
    relative, absolute = _fit_atom("relative"), _fit_atom("absolute")
    pred = relative.predict(test)
    low, high = relative.interval_from_prediction(pred)
    above_floor = pred > relative.interval_scale_floor_
    assert above_floor.mean() > 0.4
    np.testing.assert_allclose(low[above_floor], 0.0, atol=1e-9 * pred.max())
    assert (high > pred).all()
    a_pred = absolute.predict(test)
    a_low, _ = absolute.interval_from_prediction(a_pred)
    assert absolute.interval_scale_floor_ is None
    assert (np.abs(a_low) > 1.0).mean() > 0.5 and (a_low > 0.0).any()
    # The upper bound is a calibrated P90 on exchangeable draws: about 10% above it.
    actual = test["label_net_profit_365d"].to_numpy()
    assert 0.05 <= np.mean(actual > high) <= 0.16


def test_zero_atom_score_puts_buying_nothing_at_minus_one_below_the_floor_too():
    """`relative_zero`: an actual 0 scores -1 for every positive prediction, also below the floor, where
    `relative` scores it -pred / floor (so a bin of mostly non-buyers got P10 = P90 at one prediction's level and
    lower predictions' intervals ended below 0: CDNOW fold 1998-04, coverage 0.387 -> 0.933)."""
    from models.conformal import zero_atom_bound, zero_atom_score

    floor = 4.0
    pred = np.array([1.0, 2.0, 3.9, 8.0, -2.0])
    np.testing.assert_allclose(zero_atom_score(np.zeros(5), pred, floor), [-1.0, -1.0, -1.0, -1.0, 0.5])
    # Increasing in the actual value for every prediction (the conformal set is an interval), the bound its inverse.
    actual = np.linspace(-30.0, 30.0, 241)
    for p in pred:
        score = zero_atom_score(actual, np.full_like(actual, p), floor)
        assert (np.diff(score) > 0).all()
        np.testing.assert_allclose(zero_atom_bound(np.full_like(actual, p), score, floor), actual, atol=1e-9)
    # At or above the floor it is the relative score.
    np.testing.assert_allclose(
        zero_atom_score(actual, np.full_like(actual, 8.0), floor), (actual - 8.0) / 8.0
    )
    # A fitted model: the non-buyers' outcome (0) is the lower bound of every positive prediction, below the floor too.
    model = _fit_atom("relative_zero")
    test = atom_synthetic(n=600, cutoffs=1, seed=5)
    pred = model.predict(test)
    low, high = model.interval_from_prediction(pred)
    below_floor = (pred > 0) & (pred < model.interval_scale_floor_)
    assert below_floor.mean() > 0.2
    np.testing.assert_allclose(low[pred > 0], 0.0, atol=1e-9 * pred.max())
    assert (high[pred > 0] > pred[pred > 0]).all()


def test_a_model_fitted_before_relative_intervals_keeps_its_currency_offsets():
    model = _fit_atom("relative")
    pred = np.array([5.0, 50.0, 500.0])
    scale = np.maximum(np.abs(pred), model.interval_scale_floor_)
    off = model.interval_offsets_[np.searchsorted(model.interval_edges_, pred, side="right")]
    np.testing.assert_allclose(model.interval_from_prediction(pred)[1], pred + scale * off[:, 1])
    del model.interval_scale_floor_  # as unpickled from a model saved before the attribute existed
    np.testing.assert_allclose(model.interval_from_prediction(pred)[1], pred + off[:, 1])


def _seasonal(cutoff: pd.Timestamp, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """n customers at `cutoff`, 90-day labels: buyers' net = 40 x spend x a log-normal draw x the season's
    multiplier (February to April busy: 2.5-3x), non-buyers 0; the cutoff's time of year is a feature."""
    busy = {2: 2.5, 3: 3.0, 4: 2.5}.get(cutoff.month, 1.0)
    spend = rng.gamma(2.0, 1.0, n)
    buys = rng.random(n) < 1 / (1 + np.exp(-(spend - 1.0)))
    net = np.where(buys, 40 * spend * rng.lognormal(0.0, 1.0, n) * busy, 0.0)
    angle = 2 * np.pi * (cutoff.day_of_year - 1) / 365.0
    return pd.DataFrame(
        {
            "cutoff": cutoff,
            "profit_net_90d": spend * 25 + rng.normal(0, 5, n),
            "noise": rng.normal(size=n),
            "season_start_sin": np.sin(angle),
            "season_start_cos": np.cos(angle),
            "label_net_profit_90d": net,
        }
    )


def test_interval_residuals_are_re_expressed_at_the_time_of_year_the_model_scores_at():
    """12 monthly cutoffs of 2024, 90 days: the model scores at 1 March 2025 (busy), its calibration slice is
    December (quiet). The total correction is March's shrink; the calibration residuals, from a booster scaled by
    its shrink over every cutoff, were those of a quiet season: the busy season's upper bound was too low. They
    are now multiplied by the final booster's shrink on the calibration slice over its shrink on every row."""
    rng = np.random.default_rng(0)
    ts = pd.concat(
        [_seasonal(pd.Timestamp("2024-01-01") + pd.DateOffset(months=k), 300, rng) for k in range(12)],
        ignore_index=True,
    )
    march = _seasonal(pd.Timestamp("2025-03-01"), 4000, rng)
    y_ts, y = ts["label_net_profit_90d"].to_numpy(), march["label_net_profit_90d"].to_numpy()

    def fit(**changes) -> FutureValueModel:
        cfg = override("models", lightgbm=FAST, churn_lightgbm=FAST, **changes)
        return FutureValueModel(cfg).fit(ts[feature_columns(ts)], y_ts, cutoff=ts["cutoff"], horizon_days=90)

    matched, plain = fit(interval_season_match=True), fit(interval_season_match=False)
    assert matched.scale_cutoffs_ == ["2024-03-01"] and matched.scale_ == plain.scale_
    final = matched.predict(ts[feature_columns(ts)])
    december = (ts["cutoff"] == pd.Timestamp("2024-12-01")).to_numpy()
    expected = (y_ts[december].sum() / final[december].sum()) / (y_ts.sum() / final.sum())
    assert matched.interval_season_ratio_ == pytest.approx(expected, rel=1e-9) and expected < 0.9
    assert plain.interval_season_ratio_ == 1.0
    # Same predictions; wider upper bounds: fewer March customers above P90 (0.167 before, 0.124 now).
    pred = matched.predict(march[feature_columns(march)])
    np.testing.assert_array_equal(pred, plain.predict(march[feature_columns(march)]))
    above = {
        name: float(np.mean(y > m.interval_from_prediction(pred)[1]))
        for name, m in [("matched", matched), ("plain", plain)]
    }
    assert above["matched"] < above["plain"] - 0.02 and abs(above["matched"] - 0.1) < abs(
        above["plain"] - 0.1
    )
    # The total correction not matched to the season (off, as with a horizon of a year or no cutoff within reach
    # of the scoring date's time of year): the interval is the former one.
    off, off_plain = (
        fit(value_scale_season_days=None),
        fit(value_scale_season_days=None, interval_season_match=False),
    )
    assert off.interval_season_ratio_ == 1.0
    np.testing.assert_array_equal(off.interval_offsets_, off_plain.interval_offsets_)


def _ages(cutoff: pd.Timestamp, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """n customers at `cutoff`: a third new (tenure under 180 days), whose net value is far more spread (a
    log-normal draw of sd 1.5 around 40 x spend) than the established customers' (sd 0.2)."""
    tenure = np.where(rng.random(n) < 1 / 3, rng.uniform(0, 179, n), rng.uniform(200, 2000, n))
    spend = rng.gamma(2.0, 1.0, n)
    sd = np.where(tenure < 180, 1.5, 0.2)
    net = 40 * spend * rng.lognormal(-(sd**2) / 2, sd)
    return pd.DataFrame(
        {
            "cutoff": cutoff,
            "tenure_days": tenure,
            "profit_net_90d": spend * 25 + rng.normal(0, 5, n),
            "label_net_profit_365d": net,
        }
    )


def test_new_and_established_customers_each_get_their_own_conformal_table():
    """Mondrian by customer age (`interval_new_customer_days`): one pooled table covers the wide new customers
    too little and the narrow established ones too much; a table per age covers each near the nominal 80%."""
    rng = np.random.default_rng(3)
    ts = pd.concat(
        [_ages(pd.Timestamp("2024-01-01") + pd.DateOffset(months=k), 900, rng) for k in range(4)],
        ignore_index=True,
    )
    test = _ages(pd.Timestamp("2024-06-01"), 6000, rng)
    y, new = test["label_net_profit_365d"].to_numpy(), test["tenure_days"].to_numpy() < 180

    def coverage(days: int | None) -> tuple[FutureValueModel, dict[str, float]]:
        cfg = override("models", lightgbm=FAST, churn_lightgbm=FAST, interval_new_customer_days=days)
        model = FutureValueModel(cfg).fit(
            ts[feature_columns(ts)], ts["label_net_profit_365d"], cutoff=ts["cutoff"], horizon_days=H
        )
        low, high = model.predict_interval(test[feature_columns(test)])
        inside = (y >= low) & (y <= high)
        return model, {"new": float(inside[new].mean()), "established": float(inside[~new].mean())}

    pooled_model, pooled = coverage(None)
    by_age_model, by_age = coverage(180)
    assert pooled_model.interval_new_days_ is None and by_age_model.interval_new_days_ == 180
    assert pooled["new"] < 0.72 and pooled["established"] > 0.88
    assert abs(by_age["new"] - 0.8) < 0.05 and abs(by_age["established"] - 0.8) < 0.05
    # Without the rows' features (an older caller) the pooled table of every calibration customer is used.
    pred = by_age_model.predict(test[feature_columns(test)])
    np.testing.assert_array_equal(
        by_age_model.interval_from_prediction(pred)[1],
        pred
        + by_age_model._interval_scale(pred)
        * by_age_model.interval_offsets_[
            np.searchsorted(by_age_model.interval_edges_, pred, side="right"), 1
        ],
    )


def test_conformal_residuals_pooled_over_earlier_cutoffs_each_behind_its_own_embargo():
    """`interval_calibration_cutoffs`: the latest cutoff alone (here unusually calm: its outcomes barely spread)
    sets too narrow an interval for customers like the earlier cutoffs'; pooling the residuals of the cutoffs
    before it, each predicted by a booster fitted only on cutoffs at least one horizon earlier, widens it."""
    rng = np.random.default_rng(4)
    parts = []
    for k in range(6):
        n, sd = 700, 0.15 if k == 5 else 1.0
        spend = rng.gamma(2.0, 1.0, n)
        parts.append(
            pd.DataFrame(
                {
                    "cutoff": pd.Timestamp("2024-01-01") + pd.DateOffset(months=k),
                    "profit_net_90d": spend * 25 + rng.normal(0, 5, n),
                    "label_net_profit_365d": 40 * spend * rng.lognormal(-(sd**2) / 2, sd, n),
                }
            )
        )
    ts = pd.concat(parts, ignore_index=True)
    spend = rng.gamma(2.0, 1.0, 5000)
    test = pd.DataFrame({"profit_net_90d": spend * 25 + rng.normal(0, 5, 5000)})
    y = 40 * spend * rng.lognormal(-0.5, 1.0, 5000)
    fits: list[int] = []
    original = lgb.LGBMRegressor.fit

    def spy(self, X, *args, **kwargs):
        fits.append(len(X))
        return original(self, X, *args, **kwargs)

    def coverage(pool: int) -> float:
        cfg = override(
            "models",
            lightgbm=FAST,
            churn_lightgbm=FAST,
            interval_calibration_cutoffs=pool,
            validation_share=0.2,
        )
        fits.clear()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(lgb.LGBMRegressor, "fit", spy)
            model = FutureValueModel(cfg).fit(
                ts[feature_columns(ts)], ts["label_net_profit_365d"], cutoff=ts["cutoff"], horizon_days=H
            )
        low, high = model.predict_interval(test)
        return float(np.mean((y >= low) & (y <= high)))

    alone = coverage(1)
    fits_alone = list(fits)
    pooled = coverage(3)
    # Two more boosters, for the cutoffs of May and April: fitted on the cutoffs at least one 28-day horizon
    # before each (January to April: 4 x 700 rows; January to March: 3 x 700), never on a window they validate.
    assert fits == [*fits_alone, 2800, 2100]
    assert alone < 0.6 and pooled > alone + 0.15


def _two_kinds(n: int, cutoffs: int, seed: int) -> pd.DataFrame:
    """Same expected net (40) for everyone: 'steady' customers buy every horizon (net 40 x a narrow log-normal),
    'lumpy' ones one horizon in five (net 200 x a wide one); only `kind` tells them apart."""
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(cutoffs):
        lumpy = rng.random(n) < 0.5
        buys = ~lumpy | (rng.random(n) < 0.2)
        size = np.where(lumpy, 200.0 * rng.lognormal(-0.18, 0.6, n), 40.0 * rng.lognormal(-0.005, 0.1, n))
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": [f"{i:05d}" for i in range(n)],
                    "cutoff": pd.Timestamp("2024-01-01") + pd.DateOffset(months=k),
                    "profit_net_90d": 40.0 + rng.normal(0, 1, n),
                    "kind": lumpy.astype(float),
                    "label_net_profit_365d": np.where(buys, size, 0.0),
                    "label_orders_365d": buys.astype(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_quantile_interval_is_calibrated_per_customer_kind():
    # Conformalized quantile regression (`interval_residuals: quantile`): P10 / P90 boosters on the customers' own
    # features, corrected on the calibration slice by finite-sample offsets relative to the predicted width.
    ts = _two_kinds(600, 4, 0)
    test = _two_kinds(1500, 1, 9)
    X = test[feature_columns(test)]
    actual, lumpy = test["label_net_profit_365d"].to_numpy(), test["kind"].to_numpy() == 1.0
    cfg = override("models", lightgbm=FAST, churn_lightgbm=FAST, interval_residuals="quantile")
    model = FutureValueModel(cfg).fit(
        ts[feature_columns(ts)], ts["label_net_profit_365d"], cutoff=ts["cutoff"], horizon_days=H
    )
    low, high = model.predict_interval(X)
    inside = (actual >= low) & (actual <= high)
    for part in (~lumpy, lumpy):
        assert 0.72 <= inside[part].mean() <= 0.9, (inside[~lumpy].mean(), inside[lumpy].mean())
    # The steady customers' interval is narrow, the lumpy ones' wide (the same expected value, 40).
    assert np.median((high - low)[lumpy]) > 3 * np.median((high - low)[~lumpy])
    # The bounds are the quantile boosters' P10 / P90 moved by the offsets times the width (floored).
    q_lo, q_hi = (
        model.interval_quantile_boosters_[k].predict(model.contract_.apply(X)) for k in ("low", "high")
    )
    width = np.maximum(q_hi - q_lo, model.interval_scale_floor_)
    np.testing.assert_allclose(low, q_lo + width * model.interval_offsets_[0, 0])
    np.testing.assert_allclose(high, q_hi + width * model.interval_offsets_[0, 1])
    # They need the rows' features, not only the prediction.
    with pytest.raises(ValueError, match="features"):
        model.interval_from_prediction(model.predict(X))


def test_upper_bound_holds_buying_nothing_when_most_similar_customers_bought_nothing():
    """CDNOW's April fold (coverage 0.387): in a bin where over 90% of the calibration customers bought nothing,
    `relative` puts P90 at a non-buyer's score -pred / floor (below the floor), so a customer predicted lower
    than them gets an upper bound below 0 and buying nothing lands above P90. `relative_zero_upper` takes the
    upper bound from the score with "bought nothing" at -1 for every positive prediction: 0 stays inside; the
    lower bound is `relative`'s."""
    ts = atom_synthetic(n=600, cutoffs=4, seed=1)
    rng = np.random.default_rng(2)
    ts["label_net_profit_365d"] *= rng.random(len(ts)) < 0.1  # ~95% buy nothing
    models = {}
    for residuals in ("relative", "relative_zero_upper"):
        cfg = override("models", lightgbm=FAST, churn_lightgbm=FAST, interval_residuals=residuals)
        models[residuals] = FutureValueModel(cfg).fit(
            ts[feature_columns(ts)], ts["label_net_profit_365d"], cutoff=ts["cutoff"], horizon_days=H
        )
    test = atom_synthetic(n=600, cutoffs=1, seed=5)
    pred = models["relative"].predict(test) * 0.5  # the scored customers sit lower than the calibration ones
    pos = pred > 0
    assert pos.mean() > 0.5
    low, high = models["relative"].interval_from_prediction(pred)
    low_z, high_z = models["relative_zero_upper"].interval_from_prediction(pred)
    assert (high[pos] < 0).mean() > 0.02, (high[pos] < 0).mean()
    assert (high_z[pos] >= 0).all()
    np.testing.assert_allclose(low_z, low)
