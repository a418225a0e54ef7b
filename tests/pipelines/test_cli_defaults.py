"""Flags left at their defaults: `make run` is `cvp demo` with every flag at its default."""

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from pipelines.cli import app


def test_cvp_demo_runs_with_its_default_out(monkeypatch):
    """The default `--out demo` goes through the path flags' parser as a `Path` (was: exit 1, `AttributeError:
    'PosixPath' object has no attribute 'strip'` and a traceback: `make run` broken by the empty-path check)."""
    import pipelines.jobs as jobs

    seen = {}
    monkeypatch.setattr(jobs, "run_demo", lambda out, *args, **kwargs: seen.setdefault("out", out))
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    assert seen["out"] == Path("demo")


def test_an_empty_demo_out_is_still_refused(monkeypatch):
    import pipelines.jobs as jobs

    monkeypatch.setattr(jobs, "run_demo", lambda *args, **kwargs: None)
    result = CliRunner().invoke(app, ["demo", "--out", " "])
    assert result.exit_code == 2
    assert "empty" in result.output


def test_a_demo_directory_of_an_earlier_version_is_run_again(tmp_path, monkeypatch):
    """`make run` after an upgrade: the demo's own rejects and backtest directories, written before they were
    marked, are the demo's to replace (was: exit 2 "not written by cvp (no .cvp-rejects in it)" for `demo/rejects`).
    A directory that is not a demo's (no `data/_truth`) keeps its unmarked rejects directory refused."""
    import pipelines.jobs as jobs
    from features.validation import StructuralError

    class Generated(Exception):
        pass

    def stop(*args, **kwargs):
        raise Generated

    monkeypatch.setattr(jobs, "run_generate", stop)  # the checks before the work are what is tested
    demo = tmp_path / "demo"
    for path, text in {
        "data/_truth/latent.parquet": "x",
        "rejects/orders.csv": "order_id,reason\n",
        "backtest/backtest_metrics.csv": "fold\n",
    }.items():
        (demo / path).parent.mkdir(parents=True, exist_ok=True)
        (demo / path).write_text(text)
    other = tmp_path / "other"
    (other / "rejects").mkdir(parents=True)
    (other / "rejects" / "orders.csv").write_text("mine\n")

    with pytest.raises(Generated):
        jobs.run_demo(demo, None, Console(file=io.StringIO()))
    assert (demo / "rejects" / ".cvp-rejects").exists() and (demo / "backtest" / ".cvp-backtest").exists()
    with pytest.raises(StructuralError, match="not written by cvp"):
        jobs.run_demo(other, None, Console(file=io.StringIO()))
    assert (other / "rejects" / "orders.csv").read_text() == "mine\n"


def test_demo_closing_line_names_the_store_it_used(tmp_path, monkeypatch) -> None:
    """`cvp demo --tracking-uri URL` sends people to the server (password hidden), not to a local `mlflow ui`."""
    from pipelines.jobs import demo_models_hint

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    said = demo_models_hint(tmp_path / "mlruns", "https://ann:secret@mlflow.example.com")
    assert said == "open https://ann:***@mlflow.example.com"
    local = demo_models_hint(tmp_path / "mlruns", None)
    assert local == f"mlflow ui --backend-store-uri sqlite:///{(tmp_path / 'mlruns').resolve()}/mlflow.db"
