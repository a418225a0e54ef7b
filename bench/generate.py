"""Benchmark the synthetic company generator: wall time (generation and writing) and peak memory.

Usage: ``python bench/generate.py [--customers 1000000] [--seed 7] [--out DIR] [--fmt parquet]``.
Budget: 1M customers (about 10M orders plus side tables) in <= 180 s and <= 8 GB peak RSS on 2 cores.
Writes to a temporary directory (deleted afterwards) unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

# Run as a script from the repository root without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.demo import generate_company, write_company  # noqa: E402

TIME_BUDGET_S = 180.0
MEMORY_BUDGET_GB = 8.0


def _peak_rss_gb() -> float:
    # Linux reports ru_maxrss in kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--start", default="2021-01-01")
    parser.add_argument("--end", default="2025-12-31")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fmt", default="parquet", choices=("parquet", "csv"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    t0 = time.perf_counter()
    company = generate_company(args.customers, args.start, args.end, args.seed)
    t_generate = time.perf_counter() - t0
    rss_after_generate = _peak_rss_gb()

    with tempfile.TemporaryDirectory(prefix="cvp-bench-") as tmp:
        out_dir = args.out if args.out is not None else Path(tmp)
        t1 = time.perf_counter()
        paths = write_company(company, out_dir, fmt=args.fmt)
        t_write = time.perf_counter() - t1
        sizes = {name: path.stat().st_size for name, path in paths.items()}
    total = t_generate + t_write
    peak = _peak_rss_gb()

    print(f"customers={args.customers:,} window={args.start}..{args.end} seed={args.seed} fmt={args.fmt}")
    for name, frame in company.tables.items():
        print(f"  {name:<18} rows={len(frame):>12,}  file={sizes[name] / 1e6:9.1f} MB")
    print(f"  {'_truth':<18} rows={len(company.truth):>12,}  file={sizes['_truth'] / 1e6:9.1f} MB")
    print(f"orders per customer: {len(company.tables['orders']) / args.customers:.2f}")
    print(f"generation: {t_generate:7.1f} s   (peak RSS so far {rss_after_generate:.2f} GB)")
    print(f"writing:    {t_write:7.1f} s")
    print(f"total:      {total:7.1f} s   budget {TIME_BUDGET_S:.0f} s")
    print(f"peak RSS:   {peak:7.2f} GB  budget {MEMORY_BUDGET_GB:.0f} GB")
    ok = total <= TIME_BUDGET_S and peak <= MEMORY_BUDGET_GB
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
