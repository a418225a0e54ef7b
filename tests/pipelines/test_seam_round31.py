"""Round 31 of the train/score seam: what still let a wrong result through with exit 0, or left what it should not.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def _copy_set(out: Path, root: Path) -> Path:
    """The output set published at `out` (every file of it there is), copied under `root` with the same names."""
    from pipelines.outputs import output_paths

    root.mkdir(parents=True, exist_ok=True)
    for path in output_paths(out).values():
        if path.exists():
            shutil.copyfile(path, root / path.name)
    return root / out.name


def test_a_scores_file_edited_by_hand_is_refused_by_its_readers(default_scores, tmp_path):
    """The scores file edited within scoring's own values (a tier moved from great to good, a row deleted, a
    prediction changed) and `cvp report` / `cvp profile` of it: rendered as written, exit 0 (was: the manifest
    recorded nothing of its files' content; found by the reports helper, round 36). Now the manifest records each
    file's sha256 as published and the readers refuse a file that differs: exit 2 naming it."""
    import pandas as pd

    from pipelines.outputs import DIGESTS, read_output_set
    from tests.helpers import cvp

    manifest = default_scores.run.manifest
    assert {"scores", "contributions", "churn_contributions"} <= set(manifest[DIGESTS])  # was: no digests
    scores = pd.read_parquet(default_scores.out)
    great = scores.index[scores["tier"] == "great"][0]
    pred = next(c for c in scores.columns if c.startswith("pred_value_"))
    edits = {
        "a tier": lambda s: s.assign(tier=s["tier"].where(s.index != great, "good")),
        "a row deleted": lambda s: s.drop(index=great),
        "a prediction": lambda s: s.assign(**{pred: s[pred].where(s.index != great, s[pred] * 2)}),
    }
    for what, edit in edits.items():
        out = _copy_set(default_scores.out, tmp_path / what.replace(" ", "_"))
        assert read_output_set(out).note is None  # as published: read, nothing said
        edit(scores).to_parquet(out, index=False)
        for command in (("report", "--out", out.parent / "pages"), ("profile", "--out", out.parent / "prof")):
            res = cvp(command[0], "--scores", out, *command[1:])
            said = " ".join(res.output.split())
            assert res.exit_code == 2, (what, said)  # was: 0, the edited file rendered
            assert f"{out} is not the file its run published" in said and "score again" in said, said
        assert not (out.parent / "pages").exists() and not (out.parent / "prof").exists()


def test_the_sets_other_files_are_checked_too(default_scores, tmp_path):
    """The contributions edited, the churn contributions the run published deleted, a bridge file laid beside a
    set that published none: each was read as the run's (or, deleted, the churn reasons silently gone). Now each
    is refused, naming the file; the profile (which reads no churn file) is not stopped by the churn file."""
    import pandas as pd
    import pytest

    from features.validation import StructuralError
    from pipelines.outputs import output_paths, read_output_set

    out = _copy_set(default_scores.out, tmp_path / "set")
    paths = output_paths(out)
    contrib = pd.read_parquet(paths["contributions"])
    feature = next(c for c in contrib.columns if c not in ("customer_id", "run_id"))
    contrib.assign(**{feature: contrib[feature] + 1.0}).to_parquet(paths["contributions"], index=False)
    with pytest.raises(StructuralError, match="contributions.parquet is not the file its run published"):
        read_output_set(out)
    shutil.copyfile(output_paths(default_scores.out)["contributions"], paths["contributions"])
    read_output_set(out)
    paths["churn_contributions"].unlink()
    with pytest.raises(StructuralError, match="churn_contributions.parquet is missing: its run published it"):
        read_output_set(out)
    assert read_output_set(out, with_churn=False).churn_contributions is None  # not read: not checked
    shutil.copyfile(output_paths(default_scores.out)["churn_contributions"], paths["churn_contributions"])
    shutil.copyfile(paths["churn_contributions"], paths["bridge_churn_contributions"])  # run ids of this run
    with pytest.raises(
        StructuralError, match="bridge_churn_contributions.parquet was not published by its run"
    ):
        read_output_set(out)


def test_a_set_without_digests_is_read_as_before_with_a_note(default_scores, tmp_path):
    """A set published before round 31 (its manifest records no digests): read as before, even edited, and the
    readers say that an edit is not detected."""
    import pandas as pd

    from pipelines.outputs import DIGESTS, output_paths, read_output_set
    from tests.helpers import cvp

    out = _copy_set(default_scores.out, tmp_path / "old")
    manifest_path = output_paths(out)["manifest"]
    older = {k: v for k, v in json.loads(manifest_path.read_text()).items() if k != DIGESTS}
    manifest_path.write_text(json.dumps(older))
    scores = pd.read_parquet(out)
    scores.drop(index=scores.index[0]).to_parquet(out, index=False)
    got = read_output_set(out)
    assert len(got.scores) == len(scores) - 1
    assert got.note is not None and "records no digests of its files" in got.note
    res = cvp("profile", "--scores", out, "--out", tmp_path / "prof")
    assert res.exit_code == 0, res.output
    assert "records no digests" in " ".join(res.output.split())


def test_the_history_append_copies_only_the_files_the_run_published(history_runs, tmp_path):
    """The contributions file edited (same run ids) between the run's publishing and its append to `--history`:
    copied into the partition as the run's, exit 0 (was: only the run ids were checked). Now refused by the
    manifest's digest, the history unchanged; the run's own files are added."""
    import pandas as pd
    import pytest

    from features.validation import StructuralError
    from pipelines.history_append import append_run
    from pipelines.history_store import list_runs
    from pipelines.outputs import read_output_set

    root, history = history_runs
    h = tmp_path / "history"
    shutil.copytree(history, h, ignore=shutil.ignore_patterns("as_of=2025-01-01"))
    published = read_output_set(root / "scores-2025-01-01.parquet", columns=[])
    scores = pd.read_parquet(history / "as_of=2025-01-01" / "scores.parquet")
    out = _copy_set(root / "scores-2025-01-01.parquet", tmp_path / "out")
    contributions = out.with_name("scores-2025-01-01.contributions.parquet")
    frame = pd.read_parquet(contributions)
    frame.iloc[1:].to_parquet(contributions, index=False)  # a row deleted, the run's id on the others
    with pytest.raises(StructuralError, match="contributions.parquet is not the file its run published"):
        append_run(h, scores, contributions, published.manifest)  # was: added
    assert [r.as_of for r in list_runs(h)] == ["2024-11-01", "2024-12-01"]
    shutil.copyfile(root / "scores-2025-01-01.contributions.parquet", contributions)
    assert append_run(h, scores, contributions, published.manifest).name == "as_of=2025-01-01"


def test_a_score_stopped_after_its_outputs_were_checked_leaves_nothing(trained, tmp_path):
    """`cvp score --out O/scores.parquet --history H` whose model is not found (a stop after the outputs were
    checked): exit 2, and O (made to probe it) and H, marked and empty, were left (was: README known limits, round
    30). Now what the stopped run created is removed; directories that were there before stay, as they were."""
    from pipelines.history_store import HISTORY_MARKER
    from tests.helpers import cvp

    out, history = tmp_path / "o" / "deep" / "scores.parquet", tmp_path / "h"
    args = ("score", "--data", trained.data, "--as-of", "2025-01-01", "--config", trained.config)
    missing = ("--model", tmp_path / "no-such-model")
    res = cvp(*args, "--out", out, "--history", history, *missing)
    assert res.exit_code == 2, res.output
    assert not (tmp_path / "o").exists() and not history.exists()  # was: both left, H marked
    (tmp_path / "o").mkdir()
    history.mkdir()
    res = cvp(*args, "--out", out, "--history", history, "--rejects", tmp_path / "o" / "rej", *missing)
    assert res.exit_code == 2, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h", "o"]  # there before: kept
    assert list((tmp_path / "o").iterdir()) == [] and list(history.iterdir()) == []  # H not marked
    assert not (history / HISTORY_MARKER).exists()


def test_hidden_files_in_a_parquet_scores_directory_are_not_in_its_digest(tmp_path):
    """A Spark Parquet scores directory: a `.DS_Store`, a Hadoop `.part-00000.parquet.crc` or a `_SUCCESS` added
    after the run changed its digest, a false "edited since" stop (was: every file hashed). Now only the files
    readers read are; an edited part still changes it."""
    from pipelines.outputs import file_digest

    scores = tmp_path / "scores.parquet"
    scores.mkdir()
    (scores / "part-00000.parquet").write_bytes(b"rows")
    before = file_digest(scores)
    (scores / ".DS_Store").write_bytes(b"finder")
    (scores / ".part-00000.parquet.crc").write_bytes(b"crc")
    (scores / "_SUCCESS").write_bytes(b"")
    assert file_digest(scores) == before  # was: another digest
    (scores / "part-00000.parquet").write_bytes(b"rows edited")
    assert file_digest(scores) != before


def test_a_stopped_score_leaves_a_second_runs_marker_and_lock(trained, tmp_path, monkeypatch):
    """Runs A and B given the same new `--out` O and `--history` H: B's checks mark H and take its lock in O
    while A runs; A stops (its model is not found). A removed B's marker (and would its lock and staging: was
    removed whole). Now A removes only what it made: B's marker and lock stay, and so O and H."""
    import pipelines.output_checks as output_checks
    from pipelines.history_store import HISTORY_MARKER
    from tests.helpers import cvp

    out, history = tmp_path / "o" / "scores.parquet", tmp_path / "h"
    check = output_checks.check_rejects_replaceable

    def run_b_meanwhile(rejects):  # after A's output checks, before A's open_history
        history.mkdir(parents=True, exist_ok=True)
        (history / HISTORY_MARKER).write_text("run B\n")
        out.parent.mkdir(parents=True, exist_ok=True)
        (out.parent / ".scores.publish.lock").write_text("")
        return check(rejects)

    monkeypatch.setattr(output_checks, "check_rejects_replaceable", run_b_meanwhile)
    args = ("score", "--data", trained.data, "--as-of", "2025-01-01", "--config", trained.config)
    res = cvp(*args, "--out", out, "--history", history, "--model", tmp_path / "no-such-model")
    assert res.exit_code == 2, res.output
    assert (history / HISTORY_MARKER).read_text() == "run B\n"  # was: removed
    assert (out.parent / ".scores.publish.lock").is_file()


def test_deleted_files_the_digests_list_are_said_missing(default_scores, history_runs, tmp_path):
    """The profile inputs the run published, deleted: `cvp profile` said "scored by an older cvp score" (was:
    checked only when there). The churn contributions the run published, deleted before its append to
    `--history`: the partition added without them, exit 0 (was: only the files copied were checked). Now both
    are refused as the readers refuse them: missing, its run published it."""
    import pandas as pd
    import pytest

    from features.validation import StructuralError
    from pipelines.history_append import append_run
    from pipelines.history_store import list_runs
    from pipelines.outputs import DIGESTS, output_paths, read_output_set
    from tests.helpers import cvp

    out = _copy_set(default_scores.out, tmp_path / "set")
    assert "profile_inputs" in default_scores.run.manifest[DIGESTS]
    output_paths(out)["profile_inputs"].unlink()
    res = cvp("profile", "--scores", out, "--out", tmp_path / "prof")
    said = " ".join(res.output.split())
    assert res.exit_code == 2, said
    assert "profile_inputs.parquet is missing: its run published it" in said, said  # was: an older cvp score

    root, history = history_runs
    h = tmp_path / "history"
    shutil.copytree(history, h, ignore=shutil.ignore_patterns("as_of=2025-01-01"))
    published = read_output_set(root / "scores-2025-01-01.parquet", columns=[])
    assert "churn_contributions" in published.manifest[DIGESTS]
    scores = pd.read_parquet(history / "as_of=2025-01-01" / "scores.parquet")
    moved = _copy_set(root / "scores-2025-01-01.parquet", tmp_path / "out")
    output_paths(moved)["churn_contributions"].unlink()
    with pytest.raises(StructuralError, match="churn_contributions.parquet is missing: its run published it"):
        append_run(h, scores, output_paths(moved)["contributions"], published.manifest)  # was: added
    assert [r.as_of for r in list_runs(h)] == ["2024-11-01", "2024-12-01"]


def test_an_edited_scores_file_is_refused_before_it_is_parsed(default_scores, tmp_path, monkeypatch):
    """An edited scores file of the run's own ids was parsed whole, then refused (an edited 1 GB set: ~10 s
    before the stop). Now its digest is checked first: refused without parsing it; a file of another run still
    gets the mixed-set message of the whole read."""
    import pandas as pd
    import pytest

    import pipelines.outputs as outputs
    from features.validation import StructuralError

    out = _copy_set(default_scores.out, tmp_path / "set")
    scores = pd.read_parquet(out)
    scores.iloc[1:].to_parquet(out, index=False)
    parsed = []
    whole = outputs._read_scores
    monkeypatch.setattr(outputs, "_read_scores", lambda *a, **k: parsed.append(1) or whole(*a, **k))
    with pytest.raises(StructuralError, match="is not the file its run published"):
        outputs.read_output_set(out)
    assert parsed == []  # was: parsed, then refused
    scores.assign(run_id="another-run").to_parquet(out, index=False)
    with pytest.raises(StructuralError, match="come from different runs"):
        outputs.read_output_set(out)
    assert parsed == [1]
