"""Round 8 of the output and seam hunt: scoring a past as-of with a model that saw its future, personal columns in
the example rows of an error, report page names made to collide.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import pytest

import pipelines.reports.pages as pages
from features.validation import StructuralError, validate_tables
from pipelines.reports import page_slugs
from tests.helpers import cvp as _cvp
from tests.helpers import keep_mlflow_uris as _keep_mlflow_uris
from tests.helpers import quiet, raw_orders
from tests.pipelines.score_helpers import score_trained


def test_an_as_of_inside_the_models_last_label_window_is_refused(trained, tmp_path):
    """The fixture's model was trained as of 2024-07-01: its latest cutoff, 2023-07-01, was labelled with what the
    customers did up to 2024-06-30. Scored as of 2024-01-01 (after the cutoff, before the labels end) it would rank
    customers by what it learnt of their next six months (was: scored, exit 0; only an as-of before the latest
    cutoff itself was refused)."""
    out = tmp_path / "s.parquet"
    with pytest.raises(StructuralError, match=r"before the end of the model's training labels, 2024-06-30"):
        score_trained(trained, out, as_of_text="2024-01-01")
    assert not out.exists()
    from features.contract import look_ahead_error  # the rule, one place

    # the boundary: labels are [cutoff, cutoff + horizon), so the window's end itself is the first honest as-of
    cutoffs = ["2023-01-01", "2023-07-01"]
    assert look_ahead_error(cutoffs, 365, pd.Timestamp("2024-06-30")) is None
    assert look_ahead_error(cutoffs, 365, pd.Timestamp("2024-06-29 23:00")) is not None
    assert look_ahead_error([], 365, pd.Timestamp("2000-01-01")) is None  # a model without recorded cutoffs


def _orders(n: int = 6) -> pd.DataFrame:
    return raw_orders(n, first_day=2)


def _customers(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "name": [f"Ann Secret{i}" for i in range(n)],
            "email": [f"ann{i}@secret.example" for i in range(n)],
            "phone": [f"+1-555-01{i:02d}" for i in range(n)],
            "address": [f"{i} Hidden Road" for i in range(n)],
        }
    )


PERSONAL_STOPS = {
    # `features.conventions.check_conventions`: acquisition costs written with a minus sign
    "negative-money": (
        {"customers": _customers().assign(acquisition_cost=["-5", "-6", "-7", "-8", "9", "-10"])},
        "table 'customers', column 'acquisition_cost': negative on 5 of the 6 rows",
    ),
    # `features.keys.check_one_row_per_key`: one customers row per address
    "rows-per-key": (
        {
            "customers": pd.concat(
                [_customers(), _customers().head(3).assign(address=["9 Other Way"] * 3)], ignore_index=True
            )
        },
        "table 'customers', column 'customer_id': 3 of 9 rows repeat the customer_id",
    ),
    # the same for the managers' table: one row per period of a manager
    "managers-per-period": (
        {
            "account_managers": pd.DataFrame(
                {
                    "account_manager_id": ["AM1", "AM1", "AM1", "AM1"],
                    "name": ["Ann Secret0", "Ann Secret1", "Ann Secret2", "Ann Secret3"],
                    "started_at": ["2021-01-01", "2022-01-01", "2023-01-01", "2023-02-01"],
                }
            )
        },
        "table 'account_managers', column 'account_manager_id': 3 of 4 rows repeat",
    ),
}


@pytest.mark.parametrize("case", list(PERSONAL_STOPS))
def test_the_example_rows_of_a_stop_never_show_a_personal_column(case):
    """Error messages land in terminals and batch logs: their example rows show `name`, `email`, `phone` and
    `address` as `(personal)` (was: the customers' names, e-mail addresses, phones and addresses printed in full
    by the negative-money and several-rows-per-key stops, which printed the table's rows themselves; the demo's
    customers file with negative acquisition costs printed five customers' names, e-mails and phones)."""
    tables, message = PERSONAL_STOPS[case]
    with pytest.raises(StructuralError) as err:
        validate_tables({"orders": _orders(), **tables})
    text = str(err.value)
    assert text.startswith(message), text
    assert "Example rows:" in text and "not shown" in text
    assert "Secret" not in text and "@" not in text and "+1-555" not in text and "Road" not in text, text


def test_a_manager_id_shaped_like_a_hashed_page_name_gets_a_page_of_its_own(monkeypatch):
    """A manager id written like another id's hashed page name (`am_1-<12 hex digits>` beside `AM:1`, which is
    hashed) (was: `cvp report` exit 1, `unexpected ValueError: manager page names collide`, no page for any
    manager). Two ids whose hashes collide (ids made to) stop with a message naming them, never one page for two
    managers."""
    hashed = "am_1-" + hashlib.sha256(b"AM:1").hexdigest()[:12]
    slugs = page_slugs(["AM:1", hashed, "AM001"])
    assert slugs["AM:1"] == hashed and slugs[hashed] != hashed and slugs["AM001"] == "AM001"
    assert len({s.casefold() for s in slugs.values()}) == 3

    class Same:
        def __init__(self, _data: bytes) -> None:
            pass

        def hexdigest(self) -> str:
            return "0" * 64

    monkeypatch.setattr(pages.hashlib, "sha256", Same)
    with pytest.raises(StructuralError, match=r"manager ids 'a b', 'a:b' would share the page name"):
        page_slugs(["a:b", "a b"])


def test_a_champion_promoted_by_another_training_meanwhile_is_not_overwritten(
    trained, challenged, tmp_path, monkeypatch
):
    """Two trainings against one registry (a shared tracking server): this one compares with champion v1, and while
    it backtests another promotes v2. Its promotion was decided against v1 only, so it is registered as challenger
    and v2 stays champion (was: `champion` moved to the new version over v2, which it was never compared with)."""
    import io

    import mlflow
    from rich.console import Console

    import pipelines.train as train
    from pipelines.config import load_config
    from pipelines.io import load_data
    from tests.pipelines.conftest import clone_registry

    config = clone_registry(challenged, tmp_path)  # v1 champion (the fixture's model), v2 challenger (worse)
    original = train.run_backtest

    def meanwhile(*args, **kwargs):
        result = original(*args, **kwargs)
        mlflow.MlflowClient().set_registered_model_alias(
            "customer-value", "champion", "2"
        )  # the other training
        return result

    monkeypatch.setattr(train, "run_backtest", meanwhile)
    tables = load_data(trained.data).tables
    res = train.train_and_register(
        tables, load_config(config), pd.Timestamp(trained.as_of), Console(file=io.StringIO())
    )
    # compared with v1 and good enough to replace it (the same configuration as v1)...
    assert "new vs champion" in res.reason and "against champion v1" in res.reason, res.reason
    # ...but v1 is no longer the champion
    assert res.alias == "challenger", res.reason
    assert "the champion became v2 while this model trained (it was compared with v1)" in res.reason
    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias("customer-value", "champion").version) == "2"
    assert str(client.get_model_version_by_alias("customer-value", "challenger").version) == res.version
    assert client.get_model_version("customer-value", res.version).tags["promotion"] == res.reason


