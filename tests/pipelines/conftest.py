"""Shared fixtures for the job tests: a small demo company and a model trained on it in a temporary mlruns/."""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from tests.helpers import quiet, scores_manifest

#: A fast configuration: small models, few cutoffs and folds. The jobs run exactly as in production.
FAST_CONFIG = {
    "labels": {"n_cutoffs": 4, "cutoff_step_months": 2},
    "models": {
        "lightgbm": {"n_estimators": 60, "num_leaves": 15, "min_child_samples": 20},
        "churn_lightgbm": {"n_estimators": 60, "num_leaves": 7, "min_child_samples": 50},
        "backtest_folds": 1,
    },
    "scoring": {"chunk_customers": 300},
}


def _start_after(request: pytest.FixtureRequest, fixture: str, **made: Any) -> None:
    """Once the `trained` or `default_scores` fixture is made, start the fresh processes collected tests read
    from it (`tests/background.py`): the champion loaded by a new interpreter, the standalone Spark cluster and its
    `cvp score` run, the `cvp score` process to be killed."""
    from tests import background

    if fixture == "trained" and background.collected(
        request.session, "test_champion_loads_in_a_fresh_process_and_predicts"
    ):
        background.start_early("champion", lambda: background.champion_process(made["trained"]))
    if fixture == "trained" and _spark_cluster_collected(request.session):
        background.start_early("spark-cluster", lambda: background.spark_cluster_process(made["trained"]))
    if fixture == "default_scores" and background.collected(
        request.session, "test_a_killed_score_process_leaves_one_whole_set"
    ):
        background.start_early("killed-score", lambda: background.paused_score_process(**made))


def _spark_cluster_collected(session: pytest.Session) -> bool:
    """A collected test reads the standalone cluster (`tests/pipelines/test_spark_cluster.py`), and Spark can run."""
    import os

    if os.environ.get("CVP_SKIP_SPARK") == "1":
        return False
    from pipelines.engines.spark_session import SparkUnavailable, require_spark

    try:
        require_spark()
    except SparkUnavailable:
        return False  # the `spark_available` fixture fails the test, saying why
    from tests.lanes import runs_here

    return any("cluster" in getattr(item, "fixturenames", ()) and runs_here(item) for item in session.items)


#: Per session: whether a collected test on this worker reads the standalone cluster (`_spark_cluster_collected`).
_CLUSTER_HERE: dict[int, bool] = {}


@pytest.fixture(autouse=True)
def _cluster_run_early(request: pytest.FixtureRequest) -> None:
    """On the worker holding the standalone cluster's tests (`test_spark_cluster.py`, run last: `tests/lanes.py`),
    the `trained` fixture is made at the first test after its training ended well, so the cluster's `cvp score`
    run (started once `trained` is made, `_start_after`) overlaps the tests before the cluster's instead of being
    waited for (186 s of setup when `trained` was first made there). Nothing is waited for: while the training
    runs, or once `trained` is made, this does nothing."""
    from tests import background

    if "trained" in request.fixturenames or not background.ended_well("trained"):
        return
    session = request.session
    if id(session) not in _CLUSTER_HERE:
        _CLUSTER_HERE[id(session)] = _spark_cluster_collected(session)
    if _CLUSTER_HERE[id(session)]:
        request.getfixturevalue("trained")


@dataclass(frozen=True)
class TrainedEnv:
    root: Path
    data: Path
    config: Path
    mlruns: Path
    as_of: str


@pytest.fixture
def console() -> Console:
    """A console that records what a job prints (read it with `console.file.getvalue()`)."""
    return quiet()


