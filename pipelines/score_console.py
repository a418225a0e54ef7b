"""What `cvp score` says when it ends: the whole base by status, the scored customers by tier.

`score_summary` reads the counts the run already wrote to its manifest (`statuses`, `tiers`): "510 customers:
377 scored (great 71, good 152, problem 154), 87 lapsed, 36 cancelled, 10 new". Tiers best first
(`models.tiers.TIER_NAMES` reversed), the other statuses most first (ties by name); a run where nobody could be
scored says "none scored", never "scored 510".

`closing_warnings` reads the same manifest for the warnings and notes said once the output set is published
(rows rejected at loading among them: the manifest's `warnings` are what a batch job alerts on).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from features.population import SCORED
from models.tiers import TIER_NAMES


def score_summary(statuses: Mapping[str, int], tiers: Mapping[str, int]) -> str:
    total = sum(statuses.values())
    scored = statuses.get(SCORED, 0)
    order = [t for t in reversed(TIER_NAMES) if tiers.get(t)] + sorted(set(tiers) - set(TIER_NAMES))
    by_tier = ", ".join(f"{t} {tiers[t]:,}" for t in order if tiers[t])
    head = (
        f"{scored:,} scored ({by_tier})"
        if scored and by_tier
        else f"{scored:,} scored"
        if scored
        else "none scored"
    )
    others = sorted(
        ((k, v) for k, v in statuses.items() if k != SCORED and v), key=lambda kv: (-kv[1], kv[0])
    )
    parts = [head, *(f"{v:,} {k.replace('_', ' ')}" for k, v in others)]
    return f"{total:,} customer{'' if total == 1 else 's'}: " + ", ".join(parts)


#: Why a customer has a status other than scored (`features.population`), said when nobody could be scored.
STATUS_MEANINGS = {
    "cancelled": "customers.churned_at before the as-of",
    "lapsed": "no order within labels.max_lapse_days before the as-of",
    "no_orders_yet": "no order before the as-of",
    "new": "in their first weeks: the lookalike model's score only",
}


def kept_status(lookalike: Mapping[str, Any]) -> str:
    """What the customers in their first weeks are, when no lookalike model scored them (`score_newcomers`)."""
    kept, days = lookalike.get("kept_status") or {}, lookalike.get("early_days")
    if not kept:
        return f"no customer is in their first {days} days"
    listed = ", ".join(f"{k} {v:,}" for k, v in kept.items())
    return f"the {sum(kept.values()):,} customers in their first {days} days keep their status ({listed})"


def never_fed(
    skipped: Sequence[str],
    columns: Collection[str],
    inputs: Mapping[str, Sequence[str]],
    features: Collection[str],
    inputs_recorded: bool,
) -> list[str]:
    """The skipped rules (`skipped_rules`) this data never feeds: each input column absent from the scores
    (`columns`) is a feature (`features`: the run's registry) this run's data could not make, for want of a
    table or optional column it has not at all; the model was trained without it too (`inputs_recorded`: its
    training inputs are recorded, and scoring data lacking one of them stops the run, `check_model_inputs`).
    A note, not a warning: nothing is degraded against the model. Any other skip (a prediction or a name that is
    no feature, a model without recorded inputs) is a degraded output: a warning (`closing_warnings`)."""
    if not inputs_recorded:
        return []
    return [
        rule
        for rule in skipped
        if rule in inputs and all(c in features for c in inputs[rule] if c not in columns)
    ]


def closing_warnings(
    manifest: Mapping[str, Any], skipped: list[str], psi: float, manifest_name: str
) -> list[tuple[str, str]]:
    """What a run says once its set is published, as (warning or note, text), from its manifest."""
    from pipelines.rejected_rows import said

    out = said(manifest, "these scores")  # rows in = accepted + rejected; the expected ones a note
    if manifest["customers_scored"] == 0:  # exit 0: the set is valid and complete, but holds no prediction
        counts = "; ".join(
            f"{k}: {v:,}" + (f" ({STATUS_MEANINGS[k]})" if k in STATUS_MEANINGS else "")
            for k, v in manifest["statuses"].items()
        )
        out.append(
            ("warning", f"no customer could be scored (no predictions or tiers, statuses only): {counts}")
        )
    if unseen := unseen_categories(manifest):
        out.append(("warning", unseen))
    if (manifest.get("bridge") or {}).get("note"):  # the data/model split of this run is missing
        out.append(("warning", str(manifest["bridge"]["note"])))
    lookalike = manifest.get("lookalike") or {}
    if (
        lookalike.get("model") is False
    ):  # a warning when newcomers' scores are missing, a note when nobody is new
        out.append(
            (
                "warning" if lookalike.get("kept_status") else "note",
                f"new customers are not scored: {lookalike.get('note')}; {kept_status(lookalike)}",
            )
        )
    unfed = set(manifest.get("skipped_rules_never_fed") or ())
    if unfed:  # the data has not the table or column, the model was trained without it: nothing degraded
        out.append(
            (
                "note",
                "tier rules not applied: their inputs come from tables or columns this data does not have (the "
                "model was trained without them too): " + ", ".join(r for r in skipped if r in unfed),
            )
        )
    degraded = [r for r in skipped if r not in unfed]
    if degraded:  # tiers decided without these rules: a problem customer may be tiered good or great
        out.append(
            (
                "warning",
                "tier rules not applied because their input columns are absent (tiers decided without them; "
                "a rule your data can never feed is taken out of `tiers` in the config): "
                + ", ".join(degraded),
            )
        )
    for note in manifest.get("notes") or ():  # the engines' (a BG/NBD fit failed: its inputs missing for all)
        out.append(("warning", str(note)))  # was: in the manifest's `notes` only, never printed nor a warning
    small = small_base(manifest)
    if small:
        out.append(("warning", small))
    flat = flat_churn(manifest)
    if flat:
        out.append(("warning", flat))
    drifted = manifest["drift"]["drifted_features"] + manifest["drift"]["drifted_predictions"]
    if drifted:
        out.append(("warning", f"drift above PSI {psi} in: {', '.join(drifted)} (see {manifest_name})"))
    return out


#: A run scoring fewer than this share of the customers the model's base had at its reference dates is told its
#: tiers and ratings are cut among those few (the history's "fewer than half of the previous run's customers").
SMALL_BASE_SHARE = 0.5


def small_base(manifest: Mapping[str, Any]) -> str | None:
    """The warning of a run that scored far fewer customers than the model's base (a region's or a sample's
    export, a handful): tiers and ratings are relative to the scored base, so the great tier and the rating cut
    points come from these few, and the PSI compares a handful with the model's base (was: 11 customers of a
    300-customer company scored without a word, 4 of their 11 ratings other than in the whole base's run, 40
    features "drifted"). The base "at least" N when the model knows only a floor of it (trained on a customer
    sample). None when the model recorded no reference base or nobody was scored (said above)."""
    scored, drift = int(manifest["customers_scored"]), manifest.get("drift") or {}
    base = drift.get("reference_customers")
    if not base or not scored or scored >= SMALL_BASE_SHARE * base:
        return None
    about = "at least" if drift.get("reference_customers_at_least") else "about"
    return (
        f"this run scored {scored:,} customer{'' if scored == 1 else 's'}, the model's base {about} {base:,} at its "
        f"reference dates ({', '.join(drift.get('reference_dates') or [])}): tiers and ratings are relative to the "
        f"scored base, so the great tier and the rating cut points come from these {scored:,} alone, and the drift "
        "check compares them with the whole base. Score the whole customer base (a subset is tiered against itself)"
    )


def churn_spread(scores: Any, horizon_days: int, min_spread: float) -> dict[str, float] | None:
    """The manifest's `churn_spread`: the 10th and 90th percentiles of the scored customers' churn probabilities
    (`pred_churn_prob_{h}d`) and the configured `scoring.min_churn_logit_spread` (`threshold`, on the log-odds
    scale) they are judged by (`flat_churn`); None when nobody was scored."""
    import numpy as np

    probs = scores.loc[scores["status"] == SCORED, f"pred_churn_prob_{horizon_days}d"].to_numpy(dtype=float)
    probs = probs[np.isfinite(probs)]
    if not len(probs):
        return None
    p10, p90 = np.quantile(probs, [0.1, 0.9])
    return {"p10": round(float(p10), 6), "p90": round(float(p90), 6), "threshold": min_spread}


def unseen_categories(manifest: Mapping[str, Any]) -> str | None:
    """The warning of a run whose scored customers hold profile categories the model never saw in training (the
    manifest's `unseen_categories`: a new region, a segment recoded on few rows): scored as missing. Said by the
    run and on the team page's model card (`pipelines.run_notes`; round 25, was: the console and the manifest
    only). None without any."""
    unseen = manifest.get("unseen_categories") or {}
    if not unseen:
        return None
    listed = "; ".join(
        f"{col}: " + ", ".join(f"{v!r} ({n:,} customers)" for v, n in counts.items())
        for col, counts in unseen.items()
    )
    return f"categories unseen in training, scored as missing: {listed}"


def flat_churn(manifest: Mapping[str, Any]) -> str | None:
    """The warning of a run whose churn model gives nearly every scored customer the same risk (logit(P90) - logit(P10) under
    `scoring.min_churn_logit_spread`): it tells nobody apart (a model fitted on too few customers, early stopping kept a
    round or two), so every "churn risk" on the pages is one number and the churn reasons explain differences of
    under a point (was: the demo's model fitted on a 150-customer sample scored 232 customers 34.7%-35.0%, exit 0,
    no word, three churn reasons each). Judged on the log-odds scale, logit(P90) - logit(P10), so a low-churn
    business whose model ranks (0.5% to 2.5%: 1.6) is not warned, nor one near 100% (was: P90 - P10 under 2
    points, warned every run). None when it is not, the run recorded no spread, or it scored too few customers
    to judge (`small_base`: a handful may well be alike, said apart)."""
    import math

    spread = manifest.get("churn_spread") or {}
    if not spread or small_base(manifest):
        return None
    p10, p90 = (min(max(spread[k], 1e-9), 1 - 1e-9) for k in ("p10", "p90"))
    logit_spread = math.log(p90 / (1 - p90)) - math.log(p10 / (1 - p10))
    if logit_spread >= spread["threshold"]:
        return None
    return (
        f"the churn model gives nearly every scored customer the same risk ({spread['p10']:.1%} to "
        f"{spread['p90']:.1%} from the 10th to the 90th percentile, {logit_spread:.3f} apart in log-odds, under "
        f"scoring.min_churn_logit_spread {spread['threshold']}): it tells nobody apart, so its churn risks and churn reasons rank no one; "
        "check its backtest (`cvp models`) and retrain on more customers or history"
    )