@pytest.mark.parametrize("memory", ["garbage", "4gb", "0", "100m", "", "-4g"])
def test_a_spark_driver_memory_the_jvm_or_spark_refuses_is_named(monkeypatch, memory):
    """`CVP_SPARK_DRIVER_MEMORY` is checked before the JVM starts (was: exit 1, `unexpected PySparkRuntimeError:
    [JAVA_GATEWAY_EXITED]` for `garbage`, `4gb` or `0`, `unexpected Py4JJavaError` for `100m`, below Spark's
    minimum driver memory; each with a traceback log)."""
    from pipelines.engines.spark_session import driver_memory

    monkeypatch.setenv("CVP_SPARK_DRIVER_MEMORY", memory)
    with pytest.raises(StructuralError, match=r"CVP_SPARK_DRIVER_MEMORY = .*at least 450m"):
        driver_memory()
    for fine in ("2G", "512m", " 8g "):
        monkeypatch.setenv("CVP_SPARK_DRIVER_MEMORY", fine)
        assert driver_memory() == fine.strip()
    monkeypatch.delenv("CVP_SPARK_DRIVER_MEMORY")
    assert driver_memory() == "4g"


def test_an_empty_path_flag_is_refused_never_read_as_the_working_directory(trained, tmp_path, monkeypatch):
    """`--out "$OUT"` with the variable unset: every path flag refuses an empty value (was: `cvp generate --out ""`
    wrote the demo company into the working directory, `--rejects ""` the rejects, `--data ""` read it; exit 0)."""
    monkeypatch.chdir(tmp_path)
    cases = {
        "--out": ("generate", "--customers", 20, "--out", ""),
        "--rejects": ("validate", "--data", trained.data, "--rejects", " "),
        "--data": ("validate", "--data", ""),
        "--config": ("validate", "--data", trained.data, "--config", ""),
        "--history": ("history", "--history", ""),
    }
    for flag, args in cases.items():
        res = _cvp(*args)
        assert res.exit_code == 2, (flag, res.output)
        assert f"Invalid value for '{flag}': empty: give a path" in " ".join(res.output.split()), res.output
    assert list(tmp_path.iterdir()) == []


