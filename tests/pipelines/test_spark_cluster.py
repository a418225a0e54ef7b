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
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.engines.spark_session import StandaloneCluster, standalone_cluster
from tests.pipelines.spark_cluster_run import CLI, EVENTS

#: What a `cvp score` run keeps beside its outputs: the locks of its scores set and its rejects set
#: (`pipelines.locks`, `.<name>.publish.lock`).
KEPT_LOCKS = [".rejects.publish.lock", ".scores.publish.lock"]


def _gone(pid: int) -> bool:
    """No process of `pid`'s group is left (the daemons run in their own sessions, a group each)."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _ended(holder, name: str, timeout: float) -> dict:
    """What the holder (`tests/pipelines/spark_cluster_run.py`) wrote in `name`, waited for; its log if it ended
    without writing it."""
    path, deadline = holder.root / name, time.monotonic() + timeout
    while not path.exists():
        if holder.proc.poll() is not None or time.monotonic() > deadline:
            assert path.exists(), f"the cluster holder wrote no {name}: {holder.stderr.read_text()[-5000:]}"
        time.sleep(0.5)
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def holder(spark_available, trained):
    """The process holding this module's standalone cluster (one master and one worker, 2 cores, 1 GB for
    executors) and its `cvp score` run, started in the background once `trained` existed (or now, run alone);
    afterwards, no process of the cluster (daemons, executors, Python workers) may be left."""
    from tests import background

    proc = background.take("spark-cluster", lambda: background.spark_cluster_process(trained))
    try:
        yield proc
    finally:
        proc.stop()  # SIGTERM: the holder stops the daemons with their executors
    started = proc.root / "cluster.json"
    pids = json.loads(started.read_text())["pids"] if started.exists() else []  # none: `cluster` failed
    left = [pid for pid in pids if not _gone(pid)]
    assert not left, f"processes of the standalone cluster still running: {left}"


@pytest.fixture(scope="module")
def cluster(holder) -> StandaloneCluster:
    """The running cluster, once its worker is registered."""
    info = _ended(holder, "cluster.json", 300)
    return StandaloneCluster(info["master_url"], info["web_url"], Path(info["logs"]), tuple(info["pids"]))


def _applications(running: StandaloneCluster) -> list[dict]:
    with urllib.request.urlopen(f"{running.web_url}/json/", timeout=10) as answer:
        state = json.load(answer)
    return state["activeapps"] + state["completedapps"]


@dataclass(frozen=True)
class CliRun:
    """The one `cvp score --engine spark` run of this module on the standalone cluster."""

    root: Path  # its working directory: the output set, the rejects, the event log
    out: Path  # the scores: a Parquet directory
    orders: int  # orders in the trained data (the run's data has one bad order more)
    jobs: dict[str, int]  # Spark jobs of the run by the engine module that started them (its event log)

    @property
    def manifest(self) -> dict:
        return json.loads((self.root / "scores.manifest.json").read_text())


def _jobs_by_module(events: Path) -> dict[str, int]:
    """Spark jobs per engine module (`spark_input`, `spark_engine`, ...) from an uncompressed event log: the module
    of each job's call site (`toPandas at .../pipelines/engines/spark_checks.py:NN`)."""
    counts: dict[str, int] = {}
    for log in events.rglob("events_*"):
        for line in log.read_text().splitlines():
            event = json.loads(line)
            if event["Event"] == "SparkListenerJobStart":
                site = (event.get("Properties") or {}).get("callSite.short", "")
                # the engine's Python call site, or none (a DataFrame writer called through py4j)
                module = site.rsplit("/", 1)[-1].split(".py", 1)[0] if ".py" in site else "writer"
                counts[module] = counts.get(module, 0) + 1
    return counts


