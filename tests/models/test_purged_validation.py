"""Purged validation: no validation label window overlaps a fitted one; finite-sample conformal ranks."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.bundle import CustomerValueModel
from models.conformal import conformal_offsets
from models.purged import purged_slices, season_matched_cutoffs
from tests.settings import override

FAST = {
    "n_estimators": 40,
    "learning_rate": 0.2,
    "num_leaves": 7,
    "min_child_samples": 10,
    "subsample": 1.0,
    "subsample_freq": 0,
    "colsample_bytree": 1.0,
    "reg_lambda": 1.0,
    "seed": 1,
    "n_jobs": 1,
}


def cutoffs(n: int, step_months: int) -> list[pd.Timestamp]:
    return [pd.Timestamp("2021-01-01") + pd.DateOffset(months=k * step_months) for k in range(n)]


def overlaps(fitted: list[pd.Timestamp], later: list[pd.Timestamp], h: int) -> bool:
    """Whether any label window [c, c + h) of `fitted` intersects one of `later`."""
    d = pd.Timedelta(days=h)
    return any(c < v + d and v < c + d for c in fitted for v in later)


SETTINGS = [(28, 1, 6), (90, 1, 6), (90, 1, 12), (60, 2, 8), (181, 1, 12), (365, 2, 12), (365, 1, 24)]


@pytest.mark.parametrize(("h", "step", "n"), SETTINGS)
def test_slices_label_windows_never_overlap_the_fitted_ones(h, step, n):
    cuts = cutoffs(n, step)
    column = pd.Series(np.repeat(cuts, 3))
    s = purged_slices(column, len(column), h, 0.15)
    assert s.embargoed
    named = {k: sorted(set(column[m])) for k, m in vars(s).items() if isinstance(m, np.ndarray)}
    assert named["es_fit"] and named["es_valid"] and named["cal_fit"] and named["cal_valid"]
    assert not overlaps(named["es_fit"], named["es_valid"], h)
    assert not overlaps(named["cal_fit"], named["cal_valid"], h)
    # The calibration slice is the latest; it is never earlier than the early-stopping slice.
    assert max(named["cal_valid"]) == cuts[-1] and min(named["cal_valid"]) >= min(named["es_valid"])
    assert s.cutoffs["cal_valid"] == named["cal_valid"]


def test_short_history_shares_one_slice_then_says_the_labels_overlap():
    # 90-day labels, 4 monthly cutoffs: no room for two embargoed slices, room for one shared slice.
    four = pd.Series(cutoffs(4, 1))
    shared = purged_slices(four, 4, 90, 0.25)
    assert shared.embargoed and (shared.es_valid == shared.cal_valid).all()
    assert four[shared.cal_valid].tolist() == [pd.Timestamp("2021-04-01")]
    assert four[shared.cal_fit].tolist() == [pd.Timestamp("2021-01-01")]
    assert any("share" in n for n in shared.notes)
    # 365-day labels over 6 monthly cutoffs: no embargo is possible; the overlap is said, never silent.
    six = pd.Series(cutoffs(6, 1))
    leaky = purged_slices(six, 6, 365, 0.25)
    assert not leaky.embargoed
    assert any("overlapping" in n and "optimistic" in n for n in leaky.notes)
    with pytest.raises(ValueError, match="horizon_days"):
        purged_slices(six, 6, None, 0.25)


def training_set(cuts: list[pd.Timestamp], h: int, n: int = 150, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for k, c in enumerate(cuts):
        spend = rng.gamma(2.0, 1.0, n)
        buys = rng.random(n) < 1 / (1 + np.exp(-(spend - 1.5)))
        parts.append(
            pd.DataFrame(
                {
                    "customer_id": [f"{i:04d}" for i in range(n)],
                    "cutoff": c,
                    "cutoff_index": float(k),  # planted: lets the spy see which cutoffs a fit was given
                    "profit_net_90d": spend * 25 + rng.normal(0, 5, n),
                    f"label_net_profit_{h}d": np.where(buys, 100 * spend, 0.0) + rng.normal(0, 10, n),
                    f"label_orders_{h}d": buys.astype(float),
                    f"label_churned_{h}d": (~buys).astype(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize(("h", "step", "n"), [(90, 1, 12), (60, 2, 8), (365, 2, 12)])
def test_early_stopping_and_calibration_never_watch_overlapping_labels(monkeypatch, h, step, n):
    """Spy on every LightGBM fit of the value and churn models: what was fitted vs. what was watched."""
    cuts = cutoffs(n, step)
    seen: list[tuple[list[pd.Timestamp], list[pd.Timestamp]]] = []
    original = lgb.LGBMModel.fit

    def spy(self, X, y, *args, **kwargs):
        fitted = [cuts[int(i)] for i in np.unique(X["cutoff_index"])]
        eval_x = kwargs.get("eval_X") or ()
        watched = [cuts[int(i)] for e in eval_x for i in np.unique(e["cutoff_index"])]
        seen.append((fitted, watched))
        return original(self, X, y, *args, **kwargs)

    monkeypatch.setattr(lgb.LGBMModel, "fit", spy)
    cfg = override("models", lightgbm=FAST, churn_lightgbm=FAST, validation_share=0.15)
    model = CustomerValueModel(h, cfg).fit(training_set(cuts, h))
    early_stopped = [(f, w) for f, w in seen if w]
    assert len(early_stopped) == 2  # the value booster and the churn classifier
    for fitted, watched in early_stopped:
        assert not overlaps(fitted, watched, h)
    churn = model.churn_model_
    assert not overlaps(churn.fit_cutoffs_, churn.calibration_cutoffs_, h)
    value = model.value_model_
    assert value.embargoed_
    fit_b = [pd.Timestamp(c) for c in value.slices_["cal_fit"]]
    cal_b = [pd.Timestamp(c) for c in value.slices_["cal_valid"]]
    assert not overlaps(fit_b, cal_b, h)
    # The final boosters learn every cutoff (refit_full): the embargo costs no recent data at scoring.
    assert sorted(seen[-1][0]) == cuts


def test_conformal_rank_is_the_finite_sample_one():
    resid = np.arange(1.0, 10.0)  # n = 9: ranks floor(10 * 0.1) = 1 and ceil(10 * 0.9) = 9
    assert conformal_offsets(resid, 0.1, 0.9) == (1.0, 9.0, False)
    # n = 19: ranks 2 and 18, where the plain empirical quantiles (np.quantile) sit at 2.8 and 17.2.
    assert conformal_offsets(np.arange(1.0, 20.0), 0.1, 0.9) == (2.0, 18.0, False)
    # Too few residuals for rank ceil((n + 1) * 0.9) <= n: the extreme is used and flagged.
    assert conformal_offsets(np.array([3.0, 1.0, 2.0]), 0.1, 0.9) == (1.0, 3.0, True)


def test_conformal_interval_covers_the_nominal_share_on_exchangeable_draws():
    rng = np.random.default_rng(0)
    hits = []
    for _ in range(3000):
        draws = rng.standard_t(3, 20)
        low, high, _ = conformal_offsets(draws[:19], 0.1, 0.9)
        hits.append(low <= draws[19] <= high)
    # Exactly (18 - 2) / 20 = 0.80 in expectation; plain empirical quantiles give about 0.72.
    assert 0.78 <= np.mean(hits) <= 0.83


def test_season_matched_cutoffs_interpolate_the_nearest_times_of_year():
    """The total correction's cutoffs: those nearest, in the year, the date the model scores at (latest + h)."""
    ts = pd.Timestamp
    monthly = [ts("2024-06-01") + pd.DateOffset(months=k) for k in range(12)]  # June 2024 to May 2025
    near, scoring = season_matched_cutoffs(np.array(monthly, dtype="datetime64[ns]"), 90, 62)
    # 1 May 2025 + 90 days = 30 July: 1 July is 29 days before it in the year, 1 August 2 days after.
    assert scoring == ts("2025-07-30")
    assert [c for c, _ in near] == [[ts("2024-07-01")], [ts("2024-08-01")]]
    assert [w for _, w in near] == pytest.approx([2 / 31, 29 / 31])
    # Every year's cutoff on the same day is one group; a cutoff on the scoring day alone gets weight 1.
    two_years = [ts("2023-10-02"), ts("2024-10-02"), ts("2025-07-04")]
    near, scoring = season_matched_cutoffs(pd.Series(two_years), 90, 62)
    assert scoring == ts("2025-10-02") and near == [([ts("2023-10-02"), ts("2024-10-02")], 1.0)]
    # Nothing within reach (Online Retail: January to June, scoring at the end of August): empty, with the date.
    half_year = [ts("2011-01-01") + pd.DateOffset(months=k) for k in range(6)]
    assert season_matched_cutoffs(pd.Series(half_year), 90, 62) == ([], ts("2011-08-30"))
    # A horizon of a year (every horizon holds a whole year), matching off, no cutoffs: does not apply.
    assert season_matched_cutoffs(pd.Series(monthly), 365, 62) == ([], None)
    assert season_matched_cutoffs(pd.Series(monthly), 90, None) == ([], None)
    assert season_matched_cutoffs(None, 90, 62) == ([], None)


