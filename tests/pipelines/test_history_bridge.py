"""The data/model split of a change when the model changed between two runs of the score history (issue 15).

Two real runs scored with two registered versions (the session's `trained` and `challenged` models, shared
with other tests): the second run explains its data with the first run's model too (the bridge), and the
transitions split each change into a data part (the old model on both data) and a model part (the two models on
the new data).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.config import load_config
from pipelines.history import report_history
from pipelines.history_store import list_runs
from pipelines.outputs import output_paths, read_output_set, write_scores_parquet
from tests.pipelines.conftest import clone_registry
from tests.pipelines.score_helpers import score_cli_args

OLD_AS_OF, NEW_AS_OF = "2024-12-01", "2025-01-01"


def _score(env, as_of: str, out: Path, *extra: str):
    res = CliRunner().invoke(app, score_cli_args(env, out, as_of, None, *extra))
    assert res.exit_code == 0, res.output
    return res


@pytest.fixture(scope="module")
def two_models(trained, challenged, default_scores, tmp_path_factory):
    """Versions 1 and 2 of the model in their own registry, a copy of the session's `challenged` one: v1 the
    `trained` fixture's model, v2 the worse model trained with other settings (both as of 2024-07-01; trained
    once per session, for the promotion test too); a history whose run as of 2024-12-01 was scored with v1 and
    whose run as of 2025-01-01 with v2, promoted in between (and a copy of that history as it was with its first run only,
    `one-run-history`); and v1's own scores of the 2025-01-01 data (no history), the reference for the old model
    on the new data: the shared `default_scores` run (the same model, data, config and as-of)."""
    from tests.pipelines.conftest import TrainedEnv

    root = tmp_path_factory.mktemp("bridge")
    config = clone_registry(challenged, root)  # v1: the fixture's model; v2: the worse one, challenger
    cfg = load_config(config)
    assert challenged.worse.version == "2"
    env = TrainedEnv(root, trained.data, config, root / "mlruns", "2024-07-01")
    name = cfg.mlflow.registered_model
    history = root / "history"
    _score(env, OLD_AS_OF, root / "old.parquet", "--model", f"models:/{name}/1", "--history", str(history))
    shutil.copytree(history, root / "one-run-history")
    # v2 made champion before its run: the model changed in production (a challenger's run reads its own model's
    # runs only, `pipelines.history_store.reads`: it would bridge from none; review of round 29)
    promoted = CliRunner().invoke(app, ["models", "promote", "2", "--config", str(config)])
    assert promoted.exit_code == 0, promoted.output
    res = _score(
        env, NEW_AS_OF, root / "new.parquet", "--model", f"models:/{name}/2", "--history", str(history)
    )
    shutil.copytree(default_scores.out.parent, root / "v1-on-new")
    return env, history, res.output


def test_a_model_change_splits_each_change_into_data_and_model(two_models):
    """data + model = total change within 1e-9 (value and churn), and the data part is what the old model says
    on the new data minus what it said on the old data: v1's own scores of the new data, scored separately."""
    env, history, _ = two_models
    cfg = load_config(env.config)
    new = read_output_set(env.root / "new.parquet")
    assert new.manifest["bridge"]["old_model_version"] == "1"
    assert new.manifest["bridge"]["previous_as_of"] == OLD_AS_OF
    assert "note" not in new.manifest["bridge"]
    assert new.bridge_contributions is not None and new.bridge_churn_contributions is not None
    assert new.manifest["bridge"]["rows"]["value"] == len(new.bridge_contributions) == len(new.contributions)
    moves = report_history(
        history,
        new.scores,
        new.contributions,
        new.manifest,
        cfg,
        new.churn_contributions,
        new.bridge_contributions,
        new.bridge_churn_contributions,
    ).transitions
    both = moves[(moves["old_status"] == "scored") & (moves["new_status"] == "scored")]
    assert len(both) > 100 and both["model_changed"].all()
    h = new.manifest["horizon_days"]
    reference = (
        pd.read_parquet(env.root / "v1-on-new" / "scores.parquet").set_index("customer_id").loc[both.index]
    )
    assert (reference["model_version"] == "1").all()
    for kind, column, atol in (
        ("value", cfg.tiers.value_column.format(h=h), 1e-6),  # currency: TreeSHAP sums vs LightGBM's output
        ("churn", f"pred_churn_prob_{h}d", 1e-9),
    ):
        data, model = both[f"{kind}_change_data"], both[f"{kind}_change_model"]
        assert data.notna().all() and model.notna().all()
        np.testing.assert_allclose(data + model, both[f"{kind}_change"], rtol=0, atol=1e-9)
        np.testing.assert_allclose(
            data,
            reference[column] - both[f"old_{kind if kind == 'value' else 'churn_prob'}"],
            rtol=0,
            atol=atol,
        )
        np.testing.assert_allclose(
            model,
            both[f"new_{kind if kind == 'value' else 'churn_prob'}"] - reference[column],
            rtol=0,
            atol=atol,
        )
        assert (model.abs() > 1e-6).mean() > 0.5  # two different models: the model part is real
    # the deltas explain the data part (the old model's contributions on both data)
    amounts = both.filter(regex=r"^value_delta_amount_\d$")
    assert amounts.notna().any().any()


