"""The instruments of `bench/score.py`: the process's and the process tree's resident memory, the per-stage timer
`--profile` wraps the product's functions with (`PROFILE_STAGES`), the pyarrow reference read and the printed stage
table. Imported by the measured child process (`score.child`); no product code is imported at module level."""

from __future__ import annotations

import os
import resource
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (module, attribute, stage): the product functions `--profile` times, outermost first. A module attribute is
#: patched where the caller looks it up (the module that imported the name), a class attribute on the class.
PROFILE_STAGES: tuple[tuple[str, str, str], ...] = (
    ("pipelines.tracking_store", "configure_tracking", "tracking setup (MLflow import)"),
    ("pipelines.tracking", "load_bundle", "load model"),
    ("pipelines.io", "read_file", "read files"),
    ("pipelines.io", "validate_tables", "validate (row checks)"),
    ("features.validation", "check_tables", "validate (pandera)"),
    ("pipelines.fingerprint", "data_fingerprint", "data fingerprint"),
    ("pipelines.engines.run", "check_after_first_order", "as-of checks"),
    ("pipelines.data_age", "check_data_age", "as-of checks"),
    ("pipelines.engines.run", "warn_later_events", "as-of checks"),
    ("pipelines.engines.chunks:SharedCustomerIndex", "__init__", "customer index (status + chunk plan)"),
    ("pipelines.engines.score_base", "customer_status", "customer status"),
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
    ("pipelines.engines.score_base", "finish_scores", "finish: order, statuses"),
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


def status_mb(field: str) -> float:
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
            self.peak_mb[stage] = max(self.peak_mb.get(stage, 0.0), status_mb("VmRSS"))

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
