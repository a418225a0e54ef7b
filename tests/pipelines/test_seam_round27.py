"""Round 27 of the train/score seam: what still let a wrong result through with exit 0, or two paths that should
agree did not.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from tests.helpers import quiet


class _Rendered(Exception):
    """Raised by the stand-in for the pages' rendering: `run_report` stops once it has made the model card."""


def test_scores_of_a_model_promoted_since_are_not_said_provisional(default_scores, tmp_path, monkeypatch):
    """`cvp score --model ...@challenger` (the demo's first model, left a challenger with no champion), then `cvp
    models promote 1`, then `cvp report` of those scores: every page said "Provisional: these scores come from
    model version 1, still being evaluated when they were made ... they may change once a model is confirmed for
    production" of the very model confirmed since (was, measured on a demo company's store: v2 scored as
    challenger, promoted, the report made again). Now the card of `cvp report` asks the registry for the
    champion now (`tracking_card.model_card`'s `champion_now_version`), the scores of a model that is champion
    now are the scores production gives: no banner atop the pages, said on the team page's model card
    ("Promoted since"); the scores of a model still not champion keep their banner."""
    import pipelines.reports as reports
    from pipelines.jobs import run_report
    from pipelines.reports.card import model_card_view
    from pipelines.reports.phrases import page_banners
    from pipelines.run_notes import run_card_notes

    scores = tmp_path / "set" / "scores.parquet"
    shutil.copytree(default_scores.out.parent, scores.parent)
    path = scores.with_name("scores.manifest.json")
    manifest = json.loads(path.read_text())
    assert manifest["model_version"] == "1"  # the `trained` fixture's champion, now as when it scored
    # scored when no model was in production and version 1 was the challenger
    path.write_text(json.dumps(manifest | {"champion_version": "", "model_aliases": ["challenger"]}))
    made = {}

    def rendered(scores, contrib, card, *args, **kwargs):
        made["card"] = card
        raise _Rendered

    monkeypatch.setattr(reports, "build_reports", rendered)
    with pytest.raises(_Rendered):
        run_report(scores, tmp_path / "pages", None, None, None, quiet())
    card = made["card"]
    banners = page_banners(card, manifest["as_of"], 1.0)
    assert banners["provisional"] is None and banners["champion_now"] is None, (
        banners
    )  # was: "Provisional: ..."
    facts = {f["key"]: f["value"] for f in model_card_view(card, 365, "EUR")["facts"]}
    assert facts["Promoted since"] == (
        "model version 1 made these scores when it was not in production (no model was in production); it is "
        "the production model since, so these are the scores production gives for this data and as-of"
    )
    # a set-aside model's scores (no alias then), production's since: the same
    aside = {"model_version": "1", "champion_version": "2", "model_aliases": []}
    assert (
        "provisional" not in run_card_notes(aside, "1")
        and "version 2 was in production" in (run_card_notes(aside, "1")["promoted_since"])
    )
    # still not champion, or the champion not asked (`cvp profile`): provisional, as before
    for now in ("2", None):
        notes = run_card_notes(manifest | {"champion_version": "2", "model_aliases": ["challenger"]}, now)
        assert "still being evaluated" in notes["provisional"] and "promoted_since" not in notes
    # the champion's own scores: nothing said, nothing replaced
    assert run_card_notes({"model_version": "1", "champion_version": "1"}, "1") == {}


def test_promoted_since_is_said_only_of_the_champions_own_training_run(trained, default_scores, monkeypatch):
    """Scores made by version 1 of training run R1 as a challenger; the registered model deleted and made again,
    version 1 now trained by run R2 and champion: `cvp report` said "Promoted since" of the scores (version numbers
    compared, round 27; main said "Provisional"), of a model never confirmed (review of round 27). Now the
    champion is that model only when its training run is the scores' (`history_store.one_model`, the rule of the
    history's `same_model`): another model numbered alike is named with its run, and the scores stay provisional."""
    from types import SimpleNamespace

    from pipelines.config import load_config
    from pipelines.mlflow_import import mlflow
    from pipelines.reports.phrases import page_banners
    from pipelines.run_notes import run_card_notes
    from pipelines.tracking_card import model_card

    manifest = json.loads(default_scores.out.with_name("scores.manifest.json").read_text())
    manifest |= {"champion_version": "", "model_aliases": ["challenger"]}  # a challenger when it scored
    other = "f" * 32  # the training run of the version 1 registered since
    real = mlflow.MlflowClient.get_model_version

    def registered_again(self, name, version):
        return (
            SimpleNamespace(run_id=other, version=version)
            if str(version) == "1"
            else real(self, name, version)
        )

    monkeypatch.setattr(mlflow.MlflowClient, "get_model_version", registered_again)
    card = model_card(
        "1",
        load_config(trained.config),
        365,
        run_id=manifest["model_run_id"],
        tracking_uri=manifest["tracking_uri"],
        model_uri=manifest["model_uri"],
    )
    assert card["champion_now_version"] == "1 (training run ffffffff)"
    notes = run_card_notes(manifest, card["champion_now_version"])
    assert "promoted_since" not in notes, (
        notes
    )  # was: "model version 1 made these scores ... production model since"
    assert "still being evaluated" in notes["provisional"]
    assert card["champion_now"].startswith("version 1 (training run ffffffff), not version 1 that made these")
    # the pages: the challenger's own banner (whose scores they are), not "Model replaced" beside it
    banners = page_banners(card | notes, manifest["as_of"], 1.0)
    assert banners["provisional"] and banners["champion_now"] is None


