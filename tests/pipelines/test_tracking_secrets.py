"""A tracking URI with a password (`http://ann:s3cret@host`): MLflow's artefact requests name their URL, password
included, in the errors they raise (`401 Client Error: ... for url: http://ann:s3cret@host/api/2.0/mlflow-artifacts/
...`). Whatever command fails that way, the password is in none of stdout, stderr, the error log or the files written.

Each test failed on the code before the fix (the `was:` of each docstring)."""

from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import keep_mlflow_uris, nothing_secret

SECRET = "s3cret"


@pytest.fixture
def server(monkeypatch):
    """A server answering /health (the product's check passes) and 401 to everything else; its URI with a user
    and password. MLflow's tracking and registry URIs are put back afterwards."""
    keep_mlflow_uris(monkeypatch)

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(200 if self.path == "/health" else 401)
            self.send_header("Content-Length", "12")
            self.end_headers()
            self.wfile.write(b"unauthorized")

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://ann:{SECRET}@127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _artifact_request_fails(uri: str):
    """What MLflow's artefact repository does against the server: a request to its artefact URL (the tracking URI's
    user info kept in it), then `augmented_raise_for_status`. Returns a function raising that real error."""

    def fail(*args: object, **kwargs: object) -> None:
        import requests
        from mlflow.utils.request_utils import augmented_raise_for_status

        augmented_raise_for_status(requests.get(f"{uri}/api/2.0/mlflow-artifacts/artifacts/1/model/MLmodel"))
        raise AssertionError("the server was expected to refuse")

    return fail


def _nothing_secret(res, tmp_path: Path) -> None:
    nothing_secret(res, tmp_path, SECRET)


def test_train_failing_on_a_server_request_shows_no_password(server, tmp_path, monkeypatch):
    """`cvp train --tracking-uri http://ann:s3cret@host` whose artefact upload is refused (was: `error: unexpected
    HTTPError: 401 Client Error: Unauthorized for url: http://ann:s3cret@...` on stderr; the log was masked)."""
    import tempfile

    from typer.testing import CliRunner

    import pipelines.train as train
    from pipelines.cli import app
    from pipelines.config import load_config

    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(
        train, "load_for_modelling", lambda *a: (load_config(None), {}, pd.Timestamp("2024-07-01"), {})
    )
    monkeypatch.setattr(train, "check_as_of", lambda *a: None)
    monkeypatch.setattr(train, "ensure_experiment", _artifact_request_fails(server))
    res = CliRunner().invoke(app, ["train", "--data", str(tmp_path), "--tracking-uri", server])
    assert res.exit_code == 1 and "unexpected HTTPError: 401" in res.stderr, res.output
    assert "http://ann:***@127.0.0.1" in res.stderr
    logs = list((tmp_path / "cvp").glob("error-*.log"))
    assert len(logs) == 1 and "ann:***@127.0.0.1" in logs[0].read_text()
    _nothing_secret(res, tmp_path)


def test_score_whose_model_download_fails_shows_no_password(server, tmp_path, monkeypatch):
    """`cvp score --model runs:/<id>/model` whose artefact download is refused (was: exit 2 `model runs:/...
    could not be loaded (corrupt or incompatible): 401 ... for url: http://ann:s3cret@...`)."""
    import mlflow.pyfunc
    from typer.testing import CliRunner

    from pipelines.cli import app

    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,revenue\nO1,C1,2023-01-05,10.5\nO2,C2,2023-01-06,20\n"
    )
    monkeypatch.setattr(mlflow.pyfunc, "load_model", _artifact_request_fails(server))
    args = ["score", "--data", str(data), "--as-of", "2023-02-01", "--out", str(tmp_path / "s.parquet")]
    res = CliRunner().invoke(app, [*args, "--model", "runs:/0123abcd/model", "--tracking-uri", server])
    assert res.exit_code == 2 and "could not be loaded" in res.stderr, res.output
    assert "ann:***@127.0.0.1" in " ".join(res.stderr.split())
    _nothing_secret(res, tmp_path)


def test_the_model_card_of_a_report_holds_no_password(server, tmp_path, monkeypatch):
    """`cvp report` reads the model card's backtest from the tracking server; its download refused (was: the card
    note, written onto the team page, `backtest artefacts unavailable: 401 ... for url: http://ann:s3cret@...`)."""
    import types

    import mlflow
    import mlflow.artifacts

    from pipelines.config import load_config
    from pipelines.tracking_card import model_card

    run = types.SimpleNamespace(
        info=types.SimpleNamespace(start_time=1_700_000_000_000, lifecycle_stage="active"),
        data=types.SimpleNamespace(params={}),
    )
    monkeypatch.setattr(mlflow.MlflowClient, "get_run", lambda self, run_id: run)
    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", _artifact_request_fails(server))
    card = model_card("3", load_config(None), 365, run_id="0123abcd", tracking_uri=server)
    assert "backtest artefacts unavailable: 401" in card["notes"] and "ann:***@127.0.0.1" in card["notes"]
    assert SECRET not in card["notes"]


