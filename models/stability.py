"""Stable tiers over runs (hysteresis): the reported tier moves only on clear evidence; the raw tier stays beside it.

A pure function of a run history; no I/O, no clock. Rules (`tiers.stability.rule` in the config):

- `none`: the reported tier is the raw tier of each run.
- `margin`: between good and great the reported tier moves only when the value has passed the run's great
  boundary (the lowest value among that run's raw-great customers) by `margin_share` of the boundary: up when the
  raw tier is great and value >= boundary + margin, down when the raw tier is below great and value < boundary -
  margin. A customer the raw rules make good for another reason than value (churn risk at or above the great
  limit) therefore stays great while their value holds; the `at_risk` flag is what speaks for them. Leaving
  "problem" needs the value above 0 by the same margin (0 is the value rule's boundary).
- `consecutive`: the reported tier moves to the raw tier once the raw tier has been the same for `runs`
  consecutive runs of the customer (the current one included).

Under every rule a customer whose raw tier is "problem" is reported as a problem at once: a customer who starts
losing money or abusing returns should not wait a month to be seen (the tier rules already demand evidence).
A customer's first run reports the raw tier. A run where the customer has no tier (not scored) reports none and
starts their history again at the next scored run (their earlier tier is not carried across a gap).

Table contract of `stable_tiers`
    in:  one row per customer and run: `customer_id`, `as_of` (the run; any sortable type), `tier` (the raw tier
         of `assign_tiers`, a tier name or missing), and the value column (currency) that ranks the tiers.
         (`customer_id`, `as_of`) is unique.
    out: the same rows in (`as_of`, `customer_id`) order with `raw_tier` (= `tier`) and `reported_tier` (both
         the ordered tier categorical).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.tiers import TIER_DTYPE, StabilityConfig

__all__ = ["stable_tiers"]

_PROBLEM, _GOOD, _GREAT = (TIER_DTYPE.categories.get_loc(t) for t in ("problem", "good", "great"))


def _boundary(raw: np.ndarray, value: np.ndarray) -> float:
    great = (raw == _GREAT) & np.isfinite(value)
    return float(value[great].min()) if great.any() else np.nan


def stable_tiers(history: pd.DataFrame, config: StabilityConfig, value_column: str) -> pd.DataFrame:
    """The reported tier of every customer and run under `config` (contract in the module docstring)."""
    missing = [c for c in ("customer_id", "as_of", "tier", value_column) if c not in history]
    if missing:
        raise ValueError(f"history lacks columns {missing}")
    if history.duplicated(["customer_id", "as_of"]).any():
        raise ValueError("history must hold one row per customer_id and as_of")
    out = history.sort_values(["as_of", "customer_id"], kind="stable").reset_index(drop=True)
    raw_cat = pd.Categorical(out["tier"].astype("object"), dtype=TIER_DTYPE)
    raw = raw_cat.codes.astype(np.int64)
    value = pd.to_numeric(out[value_column], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    reported = raw.copy()
    if config.rule != "none":
        ids = out["customer_id"].to_numpy()
        state: dict[object, tuple[int, int, int]] = {}  # customer -> (reported, streak tier, streak length)
        runs = out["as_of"].to_numpy()
        starts = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]])
        for lo, hi in zip(starts, [*starts[1:], len(out)], strict=True):
            boundary = _boundary(raw[lo:hi], value[lo:hi])
            margin = config.margin_share * abs(boundary) if np.isfinite(boundary) else 0.0
            for i in range(lo, hi):
                r = raw[i]
                if r < 0:  # not scored in this run: nothing reported, history starts again
                    state.pop(ids[i], None)
                    continue
                prev = state.get(ids[i])
                if prev is None or r == _PROBLEM:
                    rep, streak, length = r, r, 1
                else:
                    rep, streak, length = prev
                    length = length + 1 if r == streak else 1
                    streak = r
                    if config.rule == "consecutive":
                        rep = r if length >= config.runs else rep
                    else:
                        rep = _margin_move(rep, r, value[i], boundary, margin)
                state[ids[i]] = (rep, streak, length)
                reported[i] = rep
    out["raw_tier"] = raw_cat
    out["reported_tier"] = pd.Categorical.from_codes(reported, dtype=TIER_DTYPE)
    return out


def _margin_move(rep: int, raw: int, value: float, boundary: float, margin: float) -> int:
    """The margin rule for one customer whose raw tier is not problem."""
    if rep == _PROBLEM:
        if not value > margin:
            return _PROBLEM
        rep = _GOOD
    if not np.isfinite(boundary) or not np.isfinite(value):
        return rep
    if rep == _GOOD and raw == _GREAT and value >= boundary + margin:
        return _GREAT
    if rep == _GREAT and raw != _GREAT and value < boundary - margin:
        return _GOOD
    return rep