@pytest.fixture(scope="module")
def cli_run(holder, cluster) -> CliRun:
    """One `cvp score --engine spark` process against the standalone cluster (run by the holder,
    `tests/pipelines/spark_cluster_run.py`), whose output set every Spark-engine test of this module reads (one
    Spark run instead of one here and one in-process in test_spark.py): the trained data plus one bad order, into
    a Parquet directory that holds an earlier run's result (a stray part file in it), rejects written by the
    executors, Spark's event log kept to count the run's jobs."""
    done = _ended(holder, "cli.json", 1500)
    assert done["returncode"] == 0, done["stdout"][-3000:] + done["stderr"][-5000:]
    assert "Traceback" not in done["stderr"]
    root = holder.root / CLI
    return CliRun(root, root / "scores", done["orders"], _jobs_by_module(holder.root / EVENTS))


@pytest.mark.spark
def test_cli_spark_on_a_standalone_cluster_equals_pandas_and_replaces_the_directory(
    cli_run, default_scores, cluster
):
    """One `cvp score --engine spark` process against the standalone cluster asserts what a first run, a pandas
    comparison and a rerun would: it replaces an earlier result directory (a stray part file in it included),
    equals the pandas engine's output row by row (`default_scores`: the same accepted rows, as of the same day),
    its executors (on the worker, not in the driver) write the rejects, and the master ran its application."""
    out, root, orders = cli_run.out, cli_run.root, cli_run.orders
    assert out.is_dir() and (out / "_SUCCESS").exists() and list(out.glob("part-*.parquet"))
    assert not (out / "stale-part.parquet").exists()  # the old directory was replaced, not merged into
    # nothing hidden is left but the kept locks of the scores and the rejects sets: no staging, no journal
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".")) == KEPT_LOCKS
    got = pd.read_parquet(out)
    manifest = cli_run.manifest
    assert manifest["engine"] == "spark" and manifest["customers_total"] == len(got)
    assert (root / "scores.contributions.parquet").exists()
    assert manifest["rejected_by_reason"]["orders"] == {"negative revenue": 1}
    assert manifest["rows"]["orders"] == {"in": orders + 1, "accepted": orders, "rejected": 1}
    rejects = pd.concat(pd.read_csv(p, dtype=str) for p in (root / "rejects" / "orders").glob("part-*.csv"))
    assert rejects[["source_row", "order_id", "reason"]].values.tolist() == [
        [str(orders), "bad-1", "negative revenue"]
    ]

    expected = pd.read_parquet(default_scores.out)
    assert len(got) == len(expected) > 500 and got["customer_id"].tolist() == expected["customer_id"].tolist()
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-9)
    for col in ["tier", "rating", "tier_reason", "value_reason_feature_1", "churn_reason_feature_3"]:
        assert got[col].equals(expected[col]), col

    # the work ran on the cluster: the master lists the run's application(s), which got the worker's cores, and
    # the worker launched their executors (a local run would leave no trace there)
    apps = [a for a in _applications(cluster) if a["name"] == "cvp-score"]
    assert len(apps) == 1 and apps[0]["cores"] == 2, apps  # one session for loading and scoring
    assert {a["id"] for a in apps} == {p.name for p in (cluster.logs / "work").glob("app-*")}


# --- the Spark engine's output set against the pandas engine's (`default_scores`), from the run above ---


@pytest.mark.spark
def test_spark_scores_equal_pandas_row_by_row(cli_run, default_scores):
    """The scores written from the Spark engine's compact scores and the reason parts its executors wrote
    (`write_reason_parts`) equal the pandas engine's file row by row, with the same Arrow schema."""
    import pyarrow.parquet as pq

    expected, got = pd.read_parquet(default_scores.out), pd.read_parquet(cli_run.out)
    for part in cli_run.out.glob("part-*.parquet"):
        assert pq.read_schema(part).equals(pq.read_schema(default_scores.out))
    assert len(got) > 500 and got["customer_id"].is_unique and got["customer_id"].is_monotonic_increasing
    assert list(got.columns) == list(expected.columns)
    assert got.dtypes.to_dict() == expected.dtypes.to_dict()
    assert got["customer_id"].tolist() == expected["customer_id"].tolist()
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-9)
    # the columns people act on are equal exactly, not just close
    for col in [
        "tier",
        "rating",
        "tier_reason",
        "flags",
        "value_reason_feature_1",  # the stored reasons (issue 14)
        "churn_reason_feature_3",
        "account_manager_id",
    ]:
        assert got[col].equals(expected[col]), col
    assert got["tier"].nunique() > 1


