"""Round 22 of the train/score seam: what still let a wrong result through with exit 0, or two paths that should
agree did not.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import pickle

import pandas as pd


def test_what_the_models_training_warned_of_how_it_scores_is_warned_by_every_run_of_it(
    trained, default_scores, monkeypatch
):
    """`cvp train` warns when the model scores otherwise than its settings say (the churn classifier refitted on
    every cutoff set aside for the calibrated one: the demo's 300 customers trained as of 2025-09-01; the spend
    model's smearing factor not applied). A batch job scoring the champion never saw that console: its runs said
    nothing, the manifest's `warnings` empty (was). Now every run of the model warns it again, the manifest lists
    it (`model_warnings`, and among `warnings`) and the team page's model card says it; its other notes (fitted
    in-sample, ...) stay notes of the training run."""
    from models.churn import REFIT_STRAYED
    from pipelines.config import load_config
    from pipelines.engines.model_checks import check_model
    from pipelines.tracking import configure_tracking, load_bundle
    from tests.helpers import keep_mlflow_uris

    assert (
        default_scores.run.manifest["model_warnings"] == []
    )  # was: KeyError; the fixture's model warned nothing
    keep_mlflow_uris(monkeypatch)
    configure_tracking(trained.mlruns)
    bundle = pickle.loads(pickle.dumps(load_bundle("models:/customer-value@champion").bundle))
    strayed = f"{REFIT_STRAYED} (early stopping kept 1 boosting round(s); ...)"
    bundle.churn_model_.notes_.append(strayed)
    bundle.value_model_.notes_.append("single cutoff: interval from in-sample residuals (optimistic)")
    warned: list[str] = []
    checked = check_model(
        bundle, load_config(trained.config), pd.Timestamp("2025-01-01"), None, False, warned.append
    )
    assert checked.model_warnings == (strayed,)
    assert [w for w in warned if strayed in w] == [f"the model's training warned: {strayed}"], warned
    assert not [w for w in warned if "in-sample residuals" in w]
