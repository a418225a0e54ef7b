"""Tiers (great / good / problem), A-D ratings, risk flags and Pareto curves, all driven by `TierConfig`.

This module and its rule and config classes (`models.tier_config`) are the only code that knows the tier names.
Every threshold is data in `TierConfig`; the functions here only apply it.

Table contract of `assign_tiers`
    in:  one row per customer (index `customer_id`, unique) holding predictions and features for one scoring
         cutoff: the value column (`pred_expected_net_value_{h}d` by default: expected net profit over the
         horizon, cost to serve counted, currency, may be negative), the churn column
         (`pred_churn_prob_{h}d`, calibrated probability) and whichever feature columns the rules name
         (`profit_cost_to_serve_365d`, `price_return_rate_value_365d`, ...). `{h}` in a configured column name
         is the horizon in days. No time semantics beyond the frame's own: every row is judged as given.
    out: same index and row order; `tier` (ordered categorical problem < good < great), `tier_reason` (str:
         which rule decided), `rating` (ordered categorical, D < C < B < A or 1 < ... < 10; missing when the
         value is missing), `flags` (str, `;`-joined flag names in configured order, "" when none).
         `out.attrs["skipped_rules"]` lists the rules whose columns are absent from the frame (see
         `rule_coverage` for counts).

How the tier is decided (one total function with a catch-all):
    1. Every customer starts as "good" (the catch-all).
    2. Problem rules apply in configured order; the first that fires decides the reason. A rule compares one
       column with a threshold, optionally scaled by a second column (`cost_to_serve > 0.5 x margin`).
    3. "great" = not problem, known positive value, among the top `great.top_share` of the base by value
       (Pareto, ranked over every customer with a known value, so "great" is always a subset of the top 20%
       of the base; problem customers inside the top are not replaced by the next in line), known churn
       probability below `great.max_churn_prob`, and every applied problem rule could be checked.
    4. Everyone else stays "good"; the reason says why they are not great.

Missing values never silently mean "fine":
    - a column absent from the frame skips its rule for everyone (listed in `attrs["skipped_rules"]`);
    - a NaN input for one customer means that rule is *unchecked* for them: it cannot make them a problem
      (there is no evidence), but it keeps them out of "great" (nothing cleared them) and their
      `tier_reason` names the unchecked rules;
    - a NaN value or churn probability keeps a customer out of "great" and leaves the rating missing;
    - flags fire only on known values (a flag is an alert; missing input raises none).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import get_args

import numpy as np
import pandas as pd

from models.tier_config import RatingConfig, TierConfig, TierName, as_float

__all__ = [
    "FLAG_SEPARATOR",
    "GOOD_REASONS",
    "KEPT_REASON",
    "TIER_DTYPE",
    "TIER_NAMES",
    "TierCutPoints",
    "assign_tiers",
    "assign_tiers_with_cut_points",
    "pareto_curves",
    "reason_key",
    "rule_coverage",
    "tier_cut_points",
]

# Ascending, so sorting by tier puts the best customers last and `max()` is "great".
TIER_NAMES: tuple[str, ...] = get_args(TierName)
TIER_DTYPE = pd.CategoricalDtype(list(TIER_NAMES), ordered=True)
FLAG_SEPARATOR = ";"


#: Why a customer is good and not great, by key, in the order `assign_tiers` tests the conditions: `tier_reason`
#: reads "good: <text>" (`{share}`: the great rule's top share in words, `{churn}`: its churn bound), and
#: "good: catch-all" when none holds. `reason_key` reads a reason back to its key (the reports' plain words).
GOOD_REASONS: dict[str, str] = {
    "value_unknown": "expected net value unknown",
    "outside_top": "outside the {share} by expected net value",
    "value_not_positive": "expected net value not positive",
    "churn_unknown": "churn risk unknown",
    "churn_high": "churn risk >= {churn}",
    "rules_unchecked": "not all problem rules could be checked",
}
#: Appended to a good customer's reason, with the rule names, when some problem rules lacked their inputs.
UNCHECKED_NOTE = "; unchecked (missing data): "
#: The reason of a customer whose reported tier the stability rule kept (`pipelines.history` writes it).
KEPT_REASON = re.compile(
    r"^kept (?P<tier>\S+) by the stability rule \((?P<rule>[^)]*)\); this run alone says (?P<raw>\S+)$"
)


def reason_key(reason: str) -> tuple[str, bool]:
    """(key, some problem rules unchecked) of a `tier_reason` written here: the problem rule's name, "great",
    a key of `GOOD_REASONS`, "catch_all", or "kept" (`KEPT_REASON`); "" for any other text."""
    text, unchecked = reason.split(UNCHECKED_NOTE, 1)[0], UNCHECKED_NOTE in reason
    if text.startswith("problem: "):
        return text.removeprefix("problem: ").split(" (", 1)[0], unchecked
    if text.startswith("great: "):
        return "great", unchecked
    if text.startswith("good: "):
        body = text.removeprefix("good: ")
        for key, template in GOOD_REASONS.items():
            head, placeholder, _ = template.partition("{")
            if body == template or (placeholder and body.startswith(head)):
                return key, unchecked
        return "catch_all", unchecked
    return ("kept" if KEPT_REASON.match(text) else ""), unchecked


@dataclass(frozen=True)
class TierCutPoints:
    """What tiers and ratings need from the whole scored base: two cut points, small enough to hand to every chunk.

    Attributes:
        pareto_value, pareto_id: the last customer inside the Pareto top of the base (ranked by value descending,
            ties by customer id ascending): a customer is in the top when its value is known and
            (value, id) ranks at or before (pareto_value, pareto_id). Both None when nobody is in the top (no
            known value; basis "value" with no positive value).
        rating_cuts: the rating cut points in currency (the quantiles of the base's known values, or the
            configured absolute cut points); None when no value is known and the method is "quantile".
        n_known: customers of the base with a known value.
    """

    pareto_value: float | None
    pareto_id: str | None
    rating_cuts: tuple[float, ...] | None
    n_known: int

    def in_top(self, value: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Boolean mask of the rows (values, customer ids as text) inside the Pareto top of the base."""
        if self.pareto_value is None:
            return np.zeros(len(value), dtype=bool)
        with np.errstate(invalid="ignore"):
            above = value > self.pareto_value
            tied = value == self.pareto_value
        if tied.any():
            # Object comparison, as the ranking's sort compares the ids: Python string order.
            above[tied] = np.asarray(ids, dtype=object)[tied] <= self.pareto_id
        return above


