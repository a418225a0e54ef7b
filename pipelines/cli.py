"""The `cvp` command line. Thin: parses flags, calls the jobs in `pipelines/`, turns known errors into messages."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from features.errors import StructuralError, printable
from pipelines.cli_errors import (
    _DATA_NOTE,
    _error_log,
    _may_quote_data,
    _where,
    disk_full,
    mask_passwords,
    typed_name,
)
from pipelines.cli_options import (
    AsOfOpt,
    ConfigOpt,
    DataOpt,
    EngineOpt,
    HorizonOpt,
    MappingOpt,
    ModelEngineOpt,
    SampleOpt,
    SparkDataOpt,
    SparkMasterOpt,
    TablesOpt,
    TrackingOpt,
    path_option,
)

app = typer.Typer(
    name="cvp",
    help="Customer value predictor: what each customer is worth, how likely they are to leave, and why.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(stderr=False, highlight=False)
err = Console(stderr=True, highlight=False)


def _catalog_tables(texts: list[str] | None, engine: str, mapping: Path | None, data: Path | None) -> Any:
    from pipelines.engines.spark_catalog import tables_option  # pure: no Spark

    return tables_option(texts, engine, mapping, data)


_VERBOSE = {"on": False}


@app.callback()
def _main(
    verbose: Annotated[
        bool,
        typer.Option("--verbose", help="Show the full traceback of an unexpected error (or CVP_DEBUG=1)."),
    ] = False,
) -> None:
    _VERBOSE["on"] = verbose
    mask_passwords()


def _friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Known input problems end the run with a clear message and exit code 2, not a traceback. Unexpected
    errors print one line and the path of a log file holding the traceback, exit code 1 (the traceback itself
    with `--verbose` or CVP_DEBUG=1). Messages are printed without rich markup: data values inside them
    (e.g. `[bold]x[/]`) are shown as written. An unexpected error's message is shown only when it cannot quote
    the data (`_may_quote_data`): the line names the command, table, column and code line instead."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except StructuralError as exc:
            err.print("error:", style="bold red", end=" ")
            err.print(str(exc), markup=False, soft_wrap=True)
            sys.exit(2)
        except (typer.Exit, typer.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            from pipelines.store_errors import store_failure
            from pipelines.tracking_store import server_failure

            command = typed_name(fn.__name__)  # `models promote`, as the user types it
            known = server_failure(exc) or store_failure(exc)  # a tracking server failing, the store locked
            full = None if known is not None else disk_full(command, kwargs, exc)  # a disk full, a quota
            if known is not None or full is not None:
                err.print("error:", style="bold red", end=" ")
                err.print(full or str(known), markup=False, soft_wrap=True)
                sys.exit(2)
            if _VERBOSE["on"] or os.environ.get("CVP_DEBUG", "") not in ("", "0"):
                err.print(f"note: the traceback below: {_DATA_NOTE}", markup=False, soft_wrap=True)
                raise
            log = _error_log(exc)
            if _may_quote_data(exc):  # was: its first line, `could not convert string to float: 'ann@...'`
                what = f"{_where(command, exc)} (its message is in the log: {_DATA_NOTE})"
            else:  # escaped like a StructuralError's message: it may name a file
                what = printable((str(exc).strip().splitlines() or [""])[0][:300])
                what = f"{what} ({_where(command, exc)})"
            err.print("error:", style="bold red", end=" ")
            err.print(
                f"unexpected {type(exc).__name__}: {what}\n"
                + (f"the full traceback is in {log}" if log else "the traceback could not be saved")
                + " (rerun with --verbose or CVP_DEBUG=1 to see it here)",
                markup=False,
                soft_wrap=True,
            )
            sys.exit(1)

    return wrapper


#: The largest demo company: measured peak memory of `cvp generate` is 0.24 GB at 10,000 customers and 0.6 GB at
#: 100,000 (about 4 KB per customer), so 1,000,000 customers need about 4-6 GB. Was: `--customers 10000000000000`
#: exit 1 `unexpected MemoryError`; now exit 2 naming the flag and this bound.
MAX_DEMO_CUSTOMERS = 1_000_000


@app.command()
@_friendly
def generate(
    out: Annotated[Path, path_option("--out", help="Output directory.")],
    customers: Annotated[
        int, typer.Option("--customers", min=1, max=MAX_DEMO_CUSTOMERS, help="At most 1,000,000 (memory).")
    ] = 3000,
    start: Annotated[str, typer.Option("--start")] = "2021-01-01",
    end: Annotated[str, typer.Option("--end")] = "2025-12-31",
    seed: Annotated[int, typer.Option("--seed", min=0)] = 7,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv")] = "parquet",
) -> None:
    """Generate the synthetic demo company (all contract tables, plus the latent truth in _truth/)."""
    from pipelines.jobs import run_generate

    run_generate(out, customers, start, end, seed, fmt, console)


@app.command()
@_friendly
def validate(
    data: SparkDataOpt = None,
    mapping: MappingOpt = None,
    rejects: Annotated[
        Path | None,
        path_option("--rejects", help="Where to write <table>.csv rejects (spark: <table>/ parts)."),
    ] = None,
    config: ConfigOpt = None,
    engine: EngineOpt = "pandas",
    spark_master: SparkMasterOpt = None,
    tables: TablesOpt = None,
) -> None:
    """Check a data directory against the contract; write row-level rejects with a reason per row."""
    from pipelines.jobs import run_validate

    # `--data` required unless `--tables` names the orders
    catalog = _catalog_tables(tables, engine, mapping, data)
    run_validate(data, mapping, rejects, config, console, engine, spark_master, catalog)


@app.command()
@_friendly
def features(
    data: DataOpt,
    as_of: Annotated[str, typer.Option("--as-of", help="Cutoff: only events strictly before it are used.")],
    out: Annotated[Path, path_option("--out", help="Feature table (.parquet or .csv); manifest beside it.")],
    mapping: MappingOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Build the point-in-time feature table as of a date, with its manifest."""
    from pipelines.jobs import run_features

    run_features(data, as_of, out, mapping, config, console)