def test_a_challengers_scores_say_the_model_confirmed_since():
    """Scores of version 1 made as a challenger with no model in production; version 1 promoted, then replaced by
    version 2: every page said "Treat them as provisional; they may change once a model is confirmed for
    production", and hid "Model replaced" beside it (review of round 27, was: a model IS confirmed). Now the
    banner names the champion now (`phrases.provisional_scores`); with the champion then still in production, or
    none asked (`cvp profile`), it stays as it was."""
    from pipelines.reports.phrases import page_banners
    from pipelines.run_notes import run_card_notes

    made = {"model_version": "1", "champion_version": "", "model_aliases": ["challenger"]}
    notes = run_card_notes(made, "2")
    assert notes["provisional"] == (
        "these scores come from model version 1, still being evaluated when they were made (no model was in "
        "production); version 2 is in production now: scores made now may differ. Treat them as provisional."
    )  # was: "... they may change once a model is confirmed for production."
    assert page_banners({"model_version": "1", "champion_now_version": "2"} | notes, "2025-01-01", 1.0)[
        "provisional"
    ].endswith("Treat them as provisional.")
    for then, now in (("2", "2"), ("", None)):
        said = run_card_notes(made | {"champion_version": then}, now)["provisional"]
        assert said.endswith("they may change once a model is confirmed for production.")


def _scores_file(columns, run_id: str = "old") -> pd.DataFrame:
    return pd.DataFrame({c: [run_id if c == "run_id" else "x"] for c in columns})


@pytest.mark.parametrize("first,then", [("parquet", "csv"), ("csv", "parquet")])
def test_a_set_published_in_the_other_format_leaves_no_scores_of_the_earlier_set(tmp_path, first, then):
    """`cvp score --out out/scores.parquet`, then `cvp score --out out/scores.csv` (another model, another as-of):
    the older run's `scores.parquet` stayed beside the new manifest and contributions, both engines (was: a batch
    job reading `scores.parquet` read the old model's scores, exit 0, and `cvp report --scores scores.parquet`
    said "a scoring run was interrupted while publishing: rerun `cvp score`", which left it again). Now the set
    published removes the scores file of the other format when it is the replaced set's own: the replaced
    manifest's run is every row's `run_id` (`staging.earlier_twin`, passed to `outputs.publish`, the one
    publishing of both engines). Any other file under that name (a user's own annotated `scores.csv` with cvp's
    columns and theirs, no cvp set before it; another run's) is left, with a warning the run prints and lists in
    its manifest (review of round 27, was: deleted without a word by any file whose header held the columns)."""
    from pipelines.io import write_frame
    from pipelines.outputs import SCORES_REQUIRED, output_paths, publish

    out = tmp_path / "out"
    out.mkdir()
    old = out / f"scores.{first}"
    targets = output_paths(out / f"scores.{then}")
    stage = tmp_path / "stage"

    def published(run_id: str) -> set[str]:
        stage.mkdir(exist_ok=True)
        staged = {"scores": stage / f"scores.{then}", "manifest": stage / "manifest.json"}
        write_frame(_scores_file(SCORES_REQUIRED, run_id), staged["scores"])
        staged["manifest"].write_text(json.dumps({"run_id": run_id}))
        publish(staged, targets, None)
        return {p.name for p in out.iterdir() if not p.name.startswith(".")}

    # a user's own file under the name, no set of cvp's there: left by the publishing (was: removed)
    write_frame(_scores_file([*SCORES_REQUIRED, "called"], "mine"), old)
    assert published("new") == {"scores.manifest.json", f"scores.{then}", old.name}  # was: old.name gone
    # ... and by the next, though a manifest is there now: it is of another run than the file's
    from tests.pipelines.score_helpers import earlier_scores

    removed, left = earlier_scores(targets)
    assert removed is None and left.startswith(f"{old} is left beside scores.{then}: it is not known to be")
    # the earlier set's own scores (the replaced manifest's run on every row): removed with the publishing
    write_frame(_scores_file(SCORES_REQUIRED, "new"), old)
    removed, left = earlier_scores(targets)
    assert (removed, left) == (old, None)
    assert published("newer") == {"scores.manifest.json", f"scores.{then}"}


