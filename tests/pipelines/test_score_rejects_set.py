"""`cvp score --rejects DIR`: the rejects are part of the scoring run's output set, staged at loading and published
in the same journal as the scores and manifest (`pipelines.outputs.publish`).

Was: the rejects directory was swapped in at loading, before scoring ended, so a run that failed or stopped after
loading (a model error, a stop with exit 2, a kill) left its NEW rejects beside the PREVIOUS run's scores: two runs
mixed, the manifest's rejected counts not those of the files beside it.

The tests of a fix failed on the code before it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.outputs import journal_path, output_paths, read_output_set
from pipelines.staging import JOURNAL_NOTE
from tests.pipelines.score_helpers import score_cli_args, score_trained

MARKER = ".cvp-rejects"


def _data_with_duplicates(trained, root: Path, orders: int, customers: int) -> Path:
    """The fixture's data with the first `orders` orders and `customers` customers exported twice (each copy a
    `duplicate` reject): two such directories give two runs with different rejects."""
    shutil.copytree(trained.data, root)
    for table, n in (("orders", orders), ("customers", customers)):
        if n:
            frame = pd.read_parquet(root / f"{table}.parquet")
            pd.concat([frame, frame.iloc[:n]], ignore_index=True).to_parquet(root / f"{table}.parquet")
    return root


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _set_run_id(out: Path) -> str:
    return read_output_set(out, with_churn=False).run_id


def _previous(trained, tmp_path: Path) -> tuple[Path, Path, str, dict[str, bytes]]:
    """A first run (rejects: one order) published into `out` and `rej`: (out, rej, its run id, its rejects)."""
    out, rej = tmp_path / "out" / "scores.parquet", tmp_path / "rej"
    data = _data_with_duplicates(trained, tmp_path / "first", orders=1, customers=0)
    run = score_trained(trained, out, data=data, rejects=rej)
    assert sorted(_files(rej)) == [MARKER, "orders.csv"]
    return out, rej, run.manifest["run_id"], _files(rej)


def test_a_run_failing_after_loading_leaves_the_previous_rejects_and_scores_whole(
    trained, tmp_path, monkeypatch
):
    """A model error in the scoring step (after loading): the previous run's rejects AND scores stay, one run
    (was: the new rejects, customers.csv among them, beside the previous scores); no staging left beside `rej`;
    then a clean rerun on the same data replaces both, the rejects counted in its manifest."""
    import pipelines.engines.run as run

    out, rej, old, old_rejects = _previous(trained, tmp_path)
    second = _data_with_duplicates(trained, tmp_path / "second", orders=2, customers=3)

    def fail(*args, **kwargs):
        raise RuntimeError("injected: the model failed while scoring")

    with monkeypatch.context() as m:
        m.setattr(run, "score_tables", fail)
        with pytest.raises(RuntimeError, match="injected"):
            score_trained(trained, out, data=second, rejects=rej, as_of_text="2025-01-02")
    assert _files(rej) == old_rejects
    assert _set_run_id(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".rej.publish.lock",
        "first",
        "out",
        "rej",
        "second",
    ]

    new = score_trained(trained, out, data=second, rejects=rej, as_of_text="2025-01-02").manifest
    assert new["run_id"] != old and _set_run_id(out) == new["run_id"]
    assert sorted(_files(rej)) == [MARKER, "customers.csv", "orders.csv"]
    for table in ("orders", "customers"):
        assert len(pd.read_csv(rej / f"{table}.csv", dtype=str)) == new["rows"][table]["rejected"]
    assert new["rows"]["orders"]["rejected"] == 2 and new["rows"]["customers"]["rejected"] == 3


def test_a_run_stopped_after_loading_publishes_nothing_and_says_how_to_get_its_rejects(
    trained, tmp_path, monkeypatch
):
    """`cvp score` stopped with exit 2 after loading (data stale at this as-of): nothing of it is published, the
    previous rejects and scores stay, and the run says the rejects are published with the scores and how to get
    this data's rejects alone (`cvp validate --rejects`; was: exit 2 with the new rejects already published)."""
    out, rej, old, old_rejects = _previous(trained, tmp_path)
    second = _data_with_duplicates(trained, tmp_path / "second", orders=2, customers=3)
    config = trained.config
    # today as if in 2040: an --as-of after today is refused whatever the data (`check_after_first_order`)
    monkeypatch.setattr("pipelines.loading.future_from", lambda: pd.Timestamp("2040-01-01"))
    args = score_cli_args(trained, out, "2027-06-01", config, "--rejects", str(rej))  # 2.4 years after
    args[args.index("--data") + 1] = str(second)
    res = CliRunner().invoke(app, args)
    text = " ".join(res.output.split())
    assert res.exit_code == 2 and "stale" in text, res.output
    assert _files(rej) == old_rejects and _set_run_id(out) == old
    assert "published only with the scores" in text and "cvp validate --data" in text, res.output

    res = CliRunner().invoke(app, ["validate", "--data", str(second), "--rejects", str(rej)])
    assert res.exit_code == 0, res.output
    assert sorted(_files(rej)) == [MARKER, "customers.csv", "orders.csv"]