@pytest.fixture(scope="session")
def spark_available() -> None:
    """pyspark and Java are there, or the test FAILS (the Spark engine is a product feature, not an optional
    nicety); CVP_SKIP_SPARK=1 skips the Spark tests on a machine without a JDK."""
    import os

    if os.environ.get("CVP_SKIP_SPARK") == "1":
        pytest.skip("CVP_SKIP_SPARK=1")
    from pipelines.engines.spark_session import SparkUnavailable, require_spark

    try:
        require_spark()
    except SparkUnavailable as exc:
        pytest.fail(f"{exc} (set CVP_SKIP_SPARK=1 to skip the Spark tests)", pytrace=False)


@pytest.fixture(scope="session")
def spark(spark_available):
    """One local[2] Spark session for every Spark test of the run (a session costs 5-9 s to start). The real
    standalone cluster of `tests/pipelines/test_spark_cluster.py` is started there, for its one test."""
    from pipelines.engines.spark_session import spark_session

    with spark_session("local[2]") as session:
        yield session


def build_trained(root: Path) -> TrainedEnv:
    """The `trained` fixture's company and model under `root` (run in a fresh interpreter: `trained_process`)."""
    from pipelines.config import load_config
    from pipelines.demo import generate_company, write_company
    from pipelines.io import load_data
    from pipelines.train import train_and_register

    data = root / "data"
    write_company(generate_company(800, "2021-01-01", "2024-12-31", 11), data)
    cfg_dict = FAST_CONFIG | {"mlflow": {"tracking_dir": str(root / "mlruns")}}
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump(cfg_dict))
    cfg = load_config(config)
    loaded = load_data(data, None, cfg.data.timezone)
    import pandas as pd

    train_and_register(loaded.tables, cfg, pd.Timestamp("2024-07-01"), quiet())
    # the registry as trained, before any test adds to it: what `clone_registry` copies
    shutil.copytree(root / "mlruns", root / PRISTINE)
    return TrainedEnv(root, data, config, root / "mlruns", "2024-07-01")


@pytest.fixture(scope="session")
def trained(request, tmp_path_factory) -> TrainedEnv:
    """800 customers over 2021-2024, a model trained as of 2024-07-01 and registered as champion: `build_trained`
    in a fresh interpreter started when the tests were collected (`tests/conftest.py`), or now when none was. On
    `pytest -n N` one worker trains; another works on its own copy (`copy_trained`), never on the same store."""
    from tests import background

    proc = background.take("trained", background.trained_process)
    code, _, err = proc.wait(timeout=1800)
    assert code == 0, f"training the trained fixture failed: {err[-3000:]}"
    root = proc.root
    env = TrainedEnv(root, root / "data", root / "config.yaml", root / "mlruns", "2024-07-01")
    if getattr(proc, "shared", False):
        env = copy_trained(env, tmp_path_factory.mktemp("trained"))
    _start_after(request, "trained", trained=env)
    return env


PRISTINE = "mlruns-as-trained"


def copy_trained(trained: TrainedEnv, root: Path) -> TrainedEnv:
    """The `trained` fixture's data, config and registry as trained, copied under `root` (`clone_registry`)."""
    shutil.copytree(trained.data, root / "data")
    config = clone_registry(trained, root)
    shutil.copytree(root / "mlruns", root / PRISTINE)
    return TrainedEnv(root, root / "data", config, root / "mlruns", trained.as_of)


def clone_registry(trained: TrainedEnv | ChallengedEnv, root: Path) -> Path:
    """A config like the `trained` fixture's whose registry is a copy of the fixture's as it was trained (version 1
    of the model, champion, with its run and artefacts) under `root / "mlruns"`: a test that promotes or registers
    more versions starts from the fixture's model instead of training the same model again. Given the
    `challenged` fixture, the copy also holds its version 2 (the worse model, challenger).

    MLflow's sqlite store names its artefacts by absolute path; the copy's paths follow it as the product's do
    for a store moved or copied (`pipelines.store_moved.follow_move`), and no text of the copy names the original."""
    import sqlite3

    from pipelines.store_moved import follow_move

    mlruns = root / "mlruns"
    shutil.copytree(trained.root / PRISTINE, mlruns)
    old = str(trained.mlruns.resolve())
    assert "now point to" in (follow_move(mlruns / "mlflow.db") or "")
    db = sqlite3.connect(mlruns / "mlflow.db")
    with contextlib.closing(db), db:
        text = [
            (table, column[1])
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            for column in db.execute(f'PRAGMA table_info("{table}")').fetchall()
            if any(kind in column[2].upper() for kind in ("CHAR", "TEXT", "JSON"))
        ]
        left = [
            (t, c)
            for t, c in text
            if db.execute(f'SELECT 1 FROM "{t}" WHERE instr("{c}", ?)', (old,)).fetchone()
        ]
    assert not left, f"the copied registry still names {old} in {left}"
    cfg = yaml.safe_load(trained.config.read_text()) | {"mlflow": {"tracking_dir": str(mlruns)}}
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump(cfg))
    return config


