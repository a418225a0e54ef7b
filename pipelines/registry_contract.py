"""`cvp models promote`'s judgement of a version as `cvp score` judges a model before reading data
(`pipelines.engines.scoring.contract_stop`, `resolve_settings`: one rule): against the configuration given, else
against the champion's contract (`pipelines.registry.promote_version` calls it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from features.validation import StructuralError
from pipelines.config import AppConfig

__all__ = ["champions_contract", "judge_contract"]


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
    the notes: not judged, and why). The mapping is not judged (a run's, unknown here); the as-of neither."""
    from pipelines.engines.scoring import contract_stop, resolve_settings

    bundle = loaded.bundle
    said: list[str] = []
    notes: list[str] = []
    warned = [
        f"every `cvp score` of it warns: {n} (--strict refuses)"
        for n in (loaded.trained_by_demo, loaded.run_deleted)
        if n
    ]
    which = f"the configuration {config}"
    versus = "config"  # the side `resolve_settings` names
    if config is None:
        against, why = champions_contract(cfg, bundle, name, champion)
        if against is None:
            return warned, [f"version {version} was not judged against the scoring runs' settings: {why}"]
        cfg, which, versus = (
            against,
            f"the champion's data (v{champion}, in {against.data.currency})",
            "champion",
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
    stored = (bundle.contract_settings() or {}).get("mapping_digest")
    _, diffs, notes_of_model = resolve_settings(bundle, cfg, stored, strict=False)
    said += notes_of_model
    if diffs:
        if versus != "config":  # the champion's settings, not a configuration's
            diffs = [d.replace(", config ", f", champion v{champion} ", 1) for d in diffs]
            which = (
                f"the champion's (v{champion}; no --config given: the settings the scoring runs took from it)"
            )
        said.append(
            f"version {version}'s settings differ from {which}; the next `cvp score` uses the model's and says "
            "so (--strict refuses):\n  " + "\n  ".join(diffs)
        )
    return said + warned, notes


def champions_contract(
    cfg: AppConfig, bundle: Any, name: str, champion: str | None
) -> tuple[AppConfig | None, str]:
    """The configuration the runs of champion `champion` score with: `cfg` in its currency with its settings
    imposed (`resolve_settings`, as every `cvp score` of it imposes them), and why there is none when there is
    none (no champion, its files unreadable, a model saved before models carried their settings)."""
    from pipelines.engines.scoring import resolve_settings
    from pipelines.tracking import UnreadableModel, load_bundle

    if champion is None:
        return None, "no configuration was given (--config) and there is no champion to judge it against"
    try:
        theirs = load_bundle(f"models:/{name}/{champion}").bundle
    except UnreadableModel as exc:
        return (
            None,
            f"no configuration was given (--config) and the champion's (v{champion}) files: {exc.why}",
        )
    stored = theirs.contract_settings()
    if stored is None:
        return None, (
            f"no configuration was given (--config) and the champion (v{champion}) was saved before models "
            "carried their settings"
        )
    ours = ((bundle.contract_settings() or {}).get("data") or {}).get("currency")
    currency = (stored.get("data") or {}).get("currency") or ours or cfg.data.currency
    effective, _, _ = resolve_settings(
        theirs, cfg.with_data(currency=currency), stored["mapping_digest"], False
    )
    return effective, ""