def _load_modelling(
    data: Path | None,
    mapping: Path | None,
    config: Path | None,
    config_overrides: dict[str, Any],
    as_of: str | None,
    what: str,
    sample_customers: int | None,
    engine: str,
    spark_master: str | None,
    tables: Any = None,
) -> tuple[Any, Any, Any, Any, Any]:
    """Config, tables, as-of, the training sample (None: every customer) and the input rows' counts
    (`pipelines.rejected_rows.rows_summary`) for train and backtest."""
    from pipelines.train import load_sampled

    return load_sampled(
        data,
        mapping,
        config,
        config_overrides,
        as_of,
        console,
        what,
        sample_customers,
        engine,
        spark_master,
        tables,
    )


@app.command()
@_friendly
def backtest(
    data: SparkDataOpt = None,
    as_of: AsOfOpt = None,
    folds: Annotated[int | None, typer.Option("--folds", min=1, help="Rolling-origin folds.")] = None,
    horizon_days: HorizonOpt = None,
    out: Annotated[Path, path_option("--out", help="Directory for metrics and plots.")] = Path(
        "out/backtest"
    ),
    mapping: MappingOpt = None,
    config: ConfigOpt = None,
    sample_customers: SampleOpt = None,
    engine: ModelEngineOpt = "pandas",
    spark_master: SparkMasterOpt = None,
    tables: TablesOpt = None,
) -> None:
    """Rolling-origin backtest of the models against persistence, past spend rate and BG/NBD + Gamma-Gamma."""
    from pipelines.output_checks import BACKTEST_MARKER, check_outputs
    from pipelines.staging import check_replaceable
    from pipelines.train import overrides, run_backtest_only

    catalog = _catalog_tables(tables, engine, mapping, data)
    check_outputs(data, {}, {"backtest directory": Path(out)}, mapping)
    check_replaceable(Path(out), BACKTEST_MARKER)  # replaced whole: never a directory of the user's files

    cfg, tables, cutoff, sample, rows = _load_modelling(
        data,
        mapping,
        config,
        overrides(horizon_days, folds),
        as_of,
        "backtest",
        sample_customers,
        engine,
        spark_master,
        catalog,
    )
    run_backtest_only(tables, cfg, cutoff, out, console, sample, rows)


