"""Explanation adapter: checked SHAP frames, probability split, reason sentences, group sums, tier drivers."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import shap
from hypothesis import given, settings
from hypothesis import strategies as st

import models.explain as explain
import models.reason_text as reason_text
from features.registry import feature_registry
from models.explain import (
    BASE_COLUMN,
    ExplanationCheckError,
    churn_probability_contributions,
    explain_booster,
    group_contributions,
    top_reasons,
)
from models.tier_drivers import tier_drivers, tier_separators
from models.tiers import TIER_DTYPE
from tests.settings import defaults

REGISTRY = feature_registry(defaults().features)
CHECK_ROWS = defaults().explain.check_rows


def _features(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "service_effort_hours_90d": rng.gamma(1.0, 5.0, n),
            "recency_days": rng.integers(0, 400, n).astype("float64"),
            "profile_segment": pd.Categorical(rng.choice(["retail", "wholesale", "online"], n)),
            "btyd_expected_purchases_365d": rng.gamma(2.0, 1.0, n),
        },
        index=pd.Index([f"c{i:03d}" for i in range(n)], name="customer_id"),
    )
    frame.loc[frame.index[::9], "recency_days"] = np.nan
    return frame


@pytest.fixture(scope="module")
def data() -> dict[str, object]:
    X = _features(400)
    rng = np.random.default_rng(5)
    value = (
        -60.0 * X["service_effort_hours_90d"]
        - 2.0 * X["recency_days"].fillna(500)
        + 300.0 * (X["profile_segment"] == "wholesale")
        + 150.0 * X["btyd_expected_purchases_365d"]
        + rng.normal(0, 50, len(X))
    )
    churned = (rng.random(len(X)) < 1 / (1 + np.exp(-(X["recency_days"].fillna(300) - 200) / 60))).astype(int)
    params = {"verbose": -1, "num_leaves": 8, "min_data_in_leaf": 10, "min_data_per_group": 10, "seed": 1}
    value_model = lgb.train({**params, "objective": "regression"}, lgb.Dataset(X, value), 40)
    churn_model = lgb.train({**params, "objective": "binary"}, lgb.Dataset(X, churned), 40)
    return {"X": X, "value_model": value_model, "churn_model": churn_model}


def test_contributions_add_up_and_match_shap(data: dict) -> None:
    X, model = data["X"], data["value_model"]
    assert any("==" in str(t) for t in model.dump_model()["tree_info"])  # the model uses categorical splits
    contrib = explain_booster(model, X, CHECK_ROWS)
    assert contrib.index.equals(X.index)
    assert list(contrib.columns) == [*X.columns, BASE_COLUMN]
    np.testing.assert_allclose(contrib.sum(axis=1), model.predict(X, raw_score=True), rtol=1e-9)
    reference = shap.TreeExplainer(model).shap_values(X)
    assert np.abs(contrib.drop(columns=BASE_COLUMN).to_numpy() - reference).max() < 1e-9


def test_churn_contributions_are_log_odds_and_split_to_the_probability(data: dict) -> None:
    X, model = data["X"], data["churn_model"]
    contrib = explain_booster(model, X, CHECK_ROWS)
    np.testing.assert_allclose(contrib.sum(axis=1), model.predict(X, raw_score=True), rtol=1e-9)
    prob = pd.Series(model.predict(X), index=X.index)
    split = churn_probability_contributions(contrib, prob)
    assert list(split.columns) == list(contrib.columns)
    np.testing.assert_allclose(split[BASE_COLUMN], 1 / (1 + np.exp(-contrib[BASE_COLUMN])))
    assert np.abs(split.sum(axis=1) - prob).max() < 1e-15
    # Without calibration the split keeps each feature's direction.
    features = contrib.columns[:-1]
    assert (np.sign(split[features]) == np.sign(contrib[features])).all().all()


def test_probability_split_by_hand() -> None:
    logodds = pd.DataFrame(
        {"a": [1.0, 1.0, 0.0, 1.0], "b": [-0.5, -1.0, 0.0, 0.0], BASE_COLUMN: 0.0}, index=list("wxyz")
    )
    final = pd.Series({"z": np.nan, "y": 0.6, "x": 0.6, "w": 0.7})  # aligned by index, not position
    split = churn_probability_contributions(logodds, final)
    # w: delta 0.2 over total 0.5 -> 0.4 per log-odds unit; x: contributions cancel -> split by |phi|;
    # y: all zero -> equal split; z: no final probability -> NaN.
    expected = pd.DataFrame(
        {"a": [0.4, 0.05, 0.05, np.nan], "b": [-0.2, 0.05, 0.05, np.nan], BASE_COLUMN: 0.5},
        index=list("wxyz"),
    )
    pd.testing.assert_frame_equal(split, expected, atol=1e-15, rtol=0)
    calibrated = churn_probability_contributions(logodds.iloc[:1], np.array([0.3]), base_prob=0.2)
    np.testing.assert_allclose(calibrated.iloc[0].to_numpy(), [0.2, -0.1, 0.2], atol=1e-15)


def test_failed_checks_raise(data: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    X, model = data["X"], data["value_model"]
    exact = explain._exact_contributions

    def off_by_one(booster: object, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        values, raw = exact(booster, frame)
        values[7, 0] += 1.0
        return values, raw

    def swapped(booster: object, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        # Rows still add up, but credit moves between features: only the spot check can see it.
        values, raw = exact(booster, frame)
        values[:, 0] += 1e-3
        values[:, 1] -= 1e-3
        return values, raw

    monkeypatch.setattr(explain, "_exact_contributions", off_by_one)
    with pytest.raises(ExplanationCheckError, match="do not add up"):
        explain_booster(model, X, CHECK_ROWS)
    monkeypatch.setattr(explain, "_exact_contributions", swapped)
    with pytest.raises(ExplanationCheckError, match="pred_contrib"):
        explain_booster(model, X, expected_check_rows=5)
    with pytest.raises(ValueError, match="in order"):
        explain_booster(model, X[X.columns[::-1]], CHECK_ROWS)


def test_additivity_is_checked_on_the_raw_score_and_each_booster_is_flattened_once(
    data: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    import models.treeshap as treeshap

    X = data["X"]
    model = lgb.Booster(model_str=data["value_model"].model_to_string())  # a booster no test explained yet
    built: list[object] = []
    init = treeshap.TreeShapExplainer.__init__

    def counting_init(self: object, *args: object, **kwargs: object) -> None:
        built.append(self)
        init(self, *args, **kwargs)

    monkeypatch.setattr(treeshap.TreeShapExplainer, "__init__", counting_init)
    raw = model.predict(X, raw_score=True)
    first = explain_booster(model, X, 5)
    pd.testing.assert_frame_equal(first, explain_booster(model, X, 5))
    assert len(built) == 1  # the second call (a second chunk) reuses the explainer
    # The raw score is what the rows must add up to: a wrong one is caught, not predicted over.
    monkeypatch.setattr(explain, "_lightgbm_raw", lambda booster, frame, own: raw + 1.0)
    with pytest.raises(ExplanationCheckError, match="do not add up"):
        explain_booster(model, X, 0)
    exact = explain._exact_contributions
    monkeypatch.setattr(explain, "_exact_contributions", lambda b, frame: (exact(b, frame)[0], raw[:-1]))
    with pytest.raises(ValueError, match="predictions for"):
        explain_booster(model, X, 0)


_TRICKY = [0.5, 1.5, 2.5, -0.5, -1.5, -0.4, 0.4, -0.0, 0.0, 0.125, 0.135, 0.005, 0.015, 0.345]
_TRICKY += [1e-300, -1e-300, 999.5, 1000.5, 1234567.5, 0.35, 2.675, np.nan]


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.floats(-1e7, 1e7, allow_nan=False), st.floats(-2.0, 2.0), st.sampled_from(_TRICKY)),
        min_size=1,
        max_size=60,
    )
)
def test_each_text_rendered_once_is_the_text_of_every_row_it_is_given_to(values: list[float]) -> None:
    """Reasons format one text per rounded value: every row still gets exactly `format` of its own value
    (ties rounded half to even, "-0" apart from "0", percentages scaled before rounding)."""
    number = np.array(values, dtype=np.float64)
    templates = ["{value:,.0f} EUR", "{value:+,.0f} orders", "{value:.0%} returned", "{value:.1f} hours"]
    templates += ["{value:,.1f} days", "{value:.2%}", "{value:.2f}", "{value} x", "nothing to say"]
    for template in templates:
        codes, texts = reason_text._render_once(
            reason_text._render_keys(template, number),
            np.isnan(number),
            lambda r, t=template: t.format(value=number[r]),
        )
        for row, x in enumerate(number):
            if np.isnan(x):
                assert codes[row] == -1
            else:
                assert texts[codes[row]] == template.format(value=x), (template, x)


def test_value_reason_sentences_exact() -> None:
    features = pd.DataFrame(
        {
            "service_effort_hours_90d": [14.0, 1.0, 3.0],
            "recency_days": [30.0, np.nan, 210.0],
            "profile_segment": pd.Categorical(["retail", "online", None]),
            "btyd_expected_purchases_365d": [0.5, 2.345, 1.0],
            "unused": [1.0, 2.0, 3.0],
        },
        index=pd.Index(["anna", "ben", "cara"], name="customer_id"),
    )
    contrib = pd.DataFrame(
        {
            "service_effort_hours_90d": [-423.0, -50.0, 99.6],
            "recency_days": [1234.0, 0.3, 0.0],
            "profile_segment": [12345.6, 0.0, -7.0],
            "btyd_expected_purchases_365d": [0.0, 2_500_000.0, 0.0],
            BASE_COLUMN: 1000.0,
        },
        index=features.index,
    )
    got = top_reasons(contrib, features, REGISTRY, 3, "value", "EUR")
    assert list(got.columns) == [f"value_reason_{k}" for k in (1, 2, 3)] + [
        f"value_reason_feature_{k}" for k in (1, 2, 3)
    ]
    assert got.loc["anna"].tolist() == [
        "being in the retail segment raises expected profit by about 12k EUR",
        "last ordered 30 days ago raises expected profit by about 1,200 EUR",
        "14 support hours in the last 90 days lower expected profit by about 420 EUR",
        "profile_segment",
        "recency_days",
        "service_effort_hours_90d",
    ]
    assert got.loc["ben"].tolist() == [
        "2.3 purchases expected from their buying pattern raise expected profit by about 2.5M EUR",
        "1 support hour in the last 90 days lowers expected profit by about 50 EUR",
        "no order date known raises expected profit by less than 1 EUR",
        "btyd_expected_purchases_365d",
        "service_effort_hours_90d",
        "recency_days",
    ]
    cara = got.loc["cara"]
    # Support hours raising expected profit surprise a reader: said as what they signal.
    assert cara["value_reason_1"] == (
        "support hours (3 in the last 90 days), which come with an active account, "
        "raise expected profit by about 100 EUR"
    )
    assert cara["value_reason_2"] == "no segment on record lowers expected profit by about 7 EUR"
    # Zero contributions are not reasons.
    assert pd.isna(cara["value_reason_3"]) and pd.isna(cara["value_reason_feature_3"])


def test_reason_sentences_say_one_in_the_singular() -> None:
    # A count of 1 reads "1 day", "1 support hour" (was: "invoices paid 1 days late", "last ordered 1 days ago"
    # on the account managers' pages); 21, 0.1 and 1,001 keep their plural.
    features = pd.DataFrame(
        {
            "recency_days": [1.0, 21.0],
            "payment_days_late_mean_lifetime": [1.2, 1001.0],
            "service_effort_hours_90d": [0.6, 0.1],
        },
        index=["anna", "ben"],
    )
    contrib = pd.DataFrame(
        {
            "recency_days": [300.0, 200.0],
            "payment_days_late_mean_lifetime": [-200.0, -100.0],
            "service_effort_hours_90d": [-100.0, -50.0],
            BASE_COLUMN: 1000.0,
        },
        index=features.index,
    )
    got = top_reasons(contrib, features, REGISTRY, 3, "value", "EUR")
    assert (
        got.loc["anna", "value_reason_1"] == "last ordered 1 day ago raises expected profit by about 300 EUR"
    )
    assert got.loc["anna", "value_reason_2"].startswith("invoices paid 1 day late on average over the whole")
    assert got.loc["anna", "value_reason_3"].startswith("1 support hour in the last 90 days lowers")
    assert got.loc["ben", "value_reason_1"].startswith("last ordered 21 days ago")
    assert got.loc["ben", "value_reason_2"].startswith("invoices paid 1,001 days late")


def test_churn_reason_sentences_exact() -> None:
    features = pd.DataFrame(
        {"recency_days": [210.0, 5.0], "service_effort_hours_90d": [14.0, 0.0]}, index=["anna", "ben"]
    )
    split = pd.DataFrame(
        {"recency_days": [0.09, -0.012], "service_effort_hours_90d": [0.004, 0.0], BASE_COLUMN: 0.2},
        index=["anna", "ben"],
    )
    got = top_reasons(split, features, REGISTRY, 2, "churn", "EUR")
    assert (
        got.loc["anna", "churn_reason_1"] == "last ordered 210 days ago raises churn risk by about 9 points"
    )
    assert got.loc["anna", "churn_reason_2"] == (
        "14 support hours in the last 90 days raise churn risk by less than 1 point"
    )
    assert got.loc["ben", "churn_reason_1"] == "last ordered 5 days ago lowers churn risk by about 1 point"
    assert pd.isna(got.loc["ben", "churn_reason_2"])


def _profit_case() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The issue's customer: gross margin and net profit (one fact) and returns, all in the profit group."""
    index = pd.Index(["ida", "joe", "kim"], name="customer_id")
    features = pd.DataFrame(
        {
            "profit_margin_365d": [1446.0, 80.0, 500.0],
            "profit_net_365d": [1446.0, -20.0, 400.0],
            "profit_returns_365d": [585.0, 0.0, 0.0],
            "profit_net_lifetime": [9000.0, -20.0, 7000.0],
            "tenure_days": [900.0, 40.0, 2000.0],
            "payment_late_share_lifetime": [0.25, np.nan, 0.0],
            "referral_was_referred": [0.0, 1.0, 0.0],
            "service_days_since_complaint": [np.nan, 3.0, np.nan],
        },
        index=index,
    )
    contrib = pd.DataFrame(
        {
            "profit_margin_365d": [820.0, -300.0, 0.0],
            "profit_net_365d": [400.0, -100.0, 0.0],
            "profit_returns_365d": [160.0, -30.0, 0.0],
            "profit_net_lifetime": [0.0, 0.0, 700.0],
            "tenure_days": [-50.0, -40.0, 90.0],
            "payment_late_share_lifetime": [-200.0, 3.0, 0.0],
            "referral_was_referred": [10.0, 20.0, 0.0],
            "service_days_since_complaint": [60.0, -25.0, 5.0],
            BASE_COLUMN: 1000.0,
        },
        index=index,
    )
    return features, contrib


