"""The score history: every scoring run kept by as-of, stable tiers across runs, transitions between two runs.

The history directory (its layout, reading and appending runs) is `pipelines.history_store`; this module compares
the runs it holds.

Runs of different horizons are never compared: stability, transitions and the report refuse (exit 2) when the two
runs they would compare predict over different horizons. `cvp history` lists every run and says when horizons mix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from features.validation import StructuralError
from pipelines.history_checks import (
    check_same_currency,
    check_same_customers,
    check_same_horizon,
    check_same_unit,
)
from pipelines.history_identity import base_signature, check_same_base, signature_of
from pipelines.history_rules import reported_tiers, tier_rules_change, tiers_under_previous_rules
from pipelines.history_store import (
    HISTORY_MARKER,
    PRODUCTION,
    HistoryRun,
    Reader,
    check_stabilised_with,
    list_runs,
    model_labels,
    off_production,
    open_history,
    previous_run,
    read_columns,
    read_run,
    read_run_churn,
    reads,
    same_model,
    scores_columns,
    tier_runs,
)

__all__ = [
    "apply_stability",
    "base_signature",
    "bridge_source",
    "check_same_currency",
    "check_same_horizon",
    "check_same_customers",
    "check_stabilised_with",
    "history_notes",
    "runs_before",
    "runs_after",
    "later_runs_note",
    "unseen_later_runs",
    "run_history",
    "signature_of",
    "tier_rules_change",
    "transitions_between",
]


def history_notes(
    history: Path | None,
    as_of: str,
    rules: dict[str, Any] | None,
    stability: str,
    stability_settings: dict[str, Any] | None = None,
    reader: Reader = PRODUCTION,
) -> list[str]:
    """What a run added to `history` as of `as_of` must say about the runs it is compared with: tier rules other
    than the previous run's (`tier_rules_change`; `stability_settings`: the run's whole `tiers.stability`, whose
    rule is `stability`), and later runs already there, whose stable tiers were computed without this one (a
    backfill after them; under a stability rule other than `none`; only those that read it, `reads`: none of
    production's reads a challenger's run, round 29, was: "score them again"). `reader`: this run's model; one
    that is not the champion reads its own model's runs only, and says so (review of round 29)."""
    if history is None or not (Path(history) / HISTORY_MARKER).is_file():
        return []
    runs = list_runs(history)
    notes = []
    read = tier_runs(runs, reader)
    previous = previous_run(read, as_of)  # the run the stable tiers and the transitions read last
    change = None if previous is None else tier_rules_change(previous, rules, stability_settings)
    if change:
        notes.append(change)
    from pipelines.history_digests import undigested_note  # round 32: files read as they are, an edit unseen

    notes += [n for n in [undigested_note([r for r in read if r.as_of < as_of])] if n]
    # the stale runs since that run (the ones the rule would have read next; older ones were named by the runs
    # after them): was every stale run ever, the note growing with the history
    since = "" if previous is None else previous.as_of
    line = [r for r in runs if reads(reader, r.reader)]  # the runs of its line, stale or not
    stale = [r.as_of for r in line if since < r.as_of < as_of and r.stale_data]
    if stale and stability != "none":
        notes.append(
            f"the history's runs as of {', '.join(stale)} scored stale data (their data ended long before their "
            "as-of): kept, but the stability rule does not read their tiers"
        )
    stopped = [r.as_of for r in line if since < r.as_of < as_of and r.stopped_tables and not r.stale_data]
    if stopped and stability != "none":
        notes.append(
            f"the history's runs as of {', '.join(stopped)} scored data an export of which stopped (a table, or "
            "a model input column it stopped filling: their customers read without it since): kept, but the stability rule does not read their tiers"
        )
    aside = [r.as_of for r in runs if since < r.as_of < as_of and off_production(r)]
    if aside and reader.production:  # the moves since the last run skip them too, under any stability rule
        notes.append(
            f"the history's runs as of {', '.join(aside)} were scored by a model that was not the champion then: "
            "kept, but this run's stable tiers and moves are read from the champion's runs"
        )
    own = [r.as_of for r in read if r.as_of < as_of]
    if not reader.production and any(r.as_of < as_of for r in runs):
        notes.append(
            f"this run's model, version {reader.model_version}, is not the champion (version "
            f"{reader.champion_version}): its stable tiers and moves read only this history's earlier runs of its "
            + (
                f"own model ({', '.join(own)}), not production's"
                if own
                else "own model, not production's: there is none, so its tiers are its own and no move is counted"
            )
        )
    later = _later(runs, as_of, reader)  # the runs listed above, not listed again
    if later and stability != "none":
        notes.append(later_runs_note(list(later), as_of))
    return notes


