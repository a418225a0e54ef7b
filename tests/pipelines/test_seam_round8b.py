"""Round 8 of the train/score seam, second part (the first is `test_seam_round8.py`): a champion promoted while a
scoring run starts, a history whose tier rules or order of runs changed under it.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import keep_mlflow_uris


def test_the_champion_version_recorded_is_the_model_loaded_when_promoted_meanwhile(
    challenged, tmp_path, monkeypatch
):
    """`cvp score` resolves `@champion` to a version, then loads the model. A `cvp train --promote` that moves the
    alias between the two (v1 -> v2) must not give v2's model under v1's number: the version the run records
    (manifest, history, bridge) is the one it scores with (was: the alias resolved twice, version 1 recorded and
    version 2's model loaded)."""
    import mlflow

    from pipelines.config import load_config
    from pipelines.tracking import configure_tracking, load_bundle

    keep_mlflow_uris(monkeypatch)
    from tests.pipelines.conftest import clone_registry

    config = clone_registry(challenged, tmp_path)  # v1 champion, v2 challenger
    configure_tracking(Path(load_config(config).mlflow.tracking_dir))
    real = mlflow.MlflowClient.get_model_version_by_alias

    def promoted_meanwhile(self, name, alias):
        found = real(self, name, alias)
        real_set = mlflow.MlflowClient.set_registered_model_alias
        real_set(self, name, alias, "2")  # the other process's promotion lands now
        return found

    monkeypatch.setattr(mlflow.MlflowClient, "get_model_version_by_alias", promoted_meanwhile)
    loaded = load_bundle("models:/customer-value@champion")
    assert loaded.version == "1"
    client = mlflow.MlflowClient()
    assert loaded.run_id == client.get_model_version("customer-value", "1").run_id
    assert loaded.run_id != client.get_model_version("customer-value", "2").run_id
