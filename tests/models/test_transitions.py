"""Transitions between two runs: tiers and ratings, value and churn changes, SHAP deltas that add up."""

from __future__ import annotations

import re

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.registry import feature_registry
from models.explain import BASE_COLUMN, explain_booster
from models.transitions import contribution_deltas, delta_label, tier_transitions
from tests.settings import defaults

REGISTRY = feature_registry(defaults().features)
H = defaults().labels.horizon_days
VALUE, CHURN = f"pred_expected_net_value_{H}d", f"pred_churn_prob_{H}d"


def _scores(rows: dict[str, tuple], version: str = "1") -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(
        rows, orient="index", columns=["status", "tier", "rating", VALUE, CHURN]
    ).rename_axis("customer_id")
    frame["model_version"] = version
    return frame


def _contrib(rows: dict[str, dict[str, float]], base: float = 100.0) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index").fillna(0.0)
    frame[BASE_COLUMN] = base
    return frame


def _hand_made():
    old = _scores(
        {
            "ann": ("scored", "good", "B", 900.0, 0.30),
            "bob": ("scored", "great", "A", 2000.0, 0.10),
            "cat": ("scored", "good", "C", 300.0, 0.20),
            "eve": ("lapsed", None, None, np.nan, np.nan),
        }
    )
    new = _scores(
        {
            "ann": ("scored", "great", "A", 1330.0, 0.25),
            "bob": ("scored", "good", "B", 1580.0, 0.15),
            "dan": ("scored", "good", "C", 400.0, 0.40),
            "eve": ("scored", "problem", "D", -50.0, 0.60),
        }
    )
    # contributions: value = 100 (base) + features
    old_c = _contrib(
        {
            "ann": {
                "service_effort_hours_90d": -100.0,
                "profit_margin_365d": 700.0,
                "profit_net_365d": 200.0,
            },
            "bob": {"service_effort_hours_90d": -80.0, "profit_margin_365d": 1500.0, "recency_days": 480.0},
            "cat": {"profit_margin_365d": 200.0},
        }
    )
    new_c = _contrib(
        {
            "ann": {
                "service_effort_hours_90d": -520.0,
                "profit_margin_365d": 1250.0,
                "profit_net_365d": 500.0,
            },
            "bob": {"service_effort_hours_90d": -80.0, "profit_margin_365d": 1500.0, "recency_days": 60.0},
            "dan": {"profit_margin_365d": 300.0},
            "eve": {"profit_margin_365d": -150.0},
        }
    )
    old_f = pd.DataFrame(
        {
            "service_effort_hours_90d": [3.0, 1.0],
            "profit_margin_365d": [1200.0, 5000.0],
            "profit_net_365d": [800.0, 4000.0],
            "recency_days": [10.0, 20.0],
        },
        index=["ann", "bob"],
    )
    new_f = old_f.copy()
    new_f.loc["ann", ["service_effort_hours_90d", "profit_margin_365d"]] = [14.0, 2500.0]
    new_f.loc["bob", "recency_days"] = 200.0
    return old, new, old_c, new_c, old_f, new_f


def test_transitions_by_hand() -> None:
    old, new, old_c, new_c, old_f, new_f = _hand_made()
    got = tier_transitions(
        old, new, old_c, new_c, REGISTRY, value_column=VALUE, churn_column=CHURN, currency="EUR", n_deltas=2,
        old_features=old_f, new_features=new_f,
    )  # fmt: skip
    assert got.index.tolist() == ["ann", "bob", "cat", "dan", "eve"]
    assert got["presence"].tolist() == ["both", "both", "gone", "new", "both"]
    assert got.loc["ann", ["old_tier", "new_tier", "tier_move", "old_rating", "new_rating"]].tolist() == [
        "good", "great", "up", "B", "A",
    ]  # fmt: skip
    assert got.loc["bob", "tier_move"] == "down"
    assert got[["tier_move"]].iloc[2:].isna().all().all()  # gone, new, not scored before
    assert got.loc["eve", ["old_status", "new_status"]].tolist() == ["lapsed", "scored"]
    assert got.loc["ann", "value_change"] == pytest.approx(430.0)
    assert got.loc["ann", "churn_change"] == pytest.approx(-0.05)
    # ann: profit +850 (margin +550 leads, with net profit +300), support -420
    assert got.loc["ann", "value_delta_1"] == (
        "gross margin in the last 12 months rose from 1,200 EUR to 2,500 EUR: +850 EUR, "
        "together with the other profit figures"
    )
    assert got.loc["ann", "value_delta_2"] == "support hours in the last 90 days rose from 3 to 14: -420 EUR"
    assert got.loc["ann", ["value_delta_group_1", "value_delta_feature_2"]].tolist() == [
        "profit",
        "service_effort_hours_90d",
    ]
    assert got.loc["ann", "value_delta_amount_1"] + got.loc["ann", "value_delta_amount_2"] == pytest.approx(
        430.0
    )
    # bob: recency is said from the registry description, the value from the reason words
    assert got.loc["bob", "value_delta_1"] == "days since the last order rose from 20 to 200: -420 EUR"
    assert pd.isna(got.loc["bob", "value_delta_2"])  # nothing else moved
    # no deltas for customers not scored in both runs
    assert got.loc[["cat", "dan", "eve"], "value_delta_1"].isna().all()
    assert not got["model_changed"].any()