def test_one_reason_per_group_with_the_group_sum() -> None:
    features, contrib = _profit_case()
    got = top_reasons(contrib, features, REGISTRY, 3, "value", "EUR")
    # Margin, net profit and returns are one reason: their sum (1,380), phrased from the largest (margin).
    assert got.loc["ida"].tolist() == [
        "1,446 EUR gross margin in the last 12 months raises expected profit by about 1,400 EUR, "
        "together with the other profit figures",
        "25% of invoices paid late over the whole relationship lowers expected profit by about 200 EUR",
        "has never complained raises expected profit by about 60 EUR",
        "profit_margin_365d",
        "payment_late_share_lifetime",
        "service_days_since_complaint",
    ]
    # The group's lead is its largest contribution of the group's sign.
    assert got.loc["joe"].tolist() == [
        "80 EUR gross margin in the last 12 months lowers expected profit by about 430 EUR, "
        "together with the other profit figures",
        "a customer for 40 days lowers expected profit by about 40 EUR",
        "last complained 3 days ago lowers expected profit by about 25 EUR",
        "profit_margin_365d",
        "tenure_days",
        "service_days_since_complaint",
    ]
    # Whole-history amounts read "so far"; a flag at 0 reads its "no" phrase; one feature: no "together".
    assert (
        got.loc["kim", "value_reason_1"]
        == "7,000 EUR net profit so far raises expected profit by about 700 EUR"
    )
    assert (
        got.loc["kim", "value_reason_2"] == "a customer for 2,000 days raises expected profit by about 90 EUR"
    )
    flag = top_reasons(contrib[["referral_was_referred"]], features, REGISTRY, 1, "value", "EUR")
    assert flag["value_reason_1"].iloc[:2].tolist() == [
        "not having come through a referral raises expected profit by about 10 EUR",
        "having come through a referral raises expected profit by about 20 EUR",
    ]
    assert pd.isna(flag.loc["kim", "value_reason_1"])
    # The stored contributions are untouched; each reason's amount is its group's exact sum.
    groups = group_contributions(contrib, REGISTRY)
    assert groups.loc["ida", "profit"] == 1380.0 and groups.loc["joe", "profit"] == -430.0


