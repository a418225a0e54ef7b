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
    monkeypatch.chdir(tmp_path)  # MLflow makes `./file:/...` a directory for a `file:` sqlite URI
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


def test_every_warning_cvp_score_prints_is_in_its_manifest_and_no_other(trained, tmp_path, monkeypatch):
    """What a batch job alerts on (the manifest's `warnings`) and what the run printed are the same list: each
    printed `warning:` is listed, each listed one was printed. One run collects the paths: settings other than
    the model's, a stale model, events after the as-of, rejected rows, and the engine's notes (a BG/NBD fit
    failing at the as-of: its inputs missing for every customer). The last was in the manifest's `notes` only,
    never printed nor a warning (was: a degraded run said nowhere a batch job reads)."""
    import io
    import shutil

    import pandas as pd
    import yaml
    from rich.console import Console

    import pipelines.engines.pandas_engine as pandas_engine
    from tests.pipelines.score_helpers import AS_OF, score_trained

    data = tmp_path / "data"
    shutil.copytree(trained.data, data)
    orders = pd.read_parquet(data / "orders.parquet")
    extra = orders.iloc[:2].copy()
    extra["order_id"] = [f"{orders['order_id'].iloc[0]}-later", f"{orders['order_id'].iloc[0]}-huge"]
    extra["ordered_at"] = [pd.Timestamp(AS_OF, tz=orders["ordered_at"].dt.tz) + pd.Timedelta(days=3)] * 2
    extra.loc[extra.index[1], "ordered_at"] = orders["ordered_at"].iloc[0]
    extra.loc[extra.index[1], "revenue"] = 5e9  # above data.max_values: a rejected row
    pd.concat([orders, extra], ignore_index=True).to_parquet(data / "orders.parquet", index=False)
    base = yaml.safe_load(trained.config.read_text())
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            base
            | {"scoring": {"max_model_age_days": 30}}  # a stale model
            | {"features": base.get("features", {}) | {"trend_window_days": 60}}  # not the model's setting
        )
    )
    failed = "BTYD fit failed at cutoff 2025-01-01: did not converge; columns are NaN for that cutoff"
    monkeypatch.setattr(pandas_engine, "model_extras", lambda *args: (None, [failed]))
    console = Console(file=io.StringIO(), width=100_000, color_system=None)
    run = score_trained(trained, tmp_path / "scores.parquet", data=data, config=config, console=console)
    printed = console.file.getvalue()
    listed = run.manifest["warnings"]
    for words in (
        "configuration differs",
        "model is stale",
        "on or after the as-of",
        "rejected, not used by",  # the rows-rejected warning, one row or more (`rejected_rows.rows_rejected`)
        failed,
    ):
        assert any(words in w for w in listed), (words, listed)
    for w in listed:
        assert f"warning: {w}" in printed, (w, printed)
    assert sum(line.startswith("warning:") for line in printed.splitlines()) == len(listed), printed