def test_without_feature_values_deltas_name_the_feature_only() -> None:
    old, new, old_c, new_c, *_ = _hand_made()
    got = tier_transitions(
        old, new, old_c, new_c, REGISTRY, value_column=VALUE, churn_column=CHURN, currency="EUR", n_deltas=1
    )
    assert got.loc["ann", "value_delta_1"] == (
        "gross margin in the last 12 months: +850 EUR, together with the other profit figures"
    )


def test_churn_deltas_in_points_when_given() -> None:
    old, new, old_c, new_c, old_f, new_f = _hand_made()
    old_p = pd.DataFrame({"recency_days": [0.02], BASE_COLUMN: [0.08]}, index=["bob"])
    new_p = pd.DataFrame({"recency_days": [0.07], BASE_COLUMN: [0.08]}, index=["bob"])
    got = tier_transitions(
        old, new, old_c, new_c, REGISTRY, value_column=VALUE, churn_column=CHURN, currency="EUR", n_deltas=1,
        old_churn_contrib=old_p, new_churn_contrib=new_p, old_features=old_f, new_features=new_f,
    )  # fmt: skip
    assert got.loc["bob", "churn_delta_1"] == "days since the last order rose from 20 to 200: +5 churn points"
    assert got.loc["bob", "churn_delta_amount_1"] == pytest.approx(0.05)


def test_model_change_is_split_into_data_and_model_with_a_bridge() -> None:
    old, new, old_c, new_c, old_f, new_f = _hand_made()
    new["model_version"] = "2"
    # the old model on the new data: ann's support hours cost 300 there; the rest of the change is the model's
    bridge = _contrib({"ann": {"service_effort_hours_90d": -400.0, "profit_margin_365d": 700.0}})
    got = tier_transitions(
        old, new, old_c, new_c, REGISTRY, value_column=VALUE, churn_column=CHURN, currency="EUR", n_deltas=3,
        old_features=old_f, new_features=new_f, bridge_value_contrib=bridge,
    )  # fmt: skip
    assert got.loc["ann", "model_changed"]
    data, model = got.loc["ann", ["value_change_data", "value_change_model"]]
    assert data == pytest.approx(-500.0)  # (100 - 400 + 700) - (100 - 100 + 700 + 200)
    assert data + model == pytest.approx(got.loc["ann", "value_change"])
    amounts = got.loc["ann", [f"value_delta_amount_{k}" for k in (1, 2, 3)]].astype(float).fillna(0.0)
    assert amounts.sum() == pytest.approx(data)
    # without a bridge the split is unknown, never guessed
    plain = tier_transitions(
        old, new, old_c, new_c, REGISTRY, value_column=VALUE, churn_column=CHURN, currency="EUR", n_deltas=1
    )
    assert plain.loc[["ann", "bob"], ["value_change_data", "value_change_model"]].isna().all().all()


_NAMES = ["service_effort_hours_90d", "profit_margin_365d", "profit_net_365d", "recency_days", "tenure_days"]