def test_an_output_naming_no_file_is_refused(trained, tmp_path):
    """`.`, `/` or an existing directory for a table or scores file (was: exit 1 `unexpected ValueError:
    PosixPath('.') has an empty name` for `cvp features --out .`, `cvp score --out .`, `cvp report --scores /`;
    `cvp features --out <a directory>`: `unexpected IsADirectoryError` once every feature was built)."""
    from tests.pipelines.score_helpers import score_cli_args

    features = ("features", "--data", trained.data, "--as-of", "2024-03-01", "--out")
    cases = [
        ((*features, "."), "--out must end in .parquet or .csv, not '.'"),
        ((*features, "/"), "--out must end in .parquet or .csv, not '/'"),
        ((*features, tmp_path), f"--out must end in .parquet or .csv, not '{tmp_path.name}'"),
        (score_cli_args(trained, Path(".")), "'.' names a directory, not a file"),
        (("report", "--scores", "/", "--out", tmp_path / "r"), "'/' names a directory, not a file"),
        (("profile", "--scores", ".", "--out", tmp_path / "p"), "'.' names a directory, not a file"),
    ]
    for args, message in cases:
        res = _cvp(*args)
        assert res.exit_code == 2 and message in " ".join(res.output.split()), (args, res.output)
    assert list(tmp_path.iterdir()) == []


def test_a_negative_seed_and_backtest_folds_before_1900_are_refused(trained, tmp_path):
    """(was: `cvp generate --seed -1` exit 1 `unexpected ValueError: expected non-negative integer`; `cvp backtest
    --folds 1000000` (or `models.backtest_folds`) exit 1 `unexpected ValueError: year 0 is out of range`)."""
    res = _cvp("generate", "--customers", 20, "--seed", -1, "--out", tmp_path / "g")
    assert res.exit_code == 2 and "Invalid value for '--seed'" in res.output, res.output
    res = _cvp(
        "backtest",
        "--data",
        trained.data,
        "--config",
        trained.config,
        "--folds",
        10**6,
        "--out",
        tmp_path / "b",
    )
    assert res.exit_code == 2, res.output
    assert "1000000 backtest folds every 3 month(s)" in " ".join(res.output.split()), res.output
    assert "reach back before 1900" in " ".join(res.output.split())


