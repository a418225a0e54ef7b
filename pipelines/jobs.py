"""The jobs behind the CLI: generate, validate, features, report, demo: thin wiring of the rooms below.

`cvp train`, `cvp backtest` and `cvp score` call their rooms directly (`pipelines.train`,
`pipelines.engines.run`); the demo chains them. Nothing below this module imports it or the CLI.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from features.validation import StructuralError
from pipelines.cli_options import check_engine
from pipelines.config import load_config
from pipelines.given_dates import DEMO_DAY
from pipelines.io import write_frame, write_json
from pipelines.loading import (
    check_after_first_order,
    default_as_of,
    load_and_report,
    load_configured,
    parse_date,
)
from pipelines.output_checks import (
    BACKTEST_MARKER,
    REJECTS_MARKER,
    check_demo_directory,
    check_outputs,
    check_rejects_replaceable,
    check_table_suffix,
    rejects_outputs,
)
from pipelines.run_notes import run_card_notes
from pipelines.staging import Twin, atomic_files

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.config import AppConfig


def run_generate(
    out: Path, customers: int, start: str, end: str, seed: int, fmt: str, console: Console
) -> None:
    from pipelines.demo import generate_company, write_company

    if fmt not in ("parquet", "csv"):
        raise StructuralError(f"--format must be parquet or csv, not {fmt!r}")
    first, last = parse_date(start, "--start", day_rule=DEMO_DAY), parse_date(end, "--end", day_rule=DEMO_DAY)
    if first >= last:
        raise StructuralError(f"--start {first.date()} must be before --end {last.date()}")
    check_outputs(None, {}, {"demo company directory": Path(out)})
    stale = check_demo_directory(Path(out), f".{fmt}")  # an earlier demo company in the other format
    t0 = time.perf_counter()
    company = generate_company(customers, first, last, seed)
    paths = write_company(company, Path(out), fmt=fmt, remove=stale)
    # the customers table also holds the recent sign-ups without an order (`pipelines.demo.acquisition`): said, so
    # its row count is not a surprise (was "500 customers" above "customers 510 rows")
    signups = len(company.tables["customers"]) - customers
    console.print(
        f"demo company of {customers:,} customers"
        + (f" and {signups:,} recent sign-ups without an order yet" if signups > 0 else "")
        + f" written to {out} in {time.perf_counter() - t0:.1f} s",
        markup=False,  # paths are printed as written (`--out "demo[red]"`: was shown as `demo`)
        highlight=False,
    )
    for name in company.tables:
        where = paths[name].name if name in paths else "(no file: none drawn)"
        console.print(f"  {name:<17} {len(company.tables[name]):>10,} rows  {where}")


def run_validate(
    data: Path | None,
    mapping: Path | None,
    rejects: Path | None,
    config: Path | None,
    console: Console,
    engine: str = "pandas",
    spark_master: str | None = None,
    tables: Any = None,
) -> None:
    """`engine` spark (issue 11): read and validated by Spark (`pipelines.engines.spark_validate`), `tables` its
    catalog tables (`spark_catalog.tables_option`, checked by the command line); with `mapping`, by the pandas
    loader on the driver, as `cvp score --engine spark --mapping` loads."""
    check_engine(engine)
    cfg = load_config(config)
    if rejects is not None:
        check_outputs(data, {}, rejects_outputs(rejects), mapping, rejects_outputs(rejects))
        check_rejects_replaceable(rejects)
    from pipelines.rejected_rows import VALIDATE

    if engine == "spark" and mapping is None:
        from pipelines.engines.spark_validate import validate_on_spark

        validate_on_spark(data, cfg, console, spark_master, rejects, tables, say_export_stops)
        return
    assert data is not None  # `spark_catalog.check_data_given`: only catalog tables may leave it out
    loaded = load_and_report(data, mapping, cfg, console, rejects, used_by=VALIDATE)
    say_export_stops(loaded.tables, cfg, console)


def say_export_stops(tables: dict[str, pd.DataFrame], cfg: AppConfig, console: Console) -> list[str]:
    """`cvp validate`'s warnings of a table (or a model input of one) whose export stopped while the orders ran on,
    judged as of the day after the last order, the as-of `cvp score` and `cvp train` default to
    (`pipelines.training_stops.export_stops`: `pipelines.data_age.stopped_inputs`, the one rule those commands
    apply; round 35, was: validate said nothing of tickets ending a year before the orders, exit 0, and only the
    later commands warned). Data whose as-of cannot be defaulted (no dated order, an order after today) is
    judged by the command that gets an `--as-of`."""
    from rich.markup import escape

    from pipelines.training_stops import export_stops

    try:
        as_of = default_as_of(tables)
    except StructuralError:
        return []

    def warn(note: str) -> None:
        console.print(f"[bold yellow]warning:[/] {escape(note)}")

    return export_stops(tables, as_of, cfg, "score", warn)


def run_features(
    data: Path, as_of: str, out: Path, mapping: Path | None, config: Path | None, console: Console
) -> None:
    from rich.markup import escape

    from features import build_feature_table_with_manifest

    cfg = load_config(config)
    cutoff = parse_date(as_of, timezone=cfg.data.timezone)
    out = Path(out)
    check_table_suffix(out)
    check_outputs(
        data, {"feature table": out, "feature manifest": out.with_suffix(".manifest.json")}, {}, mapping
    )
    from pipelines.rejected_rows import FEATURES, rows_summary, said

    loaded = load_and_report(data, mapping, cfg, console, used_by=FEATURES)
    check_after_first_order(loaded.tables, cutoff, "compute")
    t0 = time.perf_counter()
    table, manifest = build_feature_table_with_manifest(loaded.tables, cutoff, cfg.features)
    seconds = time.perf_counter() - t0
    out = Path(out)
    from pipelines.run_identity import FEATURE_TABLE_SETTINGS, output_digest

    # the digest of the settings the table reads, as the scoring manifest's (was: the whole configuration's)
    digest = output_digest(cfg, FEATURE_TABLE_SETTINGS)
    info = manifest.to_dict() | {"config_digest": digest, "seconds": round(seconds, 3)}
    info["input_rows"] = rows_summary(loaded)  # what the table was built without, as a run records
    # the table and its manifest are published together (was: written one by one, a kill between them leaving
    # the new table beside the previous run's manifest)
    targets = {"table": out, "manifest": out.with_suffix(".manifest.json")}
    # which table this manifest is of: a later run in the other format proves it by it
    info["table"] = out.name

    # an earlier table of the other format (`feat.parquet` beside `--out feat.csv`) shared this manifest's name:
    # removed when the replaced manifest names it, else left and said (round 27 review)
    def ours(other: Path, recorded: dict) -> bool:  # the replaced manifest names that table
        return recorded.get("table") == other.name

    # every warning the command printed, as a scoring manifest lists them (round 28, was: the rows rejected at
    # loading printed `warning:` and the manifest's `warnings` absent, or holding the left table's alone)
    info["warnings"] = [text for kind, text in said(info["input_rows"], FEATURES) if kind == "warning"]
    # decided under the set's lock, once; its warning added to the manifest there (round 29)
    twin = Twin(ours)
    with atomic_files(targets, f"the feature table {out}", twin=twin) as staged:
        write_frame(table, staged["table"], index=True)
        write_json(info, staged["manifest"])
    if twin.left_now:  # the manifest's: the console and the manifest say one thing
        console.print(f"[bold yellow]warning:[/] {escape(twin.left_now)}")
    if (earlier := twin.removed) is not None:
        console.print(f"note: {earlier} removed: the table of the manifest it replaced", markup=False)
    console.print(
        f"{len(table):,} customers x {table.shape[1]} features as of {cutoff.date()} -> {out} "
        f"({seconds:.1f} s); groups: {', '.join(_group_words(g) for g in manifest.groups_present)}",
        markup=False,  # the path as written (was: `[red]` in it taken as a colour)
        highlight=False,
    )
    if manifest.groups_absent:  # was: the raw names only ("absent groups: service_effort (no tickets table)")
        console.print(
            "absent groups: "
            + "; ".join(f"{_group_words(g)}: {escape(why)}" for g, why in manifest.groups_absent.items())
        )


def _group_words(group: str) -> str:
    """A feature group in words (`phrases.group_label`, as the model card says it), its raw name beside them
    where it is spelled otherwise, for a data scientist reading the manifest: "Service effort (service_effort)"."""
    from pipelines.reports.phrases import group_label

    words = group_label(group)
    return words if words.lower() == group else f"{words} ({group})"


def adopt_earlier_demo_directories(out: Path) -> list[Path]:
    """The rejects and backtest directories of a demo working directory written by an earlier version, before
    those directories were replaced whole and marked (`REJECTS_MARKER`, `BACKTEST_MARKER`): marked now, so the
    demo replaces them as its own (was: `make run` after an upgrade, exit 2 "not written by cvp" for its own
    `demo/rejects`). Only where `out/data/_truth` shows the directory is a demo's (`cvp generate` writes it);
    anywhere else an unmarked directory stays refused. Returns the directories marked."""
    if not (out / "data" / "_truth").is_dir():
        return []
    marked = []
    for name, marker in (("rejects", REJECTS_MARKER), ("backtest", BACKTEST_MARKER)):
        directory = out / name
        if directory.is_dir() and not (directory / marker).exists():
            (directory / marker).write_text(
                "written by cvp demo (an earlier version); replaced whole on every run\n"
            )
            marked.append(directory)
    return marked


def run_demo(out: Path, config: Path | None, console: Console, tracking_uri: str | None = None) -> None:
    """The whole product on the built-in demo company: generate, validate, train, score, profile, report."""
    from pipelines.engines.run import run_score
    from pipelines.train import train_and_register

    cfg = load_config(config)
    d = cfg.demo
    out = Path(out)
    data_dir = out / "data"
    adopt_earlier_demo_directories(out)
    check_rejects_replaceable(out / "rejects")  # replaced whole: refused before the work, not after it
    console.rule("1. the demo company")
    run_generate(data_dir, d.customers, d.start, d.end, d.seed, "parquet", console)
    console.rule("2. validation")
    loaded = load_and_report(data_dir, None, cfg, console, rejects=out / "rejects")
    as_of = default_as_of(loaded.tables)
    console.rule(f"3. training and backtest (as of {as_of.date()}, horizon {cfg.labels.horizon_days} days)")
    trained = train_and_register(
        loaded.tables, cfg, as_of, console, out_dir=out / "backtest", tracking_uri=tracking_uri, demo=True
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
        demo=True,
    )
    console.rule("5. ideal-customer profile and acquisition payback")
    from pipelines.profile import run_profile

    run_profile(scores_path, data_dir, out / "profile", None, config, console, tracking_uri)
    console.rule("6. reports")
    index = run_report(
        scores_path,
        out / "reports",
        data_dir,
        None,
        config,
        console,
        tracking_uri,
        profile_dir=out / "profile",
    )
    managers = sorted((out / "reports").glob("manager-*.html"))
    console.print(f"\nteam report:     {index.resolve()}", markup=False, highlight=False)
    console.print(
        f"manager reports: {len(managers)} pages, e.g. {managers[0].resolve() if managers else '-'}",
        markup=False,
        highlight=False,
    )
    console.print(
        f"models:          {demo_models_hint(Path(cfg.mlflow.tracking_dir), tracking_uri)}", markup=False
    )


def demo_models_hint(tracking_dir: Path, tracking_uri: str | None) -> str:
    """Where the demo's closing line sends people for the models: the store the demo used (`--tracking-uri`, else
    `MLFLOW_TRACKING_URI`, else the local sqlite store), said by `pipelines.tracking_store.browse_hint` (a server's
    address with its password hidden; `mlflow ui ...` for a local store)."""
    from pipelines.tracking_store import browse_hint, resolve_tracking_uri

    return browse_hint(resolve_tracking_uri(tracking_dir, tracking_uri))


def run_report(
    scores_path: Path,
    out: Path,
    data: Path | None,
    mapping: Path | None,
    config: Path | None,
    console: Console,
    tracking_uri: str | None = None,
    history: Path | None = None,
    profile_dir: Path | None = None,
) -> Path:
    """Team page + one page per account manager from one scoring run's output set (scores, contributions,
    manifest; `pipelines.outputs.read_output_set` refuses files of different runs and non-scores files)."""
    from features import feature_registry
    from pipelines.fingerprint import check_run_currency, check_same_data, with_run_settings
    from pipelines.outputs import read_output_set
    from pipelines.reports import build_reports
    from pipelines.tracking_card import model_card

    cfg = load_config(config)
    # a file: its parent is probed, the directory itself is replaced whole
    check_outputs(data, {"report directory": Path(out)}, {}, mapping)
    run = read_output_set(Path(scores_path))
    if run.note:  # a manifest without its files' digests (before round 31): read as before, said
        console.print(f"note: {run.note}", markup=False, highlight=False)
    scores, contrib, manifest = run.scores, run.contributions, run.manifest
    check_run_currency(manifest, cfg.data.currency, "the pages")
    cfg = with_run_settings(manifest, cfg)  # the run's features are named and windowed as it built them
    version = str(manifest.get("model_version", scores["model_version"].iloc[0] if len(scores) else "?"))
    card = model_card(
        version,
        cfg,
        int(manifest.get("horizon_days", cfg.labels.horizon_days)),
        manifest.get("data_fingerprint"),
        run_id=manifest.get("model_run_id"),
        tracking_uri=tracking_uri or manifest.get("tracking_uri"),
        model_uri=manifest.get("model_uri"),
    )
    # with the registry's champion now: scores of a model promoted since are production's, not provisional
    card.update(run_card_notes(manifest, card.get("champion_now_version")))
    customers = managers = None
    if data is not None:
        loaded = load_configured(data, mapping, cfg)
        check_same_data(  # names of another export or company must not land on this run's customers
            loaded.tables,
            manifest.get("data_fingerprint"),
            ("customers", "account_managers"),
            exact=manifest.get("engine") == "pandas",
        )
        customers = loaded.tables.get("customers")
        managers = loaded.tables.get("account_managers")
    report_cfg = cfg.report.model_copy(update={"currency": cfg.data.currency})
    profile = None
    if profile_dir is not None:  # `cvp profile` output: the team page gets its profile and payback section
        from pipelines.profile import read_profile

        profile = read_profile(Path(profile_dir), manifest.get("run_id"))  # this run's profile only
    t0 = time.perf_counter()
    moves = None
    if history is not None:  # score history (issue 15): this month's actions, transitions, tiers over runs
        from pipelines.history import report_history

        moves = report_history(
            history,
            scores,
            contrib,
            manifest,
            cfg,
            run.churn_contributions,
            run.bridge_contributions,
            run.bridge_churn_contributions,
        )
        if moves.rules_changed:
            console.print(f"warning: {moves.rules_changed}", markup=False, highlight=False)
    paths = build_reports(
        scores,
        contrib,
        card,
        out,
        report_cfg,
        feature_registry(cfg.features),
        customers,
        managers,
        history=moves,
        profile=profile,
        new_customer_actions=cfg.profile.new_customer_actions,  # issue 12: new customers' first steps
    )
    n_pages = len(paths.managers) + (1 if paths.unassigned else 0)
    console.print(
        f"reports for {len(scores):,} customers in {time.perf_counter() - t0:.1f} s: {paths.index} "
        f"and {n_pages} manager pages in {Path(out)}/" + browser_address(paths.index),
        markup=False,  # a path is printed as written (`--out "pages[red]"`: was shown as `pages`)
        highlight=False,
    )
    return paths.index


def browser_address(page: Path) -> str:
    """` (in a browser: file:///.../h%23q%3F/index.html)` when the page's path holds a character that ends or
    changes a web address (`#`, `?`, `%`, a space): the path pasted or clicked as written opens another file or
    none. Empty otherwise."""
    text = str(page)
    if not any(c in text for c in "#?% "):
        return ""
    return f" (in a browser: {Path(page).absolute().as_uri()})"