def test_the_history_keeps_the_bridge_with_the_old_version(two_models):
    from pipelines.history_store import read_bridge

    env, history, output = two_models
    old, new = list_runs(history)
    assert (old.model_version, new.model_version) == ("1", "2")
    value, churn, version = read_bridge(new)
    assert version == "1" and value is not None and churn is not None
    published = read_output_set(env.root / "new.parquet")
    pd.testing.assert_frame_equal(value, published.bridge_contributions)
    pd.testing.assert_frame_equal(churn, published.bridge_churn_contributions)
    info = json.loads((new.path / "run.json").read_text())
    assert info["bridge"] == {"previous_as_of": OLD_AS_OF, "old_model_version": "1"}
    assert read_bridge(old) == (None, None, None)  # the first run had nothing to bridge
    # a run whose model did not change writes no bridge (and costs nothing more): v1's run beside
    assert not output_paths(env.root / "old.parquet")["bridge_contributions"].exists()
    assert "bridge" not in read_output_set(env.root / "old.parquet").manifest


def test_an_unloadable_old_version_leaves_the_split_empty_with_a_note(trained, two_models, tmp_path):
    """The previous run names a version the registry does not have: the run succeeds, the manifest and the
    console say why, no bridge is written and the split stays empty (never guessed)."""
    from pipelines.history_store import read_bridge

    history = tmp_path / "history"
    # a history whose one run, as of 2024-12-01, was scored with v1 (the fixture's model): the `two_models` one
    shutil.copytree(two_models[0].root / "one-run-history", history)
    (run,) = list_runs(history)
    info = json.loads((run.path / "run.json").read_text())
    info["model_version"] = "999"  # e.g. a version deleted from the registry since
    info["champion_version"] = (
        "999"  # the champion then (round 29: a challenger's run is read by no later run)
    )
    info["model_run_id"] = "e" * 32  # its training run (another model than v1's: the run ids decide)
    scores = pd.read_parquet(run.path / "scores.parquet")
    write_scores_parquet(scores.assign(model_version="999"), run.path / "scores.parquet")
    from pipelines.history_digests import partition_digests  # as v999's run would have appended it (round 32)

    info["file_digests"] = partition_digests(run.path, info["file_digests"])
    (run.path / "run.json").write_text(json.dumps(info))
    res = _score(trained, NEW_AS_OF, tmp_path / "new.parquet", "--history", str(history))
    assert "Traceback" not in res.output
    flat = " ".join(res.output.split())
    assert "cannot be split into data and model" in flat and "v999" in flat
    new = read_output_set(tmp_path / "new.parquet")
    note = new.manifest["bridge"]
    assert note["old_model_version"] == "999" and "cannot load model" in note["note"]
    assert new.bridge_contributions is None and new.bridge_churn_contributions is None
    kept = list_runs(history)[-1]
    assert read_bridge(kept) == (None, None, None)
    assert json.loads((kept.path / "run.json").read_text())["bridge"]["old_model_version"] == "999"
    cfg = load_config(trained.config)
    moves = report_history(
        history, new.scores, new.contributions, new.manifest, cfg, new.churn_contributions
    ).transitions
    both = moves[(moves["old_status"] == "scored") & (moves["new_status"] == "scored")]
    assert len(both) > 100 and both["model_changed"].all()
    assert both[["value_change_data", "value_change_model", "churn_change_data"]].isna().all().all()


def test_the_manager_page_gives_the_split_when_the_model_changed(two_models, tmp_path):
    """The "model retrained" note of a manager page says how much of its customers' value change is new data and
    how much the new model, instead of only saying they are mixed."""
    env, history, _ = two_models
    out = tmp_path / "reports"
    res = CliRunner().invoke(
        app,
        ["report", "--scores", str(env.root / "new.parquet"), "--out", str(out), "--history", str(history)]
        + ["--config", str(env.config)],
    )
    assert res.exit_code == 0, res.output
    pages = [p for p in out.rglob("*.html") if p.name != "index.html"]
    notes = [n for p in pages for n in [p.read_text()] if 'id="this-month-model-changed"' in n]
    assert notes, "no manager page says the model was retrained"
    assert all("comes from their new data and" in n for n in notes)
    assert not any("mix new data and the new model" in n for n in notes)