_KILLED = """
import os, signal, sys
from pathlib import Path
from pipelines.io import atomic_directory, atomic_path
root = Path(sys.argv[1])
with atomic_path(root / "rejects" / "customers.csv") as tmp:
    tmp.write_text("customer_id,name\\nC1,Ann Secret\\n")
    with atomic_directory(root / "reports", ".cvp-report") as stage:
        (stage / "manager-AM1.html").write_text("Ann Secret, 1,234 EUR")
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_what_a_killed_run_was_writing_is_removed_by_the_next_run(tmp_path):
    """A `cvp report` (or `cvp profile`, or a rejects or feature file's write) killed by SIGKILL or SIGTERM leaves
    its staging copy beside the target; the next write to that target removes it (was: a hidden
    `.reports.<random>.tmp` holding every manager's pages, and `.customers.csv.<random>.tmp` the rejected rows
    with their personal columns, left for good, one more per killed run). Another machine's staging (a shared
    disk) and a live run's are kept."""
    import subprocess
    import sys

    from pipelines.io import atomic_directory, write_atomic
    from pipelines.staging import host

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", _KILLED, str(tmp_path)], cwd=root, capture_output=True)
    assert done.returncode == -9, done.stderr
    left = sorted(p.name for p in tmp_path.rglob(".*.tmp"))
    assert len(left) == 2, left  # the killed run's report staging and rejects file
    other = tmp_path / f".reports.{host()}x-1.abcd1234.tmp"  # another machine's (its host differs)
    live = tmp_path / f".reports.{host()}-{os.getpid()}.abcd1234.tmp"  # a run still going on this machine
    other.mkdir()
    live.mkdir()
    with atomic_directory(tmp_path / "reports", ".cvp-report") as stage:
        (stage / "index.html").write_text("team")
    write_atomic(tmp_path / "rejects" / "customers.csv", lambda p: p.write_text("customer_id\nC2\n"))
    assert sorted(p.name for p in tmp_path.rglob(".*.tmp")) == sorted([other.name, live.name])
    assert "Secret" not in "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())


def test_a_demo_window_under_30_days_is_named(tmp_path):
    """(was: `cvp generate --start 2021-01-01 --end 2021-01-10` exit 1, `unexpected ValueError: the window from
    start to end must span at least 30 days`, a traceback log)."""
    res = _cvp("generate", "--start", "2021-01-01", "--end", "2021-01-10", "--out", tmp_path / "g")
    assert res.exit_code == 2, res.output
    assert "2021-01-01 to 2021-01-10 (--start and --end" in " ".join(res.output.split())
    assert not (tmp_path / "g" / "orders.parquet").exists()


def test_the_demo_generator_never_writes_over_a_real_data_directory(trained, tmp_path):
    """`cvp generate --out data` where `data` holds a company's own tables (was: exit 0, the real
    `orders.parquet` and every other table replaced by the demo company's; a real `orders.csv` left beside a demo
    `orders.parquet`, which every later command then refused as two files). A demo company written earlier (it
    has `_truth/`) is replaced, in the other format too."""
    import shutil

    real = tmp_path / "real"
    shutil.copytree(trained.data, real, ignore=shutil.ignore_patterns("_truth"))
    before = {p.name: p.read_bytes() for p in real.iterdir()}
    res = _cvp("generate", "--customers", 20, "--out", real)
    assert res.exit_code == 2, res.output
    assert "holds tables the demo generator did not write" in " ".join(res.output.split())
    assert {p.name: p.read_bytes() for p in real.iterdir()} == before
    demo = tmp_path / "demo"
    assert _cvp("generate", "--customers", 20, "--out", demo, "--format", "csv").exit_code == 0
    assert _cvp("generate", "--customers", 20, "--out", demo).exit_code == 0
    assert not list(demo.glob("*.csv")) and (demo / "orders.parquet").is_file()


def test_a_model_of_another_flavour_is_named_not_a_customer_value_model(trained, tmp_path):
    """`--model` naming a registered model that is not this product's (a scikit-learn model in the same registry)
    (was: exit 1, `unexpected MlflowException: Unable to retrieve base model object from pyfunc`)."""
    import mlflow
    import numpy as np
    from sklearn.linear_model import LinearRegression

    from pipelines.config import load_config
    from pipelines.tracking_store import configure_tracking
    from tests.pipelines.conftest import clone_registry

    config = clone_registry(trained, tmp_path)
    configure_tracking(Path(load_config(config).mlflow.tracking_dir))
    with mlflow.start_run():
        fitted = LinearRegression().fit(np.arange(4.0).reshape(-1, 1), np.arange(4.0))
        # its requirements given: MLflow infers them otherwise in a fresh interpreter (10-15 s; not what is tested)
        mlflow.sklearn.log_model(
            fitted, name="model", registered_model_name="other-model", pip_requirements=["scikit-learn"]
        )
    out = tmp_path / "s.parquet"
    with pytest.raises(
        StructuralError, match=r"models:/other-model/1 is not a customer-value model \(its flavours"
    ):
        score_trained(trained, out, config=config, model_uri="models:/other-model/1")
    assert not out.exists()


