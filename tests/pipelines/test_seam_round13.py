"""Round 13 of the train/score seam: what still let a wrong result through with exit 0, or confused one of the
three users (data scientist, unattended batch job, account manager).

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

from tests.pipelines.score_helpers import score_trained


def test_a_model_named_by_its_run_or_files_is_its_registered_version(trained, default_scores, tmp_path):
    """`cvp score --model runs:/<run id>/model` (or `models:/customer-value/1/`, a logged model's folder) on the
    champion's own model: the same data, as-of and model as `--model models:/customer-value@champion`, yet the
    scores said `model_version` "runs:/.../model", the run id was another (a batch job's "same inputs, same id"
    broken), a score history saw a model change and split the change between a model and itself, and the model
    card showed "Version runs:/..." (was). Now the model carries the version its training run registered."""
    from pipelines.tracking import configure_tracking, load_bundle
    from tests.helpers import quiet

    champion = default_scores.run.manifest
    assert champion["model_version"] == "1"
    uri = f"runs:/{champion['model_run_id']}/model"
    run = score_trained(trained, tmp_path / "by_run.parquet", model_uri=uri, console=quiet())
    assert run.manifest["model_uri"] == uri  # what was asked for stays recorded
    assert run.manifest["model_version"] == "1", run.manifest["model_version"]
    assert run.manifest["champion_version"] == "1"
    assert run.manifest["run_id"] == champion["run_id"]
    assert set(run.scores["model_version"]) == {"1"}
    configure_tracking(trained.mlruns)
    for named in ("models:/customer-value/1/", uri):
        assert load_bundle(named, "customer-value").version == "1", named
