"""The scoring job, one orchestration for both engines (`cvp score`).

`run_score` alone does what the engines share: the model and the settings it carries, loading and the as-of
checks, the run id, the status of every customer, the empty base, drift (`pipelines.engines.drift`), timings,
the whole-base finish (`finish_scores`: tiers and ratings rank every customer), the manifest and the atomic output
set (`pipelines.outputs`). The customer base and the engine's pass over it: `pipelines.engines.score_base`.
A backend only turns the tables into compact scores, drift counts and contributions:

- pandas (`pipelines.engines.pandas_engine.score_pandas`): chunk after chunk in this process;
- Spark (`pipelines.engines.spark_engine.score_spark`): the same chunks as Spark buckets. Its module (and pyspark)
  is imported only when `--engine spark` is asked for.

Output set (`pipelines.outputs`): the scores (one row per customer, sorted by customer_id; no personal columns),
`<stem>.contributions.parquet` (exact value-model SHAP per customer and feature, currency) and
`<stem>.manifest.json` (counts, model version, data fingerprint, config digest, timings, drift).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from features import feature_registry
from features.as_trained import as_trained_plan
from features.contract import check_amount_scale, check_categories
from features.model_inputs import check_model_inputs, model_inputs, recorded_inputs
from features.population import SCORED
from features.validation import StructuralError
from models.bundle import CustomerValueModel
from models.tiers import rule_inputs
from pipelines.cli_options import check_engine
from pipelines.config import load_config
from pipelines.engines.model_bridge import bridge_model
from pipelines.engines.score_base import customer_base, score_tables
from pipelines.engines.score_run import ScoreRun
from pipelines.engines.scoring import drop_unread_columns, run_policy, settings_used
from pipelines.engines.spark_scope import one_spark_session
from pipelines.loading import (
    check_after_first_order,
    check_history_span,
    check_positive_values,
    later_events_text,
    load_and_report,
    parse_date,
    positive_values,
    read_in_zone,
    rejects_note,
    warn_later_events,
)
from pipelines.mapping import source_rows
from pipelines.run_identity import output_digest
from pipelines.score_console import churn_spread, closing_warnings, never_fed, score_summary


@contextmanager
def _chunk_progress(console: Any, show: bool) -> Iterator[Any]:
    """A progress bar of the chunks scored and the customers per second, yielding the engine's `progress`
    callback (k, n, rows); None when not shown (the Spark engine reports no chunks to the driver)."""
    if not show:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    t0 = time.perf_counter()
    columns = (TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TextColumn("chunks"))
    with Progress(
        *columns, TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=console, transient=False
    ) as progress:
        task = progress.add_task("chunks", total=None, rate="")
        done = {"customers": 0}

        def tick(k: int, n: int, rows: int) -> None:
            done["customers"] += rows
            rate = done["customers"] / max(time.perf_counter() - t0, 1e-9)
            progress.update(task, total=n, completed=k, rate=f"{rate:,.0f} customers/s")

        yield tick


@one_spark_session  # issue 11: the Spark load's validated rows stay in the session until the backend uses them
def run_score(
    data: Path | None,
    as_of_text: str,
    out: Path,
    model_uri: str | None,
    engine: str,
    chunk_customers: int | None,
    mapping: Path | None,
    config: Path | None,
    console: Any,
    spark_master: str | None = None,
    strict: bool = False,
    allow_stale: bool = False,
    tracking_uri: str | None = None,
    history: Path | None = None,
    rejects: Path | None = None,
    demo: bool = False,
    catalog_tables: Any = None,
) -> ScoreRun:
    """The scoring job: load the registered model, validate the data, score in chunks, publish one output set.

    `rejects`: where the rejected rows go (pandas: `<rejects>/<table>.csv`; Spark: `<rejects>/<table>/` parts,
    written by the executors). `demo`: `cvp demo`'s own run (its model is not warned of as the demo's).
    `catalog_tables`: `--tables`' catalog tables (`pipelines.engines.spark_catalog`, Spark only; `data` may then be
    None), recorded in the manifest (`catalog_tables`: each table's catalog name)."""
    import shutil

    from rich.markup import escape

    from pipelines.fingerprint import data_fingerprint, fingerprint_beside
    from pipelines.io import release_memory, write_json
    from pipelines.outputs import output_paths, publish, run_id_for, staging_dir
    from pipelines.tracking import load_bundle
    from pipelines.tracking_store import configure_tracking, shown_uri

    cfg = read_in_zone(load_config(config), mapping)  # the as-of read in the data's zone
    check_engine(engine)
    from pipelines.engines.spark_catalog import check_data_given, check_tables_option

    check_tables_option(catalog_tables, engine, mapping)
    check_data_given(data, catalog_tables)
    out = Path(out)
    # before the model or data are loaded
    from pipelines.output_checks import (
        REJECTS_MARKER,
        check_outputs,
        check_rejects_replaceable,
        check_table_suffix,
        rejects_outputs,
    )
    from pipelines.staging import stage_directory

    if engine == "pandas":
        check_table_suffix(out)
    as_of = parse_date(as_of_text, timezone=cfg.data.timezone)
    paths = output_paths(out)

    check_outputs(
        data,
        {f"{k} file": p for k, p in paths.items()},
        rejects_outputs(rejects),
        mapping,
        rejects_outputs(rejects),
    )
    check_rejects_replaceable(rejects)
    t_start = time.perf_counter()
    # issue 14: the data files are read on a background thread while MLflow is imported and the model loaded
    from pipelines.io import read_ahead

    ahead = read_ahead(Path(data)) if engine == "pandas" and mapping is None else None
    try:
        # a missing store stops a run that reads the registry, not one given a model's folder (`--model DIR`)
        reads = model_uri is None or model_uri.startswith(("models:/", "runs:/"))
        uri_tracking = configure_tracking(Path(cfg.mlflow.tracking_dir), tracking_uri, reading=reads)
        uri = model_uri or f"models:/{cfg.mlflow.registered_model}@champion"
        model = load_bundle(uri, cfg.mlflow.registered_model)  # one model, one version, whatever names it
        bundle: CustomerValueModel = model.bundle
        version = model.version or uri
        # every warning of the run, printed and listed in the manifest (`warnings`): what a batch job alerts on
        said: list[str] = []

        def warn(text: str) -> None:
            said.append(text)
            console.print(f"[bold yellow]warning:[/] {escape(text)}")

        # before the data is read: this needs only the model
        from pipelines.code_version import code_version
        from pipelines.engines.model_checks import check_model

        run_cfg = cfg
        checked = check_model(bundle, run_cfg, as_of, mapping, strict, warn, model, demo)
        cfg, cutoffs, diffs = checked.cfg, checked.cutoffs, checked.diffs
        from pipelines.history_store import Reader

        # who reads the history: the champion's run reads production's runs, another model's its own (`reads`)
        reader = Reader(str(version), checked.champion_version, model.run_id)
        if history is not None:  # a challenger's run never replaces production's in the history (round 29)
            from pipelines.history_store import check_keeps_production

            check_keeps_production(history, None, as_of.date().isoformat(), reader)
        setting_notes, code_note, stale_model = checked.setting_notes, checked.code_note, checked.stale_model
        # the rejects belong to this run's output set: staged at loading, published with the scores (`outputs.publish`)
        rejects_set = None if rejects is None else stage_directory(rejects, REJECTS_MARKER)
    except BaseException:
        if ahead is not None:
            ahead.close()
        raise
    loaded = staging = profile_inputs = base = early = None
    from features.table_rows import EmptySourceError

    try:
        try:
            if engine == "spark" and mapping is None:  # issue 11: read and validated by Spark
                from pipelines.engines.spark_input import load_and_report_spark

                loaded = load_and_report_spark(
                    None if data is None else Path(data),
                    cfg,
                    console,
                    spark_master,
                    rejects_set,
                    catalog_tables,
                )
            else:
                loaded = load_and_report(Path(data), mapping, cfg, console, rejects_set, ahead)
                ahead = None
        except EmptySourceError as exc:  # a header-only file of a table the model was trained with
            raise exc.for_model(recorded_inputs(bundle)) from None
        tables = loaded.tables
        # the columns that shape the features must be those the model was trained with (one rule: features.contract)
        recorded = recorded_inputs(bundle)
        # the Spark driver's tables come measured, their unread columns let go (`spark_input.accepted_tables`)
        present = getattr(tables, "model_inputs", None)
        present = model_inputs(tables) if present is None else present
        input_notes = check_model_inputs(recorded, tables, strict, present)
        as_trained = as_trained_plan(
            recorded, present
        )  # the model's features built from what it was trained on
        check_amount_scale(((bundle.contract_settings() or {}).get("data") or {}).get("amount_scale"), tables)
        check_categories(bundle.contract_.categories, tables)  # `B2C` now `Consumer`: most values unseen
        for note in input_notes:
            warn(f"{note} (--strict refuses)")
        first = check_after_first_order(tables, as_of, "score")
        trained = (bundle.contract_settings() or {}).get("data") or {}
        check_history_span(first, as_of, cfg.features.windows_days, trained.get("first_order"), cutoffs)
        # the Spark driver's tables come counted (`spark_tables.accepted_tables`)
        positive = getattr(tables, "positive_values", None)
        check_positive_values(
            trained.get("positive_shares"), positive_values(tables) if positive is None else positive
        )
        from pipelines.history_identity import model_base_note, signature_of

        signature = signature_of(tables, as_of)  # whose data: the model's company? (and the history's)
        other_company = model_base_note(trained.get("base_signature"), signature)
        if other_company and strict:
            raise StructuralError(f"{other_company} (--strict refuses)")
        if other_company:
            warn(f"{other_company} (scored anyway; --strict refuses)")
        from pipelines.data_age import check_data_age, latest_times, stopped_inputs

        times = latest_times(tables, as_of)  # each table's latest event before the as-of, found once
        stale = check_data_age(tables, as_of, cfg.labels, allow_stale, warn, times)  # said, or a stop
        later = warn_later_events(tables, as_of, console)
        accepted = {name: r.accepted for name, r in loaded.result.report.items()}
        # a table, or a model input of one, whose export stopped while the orders ran on: said, and listed
        # together (the pages and the history read them alike)
        stopped = stopped_inputs(
            tables,
            as_of,
            accepted,
            cfg.labels,
            cfg.scoring.stopped_table_rows,
            warn,
            later=later,
            times=times,
        )
        if later:
            said.append(later_events_text(later, as_of))
        chunk = chunk_customers or cfg.scoring.chunk_customers
        fingerprint = getattr(tables, "fingerprint", None)  # Spark: streamed at load
        if engine == "pandas":
            # issue 14: the tables are hashed on background threads while the statuses are computed; the hash
            # reads the frames as loaded (dropping the unread columns makes new frames; these stay until hashed)
            hashed = dict(tables)
            drop_unread_columns(tables)
            fingerprint, base = fingerprint_beside(
                hashed, lambda: customer_base(engine, tables, as_of, cfg, chunk, as_trained)
            )
            del hashed
        elif not fingerprint:
            fingerprint = data_fingerprint(tables)
        sources = source_rows(loaded.source_report, loaded.expected_rejects)  # the expected ones: notes
        identity = {
            "as_of": as_of.isoformat(),  # the model by version and run, not by URI (`@champion` or `/3`: one model)
            "model_version": version,
            "model_run_id": model.run_id,
            "data": fingerprint,
            "sources": sources,
            "config": output_digest(run_cfg),  # only the settings an output reads (`pipelines.run_identity`)
            "features": cfg.features.model_dump(mode="json"),
            "labels": cfg.labels.model_dump(mode="json"),
            # the code that computes the scores (features/, models/): other code, other statuses or features under
            # the same data. Not the engine: both engines write the same output set (tested), under one id
            "code": (code := code_version()),
        }
        from pipelines.history import runs_before

        earlier = runs_before(history, as_of.date().isoformat())  # stable tiers and bridge read them
        run_id = run_id_for(identity | ({"history_runs": earlier} if earlier else {}))
        # --- score history (issue 15): the previous run's model, when it changed, explains this run's data too ---
        bridge, bridge_info = bridge_model(
            history,
            as_of,
            version,
            uri,
            bundle,
            cfg,
            model.run_id,
            (present, as_trained),
            checked.champion_version,
        )
        # ---
        staging = staging_dir(out, run_id)
        staged = {k: staging / p.name for k, p in paths.items()}
        # --- ideal-customer profile (issue 12): its per-customer inputs, so `cvp profile` skips the data ---
        from pipelines.profile_inputs import ProfileInputsWriter

        profile_inputs = ProfileInputsWriter(
            staged["profile_inputs"], run_id, tables, run_cfg.profile.attributes, cfg.features
        )
        # ---
        # issue 12: the new customers' early-life features, built beside the whole-base finish (issue 14)
        from pipelines.newcomers import EarlyLife, score_newcomers

        early = EarlyLife(tables, as_of, bundle, getattr(base, "status", None), run_cfg, as_trained)
        # --- seasonal history (issue 16): say when the predicted totals are extrapolated without one ---
        from features.seasonal import seasonal_history_note

        seasonal = seasonal_history_note(
            tables["orders"]["ordered_at"],
            as_of,
            getattr(bundle, "training_cutoffs_", []),
            cfg.features.windows_days,
            cfg.features.seasonal_profile,
        )
        release = None
        if engine == "spark":
            # issue 11: what the finish reads of the tables taken first (the new customers' early-life features,
            # the seasonal note above, the managers: `score_tables`), so the driver lets its tables go before it
            # collects the compact scores
            early.hold()

            def release() -> None:
                tables.clear()
                release_memory()

        t0 = time.perf_counter()
        with _chunk_progress(console, show=engine != "spark") as tick:
            scores, info, spill = score_tables(
                engine,
                tables,
                as_of,
                bundle,
                version,
                cfg,
                chunk,
                staged["contributions"],
                spark_master if engine == "spark" else None,
                run_id,
                tick,
                bridge,
                staging / "reasons" if out.suffix != ".csv" else None,  # Parquet: a file or Spark's directory
                profile_inputs,
                base,
                early.start if engine == "pandas" else None,
                as_trained,
                release,
            )
        base = None
        if profile_inputs is not None:
            profile_inputs.close()
        if bridge_info is not None:
            info["bridge"] = bridge_info | info.get("bridge", {})
        seconds = time.perf_counter() - t0
        if info["came_back_after_cancelling"]:
            warn(
                f"{info['came_back_after_cancelling']:,} customers ordered again a day or more after their "
                "customers.churned_at: read as win-backs, not cancelled (status_reason 'came back after cancelling "
                "on ...'); export the current cancellation, empty for a customer who came back"
            )
        scores.insert(scores.columns.get_loc("model_version") + 1, "run_id", run_id)
        # --- score history (issue 15): reported tier under tiers.stability, raw tier beside it ---
        from pipelines.history import apply_stability, history_notes, runs_after
        from pipelines.history_store import HISTORY_RULE, stability_rules, tier_rules

        scores = apply_stability(scores, history, run_cfg, bundle.horizon_days, signature, reader, earlier)
        stability_runs = scores.attrs.get("stability_runs")  # the history's runs the reported tiers came from
        policy = {"run_policy": run_policy(run_cfg)}
        notes = history_notes(
            history,
            as_of.date().isoformat(),
            tier_rules(policy),
            run_cfg.tiers.stability.rule,
            stability_rules(policy),
            reader,
        )
        for note in notes:
            warn(note)
        # --- new customers (issue 12): status `new`, the registered lookalike model's score, provisional tier ---
        scores, newcomers = score_newcomers(scores, tables, as_of, bundle, run_cfg, console, early)
        # ---
        skipped = list(scores.attrs.get("skipped_rules", ()))
        inputs = rule_inputs(cfg.tiers, bundle.horizon_days)
        unfed = never_fed(
            skipped, scores.columns, inputs, feature_registry(cfg.features), recorded is not None
        )
        manifest = {
            "run_id": run_id,
            "as_of": as_of.date().isoformat(),
            "engine": engine,
            "model_uri": uri,
            "model_version": version,
            "model_run_id": model.run_id,
            "model_sample": model.training_sample,  # fitted on a sample (`--sample-customers`), scored on all
            **checked.registry_record(),  # champion_version, model_aliases: provisional scores (`cvp report`)
            "tracking_uri": shown_uri(uri_tracking),  # never a password
            "horizon_days": bundle.horizon_days,
            "customers_scored": int((scores["status"] == SCORED).sum()),
            "customers_total": len(scores),
            # the churn model's spread over the scored customers: flat, it tells nobody apart (`flat_churn`)
            "churn_spread": churn_spread(scores, bundle.horizon_days, cfg.scoring.min_churn_logit_spread),
            "statuses": {str(k): int(v) for k, v in scores["status"].value_counts().sort_index().items()},
            "tiers": {str(k): int(v) for k, v in scores["tier"].value_counts().sort_index().items()},
            "rows": {
                name: {"in": r.rows_in, "accepted": r.accepted, "rejected": r.rejected}
                for name, r in loaded.result.report.items()
            },
            "rejected_by_reason": {  # issue 11: per table, the rows rejected for each reason
                name: r.rejected_by_reason for name, r in loaded.result.report.items()
            },
            "source_rows": sources,
            # `--tables`: each table's catalog name (a file table's path is not recorded)
            **({"catalog_tables": {t: n.shown for t, n in catalog_tables.items()}} if catalog_tables else {}),
            "data_fingerprint": fingerprint,
            "base_signature": signature,  # `pipelines.history_identity`: compared with the history's runs
            "config_digest": identity["config"],  # the run id's: the settings an output reads, one rule
            "model_settings": bundle.contract_settings(),
            "settings_used": settings_used(cfg),
            "settings_differences": diffs,
            "settings_notes": setting_notes,
            "code_version": code,  # the code that computed these scores
            "code_difference": code_note,
            "input_column_differences": input_notes,
            "model_inputs_as_trained": as_trained.record()
            if as_trained
            else None,  # what the model's build left out
            "run_policy": policy["run_policy"],
            "history_notes": notes,
            "stability_runs": stability_runs,
            "history_rule": HISTORY_RULE,  # the rule `stability_runs` was read by (`check_stabilised_with`)
            # the history's later runs the scoring saw: the append names any added meanwhile (`unseen_later_runs`)
            "history_later": runs_after(history, as_of.date().isoformat(), reader)
            if history is not None
            else None,
            "skipped_rules": skipped,
            "skipped_rules_never_fed": unfed,  # a note: the data has not their inputs' table or column
            "stale_data": stale,
            "stopped_tables": stopped,  # a table (or a model input of one) whose export stopped, the orders running on
            "stale_model": stale_model,
            "model_season": checked.season,  # a sub-year model's totals corrected for another time of year
            "model_warnings": [
                *checked.model_warnings,
                *([other_company] if other_company else []),
            ],  # its training's warnings of how it scores
            "model_notes": list(checked.model_notes),  # the fit's other notes (in-sample interval, ...)
            "events_after_as_of": later,
            "chunk_customers": chunk,
            "seconds": round(seconds, 3),
            "total_seconds": round(time.perf_counter() - t_start, 3),
            **info,
            "lookalike": newcomers,  # issue 12: the lookalike model's facts and the new customers scored
            # issue 14: the reasons are stored as feature, value and effect; readers word them in this currency
            "reasons": {"stored": "compact", "currency": cfg.data.currency},
        }
        if profile_inputs is not None:  # issue 12: declared with the set, published with it
            manifest["profile_inputs"] = profile_inputs.info()
        manifest["seasonal_history"] = seasonal
        if manifest["seasonal_history"]:
            console.print(f"[bold yellow]note:[/] {escape(manifest['seasonal_history'])}")
        # ---
        # issue 14: nothing reads the input tables from here on; the write was the peak (both engines: the Spark
        # driver's tables and what it keeps per customer beside them, `SparkTables.clear`, issue 11)
        tables.clear()
        release_memory()
        from pipelines.engines.score_files import write_staged_scores

        reasons_at = write_staged_scores(
            engine,
            out,
            scores,
            staged["scores"],
            spill,
            bundle.output_columns,
            cfg.data.currency,
            manifest["timings"],
        )
        if not staged[
            "contributions"
        ].exists():  # nobody scored, or a model without an additive value booster
            empty = pd.DataFrame({"customer_id": pd.Series(dtype="str"), "run_id": pd.Series(dtype="str")})
            empty.to_parquet(staged["contributions"], index=False)
        closing = closing_warnings(manifest, skipped, cfg.scoring.psi_threshold, paths["manifest"].name)
        warned = [text for kind, text in closing if kind == "warning"]
        manifest["warnings"] = said + warned
        from pipelines.outputs import DIGESTS, set_digests

        manifest[DIGESTS] = set_digests(
            staged
        )  # each file's sha256 as published: its readers check it (round 31)
        write_json(manifest, staged["manifest"])
        # the other format's scores: the replaced set's removed with it, another's warned and left (round 27);
        # decided under the set's lock, once, its warning added to the manifest there (rounds 28, 29)
        earlier, left = publish(staged, paths, rejects_set)
        if left:
            manifest["warnings"].append(left)  # as published
            console.print(f"[bold yellow]warning:[/] {escape(left)}")
        if earlier is not None:
            console.print(f"note: {earlier} removed: the scores of the set it replaced", markup=False)
    except StructuralError:
        if rejects_set is not None and loaded is not None:
            from pipelines.engines.spark_catalog import tables_text

            # `cvp validate` on the run's engine, with its catalog tables
            note = rejects_note(data, mapping, rejects, tables_text(catalog_tables), engine)
            console.print(f"note: {note}", markup=False, highlight=False)
        raise
    finally:
        try:
            if ahead is not None:  # stopped before loading (the Spark engine's own read)
                ahead.close()
            if base is not None:  # stopped before the chunk loop: its builder too
                base.close()
            if early is not None:
                early.close()
            if profile_inputs is not None:
                profile_inputs.close()
        finally:  # a close that fails (a full disk) still leaves no staged file behind
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            if rejects_set is not None:
                rejects_set.discard()
    for kind, text in closing:
        console.print(f"[{'bold yellow' if kind == 'warning' else 'yellow'}]{kind}:[/] {escape(text)}")
    console.print(
        f"{score_summary(manifest['statuses'], manifest['tiers'])}; model v{version}, {seconds:.1f} s -> {out}",
        markup=False,
        highlight=False,
    )
    if spill is not None and spill.columns:
        return ScoreRun(
            scores, manifest, paths["contributions"], paths["scores"], tuple(spill.columns), reasons_at
        )
    return ScoreRun(scores, manifest, paths["contributions"])