#: Much worse models than FAST_CONFIG's (2 trees of 2 leaves): a challenger that must not be promoted.
WORSE_MODELS = {
    "lightgbm": {"n_estimators": 2, "num_leaves": 2, "min_child_samples": 200},
    "churn_lightgbm": {"n_estimators": 2, "num_leaves": 2, "min_child_samples": 200},
}


def worse_config(config: Path) -> Path:
    """`config` with `WORSE_MODELS` (same registry, data and labels), written beside it as `worse.yaml`."""
    base = yaml.safe_load(config.read_text())
    worse = config.with_name("worse.yaml")
    worse.write_text(yaml.safe_dump(base | {"models": base["models"] | WORSE_MODELS}))
    return worse


@dataclass(frozen=True)
class ChallengedEnv:
    root: Path
    config: Path  # the `trained` fixture's config on this registry
    mlruns: Path
    worse: Any  # version 2's `TrainResult`: the worse model, kept as challenger


@pytest.fixture(scope="session")
def challenged(trained, tmp_path_factory) -> ChallengedEnv:
    """The `trained` fixture's registry (its model as version 1, champion) and version 2: the worse model
    (`worse_config`) trained as of 2024-07-01 on the fixture's data, kept as challenger. Trained once for the
    promotion test (which asserts on that training, then trains more versions in a copy) and the history-bridge
    tests (two versions of the model); `clone_registry(challenged, dir)` gives a test its own copy."""
    import pandas as pd

    from pipelines.config import load_config
    from pipelines.io import load_data
    from pipelines.train import train_and_register

    root = tmp_path_factory.mktemp("challenged")
    config = clone_registry(trained, root)
    tables = load_data(trained.data).tables
    worse = train_and_register(tables, load_config(worse_config(config)), pd.Timestamp("2024-07-01"), quiet())
    shutil.copytree(
        root / "mlruns", root / PRISTINE
    )  # the registry as it is now: what `clone_registry` copies
    return ChallengedEnv(root, config, root / "mlruns", worse)


