"""A shared MLflow tracking server: train, score and report against a real `mlflow server` (model card included)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml
from rich.console import Console

pytestmark = pytest.mark.slow


#: Seconds a starting server may take to answer /health: generous, because under load (2 busy cores) the server's
#: imports alone can take a minute; readiness is polled, so a quick start costs nothing.
READY_TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and its children (uvicorn runs in a child process): signal the whole process group."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # any child left behind
    proc.wait()


def _start(tmp_path: Path, attempt: int) -> tuple[subprocess.Popen, str, Path]:
    port = _free_port()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    cmd = [
        str(mlflow_bin),
        "server",
        "--backend-store-uri",
        f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination",
        str(tmp_path / "server-artifacts"),
        "--serve-artifacts",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    # no job-runner process: nothing here runs server jobs
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    # The server's log goes to a file: a pipe nobody reads fills up and blocks the server mid-test.
    log = tmp_path / f"server-{attempt}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            cmd, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=tmp_path, start_new_session=True
        )
    return proc, f"http://127.0.0.1:{port}", log


def _ready(proc: subprocess.Popen, url: str, deadline: float) -> bool:
    """Poll /health until it answers 200 (True) or the server exits (False); fail at the deadline."""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"mlflow server did not answer {url}/health within {READY_TIMEOUT_S} s")


@pytest.fixture
def server(tmp_path, new_store):
    """A real `mlflow server` on a free port, ready when yielded. The port is free when chosen but another process
    may take it before the server binds: the server then exits, and it is started again on another port. Its
    backend store starts as a copy of the session's new store (MLflow's schema migrations already run)."""
    shutil.copyfile(new_store, tmp_path / "server.db")
    deadline = time.monotonic() + READY_TIMEOUT_S
    for attempt in range(3):
        proc, url, log = _start(tmp_path, attempt)
        try:
            ready = _ready(proc, url, deadline)
        except BaseException:
            _stop(proc)
            raise
        if ready:
            break
        _stop(proc)
    else:
        raise RuntimeError(
            f"mlflow server exited 3 times; last log: {log.read_text(errors='replace')[-2000:]}"
        )
    try:
        yield url
    finally:
        _stop(proc)


def test_train_score_report_against_a_tracking_server(trained, server, tmp_path, monkeypatch):
    from pipelines.config import load_config
    from pipelines.engines.run import run_score
    from pipelines.io import load_data
    from pipelines.jobs import run_report
    from pipelines.train import train_and_register

    monkeypatch.chdir(tmp_path)  # nothing may land in a local store of the working directory
    base = yaml.safe_load(trained.config.read_text())
    base["mlflow"] = {"tracking_dir": str(tmp_path / "local-mlruns")}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(base))
    cfg = load_config(config)
    console = Console(file=io.StringIO(), width=200)
    tables = load_data(trained.data).tables
    res = train_and_register(tables, cfg, pd.Timestamp("2024-07-01"), console, tracking_uri=server)
    assert res.alias == "champion"
    out = tmp_path / "scores.parquet"
    run = run_score(
        trained.data, "2025-01-01", out, None, "pandas", None, None, config, console, tracking_uri=server
    )
    assert run.manifest["tracking_uri"] == server and run.manifest["model_run_id"] == res.run_id
    # the report finds the model card through the manifest alone: no --tracking-uri, no local store
    index = run_report(out, tmp_path / "reports", None, None, config, console)
    html = index.read_text()
    assert '<table class="backtest">' in html and "value_norm_gini" in html
    assert not (tmp_path / "local-mlruns" / "mlflow.db").exists()
    assert not (tmp_path / "mlruns").exists()
