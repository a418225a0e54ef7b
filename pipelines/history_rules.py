"""The tier rules of two history runs compared: what changed (`tier_rules_change`) and the tiers the previous
run's rules give this run's customers (`tiers_under_previous_rules`), which tell the moves the rules alone made.
`pipelines.history` uses both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipelines.history_store import HistoryRun, read_columns, scores_columns

__all__ = ["reported_tiers", "tier_rules_change", "tiers_under_previous_rules"]


def _flat(rules: Any, prefix: str) -> dict[str, Any]:
    """Nested rule settings as dotted keys (`tiers.great.top_share`); a list of named rules by name
    (`tiers.flag_rules.at_risk.threshold`, their order as `tiers.flag_rules.order`: was the whole list as one
    value, a threshold moved printed as every rule's settings twice), other lists one value."""
    if isinstance(rules, list) and rules and all(isinstance(r, dict) and "name" in r for r in rules):
        named = {str(r["name"]): {k: v for k, v in r.items() if k != "name"} for r in rules}
        return {f"{prefix}.order": [str(r["name"]) for r in rules]} | _flat(named, prefix)
    if not isinstance(rules, dict):
        return {prefix: rules}
    out: dict[str, Any] = {}
    for key, value in rules.items():
        out |= _flat(value, f"{prefix}.{key}")
    return out


def _whole_rules(before: dict[str, Any], after: dict[str, Any]) -> dict[str, str]:
    """A named problem or flag rule only one run has, said whole ("flag rule vip added (column > 0.05)"), the key
    prefix of its settings to it; their order, when only that made it other, to "" (was: `.order` and each setting
    `None then ...`, filling the five shown)."""
    out = {}
    for key in ("problem_rules", "flag_rules"):
        old, new = (
            {r["name"]: r for r in rs.get(key) or [] if isinstance(r, dict)} for rs in (before, after)
        )
        gone, added = (
            [(n, old[n], "removed") for n in old if n not in new],
            [(n, new[n], "added") for n in new],
        )
        for name, rule, said in [*gone, *(a for a in added if a[0] not in old)]:
            scale = f" x {rule['scale_column']}" if rule.get("scale_column") else ""
            what = f"{rule.get('column')} {rule.get('op')} {rule.get('threshold')}{scale}"
            out[f"tiers.{key}.{name}."] = f"{key.split('_')[0]} rule {name} {said} ({what})"
        if [n for n in old if n in new] == [n for n in new if n in old]:
            out[f"tiers.{key}.order"] = ""
    return out


def _plain(value: Any) -> str:
    """A rule setting as the note says it: a list as its items ("0.25, 0.5, 0.8"; was Python's `['a', 'b']`),
    none as "none"."""
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value) or "none"
    return "none" if value is None else str(value)


#: the setting each stability rule reads besides its name (`tiers.stability`)
_READS = {"margin": "margin_share", "consecutive": "runs"}


def _stability_settings(stability: dict[str, Any] | None) -> dict[str, Any]:
    """The settings of a stability rule that make its reported tiers (`tiers.stability`): the rule, and the margin
    or the number of runs only under the rule that reads it. Empty when not known."""
    if not stability or "rule" not in stability:
        return {}
    read = _READS.get(str(stability["rule"]))
    out = {"rule": stability["rule"]}
    if read is not None and read in stability:
        out[read] = stability[read]
    return out


def tier_rules_change(
    previous: HistoryRun, rules: dict[str, Any] | None, stability: dict[str, Any] | None = None
) -> str | None:
    """What changed in the tier, rating and flag rules (`tiers:`) since `previous`, the run a comparison starts
    from; None when nothing did, or when either run's rules are not recorded. `stability`: this run's
    `tiers.stability`, compared with the one `previous` recorded (its settings where recorded, else its rule's
    name; was never compared: `margin` -> `none` moved customers a margin had held, without a word).

    Runs under other rules are still compared (a new policy is a choice), but their tier moves then come partly
    from the rules, not from the customers: every reader of the comparison is told (was: 99 of 151 great
    customers "moved" to good in the transitions after `tiers.great.top_share` 0.2 -> 0.05, without a word)."""
    held = _stability_settings(previous.stability or {"rule": previous.stability_rule})
    now = _stability_settings(stability)
    if now and previous.stability is None:  # a run recorded before its stability settings: the rule's name
        now = {"rule": now["rule"]}
    if previous.tier_rules is None or rules is None:
        # a run recorded before its tier rules still names its stability rule (was: no comparison at all, so
        # `margin` -> `none` since such a run went unsaid)
        if not now or held.get("rule") == now["rule"]:
            return None
        old, new = {}, {}
    else:
        old, new = _flat(previous.tier_rules, "tiers"), _flat(rules, "tiers")
    if now:
        old |= _flat(held, "tiers.stability")
        new |= _flat(now, "tiers.stability")
    changed = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    if not changed:
        return None
    whole = _whole_rules(previous.tier_rules or {}, rules or {})
    said = [
        next((w for p, w in whole.items() if k == p or (p.endswith(".") and k.startswith(p))), None)
        for k in changed
    ]
    lines = [
        x
        for x in dict.fromkeys(
            f"{k}: {_plain(old.get(k))} then {_plain(new.get(k))}" if w is None else w
            for k, w in zip(changed, said, strict=True)
        )
        if x
    ]
    shown = "; ".join(lines[:5])
    more = f" and {len(lines) - 5} more" if len(lines) > 5 else ""
    return (
        f"the tier rules changed since the history's run as of {previous.as_of} ({shown}{more}): tier, rating and "
        "flag changes between the two runs come partly from the rules, not from the customers"
    )


