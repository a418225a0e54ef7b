"""Evaluation metrics for value predictions and churn probabilities, in pure numpy.

Grain: every function takes aligned 1-d arrays, one element per scored row (a customer at a cutoff). No time
semantics: callers pair predictions made at a cutoff with labels from [cutoff, cutoff + horizon).

Tie handling is deterministic everywhere: rows with equal predictions form one group and a ranking metric
counts the group as the average over every order of its members (gain curve interpolates linearly across the
group, ranks are averaged), so shuffling the input never changes a metric.

Value metrics (names as reported by `value_metrics`):
- ``value_norm_gini``: Gini of the gain (Lorenz) curve of actual value ordered by prediction divided by the
  Gini of the perfect ordering (Wang, Liu & Miao 2019, "A deep probabilistic model for customer lifetime
  value prediction"). Works with negative values: both Ginis are computed on un-normalised cumulative sums, so
  the total (which can be ~0 with losses) cancels. 1 = perfect ranking, 0 = random, < 0 = worse than random.
- ``value_spearman``: rank correlation.
- ``value_top20_capture``: share of the total actual value held by the predicted top 20% of rows.
- ``value_decile_mape``: per predicted decile |sum pred - sum actual| / |sum actual|, averaged over deciles
  (deciles whose actual sum is 0 are skipped).
- ``value_mae``; ``value_aggregate_bias`` = sum pred / sum actual (1 = unbiased in aggregate).
Churn metrics: ``churn_roc_auc``, ``churn_pr_auc`` (average precision), ``churn_brier``, ``churn_ece``
(expected calibration error on 10 equal-width probability bins).
"AUC (buys again)" (`buys_again_metrics`; the event: actual net value > 0 in the horizon, `bought_again`):
- ``auc_buys``: the primary one, ROC-AUC of each model's own purchase probability, 1 - its churn probability
  (ours: the churn model; BG/NBD: 1 - P(no purchase in the horizon), or P(alive) for the `btyd` baseline;
  persistence: its recency curve). Absent for a model without a churn probability.
- ``auc_buys_value``: ROC-AUC of the value prediction for the same event (the "AUC (buys again)" of the model quality
  tables, docs/model-quality.md, before issue 16's fifth part).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The one table of metric directions (promotion, reports): "higher" / "lower" is better; "one" = closest to 1 is
#: best (aggregate bias); "target" = closest to the nominal level is best (interval coverage: the nominal share
#: of the configured interval, e.g. 0.8 for P10-P90).
METRIC_DIRECTIONS: dict[str, str] = {
    "value_norm_gini": "higher",
    "value_spearman": "higher",
    "value_top20_capture": "higher",
    "value_decile_mape": "lower",
    "value_mae": "lower",
    "value_aggregate_bias": "one",
    "value_interval_coverage": "target",
    "churn_roc_auc": "higher",
    "churn_pr_auc": "higher",
    "churn_brier": "lower",
    "churn_ece": "lower",
    "auc_buys": "higher",
    "auc_buys_value": "higher",
}


#: What a model with no skill scores on a ranking metric (random order): a candidate whose mean over folds is not
#: above it is never promoted, however it compares with the champion and the baseline (on data with no signal, e.g.
#: orders reassigned to random customers, a baseline can score below chance too and be "beaten" by noise).
CHANCE_LEVELS: dict[str, float] = {
    "value_norm_gini": 0.0,
    "value_spearman": 0.0,
    "churn_roc_auc": 0.5,
    "auc_buys": 0.5,
    "auc_buys_value": 0.5,
}


def metric_loss(metric: str, value: float, nominal: float | None = None) -> float:
    """Distance of a metric value from its best, so that lower is better for every metric.

    higher: -value; lower: value; one: |value - 1|; target: |value - nominal| (`nominal` required).
    Differences of losses compare two models on one metric whatever its direction.
    """
    direction = METRIC_DIRECTIONS.get(metric)
    if direction == "higher":
        return -float(value)
    if direction == "lower":
        return float(value)
    if direction == "one":
        return abs(float(value) - 1.0)
    if direction == "target":
        if nominal is None:
            raise ValueError(f"{metric} is judged against a nominal level; pass nominal=")
        return abs(float(value) - nominal)
    raise KeyError(f"no direction known for metric {metric!r}; known: {sorted(METRIC_DIRECTIONS)}")


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"arrays must have the same length, got {a.shape} and {b.shape}")
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("metrics need complete arrays (no NaN)")
    return a, b


def _tie_groups(score: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ordered by descending score, grouped by equal score: (group sizes, group sums of `values`)."""
    uniq, inverse = np.unique(-score, return_inverse=True)  # ascending -score = descending score
    sizes = np.bincount(inverse, minlength=len(uniq)).astype(np.float64)
    sums = np.bincount(inverse, weights=values, minlength=len(uniq))
    return sizes, sums