def test_season_matched_cutoffs_aim_at_the_training_sets_as_of_when_given():
    """A 90-day model trained at 1 May has its latest cutoff on 1 January (the month start at or before 31
    January): one horizon after it is 1 April, a month before the date it scores at. Given the as-of, the total
    correction is measured on last May's cutoff (on the demo company's May fold: total 0.695 -> 0.865)."""
    from features.training import training_cutoffs
    from tests.settings import defaults

    as_of = pd.Timestamp("2025-05-01")
    cuts = pd.Series(training_cutoffs(as_of, 90, defaults().labels))
    assert cuts.iloc[-1] == pd.Timestamp("2025-01-01")
    near, scoring = season_matched_cutoffs(cuts, 90, 62, as_of)
    assert scoring == as_of and near == [([pd.Timestamp("2024-05-01")], 1.0)]
    # Without it: one horizon after the latest cutoff, April's time of year.
    assert season_matched_cutoffs(cuts, 90, 62)[0] == [([pd.Timestamp("2024-04-01")], 1.0)]
    # The model takes it from the fit (the backtest passes the fold's date, `cvp train` its as-of).
    cfg = override("models", lightgbm=FAST, churn_lightgbm=FAST)
    model = CustomerValueModel(90, cfg).fit(training_set(list(cuts), 90, n=60), as_of=as_of)
    assert model.value_model_.scale_cutoffs_ == ["2024-05-01"]