def test_warnings_and_log_lines_of_a_command_show_no_password(server, tmp_path, monkeypatch, caplog):
    """A warning or a log line naming an artefact URL during a command (MLflow's, urllib3's) (was: shown as given,
    the tracking URI's password with it)."""
    import logging
    import tempfile
    import warnings

    from typer.testing import CliRunner

    import pipelines.train as train
    from pipelines.cli import app
    from pipelines.config import load_config

    def warn_log_and_fail(*args: object) -> None:
        warnings.warn(f"upload to {server}/api/2.0/mlflow-artifacts/artifacts/x is slow", stacklevel=1)
        logging.getLogger("mlflow.store.artifact").error("retrying %s/api/2.0/mlflow-artifacts/x", server)
        raise RuntimeError("stop here")

    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(
        train, "load_for_modelling", lambda *a: (load_config(None), {}, pd.Timestamp("2024-07-01"), {})
    )
    monkeypatch.setattr(train, "check_as_of", lambda *a: None)
    monkeypatch.setattr(train, "ensure_experiment", warn_log_and_fail)
    with warnings.catch_warnings(record=True) as seen, caplog.at_level(logging.ERROR):
        warnings.simplefilter("always")
        res = CliRunner().invoke(app, ["train", "--data", str(tmp_path), "--tracking-uri", server])
    assert res.exit_code == 1 and "unexpected RuntimeError: in cvp train" in res.stderr, res.output
    shown = [str(w.message) for w in seen if "is slow" in str(w.message)]
    assert len(shown) == 1 and "ann:***@127.0.0.1" in shown[0] and SECRET not in shown[0]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert len(lines) == 1 and "ann:***@127.0.0.1" in lines[0] and SECRET not in lines[0]
    _nothing_secret(res, tmp_path)


def test_the_report_reaches_the_server_the_manifest_names_with_the_password_of_the_environment(
    server, monkeypatch
):
    """The scores manifest holds the tracking URI as `http://ann:***@host`; `cvp report` without --tracking-uri
    took `***` for the password, so the model card's run was "not found" (was: asked with password `***`). Now the
    password comes back from MLFLOW_TRACKING_URI naming the same server and user; without it, the note says why."""
    import types

    import mlflow
    import mlflow.artifacts

    from pipelines.config import load_config
    from pipelines.tracking_card import model_card
    from pipelines.tracking_store import shown_uri

    asked: list[str] = []
    run = types.SimpleNamespace(
        info=types.SimpleNamespace(start_time=1_700_000_000_000, lifecycle_stage="active"),
        data=types.SimpleNamespace(params={}),
    )

    def get_run(self, run_id):
        asked.append(mlflow.get_tracking_uri())
        if SECRET not in asked[-1]:
            raise mlflow.exceptions.MlflowException("401 != 200")
        return run

    monkeypatch.setattr(mlflow.MlflowClient, "get_run", get_run)
    monkeypatch.setattr(mlflow.artifacts, "download_artifacts", _artifact_request_fails(server))
    recorded = shown_uri(server)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    card = model_card("3", load_config(None), 365, run_id="0123abcd", tracking_uri=recorded)
    assert asked == [server] and card["run_id"] == "0123abcd" and SECRET not in card["notes"]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.replace("ann:", "bob:"))  # another user: not taken
    card = model_card("3", load_config(None), 365, run_id="0123abcd", tracking_uri=recorded)
    assert asked[-1] == recorded and "not found" in card["notes"] and "password as ***" in card["notes"]


def test_the_verbose_traceback_shows_no_password(server, tmp_path):
    """`cvp --verbose train ...` (or CVP_DEBUG=1) lets an unexpected error's traceback through to Python, which
    printed it as given (was: `requests.exceptions.HTTPError: 401 ... for url: http://ann:s3cret@...`)."""
    import subprocess
    import sys

    script = (
        "import pipelines.train as train\n"
        "from pipelines.cli import app\n"
        "def fail(*args):\n"
        f"    raise RuntimeError('cannot reach {server}/api')\n"
        "train.load_for_modelling = fail\n"
        "app()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "CVP_DEBUG": "1"}
    args = ["train", "--data", str(tmp_path), "--tracking-uri", server]
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True, text=True)
    assert done.returncode == 1 and "RuntimeError: cannot reach http://ann:***@127.0.0.1" in done.stderr, (
        done.stderr
    )
    assert "Traceback (most recent call last)" in done.stderr
    assert SECRET not in done.stderr
