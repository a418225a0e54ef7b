"""Backtest plots (gain curve, decile chart, calibration curve, predicted vs actual total per fold) from
`models.backtest.BacktestResult` plot data."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on batch machines
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from pipelines.io import write_atomic  # noqa: E402

plt.rcParams["svg.hashsalt"] = "cvp"  # deterministic SVG ids


def _save(fig: plt.Figure, path: Path) -> Path:
    write_atomic(
        path,
        lambda p: fig.savefig(
            p,
            format=path.suffix.lstrip("."),
            dpi=110,
            bbox_inches="tight",
            metadata={"Software": None} if path.suffix == ".png" else None,
        ),
    )
    plt.close(fig)
    return path


def _last_fold(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["fold"] == frame["fold"].max()] if len(frame) else frame


def gain_curve_plot(gain: pd.DataFrame, path: Path) -> Path:
    """Cumulative share of actual value captured by customers ranked by each model's prediction (latest fold)."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for model, g in _last_fold(gain).groupby("model", sort=True):
        ax.plot(g["share_rows"], g["share_value"], label=model, lw=1.6 if model == "model" else 1.0)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":", label="random")
    ax.set(
        xlabel="share of customers, ranked by prediction",
        ylabel="share of actual net value",
        title="Gain curve (latest fold)",
    )
    ax.legend(fontsize=8)
    return _save(fig, path)


def decile_plot(deciles: pd.DataFrame, path: Path, model: str = "model") -> Path:
    d = _last_fold(deciles)
    d = d[d["model"] == model]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    x = d["decile"].to_numpy()
    ax.bar(x - 0.2, d["pred_mean"], width=0.4, label="predicted")
    ax.bar(x + 0.2, d["actual_mean"], width=0.4, label="actual")
    ax.set(
        xlabel="predicted decile (1 = highest)",
        ylabel="mean net value per customer",
        title="Deciles: predicted vs actual (latest fold)",
        xticks=x,
    )
    ax.axhline(0, color="black", lw=0.6)
    ax.legend(fontsize=8)
    return _save(fig, path)


def calibration_plot(calibration: pd.DataFrame, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(5, 5))
    for model, c in _last_fold(calibration).groupby("model", sort=True):
        c = c[c["n"] > 0]
        ax.plot(
            c["mean_pred"], c["frac_pos"], marker="o", ms=3, label=model, lw=1.6 if model == "model" else 1.0
        )
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":", label="perfect")
    ax.set(
        xlabel="predicted churn probability",
        ylabel="observed churn rate",
        xlim=(0, 1),
        ylim=(0, 1),
        title="Churn calibration (latest fold)",
    )
    ax.legend(fontsize=8)
    return _save(fig, path)


def fold_totals_plot(totals: pd.DataFrame, path: Path, band: tuple[float, float] = (0.9, 1.1)) -> Path:
    """Every fold's predicted / actual total per model (`BacktestResult.fold_totals`), with the 0.9-1.1 band: a
    seasonal miss on one fold shows as one point outside the band, not averaged away (left: the totals; right:
    their ratio)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
    folds = sorted(totals["cutoff"].unique())
    labels = [pd.Timestamp(c).strftime("%Y-%m-%d") for c in folds]
    x = range(len(folds))
    actual = totals.groupby("cutoff")["actual_total"].first().reindex(folds)
    left.plot(x, actual.to_numpy(), color="black", marker="s", lw=2.0, label="actual")
    for model, g in totals.groupby("model", sort=True):
        g = g.set_index("cutoff").reindex(folds)
        style = {"lw": 1.6 if model == "model" else 1.0, "marker": "o", "ms": 4, "label": model}
        left.plot(x, g["predicted_total"].to_numpy(), **style)
        right.plot(x, g["bias"].to_numpy(), **style)
    left.set(
        xlabel="fold (horizon start)", ylabel="total net value", title="Predicted vs actual total per fold"
    )
    right.axhspan(*band, color="green", alpha=0.12, label=f"{band[0]:g}-{band[1]:g}")
    right.axhline(1.0, color="grey", lw=0.8, ls=":")
    right.set(xlabel="fold (horizon start)", ylabel="predicted / actual total", title="Bias per fold")
    for ax in (left, right):
        ax.set_xticks(list(x), labels, rotation=30, fontsize=8)
        ax.legend(fontsize=8)
    return _save(fig, path)


def backtest_plots(result, out_dir: Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out: dict[str, Path] = {}
    if len(result.gain_curves):
        out["gain_curve"] = gain_curve_plot(result.gain_curves, out_dir / "gain_curve.png")
    if len(result.decile_tables):
        out["deciles"] = decile_plot(result.decile_tables, out_dir / "deciles.png")
    if len(result.calibration_curves):
        out["calibration"] = calibration_plot(result.calibration_curves, out_dir / "calibration.png")
    totals = result.fold_totals
    if len(totals):
        out["fold_totals_plot"] = fold_totals_plot(totals, out_dir / "fold_totals.png")
    return out
