"""Training and backtest jobs: build the training set, fit, backtest, log one MLflow run, register, promote."""

from __future__ import annotations

import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from features import build_feature_table_with_manifest, build_training_set
from features.contract import EVENT_TIME_COLUMNS, PERSONAL_COLUMNS
from features.validation import StructuralError
from models.backtest import BacktestResult, run_backtest
from models.bundle import CustomerValueModel
from models.value import feature_columns
from pipelines.config import AppConfig
from pipelines.io import data_fingerprint, write_frame
from pipelines.plots import backtest_plots

#: Metrics shown in the console table, in this order.
TABLE_METRICS = (
    "value_norm_gini",
    "value_top20_capture",
    "value_spearman",
    "value_aggregate_bias",
    "value_decile_mape",
    "value_interval_coverage",
    "churn_roc_auc",
    "churn_pr_auc",
    "churn_brier",
    "churn_ece",
)
#: Runtime requirements of the logged model, given explicitly: MLflow's inference costs seconds per model.
PIP_REQUIREMENTS = ["pandas", "numpy", "scikit-learn", "lightgbm", "cloudpickle", "customer-value-predictor"]


def last_event(tables: dict[str, pd.DataFrame]) -> pd.Timestamp:
    times = [tables[t][c].max() for t, cols in EVENT_TIME_COLUMNS.items() if t in tables for c in cols]
    times = [t for t in times if pd.notna(t)]
    if not times:
        raise StructuralError("the data has no dated events")
    return max(times)


def default_as_of(tables: dict[str, pd.DataFrame]) -> pd.Timestamp:
    """The day after the last event: every event in the data is then strictly before as-of."""
    return last_event(tables).normalize() + pd.Timedelta(days=1)


def check_as_of(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, horizon_days: int, what: str) -> None:
    first = tables["orders"]["ordered_at"].min()
    if pd.isna(first) or as_of <= first:
        raise StructuralError(
            f"--as-of {as_of.date()} is not after the first order ({first}); nothing to {what}"
        )
    if as_of - pd.Timedelta(days=horizon_days) <= first:
        raise StructuralError(
            f"--as-of {as_of.date()} minus the {horizon_days}-day horizon is before the first order ({first.date()}): "
            f"no label can be observed. Use a later --as-of or a shorter --horizon-days."
        )


def backtest_console_table(result: BacktestResult, title: str) -> Table:
    """Metrics as rows, models as columns (mean ± std over folds); our model first."""
    s = result.summary
    metrics = [m for m in TABLE_METRICS if m in set(s["metric"])]
    models = ["model"] + sorted(set(s["model"]) - {"model"})
    t = Table(title=title)
    t.add_column("metric (mean ± std)")
    for model in models:
        t.add_column(f"[bold]{model}[/]" if model == "model" else model, justify="right")
    cells = {
        (m, k): (v, sd) for m, k, v, sd in zip(s["model"], s["metric"], s["mean"], s["std"], strict=True)
    }
    for metric in metrics:
        row = [metric]
        for model in models:
            v = cells.get((model, metric))
            row.append("" if v is None else f"{v[0]:.3f} ± {np.nan_to_num(v[1]):.3f}")
        t.add_row(*row)
    return t


def tier_console_table(
    result: BacktestResult, metrics: tuple[str, ...] = ("value_norm_gini", "churn_roc_auc")
) -> Table:
    """The key metrics within each tier (tiers from our model's predictions at each fold cutoff)."""
    s = result.summary_by_tier
    models = ["model"] + sorted(set(s["model"]) - {"model"})
    t = Table(title="Backtest by tier (mean over folds)")
    t.add_column("tier")
    t.add_column("metric")
    for model in models:
        t.add_column(f"[bold]{model}[/]" if model == "model" else model, justify="right")
    cells = {(tr, m, k): v for tr, m, k, v in zip(s["tier"], s["model"], s["metric"], s["mean"], strict=True)}
    for tier in sorted(set(s["tier"])):
        for metric in metrics:
            row = [tier, metric]
            for model in models:
                v = cells.get((tier, model, metric))
                row.append("" if v is None or not np.isfinite(v) else f"{v:.3f}")
            t.add_row(*row)
    return t


def print_backtest(result: BacktestResult, horizon_days: int, console: Console) -> None:
    title = f"Backtest: {len(result.fold_cutoffs)} folds, horizon {horizon_days} days"
    console.print(backtest_console_table(result, title))
    if not result.metrics_by_tier.empty:
        console.print(tier_console_table(result))


