"""The standalone cluster of `tests/pipelines/test_spark_cluster.py` and its one `cvp score --engine spark` run, held by
a fresh process started in the background as soon as the `trained` fixture exists (`tests/background.py`,
`spark_cluster_process`): the cluster's start and the run (a minute or more, mostly JVM and Python workers starting)
overlap the tests before it instead of being waited for. The holder writes what the test reads, each file whole
(written beside, then renamed): `cluster.json` once the worker is registered, `cli.json` once the run ended; then it
keeps the cluster up until SIGTERM (the test's teardown, or its parent's death), which stops the daemons.

Run: `python -m tests.pipelines.spark_cluster_run ROOT DATA CONFIG` (ROOT: a new directory; DATA, CONFIG: the
`trained` fixture's)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

#: The run's output set (scores, rejects, manifest, locks) under ROOT; nothing else is written there.
CLI, EVENTS, CLUSTER = "cli", "events", "cluster"


def _write(path: Path, value: dict) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps(value))
    part.replace(path)


def earlier_result(n: int) -> pd.DataFrame:
    """`n` rows of scores, as an earlier run left them."""
    import numpy as np
    import pandas as pd

    return pd.DataFrame(
        {
            "customer_id": pd.array([f"C{i:03d}" for i in range(n)], dtype="str"),
            "as_of": pd.Timestamp("2025-01-01"),
            "pred_value_365d": np.arange(n, dtype=np.float64) * 1.5,
        }
    )


def prepare(root: Path, data_from: Path) -> int:
    """The run's directory: the trained data plus one bad order (negative revenue) under `data/`, and an earlier
    run's result in the scores directory, a stray part file in it. Returns the trained data's orders."""
    import pandas as pd

    from pipelines.engines.spark_parts import write_spark_output

    data = root / "data"
    data.mkdir(parents=True)
    for p in data_from.glob("*.parquet"):
        (data / p.name).write_bytes(p.read_bytes())
    orders = pd.read_parquet(data / "orders.parquet")
    bad = orders.iloc[[0]].assign(order_id="bad-1", revenue=-1.0)
    pd.concat([orders, bad], ignore_index=True).to_parquet(data / "orders.parquet", index=False)
    write_spark_output(earlier_result(3), root / "scores")  # an earlier run's result, with a stray file in it
    (root / "scores" / "stale-part.parquet").write_bytes(b"left over from an old run")
    return len(orders)


def score_args(root: Path, config: Path, master_url: str) -> list[str]:
    args = ["score", "--data", str(root / "data"), "--as-of", "2025-01-01", "--out", str(root / "scores")]
    args += ["--config", str(config), "--engine", "spark", "--spark-master", master_url]
    return args + ["--rejects", str(root / "rejects")]


def main(root: Path, data_from: Path, config: Path) -> None:
    import ctypes

    from pipelines.engines.spark_session import standalone_cluster
    from tests.conftest import TIER4_OPTIONS

    # a parent that dies sends SIGTERM (not the SIGKILL of `Fresh`): the cluster's daemons are stopped, not orphaned
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    cli, events = root / CLI, root / EVENTS
    events.mkdir(parents=True)
    orders = prepare(cli, data_from)
    with standalone_cluster(root / CLUSTER, cores=2, memory="1g") as running:
        info = {"master_url": running.master_url, "web_url": running.web_url, "logs": str(running.logs)}
        _write(root / "cluster.json", info | {"pids": list(running.pids)})
        submit = f"--conf spark.eventLog.enabled=true --conf spark.eventLog.dir={events.as_uri()}"
        # the tests' settings of their Spark JVMs (`tests/conftest.py` `SPARK_SUBMIT_ARGS`, in the environment
        # this holder inherits: no whole-stage code generated, the driver's C2 thresholds), the executor's C2
        # thresholds the driver's (`TIER4_OPTIONS`): with Spark's defaults the run's driver and executor JVMs were
        # its two costliest processes (docs/measurements.md, "Tests' time")
        inherited = os.environ.get("PYSPARK_SUBMIT_ARGS", "").removesuffix("pyspark-shell")
        env = os.environ | {
            "PYSPARK_SUBMIT_ARGS": f"{inherited} {submit} --conf spark.eventLog.compress=false"
            f' --conf "spark.executor.extraJavaOptions={TIER4_OPTIONS}" pyspark-shell'
        }
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", *score_args(cli, config, running.master_url)],
            cwd=cli, capture_output=True, text=True, timeout=1200, check=False, env=env,
        )  # fmt: skip
        result = {
            "returncode": done.returncode,
            "stdout": done.stdout,
            "stderr": done.stderr,
            "orders": orders,
        }
        _write(root / "cli.json", result | {"seconds": round(time.monotonic() - started, 1)})
        while True:  # until SIGTERM: `standalone_cluster` turns it into SystemExit and stops the daemons
            time.sleep(3600)


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:4]))
