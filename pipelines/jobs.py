"""The jobs behind the CLI: generate, validate, features, demo. The only layer with I/O and the clock."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from features.validation import StructuralError
from pipelines.config import AppConfig, load_config
from pipelines.io import LoadedData, load_data, write_frame, write_json, write_rejects


def parse_date(text: str, what: str = "--as-of") -> pd.Timestamp:
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError) as exc:
        raise StructuralError(f"{what} {text!r} is not a date (use YYYY-MM-DD)") from exc
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts


def validation_table(loaded: LoadedData) -> Table:
    t = Table(title="Validation", show_lines=False)
    for col, just in (("table", "left"), ("rows in", "right"), ("accepted", "right"), ("rejected", "right")):
        t.add_column(col, justify=just)
    t.add_column("rejected by reason")
    for source, counts in loaded.source_report.items():
        reasons = {k: v for k, v in counts.items() if k != "rows_in" and not k.startswith("to ")}
        routed = sum(v for k, v in counts.items() if k.startswith("to "))
        t.add_row(
            f"[dim]source[/] {source}",
            f"{counts['rows_in']:,}",
            f"{routed:,}",
            f"{sum(reasons.values()):,}",
            "; ".join(f"{k}: {v:,}" for k, v in reasons.items()),
        )
    for name, r in loaded.result.report.items():
        reasons = "; ".join(f"{k}: {v:,}" for k, v in r.rejected_by_reason.items())
        t.add_row(name, f"{r.rows_in:,}", f"{r.accepted:,}", f"{r.rejected:,}", reasons)
    return t


def load_and_report(
    data: Path, mapping: Path | None, cfg: AppConfig, console: Console, rejects: Path | None = None
) -> LoadedData:
    """Load + validate once; print the counts; write rejects if asked. Every later step reads what this returns."""
    loaded = load_data(data, mapping, cfg.data.timezone)
    console.print(validation_table(loaded))
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
    from pipelines.generate import generate_company, write_company

    if fmt not in ("parquet", "csv"):
        raise StructuralError(f"--format must be parquet or csv, not {fmt!r}")
    t0 = time.perf_counter()
    company = generate_company(customers, parse_date(start, "--start"), parse_date(end, "--end"), seed)
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
    load_and_report(data, mapping, cfg, console, rejects)


def run_features(
    data: Path, as_of: str, out: Path, mapping: Path | None, config: Path | None, console: Console
) -> None:
    from features import build_feature_table_with_manifest

    cfg = load_config(config)
    cutoff = parse_date(as_of)
    loaded = load_and_report(data, mapping, cfg, console)
    first = loaded.tables["orders"]["ordered_at"].min()
    if pd.isna(first) or cutoff <= first:
        raise StructuralError(
            f"--as-of {cutoff.date()} is not after the first order ({first}); nothing to compute"
        )
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


def run_demo(out: Path, config: Path | None, console: Console) -> None:
    """Generate the demo company, validate it, and run every stage that exists on it."""
    cfg = load_config(config)
    d = cfg.demo
    data_dir = Path(out) / "data"
    run_generate(data_dir, d.customers, d.start, d.end, d.seed, "parquet", console)
    loaded = load_and_report(data_dir, None, cfg, console, rejects=Path(out) / "rejects")
    orders = loaded.tables["orders"]
    console.print(
        f"demo company: {orders['customer_id'].nunique():,} customers with orders, {len(orders):,} orders "
        f"from {orders['ordered_at'].min().date()} to {orders['ordered_at'].max().date()}"
    )
