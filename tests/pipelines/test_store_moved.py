"""A local tracking store moved or copied to another folder (`pipelines.store_moved`): its models' paths follow it.

Was: MLflow's sqlite store names its files by absolute path, so a copied store read the original's models and
wrote its own trainings' files into the original's folder, and a moved one (the old folder gone) said "No such
artifact: ''" for every model.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing

from pipelines.store_moved import LOCATION_COLUMNS, follow_move
from tests.pipelines.conftest import PRISTINE


def _locations(store) -> list[str]:
    with closing(sqlite3.connect(store)) as db:
        return [
            value
            for table, column in LOCATION_COLUMNS
            for (value,) in db.execute(f'SELECT "{column}" FROM "{table}"').fetchall()
            if value and value.startswith("file:")
        ]


def test_a_copied_store_reads_and_writes_its_own_files_and_says_so(trained, tmp_path, capsys):
    """`configure_tracking` on a copy of the fixture's store (every `cvp` command opening it): each file path the
    store records points into the copy, the champion loads from the copy's files, a note on stderr says so; the
    next command finds nothing to do."""
    from pipelines.tracking import load_bundle
    from pipelines.tracking_store import configure_tracking

    copy = tmp_path / "elsewhere" / "mlruns"
    shutil.copytree(trained.root / PRISTINE, copy)
    original = (trained.mlruns.resolve() / "artifacts").as_uri()
    assert any(v.startswith(original) for v in _locations(copy / "mlflow.db"))  # as copied: the original's

    configure_tracking(copy, reading=True)
    said = capsys.readouterr().err
    assert "was moved or copied from" in said and str(trained.mlruns.resolve()) in " ".join(said.split())
    mine = (copy.resolve() / "artifacts").as_uri()
    locations = _locations(copy / "mlflow.db")
    assert locations and all(v == mine or v.startswith(mine + "/") for v in locations)
    loaded = load_bundle("models:/customer-value@champion")
    assert loaded.version == "1"

    configure_tracking(copy, reading=True)  # done once
    assert "moved or copied" not in capsys.readouterr().err


def test_a_store_moved_without_its_files_names_where_they_were(trained, tmp_path):
    """Only `mlflow.db` moved (no `artifacts` folder beside it): nothing is rewritten (the paths still name the
    files that exist), the note names the folder the models are read from."""
    moved = tmp_path / "mlruns"
    moved.mkdir()
    shutil.copy(trained.root / PRISTINE / "mlflow.db", moved / "mlflow.db")
    before = _locations(moved / "mlflow.db")
    note = follow_move(moved / "mlflow.db")
    assert note is not None and str(trained.mlruns.resolve() / "artifacts") in note
    assert "without its `artifacts` folder" in note
    assert _locations(moved / "mlflow.db") == before


def test_a_locked_store_is_not_waited_for(trained, tmp_path):
    """A store another process holds locked (a training logging its run): the look for a move is skipped at once
    (`store_moved.LOCK_WAIT_S`), the command's own use of the store says it is locked. Was: every command waited
    30 s for the lock first (`test_seam_round11.py`'s locked-store test took 61 s)."""
    import time

    copy = tmp_path / "mlruns"
    shutil.copytree(trained.root / PRISTINE, copy)
    lock = sqlite3.connect(copy / "mlflow.db", isolation_level=None)
    with closing(lock):
        lock.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()
        assert follow_move(copy / "mlflow.db") is None
        assert time.monotonic() - started < 5
        lock.execute("ROLLBACK")
    assert "now point to" in (follow_move(copy / "mlflow.db") or "")  # unlocked: the move is followed


def test_a_store_given_by_uri_keeps_its_files_beside_it(new_store, tmp_path, monkeypatch, capsys):
    """`--tracking-uri sqlite:////srv/x.db` (or `MLFLOW_TRACKING_URI`) with the config's `mlflow.tracking_dir`
    elsewhere: the experiment's files go to `/srv/artifacts`, beside the store, and the next command opening it
    says nothing (was: into the config's `mlruns/artifacts` of the folder the command ran in, and every later
    command noted "names its models' files under .../mlruns/artifacts, not beside it: moved or copied?")."""
    import mlflow

    from pipelines.tracking_store import configure_tracking, ensure_experiment
    from tests.helpers import keep_mlflow_uris
    from tests.pipelines.conftest import empty_registry

    keep_mlflow_uris(monkeypatch)
    store = empty_registry(new_store, tmp_path / "srv")
    configured = tmp_path / "project" / "mlruns"  # the config's tracking_dir, not the store's folder
    uri = f"sqlite:///{store}"
    configure_tracking(configured, uri)
    experiment = ensure_experiment("cvp-by-uri", configured)
    location = mlflow.get_experiment(experiment).artifact_location
    assert location == (tmp_path / "srv" / "artifacts").resolve().as_uri(), location
    assert follow_move(store) is None
    configure_tracking(configured, uri, reading=True)
    assert "moved or copied" not in capsys.readouterr().err