def tier_cut_points(value: np.ndarray, ids: np.ndarray | pd.Index, config: TierConfig) -> TierCutPoints:
    """The cut points of a whole scored base from its values (float, NaN unknown) and customer ids (text).

    Needs only these two columns, so a base spilled chunk by chunk can be read back compactly; the result does
    not depend on the row order.
    """
    value = np.asarray(value, dtype=np.float64)
    known = ~np.isnan(value)
    n_known = int(known.sum())
    pareto_value: float | None = None
    pareto_id: str | None = None
    great = config.great
    if n_known:
        # Ties are broken by customer id so the result does not depend on the frame's row order.
        text_ids = np.asarray(pd.Index(ids).astype(str))
        order = np.lexsort((text_ids, -np.where(known, value, -np.inf)))[:n_known]
        k = 0
        if great.basis == "count":
            # round() first so that 0.2 * 10 is 2, not 3 after floating-point noise.
            k = math.ceil(round(great.top_share * n_known, 9))
        else:
            positive = np.clip(value[order], 0.0, None)
            total = positive.sum()
            if total > 0:
                cum = np.cumsum(positive) / total
                k = int(np.searchsorted(cum, great.top_share - 1e-12, side="left")) + 1
        if k > 0:
            last = order[min(k, n_known) - 1]
            pareto_value, pareto_id = float(value[last]), str(text_ids[last])
    rating = config.rating
    rating_cuts: tuple[float, ...] | None = tuple(float(c) for c in rating.cut_points)
    if rating.method == "quantile":
        rating_cuts = (
            tuple(float(c) for c in np.quantile(value[known], rating.cut_points)) if n_known else None
        )
    return TierCutPoints(pareto_value, pareto_id, rating_cuts, n_known)


