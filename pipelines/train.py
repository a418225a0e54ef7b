"""Training and backtest jobs: build the training set, fit, backtest, decide the promotion; the MLflow run, the
registration and the alias are `pipelines.tracking_runs.log_training_run`'s. What a backtest and a training record
of the comparison (the backtest directory, the facts): `pipelines.backtest_record`; the logged model's synthetic
input example: `pipelines.input_example`."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape

from features import build_feature_table_with_manifest, build_training_set
from features.contract import amount_scale
from features.model_inputs import model_inputs
from features.table import company_totals
from features.training import CustomerSample
from features.validation import StructuralError
from models.backtest import BacktestResult, decide_promotion, run_backtest
from models.bundle import CustomerValueModel
from models.feature_contract import feature_columns
from pipelines.backtest_console import print_backtest, print_notes
from pipelines.backtest_record import evaluated_folds, modelling_params, write_backtest
from pipelines.cli_options import check_engine
from pipelines.config import AppConfig
from pipelines.drift_reference import recent_scored_rows
from pipelines.fingerprint import data_fingerprint
from pipelines.history_identity import coarse_signature, signature_of
from pipelines.input_example import _input_example
from pipelines.loading import (
    check_as_of,
    check_training_data,
    default_as_of,
    history_needed_days,
    load_and_report,
    parse_date,
    read_in_zone,
    warn_later_events,
)
from pipelines.sampling import TrainingSample, sample_tables, say_sample
from pipelines.store_errors import check_artifacts_writable, check_writable
from pipelines.tracking import (
    CHALLENGER,
    CHAMPION,
    DEMO_PARAM,
    DEMO_TRAINER,
    UnreadableModel,
    current_champion,
    load_bundle,
    sweep_interrupted,
)
from pipelines.tracking_runs import champion_by_demo, demo_keeps_champion, log_training_run
from pipelines.tracking_store import artifact_location, browse_hint, configure_tracking, ensure_experiment
from pipelines.training_stops import export_stops, keep_stops, stopped_in_training, stopped_param


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


def _rolling_origin(
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    cfg: AppConfig,
    console: Console,
    sample: CustomerSample | None,
    candidates: dict[str, Any] | None = None,
) -> BacktestResult:
    """`run_backtest` with the configuration's horizon, features, labels, models and tiers (train and backtest
    run the same protocol), under a status line; `sample` the sampled customers (None: every customer)."""
    with console.status("backtesting (rolling origin)..."):
        return run_backtest(
            tables,
            as_of,
            cfg.labels.horizon_days,
            cfg.features,
            cfg.labels,
            cfg.models,
            candidates=candidates,
            tier_config=cfg.tiers,
            sample=sample,
        )


def _no_fold(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, h: int) -> tuple[str, int]:
    """Why no backtest fold fits (the history's span in days and the horizon), and the days of history needed."""
    first = tables["orders"]["ordered_at"].min()
    span = int((as_of - first) / pd.Timedelta(days=1))
    why = f"no backtest fold fits in {span} days of history for a {h}-day horizon"
    return why, history_needed_days(first, h)


def train_and_register(
    tables: dict[str, pd.DataFrame],
    cfg: AppConfig,
    as_of: pd.Timestamp,
    console: Console,
    promote: bool | None = None,
    out_dir: Path | None = None,
    mapping_sha256: str | None = None,
    tracking_uri: str | None = None,
    sample: TrainingSample | None = None,
    rows: dict[str, Any] | None = None,
    demo: bool = False,
) -> TrainResult:
    """Fit on the training set up to as-of, backtest against the champion and baselines, log, register, promote.

    With `sample` (`tables` hold the sampled customers' rows: `load_sampled`), the training set and the folds are
    the sampled customers', company values from the whole base; the as-of was checked on the whole base.
    `rows`: the input rows' counts (`load_for_modelling`), recorded in the run: params per table and reason, and
    `rejected_rows.json` (counts and reasons, never a row's values). `demo` (`cvp demo`): the run says so
    (`tracking_runs.DEMO_PARAM`) and never replaces a champion another training made (`demo_keeps_champion`)."""
    h = cfg.labels.horizon_days
    if sample is None:
        check_as_of(tables, as_of, cfg.labels, "train on")
    customers = sample.sample if sample is not None else None
    timings: dict[str, float] = {}
    store = configure_tracking(Path(cfg.mlflow.tracking_dir), tracking_uri)
    experiment_id = ensure_experiment(cfg.mlflow.experiment, Path(cfg.mlflow.tracking_dir))
    # a locked or read-only store stops the run now, not after the fit at the logging step (was: minutes at scale)
    check_writable(store)
    check_artifacts_writable(artifact_location(experiment_id))  # and its artefact folder (a file there, full)
    name = cfg.mlflow.registered_model
    for note in sweep_interrupted(name, experiment_id):  # what a training killed mid-way left
        console.print(f"[yellow]note:[/] {note}")

    t0 = time.perf_counter()
    training = build_training_set(tables, as_of, h, cfg.features, cfg.labels, customers)
    check_training_data(training, h, cfg, "train")
    btyd_notes: list[str] = []
    if cfg.models.use_btyd_features:
        from models.baselines import add_btyd_features

        training, btyd_notes = add_btyd_features(training, tables, h, cfg.models.btyd_penalizer)
    last_cutoff = training["cutoff"].max()
    totals = None
    if customers is not None:
        totals = company_totals(customers.company_orders, [last_cutoff], cfg.features)[last_cutoff]
    _, manifest = build_feature_table_with_manifest(tables, last_cutoff, cfg.features, totals)
    timings["training_set_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    from pipelines.code_version import code_version

    signature = signature_of(tables, as_of)  # whose data: kept coarse in the model, logged with the params
    from pipelines.loading import positive_shares, positive_values

    data_settings = {
        "currency": cfg.data.currency,
        "timezone": cfg.data.timezone,
        # the columns that shape the features: scoring data must have them too (`features.contract`)
        "input_columns": model_inputs(tables),
        "amount_scale": amount_scale(tables),  # the typical amounts: scoring refuses another unit (cents)
        "max_values": dict(cfg.data.max_values),  # the rows training accepted: scoring imposes the bounds
        "code": code_version(),  # the feature and model code: scoring with other code says so
        # where its history starts: scoring data cut shorter than the feature windows is refused (`check_history_span`)
        "first_order": tables["orders"]["ordered_at"].min().isoformat(),
        # the amounts above 0: scoring data with one of them 0 on every row is refused (`check_positive_values`)
        "positive_shares": positive_shares(positive_values(tables)),
        # whose data: scoring another company's customers with it says so (`history_identity.model_base_note`)
        # coarse: no customer id can be recovered from it (it is logged to MLflow)
        "base_signature": coarse_signature(signature),
    }
    bundle = CustomerValueModel(h, cfg.models, cfg.features, cfg.labels, mapping_sha256, data_settings)
    drift_rows, drift_dates = None, None
    t_drift = time.perf_counter()  # three feature builds of the base: timed apart, fit_s is the fit
    if not cfg.models.use_btyd_features:  # a BTYD model's extra inputs are fitted per run: its training rows
        drift_rows, drift_dates = recent_scored_rows(tables, as_of, cfg, customers)
    timings["drift_reference_s"] = time.perf_counter() - t_drift
    bundle = bundle.fit(
        training, as_of=as_of, drift_rows=drift_rows, drift_dates=drift_dates, sampled=sample is not None
    )
    timings["fit_s"] = time.perf_counter() - t0 - timings["drift_reference_s"]
    for note in bundle.scoring_warnings():  # the model scores otherwise than its settings say: said
        console.print(f"[bold yellow]warning:[/] {escape(note)}")
    stops = keep_stops(
        bundle, tables, as_of, cfg, console, sample
    )  # warned; its run's param, the model's warnings

    champion_version = current_champion(name)
    candidates: dict[str, Any] = {"model": cfg.models}
    # `cvp demo` over a champion no demo trained: not compared, so its settings are not refitted on the demo's folds
    champion_note = demo_keeps_champion(_client(), name, champion_version) if demo else ""
    champ = None
    if champion_version is not None and not champion_note:
        try:
            champ = load_bundle(f"models:/{name}@{CHAMPION}").bundle
        except UnreadableModel as exc:  # was: exit 2 after the fit, "train again with `cvp train`"
            champion_note = (
                f"the champion (v{champion_version}) cannot be loaded ({exc.why}), so the new model cannot be "
                "compared with it: --promote makes the new model champion, `cvp models promote VERSION` another one"
            )
            console.print(f"[bold yellow]warning:[/] {escape(champion_note)}")
    if champ is not None:
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
    result = _rolling_origin(tables, as_of, cfg, console, customers, candidates)
    timings["backtest_s"] = time.perf_counter() - t0
    if not result.metrics.empty:
        print_backtest(result, h, console, cfg.models.interval_quantiles)
    else:
        print_notes(result, console)  # why no fold was evaluated

    if champion_note:  # a demo's over a champion no demo trained; a champion unreadable or of another horizon
        auto, reason = False, f"not compared: {champion_note}"
    elif (result.metrics["model"] == "model").sum() == 0:
        no_fold, need = _no_fold(tables, as_of, h)
        auto, reason = (
            False,
            f"not compared: {no_fold}; need {need} days (registered as challenger; --promote makes it champion)",
        )
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
    params = (
        modelling_params(cfg, as_of, sample, tables, signature)
        | {"backtest_fold_cutoffs": ",".join(evaluated_folds(result)) or "none"}
        | {
            "n_training_rows": len(training),
            "n_cutoffs": training["cutoff"].nunique(),
            "value_model": cfg.models.value_model,
            "single_objective": cfg.models.single_objective,
            "calibration": cfg.models.calibration,
            "use_btyd_features": cfg.models.use_btyd_features,
            "n_features": len(bundle.feature_names),
        }
        | ({DEMO_PARAM: DEMO_TRAINER} if demo else {})
        | stops
    )

    documents = {
        "config.json": cfg.model_dump(mode="json"),
        "model_contract.json": bundle.contract_settings() or {},
        "data_fingerprint.json": data_fingerprint(tables),
        "feature_manifest.json": manifest.to_dict(),
        # with the stopped exports' warnings in full (dates, counts, table names: no row's value)
        "notes.json": {
            "notes": btyd_notes + result.notes + list(getattr(bundle, "notes_", [])) + bundle.data_warnings_
        },
    }
    if rows is not None:  # a training that dropped 20% of the orders shows it beside one that did not
        from pipelines.rejected_rows import TRAINING, rows_document, training_params

        params |= training_params(rows)
        documents["rejected_rows.json"] = rows_document(rows, TRAINING)
    s, st = result.summary, result.summary_by_tier
    metrics = {
        f"{m}.{k}".replace(" ", "_"): float(v)
        for m, k, v in zip(s["model"], s["metric"], s["mean"], strict=True)
        if np.isfinite(v)
    } | {
        f"tier.{tr}.{m}.{k}": float(v)
        for tr, m, k, v in zip(st["tier"], st["model"], st["metric"], st["mean"], strict=True)
        if np.isfinite(v)
    }
    # Issue 12: the lookalike model for new customers is backtested on the same data and logged in this run.
    from pipelines.profile import lookalike_run_metrics

    t_lookalike = time.perf_counter()
    # Given the bundle, it also fits the lookalike model and carries it in the bundle (registered with it).
    company_orders = customers.company_orders if customers is not None else None  # the base's first order
    lookalike_metrics, documents["lookalike_backtest.json"] = lookalike_run_metrics(
        tables, cfg, as_of, h, bundle, company_orders
    )
    metrics |= lookalike_metrics
    timings["lookalike_s"] = time.perf_counter() - t_lookalike
    alias = CHAMPION if do_promote else CHALLENGER
    with tempfile.TemporaryDirectory() as tmp:
        files = write_backtest(result, Path(out_dir) if out_dir else Path(tmp) / "backtest")
        run_id, version, alias, reason = log_training_run(
            experiment_id,
            name,
            bundle,
            example,
            params,
            documents,
            metrics,
            list(files.values()),
            alias,
            reason,
            compared_with=champion_version,
            forced=promote is True,
        )
    timings["logging_s"] = time.perf_counter() - t0
    if alias != CHAMPION and not demo and champion_by_demo(_client(), name, champion_version):
        reason += (  # was: kept as challenger over the demo's model, `cvp score` then scoring with the demo's
            f"; the champion (v{champion_version}) is the demo company's model (trained by `cvp demo`): "
            f"`cvp models promote {version}` makes this model of your data champion"
        )
    console.print(f"registered [bold]{name}[/] version {version} as [bold]{alias}[/]: {reason}")
    console.print(f"MLflow run {run_id}; runs and registry: {browse_hint(store)}")
    return TrainResult(bundle, result, as_of, run_id, version, alias, reason, timings)


def _client() -> Any:
    from pipelines.mlflow_import import mlflow

    return mlflow.MlflowClient()


def run_backtest_only(
    tables: dict[str, pd.DataFrame],
    cfg: AppConfig,
    as_of: pd.Timestamp,
    out_dir: Path,
    console: Console,
    sample: TrainingSample | None = None,
    rows: dict[str, Any] | None = None,
) -> BacktestResult:
    """`cvp backtest`: the rolling-origin backtest, printed and written to `out_dir` with `rows`, the input rows'
    counts (`load_for_modelling`; was: not recorded, a backtest on a fifth fewer orders looked like any other)."""
    h = cfg.labels.horizon_days
    if sample is None:
        check_as_of(tables, as_of, cfg.labels, "backtest")
    stopped = stopped_in_training(tables, as_of, cfg, console, "backtest", sample)
    result = _rolling_origin(tables, as_of, cfg, console, sample.sample if sample is not None else None)
    if result.metrics.empty:
        no_fold, need = _no_fold(tables, as_of, h)
        raise StructuralError(
            f"{no_fold} (need {need} days and enough customers of both churn classes); "
            + "; ".join(result.notes)
        )
    print_backtest(result, h, console, cfg.models.interval_quantiles)
    facts = {"sample_customers": None} | modelling_params(cfg, as_of, sample, tables)  # None: all
    facts["backtest_fold_cutoffs"] = evaluated_folds(result)
    facts |= stopped_param(stopped)
    files = write_backtest(result, out_dir, rows, facts)
    console.print(
        f"backtest files in {out_dir}: {', '.join(p.name for p in files.values())}",
        markup=False,
        highlight=False,
    )
    return result


def load_for_modelling(
    data: Path,
    mapping: Path | None,
    config: Path | None,
    config_overrides: dict[str, Any],
    as_of: str | None,
    console: Console,
) -> tuple[AppConfig, dict[str, pd.DataFrame], pd.Timestamp, dict[str, Any]]:
    """Config, validated tables, the as-of (default: the day after the last order) and the input rows' counts
    (`pipelines.rejected_rows.rows_summary`, the rejected rows said) for train and backtest.

    Events dated on or after the as-of (a later ticket, a mistyped future date) are ignored by every
    point-in-time computation; they are counted in a warning.
    """
    from pipelines.config import load_config
    from pipelines.rejected_rows import TRAINING, rows_summary

    cfg = read_in_zone(load_config(config, config_overrides), mapping)  # its zone: the model records it

    loaded = load_and_report(data, mapping, cfg, console, used_by=TRAINING)
    tables = loaded.tables
    cutoff = parse_date(as_of, timezone=cfg.data.timezone) if as_of else default_as_of(tables)
    warn_later_events(tables, cutoff, console)
    return cfg, tables, cutoff, rows_summary(loaded)


def load_sampled(
    data: Path,
    mapping: Path | None,
    config: Path | None,
    config_overrides: dict[str, Any],
    as_of: str | None,
    console: Console,
    what: str,
    sample_customers: int | None,
    engine: str = "pandas",
    spark_master: str | None = None,
    tables: Any = None,
) -> tuple[AppConfig, dict[str, pd.DataFrame], pd.Timestamp, TrainingSample | None, dict[str, Any]]:
    """`load_for_modelling` with `--sample-customers` and `--engine`: the as-of decided and checked on the whole
    base (a sample's first and last orders are not the data's), then the sampled customers' tables (all
    customers without a sample). `--engine spark` reads, validates and samples on the executors
    (`pipelines.engines.spark_training`); `tables`: `--tables`' catalog tables (`spark_catalog`), Spark only."""
    from pipelines.engines.spark_catalog import check_tables_option

    check_tables_option(tables, engine, mapping)
    if engine == "spark":
        from pipelines.engines.spark_training import load_spark_sample

        return load_spark_sample(
            data,
            mapping,
            config,
            config_overrides,
            as_of,
            console,
            what,
            sample_customers,
            spark_master,
            tables,
        )
    check_engine(engine)
    cfg, tables, cutoff, rows = load_for_modelling(data, mapping, config, config_overrides, as_of, console)
    if sample_customers is None:
        return cfg, tables, cutoff, None, rows
    check_as_of(tables, cutoff, cfg.labels, what)
    # the stop belongs to the whole base: judged on its tables, said after the fit (`stopped_in_training`)
    stopped = export_stops(tables, cutoff, cfg, what.split()[0])
    tables, sample = sample_tables(tables, sample_customers, stopped)
    say_sample(sample, console)
    return cfg, tables, cutoff, sample, rows


def overrides(horizon_days: int | None = None, folds: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if horizon_days is not None:
        out["labels"] = {"horizon_days": horizon_days}
    if folds is not None:
        out["models"] = {"backtest_folds": folds}
    return out