def test_surprising_returns_are_said_as_what_they_signal() -> None:
    features = pd.DataFrame(
        {"profit_returns_365d": [585.0, 0.0, 585.0], "recency_days": [10.0, 10.0, 10.0]},
        index=["a", "b", "c"],
    )
    contrib = pd.DataFrame(
        {"profit_returns_365d": [160.0, -30.0, -90.0], "recency_days": [0.0, 0.0, 0.0]}, index=features.index
    )
    value = top_reasons(contrib, features, REGISTRY, 1, "value", "EUR")["value_reason_1"].tolist()
    assert value == [
        "a lot of returns (585 EUR refunded in the last 12 months), which comes with buying a lot, "
        "raises expected profit by about 160 EUR",
        "no returns in the last 12 months, which comes with buying little, lowers expected profit by about 30 EUR",
        "585 EUR refunded on returns in the last 12 months lowers expected profit by about 90 EUR",
    ]
    # For churn, good news is a lower risk: returns lowering it are the surprise.
    churn = top_reasons(contrib / 1000.0, features, REGISTRY, 1, "churn", "EUR")["churn_reason_1"].tolist()
    assert churn == [
        "585 EUR refunded on returns in the last 12 months raises churn risk by about 16 points",
        "0 EUR refunded on returns in the last 12 months lowers churn risk by about 3 points",
        "a lot of returns (585 EUR refunded in the last 12 months), which comes with buying a lot, "
        "lowers churn risk by about 9 points",
    ]


