"""The rejects directory is one output set (`--rejects DIR` of `cvp validate` and `cvp score`): published whole,
marked `.cvp-rejects`, like the report pages.

Was: one file per table written one by one into the directory, beside whatever an earlier run left there: a
table with rejects yesterday and none today still showed yesterday's file (a user, or a batch job counting
rejects, read rows that are not rejected any more), and a run stopped half way left a mix of the two runs.

Each test failed on the code before the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import pipelines.io as io
from pipelines.cli import app
from pipelines.io import load_data
from pipelines.loading import publish_rejects
from tests.pipelines.spark_input_cases import CUSTOMERS, MANAGERS, ORDERS, REFERRALS, _write

runner = CliRunner()
MARKER = ".cvp-rejects"
ALL_REJECTS = ["account_managers.csv", "customers.csv", "orders.csv", "referrals.csv"]


def _bad(root: Path) -> Path:
    """Hand-written tables with rejects in each of the four tables."""
    return _write(root, orders=ORDERS, customers=CUSTOMERS, account_managers=MANAGERS, referrals=REFERRALS)


def _clean(root: Path) -> Path:
    """The same company's rows without a reject."""
    return _write(
        root,
        orders=ORDERS.iloc[[0, 1, 9]],
        customers=CUSTOMERS.iloc[[0, 2, 5]],
        account_managers=MANAGERS.iloc[[0, 1]],
        referrals=REFERRALS.iloc[[3]],
    )


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _left_beside(folder: Path) -> list[str]:
    """What a write left in `folder` besides its lock (`.<name>.publish.lock`, kept as the report's is)."""
    return [n for n in _names(folder) if not n.endswith(".publish.lock")]


def _validate(data: Path, rejects: Path):
    return runner.invoke(app, ["validate", "--data", str(data), "--rejects", str(rejects)])


def test_a_clean_rerun_leaves_no_file_of_the_earlier_runs_rejects(tmp_path):
    rej = tmp_path / "rej"
    res = _validate(_bad(tmp_path / "bad"), rej)
    assert res.exit_code == 0, res.output
    assert _names(rej) == sorted([MARKER, *ALL_REJECTS])

    # today only the orders are clean: yesterday's orders.csv must not stay beside today's other files
    fixed = _write(tmp_path / "fixed", orders=ORDERS.iloc[[0, 1, 9]], customers=CUSTOMERS,
                   account_managers=MANAGERS, referrals=REFERRALS)  # fmt: skip
    res = _validate(fixed, rej)
    assert res.exit_code == 0, res.output
    assert "orders.csv" not in _names(rej) and "customers.csv" in _names(rej)

    res = _validate(_clean(tmp_path / "clean"), rej)
    assert res.exit_code == 0 and "no rejected rows" in res.output, res.output
    assert _names(rej) == [MARKER]  # empty and marked: no stale file survives
    assert _left_beside(tmp_path) == ["bad", "clean", "fixed", "rej"]  # no staging directory left beside it


def test_a_rejects_write_failing_half_way_leaves_the_previous_set_whole(tmp_path, monkeypatch):
    rej = tmp_path / "rej"
    publish_rejects(load_data(_bad(tmp_path / "bad")), rej)
    before = {name: (rej / name).read_bytes() for name in ALL_REJECTS}

    calls, write_frame = [], io.write_frame

    def fail_second(frame, target, index=False):
        calls.append(target)
        if len(calls) == 2:
            raise OSError("injected: disk full after the first file")
        return write_frame(frame, target, index)

    monkeypatch.setattr(io, "write_frame", fail_second)
    fixed = _write(tmp_path / "fixed", orders=ORDERS, customers=CUSTOMERS.iloc[[0, 2, 5]],
                   account_managers=MANAGERS.iloc[[0, 1]], referrals=REFERRALS)  # fmt: skip
    with pytest.raises(OSError, match="injected"):
        publish_rejects(load_data(fixed), rej)
    assert len(calls) == 2
    assert {name: (rej / name).read_bytes() for name in ALL_REJECTS} == before  # the previous set, whole
    assert _names(rej) == sorted([MARKER, *ALL_REJECTS])
    assert _left_beside(tmp_path) == ["bad", "fixed", "rej"]  # the staging directory removed

    monkeypatch.setattr(io, "write_frame", write_frame)
    written = publish_rejects(load_data(fixed), rej)
    assert _names(rej) == [MARKER, "orders.csv", "referrals.csv"]
    assert sorted(p.name for p in written.values()) == ["orders.csv", "referrals.csv"]
    assert all(p.parent == rej for p in written.values())


@pytest.mark.parametrize("command", ["validate", "score"])
def test_a_rejects_directory_of_other_files_is_refused_before_the_data_is_read(
    command, tmp_path, monkeypatch
):
    """The rejects directory is replaced whole, so one holding the user's own files (no `.cvp-rejects`) is
    refused before the model or the data are read; its files are left untouched (was: the rejects written
    among them, exit 0)."""
    import pipelines.engines.run as run
    import pipelines.jobs as jobs

    data = _bad(tmp_path / "data")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    monkeypatch.setattr(jobs, "load_and_report", lambda *a, **k: pytest.fail("the data was read"))
    monkeypatch.setattr(run, "run_score", lambda *a, **k: pytest.fail("the scoring ran"))
    args = ["--data", str(data), "--rejects", str(mine)]
    if command == "score":
        args += ["--as-of", "2024-06-01", "--out", str(tmp_path / "scores.parquet")]
    res = runner.invoke(app, [command, *args])
    assert res.exit_code == 2 and "was not written by cvp" in res.output, res.output
    assert _names(mine) == ["notes.txt"]


def test_another_output_of_the_run_inside_the_rejects_directory_is_refused(tmp_path, monkeypatch):
    """`cvp score --out rej/scores.parquet --rejects rej`: the next run's rejects replace `rej` whole, which would
    delete the scores (was: accepted, the scores set written into the rejects directory)."""
    import pipelines.engines.run as run

    monkeypatch.setattr(run, "run_score", lambda *a, **k: pytest.fail("the scoring ran"))
    rej = tmp_path / "rej"
    args = ["score", "--data", str(_bad(tmp_path / "data")), "--as-of", "2024-06-01"]
    res = runner.invoke(app, [*args, "--out", str(rej / "scores.parquet"), "--rejects", str(rej)])
    assert res.exit_code == 2 and "inside the rejects directory" in " ".join(res.output.split()), res.output


def test_the_score_manifests_reject_counts_are_those_of_the_rejects_files(trained, tmp_path):
    """`cvp score --rejects DIR` over an earlier run's rejects: the manifest counts this run's rejects and `DIR`
    holds exactly those rows (was: the earlier run's `orders.csv` stayed beside them, its rows counted by nobody)."""
    import pandas as pd

    from tests.pipelines.score_helpers import score_trained

    rej = tmp_path / "rej"
    rej.mkdir()
    (rej / MARKER).write_text("")  # an earlier run's rejects, of orders the fixture's data does not reject
    pd.DataFrame({"source_row": [3], "order_id": ["O3"], "reason": ["unparseable revenue"]}).to_csv(
        rej / "orders.csv", index=False
    )
    run = score_trained(trained, tmp_path / "scores.parquet", rejects=rej)
    for table, counts in run.manifest["rows"].items():
        path = rej / f"{table}.csv"
        in_files = len(pd.read_csv(path, dtype=str)) if path.exists() else 0
        assert in_files == counts["rejected"], table
    assert run.manifest["rows"]["orders"]["rejected"] == 0 and not (rej / "orders.csv").exists()
