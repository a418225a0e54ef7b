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


def test_the_feature_manifest_digests_the_settings_the_table_reads(trained, tmp_path):
    """`cvp features` recorded the whole configuration's digest as `config_digest`, the name the scoring manifest
    gives to the digest of the settings its output reads: a report's wording or a training-only setting changed a
    feature table's digest, not its table. Now both mean "the settings this output reads"
    (`pipelines.run_identity.FEATURE_TABLE_SETTINGS`: `data` and `features`)."""
    import json

    import yaml

    from pipelines.config import load_config
    from pipelines.run_identity import FEATURE_TABLE_SETTINGS, output_digest
    from tests.helpers import cvp

    base = yaml.safe_load(trained.config.read_text())
    other = tmp_path / "other.yaml"  # settings no feature reads: the demo, a training knob, the scoring
    other.write_text(
        yaml.safe_dump(
            base
            | {"demo": {"seed": 99}, "scoring": {"max_model_age_days": 30}}
            | {"models": base.get("models", {}) | {"min_training_customers": 7}}
        )
    )
    digests = []
    for config in (trained.config, other):
        out = tmp_path / f"{config.stem}.parquet"
        res = cvp(
            "features", "--data", trained.data, "--as-of", trained.as_of, "--out", out, "--config", config
        )
        assert res.exit_code == 0, res.output
        digests.append(json.loads(out.with_suffix(".manifest.json").read_text())["config_digest"])
    assert digests[0] == digests[1] == output_digest(load_config(trained.config), FEATURE_TABLE_SETTINGS)
    windows = tmp_path / "windows.yaml"
    windows.write_text(
        yaml.safe_dump(base | {"features": base.get("features", {}) | {"trend_window_days": 60}})
    )
    assert output_digest(load_config(windows), FEATURE_TABLE_SETTINGS) != digests[0]
