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

from models.tier_config import StabilityConfig
from models.tiers import TIER_DTYPE

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
    # integer codes once (customers and runs in sorted order), then everything is integer work
    customer, customers = pd.factorize(history["customer_id"], sort=True)
    run, _ = pd.factorize(history["as_of"], sort=True)
    key = run.astype(np.int64) * max(len(customers), 1) + customer
    order = np.argsort(key, kind="stable")
    key = key[order]
    if len(key) and (key[1:] == key[:-1]).any():
        raise ValueError("history must hold one row per customer_id and as_of")
    out = history.take(order).reset_index(drop=True)
    tier, names = pd.factorize(out["tier"])
    known = [TIER_DTYPE.categories.get_loc(t) if t in TIER_DTYPE.categories else -1 for t in names]
    raw = np.array([*known, -1], dtype=np.int64)[np.where(tier < 0, len(names), tier)]
    raw_cat = pd.Categorical.from_codes(raw, dtype=TIER_DTYPE)
    value = pd.to_numeric(out[value_column], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    reported = raw.copy()
    if config.rule != "none":
        # one pass per run, vectorised over its customers; a customer's state lives at their integer code
        codes = customer[order]
        rep = np.full(len(customers), -1, dtype=np.int64)  # -1: no reported tier yet (or a gap)
        streak = np.full(len(customers), -1, dtype=np.int64)
        length = np.zeros(len(customers), dtype=np.int64)
        runs = run[order]
        starts = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]]) if len(out) else np.zeros(0, dtype=int)
        for lo, hi in zip(starts, [*starts[1:], len(out)], strict=True):
            c, r, v = codes[lo:hi], raw[lo:hi], value[lo:hi]
            boundary = _boundary(r, v)
            margin = config.margin_share * abs(boundary) if np.isfinite(boundary) else 0.0
            scored = r >= 0
            rep[c[~scored]] = -1  # not scored in this run: nothing reported, history starts again
            c, r, v = c[scored], r[scored], v[scored]
            before = rep[c]
            fresh = (before < 0) | (r == _PROBLEM)
            run_length = np.where(fresh, 1, np.where(r == streak[c], length[c] + 1, 1))
            if config.rule == "consecutive":
                moved = np.where(run_length >= config.runs, r, before)
            else:
                moved = _margin_moves(before, r, v, boundary, margin)
            now = np.where(fresh, r, moved)
            rep[c], streak[c], length[c] = now, r, run_length
            reported[lo:hi][scored] = now
    out["raw_tier"] = raw_cat
    out["reported_tier"] = pd.Categorical.from_codes(reported, dtype=TIER_DTYPE)
    return out


def _margin_moves(
    rep: np.ndarray, raw: np.ndarray, value: np.ndarray, boundary: float, margin: float
) -> np.ndarray:
    """The margin rule for customers with a reported tier whose raw tier is not problem (vectorised)."""
    out = rep.copy()
    from_problem = rep == _PROBLEM
    stays_problem = from_problem & ~(value > margin)  # a missing value is no evidence: stays a problem
    out[from_problem & ~stays_problem] = _GOOD
    if np.isfinite(boundary):
        known = np.isfinite(value)
        up = known & (out == _GOOD) & (raw == _GREAT) & (value >= boundary + margin)
        down = known & (out == _GREAT) & (raw != _GREAT) & (value < boundary - margin)
        out[up], out[down] = _GREAT, _GOOD
    return out
