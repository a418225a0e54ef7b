"""Benchmark: point-in-time feature table and 12-cutoff training set against three RFM-only references.

Usage:
    .venv/bin/python bench/features.py [--customers 1000000] [--seed 0] [--cache DIR]

Generates a company with `pipelines.demo.generate_company` into a fresh temporary directory (removed at the end;
with `--cache DIR` the parquet files are kept in DIR and reused by later runs with the same size and seed), then
times each step in its own fresh subprocess, so each peak RSS is clean. The references compute only recency,
frequency, monetary value and tenure per customer from the same orders before the same cutoff:
  (a) `lifetimes.utils.summary_data_from_transaction_data` (falls back to a pandas groupby if lifetimes fails),
  (p) plain pandas: one groupby over the orders (last and first order, order count, revenue sum),
  (d) DuckDB: the same query in SQL over the same in-memory orders frame (DuckDB uses every core it finds);
and the product:
  (b) `build_feature_table` at one cutoff with every table,
  (c) `build_training_set` with 12 monthly cutoffs and a 365-day horizon.
Prints seconds, peak RSS (and the RSS after loading the tables, which every step pays), (b) against each
reference, and (c)/(b). Bench-only dependencies: lifetimes and duckdb (`make bench` installs both).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

START, END = "2019-01-01", "2024-12-31"
CUTOFF = pd.Timestamp("2025-01-01")  # (a) and (b): every generated event is before it
AS_OF = pd.Timestamp("2025-01-01")  # (c): 12 cutoffs 2023-02-01 .. 2024-01-01, horizon 365 days
HORIZON_DAYS = 365


def _rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def prepare(n_customers: int, seed: int, cache: Path) -> Path:
    """Generate (or reuse) the company and store each table as parquet; returns the directory."""
    root = cache / f"n{n_customers}_s{seed}"
    if (root / "done").exists():
        return root
    from pipelines.demo import generate_company

    t0 = time.perf_counter()
    company = generate_company(n_customers, START, END, seed)
    print(f"generated {n_customers:,} customers in {time.perf_counter() - t0:.1f} s", flush=True)
    root.mkdir(parents=True, exist_ok=True)
    for name, frame in company.tables.items():
        frame.to_parquet(root / f"{name}.parquet", index=False)
    (root / "done").write_text("ok")
    return root


def rfm_pandas(orders: pd.DataFrame) -> pd.DataFrame:
    """Recency, frequency, monetary value and tenure per customer from the orders strictly before CUTOFF."""
    before = orders.loc[orders["ordered_at"] < CUTOFF, ["customer_id", "ordered_at", "revenue"]]
    g = before.groupby("customer_id", sort=True)
    agg = g.agg(
        last=("ordered_at", "max"),
        first=("ordered_at", "min"),
        frequency=("ordered_at", "size"),
        monetary=("revenue", "sum"),
    )
    return pd.DataFrame(
        {
            "recency_days": (CUTOFF - agg["last"]).dt.days,
            "frequency": agg["frequency"],
            "monetary": agg["monetary"],
            "tenure_days": (CUTOFF - agg["first"]).dt.days,
        }
    )


def rfm_duckdb(orders: pd.DataFrame) -> pd.DataFrame:
    """The same table as `rfm_pandas`, as one SQL query over the in-memory orders frame."""
    import duckdb

    cutoff = CUTOFF.isoformat(sep=" ")
    query = f"""
        SELECT customer_id,
               CAST(floor(epoch(TIMESTAMP '{cutoff}' - max(ordered_at)) / 86400) AS BIGINT) AS recency_days,
               count(*) AS frequency,
               sum(revenue) AS monetary,
               CAST(floor(epoch(TIMESTAMP '{cutoff}' - min(ordered_at)) / 86400) AS BIGINT) AS tenure_days
        FROM orders
        WHERE ordered_at < TIMESTAMP '{cutoff}'
        GROUP BY customer_id
        ORDER BY customer_id
    """
    con = duckdb.connect()
    con.register("orders", orders)
    return con.sql(query).df().set_index("customer_id")


def _checksum(rfm: pd.DataFrame) -> str:
    """Column sums, printed so the pandas and DuckDB references can be seen to compute the same table."""
    return "/".join(f"{rfm[c].sum():.6g}" for c in ("recency_days", "frequency", "monetary", "tenure_days"))


def _load(root: Path) -> dict[str, pd.DataFrame]:
    tables = {p.stem: pd.read_parquet(p) for p in sorted(root.glob("*.parquet"))}
    # parquet round-trips timestamps as datetime64[ns]/[us]; the contract says ns.
    for frame in tables.values():
        for col in frame.columns:
            if pd.api.types.is_datetime64_dtype(frame[col]):
                frame[col] = frame[col].astype("datetime64[ns]")
    return tables


def _settings() -> tuple[object, object]:
    """Feature and label settings: configs/default.yaml, with the benchmark's 12 training cutoffs."""
    from features.config import LabelConfig
    from pipelines.config import load_config

    cfg = load_config()
    return cfg.features, LabelConfig.model_validate({**cfg.labels.model_dump(), "n_cutoffs": 12})


