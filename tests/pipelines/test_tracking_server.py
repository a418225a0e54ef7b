"""A shared MLflow tracking server: train, score and report against a real `mlflow server` (model card included)."""

from __future__ import annotations

import io
import os
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
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
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("mlflow server did not start within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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
