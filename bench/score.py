"""Benchmark: the batch scoring job end to end (pandas engine at 250k and 1M customers; Spark local[2] at 250k).

Usage:
    .venv/bin/python bench/score.py [--sizes 250000 1000000] [--spark-size 250000] [--no-spark]
        [--cache DIR] [--seed 0] [--profile]

Prepares, in a fresh temporary directory removed at the end (with `--cache DIR`: kept in DIR and reused by later
runs, even after code changes, so pass it only to repeat a measurement on the same data and model; not timed):
  - one demo company per size: `generate_company(n, 2021-01-01, 2025-12-31, seed)` + `write_company` (parquet);
  - one model trained once on the smallest company with `train_and_register` (as of 2025-01-01, 3 cutoffs,
    1 backtest fold, the default 300-tree models) into a private mlruns, promoted champion whatever its backtest
    (`cvp train --promote`: the benchmark needs a model, not a good one; a small company's may miss the gates).
Then, each in a fresh subprocess (so peak memory is that run's alone), times `run_score` as of 2025-12-31:
load + validate, features, both models, tiers, exact top-three reasons, contributions, manifest and output.
Measures wall time, peak RSS of the process (VmHWM) and the peak RSS right after the tables are loaded, so
"peak beyond the input tables" = peak - after-load. For Spark the driver's VmHWM is reported and the JVM's peak
(it runs the local executor) and Python workers are counted by sampling the process tree's total RSS every
0.5 s ("tree peak"). VmHWM is also read before and after the whole-base tier step, to say where the peak is.
Bars (issue 14): 1M in at most 90 s on 2 cores; peak at most 4 GB; (peak beyond tables at 1M) / (at 250k) at
most 1.2, by both measures (from the loading peak and from the resident tables).

`--profile` (pandas engine; one size is fine: `--sizes 250000`) also prints, per size, a table of the stages
(seconds, rows/s, share of the end-to-end time). Stage times are exclusive: each product function named in
`PROFILE_STAGES` is wrapped with a timer that subtracts the time of the stages it calls, and "other" is the rest.
In the same run, two references: the time pyarrow takes to read the same files into Arrow tables
(`pq.read_table`, after the run, so it does not change the peak) and the time LightGBM takes to predict the same
rows with both boosters (`booster.predict(X, raw_score=True)` on each chunk's model matrix, timed inside the run
and subtracted from the end-to-end time), and the ratio of the end-to-end time to their sum.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchkit import train_champion, work_dir  # noqa: E402 - bench/, the script's own directory
from score_profile import (  # noqa: E402 - bench/score_profile.py: the memory readings, stage timer and table
    PROFILE_STAGES,
    StageTimer,
    TreeSampler,
    arrow_read_seconds,
    print_profile,
    status_mb,
)

START, END = "2021-01-01", "2025-12-31"
TRAIN_AS_OF = "2025-01-01"
SCORE_AS_OF = "2025-12-31"
BARS = {"seconds_1m": 90.0, "peak_gb": 4.0, "beyond_ratio": 1.2}


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
    """A config file whose mlruns holds a champion trained on `data` (trained once; benchkit.train_champion)."""
    root = cache / f"model_{data.parent.name}"
    config = root / "config.yaml"
    # an older cache's marker ("ok") holds a model never promoted: no champion alias to score with
    if (root / "done").exists() and (root / "done").read_text() == "champion":
        return config
    t0 = time.perf_counter()
    train_champion(data, root, TRAIN_AS_OF)
    (root / "done").write_text("champion")
    print(f"trained on {data.parent.name} in {time.perf_counter() - t0:.0f} s (not timed)", flush=True)
    return config


def child(engine: str, data: Path, config: Path, out: Path, profile: bool = False) -> dict[str, float]:
    """One scoring run in this (fresh) process; returns its figures (with `profile`: stage times too)."""
    import io

    from rich.console import Console

    import pipelines.engines.run as run_module
    import pipelines.engines.score_base as base_module
    from pipelines.engines.run import run_score

    warnings.filterwarnings("ignore", category=UserWarning)
    marks: dict[str, float] = {}
    load = run_module.load_and_report

    def timed_load(*args, **kwargs):
        t0 = time.perf_counter()
        loaded = load(*args, **kwargs)
        marks["load_s"] = time.perf_counter() - t0
        marks["validated_rows"] = sum(r.rows_in for r in loaded.result.report.values())
        marks["after_load_mb"] = status_mb("VmHWM")
        marks["after_load_rss_mb"] = status_mb("VmRSS")
        return loaded

    finish = base_module.finish_scores

    def marked_finish(*args, **kwargs):
        # Peak so far = load + all chunks; the rest is whole-base tiers and the writes.
        marks["before_tiers_mb"] = status_mb("VmHWM")
        out = finish(*args, **kwargs)
        marks["after_tiers_mb"] = status_mb("VmHWM")
        return out

    import pipelines.outputs as outputs_module

    write = outputs_module.write_scores_parquet

    def marked_write(*args, **kwargs):
        # Peak before the scores file is written (tiers, stability, new customers done); the write is the rest.
        marks["before_write_mb"] = status_mb("VmHWM")
        return write(*args, **kwargs)

    run_module.load_and_report = timed_load
    base_module.finish_scores = marked_finish
    outputs_module.write_scores_parquet = marked_write
    timer = StageTimer()
    memory_stop = threading.Event()
    if profile:
        for target, attr, stage in PROFILE_STAGES:
            timer.wrap(target, attr, stage)
        timer.add_reference_predict()
        threading.Thread(target=timer.sample_memory, args=(memory_stop,), daemon=True).start()
        threading.Thread(target=timer.sample_other, args=(memory_stop,), daemon=True).start()
    sampler = TreeSampler()
    sampler.start()
    t0, c0, m0 = time.perf_counter(), time.process_time(), time.thread_time()
    load0 = os.getloadavg()[0]
    run = run_score(
        data, SCORE_AS_OF, out, None, engine, None, None, config, Console(file=io.StringIO()),
        "local[2]" if engine == "spark" else None,
    )  # fmt: skip
    marks["seconds"] = time.perf_counter() - t0 - timer.reference_predict_s
    marks["cpu_s"] = time.process_time() - c0 - timer.reference_predict_cpu
    # the main thread's own CPU (with `--profile`, its share of the reference predict too): the serial work the
    # background threads (chunk builder, reads, hashing, LightGBM's and the explainer's threads) do not take
    marks["main_cpu_s"] = time.thread_time() - m0
    marks["load_start"], marks["load_end"] = load0, os.getloadavg()[0]
    marks["peak_mb"] = status_mb("VmHWM")
    sampler.stop.set()
    memory_stop.set()
    marks["tree_peak_mb"] = sampler.peak_mb
    marks["customers"] = run.manifest["customers_scored"]
    marks.update({f"t_{k}": v for k, v in run.manifest["timings"].items()})
    if profile:
        marks.update({f"p_{k}": v for k, v in timer.seconds.items()})
        marks.update({f"c_{k}": v for k, v in timer.cpu.items()})
        marks["ref_predict_cpu"] = timer.reference_predict_cpu
        marks.update({f"m_{k}": v for k, v in timer.peak_mb.items()})
        marks["ref_predict_s"] = timer.reference_predict_s
        marks.update({f"o_{k}": v for k, v in timer.other_lines.items()})
        marks["ref_arrow_read_s"], marks["ref_arrow_rows"] = arrow_read_seconds(data)
    return marks


def run_child(engine: str, data: Path, config: Path, cache: Path, profile: bool = False) -> dict[str, float]:
    out = cache / "out" / f"{data.parent.name}_{engine}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--child", engine, str(data), str(config), str(out)]
    cmd += ["--profile"] if profile else []
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
        "--train-size",
        type=int,
        default=None,
        help="customers of the company the model is trained on "
        "(default: the smallest size; a smaller one trains faster, the model keeps its 300 trees)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="print a per-stage table and the pyarrow/LightGBM references"
    )
    parser.add_argument(
        "--child", nargs=4, metavar=("ENGINE", "DATA", "CONFIG", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        engine, data, config, out = args.child
        print(json.dumps(child(engine, Path(data), Path(config), Path(out), args.profile)), flush=True)
        return

    with work_dir(args.cache, "cvp-bench-score-") as cache:
        results = run_all(args, cache)
    report(results)


def run_all(args: argparse.Namespace, cache: Path) -> list[tuple[str, int, dict[str, float]]]:
    sizes = sorted(args.sizes)
    datas = {n: prepare_company(n, args.seed, cache) for n in sizes}
    train_size = args.train_size or sizes[0]
    config = prepare_model(datas.get(train_size) or prepare_company(train_size, args.seed, cache), cache)
    results: list[tuple[str, int, dict[str, float]]] = []
    for n in sizes:
        results.append(("pandas", n, run_child("pandas", datas[n], config, cache, args.profile)))
        r = results[-1][2]
        print(
            f"pandas {n:,}: {r['seconds']:.1f} s, CPU {r['cpu_s']:.1f} s, main thread CPU "
            f"{r.get('main_cpu_s', float('nan')):.1f} s (load average {r['load_start']:.1f} at the "
            f"start, {r['load_end']:.1f} at the end)",
            flush=True,
        )
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
        + f" {'rss@load':>8} {'pre-tiers':>9} {'post-tiers':>10} {'pre-write':>9} {'beyond MB':>10} {'tree peak':>9}"
        + "  stages (s)"
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
            f"{r.get('before_write_mb', float('nan')):9.0f} "
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
            f"bar: 1M in {r['seconds']:.0f} s (<= {BARS['seconds_1m']:.0f} s): {r['seconds'] <= BARS['seconds_1m']}"
        )
        peak = max(x["peak_mb"] for x in pandas.values()) / 1024
        print(f"bar: peak {peak:.2f} GB (<= {BARS['peak_gb']} GB): {peak <= BARS['peak_gb']}")
    if 1_000_000 in pandas and 250_000 in pandas:
        big, small = pandas[1_000_000], pandas[250_000]
        for what, base in (("loading peak", "after_load_mb"), ("resident tables", "after_load_rss_mb")):
            ratio = (big["peak_mb"] - big[base]) / max(small["peak_mb"] - small[base], 1.0)
            print(
                f"bar: memory beyond the input tables (from the {what}) 1M/250k {ratio:.2f} "
                f"(<= {BARS['beyond_ratio']}): {ratio <= BARS['beyond_ratio']}"
            )
    for _engine, n, r in results:
        if "ref_predict_s" in r:
            print_profile(n, r)
    spark = [(n, r) for e, n, r in results if e == "spark"]
    if spark and spark[0][0] in pandas:
        n, r = spark[0]
        print(f"spark/pandas time at {n:,}: {r['seconds'] / pandas[n]['seconds']:.2f}")


# --- issue 15 (score history): the transitions time, printed as its own line; optional, `--transitions` -------
# Kept together at the end of the file, apart from the scoring benchmark above. With `--transitions` (and
# `--cache DIR`, where the pandas runs leave their output sets), after the benchmark: for each size, the same
# company is scored once more 31 days earlier (not timed) and added to a fresh score history, then what
# `cvp report --history` computes is timed: `pipelines.history.transitions_between` from that run to the run the
# benchmark timed (reading the older run back, the value and churn deltas with their sentences).


def print_transitions(argv: list[str]) -> None:
    import datetime as dt
    import io

    from rich.console import Console

    from features import feature_registry
    from pipelines.config import load_config
    from pipelines.engines.run import run_score
    from pipelines.history import transitions_between
    from pipelines.history_append import append_run
    from pipelines.history_store import list_runs
    from pipelines.outputs import read_output_set

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args, _ = parser.parse_known_args(argv)
    if args.cache is None:
        print("--transitions needs --cache DIR (the scored output sets are read from it): not timed")
        return
    config = next(iter(sorted(args.cache.glob("model_*/config.yaml"))))
    cfg = load_config(config)
    previous_as_of = (dt.date.fromisoformat(SCORE_AS_OF) - dt.timedelta(days=31)).isoformat()
    for n in sorted(args.sizes):
        data = args.cache / f"n{n}_s{args.seed}" / "data"
        new = read_output_set(args.cache / "out" / f"n{n}_s{args.seed}_pandas.parquet")
        history = args.cache / "out" / f"history_n{n}_s{args.seed}"
        if history.exists():
            import shutil

            shutil.rmtree(history)
        earlier = args.cache / "out" / f"n{n}_s{args.seed}_pandas_previous.parquet"
        old = run_score(
            data, previous_as_of, earlier, None, "pandas", None, None, config, Console(file=io.StringIO())
        )
        append_run(history, old.scores, old.contributions_path, old.manifest)
        registry = feature_registry(cfg.features)
        t0, c0 = time.perf_counter(), time.process_time()
        moves = transitions_between(
            list_runs(history)[0],
            new.scores,
            new.contributions,
            int(new.manifest["horizon_days"]),
            cfg,
            registry,
            new.churn_contributions,
        )
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(
            f"transitions {previous_as_of} -> {SCORE_AS_OF} (value and churn deltas), {n:,} customers "
            f"({int((moves['presence'] == 'both').sum()):,} in both runs): {seconds:.1f} s "
            f"(CPU {cpu:.1f} s; load average {os.getloadavg()[0]:.1f}; bar: < 30 s at 1M)",
            flush=True,
        )


if __name__ == "__main__":
    transitions = "--transitions" in sys.argv  # issue 15's optional block above
    if transitions:
        sys.argv.remove("--transitions")
    main()
    if transitions:
        print_transitions(sys.argv[1:])
