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


def test_the_new_customers_chance_is_said_over_the_lookalike_models_horizon(
    trained, default_scores, tmp_path
):
    """The profile section (`cvp profile`'s page, the team page with `--profile`) said the lookalike model "gives
    each a chance of being among the best customers a year later" whatever its horizon: a 90-day model's
    chance read as a year's (was). Now it names the horizon its label is judged over."""
    import dataclasses
    import re
    import shutil

    from pipelines.profile import read_profile, render_profile_page, run_profile
    from tests.helpers import quiet

    root = tmp_path / "run"
    shutil.copytree(default_scores.out.parent, root)
    run_profile(root / "scores.parquet", None, root / "profile", None, trained.config, quiet())
    profile = read_profile(root / "profile")
    pages = {"over the next 12 months": (root / "profile" / "profile.html").read_text()}  # the 365-day model's
    facts = profile.facts | {"lookalike": profile.facts["lookalike"] | {"horizon_days": 90}}
    pages["over the next 90 days"] = render_profile_page(dataclasses.replace(profile, facts=facts), "EUR")
    for said, page in pages.items():
        text = " ".join(re.sub(r"<[^>]+>", " ", page).split())
        assert f"a chance of being among the best customers {said}, and a provisional tier" in text, said
        assert "a year later" not in text
    assert profile.facts["lookalike"]["horizon_days"] == 365  # recorded in the profile's facts
