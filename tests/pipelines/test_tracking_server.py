"""A shared MLflow tracking server: train, score and report against a real `mlflow server` (model card included)."""

from __future__ import annotations

import io

import pandas as pd
import pytest
import yaml
from rich.console import Console

from tests.background import TrackingServer, scratch, take

pytestmark = pytest.mark.slow


@pytest.fixture
def server():
    """A real `mlflow server` on a free port (`background.TrackingServer`), ready when yielded: started in the
    background when the tests were collected, or now when this test runs alone."""
    running = take("tracking-server", lambda: TrackingServer(scratch("tracking-server")))
    try:
        yield running.url()
    finally:
        running.stop()


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