def _model() -> lgb.Booster:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.gamma(2.0, 50.0, (400, len(_NAMES))), columns=_NAMES)
    y = (
        X["profit_margin_365d"] * 2
        - X["service_effort_hours_90d"] * 5
        - X["recency_days"]
        + rng.normal(0, 20, 400)
    )
    return lgb.train({"objective": "regression", "verbose": -1, "num_leaves": 7}, lgb.Dataset(X, y), 40)


BOOSTER = _model()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), share=st.floats(0.0, 1.0))
def test_same_model_old_value_plus_deltas_is_new_value(seed: int, share: float) -> None:
    rng = np.random.default_rng(seed)
    ids = pd.Index([f"c{i:02d}" for i in range(30)], name="customer_id")
    old_x = pd.DataFrame(rng.gamma(2.0, 50.0, (30, len(_NAMES))), columns=_NAMES, index=ids)
    changed = rng.random(old_x.shape) < share
    new_x = old_x.where(~changed, rng.gamma(2.0, 50.0, old_x.shape))
    old_c, new_c = explain_booster(BOOSTER, old_x, 0), explain_booster(BOOSTER, new_x, 0)
    old_v, new_v = BOOSTER.predict(old_x), BOOSTER.predict(new_x)

    deltas = contribution_deltas(old_c, new_c)
    np.testing.assert_allclose(old_v + deltas.sum(axis=1).to_numpy(), new_v, rtol=0, atol=1e-9)

    def scores(v: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            {"status": "scored", "tier": "good", "rating": "B", VALUE: v, CHURN: 0.2}, index=ids
        )

    got = tier_transitions(
        scores(old_v), scores(new_v), old_c, new_c, REGISTRY, value_column=VALUE, churn_column=CHURN,
        currency="EUR", n_deltas=3, old_features=old_x, new_features=new_x,
    )  # fmt: skip
    # every group (profit, tenure, service effort) is one delta: together they are the whole change
    amounts = got[[f"value_delta_amount_{k}" for k in (1, 2, 3)]].fillna(0.0).sum(axis=1)
    np.testing.assert_allclose(got["old_value"] + amounts, got["new_value"], rtol=0, atol=1e-9)
    unchanged = ~changed.any(axis=1)
    assert got.loc[unchanged, "value_delta_1"].isna().all()  # same data, same model: nothing to explain


_PERIODS = re.compile(
    r"in the last \d+ (?:days|months|years)|in the last 12 months|so far|over the whole relationship"
)


@pytest.mark.parametrize("windows", [None, [30, 180, 730]])
def test_every_registry_feature_has_a_clean_delta_label(windows: list[int] | None) -> None:
    """One clean label per feature of every group, whatever the windows: no value, placeholder, column name,
    cutoff language or dangling preposition, and its period once (the "in discounts in the last 12 months"
    glitch: a preposition of the reason phrase kept, a period composed twice)."""
    cfg = defaults().features
    if windows is not None:
        cfg = cfg.model_copy(update={"windows_days": windows})
    registry = feature_registry(cfg)
    groups = {spec.group for spec in registry.values()}
    assert len(groups) >= 8
    names = list(registry)
    hows: dict[str, str] = {}
    for name, spec in registry.items():
        label, fmt, how = delta_label(name, "EUR")
        hows[name] = how
        assert label and label == label.strip() and "  " not in label, name
        assert not re.search(r"[{}_]|\bcutoff\b|\blifetime\b|\bfeature\b|^1 if\b", label), (name, label)
        assert not re.match(r"(?:in|of|on|for|with|by|an?) ", label), (name, label)
        assert len(_PERIODS.findall(label)) <= 1, (name, label)
        if spec.window_days is not None and spec.group != "season":  # season: the same weeks a year ago
            assert len(_PERIODS.findall(label)) == 1, (name, label)
        if "per 1,000" in label:
            assert "per 1,000 EUR" in label, (name, label)
        assert how in {"money", "number", "flag", "text", "none"}
    # the whole sentence, as a transition says it: one customer per feature, in one call (a call per feature costs
    # seconds); customer i's value moves 100 -> 60 EUR, all of it by feature i (contribution 50 -> 10), whose value
    # moves 3 -> 14 (a flag yes -> no, a text north -> south); every other feature keeps its value and adds nothing
    ids = pd.Index([f"c{i:03d}" for i in range(len(names))])
    mine = np.eye(len(names), dtype=bool)

    def features(flag: float, number: float, text: str) -> pd.DataFrame:
        cols = {}
        for j, name in enumerate(names):
            if hows[name] == "text":
                cols[name] = np.where(mine[:, j], text, "same")
            else:
                cols[name] = np.where(mine[:, j], flag if hows[name] == "flag" else number, 5.0)
        return pd.DataFrame(cols, index=ids)

    frame = pd.DataFrame(
        {"status": "scored", "tier": "good", "rating": "B", VALUE: 100.0, CHURN: 0.2}, index=ids
    )
    got = tier_transitions(
        frame, frame.assign(**{VALUE: 60.0}), pd.DataFrame(50.0 * mine, columns=names, index=ids),
        pd.DataFrame(10.0 * mine, columns=names, index=ids), registry, value_column=VALUE, churn_column=CHURN,
        currency="EUR", n_deltas=1, old_features=features(1.0, 3.0, "north"),
        new_features=features(0.0, 14.0, "south"),
    )  # fmt: skip
    for cid, name in zip(ids, names, strict=True):
        label, how = delta_label(name, "EUR")[0], hows[name]
        sentence = got.loc[cid, "value_delta_1"]
        assert sentence.startswith(label) and sentence.endswith(": -40 EUR"), (name, sentence)
        assert "  " not in sentence and " nan" not in sentence and "no record" not in sentence, (
            name,
            sentence,
        )
        if how == "flag":
            assert "went from yes to no" in sentence, (name, sentence)
        elif how == "number" or how == "money":
            assert re.search(r" (?:rose|fell) from ", sentence), (name, sentence)


