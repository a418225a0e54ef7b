"""Hostile environments found in the twenty-fifth hunt (the output side): a disk that fills while a command writes
its outputs. Cheap: a demo company of 40 customers written by `cvp generate` with its Parquet writer refusing for
want of space, and the contributions writer closed on a full disk; no training, no Spark."""

from __future__ import annotations

import errno

import pandas as pd
import pytest

from tests.helpers import cvp


def _full_disk(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")


def test_a_full_disk_stops_with_a_message_not_a_traceback(tmp_path, monkeypatch):
    """`cvp score --out` (any command) onto a disk that fills while it writes: was exit 1 `unexpected OSError:
    [Errno 28] Error writing bytes to file` and a traceback log. Now exit 2 naming the cause, the free space of
    each place the command writes, the temporary directory's, and the way out (`pipelines.cli_errors.disk_full`);
    the staged files are removed, the previous set kept."""
    out = tmp_path / "demo company"
    first = cvp("generate", "--out", out, "--customers", 40)
    assert first.exit_code == 0, first.output
    before = {p.name: p.read_bytes() for p in out.glob("*.parquet")}
    monkeypatch.setattr("pyarrow.parquet.write_table", _full_disk)
    res = cvp("generate", "--out", out, "--customers", 40, "--seed", 8)
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "unexpected" not in text and "traceback" not in text
    assert "a disk is full (No space left on device)" in text
    assert f"--out {out} (" in text and "MB free now)" in text and "the temporary directory" in text
    assert {p.name: p.read_bytes() for p in out.glob("*.parquet")} == before  # the previous company, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo company"], "a staged copy left on the disk"


def test_a_writer_whose_close_fails_on_a_full_disk_is_not_closed_twice(tmp_path, monkeypatch):
    """The contributions (and profile-inputs) writer closed on a full disk: Arrow's close writes the file's
    footer and fails. The run's cleanup closes it again before removing its staging directory; was: the second
    close raised the same error, so the staging directory (the failed run's files) stayed on the full disk."""
    from pipelines.outputs import ContributionsWriter

    writer = ContributionsWriter(tmp_path / "c.parquet", "run")
    writer.add(pd.DataFrame({"x": [1.0, 2.0]}, index=pd.Index(["C1", "C2"], name="customer_id")))
    writer._wait()
    arrow = writer._writer
    calls: list[int] = []

    def close_on_full_disk() -> None:
        calls.append(1)
        _full_disk()

    monkeypatch.setattr(arrow, "close", close_on_full_disk)
    with pytest.raises(OSError):
        writer.close()
    writer.close()  # the cleanup's close: nothing left to close
    assert calls == [1]
