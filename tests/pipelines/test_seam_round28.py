"""Round 28 of the train/score seam: what still let a wrong result through with exit 0, or two paths that should
agree did not.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import html
import json
import re
import shutil

from tests.helpers import quiet
from tests.pipelines.score_helpers import earlier_scores


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_profile_page_asks_the_registry_for_the_champion_now(trained, default_scores, tmp_path):
    """`cvp score --model ...@challenger` (no model in production), then `cvp models promote 1`, then `cvp
    profile` of those scores: the profile's page said "Provisional: these scores come from model version 1, still
    being evaluated ... they may change once a model is confirmed for production" while `cvp report`'s pages of
    the same run said nothing (was: `cvp profile` asked no registry, README known limits of round 27). And the
    scores of a champion replaced since (here: version 1 of another training run is champion now) said "Model
    replaced" atop the report's pages, never on the profile's. Now `cvp profile` asks the store the run used for
    the champion now (`tracking_card.champion_now_of_run`, `model_card`'s `_champion_now`), and its page says
    what the report's say."""
    from pipelines.outputs import output_paths
    from pipelines.profile import run_profile

    root = tmp_path / "run"
    shutil.copytree(default_scores.out.parent, root)
    scores = root / default_scores.out.name
    path = output_paths(scores)["manifest"]
    manifest = json.loads(path.read_text())
    assert manifest["model_version"] == "1"  # the fixture's champion, still the champion in its registry
    # scored as a challenger, no model in production then: version 1 is the champion since
    path.write_text(json.dumps(manifest | {"champion_version": "", "model_aliases": ["challenger"]}))
    run_profile(scores, None, root / "promoted", None, trained.config, quiet())
    said = _text((root / "promoted" / "profile.html").read_text())
    assert "Provisional" not in said and "still being evaluated" not in said, said[:600]  # was: both

    # the champion's own scores, version 2 of the training run the store holds, version 1 champion now: replaced
    # since (a training run the store does not hold: not known, `test_cvp_profile_and_cvp_report_say_one_thing`)
    path.write_text(json.dumps(manifest | {"champion_version": "2", "model_version": "2"}))
    run_profile(scores, None, root / "replaced", None, trained.config, quiet())
    said = _text((root / "replaced" / "profile.html").read_text())
    assert "Model replaced:" in said and "replaced since by version 1:" in said  # was: not a word

    # a store that cannot be read: the page is made, as without the registry's answer (a challenger's: provisional;
    # the configured store is read instead only when it holds the run's training run: round 30, here none does)
    gone = manifest | {"champion_version": "", "model_aliases": ["challenger"]}
    path.write_text(json.dumps(gone | {"tracking_uri": f"sqlite:///{tmp_path / 'nowhere' / 'mlflow.db'}"}))
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text(
        trained.config.read_text().replace(str(trained.mlruns), str(tmp_path / "nowhere-either"))
    )
    assert str(tmp_path / "nowhere-either") in elsewhere.read_text()
    run_profile(scores, None, root / "gone", None, elsewhere, quiet())
    assert "Provisional" in _text((root / "gone" / "profile.html").read_text())


def test_cvp_profile_and_cvp_report_say_one_thing(trained, default_scores):
    """Review of round 28: `cvp profile` asked the registry of every run (`champion_now_of_run`) while `cvp
    report`'s model card asked only once it found the training run, so one run's pages disagreed: the champion's
    scores of a training run the store did not hold said "Model replaced" on the profile, nothing on the report;
    a challenger's scores of an older run that recorded no training run, version 1 champion now, said nothing on
    the profile and "Provisional" on the report. Now `model_card` takes the answer of `champion_now_of_run`, asked
    before its early returns; a run it cannot identify (no training run named, or one the store does not hold)
    has no champion-now answer, so neither page says "promoted since" or "replaced" without knowing."""
    from pipelines.config import load_config
    from pipelines.outputs import read_output_set
    from pipelines.reports.phrases import page_banners
    from pipelines.run_notes import run_card_notes
    from pipelines.tracking_card import champion_now_of_run, model_card

    manifest = read_output_set(default_scores.out).manifest
    cfg = load_config(trained.config)
    unnamed = {k: v for k, v in manifest.items() if k != "model_run_id"}
    cases = {  # the run -> what both pages say: (provisional, replaced)
        "run not in the store": (
            manifest | {"champion_version": "1", "model_run_id": "f" * 32},
            (False, False),
        ),
        "no training run named": (unnamed | {"champion_version": "1"}, (False, False)),
        "a challenger's, no training run named": (
            unnamed | {"champion_version": "", "model_aliases": ["challenger"]},
            (True, False),
        ),
        "a challenger's, promoted since": (
            manifest | {"champion_version": "", "model_aliases": ["challenger"]},
            (False, False),
        ),
        "version 2, version 1 champion now": (
            manifest | {"champion_version": "2", "model_version": "2"},
            (False, True),
        ),
    }
    for name, (m, expected) in cases.items():
        version = m["model_version"]
        card = model_card(version, cfg, 365, run_id=m.get("model_run_id"), tracking_uri=m.get("tracking_uri"))
        # `cvp report`'s (`jobs.run_report`: the card updated with the run's notes)
        report = page_banners(card | run_card_notes(m, card.get("champion_now_version")), "2024-01-01", 1.0)
        now = champion_now_of_run(m, cfg)  # `cvp profile`'s
        said = run_card_notes(m, now) | {"champion_now_version": now, "model_version": version}
        profile = page_banners(said, "2024-01-01", 1.0)
        assert card.get("champion_now_version") == now, (
            name
        )  # was: "1 (training run ...)" vs none, "1" vs none
        assert report == profile, name
        assert (bool(profile["provisional"]), bool(profile["champion_now"])) == expected, (name, profile)


def test_the_champion_now_imports_no_mlflow_before_it_finds_a_store(tmp_path, monkeypatch):
    """Review of round 28: `champion_now_of_run` imported MLflow (a second's import in a fresh `cvp profile`) first,
    before its cheap checks and before `configure_tracking` found no store (which needs no MLflow). Now imported
    after them."""
    import sys
    import types

    from pipelines.config import load_config
    from pipelines.tracking_card import champion_now_of_run

    asked: list[str] = []

    class Watched(types.ModuleType):
        def __getattr__(self, name):
            asked.append(name)
            raise AttributeError(name)

    monkeypatch.setitem(sys.modules, "pipelines.mlflow_import", Watched("pipelines.mlflow_import"))
    cfg = load_config(None)
    nowhere = f"sqlite:///{tmp_path / 'nowhere' / 'mlflow.db'}"
    for manifest in (
        {"model_version": "runs:/abc/model", "model_run_id": "abc"},  # no version number
        {"model_version": "1"},  # no training run named
        {"model_version": "1", "model_run_id": "abc", "tracking_uri": nowhere},  # no store there
    ):
        assert champion_now_of_run(manifest, cfg) is None
    assert asked == []  # was: ["mlflow"] three times
    assert not (tmp_path / "nowhere").exists()


def test_a_twin_gone_under_the_lock_is_not_removed_later(tmp_path, monkeypatch):
    """Review of round 28: a `cvp score` judged `scores.parquet` the replaced set's before its lock; the user
    moved it away before the lock; the run was killed after writing its journal; the user put their own
    `scores.parquet` back; the next reader completed the journal and deleted the user's file (was: the name kept
    in the journal's remove list as "gone since", and "removed" returned for the note). Now a file gone under the
    lock is nothing to remove, nothing said."""
    import pipelines.outputs as outputs
    from pipelines.io import write_frame

    def frame(run_id: str, *extra: str):
        import pandas as pd

        return pd.DataFrame(
            {c: [run_id if c == "run_id" else "x"] for c in [*outputs.SCORES_REQUIRED, *extra]}
        )

    out = tmp_path / "out"
    out.mkdir()
    targets = outputs.output_paths(out / "scores.csv")
    twin = out / "scores.parquet"
    write_frame(frame("old"), twin)
    targets["manifest"].write_text(json.dumps({"run_id": "old"}))
    earlier, left = earlier_scores(targets)
    assert earlier == twin and left is None
    twin.unlink()  # moved away by the user before the lock

    def staged_set(run_id: str) -> dict:
        stage = tmp_path / f"stage-{run_id}"
        stage.mkdir()
        staged = {"scores": stage / "scores.csv", "manifest": stage / "manifest.json"}
        write_frame(frame(run_id), staged["scores"])
        staged["manifest"].write_text(json.dumps({"run_id": run_id, "warnings": []}))
        return staged

    class Killed(Exception):
        pass

    def pause(point: str) -> None:
        if point == "after_journal":
            raise Killed

    monkeypatch.setattr(outputs, "_pause_at", pause)
    try:
        outputs.publish(staged_set("new"), targets, None)
    except Killed:
        pass
    monkeypatch.undo()
    write_frame(frame("mine", "my_note"), twin)  # the user's own file put back under that name
    outputs.complete_interrupted_publish(targets["scores"])
    assert twin.exists()  # was: deleted by the journal's completion
    # not killed: nothing removed, no "removed" note
    targets["manifest"].write_text(json.dumps({"run_id": "mine"}))
    earlier, left = earlier_scores(targets)
    assert earlier == twin
    twin.unlink()
    assert outputs.publish(staged_set("newer"), targets, None) == (
        None,
        None,
    )  # was: (twin, None)


def test_the_left_warning_is_printed_as_decided_under_the_lock(tmp_path, monkeypatch):
    """Review of round 28: the warning "X is left beside ..." found before the set's lock was printed at once,
    then dropped from the manifest when the file was gone under the lock (the user moved it away meanwhile): the
    console said it, the manifest not (`cvp features`; `cvp score` alike: `warn(left)` before `publish`). Now only
    the decision under the lock is printed, the manifest's: nothing when gone; the warning when still there
    (`outputs.publish` returns it for `cvp score` to print)."""
    import pandas as pd

    import pipelines.jobs as jobs
    import pipelines.outputs as outputs
    from pipelines.io import write_frame
    from tests.helpers import csv_data, raw_orders

    data = csv_data(tmp_path, orders=raw_orders(30))
    f = tmp_path / "f"
    f.mkdir()
    (f / "feat.parquet").write_text("my own notes")  # a user's file under the other format's name
    write = jobs.write_frame

    def meanwhile(frame, target, **kwargs):  # the user moves it away while the run works
        (f / "feat.parquet").unlink(missing_ok=True)
        return write(frame, target, **kwargs)

    monkeypatch.setattr(jobs, "write_frame", meanwhile)
    said = quiet(400)
    jobs.run_features(data, "2023-02-01", f / "feat.csv", None, None, said)
    assert "is left beside" not in said.file.getvalue()  # was: printed
    assert json.loads((f / "feat.manifest.json").read_text())["warnings"] == []

    # the scores: a file left before the lock and still there under it is returned to be printed
    out = tmp_path / "out"
    out.mkdir()
    targets = outputs.output_paths(out / "scores.csv")
    cols = outputs.SCORES_REQUIRED
    write_frame(pd.DataFrame({c: ["mine"] for c in [*cols, "my_note"]}), out / "scores.parquet")
    earlier, left = earlier_scores(targets)
    assert earlier is None and left
    stage = tmp_path / "stage"
    stage.mkdir()
    staged = {"scores": stage / "scores.csv", "manifest": stage / "manifest.json"}
    write_frame(pd.DataFrame({c: ["new"] for c in cols}), staged["scores"])
    staged["manifest"].write_text(json.dumps({"run_id": "new", "warnings": [left]}))
    assert outputs.publish(staged, targets, None) == (None, left)  # was: (None, None)
    assert json.loads(targets["manifest"].read_text())["warnings"] == [left]


def test_cvp_history_marks_a_run_a_challenger_scored(december_history, tmp_path):
    """`cvp score --model models:/customer-value@challenger --history H` (a model under evaluation tried on the
    nightly history): `cvp history` listed its run as `1`, as any run of production's, and run.json recorded
    nothing of it (was: README known limits of round 27), while the next runs' stable tiers and moves read its
    tiers. Now run.json records the champion then and the model's aliases (the manifest's `champion_version`,
    `model_aliases`) and `cvp history` marks the run's model `(challenger)` (or `(set aside)`,
    `phrases.scored_by`, the words of the pages' label), with a note under the tables."""
    import io

    from rich.console import Console

    from pipelines.history import run_history
    from tests.pipelines.conftest import history_after_december

    history = history_after_december(december_history, tmp_path)
    (run_file,) = history.glob("as_of=*/run.json")
    info = json.loads(run_file.read_text())
    assert info["champion_version"] == "1" and info["model_aliases"] == ["champion"]  # was: not recorded

    def listed() -> str:
        out = io.StringIO()
        run_history(history, Console(file=out, width=100))
        return out.getvalue()

    assert "(challenger)" not in listed() and "note:" not in listed()  # the champion's run: as before
    run_file.write_text(json.dumps(info | {"champion_version": "", "model_aliases": ["challenger"]}))
    said = listed()
    assert "1 (challenger)" in said and "was not the champion when it scored that run" in said  # was: "1"
    run_file.write_text(json.dumps(info | {"champion_version": "2", "model_aliases": []}))
    assert "1 (set aside)" in listed()
    # a run recorded before run.json held them: not judged
    run_file.write_text(
        json.dumps({k: v for k, v in info.items() if k not in ("champion_version", "model_aliases")})
    )
    assert "(challenger)" not in listed() and "(set aside)" not in listed()


def test_the_other_formats_scores_are_decided_under_the_sets_lock(tmp_path):
    """Two `cvp score` runs into one folder at once, `--out out/scores.csv` and `--out out/scores.parquet`: the csv
    run looked for a `scores.parquet` to replace before the set's lock (none there), the parquet run published
    its set meanwhile, then the csv run published its own: the parquet run's `scores.parquet` stayed beside the
    csv run's manifest and contributions, not a word (was: `staging.earlier_twin` taken outside the lock, README
    known limits of round 27; a batch job reading `scores.parquet` read the other run's scores under this run's
    manifest). Now `outputs.publish` decides it again under the lock: the replaced set's own file is removed; a
    file not known to be the set's (a user's, put there meanwhile) is left, and the warning is written into the
    manifest published and returned to be printed (the one said before the lock taken back when it is gone)."""
    from pipelines.io import write_frame
    from pipelines.outputs import SCORES_REQUIRED, output_paths, publish

    def frame(run_id: str, *extra: str):
        import pandas as pd

        return pd.DataFrame({c: [run_id if c == "run_id" else "x"] for c in [*SCORES_REQUIRED, *extra]})

    out = tmp_path / "out"
    out.mkdir()
    targets = output_paths(out / "scores.csv")
    twin = out / "scores.parquet"

    def staged_set(run_id: str) -> dict:
        stage = tmp_path / f"stage-{run_id}"
        stage.mkdir()
        staged = {"scores": stage / "scores.csv", "manifest": stage / "manifest.json"}
        write_frame(frame(run_id), staged["scores"])
        staged["manifest"].write_text(json.dumps({"run_id": run_id, "warnings": ["rows rejected"]}))
        return staged

    earlier, left = earlier_scores(targets)  # the csv run looks before the lock: nothing of the other format
    assert (earlier, left) == (None, None)
    # meanwhile the parquet run publishes its whole set there
    write_frame(frame("parquet-run"), twin)
    targets["manifest"].write_text(json.dumps({"run_id": "parquet-run"}))
    said = publish(staged_set("csv-run"), targets, None)  # what the csv run knew: nothing to remove
    assert not twin.exists(), sorted(p.name for p in out.iterdir())  # was: the parquet run's scores left
    assert said == (twin, None) and json.loads(targets["manifest"].read_text())["warnings"] == [
        "rows rejected"
    ]

    # a user's own file put under the name while the run scored: left, said in the manifest and returned
    write_frame(frame("mine", "my_note"), twin)
    removed, late = publish(staged_set("csv-run-2"), targets, None)
    assert twin.exists() and removed is None
    assert late.startswith(f"{twin} is left beside scores.csv: it is not known to be the table of the set")
    assert json.loads(targets["manifest"].read_text())["warnings"] == ["rows rejected", late]
    # said before the lock and removed since (the user moved it away): the manifest does not say it is left
    earlier, left = earlier_scores(targets)
    assert earlier is None and left
    twin.unlink()
    # (round 29: no look before the lock, so the staged manifest says nothing of it)
    staged = staged_set("csv-run-3")
    staged["manifest"].write_text(json.dumps({"run_id": "csv-run-3", "warnings": []}))
    assert publish(staged, targets, None) == (None, None)
    assert json.loads(targets["manifest"].read_text())["warnings"] == []


def test_a_feature_manifest_lists_every_warning_the_command_printed(tmp_path):
    """`cvp features` on orders of which one row is rejected printed "warning: 1 input row rejected, not used by
    this feature table: orders 1 of 300 ..." and wrote a manifest without `warnings` (was: the key written only for
    a table of the other format left beside it, so a batch job alerting on the manifest's `warnings` saw none, or
    that one alone). Now the manifest lists every warning printed (`rejected_rows.said`, the scoring manifest's
    rule)."""
    from pipelines.jobs import run_features
    from tests.helpers import csv_data, raw_orders

    orders = raw_orders(300)
    orders.loc[7, "revenue"] = "ten"
    data = csv_data(tmp_path, orders=orders)
    said = quiet(400)
    run_features(data, "2023-02-01", tmp_path / "f" / "feat.csv", None, None, said)
    printed = [
        line.removeprefix("warning: ") for line in said.file.getvalue().splitlines() if "warning:" in line
    ]
    assert printed and printed[0].startswith("1 input row rejected, not used by this feature table: orders 1")
    manifest = json.loads((tmp_path / "f" / "feat.manifest.json").read_text())
    assert manifest["warnings"] == printed  # was: no `warnings`


def test_a_feature_table_of_the_other_format_published_meanwhile_is_decided_under_the_lock(
    tmp_path, monkeypatch
):
    """`cvp features --out f/feat.csv` while `cvp features --out f/feat.parquet` publishes its table and manifest
    (two jobs of one folder): the csv run looked for `feat.parquet` before its lock (none), the parquet run's
    table then stayed beside the csv run's `feat.manifest.json` (was: decided outside the lock, as the scores'
    twin). Now `staging.atomic_files` decides it again under the lock (`staging.decided_under_lock`, the one rule of
    both sets): the replaced set's table is removed, and said."""
    import pipelines.jobs as jobs
    from tests.helpers import csv_data, raw_orders

    data = csv_data(tmp_path, orders=raw_orders(30))
    f = tmp_path / "f"
    write = jobs.write_frame

    def meanwhile(frame, target, **kwargs):  # the parquet run publishes its set while this one writes
        f.mkdir(exist_ok=True)
        write(frame, f / "feat.parquet", **kwargs)
        (f / "feat.manifest.json").write_text(json.dumps({"table": "feat.parquet"}))
        return write(frame, target, **kwargs)

    monkeypatch.setattr(jobs, "write_frame", meanwhile)
    said = quiet(400)
    jobs.run_features(data, "2023-02-01", f / "feat.csv", None, None, said)
    assert not (f / "feat.parquet").exists(), sorted(p.name for p in f.iterdir())  # was: left, not a word
    assert (
        f"note: {f / 'feat.parquet'} removed: the table of the manifest it replaced" in said.file.getvalue()
    )
    assert json.loads((f / "feat.manifest.json").read_text())["table"] == "feat.csv"
