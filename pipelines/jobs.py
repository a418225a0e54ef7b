"""The jobs behind the CLI: generate, validate, features, demo. The only layer with I/O and the clock."""

from __future__ import annotations

import time
from pathlib import Path
from tempfile import TemporaryDirectory

import pandas as pd
from rich.console import Console
from rich.table import Table

from features.validation import StructuralError
from pipelines.config import AppConfig, load_config
from pipelines.io import LoadedData, check_writable, load_data, write_frame, write_json, write_rejects


def parse_date(text: str, what: str = "--as-of") -> pd.Timestamp:
    """A command-line date: ISO 8601 (YYYY-MM-DD, optionally with a time), between 1900 and 2099."""
    from features.validation import MAX_DATE, MIN_DATE

    try:
        ts = pd.Timestamp(str(text).strip())
    except (ValueError, TypeError, OverflowError) as exc:
        raise StructuralError(f"{what} {text!r} is not a date (use YYYY-MM-DD)") from exc
    if pd.isna(ts):
        raise StructuralError(f"{what} {text!r} is not a date (use YYYY-MM-DD)")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    if not MIN_DATE <= ts < MAX_DATE:
        raise StructuralError(f"{what} {text!r} is outside 1900-2099")
    return ts


def validation_table(loaded: LoadedData) -> Table:
    """The counts per table and source. Names and reasons may hold data values: escaped for rich markup."""
    from rich.markup import escape

    t = Table(title="Validation", show_lines=False)
    for col, just in (("table", "left"), ("rows in", "right"), ("accepted", "right"), ("rejected", "right")):
        t.add_column(col, justify=just)
    t.add_column("rejected by reason")
    for source, counts in loaded.source_report.items():
        reasons = {k: v for k, v in counts.items() if k != "rows_in" and not k.startswith("to ")}
        routed = sum(v for k, v in counts.items() if k.startswith("to "))
        t.add_row(
            f"[dim]source[/] {escape(source)}",
            f"{counts['rows_in']:,}",
            f"{routed:,}",
            f"{sum(reasons.values()):,}",
            escape("; ".join(f"{k}: {v:,}" for k, v in reasons.items())),
        )
    for name, r in loaded.result.report.items():
        reasons = escape("; ".join(f"{k}: {v:,}" for k, v in r.rejected_by_reason.items()))
        t.add_row(name, f"{r.rows_in:,}", f"{r.accepted:,}", f"{r.rejected:,}", reasons)
    return t


def ignored_columns_notes(loaded: LoadedData) -> list[str]:
    """One line per table with columns outside the contract, each with its "did you mean" if it has one."""
    out = []
    for name, r in loaded.result.report.items():
        if r.ignored_columns:
            cols = ", ".join(
                f"{c} (did you mean {r.did_you_mean[c]}?)" if c in r.did_you_mean else c
                for c in r.ignored_columns
            )
            out.append(f"{name}: columns outside the contract, not used: {cols}")
    return out


def load_configured(data: Path, mapping: Path | None, cfg: AppConfig) -> LoadedData:
    """Load + validate with every input setting of the config's `data:` section (one place for all readers)."""
    d = cfg.data
    return load_data(data, mapping, d.timezone, d.date_formats, d.max_values)


def load_and_report(
    data: Path, mapping: Path | None, cfg: AppConfig, console: Console, rejects: Path | None = None
) -> LoadedData:
    """Load + validate once; print the counts; write rejects if asked. Every later step reads what this returns."""
    loaded = load_configured(data, mapping, cfg)
    console.print(validation_table(loaded))
    for line in ignored_columns_notes(loaded) + loaded.notes:
        console.print(f"note: {line}", markup=False, highlight=False)
    total = loaded.result.rows_rejected + sum(
        v
        for c in loaded.source_report.values()
        for k, v in c.items()
        if k != "rows_in" and not k.startswith("to ")
    )
    if rejects is not None:
        written = write_rejects(loaded, rejects)
        if written:
            console.print(
                f"{total:,} rejected rows written to {rejects}/ ({', '.join(p.name for p in written.values())})"
            )
        else:
            console.print("no rejected rows")
    elif total:
        console.print(f"{total:,} rows rejected; rerun with --rejects DIR to see each row and its reason")
    return loaded