def test_churn_change_split_into_data_and_model_with_a_bridge() -> None:
    """The data/model split applies to churn too: old model on both data (explained by its deltas) + the rest."""
    old, new, old_c, new_c, old_f, new_f = _hand_made()
    new["model_version"] = "2"
    old.loc["bob", CHURN], new.loc["bob", CHURN] = 0.10, 0.15
    old_p = pd.DataFrame(
        {"recency_days": [0.02], "profit_margin_365d": [0.0], BASE_COLUMN: [0.08]}, index=["bob"]
    )
    new_p = pd.DataFrame(
        {"recency_days": [0.03], "profit_margin_365d": [0.02], BASE_COLUMN: [0.10]}, index=["bob"]
    )
    # the old model on the new data: recency alone raises churn by 4 points (0.12 in all)
    bridge = pd.DataFrame(
        {"recency_days": [0.06], "profit_margin_365d": [0.0], BASE_COLUMN: [0.08]}, index=["bob"]
    )
    got = tier_transitions(
        old, new, old_c, new_c, REGISTRY, value_column=VALUE, churn_column=CHURN, currency="EUR", n_deltas=2,
        old_churn_contrib=old_p, new_churn_contrib=new_p, old_features=old_f, new_features=new_f,
        bridge_churn_contrib=bridge,
    )  # fmt: skip
    data, model = got.loc["bob", ["churn_change_data", "churn_change_model"]]
    assert data == pytest.approx(0.04) and model == pytest.approx(0.01)
    assert data + model == pytest.approx(got.loc["bob", "churn_change"])
    assert got.loc["bob", "churn_delta_1"] == "days since the last order rose from 20 to 200: +4 churn points"
    assert pd.isna(got.loc["bob", "churn_delta_2"])  # the old model gives margin nothing on either data
    # without a bridge the split is unknown, never guessed; with one model it is all data
    plain = tier_transitions(
        old, new, old_c, new_c, REGISTRY, value_column=VALUE, churn_column=CHURN, currency="EUR", n_deltas=1,
        old_churn_contrib=old_p, new_churn_contrib=new_p,
    )  # fmt: skip
    assert plain.loc["bob", ["churn_change_data", "churn_change_model"]].isna().all()
    new["model_version"] = "1"
    same = tier_transitions(
        old, new, old_c, new_c, REGISTRY, value_column=VALUE, churn_column=CHURN, currency="EUR", n_deltas=1,
        old_churn_contrib=old_p, new_churn_contrib=new_p,
    )  # fmt: skip
    assert (
        same.loc["bob", "churn_change_data"] == pytest.approx(0.05)
        and same.loc["bob", "churn_change_model"] == 0
    )
