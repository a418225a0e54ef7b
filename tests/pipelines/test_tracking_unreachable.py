"""A tracking server that does not answer stops the job at once, naming the address (was: MLflow's client retried
a refused connection for 4 min 22 s, then said "Train one first with `cvp train`")."""

from __future__ import annotations

import socket
import time

import pytest

from features.validation import StructuralError
from pipelines.tracking_store import configure_tracking


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


def test_an_unreachable_tracking_server_is_a_clear_error_at_once(tmp_path):
    uri = f"http://127.0.0.1:{_closed_port()}"
    t0 = time.perf_counter()
    with pytest.raises(StructuralError, match=rf"the MLflow tracking server {uri} does not answer") as err:
        configure_tracking(tmp_path / "mlruns", uri)
    assert time.perf_counter() - t0 < 10
    assert "--tracking-uri" in str(err.value)


def test_the_cli_says_so_without_a_traceback(tmp_path):
    from typer.testing import CliRunner

    from pipelines.cli import app

    uri = f"http://127.0.0.1:{_closed_port()}"
    args = ["score", "--data", str(tmp_path), "--as-of", "2025-01-01", "--out", str(tmp_path / "s.parquet")]
    result = CliRunner().invoke(app, [*args, "--tracking-uri", uri])
    assert result.exit_code == 2, result.output
    assert "does not answer" in result.output and "Traceback" not in result.output


def test_configuring_a_store_leaves_the_users_mlflow_variables_as_they_were(tmp_path, monkeypatch):
    """MLflow writes the URIs it is given into MLFLOW_TRACKING_URI and MLFLOW_REGISTRY_URI; a job must leave the
    user's environment as it found it (was: MLFLOW_REGISTRY_URI left behind, so a child process started later sent
    its registry calls to a tracking server that had since stopped, and hung)."""
    import os

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    configure_tracking(tmp_path / "mlruns")
    assert "MLFLOW_TRACKING_URI" not in os.environ and "MLFLOW_REGISTRY_URI" not in os.environ
    mine = f"sqlite:///{tmp_path / 'mine' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", mine)
    configure_tracking(tmp_path / "mlruns")
    assert os.environ["MLFLOW_REGISTRY_URI"] == mine
