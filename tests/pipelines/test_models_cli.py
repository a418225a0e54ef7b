"""`cvp models` and `cvp models promote VERSION`: compare the registered versions and promote one without
retraining (was: neither command existed; the only way to move `@champion` was `cvp train --promote`)."""

from __future__ import annotations

from tests.helpers import cvp, keep_mlflow_uris


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_models_lists_the_versions_with_their_metrics_against_the_champion(challenged, tmp_path, monkeypatch):
    """Version 1 (champion) and version 2 (the worse model, challenger): each row names its training run, as-of,
    horizon and the backtest means of the primary metrics, the challenger's with its difference from the
    champion's."""
    import mlflow

    from pipelines.config import load_config
    from tests.pipelines.conftest import clone_registry

    keep_mlflow_uris(monkeypatch)
    config = clone_registry(challenged, tmp_path)
    res = cvp("models", "--config", config)
    assert res.exit_code == 0, res.output
    out = _flat(res.output)
    cfg = load_config(config)
    client = mlflow.MlflowClient()
    one, two = (client.get_model_version(cfg.mlflow.registered_model, v) for v in ("1", "2"))
    gini = {
        str(v.version): client.get_run(v.run_id).data.metrics["model.value_norm_gini"] for v in (one, two)
    }
    assert f"1 champion {one.run_id[:8]} 2024-07-01 365 {gini['1']:.3f}" in out, out
    assert (
        f"2 challenger {two.run_id[:8]} 2024-07-01 365 {gini['2']:.3f} ({gini['2'] - gini['1']:+.3f})" in out
    )


def test_models_promote_moves_the_champion_and_writes_the_promotion_record(challenged, tmp_path, monkeypatch):
    """`cvp models promote 2` makes version 2 champion, says it replaced v1, and records the promotion on the
    version and its training run as `cvp train --promote` does (no longer challenger); a version not registered
    is exit 2 naming the registered ones, one a killed training registered exit 2 too, the champion untouched."""
    import mlflow

    from pipelines.config import load_config
    from tests.pipelines.conftest import clone_registry

    keep_mlflow_uris(monkeypatch)
    config = clone_registry(challenged, tmp_path)
    name = load_config(config).mlflow.registered_model
    missing = cvp("models", "promote", "7", "--config", config)
    assert missing.exit_code == 2, missing.output
    assert "version '7' of customer-value is not registered (registered: 1, 2)" in _flat(missing.output)
    client = mlflow.MlflowClient()
    assert str(client.get_model_version_by_alias(name, "champion").version) == "1"
    from pipelines.tracking import INCOMPLETE, STATUS_TAG

    client.set_model_version_tag(
        name, "2", STATUS_TAG, INCOMPLETE
    )  # as if its training died before promoting
    killed = cvp("models", "promote", "2", "--config", config)
    assert killed.exit_code == 2 and "version 2 of customer-value is incomplete" in _flat(killed.output)
    client.delete_model_version_tag(name, "2", STATUS_TAG)
    res = cvp("models", "promote", "2", "--config", config)
    assert res.exit_code == 0, res.output
    assert "customer-value version 2 is now champion (replaced v1)" in _flat(res.output)
    two = client.get_model_version_by_alias(name, "champion")
    assert str(two.version) == "2"
    # the worse model, refused by its training: the verdict kept beside the override (round 19)
    assert two.tags["promotion"].startswith(
        "promoted by `cvp models promote` (replaced v1); its training's promotion rule: not promoted: "
    ), two.tags["promotion"]
    assert "warning: version 2's promotion rule did not pass it at its training (" in _flat(res.output)
    assert client.get_run(two.run_id).data.tags["promotion"].startswith("champion: promoted by `cvp models")
    listed = _flat(cvp("models", "--config", config).output)
    assert "2 champion" in listed and "1 champion" not in listed, listed
    assert "challenger" not in listed, listed