def reported_tiers(
    held: Sequence[HistoryRun],
    ids: pd.Series,
    raw: pd.Series,
    values: pd.Series,
    rule: Any,
    value_col: str,
    as_of: str,
) -> np.ndarray:
    """This run's reported tiers (aligned with `ids`) under the stability rule `rule`
    (`models.tier_config.StabilityConfig`): `models.stability.stable_tiers` over the raw tiers of the runs `held`
    (the history's runs before `as_of` a stable tier reads) and this run's `raw` tiers and `values`. The one
    reading of the history for it: the run's own tiers (`pipelines.history.apply_stability`) and the ones the last
    run's rules would give (`tiers_under_previous_rules`)."""
    from models.stability import stable_tiers

    frames = []
    for run in held:
        past = read_columns(run, ["customer_id", "raw_tier", value_col])
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": past["customer_id"],
                    "as_of": run.as_of,
                    "tier": past["raw_tier"].astype("object"),
                    value_col: past[value_col].astype("float64"),
                }
            )
        )
    frames.append(
        pd.DataFrame(
            {
                "customer_id": ids.astype("str").to_numpy(),
                "as_of": as_of,
                "tier": raw.astype("object").to_numpy(),
                value_col: values.astype("float64").to_numpy(),
            }
        )
    )
    stable = stable_tiers(pd.concat(frames, ignore_index=True), rule, value_col)
    now = stable[stable["as_of"] == as_of].set_index("customer_id")["reported_tier"]
    return now.reindex(ids.astype("str")).astype("object").to_numpy()


def tiers_under_previous_rules(
    previous: HistoryRun,
    scores: pd.DataFrame,
    cfg: Any,
    horizon: int,
    held: Sequence[HistoryRun] = (),
) -> pd.DataFrame | None:
    """This run's scored customers' raw tier, rating and flags under the tier rules of `previous` (the run a
    comparison starts from), on this run's values (columns `prev_rules_tier`, `prev_rules_rating`,
    `prev_rules_flags`; index `customer_id` as text): where they equal the last run's, the customer's move comes
    from the new rules alone. None when the rules are not recorded, cannot be read, or read a column the previous
    run's scores carry and this run's do not (then no move is put on the rules: was: a customer made great only by
    `tiers.great.top_share` 0.2 -> 0.3 listed as "newly at risk" with a churn driver as the reason). A column
    neither run carries (`dispute_share` of a company without invoices) skips its rule as both runs did (was:
    None, such a company never told a move the rules made). `held`: the history's runs before this one that a
    stable tier reads; given, the tier is the one the last run's stability rule would report (`reported_tiers`),
    as was the last run's tier it is compared with (was: this run's raw tier under the old rules beside the last
    run's reported one: a customer a margin held, or whom only a new stability rule let go, told as a move of
    their own; "0 of the customers who changed tier did so only by the new rules" after `margin` -> `none`, 6
    had)."""
    from models.tier_config import TierConfig
    from models.tiers import assign_tiers, rule_inputs

    if previous.tier_rules is None:
        return None
    if held and previous.stability is None and previous.stability_rule in _READS:
        # its margin (or runs) not recorded: not guessed from this run's settings, as `tier_rules_change` does
        # not compare them (was: this run's margin taken for the last run's, its held tiers told from a guess)
        return None
    stability = cfg.tiers.stability.model_dump() | (previous.stability or {"rule": previous.stability_rule})
    try:
        rules = TierConfig.model_validate({**previous.tier_rules, "stability": stability})
    except ValueError:
        return None
    scored = scores[scores["status"].astype("str") == "scored"]
    as_of = pd.Timestamp(scores["as_of"].iloc[0]).date().isoformat() if len(scores) else ""
    needed = {c for cols in rule_inputs(rules, horizon).values() for c in cols}
    lacking = needed - set(scored.columns)
    if lacking:
        before = scores_columns(previous)
        if before is None or lacking & before:
            return None
    # the columns the rules read only (was a copy of every column of the scores: 1M customers, dozens of them)
    frame = scored[sorted(needed - lacking)].set_axis(
        pd.Index(scored["customer_id"].astype("str"), name="customer_id")
    )
    out = assign_tiers(frame, rules, horizon)
    tier = out["tier"].astype("str").where(out["tier"].notna(), None)
    value_col = rules.value_column.format(h=horizon)
    if held and rules.stability.rule != "none" and value_col in scored:
        # the last run's tiers were reported under its stability rule: so are these (was: this run's raw tiers
        # under the old rules, beside the last run's reported ones: a customer a margin held, or whose hold only
        # the new stability rule let go, told as a move of their own)
        values = scored[value_col].set_axis(frame.index)
        reported = reported_tiers(
            held, frame.index.to_series(), tier, values, rules.stability, value_col, as_of
        )
        tier = pd.Series(reported, index=frame.index).astype("str").where(pd.notna(reported), None)
    return pd.DataFrame(
        {
            "prev_rules_tier": tier,
            "prev_rules_rating": out["rating"].astype("str").where(out["rating"].notna(), None),
            "prev_rules_flags": out["flags"].astype("str"),
        },
        index=frame.index,
    )
