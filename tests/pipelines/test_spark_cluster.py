"""The Spark engine on a real standalone cluster: one master and one worker started from the pyspark installation
(`pipelines.engines.spark_session.standalone_cluster`), bound to 127.0.0.1, and `cvp score --spark-master
spark://127.0.0.1:PORT` run against it in its own process; plus the cluster's start and stop on fake daemons.

Without pyspark or Java the cluster test FAILS like the other Spark tests; CVP_SKIP_SPARK=1 skips it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.engines.spark_parts import write_spark_output
from pipelines.engines.spark_session import StandaloneCluster, standalone_cluster


def _gone(pid: int) -> bool:
    """No process of `pid`'s group is left (the daemons run in their own sessions, a group each)."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(scope="module")
def cluster(spark_available, tmp_path_factory):
    """One master and one worker (2 cores, 1 GB for executors) for this module; afterwards, no process of theirs
    (daemons, executors, Python workers) may be left."""
    with standalone_cluster(tmp_path_factory.mktemp("spark-cluster"), cores=2, memory="1g") as running:
        yield running
    left = [pid for pid in running.pids if not _gone(pid)]
    assert not left, f"processes of the standalone cluster still running: {left}"


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.array([f"C{i:03d}" for i in range(n)], dtype="str"),
            "as_of": pd.Timestamp("2025-01-01"),
            "pred_value_365d": np.arange(n, dtype=np.float64) * 1.5,
        }
    )


def _applications(running: StandaloneCluster) -> list[dict]:
    with urllib.request.urlopen(f"{running.web_url}/json/", timeout=10) as answer:
        state = json.load(answer)
    return state["activeapps"] + state["completedapps"]


@pytest.mark.spark
def test_cli_spark_on_a_standalone_cluster_equals_pandas_and_replaces_the_directory(
    trained, default_scores, cluster, tmp_path
):
    """One `cvp score --engine spark` process against the standalone cluster asserts what a first run, a pandas
    comparison and a rerun would: it replaces an earlier result directory (a stray part file in it included),
    equals the pandas engine's output row by row (`default_scores`: the same accepted rows, as of the same day),
    its executors (on the worker, not in the driver) write the rejects, and the master ran its application."""
    data = tmp_path / "data"  # the trained data plus one bad order
    data.mkdir()
    for p in trained.data.glob("*.parquet"):
        (data / p.name).write_bytes(p.read_bytes())
    orders = pd.read_parquet(data / "orders.parquet")
    bad = orders.iloc[[0]].assign(order_id="bad-1", revenue=-1.0)
    pd.concat([orders, bad], ignore_index=True).to_parquet(data / "orders.parquet", index=False)
    out = tmp_path / "scores"
    write_spark_output(_frame(3), out)  # an earlier run's result, with a stray file in it
    (out / "stale-part.parquet").write_bytes(b"left over from an old run")

    args = ["score", "--data", str(data), "--as-of", "2025-01-01", "--out", str(out)]
    args += ["--config", str(trained.config), "--engine", "spark", "--spark-master", cluster.master_url]
    args += ["--rejects", str(tmp_path / "rejects")]
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert "Traceback" not in done.stderr

    assert out.is_dir() and (out / "_SUCCESS").exists() and list(out.glob("part-*.parquet"))
    assert not (out / "stale-part.parquet").exists()  # the old directory was replaced, not merged into
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    got = pd.read_parquet(out)
    manifest = json.loads((tmp_path / "scores.manifest.json").read_text())
    assert manifest["engine"] == "spark" and manifest["customers_total"] == len(got)
    assert (tmp_path / "scores.contributions.parquet").exists()
    assert manifest["rejected_by_reason"]["orders"] == {"negative revenue": 1}
    assert manifest["rows"]["orders"] == {"in": len(orders) + 1, "accepted": len(orders), "rejected": 1}
    rejects = pd.concat(
        pd.read_csv(p, dtype=str) for p in (tmp_path / "rejects" / "orders").glob("part-*.csv")
    )
    assert rejects[["source_row", "order_id", "reason"]].values.tolist() == [
        [str(len(orders)), "bad-1", "negative revenue"]
    ]

    expected = pd.read_parquet(default_scores.out)
    assert len(got) == len(expected) > 500 and got["customer_id"].tolist() == expected["customer_id"].tolist()
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-9)
    for col in ["tier", "rating", "tier_reason", "value_reason_1", "churn_reason_3"]:
        assert got[col].equals(expected[col]), col
    # the profile inputs (issue 12) of the Spark run: `cvp profile` reads them without --data
    pandas_inputs = default_scores.out.with_name(f"{default_scores.out.stem}.profile_inputs.parquet")
    spark_inputs = pd.read_parquet(tmp_path / "scores.profile_inputs.parquet")
    pd.testing.assert_frame_equal(spark_inputs, pd.read_parquet(pandas_inputs), check_exact=True)

    # the work ran on the cluster: the master lists the run's application(s), which got the worker's cores, and
    # the worker launched their executors (a local run would leave no trace there)
    apps = [a for a in _applications(cluster) if a["name"] == "cvp-score"]
    assert len(apps) == 1 and apps[0]["cores"] == 2, apps  # one session for loading and scoring
    assert {a["id"] for a in apps} == {p.name for p in (cluster.logs / "work").glob("app-*")}


