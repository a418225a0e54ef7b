"""The backtest tables in the terminal are readable at 80 columns: no truncated model or metric names."""

from __future__ import annotations

import io

import pandas as pd
from rich.console import Console

from models.backtest import BacktestResult
from pipelines.backtest_console import TABLE_METRICS, print_backtest

MODELS = ("model", "champion", "persistence", "past_rate", "btyd", "btyd_no_purchase")


def _result() -> BacktestResult:
    rows = []
    for fold in range(3):
        for model in MODELS:
            for metric in TABLE_METRICS:
                if metric.startswith("churn_") and model in ("past_rate", "btyd"):
                    continue  # these baselines have no churn score
                rows.append(
                    {
                        "fold": fold,
                        "cutoff": pd.Timestamp("2024-01-01"),
                        "model": model,
                        "metric": metric,
                        "value": 0.5 + 0.01 * fold,
                    }
                )
    empty = pd.DataFrame()
    return BacktestResult(pd.DataFrame(rows), empty, empty, empty, empty, [pd.Timestamp("2024-01-01")] * 3)


def test_backtest_tables_fit_80_columns_with_every_name_whole():
    console = Console(file=io.StringIO(), width=80, color_system=None)
    print_backtest(_result(), 365, console, (0.1, 0.9))
    text = console.file.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    for name in (*MODELS, *TABLE_METRICS):
        assert name in text, name
    assert "0.510" in text and "±0.010" in text  # mean over the three folds, and its std
    # AUC (buys again) has its own table: the purchase probability's first, the value's beside it, both named.
    legend = " ".join(text.split())
    assert "AUC (buys again)" in legend
    assert "of P(buys) = auc_buys;" in legend and "of value = auc_buys_value" in legend


def test_bias_per_fold_is_printed_beside_the_mean():
    """A seasonal miss shows as one fold's cell: each fold's predicted/actual total, then the mean."""
    cutoffs = pd.to_datetime(["2024-06-01", "2024-09-01", "2024-12-01"])
    predictions = pd.DataFrame(
        [
            {"fold": k, "cutoff": c, "model": m, "pred_value": p / 2, "actual_value": 50.0}
            for k, c in enumerate(cutoffs)
            for m, p in (("model", 95.0 + 30 * (k == 1)), ("persistence", 80.0))
            for _ in range(2)  # two customers per fold and model
        ]
    )
    base = _result()
    result = BacktestResult(base.metrics, predictions, *(pd.DataFrame(),) * 3, list(cutoffs))
    console = Console(file=io.StringIO(), width=80, color_system=None)
    print_backtest(result, 365, console, (0.1, 0.9))
    text = console.file.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    line = next(row for row in text.splitlines() if "│ model" in row and "1.250" in row)
    assert "0.950" in line and f"{(0.95 * 2 + 1.25) / 3:.3f}" in line
    assert "2024-09-01" in text


def test_interval_column_is_labelled_with_the_configured_quantiles():
    """`models.interval_quantiles` (0.05, 0.95) makes the coverage column "P5-P95", not a fixed "P10-P90"."""
    console = Console(file=io.StringIO(), width=80, color_system=None)
    print_backtest(_result(), 365, console, (0.05, 0.95))
    text = console.file.getvalue()
    assert "P5-P95 = value_interval_coverage" in text
    assert "P10-P90" not in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_the_by_tier_table_fits_80_columns_with_every_name_whole():
    """Was: models as columns, `btyd_no_pu…`, `persisten…` and `value_norm…` at 80 columns (every `cvp backtest`)."""
    base = _result()
    by_tier = pd.concat([base.metrics.assign(tier=tier) for tier in ("great", "good", "problem")])
    result = BacktestResult(base.metrics, *(pd.DataFrame(),) * 4, base.fold_cutoffs, metrics_by_tier=by_tier)
    console = Console(file=io.StringIO(), width=80, color_system=None)
    print_backtest(result, 365, console, (0.1, 0.9))
    text = console.file.getvalue()
    table = text[text.index("Backtest by tier") :]
    assert max(len(line) for line in table.splitlines()) <= 80
    assert "…" not in table
    for name in (*MODELS, "great", "good", "problem", "Gini = value_norm_gini", "AUC churn = churn_roc_auc"):
        assert name in " ".join(table.split()), name
    line = next(row for row in table.splitlines() if "btyd_no_purchase" in row)
    assert line.count("0.510") == 2  # its Gini and churn AUC, means over the folds