def test_a_profile_of_another_scoring_run_is_refused_by_the_report(
    trained, default_scores, mid_month_scores, tmp_path
):
    """`cvp report --profile DIR` with the profile of another run (an older month, another company) (was: exit 0,
    that run's ideal-customer profile, payback and new customers shown on this run's pages without a word)."""
    import io

    from rich.console import Console

    from pipelines.profile import run_profile

    quiet = Console(file=io.StringIO())
    run_profile(default_scores.out, None, tmp_path / "profile", None, trained.config, quiet)
    other = mid_month_scores  # the same model and data as of 2025-01-15, scored once per session (was: here)
    args = ("report", "--scores", other, "--config", trained.config, "--out", tmp_path / "r")
    res = _cvp(*args, "--profile", tmp_path / "profile")
    text = " ".join(res.output.split())
    assert res.exit_code == 2, res.output
    assert "is the profile of another scoring run" in text and "as of 2025-01-01" in text
    assert not (tmp_path / "r").exists()


def test_a_password_in_the_tracking_uri_is_never_shown_and_the_server_check_passes():
    """`--tracking-uri https://ann:secret@host` (MLflow's client sends the user info as basic auth) (was: the
    health check took `ann:secret@host` for a host name and stopped the run, "does not answer", printing the
    password; the manifest of every scores set and the team page's model card note wrote it too)."""
    import http.server
    import threading

    from pipelines.tracking_store import _check_server_answers

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    uri = f"http://ann:s3cret@127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _check_server_answers(uri)  # it answers: no error
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(StructuralError) as err:  # now nobody listens there
        _check_server_answers(uri)
    assert "s3cret" not in str(err.value) and "ann:***@127.0.0.1" in str(err.value)
    from pipelines.tracking_store import shown_uri  # what the manifest and the model card note write

    assert shown_uri("https://ann:s3cret@mlflow.example:5000/x") == "https://ann:***@mlflow.example:5000/x"
    assert shown_uri("https://mlflow.example") == "https://mlflow.example"
    assert shown_uri("sqlite:////srv/mlruns/mlflow.db") == "sqlite:////srv/mlruns/mlflow.db"


def test_the_error_log_of_an_unexpected_error_holds_no_password(tmp_path, monkeypatch):
    """The log of an unexpected error starts with the command line, which may carry `--tracking-uri
    https://ann:secret@host` (was: written as given into `<temp dir>/cvp/error-*.log`, readable by other users of
    the machine)."""
    import sys
    import tempfile

    from pipelines.cli import _error_log

    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(sys, "argv", ["cvp", "score", "--tracking-uri", "https://ann:s3cret@mlflow.example"])
    log = _error_log(RuntimeError("POST https://ann:s3cret@mlflow.example/api failed"))
    text = log.read_text(encoding="utf-8")
    assert "s3cret" not in text and "https://ann:***@mlflow.example" in text and "RuntimeError" in text


ORDERS_CSV = "order_id,customer_id,ordered_at,revenue\nO1,C1,2023-01-05,10.5\nO2,C2,2023-01-06,20\n"


