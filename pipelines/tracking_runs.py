"""A training's run in the MLflow store: logging it (params, documents, metrics, backtest files, the model),
registering its version and recording its promotion (`record_promotion`, shared with `cvp models promote`). The
store, loading a model and what a training killed mid-way left (`sweep_interrupted`) are `pipelines.tracking`'s.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from features.errors import without_passwords
from features.validation import StructuralError
from pipelines.tracking import (
    CHALLENGER,
    CHAMPION,
    INCOMPLETE,
    RUN_HOST,
    RUN_PID,
    STATUS_TAG,
    current_champion,
    pyfunc_for,
    trained_by_demo,
)

#: What MLflow's registry prints to stderr on every registration (with `print`, not a logger): our own line says it.
_REGISTRY_CHATTER = ("Successfully registered model ", "Registered model ", "Created version ")
#: Runtime requirements of the logged model, given explicitly: MLflow's inference costs seconds per model.
PIP_REQUIREMENTS = ["pandas", "numpy", "scikit-learn", "lightgbm", "cloudpickle", "customer-value-predictor"]


def _pass_on_unexpected(stderr_text: str) -> None:
    """Write back to stderr what MLflow printed there during registration, except its routine registry lines."""
    for line in stderr_text.splitlines(keepends=True):
        if not line.startswith(_REGISTRY_CHATTER):
            sys.stderr.write(without_passwords(line))


def log_training_run(
    experiment_id: str,
    name: str,
    bundle: Any,
    example: pd.DataFrame,
    params: dict[str, Any],
    documents: dict[str, Any],
    metrics: dict[str, float],
    backtest_files: list[Path],
    alias: str,
    reason: str,
    compared_with: str | None,
    forced: bool,
) -> tuple[str, str, str, str]:
    """One MLflow run for a trained model; returns (run id, registered version, alias, reason).

    Logs the params, each document as a JSON artefact (file name -> content), the metrics, the backtest files under
    `backtest/`, and the model as a pyfunc with its signature (inferred from `example`, a few feature rows without
    personal columns) and pinned requirements; registers it as a new version of `name`, points `alias` at it and
    records the promotion `reason` as a version tag and a run tag.

    A promotion decided against champion `compared_with` (None: there was none) is kept only while that is still
    the champion: when another training promoted a version meanwhile (a shared tracking server), the new version
    is registered as challenger, never put over a champion it was not compared with; `forced` (`--promote`)
    promotes anyway.
    """
    from pipelines.mlflow_import import infer_signature, mlflow

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signature = infer_signature(example, bundle.predict(example))
    from pipelines.staging import host

    # the host and process, so the next training can tell a run killed mid-way (`sweep_interrupted`)
    with mlflow.start_run(
        experiment_id=experiment_id, tags={RUN_HOST: host(), RUN_PID: str(os.getpid())}
    ) as run:
        try:
            info = _log_run(name, bundle, example, signature, params, documents, metrics, backtest_files)
        except OSError as exc:  # the artefact folder filled up or refused a file after the probe
            client = mlflow.MlflowClient()
            run_id = run.info.run_id
            # MLflow registers once the files are written: nothing is registered, unless it failed after that
            left = [
                str(v.version) for v in client.search_model_versions(f"name = '{name}'") if v.run_id == run_id
            ]
            for number in left:
                _undo_promotion(client, name, number, alias, None)
            said = (
                f"version {', '.join(left)} tagged {STATUS_TAG}={INCOMPLETE}"
                if left
                else "no version registered"
            )
            raise StructuralError(
                f"the training's files could not be written to the MLflow artefact store ({exc.strerror or exc}: "
                f"{exc.filename or '?'}): run {run_id} is marked FAILED, {said}. Free space or give a writable "
                "`mlflow.tracking_dir`, then train again"
            ) from exc
        version = str(info.registered_model_version)
        client = mlflow.MlflowClient()
        before = _alias_version(client, name, alias)
        try:
            now = current_champion(name) if alias == CHAMPION and not forced else compared_with
            if now != compared_with:
                seen = f"v{compared_with}" if compared_with else "no champion"
                alias, reason = (
                    CHALLENGER,
                    f"{reason}; kept as challenger: the champion became v{now} while this model trained (it was "
                    f"compared with {seen}); train again to compare with it, or --promote",
                )
                before = _alias_version(client, name, alias)
            record_promotion(client, name, version, alias, reason, run.info.run_id)
        except BaseException:
            # registered, its promotion not recorded: never left looking usable (was: untagged until the next
            # training's sweep, even champion without a promotion record)
            _undo_promotion(client, name, version, alias, before)
            raise
        return run.info.run_id, version, alias, reason


def _log_run(
    name: str,
    bundle: Any,
    example: pd.DataFrame,
    signature: Any,
    params: dict[str, Any],
    documents: dict[str, Any],
    metrics: dict[str, float],
    backtest_files: list[Path],
) -> Any:
    """Log the run's params, documents, backtest files, model and metrics, registering the model as a new version
    of `name` (MLflow registers it once its files are written); MLflow's model info."""
    from pipelines.mlflow_import import mlflow

    mlflow.log_params(params)
    for file_name, content in documents.items():
        mlflow.log_dict(content, file_name)
    for path in backtest_files:
        mlflow.log_artifact(str(path), artifact_path="backtest")
    chatter = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stderr(chatter):
        warnings.simplefilter("ignore")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=pyfunc_for(bundle),
            signature=signature,
            input_example=example,
            pip_requirements=PIP_REQUIREMENTS,
            registered_model_name=name,
        )
    _pass_on_unexpected(chatter.getvalue())
    # logged after the model, in one batch linked to it: logged before, MLflow's `log_model` read each metric's
    # history back (one query per metric, ~200) and wrote them all again to link them (~2 s per training)
    mlflow.log_metrics(metrics, model_id=info.model_id)
    return info


