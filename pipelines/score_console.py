"""What `cvp score` says when it ends: the whole base by status, the scored customers by tier.

`score_summary` reads the counts the run already wrote to its manifest (`statuses`, `tiers`): "510 customers:
377 scored (great 71, good 152, problem 154), 87 lapsed, 36 cancelled, 10 new". Tiers best first
(`models.tiers.TIER_NAMES` reversed), the other statuses most first (ties by name); a run where nobody could be
scored says "none scored", never "scored 510".
"""

from __future__ import annotations

from collections.abc import Mapping

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