def run_generate(
    out: Path, customers: int, start: str, end: str, seed: int, fmt: str, console: Console
) -> None:
    from pipelines.demo import generate_company, write_company

    if fmt not in ("parquet", "csv"):
        raise StructuralError(f"--format must be parquet or csv, not {fmt!r}")
    first, last = parse_date(start, "--start"), parse_date(end, "--end")
    if first >= last:
        raise StructuralError(f"--start {first.date()} must be before --end {last.date()}")
    check_writable(Path(out) / "orders.csv", "demo company directory")
    t0 = time.perf_counter()
    company = generate_company(customers, first, last, seed)
    paths = write_company(company, Path(out), fmt=fmt)
    console.print(
        f"demo company of {customers:,} customers written to {out} in {time.perf_counter() - t0:.1f} s"
    )
    for name, path in paths.items():
        if name in company.tables:
            console.print(f"  {name:<17} {len(company.tables[name]):>10,} rows  {path.name}")


def run_validate(
    data: Path, mapping: Path | None, rejects: Path | None, config: Path | None, console: Console
) -> None:
    cfg = load_config(config)
    if rejects is not None:
        check_writable(Path(rejects) / "orders.csv", "rejects directory")
    load_and_report(data, mapping, cfg, console, rejects)


def run_features(
    data: Path, as_of: str, out: Path, mapping: Path | None, config: Path | None, console: Console
) -> None:
    from features import build_feature_table_with_manifest

    cfg = load_config(config)
    cutoff = parse_date(as_of)
    check_writable(Path(out), "feature table")
    loaded = load_and_report(data, mapping, cfg, console)
    from pipelines.train import check_after_first_order

    check_after_first_order(loaded.tables, cutoff, "compute")
    t0 = time.perf_counter()
    table, manifest = build_feature_table_with_manifest(loaded.tables, cutoff, cfg.features)
    seconds = time.perf_counter() - t0
    out = Path(out)
    write_frame(table, out, index=True)
    info = manifest.to_dict() | {"config_digest": cfg.digest(), "seconds": round(seconds, 3)}
    write_json(info, out.with_suffix(".manifest.json"))
    console.print(
        f"{len(table):,} customers x {table.shape[1]} features as of {cutoff.date()} -> {out} "
        f"({seconds:.1f} s); groups: {', '.join(manifest.groups_present)}"
    )
    if manifest.groups_absent:
        console.print(
            "absent groups: " + "; ".join(f"{g} ({why})" for g, why in manifest.groups_absent.items())
        )


def run_demo(out: Path, config: Path | None, console: Console, tracking_uri: str | None = None) -> None:
    """The whole product on the built-in demo company: generate, validate, train, score, report."""
    from pipelines.score import run_score
    from pipelines.train import default_as_of, train_and_register

    cfg = load_config(config)
    d = cfg.demo
    out = Path(out)
    data_dir = out / "data"
    console.rule("1. the demo company")
    run_generate(data_dir, d.customers, d.start, d.end, d.seed, "parquet", console)
    console.rule("2. validation")
    loaded = load_and_report(data_dir, None, cfg, console, rejects=out / "rejects")
    as_of = default_as_of(loaded.tables)
    console.rule(f"3. training and backtest (as of {as_of.date()}, horizon {cfg.labels.horizon_days} days)")
    trained = train_and_register(
        loaded.tables, cfg, as_of, console, out_dir=out / "backtest", tracking_uri=tracking_uri
    )
    console.rule("4. scoring the whole base")
    scores_path = out / "scores.parquet"
    run_score(
        data_dir,
        as_of.date().isoformat(),
        scores_path,
        f"models:/{cfg.mlflow.registered_model}/{trained.version}",
        "pandas",
        None,
        None,
        config,
        console,
        tracking_uri=tracking_uri,
    )
    console.rule("5. reports")
    index = run_report(scores_path, out / "reports", data_dir, None, config, console, tracking_uri)
    managers = sorted((out / "reports").glob("manager-*.html"))
    console.print(f"\nteam report:     {index.resolve()}")
    console.print(
        f"manager reports: {len(managers)} pages, e.g. {managers[0].resolve() if managers else '-'}"
    )
    console.print(
        f"models:          mlflow ui --backend-store-uri sqlite:///{Path(cfg.mlflow.tracking_dir).resolve()}/mlflow.db"
    )