def test_reasons_need_every_explained_feature() -> None:
    contrib = pd.DataFrame({"recency_days": [1.0], BASE_COLUMN: 0.0}, index=["a"])
    with pytest.raises(ValueError, match="lacks columns"):
        top_reasons(contrib, pd.DataFrame({"other": [1.0]}, index=["a"]), REGISTRY, 3, "value", "EUR")


def test_group_sums_equal_feature_sums(data: dict) -> None:
    contrib = explain_booster(data["value_model"], data["X"], CHECK_ROWS)
    groups = group_contributions(contrib, REGISTRY)
    # Registry group order, then features the registry does not know ("model"), then the base.
    assert list(groups.columns) == ["tenure", "service_effort", "profile", "model", BASE_COLUMN]
    np.testing.assert_allclose(groups["service_effort"], contrib["service_effort_hours_90d"])
    np.testing.assert_allclose(groups["model"], contrib["btyd_expected_purchases_365d"])
    np.testing.assert_allclose(groups.sum(axis=1), contrib.sum(axis=1), rtol=1e-12)

    tiny = pd.DataFrame(
        {"profit_net_365d": [1.0, 2.0], "profit_margin_90d": [10.0, 20.0], "tenure_days": [-3.0, 0.5]}
    )
    np.testing.assert_allclose(group_contributions(tiny, REGISTRY)["profit"], [11.0, 22.0])
    assert list(group_contributions(tiny, REGISTRY).columns) == ["profit", "tenure"]


