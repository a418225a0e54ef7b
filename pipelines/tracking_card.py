"""What the team page says about the model that made a run's scores (`model_card`), read from the model's own
training run in the tracking store the scoring run used."""

from __future__ import annotations

import os
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pandas as pd

from features.errors import without_passwords
from pipelines.config import AppConfig
from pipelines.tracking import current_champion, registered_name, run_deleted_note, sample_note, training_run
from pipelines.tracking_runs import RULE_AT_TRAINING, training_refusal
from pipelines.tracking_store import MissingStore, configure_tracking, shown_uri


def _with_password(recorded: str | None) -> str | None:
    """A tracking URI as a scores manifest recorded it, its password written `***` (`shown_uri`), with the password
    back from MLFLOW_TRACKING_URI when that names the same server as the same user (was: `cvp report` sent `***`
    as the password, so the model card's run was "not found"); any other URI as it is."""
    given = os.environ.get("MLFLOW_TRACKING_URI")
    if recorded and given and ":***@" in recorded and given != recorded and shown_uri(given) == recorded:
        return given
    return recorded


def _champion_now(client: Any, name: str, version: str, run_id: str | None) -> str | None:
    """The registry's champion of `name` now, as the pages name it beside the scores' model (`version` trained by
    `run_id`): its version number; when that number is the scores' own, the scores' model only if it is the same
    training run (`history_store.one_model`, the history's rule: one training run, one model), else named with its
    run (another model numbered alike: a registered model deleted and made again; round 27 review, was: "Promoted
    since" said of it, compared by number only). None when there is no champion."""
    from pipelines.history_store import one_model

    now = current_champion(name)
    if now is None or now != version:
        return now
    try:
        now_run = client.get_model_version(name, now).run_id
    except Exception:  # not known: the version numbers decide, as for runs that recorded no training run
        now_run = None
    return now if one_model(version, run_id, now, now_run) else f"{now} (training run {now_run[:8]})"


def _open_store(cfg: AppConfig, recorded: str | None, run_id: str | None) -> str:
    """Point MLflow at the store a run's model came from: `recorded` (the scores manifest's, or `--tracking-uri`);
    when no store is there any more (moved on disk: `MissingStore`), the configured one (`mlflow.tracking_dir`,
    MLFLOW_TRACKING_URI), whose training run of the same id is the same model (round 30, was: "there is no
    tracking store at <the old path>" on the card, its backtest and the banners of a model replaced since gone,
    the `--config` naming the store's new place not read). Returns what the card says of it ("" for the store
    recorded); raises the recorded store's `MissingStore` when neither is there or the configured one does not
    hold the training run `run_id` (another store: what it says is not of these scores' model)."""
    try:
        configure_tracking(Path(cfg.mlflow.tracking_dir), recorded, reading=True)
        return ""
    except MissingStore as exc:
        if recorded is None:
            raise
        try:
            uri = configure_tracking(Path(cfg.mlflow.tracking_dir), None, reading=True)
            from pipelines.mlflow_import import mlflow

            held = bool(run_id) and training_run(mlflow.MlflowClient(), run_id)[0] is not None
        except Exception:  # not there, or not answering: as without it
            held = False
        if not held:
            raise exc from None
        gone = str(exc).partition(" (mlflow.")[0]
        return f"{gone}; the model's training run is read from the configured store, {shown_uri(uri)}"


def _version_removed(client: Any, name: str, version: str) -> str | None:
    """What the model card says when the scores' model version is no longer registered (`mlflow` deleted it since
    the run scored, its training run kept), None while it is or when the registry cannot tell. With a champion now
    the banner says the model was replaced (`champion_now_version`); this says why no `cvp score` uses it again."""
    from pipelines.mlflow_import import MlflowException

    try:
        client.get_model_version(name, version)
        return None
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            return None
    except Exception:  # not answering: not known
        return None
    return (
        f"version {version} of {name}, which made these scores, was deleted from the registry since: no `cvp "
        "score` can use it again. Ask your data team why before acting on these scores"
    )


def _model_name(model_uri: str | None, cfg: AppConfig) -> str:
    """The registered model the run loaded (`models:/<name>/...`), any other URI as it is, else the config's."""
    return registered_name(model_uri) or model_uri or cfg.mlflow.registered_model


def champion_now_of_run(manifest: dict, cfg: AppConfig, tracking_uri: str | None = None) -> str | None:
    """The registry's champion now beside the model that made a run's scores (`_champion_now`), asked of the store
    the run used (`tracking_uri`, else the manifest's), for `cvp profile`'s page, whose banners are the report's:
    `model_card` asks `_champion_now` under the same conditions for `cvp report`'s pages, so both say one thing
    (round 28, was: `cvp profile` asked no registry).
    None when it cannot be told, the pages then as without it: no version number; no training run named (scores
    of an older `cvp score`) or one the store does not hold (another store, or gone for good: which it is cannot
    be told), as the registry's versions are then not known to be the scores' model's (review of round 28, was:
    "Model replaced" on the profile's page, nothing on the report's, of a run the store did not hold); the store
    gone, locked or not answering."""
    version = str(manifest.get("model_version", ""))
    run_id = manifest.get("model_run_id")
    if not version.isdigit() or not run_id:
        return None
    try:
        _open_store(cfg, _with_password(tracking_uri or manifest.get("tracking_uri")), run_id)
        # MLflow imported after the cheap checks and the store found (review of round 28, was: imported first)
        from pipelines.mlflow_import import mlflow

        client = mlflow.MlflowClient()
        if training_run(client, run_id)[0] is None:
            return None
        return _champion_now(client, _model_name(manifest.get("model_uri"), cfg), version, run_id)
    except Exception:  # a store gone, locked or not answering: not known, said as before (page still made)
        return None


