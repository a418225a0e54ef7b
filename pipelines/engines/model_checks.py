"""What `cvp score` checks of the registered model before the data is read (`pipelines.engines.run.run_score`).

`check_model` needs only the model, the run's configuration and the as-of: the look-ahead stop, the settings the
run builds features with (the model's: `pipelines.engines.scoring.resolve_settings`), the code that trained the
model, the model's age, what its training warned of how it scores (`CustomerValueModel.scoring_warnings`, said
again, never a stop), the season its totals were corrected for (`CustomerValueModel.season_note`) and its training
run deleted in MLflow. `--strict` turns each difference into a stop; otherwise each is said through `warn`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from features.contract import look_ahead_error, model_age_note
from features.validation import StructuralError
from models.bundle import CustomerValueModel
from pipelines.config import AppConfig
from pipelines.engines.scoring import resolve_settings
from pipelines.loading import mapping_digest


@dataclass(frozen=True)
class ModelChecks:
    """What the model checks found: the settings to build features with (`cfg`), the model's training cutoffs,
    the settings' differences and notes, the code difference and the stale-model note (None when none)."""

    cfg: AppConfig
    cutoffs: list[str]
    diffs: list[str]
    setting_notes: list[str]
    code_note: str | None
    stale_model: str | None
    #: the registered model's champion version when the run loaded its model ("" none; None not known: the
    #: registry not answering): a run of another version is provisional (`champion_when_scored`)
    champion_version: str | None = None
    #: why the model's total correction is of another time of year than the as-of (`CustomerValueModel.season_note`),
    #: None when it is not: the manifest's `model_season`, on the team page's model card
    season: str | None = None
    #: the aliases the scored version itself carried then (`challenger`: under evaluation; none: a version set aside,
    #: a champion replaced); None when not known
    model_aliases: list[str] | None = None
    #: what the model's training warned of how it scores (`CustomerValueModel.scoring_warnings`), and that `cvp demo`
    #: trained it (`pipelines.tracking.demo_model_note`): warned again by every run of the model, the manifest's
    #: `model_warnings`
    model_warnings: tuple[str, ...] = ()
    #: the fit's other notes (an interval or calibrator fitted in-sample, a scale factor not applied, ...): the
    #: manifest's `model_notes`, what the training run's `notes.json` holds of the model
    model_notes: tuple[str, ...] = ()

    def registry_record(self) -> dict[str, Any]:
        """What the manifest records of the registry when the run scored (`champion_version`, `model_aliases`):
        a run of another version than the champion is provisional (`pipelines.reports.phrases.provisional_scores`)."""
        return {"champion_version": self.champion_version, "model_aliases": self.model_aliases}


def champion_when_scored(model: Any, registered_model: str) -> tuple[str | None, list[str] | None]:
    """The version the registered model's `@champion` named when `model` (a `pipelines.tracking.LoadedModel`) was
    loaded: the manifest records it, so the report can say that scores of a challenger are provisional (was:
    pages of a model under evaluation read as production's). "" when no version is champion; None when not
    known (the registry not answering: not judged). A model given by its run (`runs:/<run id>/model`) carries the
    version its run registered (`pipelines.tracking.load_bundle`), judged as that version is; one its run never
    registered is judged against `registered_model`'s champion (another model: provisional). With it, the aliases
    the model's version carried (was: a champion replaced since, scored by its version, said "still being
    evaluated" on every page)."""
    from pipelines.tracking import CHAMPION, registered_name

    if model.uri.endswith(f"@{CHAMPION}") and model.version is not None:  # resolved through the alias itself
        return model.version, [CHAMPION]
    from pipelines.mlflow_import import MlflowException, mlflow

    # the URI's registered model, else the configured one (a logged model's `models:/m-<id>` names none: was
    # "not judged", its registered version's champion never asked)
    for name in dict.fromkeys(n for n in (registered_name(model.uri), registered_model) if n):
        try:
            aliases = mlflow.MlflowClient().get_registered_model(name).aliases
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                return None, None
            continue
        # a model of no registered version (a `runs:/` URI never registered, a folder) carries no alias to read:
        # None, not judged (was: [], "an earlier or set-aside model" with no basis)
        own = sorted(a for a, v in aliases.items() if str(v) == str(model.version)) if model.version else None
        return str(aliases.get(CHAMPION, "")), own
    return None, None