def gain_curve(actual: np.ndarray, pred: np.ndarray) -> pd.DataFrame:
    """Cumulative share of rows vs cumulative actual value, rows ordered by descending prediction.

    Returns one point per tie group plus the origin: columns ``share_rows`` (0..1) and ``cum_value``
    (cumulative actual value, un-normalised) and ``share_value`` (cum_value / total, NaN if total is 0).
    Within a tie group the curve is a straight line, i.e. the average over every order of the tied rows.
    """
    actual, pred = _pair(actual, pred)
    sizes, sums = _tie_groups(pred, actual)
    n = len(actual)
    share_rows = np.concatenate([[0.0], np.cumsum(sizes) / max(n, 1)])
    cum_value = np.concatenate([[0.0], np.cumsum(sums)])
    total = cum_value[-1]
    share_value = cum_value / total if total != 0 else np.full_like(cum_value, np.nan)
    return pd.DataFrame({"share_rows": share_rows, "cum_value": cum_value, "share_value": share_value})


def _gini_unnormalised(actual: np.ndarray, score: np.ndarray) -> float:
    """Area between the un-normalised gain curve and the diagonal (trapezoids over tie groups)."""
    sizes, sums = _tie_groups(score, actual)
    n = len(actual)
    cum = np.cumsum(sums)
    prev = cum - sums
    area = float(np.sum(sizes / n * (prev + cum) / 2.0))
    return area - float(cum[-1]) / 2.0


def normalized_gini(actual: np.ndarray, pred: np.ndarray) -> float:
    """Model Gini / perfect Gini on the gain curve (NaN when every actual value is equal)."""
    actual, pred = _pair(actual, pred)
    if len(actual) == 0:
        return float("nan")
    perfect = _gini_unnormalised(actual, actual)
    if perfect == 0:
        return float("nan")
    return _gini_unnormalised(actual, pred) / perfect