def model_card(
    version: str,
    cfg: AppConfig,
    horizon_days: int,
    fingerprint: dict | None = None,
    run_id: str | None = None,
    tracking_uri: str | None = None,
) -> dict:
    """What the team page says about the model: version, training run, backtest metrics, data fingerprint.

    Read from the model's own training run (`run_id`, recorded in the scores manifest) in the tracking store
    the scoring run used (`tracking_uri`, also recorded), not from a version number looked up in whatever store
    the working directory has. Without a run id (scores from an older `cvp score`) the card says so.
    """
    import json

    import mlflow

    from pipelines.tracking import configure_tracking

    configure_tracking(Path(cfg.mlflow.tracking_dir), tracking_uri)
    card: dict = {
        "model_name": cfg.mlflow.registered_model,
        "model_version": version,
        "horizon_days": horizon_days,
        "currency": cfg.data.currency,
        "backtest": pd.DataFrame(columns=["fold", "model", "metric", "value"]),
        "data_fingerprint": fingerprint or {},
        "feature_manifest": {},
    }
    if not run_id:
        card["notes"] = "the scores name no training run: backtest artefacts unavailable"
        return card
    client = mlflow.MlflowClient()
    try:
        run = client.get_run(run_id)
    except Exception as exc:  # the store at hand does not hold the run: the card shows what the scores carry
        card["notes"] = (
            f"training run {run_id} not found in {mlflow.get_tracking_uri()}: {type(exc).__name__}"
        )
        return card
    card["trained_at"] = pd.Timestamp(run.info.start_time, unit="ms").strftime("%Y-%m-%d %H:%M UTC")
    card["run_id"] = run_id
    with TemporaryDirectory() as tmp:
        try:
            p = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path="backtest/backtest_metrics.csv", dst_path=tmp
            )
            card["backtest"] = pd.read_csv(p)
            m = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path="feature_manifest.json", dst_path=tmp
            )
            man = json.loads(Path(m).read_text())
            card["feature_manifest"] = {
                "groups_present": man.get("groups_present", []),
                "groups_absent": man.get("groups_absent", {}),
            }
        except Exception as exc:  # the card stays usable without them; say so
            card["notes"] = f"backtest artefacts unavailable: {exc}"
    return card


def run_report(
    scores_path: Path,
    out: Path,
    data: Path | None,
    mapping: Path | None,
    config: Path | None,
    console: Console,
    tracking_uri: str | None = None,
) -> Path:
    """Team page + one page per account manager from one scoring run's output set (scores, contributions,
    manifest; `pipelines.outputs.read_output_set` refuses files of different runs and non-scores files)."""
    from features import feature_registry
    from pipelines.io import check_writable
    from pipelines.outputs import read_output_set
    from pipelines.reports import build_reports

    cfg = load_config(config)
    check_writable(Path(out), "report directory")  # its parent: the directory itself is replaced whole
    run = read_output_set(Path(scores_path))
    scores, contrib, manifest = run.scores, run.contributions, run.manifest
    version = str(manifest.get("model_version", scores["model_version"].iloc[0] if len(scores) else "?"))
    card = model_card(
        version,
        cfg,
        int(manifest.get("horizon_days", cfg.labels.horizon_days)),
        manifest.get("data_fingerprint"),
        run_id=manifest.get("model_run_id"),
        tracking_uri=tracking_uri or manifest.get("tracking_uri"),
    )
    customers = managers = None
    if data is not None:
        loaded = load_configured(data, mapping, cfg)
        customers = loaded.tables.get("customers")
        managers = loaded.tables.get("account_managers")
    report_cfg = cfg.report.model_copy(update={"currency": cfg.data.currency})
    t0 = time.perf_counter()
    paths = build_reports(
        scores, contrib, card, out, report_cfg, feature_registry(cfg.features), customers, managers
    )
    n_pages = len(paths.managers) + (1 if paths.unassigned else 0)
    console.print(
        f"reports for {len(scores):,} customers in {time.perf_counter() - t0:.1f} s: {paths.index} "
        f"and {n_pages} manager pages in {Path(out)}/"
    )
    return paths.index