def test_a_kill_after_the_journal_publishes_the_rejects_with_the_scores(trained, tmp_path, monkeypatch):
    """Killed after the journal was written, before any rename (or after the rejects' rename): the next reader
    completes it, so the new rejects come with the new scores, and the published rejects directory keeps no
    pointer to the journal; the completion holds the rejects directory's lock too, as the publish did."""
    import pipelines.locks as locks
    import pipelines.outputs as outputs
    from features.validation import StructuralError
    from pipelines.locks import held

    out, rej, old, old_rejects = _previous(trained, tmp_path)
    second = _data_with_duplicates(trained, tmp_path / "second", orders=2, customers=3)
    frozen = tmp_path / "frozen"
    points = []

    def freeze(point: str) -> None:
        if point in ("after_journal", "after_rejects"):
            points.append(point)
            for name in os.listdir(tmp_path):
                if name not in ("first", "second", "frozen"):
                    src = tmp_path / name
                    (shutil.copytree if src.is_dir() else shutil.copy2)(src, frozen / point / name)

    monkeypatch.setattr(outputs, "_pause_at", freeze)
    new = score_trained(trained, out, data=second, rejects=rej, as_of_text="2025-01-02").manifest["run_id"]
    assert points == ["after_journal", "after_rejects"]
    for point in points:
        for name in os.listdir(tmp_path):  # the disk as a kill at that point left it
            if name not in ("first", "second", "frozen"):
                target = tmp_path / name
                shutil.rmtree(target) if target.is_dir() else target.unlink()
        for src in (frozen / point).iterdir():
            (shutil.copytree if src.is_dir() else shutil.copy2)(src, tmp_path / src.name)
        assert journal_path(output_paths(out)).exists()
        if (
            point == "after_journal"
        ):  # a `cvp validate --rejects` swapping the directory: the completion waits
            with held(tmp_path / ".rej.publish.lock", "the rejects"), monkeypatch.context() as m:
                m.setattr(locks, "WAIT_S", 0.2)
                with pytest.raises(StructuralError, match="another cvp process"):
                    _set_run_id(out)
            assert journal_path(output_paths(out)).exists() and _files(rej) == old_rejects
        assert _set_run_id(out) == new, point
        assert sorted(_files(rej)) == [MARKER, "customers.csv", "orders.csv"], point
        assert not journal_path(output_paths(out)).exists()
    assert not (rej / JOURNAL_NOTE).exists()


def test_the_sweep_of_a_killed_runs_staged_rejects_completes_its_journal(tmp_path):
    """A killed run's staged rejects named by its journal are not swept away by the next write to the rejects
    directory (`cvp validate --rejects`, another score run): the journal is completed first, so the killed run's
    scores never come out beside the previous rejects."""
    from pipelines.staging import StagedDirectory, host, publish_files, stage_directory

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    rej = tmp_path / "rej"
    rej.mkdir()
    (rej / MARKER).write_text("")
    (rej / "orders.csv").write_text("previous\n")
    stage = tmp_path / f".rej.{host()}-{pid}.abcd1234.tmp"
    stage.mkdir()
    (stage / "orders.csv").write_text("killed run's\n")
    staged_scores = tmp_path / "staged-scores.parquet"
    staged_scores.write_text("killed run's scores")
    journal = tmp_path / ".scores.publish.json"
    killed = StagedDirectory(rej, stage, MARKER)
    killed.seal(journal)

    def killed_before_renames(point: str) -> None:
        if point == "journal":
            raise KeyboardInterrupt  # the process dies after writing its journal

    with pytest.raises(KeyboardInterrupt):
        publish_files(
            [("rejects", stage, rej), ("scores", staged_scores, tmp_path / "scores.parquet")],
            [],
            journal,
            killed_before_renames,
        )
    assert journal.exists() and stage.exists()

    fresh = stage_directory(rej, MARKER)  # the next run's rejects: its sweep meets the dead run's stage
    try:
        assert not journal.exists() and not stage.exists()
        assert (rej / "orders.csv").read_text() == "killed run's\n"
        assert (tmp_path / "scores.parquet").read_text() == "killed run's scores"
        assert not (rej / JOURNAL_NOTE).exists()
    finally:
        fresh.discard()


@pytest.mark.spark
def test_spark_a_run_failing_after_loading_leaves_the_previous_rejects_whole(
    trained, spark, tmp_path, monkeypatch
):
    """`--engine spark`: the executors write the rejects into the stage of the run's output set; a failure after
    loading leaves the previous set (rejects and scores, here of a pandas run: the Spark scoring is not what is
    tested) whole, and no stage beside it (was: Spark's `<table>/` parts swapped in at loading)."""
    import pipelines.engines.run as run

    out, rej, old, old_rejects = _previous(trained, tmp_path)
    second = _data_with_duplicates(trained, tmp_path / "second", orders=2, customers=3)

    def fail(*args, **kwargs):
        raise RuntimeError("injected: the model failed while scoring")

    monkeypatch.setattr(run, "score_tables", fail)
    with pytest.raises(RuntimeError, match="injected"):
        score_trained(trained, out, data=second, engine="spark", spark_master="local[2]", rejects=rej)
    assert sorted(p.relative_to(rej).as_posix() for p in rej.rglob("*")) == sorted(old_rejects)
    assert _files(rej) == old_rejects and _set_run_id(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".rej.publish.lock",
        "first",
        "out",
        "rej",
        "second",
    ]