def _rating(value: np.ndarray, rating: RatingConfig, cuts: tuple[float, ...] | None) -> pd.Categorical:
    grades = rating.grades()
    known = ~np.isnan(value)
    if cuts is None:
        return pd.Categorical([None] * len(value), categories=grades, ordered=True)
    # side="right": a value equal to a cut point gets the higher grade.
    codes = np.searchsorted(np.asarray(cuts, dtype=np.float64), np.where(known, value, 0.0), side="right")
    codes = np.where(known, codes, -1)
    return pd.Categorical.from_codes(codes, categories=grades, ordered=True)


def _join_names(masks: list[tuple[str, np.ndarray]], n: int, sep: str) -> np.ndarray:
    """Per row, the names whose mask is true, joined by `sep` in list order ("" when none).

    Encodes the masks as a bit pattern so only the distinct patterns are formatted (fast on 1M rows).
    """
    out = np.full(n, "", dtype=object)
    if not masks or n == 0:
        return out
    bits = np.zeros(n, dtype=np.int64)
    for k, (_, mask) in enumerate(masks):
        bits |= mask.astype(np.int64) << k
    patterns, inverse = np.unique(bits, return_inverse=True)
    text = np.array(
        [sep.join(name for k, (name, _) in enumerate(masks) if p >> k & 1) for p in patterns], dtype=object
    )
    return text[inverse]


def _value_of(frame: pd.DataFrame, config: TierConfig, horizon_days: int) -> np.ndarray:
    value_col = config.value_column.format(h=horizon_days)
    return as_float(frame[value_col]) if value_col in frame.columns else np.full(len(frame), np.nan)


def assign_tiers(frame: pd.DataFrame, config: TierConfig, horizon_days: int) -> pd.DataFrame:
    """Tier, reason, rating and flags for every customer (see the module docstring for the contract).

    Total: every row of `frame` (including an empty frame, NaN everywhere) gets exactly one tier. The frame is
    the whole base: the cut points come from it (`tier_cut_points`), then every row is assigned
    (`assign_tiers_with_cut_points`, which a chunked run calls per chunk with the whole base's cut points).
    """
    if not frame.index.is_unique:
        raise ValueError("assign_tiers needs one row per customer (index customer_id must be unique)")
    cuts = tier_cut_points(_value_of(frame, config, horizon_days), frame.index, config)
    return assign_tiers_with_cut_points(frame, config, horizon_days, cuts)


