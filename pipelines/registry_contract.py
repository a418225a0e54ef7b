"""`cvp models promote`'s judgement of a version as `cvp score` judges a model before reading data
(`pipelines.engines.scoring.contract_stop`, `resolve_settings`: one rule): against the configuration given, else
against the champion's contract (`pipelines.registry.promote_version` calls it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from features.validation import StructuralError
from pipelines.config import AppConfig

__all__ = ["champions_contract", "inputs_beyond", "judge_contract"]


def judge_contract(
    loaded: Any,
    cfg: AppConfig,
    version: str,
    name: str,
    config: Path | None,
    force: bool,
    champion: str | None,
) -> tuple[list[str], list[str]]:
    """Version `version` judged as `cvp score` judges it before the data is read (`pipelines.engines.scoring.
    contract_stop`, `resolve_settings`: one rule): against the configuration given (`config`), else against the
    contract of the champion `champion` (its currency, horizon, value definition: what the scoring runs have been
    accepting; review of round 29, was: against `configs/default.yaml`, so a model of `configs/online_retail.yaml`,
    GBP, was refused or listed as differing in every setting). A stop refuses the promotion unless `force`;
    returns (the warnings to print once it is promoted: the stop overridden, the settings the next runs take from
    the model instead, what every run of the model warns of it: `cvp demo` trained it, its training run deleted;
    the notes: not judged, and why). The mapping is judged against the champion's (the one its scoring runs have
    been reading their data through; round 30, was: not judged, a version trained through another mapping promoted
    without a word); with `config` it is not (a run's, unknown here); the as-of neither. Code or libraries other
    than this installation's (`pipelines.code_version.code_difference`) are what every run of it warns (round 30)."""
    from pipelines.code_version import code_difference, code_version
    from pipelines.engines.scoring import contract_stop, resolve_settings

    bundle = loaded.bundle
    said: list[str] = []
    notes: list[str] = []
    stored = (bundle.contract_settings() or {}).get("mapping_digest")
    code = code_difference(((bundle.contract_settings() or {}).get("data") or {}).get("code"), code_version())
    warned = [
        f"every `cvp score` of it warns: {n} (--strict refuses)"
        for n in (loaded.trained_by_demo, loaded.run_deleted)
        if n
    ]
    if code:  # compared with this installation's, not the scoring machines' (review of round 30)
        warned.append(
            f"scored with this installation's code and libraries, every `cvp score` of it warns: {code} "
            "(--strict refuses)"
        )
    which = f"the configuration {config}"
    other = None  # the side `resolve_settings` names when not a configuration ("champion v1")
    if config is None:
        against, why, theirs = champions_contract(cfg, bundle, name, champion)
        if against is None:
            return warned, [f"version {version} was not judged against the scoring runs' settings: {why}"]
        stored = (theirs.contract_settings() or {}).get("mapping_digest")
        needs = inputs_beyond(bundle, theirs)
        if needs:  # the champion's runs were fed without them: the coming data may lack them too (round 30)
            said.append(
                f"version {version} was trained with {', '.join(needs)}, which the champion's (v{champion}) "
                "training data had not (or had empty): if the scoring runs' data lacks them too, every `cvp "
                "score` of it stops (a model input missing); check the coming export has them"
            )
        cfg, which, other = (
            against,
            f"the champion's data (v{champion}, in {against.data.currency})",
            f"champion v{champion}",
        )
    stop = contract_stop(bundle, cfg)
    if stop and not force:
        raise StructuralError(
            f"version {version} of {name} cannot be made champion: every `cvp score` of {which} would stop on it "
            f"({stop}); @champion is unchanged. Give the configuration the scoring runs use (--config), or "
            "--force to promote it anyway"
        )
    if stop:
        said.append(f"promoted by --force: every `cvp score` of {which} stops on it ({stop})")
        trained = (bundle.contract_settings() or {}).get("data") or {}
        cfg = cfg.with_data(currency=trained["currency"])  # its other differences, as a run in its currency
    _, diffs, notes_of_model = resolve_settings(bundle, cfg, stored, strict=False, other=other)
    said += notes_of_model
    if diffs:
        if other:  # the champion's settings, not a configuration's
            which = (
                f"the champion's (v{champion}; no --config given: the settings the scoring runs took from it)"
            )
        said.append(
            f"version {version}'s settings differ from {which}; the next `cvp score` uses the model's and says "
            "so (--strict refuses):\n  " + "\n  ".join(diffs)
        )
    return said + warned, notes


def inputs_beyond(bundle: Any, theirs: Any) -> list[str]:
    """The model inputs (`features.model_inputs.recorded_inputs`: tables, `table.column`s) `bundle` was trained
    with that would stop a `cvp score` of it on data like `theirs`' training data (`features.model_inputs.
    input_stops`, the rule `check_model_inputs` holds scoring data to: a table or column it lacks, one filled on
    most of `bundle`'s training rows and on none of `theirs`'): what scoring data fit for `theirs` may lack.
    Nothing when either recorded none."""
    from features.model_inputs import input_stops, recorded_inputs

    ours, before = recorded_inputs(bundle), recorded_inputs(theirs)
    if not ours or before is None:
        return []
    tables, columns, empty = input_stops(ours, before)
    return [f"table {t}" for t in tables] + columns + empty


def champions_contract(
    cfg: AppConfig, bundle: Any, name: str, champion: str | None
) -> tuple[AppConfig | None, str, Any]:
    """The configuration the runs of champion `champion` score with: `cfg` in its currency with its settings
    imposed (`resolve_settings`, as every `cvp score` of it imposes them), why there is none when there is none
    (no champion, its files unreadable, a model saved before models carried their settings), and its bundle (its
    mapping's digest, its inputs: what its runs have been reading; None when there is none)."""
    from pipelines.engines.scoring import resolve_settings
    from pipelines.tracking import UnreadableModel, load_bundle

    if champion is None:
        return (
            None,
            "no configuration was given (--config) and there is no champion to judge it against",
            None,
        )
    try:
        theirs = load_bundle(f"models:/{name}/{champion}").bundle
    except UnreadableModel as exc:
        return (
            None,
            f"no configuration was given (--config) and the champion's (v{champion}) files: {exc.why}",
            None,
        )
    stored = theirs.contract_settings()
    if stored is None:
        return (
            None,
            (
                f"no configuration was given (--config) and the champion (v{champion}) was saved before models "
                "carried their settings"
            ),
            None,
        )
    ours = ((bundle.contract_settings() or {}).get("data") or {}).get("currency")
    currency = (stored.get("data") or {}).get("currency") or ours or cfg.data.currency
    effective, _, _ = resolve_settings(
        theirs, cfg.with_data(currency=currency), stored["mapping_digest"], False
    )
    return effective, "", theirs