def top_share_capture(actual: np.ndarray, pred: np.ndarray, share: float = 0.2) -> float:
    """Share of the total actual value held by the predicted top `share` of rows (gain curve at `share`)."""
    curve = gain_curve(actual, pred)
    total = curve["cum_value"].iloc[-1]
    if total == 0:
        return float("nan")
    return float(np.interp(share, curve["share_rows"], curve["cum_value"]) / total)


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank (like scipy.stats.rankdata(method="average"))."""
    x = np.asarray(x, dtype=np.float64)
    uniq, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    avg = ends - (counts - 1) / 2.0
    return avg[inverse]


def spearman(actual: np.ndarray, pred: np.ndarray) -> float:
    """Spearman rank correlation (Pearson on average ranks); NaN if either side is constant."""
    actual, pred = _pair(actual, pred)
    ra, rp = average_ranks(actual), average_ranks(pred)
    ra, rp = ra - ra.mean(), rp - rp.mean()
    den = np.sqrt(np.sum(ra**2) * np.sum(rp**2))
    return float(np.sum(ra * rp) / den) if den > 0 else float("nan")


def decile_table(actual: np.ndarray, pred: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Rows split into `n_bins` near-equal groups by descending prediction (decile 1 = highest predicted).

    Rows with equal predictions are ordered by input position (stable sort), so the split is deterministic.
    Columns: decile, n, pred_sum, actual_sum, pred_mean, actual_mean, abs_pct_error
    (|pred_sum - actual_sum| / |actual_sum|, NaN when actual_sum is 0).
    """
    actual, pred = _pair(actual, pred)
    order = np.argsort(-pred, kind="stable")
    groups = np.array_split(order, n_bins)
    rows = []
    for k, idx in enumerate(groups, start=1):
        ps, acs = float(pred[idx].sum()), float(actual[idx].sum())
        rows.append(
            {
                "decile": k,
                "n": len(idx),
                "pred_sum": ps,
                "actual_sum": acs,
                "pred_mean": ps / len(idx) if len(idx) else np.nan,
                "actual_mean": acs / len(idx) if len(idx) else np.nan,
                "abs_pct_error": abs(ps - acs) / abs(acs) if acs != 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def decile_mape(actual: np.ndarray, pred: np.ndarray, n_bins: int = 10) -> float:
    """Mean over predicted deciles of |sum pred - sum actual| / |sum actual| (zero-sum deciles skipped)."""
    err = decile_table(actual, pred, n_bins)["abs_pct_error"].to_numpy()
    err = err[~np.isnan(err)]
    return float(err.mean()) if len(err) else float("nan")


def mae(actual: np.ndarray, pred: np.ndarray) -> float:
    """Mean absolute error."""
    actual, pred = _pair(actual, pred)
    return float(np.mean(np.abs(actual - pred)))


def aggregate_bias(actual: np.ndarray, pred: np.ndarray) -> float:
    """Sum of predictions / sum of actuals (1 = the total is right); NaN if the actual total is 0."""
    actual, pred = _pair(actual, pred)
    total = actual.sum()
    return float(pred.sum() / total) if total != 0 else float("nan")


def interval_coverage(actual: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of rows whose actual value lies in [low, high] (bounds inclusive)."""
    actual, low = _pair(actual, low)
    _, high = _pair(actual, high)
    return float(np.mean((actual >= low) & (actual <= high)))


def _binary(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, p = _pair(y, p)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("churn labels must be 0/1")
    return y, p


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC-AUC via the Mann-Whitney statistic on average ranks (ties count half); NaN with one class."""
    y, p = _binary(y, p)
    n_pos = y.sum()
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = average_ranks(p)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def pr_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Average precision: sum over distinct thresholds of (recall step) x precision at that threshold."""
    y, p = _binary(y, p)
    n_pos = y.sum()
    if n_pos == 0:
        return float("nan")
    sizes, pos = _tie_groups(p, y)
    tp = np.cumsum(pos)
    predicted = np.cumsum(sizes)
    precision = tp / predicted
    recall_step = pos / n_pos
    return float(np.sum(recall_step * precision))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of the probabilities."""
    y, p = _binary(y, p)
    return float(np.mean((p - y) ** 2))


def calibration_curve(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Equal-width probability bins on [0, 1]: bin, lower, upper, n, mean_pred, frac_pos (empty bins kept, NaN).

    p == 1 falls in the last bin.
    """
    y, p = _binary(y, p)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    b = np.clip(np.floor(p * n_bins).astype(np.int64), 0, n_bins - 1)
    n = np.bincount(b, minlength=n_bins).astype(np.float64)
    sp = np.bincount(b, weights=p, minlength=n_bins)
    sy = np.bincount(b, weights=y, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pred = np.where(n > 0, sp / n, np.nan)
        frac_pos = np.where(n > 0, sy / n, np.nan)
    return pd.DataFrame(
        {
            "bin": np.arange(n_bins),
            "lower": edges[:-1],
            "upper": edges[1:],
            "n": n.astype(np.int64),
            "mean_pred": mean_pred,
            "frac_pos": frac_pos,
        }
    )


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """Sum over equal-width bins of (bin share of rows) x |mean predicted - observed positive rate|."""
    curve = calibration_curve(y, p, n_bins)
    used = curve[curve["n"] > 0]
    if used.empty:
        return float("nan")
    weights = used["n"] / used["n"].sum()
    return float(np.sum(weights * np.abs(used["mean_pred"] - used["frac_pos"])))


def bought_again(actual_value: np.ndarray) -> np.ndarray:
    """The "buys again" event of a scored row: 1.0 where the actual net value in the horizon is > 0, else 0.0."""
    return (np.asarray(actual_value, dtype=np.float64) > 0).astype(np.float64)


def buys_again_auc(actual_value: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC of any score (higher = more likely to buy) for "buys again" (actual net value > 0)."""
    return roc_auc(bought_again(actual_value), score)


def buys_again_metrics(
    actual_value: np.ndarray, pred_value: np.ndarray, churn_prob: np.ndarray | None = None
) -> dict[str, float]:
    """AUC (buys again): ``auc_buys`` of the purchase probability 1 - `churn_prob` (left out when the model has
    no churn probability: None or all NaN), ``auc_buys_value`` of the value prediction."""
    out: dict[str, float] = {}
    if churn_prob is not None and not np.isnan(np.asarray(churn_prob, dtype=np.float64)).all():
        out["auc_buys"] = buys_again_auc(actual_value, 1.0 - np.asarray(churn_prob, dtype=np.float64))
    out["auc_buys_value"] = buys_again_auc(actual_value, pred_value)
    return out


def value_metrics(
    actual: np.ndarray,
    pred: np.ndarray,
    low: np.ndarray | None = None,
    high: np.ndarray | None = None,
) -> dict[str, float]:
    """Every value metric by name (coverage only when an interval is given)."""
    out = {
        "value_norm_gini": normalized_gini(actual, pred),
        "value_spearman": spearman(actual, pred),
        "value_top20_capture": top_share_capture(actual, pred, 0.2),
        "value_decile_mape": decile_mape(actual, pred),
        "value_mae": mae(actual, pred),
        "value_aggregate_bias": aggregate_bias(actual, pred),
    }
    if low is not None and high is not None:
        out["value_interval_coverage"] = interval_coverage(actual, low, high)
    return out


def churn_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Every churn metric by name."""
    return {
        "churn_roc_auc": roc_auc(y, p),
        "churn_pr_auc": pr_auc(y, p),
        "churn_brier": brier(y, p),
        "churn_ece": expected_calibration_error(y, p),
    }
