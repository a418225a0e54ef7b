"""Round 32 of the train/score seam: what still let a wrong result through with exit 0, or left what it should not.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest


def _history_copy(history: Path, root: Path) -> Path:
    copy = root / "history"
    shutil.copytree(history, copy)
    return copy


def test_a_history_partition_edited_by_hand_is_refused(history_runs, trained, tmp_path):
    """The history's 2024-12-01 partition edited by hand (a customer's raw tier changed, a row deleted, its
    contributions changed): the next run's stable tiers read it as written and `cvp report --history` counted
    the moves from it, exit 0 (was: a partition was checked by run id only). Now `run.json` records each file's
    sha256 as appended and every read of the file checks it: exit 2 naming the file and the way out."""
    from features.validation import StructuralError
    from pipelines.config import load_config
    from pipelines.history import apply_stability
    from pipelines.history_store import list_runs, read_bridge, read_columns, read_run, read_run_churn
    from pipelines.outputs import write_scores_parquet
    from tests.helpers import cvp

    root, history = history_runs
    runs = list_runs(history)
    assert all(
        set(r.file_digests or {}) >= {"scores.parquet", "contributions.parquet"} for r in runs
    )  # was None
    for r in runs:  # as appended: read, nothing said
        read_run(r), read_run_churn(r), read_bridge(r), read_columns(r, ["customer_id"])
    scores = pd.read_parquet(history / "as_of=2024-12-01" / "scores.parquet")
    great = scores.index[scores["raw_tier"] == "great"][0]
    edits = {
        "a raw tier": lambda s: s.assign(raw_tier=s["raw_tier"].where(s.index != great, "problem")),
        "a row deleted": lambda s: s.drop(index=great),
    }
    later = pd.read_parquet(root / "scores-2025-01-01.parquet")
    cfg = load_config(trained.config)
    for what, edit in edits.items():
        h = _history_copy(history, tmp_path / what.replace(" ", "_"))
        part = h / "as_of=2024-12-01"
        write_scores_parquet(edit(scores), part / "scores.parquet")
        (run,) = [r for r in list_runs(h) if r.as_of == "2024-12-01"]
        with pytest.raises(StructuralError, match="scores.parquet is not the file its run published"):
            read_columns(run, ["customer_id", "raw_tier"])
        with pytest.raises(
            StructuralError,
            match=r"as-of again \(`cvp score --as-of 2024-12-01 --history ...`: its partition is replaced whole\)",
        ):
            apply_stability(later.drop(columns=["raw_tier"]), h, cfg, 365)  # was: the edited tiers held
        res = cvp(
            "report",
            "--scores",
            root / "scores-2025-01-01.parquet",
            "--history",
            h,
            "--out",
            h.parent / "site",
        )
        said = " ".join(res.output.split())
        assert res.exit_code == 2 and "is not the file its run published" in said, (what, said)  # was 0
        assert "Traceback" not in said and not (h.parent / "site").exists()
    h = _history_copy(history, tmp_path / "contributions")
    part = h / "as_of=2024-12-01"
    contrib = pd.read_parquet(part / "contributions.parquet")
    feature = next(c for c in contrib.columns if c not in ("customer_id", "run_id"))
    contrib.assign(**{feature: contrib[feature] * 2}).to_parquet(part / "contributions.parquet", index=False)
    (run,) = [r for r in list_runs(h) if r.as_of == "2024-12-01"]
    with pytest.raises(StructuralError, match="contributions.parquet is not the file its run published"):
        read_run(run)
    (part / "churn_contributions.parquet").unlink()
    with pytest.raises(StructuralError, match="churn_contributions.parquet is missing"):
        read_run_churn(run)  # was: None, the churn moves silently gone


def test_a_history_appended_before_round_32_is_read_with_a_note(history_runs, tmp_path):
    """A partition whose run.json records no digests (appended before this round) is read as it is, and the next
    run's notes say its edits are not detected; a partition with digests says nothing."""
    from pipelines.history import history_notes
    from pipelines.history_store import list_runs, read_run

    _, history = history_runs
    assert not any("record no digests" in n for n in history_notes(history, "2025-02-01", None, "margin"))
    h = _history_copy(history, tmp_path)
    info_path = h / "as_of=2024-11-01" / "run.json"
    info = json.loads(info_path.read_text())
    info.pop("file_digests", None)
    info_path.write_text(json.dumps(info))
    old = list_runs(h)[0]
    assert old.file_digests is None
    read_run(old)
    notes = history_notes(h, "2025-02-01", None, "margin")
    assert any("history's run as of 2024-11-01 record no digests of their files" in n for n in notes), notes
    # every run before: a count, the first and the last, not each date
    for folder in sorted(h.glob("as_of=*")):
        info = json.loads((folder / "run.json").read_text())
        info.pop("file_digests", None)
        (folder / "run.json").write_text(json.dumps(info))
    runs = list_runs(h)
    said = [n for n in history_notes(h, "2025-02-01", None, "margin") if "record no digests" in n]
    assert said == [
        f"the history's {len(runs)} runs as of {runs[0].as_of} to {runs[-1].as_of} record no digests of their "
        "files (appended before the history recorded them, or their run.json's `file_digests` removed): read as "
        "they are, an edit since is not detected"
    ], said