def measure(step: str, root: Path) -> dict[str, object]:
    """Run one step in this (fresh) process; return seconds and memory figures."""
    tables = _load(root)
    settings = _settings() if step in ("b", "c") else None  # the product's defaults, read before the clock
    loaded = _current_rss_mb()
    note = ""
    t0 = time.perf_counter()
    if step == "a":
        orders = tables["orders"]
        try:
            from lifetimes.utils import summary_data_from_transaction_data

            t0 = time.perf_counter()  # the cutoff filter is timed, as in (p), (d) and (b)
            before = orders.loc[orders["ordered_at"] < CUTOFF, ["customer_id", "ordered_at", "revenue"]]
            out = summary_data_from_transaction_data(
                before,
                "customer_id",
                "ordered_at",
                monetary_value_col="revenue",
                observation_period_end=CUTOFF,
            )
            note = "lifetimes.utils.summary_data_from_transaction_data"
        except Exception as exc:  # report, then fall back to the same RFM in plain pandas
            note = f"lifetimes failed ({type(exc).__name__}: {exc}); pandas groupby RFM fallback"
            t0 = time.perf_counter()
            out = rfm_pandas(orders)
        rows = len(out)
    elif step == "p":
        orders = tables["orders"]
        t0 = time.perf_counter()
        out = rfm_pandas(orders)
        rows = len(out)
        note = f"pandas groupby; checksum {_checksum(out)}"
    elif step == "d":
        import duckdb

        orders = tables["orders"]
        t0 = time.perf_counter()
        out = rfm_duckdb(orders)
        rows = len(out)
        threads = duckdb.sql("SELECT current_setting('threads')").fetchall()[0][0]
        note = f"duckdb {duckdb.__version__}, {threads} threads; checksum {_checksum(out)}"
    elif step == "b":
        from features.table import build_feature_table

        out = build_feature_table(tables, CUTOFF, settings[0])
        rows = len(out)
        note = f"{out.shape[1]} columns"
    elif step == "c":
        from features.training import build_training_set

        out = build_training_set(tables, AS_OF, HORIZON_DAYS, *settings)
        rows = len(out)
        note = f"{out['cutoff'].nunique()} cutoffs, {out.shape[1]} columns"
    else:
        raise ValueError(step)
    seconds = time.perf_counter() - t0
    return {
        "step": step,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(_rss_mb()),
        "rss_after_load_mb": round(loaded),
        "rows": rows,
        "note": note,
        "orders": len(tables["orders"]),
    }


STEPS = {
    "a": "lifetimes RFM summary",
    "p": "pandas RFM",
    "d": "DuckDB RFM",
    "b": "feature table, all groups",
    "c": "training set, 12 cutoffs",
}


def run_all(root: Path) -> dict[str, dict]:
    """Each step in a fresh subprocess; prints one line per step as it finishes."""
    results = {}
    for step, label in STEPS.items():
        proc = subprocess.run(
            [sys.executable, __file__, "--step", step, "--data", str(root)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        if proc.returncode != 0:
            sys.exit(f"step ({step}) {label} failed:\n{proc.stderr[-3000:]}")
        results[step] = r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"({step}) {label:<26} {r['seconds']:>7.2f} s  peak RSS {r['peak_rss_mb']:>6} MB "
            f"(after load {r['rss_after_load_mb']} MB)  rows {r['rows']:,}  [{r['note']}]",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="keep the generated company here and reuse it (default: fresh)",
    )
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # This script is bench/features.py: as sys.path[0], its folder would shadow the `features` package.
    here, repo = Path(__file__).resolve().parent, Path(__file__).resolve().parents[1]
    sys.path[:] = [str(repo)] + [p for p in sys.path if Path(p or ".").resolve() not in (here, repo)]
    if args.step:
        print(json.dumps(measure(args.step, args.data)))
        return

    with tempfile.TemporaryDirectory(prefix="cvp-bench-features-") as tmp:
        root = prepare(args.customers, args.seed, args.cache if args.cache is not None else Path(tmp))
        results = run_all(root)
    b = results["b"]["seconds"]
    print(
        f"orders: {results['b']['orders']:,}; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    for ref in ("a", "p", "d"):
        print(f"(b)/({ref}) = {b / results[ref]['seconds']:6.2f}  full feature table / {STEPS[ref]}")
    print(f"(c)/(b) = {results['c']['seconds'] / b:6.2f}  (target < 3)")


if __name__ == "__main__":
    main()