@app.command()
@_friendly
def train(
    data: SparkDataOpt = None,
    as_of: AsOfOpt = None,
    horizon_days: HorizonOpt = None,
    promote: Annotated[
        bool | None, typer.Option("--promote/--no-promote", help="Override the champion decision.")
    ] = None,
    mapping: MappingOpt = None,
    config: ConfigOpt = None,
    tracking_uri: TrackingOpt = None,
    sample_customers: SampleOpt = None,
    engine: ModelEngineOpt = "pandas",
    spark_master: SparkMasterOpt = None,
    tables: TablesOpt = None,
) -> None:
    """Fit both models, backtest against the champion and baselines, log to MLflow, register, promote."""
    from pipelines.loading import mapping_digest
    from pipelines.train import overrides, train_and_register

    catalog = _catalog_tables(tables, engine, mapping, data)
    cfg, tables, cutoff, sample, rows = _load_modelling(
        data,
        mapping,
        config,
        overrides(horizon_days),
        as_of,
        "train on",
        sample_customers,
        engine,
        spark_master,
        catalog,
    )
    train_and_register(
        tables,
        cfg,
        cutoff,
        console,
        promote,
        mapping_sha256=mapping_digest(mapping),
        tracking_uri=tracking_uri,
        sample=sample,
        rows=rows,
    )


HistoryOpt = Annotated[
    Path | None,
    path_option("--history", help="Score history directory (one as_of=YYYY-MM-DD/ partition per run)."),
]


@app.command()
@_friendly
def score(
    as_of: Annotated[
        str, typer.Option("--as-of", help="Score as of this day, YYYY-MM-DD (events before it only).")
    ],
    out: Annotated[Path, path_option("--out", help="Scores file (.parquet or .csv); a directory for spark.")],
    model: Annotated[
        str | None, typer.Option("--model", help="Model URI (default models:/customer-value@champion).")
    ] = None,
    engine: EngineOpt = "pandas",
    chunk_customers: Annotated[
        int | None, typer.Option("--chunk-customers", min=1, help="Customers per chunk (memory bound).")
    ] = None,
    spark_master: SparkMasterOpt = None,
    mapping: MappingOpt = None,
    config: ConfigOpt = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Refuse when the feature/label settings or mapping differ from the model's."
        ),
    ] = False,
    allow_stale: Annotated[
        bool,
        typer.Option(
            "--allow-stale",
            help="Score even when --as-of is more than labels.max_lapse_days after the last order.",
        ),
    ] = False,
    tracking_uri: TrackingOpt = None,
    history: HistoryOpt = None,
    rejects: Annotated[
        Path | None,
        path_option("--rejects", help="Where to write the rejected rows (spark: <rejects>/<table>/ parts)."),
    ] = None,
    data: SparkDataOpt = None,
    tables: TablesOpt = None,
) -> None:
    """Score every customer: value, interval, churn risk, tier, rating, flags, top reasons; drift check."""
    from pipelines.config import load_config
    from pipelines.engines.run import run_score
    from pipelines.output_checks import (
        HISTORY_MARKER,
        check_outputs,
        check_rejects_replaceable,
        rejects_outputs,
    )
    from pipelines.outputs import output_paths
    from pipelines.staging import removed_if_stopped

    # an unreadable --config stops before --out or --history is created (review of round 30, was: both left)
    load_config(config)
    catalog = _catalog_tables(tables, engine, mapping, data)
    # what the checks below make for the outputs is removed again if the run stops (round 31)
    made = [Path(out).parent, *([history] if history else []), *([rejects] if rejects else [])]
    with removed_if_stopped(made) as ours:
        check_outputs(  # before the history is created, the model or the data read
            data,
            {f"{k} file": p for k, p in output_paths(out).items()},
            rejects_outputs(rejects),
            mapping,
            ({"score history": history} if history else {}) | rejects_outputs(rejects),
        )
        check_rejects_replaceable(rejects)
        if history is not None:
            from pipelines.history_store import open_history

            marker = Path(history) / HISTORY_MARKER
            fresh = not marker.is_file()
            open_history(history, create=True)  # a foreign directory is refused before anything is loaded
            if fresh:  # this run marked it: its marker goes if the run stops, never another run's
                ours.append(marker)
        result = run_score(
            data,
            as_of,
            out,
            model,
            engine,
            chunk_customers,
            mapping,
            config,
            console,
            spark_master,
            strict=strict,
            allow_stale=allow_stale,
            tracking_uri=tracking_uri,
            history=history,
            rejects=rejects,
            catalog_tables=catalog,
        )
    if history is not None and result.contributions_path is not None:
        from pipelines.history_append import append_run

        try:
            target = append_run(history, result.scores, result.contributions_path, result.manifest)
        except OSError as exc:  # a full disk: the message says the scores were published (`disk_full`)
            exc.cvp_published = str(out)  # type: ignore[attr-defined]
            raise
        except StructuralError as exc:  # another run appended meanwhile (`check_stabilised_with`)
            raise StructuralError(f"{exc} (the scores were published at {out}, not added)") from exc
        console.print(f"added to the score history: {target}", markup=False, highlight=False)
        from pipelines.history import unseen_later_runs

        for note in unseen_later_runs(history, result.manifest):  # a later run appended while this one scored
            console.print(f"warning: {note}", markup=False, highlight=False)