def assign_tiers_with_cut_points(
    frame: pd.DataFrame, config: TierConfig, horizon_days: int, cut_points: TierCutPoints
) -> pd.DataFrame:
    """`assign_tiers` for part of a base (a chunk), given the whole base's `cut_points` (`tier_cut_points`).

    Same contract as `assign_tiers`; every row is judged on its own apart from the cut points, so assigning a
    base chunk by chunk gives the rows exactly what `assign_tiers` on the whole base gives them.
    """
    h = horizon_days
    n = len(frame)

    value = _value_of(frame, config, h)

    # 1-2. catch-all "good", then problem rules in order (first firing rule gives the reason).
    tier_code = np.full(n, TIER_NAMES.index("good"), dtype=np.int8)
    reason = np.full(n, "", dtype=object)
    decided = np.zeros(n, dtype=bool)
    unchecked: list[tuple[str, np.ndarray]] = []
    for rule in config.problem_rules:
        result = rule.evaluate(frame, h)
        if result is None:  # skipped: listed by `rule_inputs`
            continue
        fired, missing = result
        new = fired & ~decided
        reason[new] = f"problem: {rule.name} ({rule.describe(h)})"
        decided |= fired
        unchecked.append((rule.name, missing))
    tier_code[decided] = TIER_NAMES.index("problem")
    any_unchecked = np.zeros(n, dtype=bool)
    for _, missing in unchecked:
        any_unchecked |= missing

    # 3. great: Pareto top of the base, known positive value, known low churn risk, everything checked.
    great = config.great
    churn_col = great.churn_column.format(h=h)
    churn = as_float(frame[churn_col]) if churn_col in frame.columns else np.full(n, np.nan)
    top = cut_points.in_top(value, np.asarray(frame.index.astype(str)))
    value_known = ~np.isnan(value)
    churn_known = ~np.isnan(churn)
    with np.errstate(invalid="ignore"):
        low_risk = churn_known & (churn < great.max_churn_prob)
        positive = value_known & (value > 0)
    is_great = ~decided & top & positive & low_risk & ~any_unchecked
    tier_code[is_great] = TIER_NAMES.index("great")
    share_text = (
        f"top {great.top_share:.0%} of customers"
        if great.basis == "count"
        else (f"customers holding the top {great.top_share:.0%} of positive value")
    )
    reason[is_great] = f"great: {share_text} by expected net value, churn risk < {great.max_churn_prob:g}"

    # 4. good: say why not great (the first failing condition), and which rules could not be checked.
    good = ~decided & ~is_great
    fill = {"share": share_text, "churn": f"{great.max_churn_prob:g}"}
    why = np.select(
        [~value_known, ~top, ~positive, ~churn_known, ~low_risk, any_unchecked],
        ["good: " + text.format(**fill) for text in GOOD_REASONS.values()],
        default="good: catch-all",
    )
    reason[good] = why[good]
    unchecked_text = _join_names(unchecked, n, ", ")
    note = good & (unchecked_text != "")
    reason[note] = reason[note] + UNCHECKED_NOTE + unchecked_text[note]

    tier = pd.Categorical.from_codes(tier_code, dtype=TIER_DTYPE)
    tier_names = np.asarray(TIER_NAMES, dtype=object)[tier_code]

    flag_masks: list[tuple[str, np.ndarray]] = []
    for rule in config.flag_rules:
        result = rule.evaluate(frame, h)
        if result is None:  # skipped: listed by `rule_inputs`
            continue
        fired = result[0]
        if rule.only_tiers is not None:
            fired = fired & np.isin(tier_names, list(rule.only_tiers))
        flag_masks.append((rule.name, fired))

    out = pd.DataFrame(
        {
            "tier": tier,
            "tier_reason": pd.array(reason, dtype="str"),
            "rating": _rating(value, config.rating, cut_points.rating_cuts),
            "flags": pd.array(_join_names(flag_masks, n, FLAG_SEPARATOR), dtype="str"),
        },
        index=frame.index.copy(),
    )
    out.attrs["skipped_rules"] = tuple(
        rule for rule, cols in rule_inputs(config, h).items() if any(c not in frame.columns for c in cols)
    )
    return out


def rule_inputs(config: TierConfig, horizon_days: int) -> dict[str, tuple[str, ...]]:
    """Each rule as `assign_tiers` names it when skipped (`problem:dispute_share (no column ...)`), with the
    input columns it reads: a rule is skipped, for everyone, when one of them is absent from the frame."""
    h = horizon_days
    value_col = config.value_column.format(h=h)
    churn_col = config.great.churn_column.format(h=h)
    out = {f"great (no column {value_col})": (value_col,), f"rating (no column {value_col})": (value_col,)}
    for kind, rules in (("problem", config.problem_rules), ("flag", config.flag_rules)):
        for rule in rules:
            out[f"{kind}:{rule.name} (no column {', '.join(rule.columns(h))})"] = rule.columns(h)
        if kind == "problem":
            out[f"great (no column {churn_col})"] = (churn_col,)
    return out


