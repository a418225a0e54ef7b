"""Where the row checks' CPU goes (issue 14): `validate_tables` on a data directory's tables, already read.

    python bench/validation_profile.py DATA_DIR [--top 25] [--sort tottime|cumtime] [--hash]

Prints the CPU seconds of each table's own checks and of the checks across tables, then cProfile's top functions
(their own time and the time under them). `--hash` prints a digest of the accepted tables, the rejects and the
report (to compare two versions of the code on the same data).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import pstats
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _digest(result) -> str:
    import pandas as pd

    h = hashlib.sha256()
    for name in sorted(result.tables):
        for what, frame in (("t", result.tables[name]), ("r", result.rejects[name])):
            h.update(f"{name}:{what}:{list(frame.columns)}:{list(map(str, frame.dtypes))}".encode())
            h.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        h.update(repr(result.report[name]).encode())
    return h.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumtime"])
    parser.add_argument("--hash", action="store_true")
    parser.add_argument("--no-profile", action="store_true", help="time only (no cProfile overhead)")
    parser.add_argument(
        "--threads", type=int, default=1, help="validate_tables' threads (2: two tables at once)"
    )
    parser.add_argument("--only", help="only functions whose path matches this (e.g. features/)")
    parser.add_argument("--callers", nargs="*", default=[], help="print the callers of these functions")
    args = parser.parse_args()

    import features.validation as v
    from pipelines.io import find_table_files, read_file

    raw = {name: read_file(path) for name, path in find_table_files(args.data).items()}
    print(f"{sum(len(f) for f in raw.values()):,} rows in {len(raw)} tables")

    own: dict[str, float] = {}
    inner = v._validate_table

    def timed(table, frame, *a, **k):
        start = time.process_time()
        try:
            return inner(table, frame, *a, **k)
        finally:
            own[table.name] = time.process_time() - start

    v._validate_table = timed
    profile = cProfile.Profile(time.process_time)  # CPU: robust under load
    wall, cpu = time.perf_counter(), time.process_time()
    if not args.no_profile:
        profile.enable()
    result = v.validate_tables(raw, threads=args.threads) if args.threads != 1 else v.validate_tables(raw)
    if not args.no_profile:
        profile.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    v._validate_table = inner
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"validate_tables: {wall:.2f} s wall, {cpu:.2f} CPU-s (process, all threads), peak RSS {peak:,.0f} MB"
    )
    for name, seconds in own.items():
        print(f"  {name:<18} {seconds:7.2f} CPU-s ({len(raw[name]):,} rows)")
    print(f"  {'across tables':<18} {cpu - sum(own.values()):7.2f} CPU-s (references, returns, report)")
    if args.hash:
        print("digest", _digest(result))
    if not args.no_profile:
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out).sort_stats(args.sort)
        stats.print_stats(args.only or "", args.top)
        for name in args.callers:
            stats.print_callers(name)
        print(out.getvalue())


if __name__ == "__main__":
    main()
