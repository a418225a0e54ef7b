"""The previous run's model for the data/model split of `cvp score --history` (issue 15).

`bridge_model` finds the history's previous run (`pipelines.history.bridge_source`) and, when its model is not
this run's, loads that version from the registry; `pipelines.engines.run.run_score` hands it to the backend
(`pipelines.engines.pandas_engine.BridgeModel`), which explains the scored customers with it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from features.validation import StructuralError
from models.bundle import CustomerValueModel
from pipelines.config import AppConfig


def bridge_model(
    history: Path | None, as_of: pd.Timestamp, version: str, uri: str, bundle: CustomerValueModel,
    cfg: AppConfig, model_run_id: str | None = None, inputs: tuple[Any, Any] | None = None,
    champion_version: str | None = None,
) -> tuple[Any, dict[str, Any] | None]:  # fmt: skip
    """The model of the history's previous run when it is not this run's (issue 15): (BridgeModel or None, what
    the manifest says about it, None when there is nothing to bridge).

    The old version is loaded from the registry (`models:/<registered model>/<version>`). When it cannot be
    loaded, predicts over another horizon or was built with other feature settings, the bridge is None and the
    returned note says why: the data/model split stays empty, never guessed. `inputs`: (this data's model
    inputs, `features.model_inputs.model_inputs`; this run's model's `features.as_trained.AsTrained`): the old
    model is planned from its own recorded inputs (`features.as_trained.bridge_view`): it reads the features it
    was trained on, or the bridge is None with a note. `champion_version`: the champion's when this run loaded its
    model: the previous run is the one it reads (`pipelines.history_store.reads`).
    """
    from pipelines.history import bridge_source
    from pipelines.tracking import load_bundle

    previous = bridge_source(history, as_of.date().isoformat(), version, model_run_id, champion_version)
    if previous is None:
        return None, None
    old_version = previous.model_version
    if old_version.startswith(
        ("models:/", "runs:/")
    ):  # a run that recorded the URI as its version: load that
        old_uri = old_version  # (was: `models:/<name>/runs:/<id>/model`, "cannot load model", no split)
    else:
        name = cfg.mlflow.registered_model
        if uri.startswith("models:/"):
            name = uri.removeprefix("models:/").split("@", 1)[0].split("/", 1)[0]
        old_uri = f"models:/{name}/{old_version}"
    info: dict[str, Any] = {
        "previous_as_of": previous.as_of,
        "old_model_version": old_version,
        "old_model_uri": old_uri,
    }
    why = (
        f"the model changed since the history's run as of {previous.as_of} (v{old_version} -> v{version}) "
        "but the change cannot be split into data and model"
    )
    if old_version == str(version):  # the same number, another training run (`history_store.same_model`)
        why = (
            f"the model changed since the history's run as of {previous.as_of}: v{version} of this registry was "
            f"trained by MLflow run {model_run_id}, that run's v{old_version} by {previous.model_run_id} (another "
            "registry, or a store started again); the change cannot be split into data and model"
        )
        return None, info | {"note": why}
    try:
        old = load_bundle(old_uri)
    except StructuralError as exc:
        return None, info | {"note": f"{why}: {exc}"}
    if previous.model_run_id is not None and old.run_id != previous.model_run_id:
        # v2 here is not the v2 that scored that run: its split would be another model's
        return None, info | {
            "note": f"{why}: v{old_version} of this registry was trained by MLflow run {old.run_id}, the one that "
            f"scored that run by {previous.model_run_id} (another registry, or a store started again)"
        }
    if old.bundle.horizon_days != bundle.horizon_days:
        return None, info | {
            "note": f"{why}: v{old_version} predicts over {old.bundle.horizon_days} days, this model over "
            f"{bundle.horizon_days}"
        }
    old_settings, new_settings = old.bundle.contract_settings(), bundle.contract_settings()
    if old_settings is None or new_settings is None or old_settings["features"] != new_settings["features"]:
        return None, info | {
            "note": f"{why}: v{old_version}'s feature settings differ from the features built for this run"
        }
    view = "model"
    if inputs is not None:
        from features.as_trained import as_trained_plan, bridge_view
        from features.model_inputs import recorded_inputs

        present, this = inputs
        previous = as_trained_plan(recorded_inputs(old.bundle), present)
        view = bridge_view(previous, this)
        if view is None:
            said = {"it": previous.words(), "this run's model": this.words()}
            trained = "; ".join(f"{who} without {', '.join(w)}" for who, w in said.items() if w)
            return None, info | {
                "note": f"the previous run's model v{old_version} does not accept the features built for this "
                f"run (it was trained on other inputs of this data: {trained})"
            }
    from pipelines.engines.pandas_engine import BridgeModel

    return BridgeModel(old.bundle, old_version, as_data=view == "data"), info