def _tiny_tiers() -> tuple[pd.DataFrame, pd.Series]:
    index = pd.Index(["a", "b", "c", "d"], name="customer_id")
    contrib = pd.DataFrame(
        {
            "profit_net_365d": [10.0, 6.0, 0.0, -8.0],
            "service_effort_hours_90d": [0.0, 0.0, -2.0, -6.0],
            "recency_days": [1.0, 1.0, 1.0, -3.0],
            BASE_COLUMN: 100.0,
        },
        index=index,
    )
    tiers = pd.Series(pd.Categorical(["great", "great", "good", "problem"], dtype=TIER_DTYPE), index=index)
    return contrib, tiers


def test_tier_drivers_by_hand() -> None:
    contrib, tiers = _tiny_tiers()
    drivers = tier_drivers(contrib, tiers, REGISTRY)
    assert list(drivers) == ["great", "good", "problem"]
    great = drivers["great"]
    # Base means: profit_net 2, effort -2, recency 0; great means: 8, 0, 1.
    assert great["level"].tolist() == ["group"] * 3 + ["feature"] * 3
    assert great.index.tolist() == [
        "profit",
        "service_effort",
        "tenure",
        "profit_net_365d",
        "service_effort_hours_90d",
        "recency_days",
    ]
    np.testing.assert_allclose(great["difference"], [6.0, 2.0, 1.0, 6.0, 2.0, 1.0])
    np.testing.assert_allclose(great["tier_mean"], [8.0, 0.0, 1.0, 8.0, 0.0, 1.0])
    assert great["group"].tolist()[3:] == ["profit", "service_effort", "tenure"]
    assert (great["n_customers"] == 2).all()
    problem = drivers["problem"].loc[lambda f: f["level"] == "feature"]
    np.testing.assert_allclose(problem.loc["profit_net_365d", "difference"], -10.0)
    # An empty tier keeps its key, with missing means.
    empty = tier_drivers(contrib.iloc[:2], tiers.iloc[:2], REGISTRY)["problem"]
    assert empty["tier_mean"].isna().all() and (empty["n_customers"] == 0).all()
    # rows in another order (a file's chunking), the tiers in a third: the same tables; a row without a tier refused
    again = tier_drivers(contrib.iloc[[2, 0, 3, 1]], tiers.iloc[[3, 1, 0, 2]], REGISTRY)
    for name, table in drivers.items():
        pd.testing.assert_frame_equal(again[name], table, check_exact=True)
    with pytest.raises(ValueError, match="a tier for every row"):
        tier_drivers(contrib, tiers.iloc[:3], REGISTRY)


def test_tier_separators_by_hand() -> None:
    contrib, tiers = _tiny_tiers()
    features = pd.DataFrame(
        {"profit_net_365d": [500.0, 300.0, 50.0, -400.0], "service_effort_hours_90d": [1.0, 2.0, 9.0, 30.0]},
        index=contrib.index,
    )
    got = tier_separators(features, contrib, tiers, top=2)
    assert got["pair"].tolist() == ["great_vs_good"] * 2 + ["good_vs_problem"] * 2
    assert got["feature"].tolist() == [
        "profit_net_365d",
        "service_effort_hours_90d",
        "profit_net_365d",
        "recency_days",  # |-2 - (-6)| = 4 = |1 - (-3)|: the tie goes to the name
    ]
    assert got["rank"].tolist() == [1, 2, 1, 2]
    np.testing.assert_allclose(got["contrib_difference"], [8.0, 2.0, 8.0, 4.0])
    np.testing.assert_allclose(got["feature_median_higher"].iloc[:2], [400.0, 1.5])
    assert np.isnan(got.loc[got["feature"] == "recency_days", "feature_median_higher"]).all()