def later_runs_note(later: list[str], as_of: str) -> str:
    """The note of a run added before `later` runs of its history (a backfill, or a later run appended while it
    scored: `unseen_later_runs`): their stable tiers were computed without it."""
    return (
        f"the history already holds later runs ({', '.join(later)}): their stable tiers were computed without "
        f"this run as of {as_of}; score them again, oldest first, for their tiers to follow from it (`cvp report "
        "--history` refuses them until then)"
    )


def runs_after(history: Path | None, as_of: str, reader: Reader = PRODUCTION) -> dict[str, str]:
    """{as-of: run id} of the history's runs after `as_of` held by a stability rule that read a run of `reader`
    (`reads`): the runs whose stable tiers a run as of `as_of` added there is missing from. Recorded in the
    manifest (`history_later`) as the runs the scoring saw, for the append to name any added meanwhile
    (`unseen_later_runs`)."""
    if history is None or not (Path(history) / HISTORY_MARKER).is_file():
        return {}
    return _later(list_runs(history), as_of, reader)


def _later(runs: Sequence[HistoryRun], as_of: str, reader: Reader) -> dict[str, str]:
    """{as-of: run id} of `runs` after `as_of` held by a stability rule that read a run of `reader` (`runs_after`)."""
    return {
        r.as_of: r.run_id
        for r in runs
        if r.as_of > as_of and r.stability_rule != "none" and reads(r.reader, reader)
    }


def unseen_later_runs(history: Path, manifest: dict[str, Any]) -> list[str]:
    """The note of a run just appended to `history` when later runs came into it while the run scored (its
    manifest's `history_later` lacks them): was silent, the later run's `cvp report --history` refusing later.
    Nothing when the run's stability rule is `none` or its manifest predates `history_later`."""
    seen = manifest.get("history_later")
    rule = ((manifest.get("run_policy") or {}).get("tiers") or {}).get("stability", {}).get("rule", "none")
    if seen is None or rule == "none":
        return []
    as_of = str(manifest["as_of"])
    # the later runs that read it (`reads`: none of production's reads a challenger's run, round 29)
    added = [a for a, run in runs_after(history, as_of, Reader.of(manifest)).items() if seen.get(a) != run]
    return [later_runs_note(added, as_of)] if added else []


def bridge_source(
    history: Path | None,
    as_of: str,
    model_version: str,
    model_run_id: str | None = None,
    champion_version: str | None = None,
) -> HistoryRun | None:
    """The history's run before `as_of` when it was scored with another model version than `model_version`
    (issue 15: this run then explains its data with that run's model too), else None (also without a history).
    `champion_version`: the champion's when this run loaded its model (who reads, `reads`)."""
    if history is None or not (Path(history) / HISTORY_MARKER).is_file():
        return None
    # the run this run's moves are counted from (`tier_runs`, was: the latest, read or not: a challenger's or a
    # stale run's model bridged while the moves came from the run before it, the split left empty)
    reader = Reader(str(model_version), champion_version, model_run_id)
    previous = previous_run(tier_runs(list_runs(history), reader), as_of)
    if previous is None or same_model(previous, model_version, model_run_id):
        return None
    return previous


def runs_before(history: Path | None, as_of: str) -> dict[str, str]:
    """{as-of: run id} of the history's runs before `as_of`: what a run added to `history` reads of it (the stable
    tiers, the bridge of the previous run), so part of its run id (`run_id_for`). Empty without a history, and
    for a history with no earlier run (later runs change only a note: not part of the id)."""
    if history is None or not (Path(history) / HISTORY_MARKER).is_file():
        return {}
    before = [r for r in list_runs(history) if r.as_of < as_of]
    if before:  # the run read by every comparison, its files checked before scoring (round 32)
        from pipelines.history_digests import check_run_files
        from pipelines.history_store import COPIED, SCORES_FILE

        check_run_files(before[-1], (SCORES_FILE, *COPIED))
    return {r.as_of: r.run_id for r in before}