@pytest.mark.spark
def test_spark_contributions_file_equals_pandas(cli_run, default_scores):
    a = pd.read_parquet(default_scores.run.contributions_path)
    b = pd.read_parquet(cli_run.root / "scores.contributions.parquet")
    got = pd.read_parquet(cli_run.out)
    assert list(b.columns) == list(a.columns) and b.columns[0] == "customer_id" and "_base" in b.columns
    assert b["customer_id"].tolist() == a["customer_id"].tolist()  # bucket order, like the pandas engine
    pd.testing.assert_frame_equal(b, a, check_exact=False, rtol=1e-9, atol=1e-9)
    # additive: contributions sum to the value prediction, customer by customer
    h = [c for c in got.columns if c.startswith("pred_value_") and c.count("_") == 2][0]
    numbers = b.drop(columns=[c for c in b.columns if c == "run_id"]).set_index("customer_id")
    total = numbers.sum(axis=1).reindex(got["customer_id"]).to_numpy()
    scored = got["status"].to_numpy() == "scored"
    np.testing.assert_allclose(total[scored], got[h].to_numpy()[scored], rtol=1e-9, atol=1e-6)
    assert scored.sum() == len(b) > 500
    # the executors' parts were gathered: nothing temporary left beside the output set
    assert sorted(p.name for p in cli_run.root.glob(".*")) == KEPT_LOCKS  # the sets' kept locks only
    assert not list(cli_run.root.glob("*.parts"))


@pytest.mark.spark
def test_spark_drift_and_info_match_pandas(cli_run, default_scores):
    a, b = default_scores.run.manifest, cli_run.manifest
    # what the Spark backend reports beyond the pandas engine's (drift, timings, spot checks: both)
    assert set(b) - set(a) == {"driver_collected"}
    # the same customers spot-checked, chosen by id (`scoring.spot_check_ids`; was: per Arrow batch on Spark)
    assert b["explanations_spot_checked_rows"] == a["explanations_spot_checked_rows"] > 0
    assert b["drift"]["psi"].keys() == a["drift"]["psi"].keys() and len(a["drift"]["psi"]) > 50
    for key, value in a["drift"]["psi"].items():
        assert b["drift"]["psi"][key] == pytest.approx(value, abs=2e-6), key
    assert b["drift"]["drifted_features"] == a["drift"]["drifted_features"]
    assert {"features_s", "score_explain_s", "tiers_s"} <= set(b["timings"])