def test_a_features_run_failing_between_its_two_files_leaves_the_previous_table_and_manifest(
    tmp_path, monkeypatch
):
    """`cvp features` wrote its table, then its manifest, one by one: a run stopped between them left the new
    table beside the previous run's manifest (was: the table of 2023-03-01 with the manifest of 2023-02-01). Now
    the two are published together: the previous pair stays whole, and a rerun writes the new pair."""
    import json

    import pipelines.jobs as jobs

    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text(ORDERS_CSV)
    out = tmp_path / "f" / "features.parquet"
    manifest = out.with_suffix(".manifest.json")
    jobs.run_features(data, "2023-02-01", out, None, None, quiet(200))
    old_table, old_manifest = out.read_bytes(), manifest.read_text()
    assert json.loads(old_manifest)["cutoffs"][0].startswith("2023-02-01")

    real = jobs.write_json

    def fail(*args, **kwargs):
        raise OSError("disk full (injected between the table and its manifest)")

    monkeypatch.setattr(jobs, "write_json", fail)
    with pytest.raises(OSError, match="injected"):
        jobs.run_features(data, "2023-03-01", out, None, None, quiet(200))
    assert out.read_bytes() == old_table and manifest.read_text() == old_manifest
    left = sorted(p.name for p in out.parent.iterdir())
    assert left == [".features.publish.lock", "features.manifest.json", "features.parquet"]  # no staging left

    monkeypatch.setattr(jobs, "write_json", real)
    jobs.run_features(data, "2023-03-01", out, None, None, quiet(200))
    assert json.loads(manifest.read_text())["cutoffs"][0].startswith("2023-03-01")
    assert out.read_bytes() != old_table


def test_a_set_killed_during_its_renames_is_completed_by_the_next_writer(tmp_path):
    """A run killed after its journal, between the renames of its files (the table renamed, the manifest not):
    the next write to the set first completes it, and a reader never keeps a mix."""
    from pipelines.staging import atomic_files, journal_for, publish_files

    targets = {"table": tmp_path / "t.csv", "manifest": tmp_path / "t.manifest.json"}
    for name, path in targets.items():
        path.write_text(f"old {name}")
    stage = tmp_path / "stage"
    stage.mkdir()
    for name in targets:
        (stage / name).write_text(f"new {name}")

    class Killed(BaseException):
        pass

    def kill(point: str) -> None:
        if point == "table":
            raise Killed

    with pytest.raises(Killed):
        publish_files(
            [(k, stage / k, p) for k, p in targets.items()], [], journal_for(targets["table"]), kill
        )
    assert targets["table"].read_text() == "new table" and targets["manifest"].read_text() == "old manifest"
    with atomic_files(targets, "the test set") as staged:  # the next run: completes the set first
        assert targets["manifest"].read_text() == "new manifest"
        assert not journal_for(targets["table"]).exists()
        for name, path in staged.items():
            path.write_text(f"newer {name}")
    assert {p.read_text() for p in targets.values()} == {"newer table", "newer manifest"}


def _backtest_result():
    from types import SimpleNamespace

    frame = pd.DataFrame({"model": ["model"], "metric": ["mae"], "mean": [1.0]})
    empty = pd.DataFrame()
    return SimpleNamespace(
        metrics=frame,
        summary=frame,
        fold_totals=empty,
        metrics_by_tier=empty,
        summary_by_tier=empty,
        gain_curves=empty,
        decile_tables=empty,
        calibration_curves=empty,
    )


def test_a_backtest_failing_half_way_leaves_the_previous_directory_whole(tmp_path, monkeypatch):
    """`cvp backtest --out` wrote its metrics and plots one by one into the directory: a run stopped after the
    metrics left them beside the previous run's plots (was: backtest_metrics.csv new, gain_curve.png old). Now
    the directory is replaced as a whole: the previous one stays, and a rerun replaces it."""
    import pipelines.backtest_record as backtest_record

    out = tmp_path / "backtest"
    out.mkdir()
    (out / ".cvp-backtest").write_text("")  # an earlier run's directory
    (out / "backtest_metrics.csv").write_text("old")
    (out / "gain_curve.png").write_text("old plot")

    def fail(result, out_dir):
        raise OSError("injected after the metrics")

    monkeypatch.setattr(backtest_record, "backtest_plots", fail)
    with pytest.raises(OSError, match="injected"):
        backtest_record.write_backtest(_backtest_result(), out)
    assert (out / "backtest_metrics.csv").read_text() == "old" and (out / "gain_curve.png").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backtest"]  # no staging left

    monkeypatch.setattr(backtest_record, "backtest_plots", lambda result, out_dir: {})
    files = backtest_record.write_backtest(_backtest_result(), out)
    assert set(files.values()) == {
        out.resolve() / "backtest_metrics.csv",
        out.resolve() / "backtest_summary.csv",
    }
    assert sorted(p.name for p in out.iterdir()) == [
        ".cvp-backtest",
        "backtest_metrics.csv",
        "backtest_summary.csv",
    ]  # the previous run's plot does not survive beside the new metrics


