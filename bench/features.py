"""Benchmark: point-in-time feature table and 12-cutoff training set versus the lifetimes RFM summary.

Usage:
    /tmp/venv/bin/python bench/features.py [--customers 1000000] [--seed 0] [--cache /tmp/cvp_bench]

Generates a company with `pipelines.generate.generate_company` (cached as parquet under --cache), then times in
separate fresh subprocesses, so each peak RSS is clean:
  (a) `lifetimes.utils.summary_data_from_transaction_data` on the orders before the cutoff (the reference; falls
      back to an equivalent pandas groupby RFM if lifetimes cannot be imported),
  (b) `build_feature_table` at one cutoff with every table,
  (c) `build_training_set` with 12 monthly cutoffs and a 365-day horizon.
Prints seconds, peak RSS (and the RSS after loading the tables, which every step pays) and (b)/(a), (c)/(b).
Bench-only dependency: lifetimes (`pip install lifetimes 'setuptools<81'`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
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
    from pipelines.generate import generate_company

    t0 = time.perf_counter()
    company = generate_company(n_customers, START, END, seed)
    print(f"generated {n_customers:,} customers in {time.perf_counter() - t0:.1f} s", flush=True)
    root.mkdir(parents=True, exist_ok=True)
    for name, frame in company.tables.items():
        frame.to_parquet(root / f"{name}.parquet", index=False)
    (root / "done").write_text("ok")
    return root


def _load(root: Path) -> dict[str, pd.DataFrame]:
    tables = {p.stem: pd.read_parquet(p) for p in sorted(root.glob("*.parquet"))}
    # parquet round-trips timestamps as datetime64[ns]/[us]; the contract says ns.
    for frame in tables.values():
        for col in frame.columns:
            if pd.api.types.is_datetime64_dtype(frame[col]):
                frame[col] = frame[col].astype("datetime64[ns]")
    return tables


def measure(step: str, root: Path) -> dict[str, object]:
    """Run one step in this (fresh) process; return seconds and memory figures."""
    tables = _load(root)
    loaded = _current_rss_mb()
    note = ""
    t0 = time.perf_counter()
    if step == "a":
        orders = tables["orders"]
        orders = orders.loc[orders["ordered_at"] < CUTOFF, ["customer_id", "ordered_at", "revenue"]]
        try:
            from lifetimes.utils import summary_data_from_transaction_data

            t0 = time.perf_counter()
            out = summary_data_from_transaction_data(
                orders,
                "customer_id",
                "ordered_at",
                monetary_value_col="revenue",
                observation_period_end=CUTOFF,
            )
            note = "lifetimes.utils.summary_data_from_transaction_data"
        except Exception as exc:  # report, then fall back to the same RFM in plain pandas
            note = f"lifetimes failed ({type(exc).__name__}: {exc}); pandas groupby RFM fallback"
            t0 = time.perf_counter()
            days = orders.assign(day=orders["ordered_at"].dt.floor("D")).drop_duplicates(
                ["customer_id", "day"]
            )
            g = days.groupby("customer_id")["day"]
            out = pd.DataFrame({"frequency": g.count() - 1, "T": (CUTOFF - g.min()).dt.days})
        rows = len(out)
    elif step == "b":
        from features.config import FeatureConfig
        from features.table import build_feature_table

        out = build_feature_table(tables, CUTOFF, FeatureConfig())
        rows = len(out)
        note = f"{out.shape[1]} columns"
    elif step == "c":
        from features.config import FeatureConfig, LabelConfig
        from features.training import build_training_set

        out = build_training_set(tables, AS_OF, HORIZON_DAYS, FeatureConfig(), LabelConfig(n_cutoffs=12))
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/cvp_bench"))
    parser.add_argument("--step", choices=["a", "b", "c"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # This script is bench/features.py: as sys.path[0], its folder would shadow the `features` package.
    here, repo = Path(__file__).resolve().parent, Path(__file__).resolve().parents[1]
    sys.path[:] = [str(repo)] + [p for p in sys.path if Path(p or ".").resolve() not in (here, repo)]
    if args.step:
        print(json.dumps(measure(args.step, args.data)))
        return

    root = prepare(args.customers, args.seed, args.cache)
    results = {}
    for step in ("a", "b", "c"):
        proc = subprocess.run(
            [sys.executable, __file__, "--step", step, "--data", str(root)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        results[step] = json.loads(proc.stdout.strip().splitlines()[-1])
        r = results[step]
        print(
            f"({step}) {r['seconds']:>7.2f} s  peak RSS {r['peak_rss_mb']:>6} MB "
            f"(after load {r['rss_after_load_mb']} MB)  rows {r['rows']:,}  [{r['note']}]",
            flush=True,
        )
    print(
        f"orders: {results['b']['orders']:,}; load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"(b)/(a) = {results['b']['seconds'] / results['a']['seconds']:.2f}  (target < 1)")
    print(f"(c)/(b) = {results['c']['seconds'] / results['b']['seconds']:.2f}  (target < 3)")


if __name__ == "__main__":
    main()