def write_backtest(result: BacktestResult, out_dir: Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    files = {
        "metrics": write_frame(result.metrics, out_dir / "backtest_metrics.csv"),
        "summary": write_frame(result.summary, out_dir / "backtest_summary.csv"),
    }
    if not result.metrics_by_tier.empty:
        files["by_tier"] = write_frame(result.summary_by_tier, out_dir / "backtest_by_tier.csv")
    files.update(backtest_plots(result, out_dir))
    return files


def summary_metrics(result: BacktestResult, model: str = "model") -> dict[str, float]:
    s = result.summary
    s = s[s["model"] == model]
    return {str(m): float(v) for m, v in zip(s["metric"], s["mean"], strict=True)}


@dataclass
class TrainResult:
    bundle: CustomerValueModel
    backtest: BacktestResult
    as_of: pd.Timestamp
    run_id: str
    version: str
    alias: str
    reason: str
    timings: dict[str, float] = field(default_factory=dict)


def _input_example(features: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """A few feature rows, categories as strings (as MLflow passes them); never a personal column or an id."""
    ex = features.head(n).reset_index(drop=True)
    leaked = set(ex.columns) & (PERSONAL_COLUMNS | {"customer_id"})
    if leaked:
        raise AssertionError(f"personal or id columns in the model input: {sorted(leaked)}")
    for c in ex.columns:
        if isinstance(ex[c].dtype, pd.CategoricalDtype):
            ex[c] = ex[c].astype("str").where(ex[c].notna(), None)
    return ex


def train_and_register(
    tables: dict[str, pd.DataFrame],
    cfg: AppConfig,
    as_of: pd.Timestamp,
    console: Console,
    promote: bool | None = None,
    out_dir: Path | None = None,
) -> TrainResult:
    """Fit on the training set up to as-of, backtest against the champion and baselines, log, register, promote."""
    import mlflow
    from mlflow.models import infer_signature

    from pipelines.tracking import (
        CHALLENGER,
        CHAMPION,
        configure_tracking,
        current_champion,
        decide_promotion,
        ensure_experiment,
        load_bundle,
        pyfunc_for,
    )

    h = cfg.labels.horizon_days
    check_as_of(tables, as_of, h, "train on")
    timings: dict[str, float] = {}
    configure_tracking(Path(cfg.mlflow.tracking_dir))
    experiment_id = ensure_experiment(cfg.mlflow.experiment, Path(cfg.mlflow.tracking_dir))
    name = cfg.mlflow.registered_model

    t0 = time.perf_counter()
    training = build_training_set(tables, as_of, h, cfg.features, cfg.labels)
    if training.empty:
        raise StructuralError(f"no training rows up to {as_of.date()} with a {h}-day horizon")
    btyd_notes: list[str] = []
    if cfg.models.use_btyd_features:
        from models.baselines import add_btyd_features

        training, btyd_notes = add_btyd_features(training, tables, h, cfg.models.btyd_penalizer)
    last_cutoff = training["cutoff"].max()
    _, manifest = build_feature_table_with_manifest(tables, last_cutoff, cfg.features)
    timings["training_set_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    bundle = CustomerValueModel(h, cfg.models).fit(training)
    timings["fit_s"] = time.perf_counter() - t0

    champion_version = current_champion(name)
    candidates = {"model": cfg.models}
    champion_note = ""
    same_config = False
    if champion_version is not None:
        champ = load_bundle(f"models:/{name}@{CHAMPION}").bundle
        if champ.horizon_days == h and champ.config == cfg.models:
            same_config = True  # the same configuration on the same folds scores the same: no second run
        elif champ.horizon_days == h:
            candidates["champion"] = champ.config
        else:
            champion_note = f"the champion (v{champion_version}) predicts {champ.horizon_days} days, not {h}"
    t0 = time.perf_counter()
    with console.status("backtesting (rolling origin)..."):
        result = run_backtest(
            tables,
            as_of,
            h,
            cfg.features,
            cfg.labels,
            cfg.models,
            candidates=candidates,
            tier_config=cfg.tiers,
        )
    timings["backtest_s"] = time.perf_counter() - t0
    print_backtest(result, h, console)

    new = summary_metrics(result, "model")
    missing = [m for m in cfg.models.primary_metrics if m not in new]
    if missing:
        raise StructuralError(f"the backtest produced no {missing}: too little data for {h}-day folds?")
    if champion_note:
        auto, reason = False, f"not compared: {champion_note}"
    else:
        champ_metrics = summary_metrics(result, "champion") if "champion" in candidates else None
        if same_config:
            champ_metrics = new
        auto, reason = decide_promotion(new, champ_metrics, list(cfg.models.primary_metrics))
        if same_config:
            reason += " (same configuration as the champion, refitted on the newer data)"
    do_promote = auto if promote is None else promote
    if promote is not None and promote != auto:
        reason += f"; overridden by --{'promote' if promote else 'no-promote'}"

    t0 = time.perf_counter()
    features_only = training[feature_columns(training)]
    example = _input_example(features_only)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signature = infer_signature(example, bundle.predict(example))
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run(experiment_id=experiment_id) as run:
        files = write_backtest(result, Path(out_dir) if out_dir else Path(tmp) / "backtest")
        mlflow.log_params(
            {
                "as_of": as_of.date().isoformat(),
                "horizon_days": h,
                "n_training_rows": len(training),
                "n_cutoffs": training["cutoff"].nunique(),
                "value_model": cfg.models.value_model,
                "single_objective": cfg.models.single_objective,
                "calibration": cfg.models.calibration,
                "use_btyd_features": cfg.models.use_btyd_features,
                "n_features": len(bundle.feature_names),
                "config_digest": cfg.digest(),
            }
        )
        mlflow.log_dict(cfg.model_dump(mode="json"), "config.json")
        mlflow.log_dict(data_fingerprint(tables), "data_fingerprint.json")
        mlflow.log_dict(manifest.to_dict(), "feature_manifest.json")
        mlflow.log_dict(
            {"notes": btyd_notes + result.notes + list(getattr(bundle, "notes_", []))}, "notes.json"
        )
        s = result.summary
        mlflow.log_metrics(
            {
                f"{m}.{k}".replace(" ", "_"): float(v)
                for m, k, v in zip(s["model"], s["metric"], s["mean"], strict=True)
                if np.isfinite(v)
            }
        )
        st = result.summary_by_tier
        mlflow.log_metrics(
            {
                f"tier.{tr}.{m}.{k}": float(v)
                for tr, m, k, v in zip(st["tier"], st["model"], st["metric"], st["mean"], strict=True)
                if np.isfinite(v)
            }
        )
        for path in files.values():
            mlflow.log_artifact(str(path), artifact_path="backtest")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=pyfunc_for(bundle),
                signature=signature,
                input_example=example,
                pip_requirements=PIP_REQUIREMENTS,
                registered_model_name=name,
            )
        version = str(info.registered_model_version)
        client = mlflow.MlflowClient()
        alias = CHAMPION if do_promote else CHALLENGER
        client.set_registered_model_alias(name, alias, version)
        client.set_model_version_tag(name, version, "promotion", reason)
        mlflow.set_tag("promotion", f"{alias}: {reason}")
        run_id = run.info.run_id
    timings["logging_s"] = time.perf_counter() - t0
    console.print(f"registered [bold]{name}[/] version {version} as [bold]{alias}[/]: {reason}")
    return TrainResult(bundle, result, as_of, run_id, version, alias, reason, timings)


def run_backtest_only(
    tables: dict[str, pd.DataFrame], cfg: AppConfig, as_of: pd.Timestamp, out_dir: Path, console: Console
) -> BacktestResult:
    h = cfg.labels.horizon_days
    check_as_of(tables, as_of, h, "backtest")
    with console.status("backtesting (rolling origin)..."):
        result = run_backtest(tables, as_of, h, cfg.features, cfg.labels, cfg.models, tier_config=cfg.tiers)
    print_backtest(result, h, console)
    files = write_backtest(result, out_dir)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"backtest files in {out_dir}: {', '.join(p.name for p in files.values())}")
    return result


def load_for_modelling(
    data: Path,
    mapping: Path | None,
    config: Path | None,
    config_overrides: dict[str, Any],
    as_of: str | None,
    console: Console,
) -> tuple[AppConfig, dict[str, pd.DataFrame], pd.Timestamp]:
    """Config, validated tables and the as-of (default: the day after the last event) for train and backtest."""
    from pipelines.config import load_config
    from pipelines.jobs import load_and_report, parse_date

    cfg = load_config(config, config_overrides)
    tables = load_and_report(data, mapping, cfg, console).tables
    return cfg, tables, parse_date(as_of) if as_of else default_as_of(tables)


def overrides(horizon_days: int | None = None, folds: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if horizon_days is not None:
        out["labels"] = {"horizon_days": horizon_days}
    if folds is not None:
        out["models"] = {"backtest_folds": folds}
    return out
