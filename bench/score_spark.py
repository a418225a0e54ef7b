"""Benchmark: the Spark engine (local[2]) against the pandas engine, end to end on the same fresh data (issue 11).

Usage:
    .venv/bin/python bench/score_spark.py [--sizes 20000 80000] [--cache DIR] [--seed 0]

Reuses `bench/score.py` for everything but the report (one copy of the data generation, the model training and
the measured child process): per size one demo company (parquet), one model trained on the smallest, then each
engine scores each company in a fresh subprocess (`run_score` as of 2025-12-31, read + validate + features +
models + reasons + output set). Printed as ratios measured in the same run (absolute seconds drift with the load
of a shared machine), with the load average:
  - time: spark / pandas per size;
  - driver memory: the Python process's peak RSS (VmHWM) and, for Spark, the peak of the whole process tree
    (driver + JVM + Python workers, sampled every 0.5 s; in local mode the JVM is also the executor, so this is
    an upper bound of what a cluster's driver holds); growth from the smaller to the larger size per engine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import score as base  # noqa: E402 - bench/score.py: data, model and the measured child process
from benchkit import load_text, work_dir  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 80_000])
    parser.add_argument("--cache", type=Path, default=None, help="keep and reuse data and model here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with work_dir(args.cache, "cvp-bench-spark-") as cache:
        run(args, cache)


def ensure_champion(config: Path) -> None:
    """A model trained on a small company may miss the promotion gates: the benchmark needs a model, not a good
    one, so the latest version becomes champion when none is (in the benchmark's private mlruns only)."""
    import mlflow

    from pipelines.config import load_config
    from pipelines.tracking import configure_tracking

    cfg = load_config(config)
    configure_tracking(Path(cfg.mlflow.tracking_dir))
    client = mlflow.MlflowClient()
    name = cfg.mlflow.registered_model
    try:
        client.get_model_version_by_alias(name, "champion")
    except mlflow.exceptions.MlflowException:
        latest = max(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
        client.set_registered_model_alias(name, "champion", str(latest))
        print(f"no champion after training on the smallest company: version {latest} used (benchmark only)")


def run(args: argparse.Namespace, cache: Path) -> None:
    sizes = sorted(args.sizes)
    datas = {n: base.prepare_company(n, args.seed, cache) for n in sizes}
    config = base.prepare_model(datas[sizes[0]], cache)
    ensure_champion(config)
    rows = []
    for n in sizes:
        print(f"load average before {n:,}: {load_text()}", flush=True)
        pandas_run = base.run_child("pandas", datas[n], config, cache)
        spark_run = base.run_child("spark", datas[n], config, cache)
        rows.append((n, pandas_run, spark_run))
        print(f"load average after {n:,}: {load_text()}", flush=True)
    print()
    print(f"{'customers':>10} {'pandas s':>9} {'spark s':>8} {'spark/pandas':>13} {'pandas peak MB':>15} "
          f"{'spark driver MB':>16} {'spark tree MB':>14}")  # fmt: skip
    for n, p, s in rows:
        print(
            f"{n:>10,} {p['seconds']:>9.1f} {s['seconds']:>8.1f} {s['seconds'] / p['seconds']:>13.2f} "
            f"{p['peak_mb']:>15.0f} {s['peak_mb']:>16.0f} {s['tree_peak_mb']:>14.0f}"
        )
    if len(rows) > 1:
        (n0, p0, s0), (n1, p1, s1) = rows[0], rows[-1]
        print(
            f"\ngrowth {n1:,} / {n0:,} customers: pandas peak x{p1['peak_mb'] / p0['peak_mb']:.2f}, "
            f"spark driver (Python) peak x{s1['peak_mb'] / s0['peak_mb']:.2f}, "
            f"spark tree peak x{s1['tree_peak_mb'] / s0['tree_peak_mb']:.2f}; "
            f"time pandas x{p1['seconds'] / p0['seconds']:.2f}, spark x{s1['seconds'] / s0['seconds']:.2f}"
        )
    print(f"load average at the end: {load_text()}")


if __name__ == "__main__":
    main()
