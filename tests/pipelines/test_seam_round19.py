"""Round 19 of the train/score seam: what still let a wrong result through with exit 0, or two paths that should
agree did not.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import json

from tests.helpers import listed_as_of


def test_models_says_unknown_for_a_version_whose_labels_were_not_recorded(monkeypatch):
    """`cvp models` of a registry with versions trained before round 18 recorded `target_digest` (what the labels
    are): such a version, trained without `orders.cost` (its net profit labels guessed margins), was listed
    unmarked beside the champion, and `--json` said `same_folds_as_champion: true` (was: unknown judged equal).
    Now its as-of is marked "?" with a note, and `--json` says null; the same when the champion's is the one not
    recorded."""
    import pipelines.registry as registry
    from pipelines.config import load_config

    cfg = load_config()
    model = {"value_norm_gini": 0.8, "churn_roc_auc": 0.7}

    def row(version, digest, alias=()):
        fields = ("2025-06-01", "365", {}, alias, "", {"model": model}, "", "", "1", "3", "", digest)
        return registry.VersionRow(version, "r" * 32, *fields)

    rows = [row("1", "a" * 16, ("champion",)), row("2", ""), row("3", "a" * 16)]
    as_of, out = listed_as_of(monkeypatch, cfg, rows, 160)
    assert as_of == {"2": "2025-06-01?", "3": "2025-06-01"}, out  # was: "2" unmarked
    assert "whether it was backtested against the champion's labels" in " ".join(out.split())
    listed = {
        v["version"]: v["same_folds_as_champion"]
        for v in json.loads(registry.versions_json(rows, cfg))["versions"]
    }
    assert listed == {"1": True, "2": None, "3": True}  # was: "2": True

    old_champion = [row("1", "", ("champion",)), row("2", "b" * 16), row("3", "")]
    as_of, _ = listed_as_of(monkeypatch, cfg, old_champion, 160)
    assert as_of == {"2": "2025-06-01?", "3": "2025-06-01?"}  # was: both unmarked
    other = [row("1", "", ("champion",)), row("2", "b" * 16), row("3", "")]
    other[2] = registry.VersionRow(
        "3", "r" * 32, "2024-06-01", "365", {}, (), "", {"model": model}, "", "", "1", "3", "", ""
    )
    as_of, _ = listed_as_of(monkeypatch, cfg, other, 160)
    assert as_of["3"] == "2024-06-01*"  # another as-of: "*" (not like for like) says more than "?"


def test_models_promote_of_a_version_its_training_refused_says_so_and_keeps_the_verdict(
    trained, tmp_path, monkeypatch
):
    """`cvp models promote 2` of a version its training kept as challenger ("not promoted: churn_roc_auc mean new
    0.5090 vs persistence 0.7880": the demo's model fitted on a 150-customer sample, a near-constant churn risk,
    every manager page then listing great customers "newly at risk, 8% -> 35%") said only "now champion", and its
    promotion record was overwritten: the training's verdict gone (was). Now a warning names the refusal, and the
    record keeps it beside the override; promoted again later, the first refusal is carried along."""
    import mlflow

    from pipelines.registry import promote_version
    from pipelines.tracking import current_champion
    from pipelines.tracking_runs import training_refusal
    from pipelines.tracking_store import configure_tracking
    from tests.helpers import keep_mlflow_uris, quiet
    from tests.pipelines.conftest import clone_registry

    keep_mlflow_uris(monkeypatch)
    config = clone_registry(trained, tmp_path)
    configure_tracking(tmp_path / "mlruns")
    client = mlflow.MlflowClient()
    v1 = client.get_model_version("customer-value", "1")
    verdict = "churn_roc_auc mean new 0.5090 vs persistence 0.7880 (not better than the baseline)"
    client.create_model_version(
        "customer-value",
        v1.source,
        run_id=v1.run_id,
        tags={"promotion": f"not promoted: {verdict} | passed: x"},
    )
    console = quiet(width=200)
    promote_version("2", config, None, console)
    said = " ".join(console.file.getvalue().split())
    assert f"warning: version 2's promotion rule did not pass it at its training ({verdict})" in said, (
        said
    )  # was: not a word
    assert current_champion("customer-value") == "2"
    tag = client.get_model_version("customer-value", "2").tags["promotion"]
    assert (
        tag
        == f"promoted by `cvp models promote` (replaced v1); its training's promotion rule: not promoted: {verdict}"
    )
    assert training_refusal(tag) == (
        "not promoted",
        verdict,
    )  # promoted again later: the first refusal carried
    assert training_refusal("promoted: x; overridden by --no-promote") is None
    never_judged = "not compared: no fold has a label window; need 455 days (registered as challenger; --promote makes it champion)"
    assert training_refusal(
        never_judged + "; overridden by --promote"
    ) == (  # was: None, no warning, no card row
        "not compared",
        "no fold has a label window; need 455 days",
    )
    from pipelines.config import load_config
    from pipelines.tracking_card import model_card

    card = model_card("2", load_config(config), 365, run_id=v1.run_id)  # the team page's card of its scores
    assert card["promotion_rule"] == f"not passed at its training: {verdict}"  # was: not a word