def _alias_version(client: Any, name: str, alias: str) -> str | None:
    """The version `alias` names now; None when it names none (or the registry cannot say)."""
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except Exception:
        return None


def _undo_promotion(client: Any, name: str, version: str, alias: str, before: str | None) -> None:
    """What a training failing between registering `version` and recording its promotion leaves, made honest at
    once: the version tagged `cvp.status=incomplete` (never made champion, refused by `--model` and `cvp models
    promote`) and `alias` given back to the version it named before (`before`; removed when it named none). Best
    effort: the registry failing here is what failed the training; the next training's sweep tries again."""
    try:
        client.set_model_version_tag(name, version, STATUS_TAG, INCOMPLETE)
        if _alias_version(client, name, alias) == version:
            if before is not None and before != version:
                client.set_registered_model_alias(name, alias, before)
            else:
                client.delete_registered_model_alias(name, alias)
    except Exception:
        return


def record_promotion(
    client: Any, name: str, version: str, alias: str, reason: str, run_id: str | None
) -> None:
    """The promotion record, one way for `cvp train` and `cvp models promote`: `alias` moved to `version`, the
    version's `promotion` tag (`reason`) and its training run's (`<alias>: <reason>`)."""
    client.set_registered_model_alias(name, alias, version)
    client.set_model_version_tag(name, version, "promotion", reason)
    if run_id:
        client.set_tag(run_id, "promotion", f"{alias}: {reason}")


RULE_AT_TRAINING = {
    "not promoted": "not passed at its training",
    "not compared": "not judged at its training",
}


def training_refusal(promotion: str) -> tuple[str, str] | None:
    """What a version's training's promotion rule said against it (its `promotion` tag, `cvp train`): ("not
    promoted", why) when the rule refused it (`models.backtest.PromotionDecision`), ("not compared", why) when the
    rule could not judge it (no backtest fold, a champion it could not load); None when the rule promoted it (or the
    tag is another `cvp models promote`'s without one: the first verdict is carried along in it).
    `RULE_AT_TRAINING[head]` words it for a reader."""
    for head in RULE_AT_TRAINING:
        _, sep, rest = promotion.partition(head + ": ")
        why = rest.split(" | passed: ")[0].split("; kept as challenger")[0].split("; overridden by")[0]
        why = why.split(" (registered as challenger")[0].strip()
        if sep and why:
            return head, why
    return None


def champion_by_demo(client: Any, name: str, champion: str | None) -> bool | None:
    """Whether `name`'s champion (version `champion`) was trained by `cvp demo` (its run's `DEMO_PARAM`): None
    without a champion; False when its run is unreadable or has no such param (a model of `cvp train`, or of a
    `cvp demo` before the param: not known to be a demo's)."""
    if champion is None:
        return None
    try:
        run_id = client.get_model_version(name, champion).run_id
        return bool(run_id) and trained_by_demo(client.get_run(run_id).data.params)
    except Exception:  # its run unreadable: not known to be a demo's
        return False


def demo_keeps_champion(client: Any, name: str, champion: str | None) -> str:
    """Why `cvp demo`'s training must not move `@champion` of `name`: its current champion (version `champion`) is
    not known to be a demo's model (`champion_by_demo`), so it may be a model of the user's own data, which the
    demo company's model would replace for every later `cvp score` (round 23, was: `cvp demo` run where `mlruns/`
    held the company's champion made the fictional company's model champion, exit 0, the nightly scores of the
    real customers then made by it). "" when there is no champion, or it is an earlier demo's model: the demo is
    compared with it as any training."""
    if champion_by_demo(client, name, champion) is not False:
        return ""
    return (
        f"the champion (v{champion}) is not known to be a demo's model (no `trained_by: cvp demo`: trained by "
        "`cvp train`, or by a `cvp demo` before this change): the demo company's model never replaces a model of "
        "your own data; `cvp models promote VERSION` makes it champion"
    )
