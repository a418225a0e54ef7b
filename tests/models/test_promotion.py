"""The promotion gate: metric directions from one table, paired folds with a tolerance, the baseline bar."""

from __future__ import annotations

import pandas as pd
import pytest

from models.backtest import decide_promotion
from models.metrics import METRIC_DIRECTIONS, metric_loss
from tests.settings import override


def _metrics(rows: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """{model: {metric: [fold 0, fold 1, ...]}} -> the tidy per-fold frame a backtest returns."""
    out = []
    for model, metrics in rows.items():
        for metric, values in metrics.items():
            for fold, v in enumerate(values):
                out.append(
                    {
                        "fold": fold,
                        "cutoff": pd.Timestamp("2024-01-01"),
                        "model": model,
                        "metric": metric,
                        "value": v,
                    }
                )
    return pd.DataFrame(out)


def test_metric_loss_follows_every_direction():
    assert metric_loss("value_norm_gini", 0.8) < metric_loss("value_norm_gini", 0.7)  # higher
    assert metric_loss("churn_brier", 0.10) < metric_loss("churn_brier", 0.12)  # lower
    assert metric_loss("value_aggregate_bias", 0.95) < metric_loss("value_aggregate_bias", 1.10)  # one
    assert metric_loss("value_interval_coverage", 0.79, 0.8) < metric_loss(
        "value_interval_coverage", 0.95, 0.8
    )
    with pytest.raises(ValueError):
        metric_loss("value_interval_coverage", 0.8)
    assert set(METRIC_DIRECTIONS.values()) == {"higher", "lower", "one", "target"}


def test_lower_is_better_primary_metric_picks_the_better_model():
    """churn_brier as the primary metric: the old gate treated it as higher-is-better and promoted the worse."""
    cfg = override("models", primary_metrics=("churn_brier",), promotion_tolerance=0.0)
    worse = _metrics(
        {
            "model": {"churn_brier": [0.20, 0.21]},
            "champion": {"churn_brier": [0.15, 0.16]},
            "persistence": {"churn_brier": [0.25, 0.25]},
        }
    )
    decision = decide_promotion(worse, cfg.primary_metrics, cfg)
    assert (
        not decision.promote
        and "churn_brier" in decision.reason
        and "fold 0 0.2000 vs 0.1500" in decision.reason
    )
    better = _metrics(
        {
            "model": {"churn_brier": [0.14, 0.15]},
            "champion": {"churn_brier": [0.15, 0.16]},
            "persistence": {"churn_brier": [0.25, 0.25]},
        }
    )
    assert decide_promotion(better, cfg.primary_metrics, cfg).promote


def test_paired_folds_and_tolerance():
    cfg = override("models", primary_metrics=("value_norm_gini",), promotion_tolerance=0.01)
    base = {"persistence": {"value_norm_gini": [0.5, 0.5, 0.5]}}
    # better on average, but one fold loses 0.05: blocked (paired, fold by fold)
    one_bad_fold = _metrics(
        base
        | {
            "model": {"value_norm_gini": [0.90, 0.90, 0.75]},
            "champion": {"value_norm_gini": [0.80, 0.80, 0.80]},
        }
    )
    d = decide_promotion(one_bad_fold, cfg.primary_metrics, cfg)
    assert not d.promote and "fold 2 0.7500 vs 0.8000" in d.reason
    # within the tolerance on every fold: a tie with noise promotes
    noise = _metrics(
        base
        | {
            "model": {"value_norm_gini": [0.795, 0.805, 0.792]},
            "champion": {"value_norm_gini": [0.80, 0.80, 0.80]},
        }
    )
    assert decide_promotion(noise, cfg.primary_metrics, cfg).promote
    # per-metric tolerance mapping: metrics not named get 0
    strict = override(
        "models", primary_metrics=("value_norm_gini",), promotion_tolerance={"churn_roc_auc": 0.5}
    )
    assert not decide_promotion(noise, strict.primary_metrics, strict).promote


def test_the_new_model_must_beat_the_baseline_even_without_a_champion():
    cfg = override("models", primary_metrics=("value_norm_gini", "churn_roc_auc"))
    frame = _metrics(
        {
            "model": {"value_norm_gini": [0.30, 0.32], "churn_roc_auc": [0.70, 0.71]},
            "persistence": {"value_norm_gini": [0.60, 0.61], "churn_roc_auc": [0.60, 0.60]},
        }
    )
    d = decide_promotion(frame, cfg.primary_metrics, cfg)
    assert not d.promote and "no champion" in d.reason and "not better than the baseline" in d.reason
    assert "value_norm_gini mean new 0.3100 vs persistence 0.6050" in d.reason


def test_a_model_no_better_than_chance_is_never_promoted():
    """Data with no signal (orders shuffled across customers): the candidate ties the champion re-fitted on the
    same folds and edges a baseline that is itself below chance; an AUC under 0.5 is no skill, so no promotion."""
    cfg = override("models", primary_metrics=("value_norm_gini", "churn_roc_auc"))
    frame = _metrics(
        {
            "model": {"value_norm_gini": [0.174], "churn_roc_auc": [0.491]},
            "champion": {"value_norm_gini": [0.170], "churn_roc_auc": [0.490]},
            "persistence": {"value_norm_gini": [0.128], "churn_roc_auc": [0.486]},
        }
    )
    d = decide_promotion(frame, cfg.primary_metrics, cfg)
    assert not d.promote
    assert "churn_roc_auc mean new 0.4910: no better than chance (0.5)" in d.reason
    assert "value_norm_gini mean new 0.1740 vs persistence 0.1280" in d.reason  # Gini above 0: passes


def test_a_missing_primary_metric_blocks():
    cfg = override("models", primary_metrics=("value_norm_gini", "churn_roc_auc"))
    frame = _metrics({"model": {"value_norm_gini": [0.8]}, "persistence": {"value_norm_gini": [0.5]}})
    d = decide_promotion(frame, cfg.primary_metrics, cfg)
    assert not d.promote and "churn_roc_auc: no backtest value" in d.reason


def test_tolerance_config_is_checked():
    with pytest.raises(ValueError, match="unknown metrics"):
        override("models", promotion_tolerance={"value_gini_typo": 0.1})
    with pytest.raises(ValueError, match=">= 0"):
        override("models", promotion_tolerance=-0.1)
