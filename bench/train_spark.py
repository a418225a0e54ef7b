"""Benchmark: what the driver of `cvp train --engine spark` receives with and without `--sample-customers` (issue 11).

Usage:
    .venv/bin/python bench/train_spark.py [--size 20000] [--sample 2000] [--cache DIR] [--seed 0]

One demo company (`bench/score.py`'s `prepare_company`, parquet), one local[2] Spark session; the Spark training
load (`pipelines.engines.spark_training.sample_training_input`: read, validate, sample, company days, the rows to
the driver) run twice, without a sample and with one, then the sampled training set built on the driver. Printed:
rows and Arrow megabytes the driver received, the pandas memory of the tables it then holds, seconds, load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import score as base  # noqa: E402 - bench/score.py: the demo data
from benchkit import work_dir  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--cache", type=Path, default=None, help="keep and reuse the data here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with work_dir(args.cache, "cvp-train-spark-") as cache:
        run(args, cache)


def run(args: argparse.Namespace, cache: Path) -> None:
    from features import build_training_set
    from pipelines.config import load_config
    from pipelines.engines.spark_session import spark_session
    from pipelines.engines.spark_training import sample_training_input

    data = base.prepare_company(args.size, args.seed, cache)
    cfg = load_config(None)
    with spark_session("local[2]") as spark:
        for n in (None, args.sample):
            t0 = time.perf_counter()
            loaded, as_of, _, sample, got = sample_training_input(spark, data, cfg, None, "train on", n)
            seconds = time.perf_counter() - t0
            held = sum(t.memory_usage(deep=True).sum() for t in loaded.tables.values()) / 2**20
            line = (
                f"{args.size:,} customers, sample {n or 'none'}: driver received {got['rows']:,} of "
                f"{got['base_rows']:,} rows, {got['tables_mb']:.1f} MB of Arrow, holds {held:.1f} MB of pandas "
                f"tables, {got['days_rows']:,} company days; load {seconds:.1f} s"
            )
            if sample is not None:
                t0 = time.perf_counter()
                training = build_training_set(
                    loaded.tables, as_of, cfg.labels.horizon_days, cfg.features, cfg.labels, sample.sample
                )
                line += f"; training set {len(training):,} rows in {time.perf_counter() - t0:.1f} s"
            print(f"{line} (load average {os.getloadavg()[0]:.1f})", flush=True)


if __name__ == "__main__":
    main()