@pytest.mark.parametrize("out", ["/", "/etc", "/usr/", "~"])
def test_a_directory_output_naming_the_root_or_a_system_directory_is_refused(out, tmp_path, monkeypatch):
    """`cvp backtest --out /` wrote its metrics and plots into `/` (as root), `--rejects /etc` would put
    `orders.csv` into /etc: every command's directory output is checked in one place, before anything is read."""
    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.output_checks import check_outputs

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    target = Path(out).expanduser()
    with pytest.raises(StructuralError, match="a directory of the system"):
        check_outputs(tmp_path, {}, {"backtest directory": target})
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text(ORDERS_CSV)
    res = CliRunner().invoke(app, ["backtest", "--data", str(data), "--out", str(target)])
    assert res.exit_code == 2 and "a directory of the system" in res.output, res.output
    for args in (
        ["validate", "--data", str(data), "--rejects", str(target)],
        ["generate", "--out", str(target), "--customers", "10"],
        ["report", "--data", str(data), "--scores", str(tmp_path / "s.parquet"), "--out", str(target)],
        ["profile", "--data", str(data), "--scores", str(tmp_path / "s.parquet"), "--out", str(target)],
    ):
        res = CliRunner().invoke(app, args)
        assert res.exit_code == 2 and "a directory of the system" in res.output, (args, res.output)
    check_outputs(tmp_path, {}, {"backtest directory": tmp_path / "bt"})  # a directory of its own is fine


@pytest.mark.parametrize("customers", ["10000000000000", "1000001"])
def test_generate_more_customers_than_the_bound_is_exit_2_naming_the_flag(customers, tmp_path):
    """`cvp generate --customers 10000000000000` was exit 1 `unexpected MemoryError`: now exit 2 naming the flag
    and the largest allowed (1,000,000: about 4 KB of peak memory per customer, measured), nothing written."""
    from typer.testing import CliRunner

    from pipelines.cli import MAX_DEMO_CUSTOMERS, app

    assert MAX_DEMO_CUSTOMERS == 1_000_000
    res = CliRunner().invoke(app, ["generate", "--out", str(tmp_path / "d"), "--customers", customers])
    assert res.exit_code == 2, res.output
    assert "--customers" in res.output and "1000000" in res.output
    assert not (tmp_path / "d").exists()


def _serve(status_of):
    """A local HTTP server answering every request with `status_of(path)`; returns (server, uri, paths asked)."""
    import http.server
    import threading

    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            asked.append(self.path)
            self.send_response(status_of(self.path))
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://ann:s3cret@127.0.0.1:{server.server_port}", asked


