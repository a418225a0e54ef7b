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
from models.backtest import BacktestResult, decide_promotion, run_backtest
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


def last_order(tables: dict[str, pd.DataFrame]) -> pd.Timestamp:
    last = tables["orders"]["ordered_at"].max()
    if pd.isna(last):
        raise StructuralError("table orders has no dated order (column ordered_at is empty)")
    return last


def default_as_of(tables: dict[str, pd.DataFrame]) -> pd.Timestamp:
    """The day after the last ORDER: one mistyped future ticket or invoice cannot move it."""
    return last_order(tables).normalize() + pd.Timedelta(days=1)


def later_events(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp) -> dict[str, int]:
    """Rows per table.column dated at or after as-of (ignored by every point-in-time computation)."""
    out: dict[str, int] = {}
    for t, cols in EVENT_TIME_COLUMNS.items():
        if t not in tables:
            continue
        for c in cols:
            n = int((tables[t][c] >= as_of).sum())
            if n:
                out[f"{t}.{c}"] = n
    return out


def warn_later_events(
    tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, console: Console
) -> dict[str, int]:
    later = later_events(tables, as_of)
    if later:
        console.print(
            f"[yellow]warning:[/] events on or after the as-of {as_of.date()} are ignored (point in time): "
            + ", ".join(f"{k}: {v:,} rows" for k, v in later.items())
        )
    return later


def mapping_digest(mapping: Path | None) -> str | None:
    """sha256 of the mapping file's text (None without a mapping): part of the model's contract."""
    import hashlib

    if mapping is None:
        return None
    return hashlib.sha256(Path(mapping).read_bytes()).hexdigest()


def history_needed_days(first_order: pd.Timestamp, horizon_days: int) -> int:
    """Fewest days from the first order to the as-of for one backtest fold to fit.

    The fold cutoff t is the month start at or before as_of - h; its training set needs a training cutoff c (a
    month start, c + h <= t) after the first order.
    """
    first = pd.Timestamp(first_order)
    for days in range(2 * horizon_days, 2 * horizon_days + 200):
        as_of = first.normalize() + pd.Timedelta(days=days)
        t = (as_of - pd.Timedelta(days=horizon_days)).to_period("M").to_timestamp()
        c = (t - pd.Timedelta(days=horizon_days)).to_period("M").to_timestamp()
        if c > first:
            return days
    return 2 * horizon_days + 200  # pragma: no cover - month rounding never needs this much


def check_training_data(training: pd.DataFrame, horizon_days: int, cfg: AppConfig, what: str) -> None:
    """Enough customers and both churn classes, or a message saying exactly what is missing."""
    label = f"label_churned_{horizon_days}d"
    n_customers = training["customer_id"].nunique() if len(training) else 0
    problems = []
    need = cfg.models.min_training_customers
    if n_customers < need:
        problems.append(f"{n_customers} customer(s), at least {need} needed (models.min_training_customers)")
    if len(training):
        churned = int(training[label].sum())
        stayed = int(len(training) - churned)
        if churned == 0:
            problems.append(
                f"no customer stopped buying within {horizon_days} days (no positive churn example)"
            )
        if stayed == 0:
            problems.append(
                f"every customer stopped buying within {horizon_days} days (no negative churn example)"
            )
    if problems:
        raise StructuralError(f"not enough data to {what}: the training set has " + "; ".join(problems))


def check_after_first_order(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, what: str) -> pd.Timestamp:
    """The first order; an as-of at or before it leaves nothing to compute (one check for every command)."""
    first = tables["orders"]["ordered_at"].min()
    if pd.isna(first) or as_of <= first:
        raise StructuralError(
            f"--as-of {as_of.date()} is before the data starts (not after the first order, {first}); "
            f"nothing to {what}"
        )
    return first


def check_as_of(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, horizon_days: int, what: str) -> None:
    first = check_after_first_order(tables, as_of, what)
    span = (as_of - first) / pd.Timedelta(days=1)
    if horizon_days >= span:  # compared in days: as_of - horizon may not even be a representable date
        raise StructuralError(
            f"--horizon-days {horizon_days} is not shorter than the history: {span:.0f} days from the first "
            f"order ({first.date()}) to --as-of {as_of.date()}, so no label can be observed. "
            f"Use a later --as-of or a shorter --horizon-days."
        )


#: Short column labels of the console tables (the legend under each table gives the full metric names).
METRIC_LABELS = {
    "value_norm_gini": "Gini",
    "value_top20_capture": "top 20%",
    "value_spearman": "Spearman",
    "value_aggregate_bias": "bias",
    "value_decile_mape": "MAPE",
    "value_interval_coverage": "P10-P90",
    "churn_roc_auc": "AUC",
    "churn_pr_auc": "PR AUC",
    "churn_brier": "Brier",
    "churn_ece": "ECE",
}


