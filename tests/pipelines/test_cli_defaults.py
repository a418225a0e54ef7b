"""Flags left at their defaults: `make run` is `cvp demo` with every flag at its default."""

from pathlib import Path

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