def apply_stability(
    scores: pd.DataFrame,
    history: Path | None,
    cfg: Any,
    horizon_days: int,
    signature: dict[str, str] | None = None,
    reader: Reader = PRODUCTION,
    seen: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The scores with `tier` = the reported tier under `tiers.stability` and `raw_tier` = this run's own tier.

    Called by the scoring job before it publishes. Without a history the reported tier is the raw tier. With one,
    `models.stability.stable_tiers` runs over the raw tiers of the history's runs before this as-of plus this run
    (runs after it are not read: a backfill does not see the future). A customer whose reported tier differs
    from the raw one gets a `tier_reason` saying so. `signature`: this run's sample of its orders
    (`pipelines.history_identity.base_signature`), compared with the history's previous run's, the run of the
    same as-of it replaces and the next run's (a backfill). `reader`: this run's model (`tier_runs`: a
    challenger's run reads its own model's runs, production's the champions'). `seen`: the runs before this as-of
    the run's id and bridge were fixed on (`runs_before` when it started); another set now is refused (round 30,
    was: a run added meanwhile by another `cvp score` read by the stable tiers under an id naming none, two sets
    of other tiers under one run id).
    """
    out = scores.copy(deep=False)  # copy-on-write: the caller's frame is not changed, no column copied
    raw = out["tier"].astype("str")
    out.insert(out.columns.get_loc("tier") + 1, "raw_tier", raw)
    if history is None:
        return out

    rule = cfg.tiers.stability
    as_of = pd.Timestamp(out["as_of"].iloc[0]).date().isoformat() if len(out) else ""
    every = list_runs(open_history(history, create=True))
    runs = [r for r in every if r.as_of < as_of]
    now = {r.as_of: r.run_id for r in runs}
    if seen is not None and now != seen:
        changed = sorted(a for a in set(now) | set(seen) if now.get(a) != seen.get(a))
        raise StructuralError(
            f"the score history {history} changed while this run scored (runs as of {', '.join(changed)} added, "
            "replaced or removed by another `cvp score`): its run id and the bridge of a model change were fixed on "
            "the runs before, its stable tiers would read the runs now; score it again with this --history, "
            "nothing was published"
        )
    # a run of stale data or a stopped table is kept but read by no stable tier
    held = tier_runs(runs, reader)
    # what the reported tiers were computed from, for the manifest (`cvp report --history` compares it)
    out.attrs["stability_runs"] = {r.as_of: r.run_id for r in held}
    # the run joins the whole history, not only the runs before it: a backfill is read by the later runs' stable
    # tiers, and a run of the same as-of replaces the one there (was: another company's run replaced this
    # history's or slotted in before it, exit 0: checked against earlier runs only, and there were none)
    kept = [r for r in every if r.as_of != as_of]
    check_same_horizon(kept, horizon_days, "tier stability")
    check_same_currency(kept, cfg.data.currency, "tier stability")
    if runs:
        check_same_customers(runs[-1], out["customer_id"], as_of, "the score history")
        value_col = cfg.tiers.value_column.format(h=horizon_days)
        check_same_unit(runs[-1], out[value_col], value_col, as_of, "the score history")
    replaced = [r for r in every if r.as_of == as_of]
    for other in runs[-1:] + replaced + [r for r in every if r.as_of > as_of][:1]:
        check_same_base(other.as_of, other.base_signature, signature, "the score history")
    if rule.rule == "none" or not held:
        return out
    value_col = cfg.tiers.value_column.format(h=horizon_days)
    ids = out["customer_id"].astype("str")
    reported = reported_tiers(held, ids, raw, out[value_col], rule, value_col, as_of)
    out["tier"] = pd.array(reported, dtype="str")
    moved = (out["tier"] != raw).fillna(False).to_numpy(dtype=bool)
    if moved.any():  # read back by models.tiers.KEPT_REASON (the reports' plain words): keep the two in step
        note = (
            "kept "
            + out.loc[moved, "tier"]
            + " by the stability rule ("
            + rule.rule
            + "); this run alone says "
        ) + raw[moved]
        out["tier_reason"] = out["tier_reason"].astype("str")
        out.loc[moved, "tier_reason"] = note.astype("str")
    return out


def run_history(history: Path, console: Any) -> list[HistoryRun]:
    """`cvp history`: the runs as a table (as-of, model version, horizon, counts by tier and status)."""
    from rich.table import Table

    runs = list_runs(history)
    if not runs:
        console.print(f"the history {history} holds no run yet", markup=False, highlight=False)
        return runs
    known = ("great", "good", "problem")
    tiers = sorted({t for r in runs for t in r.tiers}, key=lambda t: (known.index(t) if t in known else 3, t))
    statuses = sorted({s for r in runs for s in r.statuses})
    from rich import box

    table = Table(title=f"score history {history}", box=box.SIMPLE_HEAD)
    table.add_column("as-of", no_wrap=True, min_width=10)
    table.add_column("model", no_wrap=True)
    table.add_column("horizon", no_wrap=True, justify="right")
    table.add_column("stability", no_wrap=True)
    for tier in tiers:
        table.add_column(tier, no_wrap=True, justify="right")
    from pipelines.reports.phrases import scored_by

    # a run scored by a model that was not the champion then (`--model ...@challenger`): marked (round 28, was:
    # listed as production's, its tiers read by the next runs' stable tiers without a word)
    whose = [scored_by(vars(r)) for r in runs]
    for r, model, by in zip(runs, model_labels(runs), whose, strict=True):
        table.add_row(
            r.as_of + (" (stale data)" if r.stale_data else " (stopped export)" if r.stopped_tables else ""),
            model + (f" ({by})" if by else ""),
            f"{r.horizon_days} d",
            r.stability_rule,
            *(f"{r.tiers.get(t, 0):,}" for t in tiers),
        )
    console.print(table)
    # the statuses in a table of their own: a column each beside the tiers does not fit 80 columns (was one
    # column of "cancelled 36, lapsed 87, ...", wrapped a word a line and cut: "cancell…")
    by_status = Table(title="customers by status", box=box.SIMPLE_HEAD)
    by_status.add_column("as-of", no_wrap=True, min_width=10)
    for status in statuses:
        by_status.add_column(status.replace("_", " "), no_wrap=True, justify="right")
    for r in runs:
        by_status.add_row(r.as_of, *(f"{r.statuses.get(s, 0):,}" for s in statuses))
    console.print(by_status)
    if any(whose):
        console.print(
            "note: a model marked (challenger) or (set aside) was not the champion when it scored that run: its "
            "tiers are not production's; production's later runs' stable tiers and moves do not read them, a later "
            "run of its own model's does",
            markup=False,
            highlight=False,
        )
    horizons = sorted({r.horizon_days for r in runs})
    if len(horizons) > 1:
        console.print(
            "[bold yellow]warning:[/] this history mixes horizons ("
            + ", ".join(f"{h} days" for h in horizons)
            + "): runs of different horizons are never compared (stability, transitions and reports refuse)"
        )
    return runs


def transitions_between(
    old: HistoryRun,
    new_scores: pd.DataFrame,
    new_contrib: pd.DataFrame,
    new_horizon: int,
    cfg: Any,
    registry: Any,
    new_churn: pd.DataFrame | None = None,
    bridge: pd.DataFrame | None = None,
    bridge_churn: pd.DataFrame | None = None,
    bridge_version: str | None = None,
    model_run_id: str | None = None,
) -> pd.DataFrame:
    """`models.transitions.tier_transitions` from a history run to a run's scores (the reported tiers).

    The feature values the scores carry (the columns the tier and flag rules read) make the deltas say
    "rose from 3 to 14"; other features are named with their amount only. With the churn contributions of both
    runs (`new_churn` and the history run's), the churn change is explained too (points of probability).
    When the model changed, `bridge` and `bridge_churn` (the new run's bridge files: the model of version
    `bridge_version` on the new data) split each change into data and model parts, if `bridge_version` is the
    history run's model; otherwise the split is left empty. `model_run_id`: the MLflow run that trained the new
    run's model; a model of the old run's version number from another training run is a changed model (was: v1
    of a new registry taken for the v1 that scored the old run: no "model retrained", every change put on the
    data). Refuses runs of different horizons.
    """
    from models.transitions import tier_transitions

    check_same_horizon([old], new_horizon, "the transitions")
    old_scores, old_contrib = read_run(old)
    h = new_horizon
    if bridge_version is None or str(bridge_version) != old.model_version:
        bridge = bridge_churn = None  # a bridge from another model than the old run's splits nothing
    index = "customer_id"
    a = old_scores.set_index(index)
    b = new_scores.assign(customer_id=new_scores[index].astype("str")).set_index(index)
    if "model_version" in a and "model_version" in b and model_run_id and old.model_run_id is not None:
        if old.model_run_id != model_run_id:  # the versions are told apart by their training runs too
            a = a.assign(model_version=a["model_version"].astype("str") + f" ({old.model_run_id})")
            b = b.assign(model_version=b["model_version"].astype("str") + f" ({model_run_id})")
        else:  # one training run's model, whatever each run named it (`history_store.same_model`)
            a = a.assign(model_version=model_run_id)
            b = b.assign(model_version=model_run_id)
    moves = tier_transitions(
        a,
        b,
        old_contrib,
        new_contrib,
        registry,
        value_column=cfg.tiers.value_column.format(h=h),
        churn_column=f"pred_churn_prob_{h}d",
        currency=cfg.data.currency,
        n_deltas=cfg.explain.n_reasons,
        old_churn_contrib=read_run_churn(old) if new_churn is not None else None,
        new_churn_contrib=new_churn,
        old_features=a,
        new_features=b,
        bridge_value_contrib=bridge,
        bridge_churn_contrib=bridge_churn,
    )
    # what the actions of the report compare too: the flags and the owner of the older run
    for col in ("flags", "account_manager_id"):
        if col in a:
            moves[f"old_{col}"] = a[col].reindex(moves.index).astype("str")
    if "account_manager_id" in a and "account_manager_id" in b:
        moves["old_book_moved"] = whole_book_moved(a["account_manager_id"], b["account_manager_id"]).reindex(
            moves.index, fill_value=False
        )
    return moves


def whole_book_moved(old: pd.Series, new: pd.Series) -> pd.Series:
    """Per customer (index customer_id, both runs), whether their manager id changed because a whole book moved:
    every customer of their old manager (in both runs) is with one manager now, who had none in the old run,
    and the old id has none now. An id renamed (or merged into a new one) between runs looks so: the page must not
    tell a manager that their own customers "moved to you"."""
    both = old.index.intersection(new.index)
    o = old.reindex(both).astype("object").where(old.reindex(both).notna())
    n = new.reindex(both).astype("object").where(new.reindex(both).notna())
    changed = o.notna() & n.notna() & (o != n)
    targets = n.groupby(o).nunique()  # per old manager: how many managers their customers have now
    one_target = o.map(targets).eq(1) & ~o.isin(set(n.dropna()))  # the old id has no customer now
    fresh = ~n.isin(set(o.dropna()))  # the new id had no customer in the old run
    return (changed & one_target & fresh).reindex(new.index, fill_value=False).astype(bool)


def with_run_tiers(cfg: Any, manifest: dict) -> Any:
    """`cfg` with the tier, rating and flag rules the scoring run applied (its manifest's `run_policy`): the
    history sections compare the run's own ratings and value column, whatever `--config` the report is given (was:
    a report config on another rating scale, `score10`, read the run's letters as no grade: every "Rating upgrades
    worth a thank-you" list empty, without a word). Unchanged when the manifest does not hold them."""
    from models.tier_config import TierConfig

    recorded = (manifest.get("run_policy") or {}).get("tiers")
    if not isinstance(recorded, dict):
        return cfg
    try:
        tiers = TierConfig.model_validate(recorded)
    except ValueError:
        return cfg
    return cfg.model_copy(update={"tiers": tiers})


def run_before_last(earlier: HistoryRun, index: pd.Index) -> pd.DataFrame:
    """The tier and account manager of the customers `index` in `earlier`, the run before the last one
    (`earlier_tier`, `earlier_account_manager_id`): a customer moved back to what they had then is told as a move
    back (was: "became a problem" / "moved to you from another account manager" as if new, their tier or manager
    of two runs ago unsaid)."""
    columns = ["customer_id", "tier"]
    if "account_manager_id" in (scores_columns(earlier) or set()):
        columns.append("account_manager_id")
    before = read_columns(earlier, columns).set_index("customer_id").reindex(index.astype("str"))
    out = pd.DataFrame(index=index)
    for col in columns[1:]:
        out[f"earlier_{col}"] = before[col].astype("object").where(before[col].notna(), None).to_numpy()
    return out


def report_history(
    history: Path,
    scores: pd.DataFrame,
    contrib: pd.DataFrame,
    manifest: dict,
    cfg: Any,
    churn: pd.DataFrame | None = None,
    bridge: pd.DataFrame | None = None,
    bridge_churn: pd.DataFrame | None = None,
) -> Any:
    """What `cvp report --history DIR` adds: the transitions from the run before this one, and tier counts over
    the runs up to this one (this run counted from its scores when it is not in the history yet). `churn`: this
    run's churn contributions, for the churn deltas; `bridge`, `bridge_churn`: its bridge files, for the
    data/model split when the model changed (the old version named by the manifest's `bridge`)."""
    from features import feature_registry
    from pipelines.reports.actions import HistoryReport

    runs = list_runs(history)
    cfg = with_run_tiers(cfg, manifest)
    horizon = int(manifest.get("horizon_days", cfg.labels.horizon_days))
    as_of = str(manifest.get("as_of") or pd.Timestamp(scores["as_of"].iloc[0]).date().isoformat())
    upto = [r for r in runs if r.as_of <= as_of]
    check_same_horizon(upto, horizon, "the report's history sections")
    check_same_currency(
        upto, (manifest.get("reasons") or {}).get("currency"), "the report's history sections"
    )
    # not a run of stale data or a stopped table (`tier_runs`, the stable tiers' rule): its tiers read days
    # without data as quiet customers, and the moves since it would be counted against them (was: the latest
    # run, stale or not)
    reader = Reader.of(manifest)  # a challenger's run is reported against its own model's runs (`reads`)
    held = [r for r in tier_runs(upto, reader) if r.as_of < as_of]
    previous = held[-1] if held else None
    check_stabilised_with(manifest, upto, as_of)
    transitions = rules_changed = earlier = None
    if previous is not None:
        check_same_customers(previous, scores["customer_id"], as_of, "the report's history sections")
        value_col = cfg.tiers.value_column.format(h=horizon)
        check_same_unit(previous, scores[value_col], value_col, as_of, "the report's history sections")
        base = manifest.get("base_signature")
        check_same_base(previous.as_of, previous.base_signature, base, "the report's history sections")
        registry = feature_registry(cfg.features)
        bridge_info = manifest.get("bridge") or {}
        version = None if bridge_info.get("note") else bridge_info.get("old_model_version")
        transitions = transitions_between(
            previous,
            scores,
            contrib,
            horizon,
            cfg,
            registry,
            churn,
            bridge,
            bridge_churn,
            version,
            manifest.get("model_run_id"),
        )
        from pipelines.history_store import stability_rules, tier_rules

        rules_changed = tier_rules_change(previous, tier_rules(manifest), stability_rules(manifest))
        under = (
            None
            if rules_changed is None
            else tiers_under_previous_rules(previous, scores, cfg, horizon, held)
        )
        if under is not None:  # which moves the new rules alone made (`pipelines.reports.actions`)
            transitions = transitions.join(under)
        earlier = previous_run(held, previous.as_of)
        if earlier is not None:  # a move back to the tier or manager of the run before: said as a move back
            transitions = transitions.join(run_before_last(earlier, transitions.index))
    # the tiers over time of this run's line (`reads`: production's, or a challenger's own model's; round 29, was:
    # a challenger's month drawn among production's). Runs of stale data or a stopped table stay, unlike in
    # `tier_runs`: they are what those runs published, shown as `cvp history` shows them; only the stable tiers
    # and moves skip them, which would read their days without data as quiet customers
    counts = [
        {"as_of": r.as_of, "tiers": r.tiers} for r in upto if r.as_of < as_of and reads(reader, r.reader)
    ]
    this = scores["tier"].dropna().astype(str).value_counts().sort_index()
    counts.append({"as_of": as_of, "tiers": {str(k): int(v) for k, v in this.items()}})
    return HistoryReport(
        transitions=transitions,
        previous_as_of=None if previous is None else previous.as_of,
        runs=counts,
        rating_grades=[str(g) for g in cfg.tiers.rating.grades()],
        rules_changed=rules_changed,
        earlier_as_of=None if earlier is None else earlier.as_of,
    )