def test_the_default_cutoff_step_puts_a_training_cutoff_at_every_time_of_year_for_short_horizons():
    """`labels.cutoff_step_months: auto` (the default): monthly cutoffs for horizons up to half a year, so the
    season-matched total correction finds a cutoff on the scoring date's time of year (with cutoffs two months
    apart it interpolated between single cutoffs a month either side); two months for a year, so 12 cutoffs
    still leave room for the one-horizon embargo of both validation slices."""
    from features.training import training_cutoffs
    from tests.settings import defaults

    labels = defaults().labels
    assert labels.cutoff_step_months == "auto"
    as_of = pd.Timestamp("2025-12-31")
    for horizon, step in [(90, 1), (181, 1), (365, 2)]:
        got = training_cutoffs(as_of, horizon, labels)
        assert len(got) == labels.n_cutoffs
        assert {
            (b.year - a.year) * 12 + b.month - a.month for a, b in zip(got[:-1], got[1:], strict=True)
        } == {step}
    quarter = training_cutoffs(as_of, 90, labels)
    assert quarter[-1] == pd.Timestamp("2025-10-01")
    # The scoring date's time of year (1 October + 90 days = 30 December) has a cutoff a year before it.
    near, _ = season_matched_cutoffs(pd.Series(quarter), 90, 62)
    assert [c for cuts, w in near for c in cuts if w > 0.9] == [pd.Timestamp("2025-01-01")]
    year = training_cutoffs(as_of, 365, labels)
    slices = purged_slices(pd.Series(year), len(year), 365, 0.1)
    assert slices.embargoed and not slices.notes
    # A number is still a number; "auto" follows the horizon the cutoffs are built for.
    assert override("labels", cutoff_step_months=3).step_months(90) == 3
    assert labels.step_months(90) == 1 and labels.step_months(365) == 2
    with pytest.raises(ValueError, match="cutoff_step_months"):
        override("labels", cutoff_step_months=0)