def test_a_tracking_server_answering_5xx_is_exit_2_naming_it_and_mlflow_retries_are_bounded(
    tmp_path, monkeypatch
):
    """A tracking server (or the proxy before it) answering 503 to everything: its /health answer was taken for
    "it is there", then MLflow's client retried every request 7 times with backoff up to 2 minutes, more than 5
    minutes before an `unexpected MlflowException`. Now the health check stops at once naming the server (its
    password masked), and the retries MLflow makes are bounded unless the user set them."""
    import time

    import mlflow

    from pipelines.tracking_store import SERVER_RETRIES, configure_tracking

    for name in SERVER_RETRIES:
        monkeypatch.delenv(name, raising=False)
    _keep_mlflow_uris(monkeypatch)
    server, uri, asked = _serve(lambda path: 503)
    try:
        with pytest.raises(StructuralError, match=r"answers with a server error \(HTTP 503") as err:
            configure_tracking(tmp_path, uri)
        assert "ann:***@127.0.0.1" in str(err.value) and "s3cret" not in str(err.value)
    finally:
        server.shutdown()
        server.server_close()

    server, uri, asked = _serve(lambda path: 200 if path == "/health" else 503)  # healthy, then failing
    try:
        configure_tracking(tmp_path, uri)
        assert {name: os.environ.get(name) for name in SERVER_RETRIES} == SERVER_RETRIES
        t0 = time.monotonic()
        with pytest.raises(Exception, match="503|500|error responses"):
            mlflow.search_experiments()
        assert time.monotonic() - t0 < 30
        assert len([p for p in asked if p.startswith("/api")]) == 1 + int(
            SERVER_RETRIES["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
        )
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # the user's own choice is kept
        configure_tracking(tmp_path, uri)
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "0"
    finally:
        server.shutdown()
        server.server_close()


def test_a_generate_run_failing_half_way_leaves_the_previous_demo_company_whole(tmp_path, monkeypatch):
    """`cvp generate` wrote its tables one by one: a run stopped after some of them left new orders beside the
    previous company's customers (was: orders of seed 2 with customers of seed 1). Now the tables and the truth
    are published together; a rerun writes the new company whole."""
    import pipelines.demo.write as write
    from pipelines.jobs import run_generate

    out = tmp_path / "demo"
    run_generate(out, 60, "2022-01-01", "2023-12-31", 1, "csv", quiet(200))
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    real, calls = write._write_table, []

    def fail_third(frame, path, fmt):
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full (injected)")
        real(frame, path, fmt)

    monkeypatch.setattr(write, "_write_table", fail_third)
    with pytest.raises(OSError, match="injected"):
        run_generate(out, 60, "2022-01-01", "2023-12-31", 2, "parquet", quiet(200))
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # the csv company whole: no parquet table beside it, none removed, no staging left
    monkeypatch.setattr(write, "_write_table", real)
    run_generate(out, 60, "2022-01-01", "2023-12-31", 2, "parquet", quiet(200))
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == sorted(["_truth"] + [f"{n}.parquet" for n in write.TABLE_NAMES])


def test_backtest_into_a_directory_of_other_files_is_refused_before_the_work(tmp_path, monkeypatch):
    """The backtest directory is replaced as a whole, so one holding the user's own files (no `.cvp-backtest`) is
    refused, and before the data is read (not after the folds are computed); its files are left untouched."""
    from typer.testing import CliRunner

    import pipelines.train as train
    from pipelines.cli import app

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    monkeypatch.setattr(train, "load_for_modelling", lambda *a, **k: pytest.fail("the data was read"))
    res = CliRunner().invoke(app, ["backtest", "--data", str(tmp_path), "--out", str(mine)])
    assert res.exit_code == 2 and "was not written by cvp" in res.output, res.output
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_a_tracking_server_failing_during_the_run_is_exit_2_naming_it_without_its_password(
    tmp_path, monkeypatch
):
    """A server that passes the health check, then answers 503 to MLflow's requests: `cvp score` said "cannot
    load model ...: API request to http://ann:s3cret@... failed ... Train one first with `cvp train`" (the
    password printed, the advice wrong). Now exit 2 naming the server (password as ***) and what failed."""
    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.tracking_store import SERVER_RETRIES

    for name in SERVER_RETRIES:
        monkeypatch.delenv(name, raising=False)
    _keep_mlflow_uris(monkeypatch)
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text(ORDERS_CSV)
    server, uri, asked = _serve(lambda path: 200 if path == "/health" else 503)
    try:
        args = ["score", "--data", str(data), "--as-of", "2023-02-01", "--out", str(tmp_path / "s.parquet")]
        res = CliRunner().invoke(app, [*args, "--tracking-uri", uri])
    finally:
        server.shutdown()
        server.server_close()
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "the MLflow tracking server http://ann:***@127.0.0.1" in text and "failed during the run" in text
    assert "s3cret" not in text and "Train one first" not in text
    assert not (tmp_path / "s.parquet").exists()
