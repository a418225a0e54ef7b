"""Benchmark: the batch scoring job end to end (pandas engine at 250k and 1M customers; Spark local[2] at 250k).

Usage:
    .venv/bin/python bench/score.py [--sizes 250000 1000000] [--spark-size 250000] [--no-spark]
        [--cache DIR] [--seed 0]

Prepares, in a fresh temporary directory removed at the end (with `--cache DIR`: kept in DIR and reused by later
runs, even after code changes, so pass it only to repeat a measurement on the same data and model; not timed):
  - one demo company per size: `generate_company(n, 2021-01-01, 2025-12-31, seed)` + `write_company` (parquet);
  - one model trained once on the smallest company with `train_and_register` (as of 2025-01-01, 3 cutoffs,
    1 backtest fold, the default 300-tree models) into a private mlruns, registered as champion.
Then, each in a fresh subprocess (so peak memory is that run's alone), times `run_score` as of 2025-12-31:
load + validate, features, both models, tiers, exact top-three reasons, contributions, manifest and output.
Measures wall time, peak RSS of the process (VmHWM) and the peak RSS right after the tables are loaded, so
"peak beyond the input tables" = peak - after-load. For Spark the driver's VmHWM is reported and the JVM's peak
(it runs the local executor) and Python workers are counted by sampling the process tree's total RSS every
0.5 s ("tree peak"). VmHWM is also read before and after the whole-base tier step, to say where the peak is.
Bars: 1M under 5 minutes on 2 cores; peak under 6 GB; (peak beyond tables at 1M) / (at 250k) under 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START, END = "2021-01-01", "2025-12-31"
TRAIN_AS_OF = "2025-01-01"
SCORE_AS_OF = "2025-12-31"
#: Fast training: few cutoffs and one backtest fold; the models themselves keep the 300-tree defaults.
TRAIN_CONFIG = {"labels": {"n_cutoffs": 3, "cutoff_step_months": 2}, "models": {"backtest_folds": 1}}
BARS = {"seconds_1m": 300.0, "peak_gb": 6.0, "beyond_ratio": 1.5}


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _tree_rss_mb(root_pid: int) -> float:
    """Resident memory of a process and all its descendants (the JVM and Python workers under Spark)."""
    parent: dict[int, int] = {}
    rss: dict[int, float] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            parent[int(d.name)] = int(fields[1])
            rss[int(d.name)] = int(fields[21]) * resource.getpagesize() / 2**20
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        kids = [p for p, pp in parent.items() if pp in frontier and p not in tree]
        tree.update(kids)
        frontier = kids
    return sum(rss.get(p, 0.0) for p in tree)


class TreeSampler(threading.Thread):
    """Samples the process tree's total RSS every 0.5 s; `peak_mb` is the largest sample."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.5):
            self.peak_mb = max(self.peak_mb, _tree_rss_mb(os.getpid()))


def prepare_company(n: int, seed: int, cache: Path) -> Path:
    """The company's data directory, generated once."""
    root = cache / f"n{n}_s{seed}"
    if (root / "done").exists():
        return root / "data"
    from pipelines.demo import generate_company, write_company

    t0 = time.perf_counter()
    write_company(generate_company(n, START, END, seed), root / "data")
    (root / "done").write_text("ok")
    print(f"generated {n:,} customers in {time.perf_counter() - t0:.0f} s (not timed)", flush=True)
    return root / "data"


def prepare_model(data: Path, cache: Path) -> Path:
    """A config file whose mlruns holds a champion trained on `data` (trained once)."""
    import yaml

    root = cache / f"model_{data.parent.name}"
    config = root / "config.yaml"
    if (root / "done").exists():
        return config
    import pandas as pd
    from rich.console import Console

    from pipelines.config import load_config
    from pipelines.io import load_data
    from pipelines.train import train_and_register

    root.mkdir(parents=True, exist_ok=True)
    config.write_text(yaml.safe_dump(TRAIN_CONFIG | {"mlflow": {"tracking_dir": str(root / "mlruns")}}))
    cfg = load_config(config)
    t0 = time.perf_counter()
    tables = load_data(data, None, cfg.data.timezone).tables
    train_and_register(tables, cfg, pd.Timestamp(TRAIN_AS_OF), Console(quiet=True))
    (root / "done").write_text("ok")
    print(f"trained on {data.parent.name} in {time.perf_counter() - t0:.0f} s (not timed)", flush=True)
    return config