# --- start and stop, on fake daemons: a `spark-class` that serves the master's JSON, or never gets ready ---

FAKE_SPARK_CLASS = """\
#!{python}
import http.server, json, sys, time
args = sys.argv[1:]
if "{mode}" == "ready" and args[0].endswith(".Master"):
    port = int(args[args.index("--webui-port") + 1])

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({{"aliveworkers": 1}}).encode()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

    http.server.HTTPServer(("127.0.0.1", port), Answer).serve_forever()
if "{mode}" == "exits" and args[0].endswith(".Master"):
    print("Error: could not find or load main class", args[0])
    sys.exit(1)
time.sleep(600)
"""


def _fake_spark_home(root: Path, mode: str) -> Path:
    home = root / f"spark-{mode}"
    (home / "bin").mkdir(parents=True)
    script = home / "bin" / "spark-class"
    script.write_text(textwrap.dedent(FAKE_SPARK_CLASS).format(python=sys.executable, mode=mode))
    script.chmod(0o755)
    return home


def test_standalone_cluster_stops_its_daemons_when_the_body_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARK_HOME", str(_fake_spark_home(tmp_path, "ready")))
    with pytest.raises(KeyError, match="the body failed"):
        with standalone_cluster(tmp_path / "cluster", timeout=30) as running:
            assert running.master_url.startswith("spark://127.0.0.1:") and len(running.pids) == 2
            assert not any(_gone(pid) for pid in running.pids)
            raise KeyError("the body failed")
    assert all(_gone(pid) for pid in running.pids)


@pytest.mark.parametrize("mode", ["exits", "never-ready"])
def test_standalone_cluster_that_does_not_start_says_why_and_leaves_nothing(tmp_path, monkeypatch, mode):
    monkeypatch.setenv("SPARK_HOME", str(_fake_spark_home(tmp_path, mode)))
    before = _children()
    with pytest.raises(RuntimeError, match="did not start") as exc:
        # a daemon that exits is noticed long before the timeout; one never ready waits the whole timeout
        with standalone_cluster(tmp_path / "cluster", timeout=60 if mode == "exits" else 1):
            pytest.fail("no worker registered, so the body must not run")
    if mode == "exits":
        assert "master exited" in str(exc.value) and "could not find or load main class" in str(exc.value)
    else:
        assert "no worker registered within 1 s" in str(exc.value)
    assert _children() <= before  # both daemons stopped (and reaped)


def _children() -> set[int]:
    """The ids of this process's children, read from /proc."""
    kids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            kids.add(int(stat.parent.name))
    return kids


def test_standalone_cluster_stops_its_daemons_on_sigterm(tmp_path):
    """A SIGTERM to the process holding the cluster (a CI timeout, `kill`) still stops the daemons."""
    holder = (
        "import sys, time\nfrom pathlib import Path\n"
        "from pipelines.engines.spark_session import standalone_cluster\n"
        "with standalone_cluster(Path(sys.argv[1]), timeout=30) as running:\n"
        "    print(*running.pids, flush=True)\n"
        "    time.sleep(600)\n"
    )
    env = os.environ | {"SPARK_HOME": str(_fake_spark_home(tmp_path, "ready"))}
    process = subprocess.Popen(
        [sys.executable, "-c", holder, str(tmp_path / "cluster")],
        stdout=subprocess.PIPE, text=True, env=env, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        pids = [int(pid) for pid in process.stdout.readline().split()]
        assert len(pids) == 2 and not any(_gone(pid) for pid in pids)
        process.terminate()
        assert process.wait(30) == 128 + 15
        assert all(_gone(pid) for pid in pids)
    finally:
        process.kill()
