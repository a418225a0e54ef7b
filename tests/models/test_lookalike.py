"""The lookalike model (models/lookalike.py): the baseline by hand, the model on a planted signal, reasons, tiers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.early_life import NUMERIC_COLUMNS
from models.lookalike import (
    LookalikeConfig,
    backtest_lookalike,
    fit_lookalike,
    frequency_baseline,
    score_new_customers,
)

CONFIG = LookalikeConfig(
    early_days=120,
    top_share=0.2,
    great_probability=0.5,
    n_cutoffs=4,
    cutoff_step_months=2,
    min_training_rows=50,
    n_estimators=60,
    learning_rate=0.1,
    num_leaves=3,
    min_child_samples=10,
    seed=42,
    n_reasons=2,
)
ATTRS = ("segment", "acquisition_channel")


def _rows(n: int, seed: int, cutoffs: list[str]) -> pd.DataFrame:
    """New customers whose first order value plants greatness; channel and segment are noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "segment": rng.choice(["B2B", "B2C"], n),
            "acquisition_channel": rng.choice(["web", "event"], n),
            "cutoff": pd.to_datetime(rng.choice(cutoffs, n)),
        }
    )
    for c in NUMERIC_COLUMNS:
        frame[c] = rng.random(n)
    frame["early_first_order_value"] = rng.lognormal(4.0, 1.0, n)
    great = frame["early_first_order_value"] > np.quantile(frame["early_first_order_value"], 0.75)
    frame["label_great"] = great.astype(float)
    frame["label_net_profit"] = np.where(great, 500.0, -20.0) + rng.normal(0, 10, n)
    return frame


def test_frequency_baseline_by_hand() -> None:
    train = pd.DataFrame(
        {
            "acquisition_channel": ["web"] * 4 + ["event"] * 6,
            "segment": ["B2B"] * 4 + ["B2C"] * 6,
            "label_great": [1, 1, 1, 0] + [0, 0, 0, 0, 0, 1],
        }
    )
    test = pd.DataFrame(
        {"acquisition_channel": ["web", "event", "partner"], "segment": ["B2B", "B2C", "B2B"]}
    )
    base = 4 / 10
    # Smoothed with 10 pseudo-customers at the base rate; an unseen combination gets the base rate.
    expected = [(3 + 10 * base) / (4 + 10), (1 + 10 * base) / (6 + 10), base]
    np.testing.assert_allclose(frequency_baseline(train, test), expected)


def test_model_finds_the_planted_early_signal_and_beats_the_baseline() -> None:
    rows = _rows(1200, 0, ["2023-01-01", "2023-03-01", "2024-03-01"])
    result = backtest_lookalike(rows, ATTRS, CONFIG, 365)
    assert result["test_cutoff"] == "2024-03-01"
    assert result["train_rows"] == (rows["cutoff"] <= pd.Timestamp("2023-03-01")).sum()
    assert result["auc_model"] > 0.95 > 0.65 > result["auc_baseline"]  # the baseline sees only noise
    assert result["brier_model"] < result["brier_baseline"]


def test_backtest_says_why_it_is_skipped() -> None:
    rows = _rows(300, 1, ["2024-01-01", "2024-03-01"])  # no cutoff one horizon before the latest
    assert "one horizon before" in backtest_lookalike(rows, ATTRS, CONFIG, 365)["skipped"]
    assert "no new customers" in backtest_lookalike(pd.DataFrame(), ATTRS, CONFIG, 365)["skipped"]


def test_scores_reasons_and_provisional_tiers() -> None:
    train = _rows(800, 2, ["2023-01-01"])
    model = fit_lookalike(train, ATTRS, CONFIG)
    new = _rows(40, 3, ["2024-01-01"]).set_index("customer_id")
    new.loc["c0", "segment"] = "unseen segment"  # unseen category: scored, not refused
    out = score_new_customers(model, new, CONFIG)
    assert out.index.equals(new.index)
    p = out["lookalike_prob_great"]
    assert ((p >= 0) & (p <= 1)).all()
    big = new["early_first_order_value"] > np.quantile(train["early_first_order_value"], 0.8)
    assert p[big].mean() > 0.6 > 0.2 > p[~big].mean()
    # Provisional tier: great from P >= 0.5, problem when the expected value is not positive, good otherwise.
    ev = out["lookalike_expected_value"]
    expected = np.where(p >= 0.5, "great", np.where(ev <= 0, "problem", "good"))
    assert out["provisional_tier"].tolist() == [f"{t} (provisional)" for t in expected]
    # Reasons: n_reasons per customer, the first one the planted feature for almost everyone.
    assert [c for c in out.columns if c.startswith("lookalike_reason_")] == [
        "lookalike_reason_1",
        "lookalike_reason_2",
    ]
    assert out["lookalike_reason_1"].str.startswith("first order worth ").mean() > 0.8
    assert out["lookalike_reason_1"].str.contains("raises|lowers").all()
    # Contributions add up to the classifier's log-odds (exact TreeSHAP).
    contrib = model.contributions(new)
    logit = np.log(p / (1 - p))
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), logit.to_numpy(), atol=1e-6)