@pytest.fixture(scope="session")
def new_store(tmp_path_factory) -> Path:
    """An `mlflow.db` as MLflow creates it in a new tracking directory (every table migrated, its default
    experiment), made once per session: `empty_registry` copies it."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    root = tmp_path_factory.mktemp("new-store")
    store = SqlAlchemyStore(f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri())
    store.engine.dispose()
    return root / "mlflow.db"


def empty_registry(new_store: Path, tracking_dir: Path) -> Path:
    """`tracking_dir/mlflow.db`, a copy of the `new_store` fixture: a test that trains into a registry of its own
    starts from the store MLflow would create there, without running MLflow's schema migrations again (about 70
    alembic scripts, a commit each: 1.5-3 s of CPU, and up to 18 s on a busy disk). `cvp demo`'s test keeps
    a really new store: it is the end-to-end run."""
    tracking_dir.mkdir(parents=True, exist_ok=True)
    target = tracking_dir / "mlflow.db"
    assert not target.exists(), target
    shutil.copyfile(new_store, target)
    return target


@pytest.fixture(scope="session")
def december_history(trained, tmp_path_factory) -> Path:
    """`cvp score --history` as of 2024-12-01 on the `trained` fixture with its config, run once: the first run of
    a history (`dec.parquet` and its set, `history/`), read-only: a test copies the history
    (`history_after_december`) before adding runs to it (was: five tests each scored it again)."""
    from tests.helpers import cvp
    from tests.pipelines.score_helpers import score_cli_args

    root = tmp_path_factory.mktemp("december-history")
    res = cvp(
        *score_cli_args(trained, root / "dec.parquet", "2024-12-01", None, "--history", root / "history")
    )
    assert res.exit_code == 0, res.output
    return root


def history_after_december(december_history: Path, tmp_path: Path) -> Path:
    """The test's own copy of the history that holds the `december_history` fixture's run only."""
    history = tmp_path / "history"
    shutil.copytree(december_history / "history", history)
    return history


#: The as-ofs of the `history_runs` fixture's monthly runs.
HISTORY_AS_OFS = ("2024-11-01", "2024-12-01", "2025-01-01")


@pytest.fixture(scope="session")
def history_runs(trained, tmp_path_factory) -> tuple[Path, Path]:
    """`cvp score --history` as of each of `HISTORY_AS_OFS` on the `trained` fixture with its config (stability
    rule: the config's), into one history, run once: (root holding each run's set `scores-<as-of>.parquet`, the
    history). Read-only: a test copies the history (or part of it) before adding runs to it (was: made per
    module by `test_history.py`; `test_seam_round12.py` scored the same first two runs again)."""
    from tests.helpers import cvp
    from tests.pipelines.score_helpers import score_cli_args

    root = tmp_path_factory.mktemp("history")
    history = root / "history"
    for as_of in HISTORY_AS_OFS:
        res = cvp(
            *score_cli_args(trained, root / f"scores-{as_of}.parquet", as_of, None, "--history", history)
        )
        assert res.exit_code == 0, res.output
    return root, history


@dataclass(frozen=True)
class ScoredEnv:
    run: Any  # the ScoreRun
    out: Path  # its scores file; the set is read-only: copy `out.parent` before changing anything in it


@pytest.fixture(scope="session")
def default_scores(trained, tmp_path_factory, request) -> ScoredEnv:
    """`cvp score`'s job run once on the `trained` fixture with the defaults of `score_trained` (pandas engine, as of
    2025-01-01), shared by the tests that only read such a run instead of scoring the same thing again."""
    from tests.pipelines.score_helpers import score_trained

    out = tmp_path_factory.mktemp("scored") / "scores.parquet"
    scored = ScoredEnv(score_trained(trained, out), out)
    _start_after(request, "default_scores", trained=trained, default_scores=scored)
    return scored


#: What `other_code_scores` makes `pipelines.code_version.code_version` say changed since the model's training: our
#: feature code and package (seam round 8b) and a library (seam round 30).
OTHER_CODE = {"features_sha256": "0" * 64, "package": "0.2.0", "numpy": "1.0.0"}


@pytest.fixture(scope="session")
def other_code_scores(trained, tmp_path_factory) -> tuple[Any, str]:
    """`score_trained` run once on the `trained` fixture by code other than the model's (`OTHER_CODE`): its
    `ScoreRun` and what it printed (a console that never wraps), read by the tests of a model scored by other
    feature code or libraries (was: each of `test_seam_round8b.py` and `test_seam_round30.py` scored its own)."""
    import pipelines.code_version as code
    from tests.helpers import quiet
    from tests.pipelines.score_helpers import score_trained

    now, console = code.code_version(), quiet(width=None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(code, "code_version", lambda: now | OTHER_CODE)
        run = score_trained(trained, tmp_path_factory.mktemp("other-code") / "s.parquet", console=console)
    return run, console.file.getvalue()


@pytest.fixture(scope="session")
def mid_month_scores(trained, tmp_path_factory) -> Path:
    """`cvp score`'s job on the `trained` fixture as `default_scores` but as of 2025-01-15: another run of the same
    model and data, run once (its scores file; read-only), for the tests that give a reader files or a profile of
    two different runs (was: scored by each of them)."""
    from tests.pipelines.score_helpers import score_trained

    out = tmp_path_factory.mktemp("mid-month") / "scores.parquet"
    score_trained(trained, out, as_of_text="2025-01-15")
    return out


@dataclass(frozen=True)
class WatchedScores:
    """`cvp score` run once more on the `trained` fixture, through the command, with spies that change nothing."""

    out: Path  # its scores file (read-only: copy `out.parent` before changing anything in it)
    manifest: dict[str, Any]  # the published manifest
    predict_calls: list[
        tuple[int, bool, bool, int]
    ]  # every Booster.predict: rows, raw_score, pred_contrib, features
    at_write: dict[str, int]  # what the run still held when it wrote the scores: input tables, explainers
    refits: list[str]  # lookalike fitting functions called (the registered lookalike model must serve)
    contrib_ids: list[tuple[int, list[str]]]  # every pred_contrib call (the spot check): features, rows' ids


@pytest.fixture(scope="session")
def watched_scores(trained, tmp_path_factory) -> WatchedScores:
    """The same run as `default_scores` (as of 2025-01-01, the fixture's data and config) through `cvp score` in
    process, watched: LightGBM's predict calls, what is still held when the scores are written, and any refit of
    the lookalike model are recorded. One run serves the idempotence test (its rows equal `default_scores`'),
    the reason-sentence rules (read through the command), the spot-check count, the release of the tables and
    explainers before the write and the never-refitted lookalike model, which each scored once before."""

    import lightgbm as lgb
    from typer.testing import CliRunner

    import models.lookalike
    import pipelines.engines.run as run_module
    import pipelines.outputs as outputs
    import pipelines.profile
    from models import explain
    from pipelines.cli import app
    from tests.pipelines.score_helpers import score_cli_args

    out = tmp_path_factory.mktemp("watched") / "scores.parquet"
    calls: list[tuple[int, bool, bool, int]] = []
    contrib_ids: list[tuple[int, list[str]]] = []
    loaded: list[Any] = []
    at_write: dict[str, int] = {}
    refits: list[str] = []
    predict, load, write = lgb.Booster.predict, run_module.load_and_report, outputs.write_scores_parquet

    def spy_predict(self, data, *args, **kwargs):
        calls.append(
            (len(data), bool(kwargs.get("raw_score")), bool(kwargs.get("pred_contrib")), self.num_feature())
        )
        if kwargs.get("pred_contrib") and hasattr(data, "index"):
            contrib_ids.append((self.num_feature(), [str(i) for i in data.index]))
        return predict(self, data, *args, **kwargs)

    def loading(*args, **kwargs):
        loaded.append(load(*args, **kwargs))
        return loaded[-1]

    def writing(*args, **kwargs):
        at_write["tables"] = len(loaded[0].tables)
        at_write["explainers"] = len(explain._EXPLAINERS)
        return write(*args, **kwargs)

    def refit(name: str, real: Any) -> Any:
        def called(*args, **kwargs):
            refits.append(name)
            return real(*args, **kwargs)

        return called

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lgb.Booster, "predict", spy_predict)
        mp.setattr(run_module, "load_and_report", loading)
        mp.setattr(outputs, "write_scores_parquet", writing)
        for module, name in (
            (models.lookalike, "fit_lookalike"),
            (models.lookalike, "lookalike_training_set"),
            (pipelines.profile, "lookalike_training"),
        ):
            mp.setattr(module, name, refit(name, getattr(module, name)))
        res = CliRunner().invoke(app, score_cli_args(trained, out), env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    manifest = scores_manifest(out)
    return WatchedScores(out, manifest, calls, at_write, refits, contrib_ids)