def rule_coverage(frame: pd.DataFrame, config: TierConfig, horizon_days: int) -> pd.DataFrame:
    """One row per problem/flag rule: was it applied, how many customers it fired for, how many were unchecked.

    Columns: `rule` (str, "problem:<name>" / "flag:<name>"), `condition` (str), `applied` (bool; False when a
    column is absent), `n_fired`, `n_unchecked` (int; NaN inputs). `only_tiers` restrictions of flags are not
    applied here (it counts the raw condition).
    """
    rows = []
    for kind, rules in (("problem", config.problem_rules), ("flag", config.flag_rules)):
        for rule in rules:
            result = rule.evaluate(frame, horizon_days)
            rows.append(
                {
                    "rule": f"{kind}:{rule.name}",
                    "condition": rule.describe(horizon_days),
                    "applied": result is not None,
                    "n_fired": 0 if result is None else int(result[0].sum()),
                    "n_unchecked": 0 if result is None else int(result[1].sum()),
                }
            )
    return pd.DataFrame(rows, columns=["rule", "condition", "applied", "n_fired", "n_unchecked"])


def pareto_curves(
    frame: pd.DataFrame, value_col: str, effort_col: str, n_points: int | None = None
) -> pd.DataFrame:
    """Cumulative share of profit and of service effort against the share of customers ranked by value.

    in:  one row per customer with `value_col` (expected profit, currency, may be negative or NaN) and
         `effort_col` (service effort, e.g. hours or cost to serve; >= 0 expected, NaN allowed).
    out: rows k = 0..n (n customers ranked by value descending, ties by index ascending, NaN values last):
         `customer_share` = k / n, `value_share` = cumulative share of the *positive* value of the top k,
         `effort_share` = cumulative share of effort of the top k, `cum_value` = signed cumulative value of the
         top k (currency). With `n_points`, the shares are interpolated on `n_points` evenly spaced customer
         shares from 0 to 1 (for plotting 1M customers), and `cum_value` likewise.

    Negatives: customers with a negative value are losses, not a "share of profit"; the profit curve uses
    max(value, 0), so it rises to 1 at the last profitable customer and stays flat (monotone, ends at (1, 1)).
    The signed `cum_value` shows how much the loss-making tail gives back. Negative or NaN effort counts as 0.
    NaN values rank last and add 0 to `value_share`. When a total is 0 (no positive value, no effort) the
    corresponding share is the diagonal (no concentration can be measured). An empty frame gives one row
    (0, 0, 0, 0).
    """
    n = len(frame)
    value = as_float(frame[value_col])
    effort = np.clip(np.nan_to_num(as_float(frame[effort_col]), nan=0.0), 0.0, None)
    ids = np.asarray(frame.index.astype(str))
    order = np.lexsort((ids, -np.where(np.isnan(value), -np.inf, value)))
    v = np.nan_to_num(value[order], nan=0.0)
    x = np.arange(n + 1, dtype=np.float64) / max(n, 1)

    def share(weights: np.ndarray) -> np.ndarray:
        total = weights.sum()
        if total <= 0:
            return x.copy()
        cum = np.concatenate([[0.0], np.cumsum(weights)]) / total
        cum[-1] = 1.0  # exact endpoint despite round-off
        return np.minimum(cum, 1.0)

    out = pd.DataFrame(
        {
            "customer_share": x,
            "value_share": share(np.clip(v, 0.0, None)),
            "effort_share": share(effort[order]),
            "cum_value": np.concatenate([[0.0], np.cumsum(v)]),
        }
    )
    if n_points is not None and n > 0:
        if n_points < 2:
            raise ValueError("n_points must be at least 2")
        grid = np.linspace(0.0, 1.0, n_points)
        out = pd.DataFrame(
            {"customer_share": grid} | {c: np.interp(grid, x, out[c]) for c in out.columns[1:]}
        )
    return out
