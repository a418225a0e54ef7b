"""Round 28 of the train/score seam: what still let a wrong result through with exit 0, or two paths that should
agree did not.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import html
import json
import re
import shutil

from tests.helpers import quiet


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

    # the champion's own scores made by a training run the registry's version 1 is not: replaced since
    path.write_text(json.dumps(manifest | {"champion_version": "1", "model_run_id": "f" * 32}))
    run_profile(scores, None, root / "replaced", None, trained.config, quiet())
    said = _text((root / "replaced" / "profile.html").read_text())
    assert (
        "Model replaced:" in said and "replaced since by version 1 (training run" in said
    )  # was: not a word

    # a store that cannot be read: the page is made, as without the registry's answer (a challenger's: provisional)
    gone = manifest | {"champion_version": "", "model_aliases": ["challenger"]}
    path.write_text(json.dumps(gone | {"tracking_uri": f"sqlite:///{tmp_path / 'nowhere' / 'mlflow.db'}"}))
    run_profile(scores, None, root / "gone", None, trained.config, quiet())
    assert "Provisional" in _text((root / "gone" / "profile.html").read_text())


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