def child(engine: str, data: Path, config: Path, out: Path) -> dict[str, float]:
    """One scoring run in this (fresh) process; returns its figures."""
    import io

    from rich.console import Console

    import pipelines.engines.run as run_module
    from pipelines.engines.run import run_score

    warnings.filterwarnings("ignore", category=UserWarning)
    marks: dict[str, float] = {}
    load = run_module.load_and_report

    def timed_load(*args, **kwargs):
        t0 = time.perf_counter()
        loaded = load(*args, **kwargs)
        marks["load_s"] = time.perf_counter() - t0
        marks["validated_rows"] = sum(r.rows_in for r in loaded.result.report.values())
        marks["after_load_mb"] = _status_mb("VmHWM")
        marks["after_load_rss_mb"] = _status_mb("VmRSS")
        return loaded

    finish = run_module.finish_scores

    def marked_finish(*args, **kwargs):
        # Peak so far = load + all chunks; the rest is whole-base tiers and the writes.
        marks["before_tiers_mb"] = _status_mb("VmHWM")
        out = finish(*args, **kwargs)
        marks["after_tiers_mb"] = _status_mb("VmHWM")
        return out

    run_module.load_and_report = timed_load
    run_module.finish_scores = marked_finish
    sampler = TreeSampler()
    sampler.start()
    t0 = time.perf_counter()
    run = run_score(
        data, SCORE_AS_OF, out, None, engine, None, None, config, Console(file=io.StringIO()),
        "local[2]" if engine == "spark" else None,
    )  # fmt: skip
    marks["seconds"] = time.perf_counter() - t0
    marks["peak_mb"] = _status_mb("VmHWM")
    sampler.stop.set()
    marks["tree_peak_mb"] = sampler.peak_mb
    marks["customers"] = run.manifest["customers_scored"]
    marks.update({f"t_{k}": v for k, v in run.manifest["timings"].items()})
    return marks


def run_child(engine: str, data: Path, config: Path, cache: Path) -> dict[str, float]:
    out = cache / "out" / f"{data.parent.name}_{engine}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--child", engine, str(data), str(config), str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{engine} on {data}: failed\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--spark-size", type=int, default=250_000)
    parser.add_argument("--no-spark", action="store_true")
    parser.add_argument(
        "--cache", type=Path, default=None, help="keep data and model here and reuse them (default: fresh)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--child", nargs=4, metavar=("ENGINE", "DATA", "CONFIG", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        engine, data, config, out = args.child
        print(json.dumps(child(engine, Path(data), Path(config), Path(out))), flush=True)
        return

    with tempfile.TemporaryDirectory(prefix="cvp-bench-score-") as tmp:
        results = run_all(args, args.cache if args.cache is not None else Path(tmp))
    report(results)


def run_all(args: argparse.Namespace, cache: Path) -> list[tuple[str, int, dict[str, float]]]:
    sizes = sorted(args.sizes)
    datas = {n: prepare_company(n, args.seed, cache) for n in sizes}
    config = prepare_model(datas[sizes[0]], cache)
    results: list[tuple[str, int, dict[str, float]]] = []
    for n in sizes:
        results.append(("pandas", n, run_child("pandas", datas[n], config, cache)))
        print(f"pandas {n:,}: {results[-1][2]['seconds']:.1f} s", flush=True)
    if not args.no_spark:
        n = args.spark_size
        data = datas.get(n) or prepare_company(n, args.seed, cache)
        results.append(("spark", n, run_child("spark", data, config, cache)))
    return results


def report(results: list[tuple[str, int, dict[str, float]]]) -> None:
    print()
    head = f"{'engine':7} {'customers':>10} {'seconds':>8} {'load s':>7} {'after load MB':>14} {'peak MB':>8}"
    print(
        head
        + f" {'rss@load':>8} {'pre-tiers':>9} {'post-tiers':>10} {'beyond MB':>10} {'tree peak':>9}  stages (s)"
    )
    beyond: dict[int, float] = {}
    for engine, n, r in results:
        extra = r["peak_mb"] - r["after_load_mb"]
        if engine == "pandas":
            beyond[n] = extra
        stages = ", ".join(f"{k[2:]}={v:.1f}" for k, v in r.items() if k.startswith("t_"))
        print(
            f"{engine:7} {int(r['customers']):>10,} {r['seconds']:8.1f} {r['load_s']:7.1f} "
            f"{r['after_load_mb']:14.0f} {r['peak_mb']:8.0f} {r['after_load_rss_mb']:8.0f} "
            f"{r.get('before_tiers_mb', float('nan')):9.0f} {r.get('after_tiers_mb', float('nan')):10.0f} "
            f"{extra:10.0f} {r['tree_peak_mb']:9.0f}  {stages}"
        )
    pandas = {n: r for e, n, r in results if e == "pandas"}
    print()
    for engine, n, r in results:
        if r.get("validated_rows"):
            print(
                f"validation {engine} {n:,}: {int(r['validated_rows']):,} rows loaded + validated in "
                f"{r['load_s']:.1f} s = {r['validated_rows'] / r['load_s']:,.0f} rows/s"
            )
    if 1_000_000 in pandas:
        r = pandas[1_000_000]
        print(
            f"bar: 1M in {r['seconds']:.0f} s (< {BARS['seconds_1m']:.0f} s): {r['seconds'] < BARS['seconds_1m']}"
        )
        peak = max(x["peak_mb"] for x in pandas.values()) / 1024
        print(f"bar: peak {peak:.2f} GB (< {BARS['peak_gb']} GB): {peak < BARS['peak_gb']}")
    if 1_000_000 in beyond and 250_000 in beyond:
        ratio = beyond[1_000_000] / max(beyond[250_000], 1.0)
        print(f"bar: beyond-tables peak ratio 1M/250k {ratio:.2f} (< {BARS['beyond_ratio']}): {ratio < 1.5}")
    spark = [(n, r) for e, n, r in results if e == "spark"]
    if spark and spark[0][0] in pandas:
        n, r = spark[0]
        print(f"spark/pandas time at {n:,}: {r['seconds'] / pandas[n]['seconds']:.2f}")


if __name__ == "__main__":
    main()
