"""Seam round 11, follow-up: what a batch job reads after a run agrees with what the run did and said."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest


def _runs(mlruns: Path) -> int:
    db = sqlite3.connect(mlruns / "mlflow.db")
    with contextlib.closing(db):
        return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])


@pytest.mark.parametrize("how", ["read-only", "locked"])
def test_train_on_a_store_it_cannot_write_stops_before_the_fit(trained, tmp_path, monkeypatch, how):
    """`cvp train` on a read-only MLflow store (or one another writer holds) built its training set and fitted
    every model (minutes at scale) before failing at the logging step. Now the store is asked for a write before
    the fit: exit 2 with the store's message (`pipelines.store_errors`), nothing fitted, nothing logged."""
    import pipelines.store_errors
    import pipelines.train
    from tests.helpers import cvp, keep_mlflow_uris
    from tests.pipelines.conftest import clone_registry

    keep_mlflow_uris(monkeypatch)
    config = clone_registry(trained, tmp_path)
    db = tmp_path / "mlruns" / "mlflow.db"
    before = _runs(tmp_path / "mlruns")

    def fit_reached(*args, **kwargs):
        raise RuntimeError("the training set was built: the fit was under way")

    monkeypatch.setattr(pipelines.train, "build_training_set", fit_reached)
    monkeypatch.setattr(pipelines.store_errors, "WRITE_WAIT_S", 0.5)  # the other writer holds on past it
    args = ["train", "--data", trained.data, "--as-of", trained.as_of, "--config", config]
    lock = sqlite3.connect(db, isolation_level=None)
    with contextlib.closing(lock):
        if how == "read-only":
            res = cvp(*args, "--tracking-uri", f"sqlite:///file:{db}?mode=ro&uri=true")
            said = "is read-only here"
        else:
            lock.execute("BEGIN IMMEDIATE")  # a writer mid-transaction: readers go on, writers wait
            res = cvp(*args)
            lock.execute("ROLLBACK")
            said = "is locked by another process"
    assert res.exit_code == 2, res.output
    assert "the MLflow tracking store sqlite:///" in res.output and said in res.output, res.output
    assert "fit was under way" not in res.output
    assert _runs(tmp_path / "mlruns") == before
    tables = sqlite3.connect(db)
    with contextlib.closing(tables):
        names = {n for (n,) in tables.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "cvp_write_check" not in names  # the probe's write was rolled back