def backtest_console_tables(result: BacktestResult, title: str) -> list[Table]:
    """One table for the value metrics and one for churn: models as rows (ours first), short metric labels as
    columns, mean over folds with the std beneath it; a legend names each metric. Readable at 80 columns."""
    s = result.summary
    cells = {
        (m, k): (v, sd) for m, k, v, sd in zip(s["model"], s["metric"], s["mean"], s["std"], strict=True)
    }
    tables = []
    for kind in ("value", "churn"):
        metrics = [m for m in TABLE_METRICS if m.startswith(f"{kind}_") and m in set(s["metric"])]
        if not metrics:
            continue
        scored = {k for k, m in cells if m in metrics}
        first = ["model", "champion"]
        models = [m for m in [*first, *sorted(set(s["model"]) - set(first))] if m in scored]
        t = Table(
            title=f"{title}: {kind}",
            caption="mean over folds, std beneath; "
            + "; ".join(f"{METRIC_LABELS.get(m, m)} = {m}" for m in metrics),
            caption_justify="left",
        )
        t.add_column("model")
        for metric in metrics:
            t.add_column(METRIC_LABELS.get(metric, metric), justify="right")
        for model in models:
            row = [f"[bold]{model}[/]" if model == "model" else model]
            for metric in metrics:
                v = cells.get((model, metric))
                row.append("" if v is None else f"{v[0]:.3f}\n[dim]±{np.nan_to_num(v[1]):.3f}[/]")
            t.add_row(*row)
        tables.append(t)
    return tables


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
    for table in backtest_console_tables(result, title):
        console.print(table)
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
    mapping_sha256: str | None = None,
    tracking_uri: str | None = None,
) -> TrainResult:
    """Fit on the training set up to as-of, backtest against the champion and baselines, log, register, promote."""
    import mlflow
    from mlflow.models import infer_signature

    from pipelines.tracking import (
        CHALLENGER,
        CHAMPION,
        configure_tracking,
        current_champion,
        ensure_experiment,
        load_bundle,
        pyfunc_for,
    )

    h = cfg.labels.horizon_days
    check_as_of(tables, as_of, h, "train on")
    timings: dict[str, float] = {}
    configure_tracking(Path(cfg.mlflow.tracking_dir), tracking_uri)
    experiment_id = ensure_experiment(cfg.mlflow.experiment, Path(cfg.mlflow.tracking_dir))
    name = cfg.mlflow.registered_model

    t0 = time.perf_counter()
    training = build_training_set(tables, as_of, h, cfg.features, cfg.labels)
    check_training_data(training, h, cfg, "train")
    btyd_notes: list[str] = []
    if cfg.models.use_btyd_features:
        from models.baselines import add_btyd_features

        training, btyd_notes = add_btyd_features(training, tables, h, cfg.models.btyd_penalizer)
    last_cutoff = training["cutoff"].max()
    _, manifest = build_feature_table_with_manifest(tables, last_cutoff, cfg.features)
    timings["training_set_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    bundle = CustomerValueModel(h, cfg.models, cfg.features, cfg.labels, mapping_sha256).fit(training)
    timings["fit_s"] = time.perf_counter() - t0

    champion_version = current_champion(name)
    candidates: dict[str, Any] = {"model": cfg.models}
    champion_note = ""
    if champion_version is not None:
        champ = load_bundle(f"models:/{name}@{CHAMPION}").bundle
        if champ.horizon_days == h:
            # Always re-evaluated on the same folds, with its own settings: an equal configuration is still a
            # second fitted candidate (never "same configuration, no second run").
            champ_features = getattr(champ, "feature_config", None) or cfg.features
            candidates["champion"] = (champ.config, champ_features)
        else:
            champion_note = (
                f"the champion (v{champion_version}) predicts {champ.horizon_days} days, not {h}: "
                "the two cannot be compared"
            )
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
    if not result.metrics.empty:
        print_backtest(result, h, console)

    if (result.metrics["model"] == "model").sum() == 0:
        first = tables["orders"]["ordered_at"].min()
        span = int((as_of - first) / pd.Timedelta(days=1))
        need = history_needed_days(first, h)
        auto, reason = (
            False,
            f"not compared: no backtest fold fits in {span} days of history for a {h}-day horizon; "
            f"need {need} days (registered as challenger; --promote makes it champion)",
        )
    elif champion_note:
        auto, reason = False, f"not compared: {champion_note}"
    else:
        decision = decide_promotion(
            result.metrics, cfg.models.primary_metrics, cfg.models, champion="champion"
        )
        auto, reason = decision.promote, decision.reason
        if champion_version is not None:
            reason = f"against champion v{champion_version}: {reason}"
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
        mlflow.log_dict(bundle.contract_settings() or {}, "model_contract.json")
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
    if result.metrics.empty:
        first = tables["orders"]["ordered_at"].min()
        span = int((as_of - first) / pd.Timedelta(days=1))
        raise StructuralError(
            f"no backtest fold fits in {span} days of history for a {h}-day horizon "
            f"(need {history_needed_days(first, h)} days and enough customers of both churn classes); "
            + "; ".join(result.notes)
        )
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
    """Config, validated tables and the as-of (default: the day after the last order) for train and backtest.

    Events dated on or after the as-of (a later ticket, a mistyped future date) are ignored by every
    point-in-time computation; they are counted in a warning.
    """
    from pipelines.config import load_config
    from pipelines.jobs import load_and_report, parse_date

    cfg = load_config(config, config_overrides)
    tables = load_and_report(data, mapping, cfg, console).tables
    cutoff = parse_date(as_of) if as_of else default_as_of(tables)
    warn_later_events(tables, cutoff, console)
    return cfg, tables, cutoff


def overrides(horizon_days: int | None = None, folds: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if horizon_days is not None:
        out["labels"] = {"horizon_days": horizon_days}
    if folds is not None:
        out["models"] = {"backtest_folds": folds}
    return out