@pytest.mark.spark
def test_spark_profile_inputs_file_equals_pandas(cli_run, default_scores):
    """Issue 12 on Spark: the executors compute each bucket's profile inputs; the file equals the pandas engine's
    (rows, order, columns, types, values), so `cvp profile` reads a Spark run without `--data`."""
    from pipelines.profile_inputs import read_profile_inputs

    pandas_file = default_scores.out.with_name(f"{default_scores.out.stem}.profile_inputs.parquet")
    spark_file = cli_run.root / "scores.profile_inputs.parquet"
    a, b = pd.read_parquet(pandas_file), pd.read_parquet(spark_file)
    scores = pd.read_parquet(default_scores.out)
    assert len(a) == len(scores) > 500  # every customer with a feature row, scored or not
    assert any(c.startswith("customer:") for c in a.columns) and "profit_net_lifetime" in a.columns
    pd.testing.assert_frame_equal(b, a, check_exact=True)
    pandas_info, spark_info = (
        default_scores.run.manifest["profile_inputs"],
        cli_run.manifest["profile_inputs"],
    )
    assert spark_info | {"seconds": 0} == pandas_info | {"seconds": 0}
    assert read_profile_inputs(spark_file, cli_run.manifest["run_id"]).index.is_unique
    # session-independent counts of this run's Spark jobs (docs/spark.md): the load's (the counts, the
    # orders' rejects written, the accepted rows: one collect per table, issue 11) and the scoring's (the features with each bucket's first row;
    # the tiers' cut points: the sorted partitions' sizes, the rows at the needed ranks, no range sample for the
    # one partition of a small input; the scores with their tiers)
    assert cli_run.jobs == {
        "spark_stats": 1,  # the validation's counts and mask sums (`spark_stats.column_stats`)
        "writer": 1,
        # each table's accepted rows, streamed sorted (one partition each on the demo), the count of the
        # emptied-`invoices.paid_at` stop over the whole invoices (`spark_tables.paid_at_stop`) and the events on
        # or after the as-of with the latest events before it (`SparkTables.later_events` and `latest_events`, one
        # aggregation: the driver keeps no returns' or invoices' times) and the
        # history signature's sampled orders (`SparkTables.base_signature`: the driver keeps no order ids), the
        # statuses' last order per customer (`SparkTables.status_tables`: the driver keeps no orders' customer
        # ids) and the new customers' orders and tickets (`SparkTables.early_life_tables`: it keeps no early-life
        # inputs; one sorted partition each on the demo)
        "spark_tables": len(list((cli_run.root / "data").glob("*.parquet"))) + 3 + 3,
        # the days of the returns, invoices and tickets before the orders' first (the late-start note,
        # `pipelines.load_notes.late_orders_start_notes`): one job for every such table (`SparkTables.event_days`)
        "spark_orders": 1,
        "spark_engine": 2,
        "spark_tiers": 2,
    }


@pytest.mark.spark
def test_spark_driver_collects_no_reason_columns(cli_run):
    """Issue 11: the executors write the reason columns (the bulk of a scores row) to the run's spill, and the
    tiered compact scores as parts the driver reads for the finish: it collects from Spark only the batches' drift
    payloads (was: one compact row per customer, `toArrow`), and says how much it received and read."""
    expected = pd.read_parquet(cli_run.out)
    got = cli_run.manifest["driver_collected"]
    reasons = [c for c in expected.columns if c.startswith(("value_reason_", "churn_reason_"))]
    assert len(reasons) >= 6
    # every customer has a feature row here (the profile inputs' test)
    assert got["parts_rows"] == len(expected)
    assert 0 < got["rows"] < len(expected) / 10 and got["drift_mb"] < 0.05  # a drift payload per batch
    # read: customer_id, bucket, eligible, spot_checked, the predictions and carried features, the 4 tier
    # columns (not the drift payloads: collected); the scores add as_of, model_version, status, status_reason, the manager, the
    # reasons (`finish_scores`), then `run_score` the run id, the raw tier and the new customers' columns
    from pipelines.newcomers import LOOKALIKE_COLUMNS, PROVISIONAL_TIER

    lookalike = [c for c in expected.columns if c.startswith("lookalike_reason_")]
    added = ["run_id", "raw_tier", *LOOKALIKE_COLUMNS, PROVISIONAL_TIER, *lookalike]
    assert set(added) <= set(expected.columns) and lookalike
    assert got["parts_columns"] == len(expected.columns) - len(reasons) - len(added) - 2
    assert 0 < got["parts_mb"] < 1
    # the profile inputs are written by the executors (their file equals the pandas engine's: the test above);
    # the features job brings the driver one row per bucket, features only (it carried each bucket's profile
    # inputs before: `profile_inputs_mb`)
    assert "profile_inputs_mb" not in got and 0 < got["heads_mb"] < 0.05


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