def model_card(
    version: str,
    cfg: AppConfig,
    horizon_days: int,
    fingerprint: dict | None = None,
    run_id: str | None = None,
    tracking_uri: str | None = None,
    model_uri: str | None = None,
) -> dict:
    """What the team page says about the model: name, version, training run, backtest metrics, data fingerprint.

    Read from the model's own training run (`run_id`, recorded in the scores manifest) in the tracking store
    the scoring run used (`tracking_uri`, also recorded), not from a version number looked up in whatever store
    the working directory has. Without a run id (scores from an older `cvp score`) the card says so. The name is
    the one of the model the run loaded (`model_uri`: `models:/<name>/<version>` or `models:/<name>@<alias>`; any
    other URI as it is), else the config's registered model (was: always the config's, so scores of
    `--model models:/customer-value-eu/3` were presented as version 3 of `customer-value`)."""
    import json

    from pipelines.mlflow_import import mlflow

    tracking_uri = _with_password(tracking_uri)
    moved = ""
    try:  # a store no longer there is said on the card; none is created in its place (was: a new empty one)
        moved = _open_store(cfg, tracking_uri, run_id)
        gone = ""
    except MissingStore as exc:
        gone = str(exc).partition(" (mlflow.")[0]
    card: dict = {
        "model_name": _model_name(model_uri, cfg),
        "model_version": version,
        "horizon_days": horizon_days,
        "currency": cfg.data.currency,
        "backtest": pd.DataFrame(columns=["fold", "model", "metric", "value"]),
        "data_fingerprint": fingerprint or {},
        "feature_manifest": {},
    }
    if not run_id:
        card["notes"] = "the scores name no training run: backtest artefacts unavailable"
        return card
    if gone:
        card["notes"] = f"{gone}: training run {run_id} and its backtest artefacts unavailable"
        return card
    client = mlflow.MlflowClient()
    try:
        run, deleted = training_run(client, run_id)
        if run is None:  # gone for good (`mlflow gc`)
            card["notes"] = run_deleted_note(run_id, run)
            return card
    except Exception as exc:  # the store at hand does not hold the run: the card shows what the scores carry
        card["notes"] = (
            f"training run {run_id} not found in {shown_uri(mlflow.get_tracking_uri())}: {type(exc).__name__}"
        )
        if tracking_uri and ":***@" in tracking_uri:
            card["notes"] += (
                " (the scores manifest holds the tracking URI's password as ***: give it with --tracking-uri or "
                "MLFLOW_TRACKING_URI)"
            )
        return card
    if moved:  # the store the scores recorded is gone: the configured one holds their model's training run
        card["tracking_store"] = moved
    if deleted:  # in MLflow's trash: read while it lasts, said (was: not a word)
        card["notes"] = run_deleted_note(run_id, run)
    card["trained_at"] = pd.Timestamp(run.info.start_time, unit="ms").strftime("%Y-%m-%d %H:%M UTC")
    card["run_id"] = run_id
    # the champion now: asked only of a training run found, as `champion_now_of_run` (`cvp profile`) asks it, so
    # both commands' pages say one thing (round 28); None on each early return above, where it is None too
    now = _champion_now(client, card["model_name"], version, run_id) if version.isdigit() else None
    if now is not None:  # the banners' (`phrases.page_banners`): this model replaced since, or promoted since
        card["champion_now_version"] = now
    removed = _version_removed(client, card["model_name"], version) if version.isdigit() else None
    if removed:  # a fact on the card (round 30, was: the version shown as when it scored, not a word)
        card["model_deleted"] = removed
    if (
        now is not None and now != version
    ):  # pages of an older run, its champion replaced since: said (round 25,
        # was: "Version 1" alone, read as the model in production when version 2 had replaced it)
        card["champion_now"] = (
            f"version {now}, not version {version} that made these scores: the next `cvp score` uses version {now}"
        )
    params = run.data.params
    if "sample_customers" in params:  # `cvp train --sample-customers` (issue 11)
        card["training_sample"] = sample_note(params)
    refused = training_refusal((getattr(run.data, "tags", None) or {}).get("promotion", ""))
    # its training's promotion rule refused or could not judge it (a champion by `--promote` or `cvp models
    # promote`, or a challenger scored with `--model`): said (round 19; was: not a word)
    if refused:
        card["promotion_rule"] = f"{RULE_AT_TRAINING[refused[0]]}: {refused[1]}"
    with TemporaryDirectory() as tmp:
        try:
            p = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path="backtest/backtest_metrics.csv", dst_path=tmp
            )
            card["backtest"] = pd.read_csv(p)
            m = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path="feature_manifest.json", dst_path=tmp
            )
            man = json.loads(Path(m).read_text())
            card["feature_manifest"] = {
                "groups_present": man.get("groups_present", []),
                "groups_absent": man.get("groups_absent", {}),
            }
        except Exception as exc:  # the card stays usable without them; say so
            # an artefact request's error names its URL, the tracking URI's password with it (was: on the page)
            unavailable = f"backtest artefacts unavailable: {without_passwords(str(exc))}"
            card["notes"] = "; ".join(filter(None, (card.get("notes"), unavailable)))
    return card
