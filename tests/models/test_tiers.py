"""Tiers, ratings, flags and Pareto curves on hand-written customer frames, plus totality properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.tiers import (
    TIER_NAMES,
    assign_tiers,
    assign_tiers_with_cut_points,
    pareto_curves,
    rule_coverage,
    tier_cut_points,
)
from tests.settings import defaults, override

H = 365
VALUE = "pred_expected_net_value_365d"
CHURN = "pred_churn_prob_365d"
DEFAULTS = {
    "profit_cost_to_serve_365d": 10.0,
    "profit_margin_365d": 500.0,
    "price_return_rate_value_365d": 0.0,
    "price_discount_rate_365d": 0.0,
    "payment_dispute_share_lifetime": 0.0,
    "profit_revenue_share_365d": 0.01,
    "relationship_manager_departed_90d": 0.0,
    "price_promo_order_share_365d": 0.1,
}


def _frame(rows: dict[str, dict[str, float]]) -> pd.DataFrame:
    records = {cid: {**DEFAULTS, **row} for cid, row in rows.items()}
    frame = pd.DataFrame.from_dict(records, orient="index")
    frame.index.name = "customer_id"
    return frame


# 11 customers; 10 known values, so great.top_share 0.6 makes the top 6 by value the Pareto candidates:
# d (6000), a (5000), b (4000), k (3500), j (3200), c (3000).
ROWS = {
    "a": {VALUE: 5000, CHURN: 0.10, "profit_revenue_share_365d": 0.10},
    "b": {VALUE: 4000, CHURN: 0.60},
    "c": {VALUE: 3000, CHURN: 0.35, "relationship_manager_departed_90d": 1.0},
    "d": {VALUE: 6000, CHURN: 0.10, "profit_cost_to_serve_365d": 4000, "profit_margin_365d": 6000},
    "e": {VALUE: -100, CHURN: 0.10, "price_return_rate_value_365d": 0.9},
    "f": {VALUE: 1000, CHURN: 0.10, "price_return_rate_value_365d": 0.6},
    "g": {VALUE: 900, CHURN: 0.10, "price_discount_rate_365d": 0.45, "price_promo_order_share_365d": 0.8},
    "h": {VALUE: 800, CHURN: 0.10, "payment_dispute_share_lifetime": 0.3},
    "i": {VALUE: np.nan, CHURN: 0.10},
    "j": {VALUE: 3200, CHURN: np.nan},
    "k": {VALUE: 3500, CHURN: 0.10, "price_return_rate_value_365d": np.nan},
}
CONFIG = override("tiers", great=dict(top_share=0.6))


def test_each_rule_on_a_hand_written_frame() -> None:
    out = assign_tiers(_frame(ROWS), CONFIG, H)

    expected_tier = {
        "a": "great",
        "b": "good",
        "c": "great",
        "d": "problem",
        "e": "problem",
        "f": "problem",
        "g": "problem",
        "h": "problem",
        "i": "good",
        "j": "good",
        "k": "good",
    }
    assert out["tier"].astype(str).to_dict() == expected_tier
    reason = out["tier_reason"]
    assert reason["a"] == "great: top 60% of customers by expected net value, churn risk < 0.5"
    assert reason["b"] == "good: churn risk >= 0.5"
    assert (
        reason["d"] == "problem: cost_to_serve_share (profit_cost_to_serve_365d > 0.5 x profit_margin_365d)"
    )
    # e also breaks the return rule; the first configured rule decides the reason.
    assert reason["e"] == "problem: non_positive_value (pred_expected_net_value_365d <= 0)"
    assert reason["f"] == "problem: return_abuse (price_return_rate_value_365d > 0.5)"
    assert reason["g"] == "problem: discount_abuse (price_discount_rate_365d > 0.4)"
    assert reason["h"] == "problem: dispute_share (payment_dispute_share_lifetime > 0.25)"
    assert reason["i"] == "good: expected net value unknown; unchecked (missing data): non_positive_value"
    assert reason["j"] == "good: churn risk unknown"
    assert (
        reason["k"] == "good: not all problem rules could be checked; unchecked (missing data): return_abuse"
    )

    assert out["flags"].to_dict() == {
        "a": "concentration",
        "b": "",  # churn 0.6 > 0.3 but at_risk is only for great customers
        "c": "manager_departed;at_risk",
        "d": "",
        "e": "return_abuse",
        "f": "return_abuse",
        "g": "promo_abuse",
        "h": "",
        "i": "",
        "j": "",
        "k": "",
    }
    assert out["tier"].cat.ordered and list(out["tier"].cat.categories) == list(TIER_NAMES)
    assert out.attrs["skipped_rules"] == ()
    assert out.index.equals(_frame(ROWS).index)


def test_default_quantile_rating_is_hand_computed() -> None:
    out = assign_tiers(_frame(ROWS), CONFIG, H)
    # Known values sorted: -100, 800, 900, 1000, 3000, 3200, 3500, 4000, 5000, 6000.
    # Linear quantiles: q25 = 925, q50 = 3100, q80 = 4200; a value equal to a cut gets the higher grade.
    expected = {"d": "A", "a": "A", "b": "B", "k": "B", "j": "B", "c": "C", "f": "C"}
    expected |= {"e": "D", "g": "D", "h": "D"}
    rating = out["rating"]
    assert {cid: rating[cid] for cid in expected} == expected
    assert pd.isna(rating["i"])
    assert list(rating.cat.categories) == ["D", "C", "B", "A"] and rating.cat.ordered


def test_absolute_and_score10_ratings() -> None:
    frame = _frame({f"c{v}": {VALUE: v, CHURN: 0.1} for v in (-5, 0, 999, 1000, 4999, 5000)})
    letters = override("tiers", rating=dict(method="absolute", cut_points=(0, 1000, 5000)))
    got = assign_tiers(frame, letters, H)["rating"].astype(str).tolist()
    assert got == ["D", "C", "C", "B", "B", "A"]

    ten = override("tiers", rating=dict(scale="score10", method="absolute", cut_points=tuple(range(1, 10))))
    frame10 = _frame({f"c{v}": {VALUE: v, CHURN: 0.1} for v in (0.5, 1, 4.5, 9, 100)})
    assert assign_tiers(frame10, ten, H)["rating"].tolist() == [1, 2, 5, 10, 10]


@pytest.mark.parametrize(
    "rating",
    [
        {"cut_points": (0.5, 0.8)},  # letters need 3
        {"cut_points": (0.5, 0.4, 0.8)},  # not increasing
        {"method": "quantile", "cut_points": (0.0, 0.5, 1.0)},  # quantiles inside (0, 1)
        {"method": "absolute", "cut_points": None},  # cut points are always explicit
        {"scale": "score10", "cut_points": (0.1, 0.2, 0.3)},
    ],
)
def test_invalid_rating_configs_are_rejected(rating: dict) -> None:
    with pytest.raises(ValidationError):
        override("tiers", rating=rating)


def test_tier_config_is_data_and_rejects_typos() -> None:
    config = override(
        "tiers",
        value_column="pred_value_{h}d",
        problem_rules=[{"name": "losses", "column": "pred_value_{h}d", "op": "<", "threshold": 0}],
        great={"basis": "value", "top_share": 0.8, "max_churn_prob": 0.4},
        flag_rules=[],
    )
    frame = pd.DataFrame(
        {"pred_value_30d": [-1.0, 5.0], CHURN.replace("365", "30"): [0.1, 0.1]}, index=["x", "y"]
    )
    out = assign_tiers(frame, config, 30)
    assert out["tier"].astype(str).tolist() == ["problem", "great"]
    assert out["flags"].tolist() == ["", ""]
    with pytest.raises(ValidationError):
        override("tiers", great={"top_shar": 0.2})
    with pytest.raises(ValidationError):
        override("tiers", value_column="pred_value_{horizon}d")
    with pytest.raises(ValidationError):
        override("tiers", problem_rules=[{"name": "x", "column": "a", "op": ">", "threshold": 1}] * 2)
    with pytest.raises(ValidationError):
        override("tiers", problem_rules=[{"name": "x", "column": "a", "op": "!=", "threshold": 1}])
    with pytest.raises(ValidationError):  # frozen
        CONFIG.great.top_share = 0.3  # type: ignore[misc]


def test_absent_columns_skip_their_rules_and_say_so() -> None:
    frame = pd.DataFrame({VALUE: [100.0, 50.0, -1.0], CHURN: [0.1, 0.1, 0.9]}, index=["a", "b", "c"])
    out = assign_tiers(frame, defaults().tiers, H)
    assert out["tier"].astype(str).tolist() == ["great", "good", "problem"]
    skipped = out.attrs["skipped_rules"]
    assert any(s.startswith("problem:cost_to_serve_share") for s in skipped)
    assert any(s.startswith("flag:concentration") for s in skipped)
    assert not any("non_positive_value" in s or "at_risk" in s for s in skipped)
    coverage = rule_coverage(frame, defaults().tiers, H).set_index("rule")
    assert bool(coverage.loc["problem:non_positive_value", "applied"])
    assert coverage.loc["problem:non_positive_value", "n_fired"] == 1
    assert not bool(coverage.loc["problem:return_abuse", "applied"])


def test_value_basis_pareto_and_ties_by_customer_id() -> None:
    frame = pd.DataFrame({VALUE: [20.0, 70.0, 10.0, -5.0], CHURN: 0.1}, index=["b", "a", "c", "d"])
    exactly = override("tiers", great=dict(basis="value", top_share=0.7), problem_rules=())
    assert assign_tiers(frame, exactly, H)["tier"].astype(str).tolist() == ["good", "great", "good", "good"]
    more = override("tiers", great=dict(basis="value", top_share=0.75), problem_rules=())
    assert assign_tiers(frame, more, H)["tier"].astype(str).tolist() == ["great", "great", "good", "good"]
    # Equal values: the lower customer id wins the last Pareto slot, whatever the row order.
    tied = pd.DataFrame({VALUE: [5.0, 5.0, 1.0, 1.0, 1.0], CHURN: 0.1}, index=["z", "y", "x", "w", "v"])
    out = assign_tiers(tied, override("tiers", problem_rules=()), H)
    assert out.loc[out["tier"] == "great"].index.tolist() == ["y"]


_finite_or_nan = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(np.nan))
_share_or_nan = st.one_of(st.floats(0.0, 1.0), st.just(np.nan))


@st.composite
def _customer_frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(0, 25))
    cols = {
        VALUE: draw(st.lists(_finite_or_nan, min_size=n, max_size=n)),
        CHURN: draw(st.lists(_share_or_nan, min_size=n, max_size=n)),
    }
    for name in DEFAULTS:
        if draw(st.booleans()):  # any subset of the optional columns may be absent
            cols[name] = draw(st.lists(_share_or_nan, min_size=n, max_size=n))
    frame = pd.DataFrame(cols, index=pd.Index([f"c{i:02d}" for i in range(n)], name="customer_id"))
    return frame.astype("float64")


@settings(max_examples=150, deadline=None)
@given(frame=_customer_frames(), top_share=st.floats(0.05, 1.0))
def test_every_customer_gets_exactly_one_tier(frame: pd.DataFrame, top_share: float) -> None:
    config = override("tiers", great=dict(top_share=top_share))
    out = assign_tiers(frame, config, H)
    assert out.index.equals(frame.index)
    assert out["tier"].notna().all()
    assert set(out["tier"].astype(str)) <= set(TIER_NAMES)
    assert out["tier_reason"].notna().all()
    # The reason names the tier that was assigned (one decision per customer).
    assert (out["tier_reason"].str.split(":").str[0] == out["tier"].astype(str)).all()
    # NaN never means fine: no great customer has an unknown value or churn risk.
    great = out["tier"] == "great"
    assert frame.loc[great, [VALUE, CHURN]].notna().all().all()
    assert (frame.loc[great, VALUE] > 0).all() and (frame.loc[great, CHURN] < 0.5).all()
    assert great.sum() <= np.ceil(top_share * frame[VALUE].notna().sum() + 1e-9)
    assert ((frame[VALUE] <= 0) <= (out["tier"] == "problem")).all()


def test_cut_points_hand_computed_on_tied_values() -> None:
    # Ranked by value desc, then id asc: y (5), z (5), v (1), w (1), x (1); the top 20% of 5 is 1 customer: y.
    values = np.array([5.0, 5.0, 1.0, 1.0, 1.0, np.nan])
    ids = np.array(["z", "y", "x", "w", "v", "u"], dtype=object)
    cuts = tier_cut_points(values, ids, defaults().tiers)
    assert (cuts.pareto_value, cuts.pareto_id, cuts.n_known) == (5.0, "y", 5)
    assert cuts.in_top(values, ids).tolist() == [False, True, False, False, False, False]
    # Quantiles (0.25, 0.5, 0.8) of the known values 1, 1, 1, 5, 5 (linear interpolation): 1, 1, 5.
    assert cuts.rating_cuts == (1.0, 1.0, 5.0)
    nobody = tier_cut_points(np.array([np.nan, np.nan]), ["a", "b"], defaults().tiers)
    assert (nobody.pareto_value, nobody.pareto_id, nobody.rating_cuts) == (None, None, None)


_tied_or_nan = st.one_of(st.sampled_from([-3.0, 0.0, 2.5, 7.0, 7.0, 40.0]), st.just(np.nan))


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    n=st.integers(0, 30),
    basis=st.sampled_from(["count", "value"]),
    method=st.sampled_from(["quantile", "absolute"]),
    top_share=st.floats(0.05, 1.0),
)
def test_chunk_by_chunk_with_the_base_cut_points_equals_the_whole_base(
    data: st.DataObject, n: int, basis: str, method: str, top_share: float
) -> None:
    """A chunked run ranks the whole base once (cut points) and assigns chunk by chunk: same rows, same tiers."""
    cuts_cfg = [0.25, 0.5, 0.8] if method == "quantile" else [0.0, 2.5, 8.0]
    config = override(
        "tiers",
        great=dict(basis=basis, top_share=top_share),
        rating=dict(method=method, cut_points=cuts_cfg),
    )
    ids = data.draw(st.permutations([f"c{i:02d}" for i in range(n)]))
    frame = pd.DataFrame(
        {
            VALUE: data.draw(st.lists(_tied_or_nan, min_size=n, max_size=n)),
            CHURN: data.draw(st.lists(_share_or_nan, min_size=n, max_size=n)),
            **{c: data.draw(st.lists(_share_or_nan, min_size=n, max_size=n)) for c in DEFAULTS},
        },
        index=pd.Index(ids, name="customer_id"),
    ).astype("float64")
    whole = assign_tiers(frame, config, H)
    cuts = tier_cut_points(frame[VALUE].to_numpy(), frame.index, config)
    bounds = sorted(data.draw(st.lists(st.integers(0, n), max_size=4)))
    parts = [
        assign_tiers_with_cut_points(frame.iloc[lo:hi], config, H, cuts)
        for lo, hi in zip([0, *bounds], [*bounds, n], strict=True)
    ]
    chunked = pd.concat(parts)
    pd.testing.assert_frame_equal(chunked, whole)
    assert chunked.attrs["skipped_rules"] == whole.attrs["skipped_rules"]


def test_pareto_curve_hand_computed() -> None:
    frame = pd.DataFrame({"v": [50.0, 100.0, -20.0, 0.0], "e": [1.0, 1.0, 6.0, 2.0]}, index=list("abcd"))
    curve = pareto_curves(frame, "v", "e")
    # Ranked by value: b (100), a (50), d (0), c (-20).
    np.testing.assert_allclose(curve["customer_share"], [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(curve["value_share"], [0, 100 / 150, 1, 1, 1])
    np.testing.assert_allclose(curve["effort_share"], [0, 0.1, 0.2, 0.4, 1])
    np.testing.assert_allclose(curve["cum_value"], [0, 100, 150, 150, 130])
    coarse = pareto_curves(frame, "v", "e", n_points=3)
    np.testing.assert_allclose(coarse["effort_share"], [0, 0.2, 1])


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.tuples(_finite_or_nan, st.one_of(st.floats(0, 1e4), st.just(np.nan))), max_size=40))
def test_pareto_curves_start_at_zero_end_at_one_and_rise(values: list[tuple[float, float]]) -> None:
    frame = pd.DataFrame(values, columns=["v", "e"], dtype="float64")
    curve = pareto_curves(frame, "v", "e")
    assert len(curve) == len(frame) + 1
    first = curve.iloc[0]
    assert first["customer_share"] == first["value_share"] == first["effort_share"] == 0
    if len(frame):
        last = curve.iloc[-1]
        assert last["customer_share"] == last["value_share"] == last["effort_share"] == 1
    for col in ("customer_share", "value_share", "effort_share"):
        assert (np.diff(curve[col]) >= 0).all()
        assert curve[col].between(0, 1).all()
