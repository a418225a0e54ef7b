"""Metrics on hand-computed fixtures, plus invariants (shuffling, agreement with scikit-learn/scipy)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

from models import metrics as m

ACTUAL = np.array([10.0, 0.0, 5.0, -5.0])


def test_normalized_gini_by_hand_with_a_loss():
    # Ordered by pred (4, 3, 2, 1) the actuals are 10, 0, 5, -5: cumulative 10, 10, 15, 10 (total 10).
    # Area under the un-normalised gain curve = 1/4 * ((0+10)/2 + (10+10)/2 + (10+15)/2 + (15+10)/2) = 10;
    # Gini = area - total/2 = 5. Perfect order 10, 5, 0, -5: cumulative 10, 15, 15, 10,
    # area = 1/4 * (5 + 12.5 + 15 + 12.5) = 11.25, Gini 6.25. Normalised = 5 / 6.25 = 0.8.
    assert m.normalized_gini(ACTUAL, np.array([4.0, 3.0, 2.0, 1.0])) == pytest.approx(0.8)
    assert m.normalized_gini(ACTUAL, ACTUAL) == pytest.approx(1.0)
    # Reversed perfect order: cumulative -5, -5, 0, 10: area 1/4*(-2.5 - 5 - 2.5 + 5) = -1.25, Gini -6.25.
    assert m.normalized_gini(ACTUAL, -ACTUAL) == pytest.approx(-1.0)


def test_normalized_gini_ties_average_over_orders():
    # Groups {10, 0} (pred 1) and {5, -5} (pred 0). The four orders have Ginis 5, 2.5, 2.5, 0 -> mean 2.5;
    # the interpolated curve gives area 2/4*(0+10)/2 + 2/4*(10+10)/2 = 7.5, Gini 7.5 - 5 = 2.5. 2.5/6.25 = 0.4.
    assert m.normalized_gini(ACTUAL, np.array([1.0, 1.0, 0.0, 0.0])) == pytest.approx(0.4)
    # A constant prediction ranks nothing.
    assert m.normalized_gini(ACTUAL, np.zeros(4)) == pytest.approx(0.0)
    assert np.isnan(m.normalized_gini(np.ones(3), np.arange(3.0)))


def test_gain_curve_points():
    curve = m.gain_curve(ACTUAL, np.array([1.0, 1.0, 0.0, 0.0]))
    assert curve["share_rows"].tolist() == [0.0, 0.5, 1.0]
    assert curve["cum_value"].tolist() == [0.0, 10.0, 10.0]
    assert curve["share_value"].tolist() == [0.0, 1.0, 1.0]


def test_top20_capture():
    actual = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    # Predicted top row (20% of 5) is the first: 1 of a total 20.
    assert m.top_share_capture(actual, np.array([5.0, 4.0, 3.0, 2.0, 1.0])) == pytest.approx(0.05)
    assert m.top_share_capture(actual, actual) == pytest.approx(0.5)
    # Tie across the boundary: rows 1-2 tie on top (sum 3) and cover 40% of rows; 20% is half of that group.
    assert m.top_share_capture(actual, np.array([1.0, 1.0, 0.0, 0.0, 0.0])) == pytest.approx(1.5 / 20)


def test_decile_table_mape_bias_mae():
    actual = np.arange(1.0, 21.0)
    pred = 2.0 * actual
    table = m.decile_table(actual, pred)
    assert len(table) == 10 and table["n"].tolist() == [2] * 10
    # Decile 1 holds the two largest predictions: actual 20 + 19.
    assert table.loc[0, "actual_sum"] == 39.0 and table.loc[0, "pred_sum"] == 78.0
    assert m.decile_mape(actual, pred) == pytest.approx(1.0)
    assert m.aggregate_bias(actual, pred) == pytest.approx(2.0)
    assert m.mae(actual, pred) == pytest.approx(10.5)
    assert m.interval_coverage(
        np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 0.0]), np.array([2.0, 4.0, 3.0])
    ) == (pytest.approx(2 / 3))


def test_churn_metrics_by_hand():
    y = np.array([1.0, 0.0, 1.0, 0.0])
    p = np.array([0.9, 0.8, 0.4, 0.1])
    # Positive-negative pairs ranked right: (0.9, 0.8), (0.9, 0.1), (0.4, 0.1); wrong: (0.4, 0.8) -> 3/4.
    assert m.roc_auc(y, p) == pytest.approx(0.75)
    # Ties count half: (0.5 vs 0.5) = 0.5, other three pairs right -> 3.5 / 4.
    assert m.roc_auc(y, np.array([0.5, 0.5, 0.9, 0.1])) == pytest.approx(0.875)
    # AP: at 0.9 recall +0.5 with precision 1; at 0.4 recall +0.5 with precision 2/3 -> 0.8333.
    assert m.pr_auc(y, p) == pytest.approx(0.5 + 1 / 3)
    assert m.brier(y, p) == pytest.approx((0.01 + 0.64 + 0.36 + 0.01) / 4)
    # One row per bin: |0.9 - 1|, |0.8 - 0|, |0.4 - 1|, |0.1 - 0| averaged.
    assert m.expected_calibration_error(y, p) == pytest.approx(0.4)
    curve = m.calibration_curve(y, p)
    assert curve["n"].tolist() == [0, 1, 0, 0, 1, 0, 0, 0, 1, 1]
    assert np.isnan(m.roc_auc(np.ones(3), np.array([0.1, 0.2, 0.3])))


def test_input_checks():
    with pytest.raises(ValueError, match="same length"):
        m.mae(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="NaN"):
        m.mae(np.array([1.0, np.nan]), np.ones(2))
    with pytest.raises(ValueError, match="0/1"):
        m.brier(np.array([2.0, 0.0]), np.ones(2))


small_floats = st.floats(-100, 100, allow_nan=False).map(lambda v: round(v, 1))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(small_floats, small_floats, st.integers(0, 1)), min_size=3, max_size=40), st.randoms()
)
def test_invariants(rows, rnd):
    actual = np.array([r[0] for r in rows])
    pred = np.array([r[1] for r in rows])
    y = np.array([r[2] for r in rows], dtype=float)
    perm = np.array(rnd.sample(range(len(rows)), len(rows)))
    g = m.normalized_gini(actual, pred)
    g2 = m.normalized_gini(actual[perm], pred[perm])
    assert (np.isnan(g) and np.isnan(g2)) or g == pytest.approx(g2, abs=1e-9)
    if not np.isnan(g):
        assert m.normalized_gini(actual, actual) == pytest.approx(1.0)
    if len(set(actual)) > 1 and len(set(pred)) > 1:
        assert m.spearman(actual, pred) == pytest.approx(spearmanr(actual, pred).statistic, abs=1e-9)
    prob = (pred + 100) / 200
    if 0 < y.sum() < len(y):
        assert m.roc_auc(y, prob) == pytest.approx(roc_auc_score(y, prob), abs=1e-9)
        assert m.pr_auc(y, prob) == pytest.approx(average_precision_score(y, prob), abs=1e-9)


def test_auc_buys_again_reads_the_purchase_probability_not_the_value():
    """A hand-made fold where the two rankings disagree: the biggest predicted values belong to the customers the
    model thinks will not buy. `auc_buys` (1 - churn) ranks every buyer first (1.0); the value ranks them last (0.0)."""
    actual = np.array([120.0, 40.0, 0.0, -5.0])  # bought again: the first two (net value > 0)
    pred_value = np.array([10.0, 20.0, 500.0, 300.0])
    churn_prob = np.array([0.1, 0.2, 0.8, 0.9])
    got = m.buys_again_metrics(actual, pred_value, churn_prob)
    assert list(got) == ["auc_buys", "auc_buys_value"]
    assert got["auc_buys"] == pytest.approx(1.0)
    assert got["auc_buys_value"] == pytest.approx(0.0)
    assert m.bought_again(actual).tolist() == [1.0, 1.0, 0.0, 0.0]
    # A model without a churn probability (past_rate) has only the value's AUC.
    assert list(m.buys_again_metrics(actual, pred_value, np.full(4, np.nan))) == ["auc_buys_value"]
    assert m.METRIC_DIRECTIONS["auc_buys"] == "higher" and m.CHANCE_LEVELS["auc_buys"] == 0.5
