"""The backtest on the console: value and churn tables readable at 80 columns, and the metrics within each tier."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from models.backtest import BacktestResult
from pipelines.metric_names import METRIC_LABELS, TABLE_METRICS, TABLE_NOTES, TABLE_TITLES, metric_tables


def interval_label(interval_quantiles: tuple[float, float]) -> str:
    """The short label of the interval coverage column: "P10-P90" for (0.1, 0.9), "P5-P95" for (0.05, 0.95)."""
    return "-".join(f"P{100 * q:g}" for q in interval_quantiles)


def backtest_console_tables(
    result: BacktestResult, title: str, interval_quantiles: tuple[float, float]
) -> list[Table]:
    """One table each for the value metrics, churn and AUC (buys again) (`TABLE_TITLES`): models as rows (ours first), short metric labels as
    columns, mean over folds with the std beneath it; a legend names each metric. Readable at 80 columns.
    The interval coverage column is labelled with the configured quantiles (`models.interval_quantiles`)."""
    labels = {**METRIC_LABELS, "value_interval_coverage": interval_label(interval_quantiles)}
    s = result.summary
    cells = {
        (m, k): (v, sd) for m, k, v, sd in zip(s["model"], s["metric"], s["mean"], s["std"], strict=True)
    }
    tables = []
    for kind, metrics in metric_tables([m for m in TABLE_METRICS if m in set(s["metric"])]):
        scored = {k for k, m in cells if m in metrics}
        first = ["model", "champion"]
        models = [m for m in [*first, *sorted(set(s["model"]) - set(first))] if m in scored]
        t = Table(
            title=f"{title}: {TABLE_TITLES[kind]}",
            caption="mean over folds, std beneath; "
            + TABLE_NOTES.get(kind, "")
            + "; ".join(f"{labels.get(m, m)} = {m}" for m in metrics),
            caption_justify="left",
        )
        t.add_column("model")
        for metric in metrics:
            t.add_column(labels.get(metric, metric), justify="right")
        for model in models:
            row = [f"[bold]{model}[/]" if model == "model" else model]
            for metric in metrics:
                v = cells.get((model, metric))
                row.append("" if v is None else f"{v[0]:.3f}\n[dim]±{np.nan_to_num(v[1]):.3f}[/]")
            t.add_row(*row)
        tables.append(t)
    return tables


def bias_console_table(result: BacktestResult) -> Table:
    """Predicted / actual total per fold (models as rows, fold cutoffs as columns, then the mean): a fold whose
    horizon runs into a seasonal peak or a trend shows as one low or high cell, which the mean would hide."""
    wide = result.bias_table()
    models = [m for m in ["model", *sorted(set(wide.index) - {"model"})] if m in wide.index]
    t = Table(title="Backtest: predicted / actual total per fold", caption="1.000 = the total was right")
    t.add_column("model")
    for column in wide.columns:
        t.add_column(str(column), justify="right")
    for model in models:
        row = [f"[bold]{model}[/]" if model == "model" else model]
        row += ["" if not np.isfinite(v) else f"{v:.3f}" for v in wide.loc[model]]
        t.add_row(*row)
    return t


def tier_console_table(
    result: BacktestResult, metrics: tuple[str, ...] = ("value_norm_gini", "churn_roc_auc")
) -> Table:
    """The key metrics within each tier (tiers from our model's predictions at each fold cutoff): a row per tier
    and model, a column per metric under its short label, the full names in the legend (was: the models as
    columns and the metric names in a column, six models truncated at 80 columns: `btyd_no_pu…`, `value_norm…`)."""
    s = result.summary_by_tier
    models = ["model"] + sorted(set(s["model"]) - {"model"})
    t = Table(
        title="Backtest by tier (mean over folds)",
        caption="; ".join(f"{METRIC_LABELS.get(m, m)} = {m}" for m in metrics),
    )
    t.add_column("tier")
    t.add_column("model")
    for metric in metrics:
        t.add_column(METRIC_LABELS.get(metric, metric), justify="right")
    cells = {(tr, m, k): v for tr, m, k, v in zip(s["tier"], s["model"], s["metric"], s["mean"], strict=True)}
    for tier in sorted(set(s["tier"])):
        for i, model in enumerate(models):
            row = [tier if i == 0 else "", f"[bold]{model}[/]" if model == "model" else model]
            for metric in metrics:
                v = cells.get((tier, model, metric))
                row.append("" if v is None or not np.isfinite(v) else f"{v:.3f}")
            t.add_row(*row, end_section=i == len(models) - 1)
    return t


def folds_said(result: BacktestResult) -> str:
    """The folds said in words: "3 folds", or "2 of 3 folds (1 skipped, see the notes)" when the means cover fewer
    than were planned (was: "Backtest: 3 folds" above means over two, the skip said in a note at the end only)."""
    planned, n = len(result.fold_cutoffs), len(result.evaluated_cutoffs)
    if n == planned:
        return f"{n} fold{'' if n == 1 else 's'}"
    return f"{n} of {planned} folds ({planned - n} skipped, see the notes)"


def print_backtest(
    result: BacktestResult,
    horizon_days: int,
    console: Console,
    interval_quantiles: tuple[float, float],
) -> None:
    title = f"Backtest: {folds_said(result)}, horizon {horizon_days} days"
    for table in backtest_console_tables(result, title, interval_quantiles):
        console.print(table)
    if not result.fold_totals.empty:
        console.print(bias_console_table(result))
    if not result.metrics_by_tier.empty:
        console.print(tier_console_table(result))
    print_notes(result, console)


def print_notes(result: BacktestResult, console: Console) -> None:
    """The backtest's notes (a fold skipped for too little data, a BTYD fit that failed ...), below its tables in
    `cvp backtest` and `cvp train` alike: the title's "see the notes" points to them (was: `cvp train` wrote them
    to MLflow's notes.json only, its title pointing to nothing on the screen)."""
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