def test_a_feature_table_in_the_other_format_is_removed_only_when_its_manifest_names_it(tmp_path):
    """`cvp features --out f/feat.parquet`, then `--out f/feat.csv`: the first table stayed beside the second's
    `feat.manifest.json` (was: a feature table of July under a manifest of September). Now the manifest names its
    table (`table`) and the next run in the other format removes the one it names, and says so; a file it does
    not name (a user's own, or one of a run before manifests named their table) is left, with a warning on the
    console and in the new manifest's `warnings` (review of round 27, was: removed without a word when its
    header held `customer_id` and the table's first column)."""
    from pipelines.io import write_frame
    from pipelines.jobs import run_features
    from tests.helpers import csv_data, raw_orders

    data = csv_data(tmp_path, orders=raw_orders())
    f = tmp_path / "f"
    run_features(data, "2023-02-01", f / "feat.csv", None, None, quiet(200))
    # a user's own table under the other name, the key and the table's first column in it: left, and said
    first = pd.read_csv(f / "feat.csv").columns[1]
    mine = pd.DataFrame({"customer_id": ["C1"], first: [3], "my_note": ["keep"]})
    write_frame(mine, f / "feat.parquet")
    said = quiet(400)
    run_features(data, "2023-02-01", f / "feat.csv", None, None, said)
    assert (f / "feat.parquet").exists()  # was: removed
    warnings = json.loads((f / "feat.manifest.json").read_text())["warnings"]
    assert warnings == [
        f"{f / 'feat.parquet'} is left beside feat.csv: it is not known to be the table of the set "
        "feat.manifest.json described (an older set's, or a file of yours), and feat.manifest.json now describes "
        "feat.csv"
    ]
    assert "warning:" in said.file.getvalue() and "is left beside feat.csv" in said.file.getvalue()
    # the table the replaced manifest names: removed with the publishing in the other format, and said
    said = quiet(400)
    run_features(data, "2023-02-01", f / "feat.parquet", None, None, said)
    assert sorted(p.name for p in f.iterdir() if not p.name.startswith(".")) == [
        "feat.manifest.json",
        "feat.parquet",
    ]  # was (round 27): feat.csv of the earlier run beside them
    assert f"note: {f / 'feat.csv'} removed" in said.file.getvalue()
    assert json.loads((f / "feat.manifest.json").read_text())["table"] == "feat.parquet"


def test_a_backtest_directory_keeps_the_notes_said_under_its_tables(tmp_path, monkeypatch):
    """`cvp backtest` said under its tables that a fold was skipped or that its metrics are optimistic (a history
    too short for an embargo: "early stopping, the total correction, the interval and the churn calibration are
    optimistic"), and its `--out` kept none of it (was: on screen only; the training's MLflow run keeps them in
    `notes.json`, the backtest directory compared later looked as sound as any). Now `backtest_run.json` holds
    them under `notes`."""
    import pipelines.backtest_record as backtest_record
    from models.backtest import BacktestResult
    from pipelines.backtest_record import write_backtest

    # no metrics to draw here
    monkeypatch.setattr(backtest_record, "backtest_plots", lambda result, stage: {})

    note = "fold 0 (2023-07-01) model: history too short for an embargo: ... optimistic"
    cut = pd.Timestamp("2023-07-01")
    metrics = pd.DataFrame(
        [{"fold": 0, "cutoff": cut, "model": "model", "metric": "value_norm_gini", "value": 0.5}]
    )
    empty = pd.DataFrame()
    result = BacktestResult(metrics, empty, empty, empty, empty, [cut], [note])
    files = write_backtest(result, tmp_path / "bt", None, {"as_of": "2024-07-01"})
    assert json.loads(files["run"].read_text()) == {"as_of": "2024-07-01", "notes": [note]}  # was: no notes