def test_a_change_of_how_the_data_is_read_is_said_when_scoring():
    """The code compared between training and scoring was `features/` and `models/` only: a model trained before a
    change of the CSV reader or the mapping language (how `pipelines/` turns the files into values) was scored
    without a word (was: no digest of them). Now the code version holds `reading_sha256` of those modules, and a
    model that recorded another is warned of (`--strict` refuses) as other feature code is; a model trained before
    this round (none recorded) is judged without it."""
    from pathlib import Path

    import pipelines
    from pipelines.code_version import READING, code_difference, code_version

    now = code_version()
    assert len(now.get("reading_sha256", "")) == 64  # was: absent
    assert all((Path(pipelines.__file__).parent / name).exists() for name in READING)
    note = code_difference(now | {"reading_sha256": "0" * 64}, now)
    assert note and "data-reading code (io.py, table_files.py, csv_reading.py, mapping of pipelines/)" in note
    assert code_difference(now, now) is None
    assert code_difference({k: v for k, v in now.items() if k != "reading_sha256"}, now) is None


def test_a_store_of_another_mlflow_is_exit_2_naming_the_way_out(new_store, tmp_path):
    """The local store written by another MLflow than the installed one: `pip install -U mlflow` since it was
    written (an older schema), or a store shared with a machine whose MLflow is newer. Every command was exit 1
    `unexpected MlflowException: Detected out-of-date database schema ...` (was: not a known problem). Now exit 2
    naming the store, both schemas and the way out: `mlflow db upgrade` after a backup for an older one, the
    newer MLflow (or a store of its own) for a schema this MLflow does not know; the store is not changed."""
    import sqlite3
    from contextlib import closing

    from tests.helpers import config_file, cvp
    from tests.pipelines.conftest import empty_registry

    db = empty_registry(new_store, tmp_path / "mlruns")
    config = config_file(tmp_path, f"mlflow:\n  tracking_dir: {tmp_path / 'mlruns'}\n")
    for schema, said in (
        ("84291f40a231", "an older one. Back it up"),  # one of this MLflow's migrations: an older store
        ("ffffffffffff", "a newer one, whose schema this MLflow does not know"),
    ):
        with closing(sqlite3.connect(db)) as con, con:
            con.execute("UPDATE alembic_version SET version_num = ?", (schema,))
        before = db.read_bytes()
        res = cvp("models", "--config", config)
        flat = " ".join(res.output.split())
        assert res.exit_code == 2, flat  # was 1, "unexpected MlflowException"
        assert (
            f"was written by another MLflow than this installation's (its schema {schema}, this MLflow's"
            in flat
        )
        assert said in flat and "unexpected" not in flat and "Traceback" not in flat, flat
        if schema.startswith("8"):
            assert f"mlflow db upgrade sqlite:///{db}" in flat, flat
        assert db.read_bytes() == before


def test_runs_of_another_amount_unit_are_not_compared(history_runs, trained, tmp_path):
    """The company's export moved from units to cents and a model was retrained on it (the model and its data
    agree, so `check_amount_scale` is silent): the next `cvp score --history` compared its values with the runs in
    units, every customer's value "rose" a hundredfold, the moves and the data/model split said so, exit 0 (was:
    only the currency compared). Now the typical predicted value of the two runs is compared: x100 is exit 2, the
    way out a new history; the same unit (the fixture's own run) passes."""
    from features.validation import StructuralError
    from pipelines.config import load_config
    from pipelines.history import apply_stability

    root, history = history_runs
    h = _history_copy(history, tmp_path)
    shutil.rmtree(h / "as_of=2025-01-01")
    later = pd.read_parquet(root / "scores-2025-01-01.parquet").drop(columns=["raw_tier"])
    cfg = load_config(trained.config)
    apply_stability(later, h, cfg, 365)  # the same unit: compared
    money = [c for c in later.columns if c.startswith("pred_value") or c.startswith("pred_expected")]
    cents = later.assign(**{c: later[c] * 100 for c in money})
    with pytest.raises(
        StructuralError, match=r"median positive pred_expected_net_value_365d\) is .* \(x1\d\d\): amounts in"
    ):
        apply_stability(cents, h, cfg, 365)  # was: compared, exit 0


def test_the_previous_partition_is_checked_before_scoring(history_runs, tmp_path):
    """Review of round 32: an edited partition stopped the run only when the stable tiers read it, after every
    chunk was scored. Now `runs_before` (read as the run starts, for its id) checks the files of the run before its
    as-of: exit 2 before any scoring."""
    from features.validation import StructuralError
    from pipelines.history import runs_before

    _, history = history_runs
    assert set(runs_before(history, "2025-02-01")) == {"2024-11-01", "2024-12-01", "2025-01-01"}
    h = _history_copy(history, tmp_path)
    part = h / "as_of=2025-01-01"
    scores = pd.read_parquet(part / "scores.parquet")
    scores.iloc[1:].to_parquet(part / "scores.parquet")  # a row deleted
    with pytest.raises(StructuralError, match="scores.parquet is not the file its run published"):
        runs_before(h, "2025-02-01")  # was: the run ids only, the edit seen after scoring


def test_a_moved_store_of_another_mlflow_is_not_rewritten_before_its_schema_stop(trained, tmp_path):
    """Review of round 32: a store of another MLflow's schema, copied to another folder, had its models' paths
    rewritten (`follow_move`) before MLflow's schema check stopped the command: the store said untouched was not.
    Now the schema is checked first: nothing is rewritten, the stop says what to do."""
    import sqlite3
    from contextlib import closing

    from pipelines.store_moved import follow_move
    from tests.pipelines.conftest import PRISTINE

    copy = tmp_path / "elsewhere" / "mlruns"
    shutil.copytree(trained.root / PRISTINE, copy)
    db = copy / "mlflow.db"
    with closing(sqlite3.connect(db)) as con, con:
        con.execute("UPDATE alembic_version SET version_num = ?", ("84291f40a231",))  # an older MLflow's
    before = db.read_bytes()
    assert follow_move(db) is None  # was: "its models' file paths now point to ..."
    assert db.read_bytes() == before
