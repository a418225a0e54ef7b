"""Staging directories that killed scoring runs left beside their target are removed by the next run to that
target (was: they stayed, hidden, a whole output set each: a batch job killed night after night filled the disk)."""

from __future__ import annotations

import os
import subprocess
import sys

from pipelines.outputs import _host, remove_abandoned_staging, staging_dir


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # exited and reaped: no process has it (until the system reuses it)


def _staging(out, run: str, host: str, pid: int):
    path = out.parent / f".{out.name}.{run}.{host}-{pid}.0123abcd.run"
    path.mkdir()
    (path / "scores.parquet").write_bytes(b"x" * 1000)
    return path


def test_the_next_run_removes_what_killed_runs_left_and_keeps_the_rest(tmp_path):
    out = tmp_path / "scores.parquet"
    dead = _staging(out, "aaaa", _host(), _dead_pid())
    live = _staging(out, "bbbb", _host(), os.getpid())  # a run still going on this machine
    elsewhere = _staging(out, "cccc", "another-machine", _dead_pid())  # shared disk: not ours to judge
    other_target = tmp_path / f".other.parquet.dddd.{_host()}-{_dead_pid()}.0123abcd.run"
    other_target.mkdir()
    old_form = tmp_path / f".{out.name}.eeee.{_dead_pid()}.0123abcd.run"  # named before hosts were
    old_form.mkdir()

    fresh = staging_dir(out, "ffff")

    assert not dead.exists()
    assert live.exists() and elsewhere.exists() and other_target.exists() and old_form.exists()
    assert fresh.is_dir() and fresh.name.startswith(f".{out.name}.ffff.{_host()}-{os.getpid()}.")
    assert remove_abandoned_staging(out) == []  # this run's own directory is alive


def test_a_pending_publish_is_completed_before_its_staging_directory_is_swept(tmp_path):
    """A run killed after writing its journal still has files to move in its staging directory: the sweep
    completes that publish first, so the set it names is whole and nothing it needs is removed."""
    import json

    from pipelines.outputs import journal_path, output_paths

    out = tmp_path / "scores.parquet"
    left = _staging(out, "aaaa", _host(), _dead_pid())
    targets = output_paths(out)
    moves = [{"file": "scores", "from": str(left / "scores.parquet"), "to": str(targets["scores"])}]
    journal_path(targets).write_text(json.dumps({"moves": moves, "remove": []}))
    assert remove_abandoned_staging(out) == [left]
    assert targets["scores"].read_bytes() == b"x" * 1000 and not journal_path(targets).exists()
