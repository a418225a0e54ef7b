"""Benchmark: the Spark engine (local[2] and a standalone cluster) against the pandas engine, end to end (issue 11).

Usage:
    .venv/bin/python bench/score_spark.py [--sizes 20000 80000] [--masters local cluster] [--cache DIR] [--seed 0]

Reuses `bench/score.py` for the data, the model and the measured child (one copy of each): per size one fresh
demo company (parquet, in a temporary directory removed at the end unless `--cache DIR`), one model trained on the
smallest, then each size is scored as of 2025-12-31 (`run_score`: read + validate + features + models + reasons +
output set) by, each in a fresh subprocess: the pandas engine; the Spark engine on `local[2]`; the Spark engine on a
standalone cluster of this machine (`pipelines.engines.spark_session.standalone_cluster`: one master, one worker
with 2 cores, its executors separate JVMs), on the same data and the same 2 cores. Printed as ratios measured in the
same run (absolute seconds drift with the load of a shared machine), with the load average:
  - time: Spark / pandas per size and master;
  - driver memory, the issue's measure: the peak RSS of the `cvp` process (VmHWM) plus the peak heap used of the
    driver JVM (`MemoryMXBean`, sampled every 0.5 s through py4j); and the peak RSS of the driver's process tree
    (sampled every 0.5 s). In local mode the JVM is driver and executor, and the Python workers are children of
    it, so those figures hold the executors too; on the standalone cluster they are the driver's alone;
  - growth from the smallest to the largest size, per engine and measure (the bar: flat, <= 1.2 at 1M / 250k);
  - what the driver collects from Spark: the megabytes of every `toArrow` (Arrow bytes) and `toPandas` (pandas'
    deep memory) result and of every `toLocalIterator` row's binary values (the tables streamed as Arrow IPC) in
    the driver process, whatever engine version runs (a hook in the child); and what it keeps of them, the part
    of its memory that grows with the base (the manifest's `driver_collected`: tables held, the statuses' orders,
    the compact scores, collected or read from the executors' parts: "held MB");
  - the driver JVM's heap twice: its peak used (garbage included) and its peak found live after a collection.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import score as base  # noqa: E402 - bench/score.py: data, model and the measured child process
from benchkit import load_text, work_dir  # noqa: E402

#: The standalone worker: 2 cores (the pandas engine's and local[2]'s), memory for one executor and its overhead.
WORKER_CORES, WORKER_MEMORY, EXECUTOR_MEMORY = 2, "3g", "2g"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 80_000])
    parser.add_argument(
        "--masters", nargs="+", choices=["local", "cluster"], default=["local", "cluster"],
        help="where the Spark engine runs: local[2], the standalone cluster, or both (the default)",
    )  # fmt: skip
    parser.add_argument("--cache", type=Path, default=None, help="keep and reuse data and model here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--child", nargs=5, metavar=("ENGINE", "MASTER", "DATA", "CONFIG", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        engine, master, data, config, out = args.child
        print(json.dumps(child(engine, master, Path(data), Path(config), Path(out))), flush=True)
        return
    with work_dir(args.cache, "cvp-bench-spark-") as cache:
        run(args, cache)


class JvmHeapSampler(threading.Thread):
    """The driver JVM's heap used (`MemoryMXBean.getHeapMemoryUsage().getUsed()`), sampled every 0.5 s through
    py4j once pyspark has launched the JVM; `peak_mb` is the largest sample (0 for the pandas engine). It counts
    the garbage not yet collected (a heap sized 4g is collected lazily), so `live_peak_mb` is also kept: the
    largest heap found live right after a collection (the heap pools' `getCollectionUsage`, summed), what the
    driver's JVM truly holds."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self.live_peak_mb = 0.0
        self.stop = threading.Event()
        self.pools: list = []  # the heap's collected pools, looked up once (each py4j call costs both sides CPU)

    def sample(self) -> None:
        from pyspark import SparkContext

        jvm = SparkContext._jvm
        if jvm is None:
            return
        try:
            factory = jvm.java.lang.management.ManagementFactory
            used = factory.getMemoryMXBean().getHeapMemoryUsage().getUsed()
            if not self.pools:
                self.pools = [
                    p
                    for p in factory.getMemoryPoolMXBeans()
                    if str(p.getType()) == "Heap memory" and p.getCollectionUsage() is not None
                ]
            live = sum(p.getCollectionUsage().getUsed() for p in self.pools)
        except Exception:  # noqa: BLE001 - the gateway is starting or closing: no sample this time
            return
        self.peak_mb = max(self.peak_mb, used / 2**20)
        self.live_peak_mb = max(self.live_peak_mb, live / 2**20)

    def run(self) -> None:
        while not self.stop.wait(0.5):
            if "pyspark" in sys.modules:
                self.sample()


def meter_collects(marks: dict[str, float]) -> None:
    """Count what Spark brings to the driver: `marks["collected_mb"]`, the sum over every `toArrow` (Arrow bytes)
    and `toPandas` (deep memory) result of this process, and the binary values of every `toLocalIterator` row
    (the Spark load streams its tables as Arrow IPC blobs: `pipelines.engines.spark_tables`)."""
    from pyspark.sql.classic.dataframe import DataFrame

    marks["collected_mb"] = 0.0
    to_arrow, to_pandas, local = DataFrame.toArrow, DataFrame.toPandas, DataFrame.toLocalIterator

    def streamed(self, *args, **kwargs):
        for row in local(self, *args, **kwargs):
            marks["collected_mb"] += sum(len(v) for v in row if isinstance(v, (bytes, bytearray))) / 2**20
            yield row

    def arrow(self, *args, **kwargs):
        table = to_arrow(self, *args, **kwargs)
        marks["collected_mb"] += table.nbytes / 2**20
        return table

    def pandas(self, *args, **kwargs):
        frame = to_pandas(self, *args, **kwargs)
        marks["collected_mb"] += float(frame.memory_usage(deep=True).sum()) / 2**20
        return frame

    DataFrame.toArrow, DataFrame.toPandas, DataFrame.toLocalIterator = arrow, pandas, streamed


def child(engine: str, master: str, data: Path, config: Path, out: Path) -> dict[str, float]:
    """`bench/score.py`'s measured run (`base.child`) on `master`, plus the driver JVM's peak heap used."""
    import pipelines.engines.run as run_module

    score = run_module.run_score

    def on_master(*args, **kwargs):
        bound = inspect.signature(score).bind(*args, **kwargs)
        bound.arguments["spark_master"] = master if engine == "spark" else None
        return score(*bound.args, **bound.kwargs)

    run_module.run_score = on_master  # base.child imports it from the module when it runs
    collected: dict[str, float] = {"collected_mb": 0.0}
    if engine == "spark":
        meter_collects(collected)
    heap = JvmHeapSampler()
    heap.start()
    marks = base.child(engine, data, config, out)
    marks |= collected
    heap.stop.set()
    heap.join()
    if engine == "spark":
        heap.sample()  # the JVM outlives the session: one last reading
    marks["jvm_heap_peak_mb"] = heap.peak_mb
    marks["jvm_heap_live_peak_mb"] = heap.live_peak_mb
    manifest = out.with_name(out.stem + ".manifest.json")
    if engine == "spark" and manifest.exists():  # what the driver keeps of the base (grows with it)
        kept = json.loads(manifest.read_text()).get("driver_collected", {})
        # `scores_mb`: the compact scores collected by code before `spark30` (a main copy on PYTHONPATH);
        # `drift_mb`: the drift payloads collected since, `parts_mb` the compact scores read from the parts
        held = ("tables_held_mb", "status_orders_mb", "scores_mb", "drift_mb", "parts_mb")
        marks["held_mb"] = sum(kept.get(k, 0.0) for k in held)
    return marks


def run_child(engine: str, master: str, data: Path, config: Path, cache: Path) -> dict[str, float]:
    out = cache / "out" / f"{data.parent.name}_{engine}_{master.split(':')[0]}.parquet"
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, __file__, "--child", engine, master, str(data), str(config), str(out)]
    # the executors' memory on the standalone worker (pyspark passes these arguments to its spark-submit)
    env = os.environ | {"PYSPARK_SUBMIT_ARGS": f"--executor-memory {EXECUTOR_MEMORY} pyspark-shell"}
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=base.ROOT, env=env)
    if done.returncode != 0:
        raise SystemExit(
            f"{engine} on {master}, {data}: failed\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace, cache: Path) -> None:
    import contextlib

    from pipelines.engines.spark_session import standalone_cluster

    sizes = sorted(args.sizes)
    datas = {n: base.prepare_company(n, args.seed, cache) for n in sizes}
    config = base.prepare_model(datas[sizes[0]], cache)  # promoted champion whatever its backtest
    with contextlib.ExitStack() as stack:
        masters = ["local[2]"] if "local" in args.masters else []
        if "cluster" in args.masters:
            cluster = stack.enter_context(
                standalone_cluster(cache / "cluster", cores=WORKER_CORES, memory=WORKER_MEMORY)
            )
            masters.append(cluster.master_url)
            print(f"standalone cluster {cluster.master_url} (load average {load_text()})", flush=True)
        rows: dict[tuple[str, int], dict[str, float]] = {}
        for n in sizes:
            print(f"load average before {n:,}: {load_text()}", flush=True)
            rows[("pandas", n)] = base_run = run_child("pandas", "-", datas[n], config, cache)
            print(f"  pandas: {json.dumps(base_run)} (load {load_text()})", flush=True)
            for master in masters:
                rows[(master, n)] = r = run_child("spark", master, datas[n], config, cache)
                print(f"  spark {master}: {json.dumps(r)} (load {load_text()})", flush=True)
    report(rows, sizes, ["pandas", *masters])
    print(f"load average at the end: {load_text()}")


def _label(who: str) -> str:
    return "standalone" if who.startswith("spark://") else who


def report(rows: dict[tuple[str, int], dict[str, float]], sizes: list[int], engines: list[str]) -> None:
    """Per size and engine: seconds, Spark / pandas, the driver's memory; then the growth per engine."""

    def driver(r: dict[str, float]) -> float:
        return r["peak_mb"] + r["jvm_heap_peak_mb"]

    def live(r: dict[str, float]) -> float:  # the heap found live after a collection, not its garbage
        return r["peak_mb"] + r.get("jvm_heap_live_peak_mb", 0.0)

    print()
    print(
        f"{'engine':11} {'customers':>9} {'seconds':>8} {'/pandas':>8} {'python MB':>10} {'JVM heap MB':>12} "
        f"{'python+heap':>12} {'+live heap':>11} {'tree MB':>8} {'collected MB':>13} {'held MB':>8}"
    )
    for n in sizes:
        p = rows[("pandas", n)]
        for who in engines:
            r = rows[(who, n)]
            print(
                f"{_label(who):11} {int(r['customers']):>9,} {r['seconds']:8.1f} {r['seconds'] / p['seconds']:8.2f} "
                f"{r['peak_mb']:10.0f} {r['jvm_heap_peak_mb']:12.0f} {driver(r):12.0f} {live(r):11.0f} {r['tree_peak_mb']:8.0f} "
                f"{r.get('collected_mb', 0.0):13.2f} {r.get('held_mb', 0.0):8.2f}"
            )
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print(f"\ngrowth {large:,} / {small:,} customers (bar: driver memory flat, <= 1.2 at 1M / 250k):")
        for who in engines:
            a, b = rows[(who, small)], rows[(who, large)]
            print(
                f"  {_label(who):11} python+heap x{driver(b) / driver(a):.2f}, python+live heap x{live(b) / live(a):.2f}, "
                f"python x{b['peak_mb'] / a['peak_mb']:.2f}, "
                f"tree x{b['tree_peak_mb'] / a['tree_peak_mb']:.2f}, time x{b['seconds'] / a['seconds']:.2f}"
            )


if __name__ == "__main__":
    main()