def test_fit_is_reproducible() -> None:
    train = _rows(400, 4, ["2023-01-01"])
    a = fit_lookalike(train, ATTRS, CONFIG).predict(train)
    b = fit_lookalike(train, ATTRS, CONFIG).predict(train)
    pd.testing.assert_frame_equal(a, b)


def test_config_refuses_unknown_keys() -> None:
    with pytest.raises(ValueError):
        LookalikeConfig(**(CONFIG.model_dump() | {"leaves": 3}))


def _without_orders(frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """`frame` with `rows` turned into customers who signed up and have not ordered (what early_life_features
    gives them: no order, no order figures, 0 orders)."""
    out = frame.copy()
    out["early_has_order"] = 1.0
    out.loc[rows, "early_has_order"] = 0.0
    out.loc[rows, "early_orders"] = 0.0
    for c in ("early_days_to_first_order", "early_first_order_value", "early_revenue", "early_promo_share"):
        out.loc[rows, c] = np.nan
    return out


def test_reasons_of_new_customers_without_orders_read_naturally() -> None:
    rng = np.random.default_rng(5)
    train = _rows(800, 2, ["2023-01-01"])
    train = _without_orders(train, rng.random(len(train)) < 0.4)
    train.loc[train["early_has_order"] == 0, "label_great"] = 0.0  # no order: rarely great (planted)
    train["early_tickets"] = rng.integers(0, 4, len(train)).astype(float)
    model = fit_lookalike(train, ATTRS, CONFIG.model_copy(update={"n_reasons": 3}))
    new = _rows(60, 3, ["2024-01-01"]).set_index("customer_id")
    new["early_tickets"] = rng.integers(0, 4, len(new)).astype(float)
    no_order = np.arange(len(new)) % 2 == 0
    new = _without_orders(new, new.index[no_order])
    out = score_new_customers(model, new, CONFIG.model_copy(update={"n_reasons": 3}), "EUR")
    reasons = out[["lookalike_reason_1", "lookalike_reason_2", "lookalike_reason_3"]]
    texts = reasons.stack().astype(str)
    # Never a missing order figure said as a value ("none yet", "not recorded", "nan") or in column words.
    assert not texts.str.contains("none yet|nan|not recorded|value of the first order").any()
    assert texts.str.fullmatch(r"[^()]+ \((?:raises|lowers) the chance\)").all()
    without = reasons[no_order]
    # A customer without an order: the order figures are one reason, "no order yet", at most once, and the other
    # reasons are what they do have: channel, segment, signup, referral, first days' service effort.
    said = without.apply(lambda r: r.str.startswith("no order yet").sum(), axis=1)
    assert said.le(1).all() and said.sum() >= len(without) // 2
    allowed = r"no order yet|signed up|came through a referral|not referred|segment: |acquisition channel: |"
    allowed += r"service request|service time|minutes of service"
    assert without.stack().str.contains(allowed).all()
    # A customer with orders never reads "no order yet"; amounts carry the currency.
    ordered = reasons[~no_order].stack()
    assert not ordered.str.contains("no order yet").any()
    assert ordered[ordered.str.startswith("first order worth")].str.contains(" EUR ").all()
    # The merged reason carries the exact sum of the order figures' contributions.
    from models.lookalike import NO_ORDER, reason_contributions

    names, values, usable = reason_contributions(model, new)
    ordering = [
        names.index(c)
        for c in (
            "early_has_order",
            "early_orders",
            "early_days_to_first_order",
            "early_first_order_value",
            "early_revenue",
            "early_promo_share",
        )
    ]
    k = names.index(NO_ORDER)
    np.testing.assert_allclose(values[no_order, k], values[no_order][:, ordering].sum(axis=1))
    assert usable[no_order, k].all() and not usable[no_order][:, ordering].any()
    assert not usable[~no_order, k].any()