def check_model(
    bundle: CustomerValueModel,
    run_cfg: AppConfig,
    as_of: pd.Timestamp,
    mapping: Path | None,
    strict: bool,
    warn: Callable[[str], None],
    model: Any = None,
    demo: bool = False,
) -> ModelChecks:
    """The checks before the data is read: a model that looks ahead of `as_of` stops the run; other settings,
    another code version, a stale model or one `cvp demo` trained stop it under `strict`, else are said through `warn`. `model`: the
    `LoadedModel` holding `bundle`, for the champion's version at scoring (`champion_when_scored`) and whether
    `cvp demo` trained it (`pipelines.tracking.demo_model_note`: warned unless `demo`, the demo's own run)."""
    from pipelines.code_version import code_difference, code_version

    cutoffs = getattr(bundle, "training_cutoffs_", None) or []
    look_ahead = look_ahead_error(cutoffs, bundle.horizon_days, as_of)  # the model's own horizon
    if look_ahead:
        raise StructuralError(look_ahead)
    from pipelines.mapping import read_zone

    zone = read_zone(mapping, "") or None  # the run's mapping's `timezone:`, if it names one
    run_cfg = run_cfg if zone is None else run_cfg.with_data(timezone=zone)  # the zone its data is read in
    cfg, diffs, setting_notes = resolve_settings(bundle, run_cfg, mapping_digest(mapping), strict, zone)
    for note in setting_notes:
        warn(note)
    if diffs:
        warn(
            "the run's configuration differs from the model's; the model's settings are used (--strict refuses "
            "instead):\n  " + "\n  ".join(diffs)
        )
    code_note = code_difference(
        ((bundle.contract_settings() or {}).get("data") or {}).get("code"), code_version()
    )
    if code_note and strict:
        raise StructuralError(f"{code_note} (--strict refuses)")
    if code_note:
        warn(f"{code_note} (scored anyway; --strict refuses)")
    stale_model = model_age_note(cutoffs, cfg.labels.horizon_days, as_of, run_cfg.scoring.max_model_age_days)
    if stale_model and strict:
        raise StructuralError(f"{stale_model} (--strict refuses)")
    if stale_model:
        warn(f"{stale_model} (scored anyway; --strict refuses)")
    # what its training warned of how it scores: a batch job never saw `cvp train`'s console (was: never said)
    fitted = tuple(bundle.scoring_warnings())
    for note in fitted:
        warn(f"the model's training warned: {note}")
    noted = tuple(n for n in bundle.fit_notes() if n not in fitted)  # recorded, not warned
    # a model `cvp demo` trained, scored by any run but the demo's own: its warnings, so on the model card too
    by_demo = None if demo or model is None else getattr(model, "trained_by_demo", None)
    if by_demo and strict:  # round 24, was: warned only, `--strict` scored the real customers with it
        raise StructuralError(f"{by_demo} (--strict refuses)")
    if by_demo:
        warn(by_demo)
        fitted += (by_demo,)
    # a sub-year model's total correction is of its training's time of year
    season = bundle.season_note(as_of)
    if season and strict:
        raise StructuralError(f"{season} (--strict refuses)")
    if season:
        warn(f"{season} (scored anyway; --strict refuses)")
    # the model's record (its training run) deleted in MLflow: `cvp models` marks it `run deleted`
    deleted = getattr(model, "run_deleted", None)
    if deleted and strict:
        raise StructuralError(f"{deleted} (--strict refuses)")
    if deleted:
        warn(f"{deleted} (scored anyway; --strict refuses)")
    champion, aliases = (
        (None, None) if model is None else champion_when_scored(model, run_cfg.mlflow.registered_model)
    )
    return ModelChecks(
        cfg, cutoffs, diffs, setting_notes, code_note, stale_model, champion, season, aliases, fitted, noted
    )
