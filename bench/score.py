"""Benchmark: the batch scoring job end to end (pandas engine at 250k and 1M customers; Spark local[2] at 250k).

Usage:
    .venv/bin/python bench/score.py [--sizes 250000 1000000] [--spark-size 250000] [--no-spark]
        [--cache DIR] [--seed 0] [--profile]

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
import resource
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchkit import work_dir  # noqa: E402 - bench/, the script's own directory

START, END = "2021-01-01", "2025-12-31"
TRAIN_AS_OF = "2025-01-01"
SCORE_AS_OF = "2025-12-31"
#: Fast training: few cutoffs and one backtest fold; the models themselves keep the 300-tree defaults.
TRAIN_CONFIG = {"labels": {"n_cutoffs": 3, "cutoff_step_months": 2}, "models": {"backtest_folds": 1}}
BARS = {"seconds_1m": 90.0, "peak_gb": 4.0, "beyond_ratio": 1.2}
#: (module, attribute, stage): the product functions `--profile` times, outermost first. A module attribute is
#: patched where the caller looks it up (the module that imported the name), a class attribute on the class.
PROFILE_STAGES: tuple[tuple[str, str, str], ...] = (
    ("pipelines.tracking", "configure_tracking", "tracking setup (MLflow import)"),
    ("pipelines.tracking", "load_bundle", "load model"),
    ("pipelines.io", "read_file", "read files"),
    ("pipelines.io", "validate_tables", "validate (row checks)"),
    ("features.validation", "check_tables", "validate (pandera)"),
    ("pipelines.fingerprint", "data_fingerprint", "data fingerprint"),
    ("pipelines.engines.run", "check_after_first_order", "as-of checks"),
    ("pipelines.data_age", "check_data_age", "as-of checks"),
    ("pipelines.engines.run", "warn_later_events", "as-of checks"),
    ("pipelines.engines.chunks:SharedCustomerIndex", "__init__", "customer index (status + chunk plan)"),
    ("pipelines.engines.run", "customer_status", "customer status"),
    ("pipelines.engines.pandas_engine", "model_extras", "model extras (BTYD)"),
    ("pipelines.engines.chunks", "plan_chunks", "chunk plan"),
    ("pipelines.engines.chunks:ChunkPlan", "tables", "chunk tables"),
    ("pipelines.engines.chunks", "isin_ids", "chunk tables"),
    ("pipelines.profile_inputs:ProfileInputsWriter", "__init__", "profile inputs (issue 12)"),
    ("pipelines.profile_inputs:ProfileInputsWriter", "add", "profile inputs (issue 12)"),
    ("pipelines.engines.chunks", "company_revenue", "features"),
    ("pipelines.engines.chunks", "build_feature_table", "features"),
    ("pipelines.engines.pandas_engine", "score_features", "score: other"),
    ("models.bundle:CustomerValueModel", "grade_contract", "score: contract check"),
    ("models.bundle:CustomerValueModel", "predict_from_raw", "score: predict (both models)"),
    ("pipelines.engines.scoring", "explain_with_raw", "explain: checks"),
    ("models.explain", "_exact_contributions", "explain: TreeSHAP"),
    ("pipelines.engines.scoring", "churn_probability_contributions", "explain: churn points"),
    ("pipelines.engines.scoring", "reason_choices", "explain: reasons (stored compactly)"),
    ("pipelines.engines.drift:DriftAccumulator", "add", "drift counts"),
    ("pipelines.engines.spill:ReasonSpill", "add", "spill reasons"),
    ("pipelines.engines.spill:ReasonSpill", "columns_for", "write scores"),
    ("pipelines.outputs:ContributionsWriter", "add", "write contributions"),
    ("pipelines.engines.run", "finish_scores", "finish: order, statuses"),
    ("pipelines.history", "apply_stability", "finish: stability"),
    ("pipelines.newcomers", "score_newcomers", "new customers (lookalike)"),
    ("features.seasonal", "seasonal_history_note", "seasonal note"),
    ("pipelines.io", "write_json", "write manifest"),
    ("pipelines.engines.spill:ReasonSpill", "locate", "write scores"),
    ("pipelines.engines.scoring", "assign_tiers", "finish: tiers"),
    ("pipelines.outputs:ScoresSchema", "check_written", "write scores"),
    ("pipelines.outputs", "write_scores_parquet", "write scores"),
    ("pipelines.outputs", "publish", "write scores"),
)
#: Which stages count input rows (rows/s over rows read); the others count customers.
ROW_STAGES = {"read files", "validate (row checks)", "validate (pandera)", "data fingerprint"}
#: Suffix of a stage run on a background thread (`StageTimer`): its wall time overlaps the main thread's.
BACKGROUND = " (background)"


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


class StageTimer:
    """Exclusive wall time per stage of wrapped functions (a stage's time excludes the stages it calls), and the
    largest resident memory seen while each stage was the innermost one running (`peak_mb`, sampled every 0.1 s
    by `sample_memory`: tracemalloc does not see Arrow's or numpy's buffers, RSS does).

    Stages are nested per thread. A stage on another thread than the main one (the pandas engine builds the next
    chunk's features on one, issue 14) is recorded as "<stage> (background)" with that thread's own CPU time;
    its wall time overlaps the main thread's stages, so it is left out of "other" (`BACKGROUND` in the name). A
    main-thread stage's CPU is the process's CPU in that time minus what the background threads spent."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}  # exclusive CPU seconds (every thread of the process), like `seconds`
        self.peak_mb: dict[str, float] = {}
        self._local = threading.local()
        self._main = threading.get_ident()
        # background thread -> its CPU seconds when last read (a thread reports its own at each stage's end; the
        # clock of a thread that has ended is never read: undefined for a gone thread)
        self._background: dict[threading.Thread, float] = {}
        self._background_lock = threading.Lock()
        self.reference_predict_s = 0.0
        self.reference_predict_cpu = 0.0
        self.other_lines: dict[
            str, float
        ] = {}  # `sample_other`: main-thread CPU s outside all stages, by line
        self._main_stages = self._stack()[2]  # built on the main thread: its stack, read by `sample_memory`

    def _stack(self) -> tuple[list[float], list[float], list[str]]:
        local = self._local
        if not hasattr(local, "stages"):
            local.children, local.cpu_children, local.stages = [], [], []
        return local.children, local.cpu_children, local.stages

    @property
    def _children(self) -> list[float]:
        return self._stack()[0]

    @property
    def _cpu_children(self) -> list[float]:
        return self._stack()[1]

    def background_cpu(self) -> float:
        """CPU seconds the background threads that ran a stage have used so far (a finished thread: its last
        reading)."""
        with self._background_lock:
            for thread in self._background:
                if thread.is_alive():
                    try:
                        self._background[thread] = time.clock_gettime(
                            time.pthread_getcpuclockid(thread.ident)
                        )
                    except (OSError, OverflowError):
                        pass
            return sum(self._background.values())

    def _clock(self) -> float:
        """The CPU clock of a stage on this thread: the process's minus the background threads' on the main
        thread, the thread's own elsewhere."""
        if threading.get_ident() == self._main:
            return time.process_time() - self.background_cpu()
        return time.thread_time()

    def sample_memory(self, stop: threading.Event) -> None:
        """Until `stop`: the RSS every 0.1 s, charged to the innermost stage the main thread runs ("other"
        outside all)."""
        main = self._main_stages
        while not stop.wait(0.1):
            stage = main[-1] if main else "other"
            self.peak_mb[stage] = max(self.peak_mb.get(stage, 0.0), _status_mb("VmRSS"))

    def sample_other(self, stop: threading.Event, every: float = 0.005) -> None:
        """Until `stop`: every `every` s, while the main thread is outside all stages ("other"), the project line
        it runs (its innermost frame in the product's code, with the innermost frame of all, a library's, in
        brackets), charged the main thread's own CPU since the last sample (`other_lines`). A long C call
        holding the GIL delays the sample: its CPU goes to the line seen next, usually the call's own line."""
        import sys as _sys

        clock = time.pthread_getcpuclockid(self._main)
        root = str(ROOT) + os.sep
        last = time.clock_gettime(clock)
        while not stop.wait(every):
            now = time.clock_gettime(clock)
            spent, last = now - last, now
            if self._main_stages:
                continue
            frame = _sys._current_frames().get(self._main)
            lib = own = None
            while frame is not None and own is None:
                path = frame.f_code.co_filename
                where = f"{Path(path).name}:{frame.f_lineno} {frame.f_code.co_name}"
                lib = lib or where
                if path.startswith(root) and "/.venv/" not in path and "/bench/" not in path:
                    own = f"{path[len(root) :]}:{frame.f_lineno} {frame.f_code.co_name}"
                frame = frame.f_back
            key = own or "outside the product's code"
            if lib is not None and not key.endswith(lib.split(":", 1)[1]):
                key += f"  [{lib}]"
            self.other_lines[key] = self.other_lines.get(key, 0.0) + spent

    def wrap(self, target: str, attr: str, stage: str) -> None:
        import functools
        import importlib

        module_name, _, cls = target.partition(":")
        owner = importlib.import_module(module_name)
        if cls:
            owner = getattr(owner, cls)
        fn = getattr(owner, attr)
        timer = self

        @functools.wraps(fn)
        def timed(*args, **kwargs):
            ident = threading.get_ident()
            name = stage
            background = ident != timer._main
            if background:
                name = f"{stage}{BACKGROUND}"
                with timer._background_lock:
                    timer._background.setdefault(threading.current_thread(), 0.0)
            children, cpu_children, stages = timer._stack()
            t0, c0 = time.perf_counter(), timer._clock()
            children.append(0.0)
            cpu_children.append(0.0)
            stages.append(name)
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed, cpu = time.perf_counter() - t0, timer._clock() - c0
                stages.pop()
                if background:
                    with timer._background_lock:
                        timer._background[threading.current_thread()] = time.thread_time()
                inner, cpu_inner = children.pop(), cpu_children.pop()
                timer.seconds[name] = timer.seconds.get(name, 0.0) + elapsed - inner
                timer.cpu[name] = timer.cpu.get(name, 0.0) + cpu - cpu_inner
                if children:
                    children[-1] += elapsed
                    cpu_children[-1] += cpu

        setattr(owner, attr, timed)

    def add_reference_predict(self) -> None:
        """Time LightGBM's own predict of each explained matrix (the reference), outside every stage: the
        time is added to the enclosing stage's children so no stage is charged, and summed separately."""
        import pipelines.engines.scoring as scoring

        explain = scoring.explain_with_raw
        timer = self

        def with_reference(booster, X, *args, **kwargs):
            t0, c0 = time.perf_counter(), timer._clock()
            getattr(booster, "booster_", booster).predict(X, raw_score=True)
            spent, cpu = time.perf_counter() - t0, timer._clock() - c0
            timer.reference_predict_s += spent
            timer.reference_predict_cpu += cpu
            if timer._children:
                timer._children[-1] += spent
                timer._cpu_children[-1] += cpu
            return explain(booster, X, *args, **kwargs)

        scoring.explain_with_raw = with_reference


def arrow_read_seconds(data: Path) -> tuple[float, int]:
    """Seconds pyarrow takes to read every table file of `data` into Arrow tables, and the rows read."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    from pipelines.io import find_table_files

    t0 = time.perf_counter()
    rows = 0
    for path in find_table_files(data).values():
        table = pq.read_table(path) if path.suffix == ".parquet" else pcsv.read_csv(path)
        rows += table.num_rows
        del table
    return time.perf_counter() - t0, rows


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


def child(engine: str, data: Path, config: Path, out: Path, profile: bool = False) -> dict[str, float]:
    """One scoring run in this (fresh) process; returns its figures (with `profile`: stage times too)."""
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

    import pipelines.outputs as outputs_module

    write = outputs_module.write_scores_parquet

    def marked_write(*args, **kwargs):
        # Peak before the scores file is written (tiers, stability, new customers done); the write is the rest.
        marks["before_write_mb"] = _status_mb("VmHWM")
        return write(*args, **kwargs)

    run_module.load_and_report = timed_load
    run_module.finish_scores = marked_finish
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
    marks["peak_mb"] = _status_mb("VmHWM")
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


def print_profile(n: int, r: dict[str, float]) -> None:
    """The stage table of one profiled run, then the references and the ratio to their sum."""
    total = r["seconds"]
    rows_in = r.get("validated_rows", float("nan"))
    stages = {k[2:]: v for k, v in r.items() if k.startswith("p_")}
    stages["other"] = total - sum(v for k, v in stages.items() if not k.endswith(BACKGROUND))
    cpu = {k[2:]: v for k, v in r.items() if k.startswith("c_")}
    cpu_total = r.get("cpu_s", float("nan"))
    cpu["other"] = cpu_total - sum(cpu.values())
    print(
        f"\nprofile, pandas engine, {n:,} customers ({int(rows_in):,} input rows), {total:.1f} s end to end, "
        f"CPU {cpu_total:.1f} s (all threads; load average {r.get('load_start', float('nan')):.1f} at the start, "
        f"{r.get('load_end', float('nan')):.1f} at the end: on a shared machine the CPU column is the one to compare)"
    )
    print(
        f"{'stage':36} {'seconds':>8} {'rows/s':>12} {'share':>6} {'CPU s':>8} {'CPU share':>9} {'peak RSS MB':>12}"
    )
    for stage, sec in sorted(stages.items(), key=lambda kv: -cpu.get(kv[0], kv[1])):
        rows = rows_in if stage in ROW_STAGES else n
        rate = f"{rows / sec:12,.0f}" if sec > 0.005 else f"{'':>12}"
        peak = r.get(f"m_{stage}")
        peak_text = "" if peak is None else f"{peak:12,.0f}"
        c = cpu.get(stage, float("nan"))
        print(f"{stage:36} {sec:8.2f} {rate} {sec / total:6.1%} {c:8.2f} {c / cpu_total:9.1%} {peak_text}")
    ref = r["ref_arrow_read_s"] + r["ref_predict_s"]
    print(
        f"references: pyarrow read of the same files {r['ref_arrow_read_s']:.2f} s "
        f"({int(r['ref_arrow_rows']):,} rows); LightGBM predict of the same rows, both models "
        f"{r['ref_predict_s']:.2f} s; end to end / their sum = {total / max(ref, 1e-9):.1f}"
    )
    lines = sorted(((k[2:], v) for k, v in r.items() if k.startswith("o_")), key=lambda kv: -kv[1])
    if lines:
        print(f"'other' by line (sampled main-thread CPU s, {sum(v for _, v in lines):.2f} in all; top 25):")
        for where, spent in lines[:25]:
            print(f"  {spent:7.2f}  {where}")
    if "ref_predict_cpu" in r:
        print(
            f"references in CPU seconds: LightGBM predict {r['ref_predict_cpu']:.2f} s; the run's CPU / its wall "
            f"{cpu_total / total:.2f} (2 cores: at most 2.0)"
        )


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
    from pipelines.history_store import append_run, list_runs
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