@app.command()
@_friendly
def report(
    scores: Annotated[Path, path_option("--scores", help="Scores file written by `cvp score`.")],
    out: Annotated[Path, path_option("--out", help="Directory for index.html and manager pages.")],
    data: Annotated[
        Path | None, path_option("--data", help="Data directory, for customer and manager names.")
    ] = None,
    mapping: MappingOpt = None,
    config: ConfigOpt = None,
    tracking_uri: TrackingOpt = None,
    history: HistoryOpt = None,
    profile: Annotated[
        Path | None,
        path_option(
            "--profile", help="Directory written by `cvp profile`: adds the profile and payback section."
        ),
    ] = None,
) -> None:
    """HTML reports: a team page and one page per account manager with only their customers."""
    from pipelines.jobs import run_report

    run_report(
        scores, out, data, mapping, config, console, tracking_uri, history=history, profile_dir=profile
    )


@app.command("history")
@_friendly
def history_(
    history: Annotated[
        Path, path_option("--history", help="Score history directory written by `cvp score`.")
    ],
) -> None:
    """List the runs of a score history: as-of, model version, horizon, counts by tier and status."""
    from pipelines.history import run_history

    run_history(history, console)


models_app = typer.Typer(help="The registered model versions: compare them, promote one without retraining.")
app.add_typer(models_app, name="models")


@models_app.callback(invoke_without_command=True)
@_friendly
def models(
    ctx: typer.Context,
    config: ConfigOpt = None,
    tracking_uri: TrackingOpt = None,
    metrics: Annotated[
        str,
        typer.Option("--metrics", help="primary (models.primary_metrics), all, or a comma list of metrics."),
    ] = "primary",
    as_json: Annotated[
        bool, typer.Option("--json", help="Every version with every backtest mean of its training, as JSON.")
    ] = False,
) -> None:
    """List the registered versions: training run, as-of, horizon, backtest metrics vs the champion, alias."""
    if ctx.invoked_subcommand is None:
        from pipelines.registry import run_models

        run_models(config, tracking_uri, console, metrics, as_json, notes=err if as_json else None)


@models_app.command("promote")
@_friendly
def models_promote(
    version: Annotated[str, typer.Argument(help="The registered version to make champion.")],
    config: ConfigOpt = None,
    tracking_uri: TrackingOpt = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Promote a version every `cvp score` of this configuration would refuse."
        ),
    ] = False,
) -> None:
    """Move `@champion` to a registered version (the promotion record `cvp train --promote` writes)."""
    from pipelines.registry import promote_version

    promote_version(version, config, tracking_uri, console, force)


@app.command()
@_friendly
def profile(
    scores: Annotated[Path, path_option("--scores", help="Scores file written by `cvp score`.")],
    out: Annotated[Path, path_option("--out", help="Directory for the profile tables and profile.html.")],
    data: Annotated[
        Path | None,
        path_option(
            "--data",
            help="The data directory that run scored: needed only for a run without its profile inputs file "
            "(the Spark engine, older runs).",
        ),
    ] = None,
    mapping: MappingOpt = None,
    config: ConfigOpt = None,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Ideal-customer profile (who great customers are, how they behave, lookalikes) and acquisition payback."""
    from pipelines.profile import run_profile

    run_profile(scores, data, out, mapping, config, console, tracking_uri)


@app.command()
@_friendly
def demo(
    out: Annotated[Path, path_option("--out", help="Working directory for the demo.")] = Path("demo"),
    config: ConfigOpt = None,
    tracking_uri: TrackingOpt = None,
) -> None:
    """Run the whole product on the built-in demo company."""
    from pipelines.jobs import run_demo

    run_demo(out, config, console, tracking_uri)


if __name__ == "__main__":  # pragma: no cover
    app()
