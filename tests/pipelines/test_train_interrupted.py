"""A `cvp train` killed (SIGKILL) between registering its model version and setting the version's alias.

Was: the version stayed in the registry untagged beside the others, listed as if usable, loadable by number, and its
MLflow run stayed RUNNING for ever. Now the next training (or a `--model` lookup) marks the run FAILED and tags the
version `cvp.status=incomplete`; listings and `--model` say so, and no alias is moved to it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from features.validation import StructuralError
from tests.pipelines.conftest import empty_registry

ROOT = Path(__file__).resolve().parents[2]

#: A training in a child process, killed by SIGKILL at the crash point: the call that sets the version's alias.
CHILD = """
import os, signal, sys
from pathlib import Path

import mlflow
import pandas as pd

from pipelines.tracking_store import configure_tracking, ensure_experiment
from pipelines.tracking_runs import log_training_run


class Bundle:
    def predict(self, frame):
        return pd.DataFrame({"value": frame["x"] * 2.0})


def killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


tracking = Path(sys.argv[1])
configure_tracking(tracking)
experiment = ensure_experiment("cvp-killed", tracking)
mlflow.MlflowClient.set_registered_model_alias = killed
log_training_run(
    experiment, "cv-killed", Bundle(), pd.DataFrame({"x": [1.0, 2.0]}), {"p": 1}, {"d.json": {}}, {"m": 1.0}, [],
    "champion", "first model", None, False,
)
print("not killed")
"""


@pytest.fixture
def keep_mlflow_uris(monkeypatch):
    import mlflow.tracking._model_registry.utils as registry
    import mlflow.tracking._tracking_service.utils as tracking

    monkeypatch.setattr(registry, "_registry_uri", registry._registry_uri)
    monkeypatch.setattr(tracking, "_tracking_uri", tracking._tracking_uri)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):  # the local store of the test, put back after
        monkeypatch.delenv(name, raising=False)


def test_a_training_killed_between_registering_and_promoting_is_marked_and_never_champion(
    new_store, tmp_path, keep_mlflow_uris
):
    import mlflow

    from pipelines.tracking import _registry_offer, current_champion, load_bundle
    from pipelines.tracking_store import configure_tracking

    tracking = tmp_path / "mlruns"
    empty_registry(
        new_store, tracking
    )  # MLflow's new store, made once per session (not its migrations again)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tracking)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert child.returncode == -9 and "not killed" not in child.stdout, child.stderr[-3000:]

    configure_tracking(tracking)
    client = mlflow.MlflowClient()
    # what the kill left: a registered version without alias or promotion tag, its run RUNNING
    (version,) = client.search_model_versions("name = 'cv-killed'")
    assert str(version.version) == "1" and not version.aliases and "promotion" not in version.tags
    assert client.get_run(version.run_id).info.status == "RUNNING"

    # `cvp score --model ...` listing the versions (was: "has versions 1 and no alias", as if usable)
    offer = _registry_offer("models:/cv-killed@champion")
    assert "has versions 1 and no alias; incomplete (its training died before promoting it): 1" in str(offer)
    assert client.get_run(version.run_id).info.status == "FAILED"
    assert client.get_model_version("cv-killed", "1").tags == {"cvp.status": "incomplete"}
    with pytest.raises(
        StructuralError, match=r"models:/cv-killed/1 is incomplete: the training that registered"
    ):
        load_bundle("models:/cv-killed/1")  # was: loaded
    with pytest.raises(StructuralError, match=r"incomplete \(its training died before promoting it\): 1"):
        load_bundle("models:/cv-killed@champion")
    assert current_champion("cv-killed") is None  # @champion never moved to it


def test_the_next_training_marks_runs_of_killed_trainings_failed_and_leaves_live_ones(
    new_store, tmp_path, keep_mlflow_uris
):
    """A run of this host whose process is gone (killed before it registered anything) is marked FAILED by the next
    training's sweep; one of a live process, or one without cvp's tags, is left RUNNING."""
    import mlflow

    from pipelines.staging import host
    from pipelines.tracking import RUN_HOST, RUN_PID, sweep_interrupted
    from pipelines.tracking_store import configure_tracking, ensure_experiment

    empty_registry(new_store, tmp_path)
    configure_tracking(tmp_path)
    experiment = ensure_experiment("cvp-sweep", tmp_path)
    client = mlflow.MlflowClient()
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = client.create_run(experiment, tags={RUN_HOST: host(), RUN_PID: gone.stdout.strip()})
    live = client.create_run(experiment, tags={RUN_HOST: host(), RUN_PID: str(os.getpid())})
    elsewhere = client.create_run(experiment, tags={RUN_HOST: "another-host", RUN_PID: gone.stdout.strip()})
    other = client.create_run(experiment)  # not a cvp training
    notes = sweep_interrupted("cv-none", experiment)
    assert notes == [f"run {dead.info.run_id} of a training killed on this host marked FAILED"]
    status = {r: client.get_run(r.info.run_id).info.status for r in (dead, live, elsewhere, other)}
    assert list(status.values()) == ["FAILED", "RUNNING", "RUNNING", "RUNNING"]
    assert sweep_interrupted("cv-none", experiment) == []


def test_a_version_an_alias_points_at_is_never_marked_incomplete(new_store, tmp_path, keep_mlflow_uris):
    """Killed after setting the alias, before the promotion tag: the version was promoted and stays as it is."""
    import mlflow

    from pipelines.staging import host
    from pipelines.tracking import RUN_HOST, RUN_PID, sweep_interrupted
    from pipelines.tracking_store import configure_tracking, ensure_experiment

    empty_registry(new_store, tmp_path)
    configure_tracking(tmp_path)
    experiment = ensure_experiment("cvp-aliased", tmp_path)
    client = mlflow.MlflowClient()
    client.create_registered_model("cv-aliased")
    for _ in range(2):
        run = client.create_run(experiment, tags={RUN_HOST: host(), RUN_PID: "1"})
        client.set_terminated(run.info.run_id, "FAILED")
        client.create_model_version("cv-aliased", (tmp_path / "model").as_uri(), run.info.run_id)
    client.set_registered_model_alias("cv-aliased", "champion", "1")
    assert len(sweep_interrupted("cv-aliased", experiment)) == 1
    assert client.get_model_version("cv-aliased", "1").tags == {}
    assert client.get_model_version("cv-aliased", "2").tags == {"cvp.status": "incomplete"}
