"""Round 9 of the train/score seam: what still let a wrong result through with exit 0, or confused one of the
three users (data scientist, unattended batch job, account manager).

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import shutil

import yaml

from tests.helpers import scores_manifest
from tests.pipelines.score_helpers import score_trained


def _score_into(trained, out, history, **overrides):
    """`cvp score ... --history DIR` as the CLI runs it: score, then add the run to the history."""
    from pipelines.history_store import append_run, open_history

    if history is not None:
        open_history(history, create=True)
    run = score_trained(trained, out, history=history, **overrides)
    if history is not None:
        append_run(history, run.scores, run.contributions_path, run.manifest)
    return run


def test_the_run_id_covers_the_history_runs_the_stable_tiers_read(trained, tmp_path):
    """Two runs of the same data, as-of, model and config into histories holding different earlier runs report
    different stable tiers: their run ids differ (was: the same id, so `cvp report` took a set whose tiers came
    from another history for the run the history holds). The id covers what the history changes and only that:
    the same earlier runs in another directory give the same id, and so does an empty history."""
    cfg = yaml.safe_load(trained.config.read_text())
    held = {"stability": {"rule": "consecutive"}}  # a new raw tier is reported once two runs agree
    config, other = tmp_path / "held.yaml", tmp_path / "other.yaml"
    config.write_text(yaml.safe_dump(cfg | {"tiers": held}))
    # earlier runs scored under other tier rules: other raw tiers in the history
    other.write_text(yaml.safe_dump(cfg | {"tiers": held | {"great": {"top_share": 0.5}}}))
    ids, tiers = {}, {}
    for name, earlier in (("a", config), ("b", other)):
        _score_into(trained, tmp_path / f"{name}-dec.parquet", tmp_path / name, as_of_text="2024-12-01",
                    config=earlier)  # fmt: skip
    shutil.copytree(tmp_path / "a", tmp_path / "a-copy")
    for name in ("a", "b", "a-copy", "empty", None):
        history = None if name is None else tmp_path / name
        run = _score_into(trained, tmp_path / f"{name}.parquet", history, config=config)
        ids[name] = scores_manifest(tmp_path / f"{name}.parquet")["run_id"]
        tiers[name] = run.scores.set_index("customer_id")["tier"].astype("str")
    assert not tiers["a"].equals(tiers[None]) and not tiers["a"].equals(tiers["b"])  # the histories matter
    assert len({ids["a"], ids["b"], ids[None]}) == 3, ids
    assert ids["a-copy"] == ids["a"] and tiers["a-copy"].equals(tiers["a"])
    assert ids["empty"] == ids[None]


def test_models_shows_every_backtest_metric_and_what_the_promotion_rule_compared(
    challenged, tmp_path, monkeypatch
):
    """A data scientist comparing versions sees every backtest metric side by side (`--metrics all`: one row per
    metric, one column per version), what each training's promotion rule compared the model with (the champion
    refitted on the same folds, the baseline), and a script reads all of it as JSON (`--json`); the default stays
    in 80 columns (was: two metrics only, no option; `--metrics`/`--json` were exit 2, no such option)."""
    import json

    import mlflow

    from tests.helpers import cvp, keep_mlflow_uris
    from tests.pipelines.conftest import clone_registry

    keep_mlflow_uris(monkeypatch)
    config = clone_registry(challenged, tmp_path)
    res = cvp("models", "--config", config, "--json")
    assert res.exit_code == 0, res.output
    listed = json.loads(res.output)
    assert listed["champion"] == "1" and listed["promotion_baseline"] == "persistence"
    one, two = listed["versions"]
    run = mlflow.MlflowClient().get_run(two["run_id"]).data.metrics
    assert two["backtest"]["model"]["value_mae"] == run["model.value_mae"]
    assert (
        two["backtest"]["champion"]["value_norm_gini"] == run["champion.value_norm_gini"]
    )  # the paired refit
    assert two["backtest"]["persistence"]["churn_roc_auc"] == run["persistence.churn_roc_auc"]
    gap = two["backtest"]["model"]["churn_brier"] - one["backtest"]["model"]["churn_brier"]
    assert two["vs_champion"]["churn_brier"] == gap and one["vs_champion"] == {}
    wide = cvp("models", "--config", config, "--metrics", "all")
    assert wide.exit_code == 0, wide.output
    lines = {line.split("  ")[0]: line.split() for line in wide.output.splitlines()}
    mae = two["backtest"]["model"]["value_mae"]
    assert lines["value_mae"][-2:] == [f"{mae:.3f}", f"({mae - one['backtest']['model']['value_mae']:+.3f})"]
    refit = two["backtest"]["champion"]["value_norm_gini"]
    assert lines["value_norm_gini: the champion refitted"][-2:] == ["-", f"{refit:.3f}"]
    picked = cvp("models", "--config", config, "--metrics", "value_mae,churn_ece")
    assert picked.exit_code == 0 and "churn_ece" in picked.output and "value_spearman" not in picked.output
    bad = cvp("models", "--config", config, "--metrics", "gini")
    assert bad.exit_code == 2 and "unknown metric gini" in bad.output, bad.output
    default = cvp("models", "--config", config)
    assert max(len(line) for line in default.output.splitlines()) <= 80, default.output
