"""Appending a published run to the score history (`cvp score ... --history DIR`): its partition is written into
a staging directory inside DIR under the history's lock and renamed into place (`pipelines.io.replace_path`); the
layout and the readers are `pipelines.history_store`."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from features.validation import StructuralError
from pipelines import io
from pipelines.history_store import (
    BRIDGE_CHURN_FILE,
    BRIDGE_FILE,
    CHURN_FILE,
    CONTRIB_FILE,
    COPIED,
    RUN_FILE,
    SCORES_FILE,
    Reader,
    check_keeps_production,
    check_stabilised_with,
    list_runs,
    open_history,
    stability_rules,
    tier_rules,
)

__all__ = ["LOCK_FILE", "append_run"]

LOCK_FILE = ".cvp-history.lock"  #: held while a run is appended (`pipelines.locks`)


def append_run(
    history: Path, scores: pd.DataFrame, contributions_path: Path, manifest: dict[str, Any]
) -> Path:
    """Add a published run to the history: its partition is written beside the others and renamed into place.

    `scores` and the contributions file are the run's published output set; `manifest` its manifest. A run of
    the same as-of already there is replaced whole (idempotent). Returns the partition directory.
    """
    history = open_history(history, create=True)
    from pipelines.locks import held

    # one append at a time: the sweep below removes every staging directory, so it must never see another run's
    # live one (was: two runs appending at once, the later one deleted the other's partition while it was written)
    with held(history / LOCK_FILE, f"the score history {history}") as locked:
        return _append_run(history, scores, contributions_path, manifest, sweep=locked)


def _append_run(
    history: Path,
    scores: pd.DataFrame,
    contributions_path: Path,
    manifest: dict[str, Any],
    sweep: bool = True,
) -> Path:
    runs = list_runs(history)  # a damaged or foreign entry is reported before anything is written
    as_of = str(manifest["as_of"])
    # again under the lock: production's run of this as-of may have come while a challenger's run scored (review
    # of round 29, was: checked before the data was read only, and production's run replaced)
    check_keeps_production(history, runs, as_of, Reader.of(manifest), added=True)
    try:  # its stable tiers read the runs before it the history holds now (was: another run appended meanwhile,
        # this one added all the same, its tiers held over other runs, and `cvp report --history` refused it later)
        check_stabilised_with(manifest, runs, as_of)
    except StructuralError as exc:
        added = getattr(exc, "changed_runs", [])  # the runs added or replaced meanwhile
        raise StructuralError(
            f"not added to the score history {history}: another run was added to it while this one scored "
            f"({', '.join(added) or 'a run replaced'}), so its stable tiers were held over other runs than the "
            "history now holds; score it again with this --history"
        ) from exc
    # left by a run killed while appending; not swept when the history could not be locked (a file system
    # refusing locks): a folder there may be another host's live append
    for old in history.glob(".*") if sweep else ():
        if old.is_dir() and (old.name.startswith(".staging-") or ".old." in old.name):
            shutil.rmtree(old, ignore_errors=True)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of):
        raise ValueError(f"manifest as_of {as_of!r} is not a date")
    stage = history / f".staging-{uuid.uuid4().hex}"
    stage.mkdir()
    try:
        from pipelines.outputs import write_scores_parquet

        write_scores_parquet(scores, stage / SCORES_FILE)
        shutil.copyfile(contributions_path, stage / CONTRIB_FILE)
        from pipelines.outputs import churn_contributions_path

        churn = churn_contributions_path(contributions_path)
        if churn.is_file():
            shutil.copyfile(churn, stage / CHURN_FILE)
        from pipelines.outputs import bridge_contributions_path

        # issue 15: the old model on this run's data, when the model changed since the previous run
        bridge = manifest.get("bridge") or None
        for kind, name in (("value", BRIDGE_FILE), ("churn", BRIDGE_CHURN_FILE)):
            source = bridge_contributions_path(contributions_path, kind)
            if bridge and not bridge.get("note") and source.is_file():
                shutil.copyfile(source, stage / name)
        from pipelines.history_copy import check_copied_files

        check_copied_files(stage, manifest, contributions_path, COPIED)
        info = {
            "as_of": as_of,
            "run_id": manifest["run_id"],
            "model_version": str(manifest["model_version"]),
            "model_uri": manifest.get("model_uri"),
            "model_run_id": manifest.get("model_run_id"),
            # whether its model was the champion then: a challenger's run is marked by `cvp history`
            "champion_version": manifest.get("champion_version"),
            "model_aliases": manifest.get("model_aliases"),
            "horizon_days": int(manifest["horizon_days"]),
            "currency": (manifest.get("reasons") or {}).get("currency"),  # of its values and contributions
            "base_signature": manifest.get("base_signature"),  # whose data: another company's refused
            "stale_data": manifest.get("stale_data"),  # kept, shown, read by no later stable tier
            "stopped_tables": list(manifest.get("stopped_tables") or ()),  # the same
            "customers_total": int(manifest["customers_total"]),
            "tiers": {str(k): int(v) for k, v in scores["tier"].value_counts().sort_index().items()},
            "raw_tiers": (
                {str(k): int(v) for k, v in scores["raw_tier"].value_counts().sort_index().items()}
                if "raw_tier" in scores
                else {}
            ),
            "statuses": {str(k): int(v) for k, v in manifest["statuses"].items()},
            "stability_rule": str(
                manifest.get("run_policy", {}).get("tiers", {}).get("stability", {}).get("rule", "none")
            ),
            # the rules its tiers, ratings and flags were assigned with: a later run under other rules says so
            "tier_rules": tier_rules(manifest),
            "stability": stability_rules(manifest),
            # the previous run's model version this run was explained with too, or why it was not
            "bridge": (
                None
                if not bridge
                else {k: bridge[k] for k in ("previous_as_of", "old_model_version", "note") if k in bridge}
            ),
        }
        from pipelines.history_digests import partition_digests

        info["file_digests"] = partition_digests(stage, (SCORES_FILE, *COPIED))  # read back by every reader
        io.write_json(info, stage / RUN_FILE)
        target = history / f"as_of={as_of}"
        io.replace_path(stage, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return target
