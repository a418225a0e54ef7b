"""Round 7 of the output and seam hunt: where outputs may be written, and runs writing one place at once.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest

from features.validation import StructuralError
from tests.helpers import cvp as _cvp
from tests.pipelines.score_helpers import score_cli_args

MAPPING = """
sources:
  lines: {file: raw/orders.csv}
tables:
  orders:
    source: lines
    columns: {order_id: id, customer_id: cust, ordered_at: at, revenue: rev}
"""
LINES = "id,cust,at,rev\no1,c1,2024-01-05,10\no2,c2,2024-02-05,20\n"


@pytest.fixture
def blocker(tmp_path) -> Path:
    path = tmp_path / "afile"
    path.write_text("not a directory")
    return path


def test_a_file_where_an_output_directory_must_be_is_named(trained, blocker):
    """`--out afile/x`, `--rejects afile/r`, `--history afile/h` with `afile` a file: exit 2 naming `afile`
    before the model or the data are read (was: "File exists"; for `cvp score --history`, exit 1 `unexpected
    NotADirectoryError`; for `cvp score --rejects`, exit 0 on data without rejects, and `unexpected
    NotADirectoryError` after the whole load on data with some)."""
    cases = {
        "features": (
            "features",
            "--data",
            trained.data,
            "--as-of",
            "2024-07-01",
            "--out",
            blocker / "f.parquet",
        ),
        "score --history": (
            *score_cli_args(trained, blocker.parent / "s.parquet"),
            "--history",
            blocker / "h",
        ),
        "score --rejects": (
            *score_cli_args(trained, blocker.parent / "s.parquet"),
            "--rejects",
            blocker / "r",
        ),
        "score --out": score_cli_args(trained, blocker / "s.parquet"),
    }
    for name, args in cases.items():
        res = _cvp(*args)
        assert res.exit_code == 2, (name, res.output)
        assert f"{blocker} is a file, not a directory" in " ".join(res.output.split()), (name, res.output)
    assert not (blocker.parent / "s.parquet").exists() and blocker.read_text() == "not a directory"


@pytest.mark.parametrize("output", ["features --out", "validate --rejects"])
def test_an_output_over_a_mapping_source_is_refused(tmp_path, output):
    """Mapping sources are read from `--data` under any name: an output over one (a file named like it, any case,
    or a directory whose `<table>.csv` would land on it) exits 2 and the source is kept (was: `cvp features --out
    data/online_retail.parquet --mapping online_retail.yaml` replaced the invoice lines by the feature table,
    exit 0; `--rejects data/raw` wrote the orders' rejects over `data/raw/orders.csv`)."""
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    (data / "raw" / "orders.csv").write_text(LINES)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    if output == "features --out":
        args = ("features", "--as-of", "2024-03-01", "--out", data / "raw" / "Orders.csv")
    else:
        args = ("validate", "--rejects", data / "raw")
    res = _cvp(*args, "--data", data, "--mapping", mapping)
    assert res.exit_code == 2, res.output
    assert "mapping's source 'lines'" in " ".join(res.output.split()), res.output
    assert (data / "raw" / "orders.csv").read_text() == LINES
    assert sorted(p.name for p in (data / "raw").iterdir()) == ["orders.csv"]


def test_outputs_inside_a_history_or_a_directory_of_pages_are_refused(trained, default_scores, tmp_path):
    """`cvp score --out H/scores.parquet --history H` (or `--rejects H`), `cvp report --out H/pages` for an existing
    history H, `cvp score --out pages/s.parquet` into a directory of pages: exit 2 before anything is written (was:
    the set or the pages written inside the history, then every later run refused: "--history H holds
    's.contributions.parquet', which is not a run"; the set inside the pages deleted by the next `cvp report`)."""
    from pipelines.history_store import list_runs, open_history

    history = tmp_path / "history"
    res = _cvp(*score_cli_args(trained, history / "s.parquet"), "--history", history)
    assert res.exit_code == 2, res.output
    assert "inside the score history" in " ".join(res.output.split()), res.output
    assert not history.exists()
    open_history(history, create=True)
    res = _cvp(
        "report", "--scores", default_scores.out, "--out", history / "pages", "--config", trained.config
    )
    assert res.exit_code == 2, res.output
    assert "inside the score history" in " ".join(res.output.split()), res.output
    assert list_runs(history) == []
    # a directory of pages is replaced whole by the next report: a scores set inside it would be deleted
    pages = tmp_path / "pages"
    res = _cvp("report", "--scores", default_scores.out, "--out", pages, "--config", trained.config)
    assert res.exit_code == 0, res.output
    res = _cvp(*score_cli_args(trained, pages / "s.parquet"))
    assert res.exit_code == 2 and "inside the report directory" in " ".join(res.output.split()), res.output
    assert not (pages / "s.parquet").exists()


def _staged_copy(source: Path, folder: Path, run_id: str) -> dict[str, Path]:
    """The output set of `source` staged in `folder` as run `run_id` (its ids rewritten in every file)."""
    import json

    import pandas as pd

    from pipelines.outputs import DIGESTS, output_paths, set_digests

    folder.mkdir()
    staged = {}
    for key, path in output_paths(source).items():
        if not path.exists():
            continue
        target = folder / path.name
        if path.suffix == ".json":
            target.write_text(json.dumps(json.loads(path.read_text()) | {"run_id": run_id}))
        else:
            frame = pd.read_parquet(path)
            if "run_id" in frame:
                frame["run_id"] = run_id
            frame.to_parquet(target, index=False)
        staged[key] = target
    manifest = json.loads(
        staged["manifest"].read_text()
    )  # its files' digests, as a run records them (round 31)
    staged["manifest"].write_text(json.dumps(manifest | {DIGESTS: set_digests(staged)}))
    return staged


def test_two_runs_publishing_into_one_out_take_turns(default_scores, tmp_path, monkeypatch):
    """Run A is half-way through publishing (its contributions renamed, not its scores) when run B publishes into
    the same `--out`: B waits for A's lock, then publishes its whole set; the set read is B's, every file (was: B
    rolled A's journal forward and published, A then renamed its scores and manifest over B's, beside B's
    contributions, and failed with `unexpected FileNotFoundError` on the journal B had removed)."""
    import pipelines.outputs as outputs
    from pipelines.outputs import output_paths, publish, read_output_set

    out = tmp_path / "out" / "scores.parquet"
    out.parent.mkdir()
    a = _staged_copy(default_scores.out, tmp_path / "stage-a", "run-a")
    b = _staged_copy(default_scores.out, tmp_path / "stage-b", "run-b")
    errors: list[BaseException] = []

    def run_b() -> None:
        try:
            publish(b, output_paths(out))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    other = threading.Thread(target=run_b)

    def pause(point: str) -> None:
        if point == "after_contributions" and other.ident is None:  # A's publish, once
            other.start()
            time.sleep(0.5)  # B either publishes now (no lock) or waits for A

    monkeypatch.setattr(outputs, "_pause_at", pause)
    publish(a, output_paths(out))
    other.join(30)
    assert not errors, errors
    got = read_output_set(out)
    assert got.run_id == "run-b"  # B's whole set: read_output_set refuses files of two runs


def test_an_append_to_a_history_waits_for_the_one_under_way(default_scores, tmp_path, monkeypatch):
    """While another process appends to a history (its lock held, its staging directory being written), an
    append gives up after the wait with a message, the other's staging directory untouched (was: removed as if
    a killed run had left it, the other run's partition lost half-written)."""
    import pipelines.locks as locks
    from pipelines.history_append import append_run
    from pipelines.history_store import open_history

    history = open_history(tmp_path / "history", create=True)
    theirs = history / ".staging-0123456789abcdef"
    theirs.mkdir()
    (theirs / "scores.parquet").write_bytes(b"being written")
    monkeypatch.setattr(locks, "WAIT_S", 0.3)
    run = default_scores.run
    # the lock is pipelines.history_append.LOCK_FILE
    with locks.held(history / ".cvp-history.lock", "the test's history"):
        done: list[BaseException | Path] = []

        def append() -> None:  # another process: a thread opens its own lock file description
            try:
                done.append(append_run(history, run.scores, run.contributions_path, run.manifest))
            except BaseException as exc:  # noqa: BLE001 - checked below
                done.append(exc)

        worker = threading.Thread(target=append)
        worker.start()
        worker.join(30)
    assert len(done) == 1 and isinstance(done[0], StructuralError), done
    assert "being written by another cvp process" in str(done[0])
    assert (theirs / "scores.parquet").read_bytes() == b"being written"
    assert not list(history.glob("as_of=*"))
    shutil.rmtree(theirs)
    assert append_run(history, run.scores, run.contributions_path, run.manifest).is_dir()  # lock released


def test_report_and_profile_read_with_another_windows_config_show_the_runs_features(
    trained, default_scores, tmp_path
):
    """`cvp report` / `cvp profile --config` with `features.windows_days: [30, 180]` on a run whose model was built
    with 30/90/365-day windows: the pages and tables name the run's features as it built them, the same as with
    the run's own config (was: every 90- and 365-day feature unlabelled, `profit net 365d` on the waterfalls, and
    the profile's behaviour table losing the features of unknown group: 1 of its 5 top rows left)."""
    import yaml

    config = tmp_path / "windows.yaml"
    config.write_text(
        yaml.safe_dump(yaml.safe_load(trained.config.read_text()) | {"features": {"windows_days": [30, 180]}})
    )
    res = _cvp("report", "--scores", default_scores.out, "--out", tmp_path / "pages", "--config", config)
    assert res.exit_code == 0, res.output
    page = max((tmp_path / "pages").glob("manager-*.html"), key=lambda p: p.stat().st_size).read_text()
    assert "Net profit, last 365 days" in page and "profit net 365d" not in page
    res = _cvp("profile", "--scores", default_scores.out, "--out", tmp_path / "profile", "--config", config)
    assert res.exit_code == 0, res.output
    import pandas as pd

    behaviour = pd.read_csv(tmp_path / "profile" / "profile_behaviour.csv")
    assert behaviour["group"].notna().all() and len(behaviour) >= 5, behaviour


def test_transitions_to_or_from_a_run_that_scored_nobody():
    """A run in which nobody was scored (every customer lapsed: `--allow-stale` far after the last order) next to
    a run that scored them: transitions without deltas, each customer's statuses said (was: `cvp report
    --history` exit 1, `unexpected IndexError: index 0 is out of bounds for axis 0 with size 0`)."""
    import numpy as np

    from models.transitions import tier_transitions
    from tests.models.test_transitions import CHURN, REGISTRY, VALUE, _hand_made

    old, new, old_c, new_c, old_f, new_f = _hand_made()
    nobody = new.assign(status="lapsed", tier=None, rating=None, **{VALUE: np.nan, CHURN: np.nan})
    for a, b, a_c, b_c in ((old, nobody, old_c, new_c.iloc[:0]), (nobody, new, new_c.iloc[:0], new_c)):
        got = tier_transitions(
            a, b, a_c, b_c, REGISTRY, value_column=VALUE, churn_column=CHURN, currency="EUR", n_deltas=2,
            old_features=old_f, new_features=new_f,
        )  # fmt: skip
        assert got["tier_move"].isna().all() and got["value_delta_1"].isna().all()
        assert sorted(got.loc[got["presence"] == "both", "new_status"].unique()) == sorted(
            b["status"].unique()
        )


def test_the_model_card_names_the_model_the_run_loaded(trained, default_scores, tmp_path):
    """Scores of `--model models:/customer-value-eu/1` reported with a config whose `mlflow.registered_model` is
    `customer-value`: the team page names the model the run loaded (was: `customer-value`, version 1: another
    registered model's version)."""
    import json

    from pipelines.outputs import output_paths

    scores = tmp_path / "run" / default_scores.out.name
    shutil.copytree(default_scores.out.parent, scores.parent)
    manifest = output_paths(scores)["manifest"]
    manifest.write_text(
        json.dumps(json.loads(manifest.read_text()) | {"model_uri": "models:/customer-value-eu/1"})
    )
    res = _cvp("report", "--scores", scores, "--out", tmp_path / "pages", "--config", trained.config)
    assert res.exit_code == 0, res.output
    page = (tmp_path / "pages" / "index.html").read_text()
    assert "customer-value-eu" in page


def test_a_model_alias_or_version_the_registry_lacks_says_what_it_has(trained, tmp_path):
    """`--model models:/customer-value@challenger` (none trained) or `/7`, `--model 1`: exit 2 saying what the
    registry has, or what a model URI looks like (was: "Registered model alias challenger not found.. Train one
    first with `cvp train`", with version 1 registered and champion)."""
    from tests.pipelines.conftest import clone_registry

    config = clone_registry(trained, tmp_path)  # the registry as trained: version 1, champion
    for model, said in (
        ("models:/customer-value@challenger", "has versions 1 and @champion (version 1)"),
        ("models:/customer-value/7", "has versions 1 and @champion (version 1)"),
        ("1", "is not a model URI"),
    ):
        res = _cvp(*score_cli_args(trained, tmp_path / "s.parquet", config=config), "--model", model)
        assert res.exit_code == 2 and said in " ".join(res.output.split()), (model, res.output)


def test_two_outputs_of_one_run_on_each_other_are_refused(trained, tmp_path):
    """`--out rej/tickets.csv --rejects rej` (the tickets' rejects, written while loading, then replaced by the
    scores) and `--out x.parquet --rejects x.parquet`: exit 2 before anything is written (was: exit 0 and the
    rejects gone; the second left an empty `x.parquet/` behind)."""
    rejects = tmp_path / "rej"
    for out, given in ((rejects / "tickets.csv", rejects), (tmp_path / "x.parquet", tmp_path / "x.parquet")):
        res = _cvp(*score_cli_args(trained, out), "--rejects", given)
        assert res.exit_code == 2 and "would write over each other" in " ".join(res.output.split()), (
            res.output
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == []
