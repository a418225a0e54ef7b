"""Transitions between two scoring runs: who moved tier or rating, how value and churn risk changed, and why.

A pure function of two runs' tables; no I/O, no clock. The caller (the score history, later) reads the runs.

Table contract of `tier_transitions`
    in:  `old`, `new`: the scores of two runs (index `customer_id`, unique): `status`, `tier`, `rating`, the value
         column (`pred_expected_net_value_{h}d`; for the deltas to add up it must be the value model's raw
         prediction, which it is for the default single model) and the churn column (`pred_churn_prob_{h}d`),
         optionally `model_version`. Only `scored` rows carry predictions.
         `old_value_contrib`, `new_value_contrib`: per-feature value contributions of each run (the
         contributions file scoring writes, index `customer_id`, feature columns plus `_base`, currency).
         Optional: `old_churn_contrib`, `new_churn_contrib` (probability points: the output of
         `models.explain.churn_probability_contributions`; scoring does not write them today, so churn deltas
         are left out when they are not given) and `old_features`, `new_features` (feature values, index
         `customer_id`; with them a delta says "rose from 3 to 14", without them it names the feature only).
    out: one row per customer in either run, index `customer_id` (sorted):
         `presence` ("both" | "new": only in the new run | "gone": only in the old run), `old_status`,
         `new_status`, `old_tier`, `new_tier`, `tier_move` ("up" | "down" | "same"; missing unless both tiers
         are known), `old_rating`, `new_rating`, `old_value`, `new_value`, `value_change`, `old_churn_prob`,
         `new_churn_prob`, `churn_change` (probability; NaN unless both are known), `model_changed` (bool),
         `value_change_data`, `value_change_model` (see below), then per kind (value; churn when its
         contributions are given) and k = 1..n: `{kind}_delta_{k}` (sentence), `{kind}_delta_group_{k}`,
         `{kind}_delta_feature_{k}` (the group's leading feature), `{kind}_delta_amount_{k}` (the group's summed
         delta: currency for value, probability for churn).

Deltas. With one model, a customer's value change is exactly the sum over features of (new contribution - old
contribution) plus the change of `_base` (0 for one model): `contribution_deltas`. Deltas are summed by feature
group (`models.explain.group_contributions`), groups ranked by |summed delta|, and each group said from its leading
feature (largest |delta| of the group's sign), as in the reasons: "support hours in the last 90 days rose from 3
to 14: -420 EUR, together with the other support figures".

When the model changed between the runs (`model_version` differs), a contribution delta mixes two causes. The
decomposition used: with the old model f0, the new model f1, the old data x0 and the new data x1,
    f1(x1) - f0(x0) = [f0(x1) - f0(x0)]  (data: the old model on both data)  +  [f1(x1) - f0(x1)]  (model).
The data part is explained exactly by the old model's contribution deltas. The caller provides f0(x1) by scoring
the new data with the old model too (`bridge_value_contrib`: the old model's contributions on the new data);
then `value_change_data` and `value_change_model` are filled and the value deltas explain the data part. Without
a bridge, both are NaN for customers whose model changed, and the deltas are the contribution differences across
the two models (still adding up to the change when both models have the same base, which they need not).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial

import numpy as np
import pandas as pd

from features.registry import GROUP_NOUNS, FeatureSpec, feature_spec, reason_words
from models.explain import BASE_COLUMN, group_leads, top_groups
from models.tiers import TIER_DTYPE

__all__ = ["contribution_deltas", "tier_transitions"]

SCORED = "scored"
_VALUE_FORMAT = re.compile(r"\{value(?::(?P<spec>[^}]*))?\}")


def contribution_deltas(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Per-feature `new - old` contributions for the customers of `new` (index), `_base` included.

    A customer or feature absent from `old` counts as 0 there (a feature a model does not use contributes 0),
    so every row sums to (new prediction - old prediction) for customers in both.
    """
    columns = list(dict.fromkeys([*new.columns, *old.columns]))
    a = old.reindex(index=new.index, columns=columns).fillna(0.0).to_numpy(dtype=np.float64)
    b = new.reindex(columns=columns).fillna(0.0).to_numpy(dtype=np.float64)
    return pd.DataFrame(b - a, index=new.index.copy(), columns=columns)


def _label_and_format(name: str, currency: str) -> tuple[str, str, bool]:
    """(what the feature is, the value's format spec, is money), in people's words and without the value.

    From the reason words when their phrase starts with the value ("{value} support hours in the last 90 days"
    -> "support hours in the last 90 days"), else from the head of the registry description, its period in
    people's words ("Days since the last order" -> "days since the last order").
    """
    words, period = reason_words(name)
    phrase = words.phrase
    m = _VALUE_FORMAT.search(phrase)
    spec = (m["spec"] or "") if m else ""
    money = "{currency}" in phrase and "per 1,000" not in phrase
    if m is not None and m.start() == 0:
        label = phrase[m.end() :].replace("{currency}", "", 1).strip()
        label = "share " + label if label.startswith("of ") else label
        label = label.format(period=period, currency=currency)
    else:
        try:
            described = feature_spec(name)
        except KeyError:
            return "their buying-pattern estimate", spec, money
        label = re.split(r":| \(| / ", described.description, maxsplit=1)[0]
        label = label.replace("before the cutoff", period)
        if described.window_days is not None:
            label = label.replace(f"in the last {described.window_days} days", period)
        label = label[:1].lower() + label[1:]
    return " ".join(label.split()).rstrip(","), spec, money


def _say_value(value: object, spec: str, money: bool, currency: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "no record"
    if isinstance(value, str):
        return value.replace("_", " ")
    text = format(value, spec) if spec else str(value)
    return f"{text} {currency}".strip() if money else text


def _signed(amount: float, kind: str, currency: str) -> str:
    if kind == "churn":
        points = abs(amount) * 100.0
        text = (
            "less than 1 point"
            if points < 0.5
            else f"{points:,.0f} point" + ("" if round(points) == 1 else "s")
        )
        return ("+" if amount > 0 else "-") + text
    x = abs(amount)
    if x < 0.5:
        return ("+" if amount > 0 else "-") + f"less than 1 {currency}".strip()
    unit = 1.0 if x < 100 else 10.0 ** (np.floor(np.log10(x)) - 1)
    rounded = np.floor(x / unit + 0.5) * unit
    if rounded >= 1e6:
        text = f"{rounded / 1e6:g}M"
    elif rounded >= 1e4:
        text = f"{rounded / 1e3:,.0f}k"
    else:
        text = f"{rounded:,.0f}"
    return ("+" if amount > 0 else "-") + f"{text} {currency}".rstrip()


class _FeatureValues:
    """A feature frame's values by row of the deltas: the ids are looked up once (not once per feature and
    group), and each feature column is converted once (float64, or objects for categories and text)."""

    def __init__(self, frame: pd.DataFrame | None, ids: pd.Index) -> None:
        self.frame = frame
        self.pos = None if frame is None else frame.index.get_indexer(ids)
        self.columns: dict[str, np.ndarray] = {}

    def get(self, name: str, rows: np.ndarray) -> np.ndarray | None:
        """The feature's values for the delta rows `rows` (positions); None when the feature is not given."""
        if self.frame is None or self.pos is None or name not in self.frame.columns:
            return None
        column = self.columns.get(name)
        if column is None:
            series = self.frame[name]
            if pd.api.types.is_numeric_dtype(series.dtype) and not isinstance(
                series.dtype, pd.CategoricalDtype
            ):
                column = series.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                column = series.astype(object).where(series.notna(), None).to_numpy(dtype=object)
            self.columns[name] = column
        at = self.pos[rows]
        values = column[np.maximum(at, 0)] if len(column) else np.full(len(at), np.nan, dtype=column.dtype)
        values[at < 0] = np.nan if values.dtype != object else None  # a customer the frame does not have
        return values


def _rounded(values: np.ndarray, spec: str) -> np.ndarray:
    """Numbers rounded as `spec` will print them (",.0f", ".1f", ".0%"), so equal texts share one format call."""
    m = re.search(r"\.(\d+)([f%])$", spec)
    if values.dtype == object or m is None:
        return values
    return np.round(values, int(m[1]) + (2 if m[2] == "%" else 0))


def _signed_rounded(amount: np.ndarray, kind: str) -> np.ndarray:
    """Amounts rounded as `_signed` says them (2 significant figures; whole points), to format each text once."""
    if kind == "churn":
        return np.sign(amount) * np.maximum(np.floor(np.abs(amount) * 100.0 + 0.5), 0.1) / 100.0
    x = np.abs(amount)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(x < 100, 1.0, 10.0 ** (np.floor(np.log10(np.where(x > 0, x, 1.0))) - 1))
    return np.sign(amount) * np.maximum(np.floor(x / unit + 0.5) * unit, 0.1)


def _each(values: np.ndarray, say: object) -> np.ndarray:
    """`say(value)` for every value, formatted once per distinct value (objects; missing values included)."""
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    missing = say(None) if (codes < 0).any() else ""  # type: ignore[operator]
    texts = np.array([*(say(u) for u in uniques), missing], dtype=object)  # type: ignore[operator]
    return texts[np.where(codes < 0, len(uniques), codes)]


def _moves(before: np.ndarray, after: np.ndarray, b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """ "rose from b to a" / "fell from ..." / "stayed at a" / "went from b to a" (missing or not numbers)."""
    went = "went from " + b + " to " + a
    if before.dtype != object and after.dtype != object:
        known = ~np.isnan(before) & ~np.isnan(after) & (before != after)
        word = np.where(after > before, "rose from ", "fell from ").astype(object)
        went = np.where(known, word + b + " to " + a, went)
    return np.where(b == a, "stayed at " + a, went)


def _delta_sentences(
    deltas: pd.DataFrame,
    registry: Mapping[str, FeatureSpec],
    n: int,
    kind: str,
    currency: str,
    old_features: pd.DataFrame | None,
    new_features: pd.DataFrame | None,
) -> pd.DataFrame:
    """Top-n group deltas per row as sentences (see the module docstring); `_base` is not a reason."""
    names = [c for c in deltas.columns if c != BASE_COLUMN]
    rows = len(deltas)
    values = deltas[names].to_numpy(dtype=np.float64) if names else np.zeros((rows, 0))
    order, members, sums, top = top_groups(values, names, registry, n)
    slots = top.shape[1]
    row_ids = np.arange(rows)
    old_values = _FeatureValues(old_features, deltas.index)
    new_values = _FeatureValues(new_features, deltas.index)
    out: dict[str, object] = {}
    for k in range(n):
        sentence = np.full(rows, None, dtype=object)
        group_name = np.full(rows, None, dtype=object)
        feature = np.full(rows, None, dtype=object)
        amount = np.full(rows, np.nan)
        if k < slots and rows:
            group = top[:, k]
            total = sums[row_ids, group]
            for g, in_group, lead, others in group_leads(values, members, group, total):
                tail = f", together with the other {GROUP_NOUNS[order[g]]}"
                for j in np.unique(lead):
                    chosen = lead == j
                    rows_j = in_group[chosen]
                    label, spec, money = _label_and_format(names[j], currency)
                    before = old_values.get(names[j], rows_j)
                    after = new_values.get(names[j], rows_j)
                    said = _each(
                        _signed_rounded(total[rows_j], kind), partial(_signed, kind=kind, currency=currency)
                    )
                    if before is None or after is None:
                        text = label + ": " + said
                    else:
                        say = partial(_say_value, spec=spec, money=money, currency=currency)
                        b, a = _each(_rounded(before, spec), say), _each(_rounded(after, spec), say)
                        text = label + " " + _moves(before, after, b, a) + ": " + said
                    sentence[rows_j] = text + np.where(others[chosen], tail, "").astype(object)
                    feature[rows_j] = names[j]
                group_name[in_group] = order[g]
                amount[in_group] = total[in_group]
        out[f"{kind}_delta_{k + 1}"] = pd.array(sentence, dtype="str")
        out[f"{kind}_delta_group_{k + 1}"] = pd.array(group_name, dtype="str")
        out[f"{kind}_delta_feature_{k + 1}"] = pd.array(feature, dtype="str")
        out[f"{kind}_delta_amount_{k + 1}"] = amount
    return pd.DataFrame(out, index=deltas.index.copy())


def _tier_move(old_tier: pd.Series, new_tier: pd.Series) -> pd.Series:
    a = pd.Categorical(old_tier.astype("object"), dtype=TIER_DTYPE).codes
    b = pd.Categorical(new_tier.astype("object"), dtype=TIER_DTYPE).codes
    move = np.where(b > a, "up", np.where(b < a, "down", "same")).astype(object)
    move[(a < 0) | (b < 0)] = None
    return pd.Series(pd.array(move, dtype="str"), index=old_tier.index)


def tier_transitions(
    old: pd.DataFrame,
    new: pd.DataFrame,
    old_value_contrib: pd.DataFrame,
    new_value_contrib: pd.DataFrame,
    registry: Mapping[str, FeatureSpec],
    *,
    value_column: str,
    churn_column: str,
    currency: str,
    n_deltas: int,
    old_churn_contrib: pd.DataFrame | None = None,
    new_churn_contrib: pd.DataFrame | None = None,
    old_features: pd.DataFrame | None = None,
    new_features: pd.DataFrame | None = None,
    bridge_value_contrib: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per customer, what changed between two runs and why (table contract in the module docstring).

    The optional frames are inputs that may not exist (see the module docstring), not settings: `n_deltas`,
    the columns and the currency come from the caller's configuration.
    """
    if n_deltas < 1:
        raise ValueError("n_deltas must be at least 1")
    for label, frame in (("old", old), ("new", new)):
        if not frame.index.is_unique:
            raise ValueError(f"{label} scores must have one row per customer_id")
        missing = [c for c in ("status", "tier", "rating", value_column, churn_column) if c not in frame]
        if missing:
            raise ValueError(f"{label} scores lack columns {missing}")
    ids = old.index.union(new.index).sort_values()
    a, b = old.reindex(ids), new.reindex(ids)
    in_old, in_new = old.index.get_indexer(ids) >= 0, new.index.get_indexer(ids) >= 0
    presence = np.where(in_old & in_new, "both", np.where(in_new, "new", "gone"))
    out = pd.DataFrame(
        {
            "presence": pd.array(presence, dtype="str"),
            "old_status": a["status"].astype("str"),
            "new_status": b["status"].astype("str"),
            "old_tier": a["tier"].astype("str"),
            "new_tier": b["tier"].astype("str"),
        },
        index=ids,
    )
    out["tier_move"] = _tier_move(a["tier"], b["tier"])
    out["old_rating"] = a["rating"].astype("str")
    out["new_rating"] = b["rating"].astype("str")
    out["old_value"] = a[value_column].astype("float64")
    out["new_value"] = b[value_column].astype("float64")
    out["value_change"] = out["new_value"] - out["old_value"]
    out["old_churn_prob"] = a[churn_column].astype("float64")
    out["new_churn_prob"] = b[churn_column].astype("float64")
    out["churn_change"] = out["new_churn_prob"] - out["old_churn_prob"]
    if "model_version" in old and "model_version" in new:
        changed = a["model_version"].astype("str") != b["model_version"].astype("str")
        out["model_changed"] = (changed.fillna(False) & in_old & in_new).astype(bool)
    else:
        out["model_changed"] = False

    both_scored = (out["old_status"] == SCORED) & (out["new_status"] == SCORED)
    pair = ids[both_scored.to_numpy() & in_old & in_new]
    new_contrib = new_value_contrib.reindex(pair)
    old_contrib = old_value_contrib.reindex(pair)
    out["value_change_data"] = np.nan
    out["value_change_model"] = np.nan
    same = pair[~out.loc[pair, "model_changed"].to_numpy()]
    out.loc[same, "value_change_data"] = out.loc[same, "value_change"]
    out.loc[same, "value_change_model"] = 0.0
    if bridge_value_contrib is not None:
        moved = pair[out.loc[pair, "model_changed"].to_numpy()]
        bridge = bridge_value_contrib.reindex(moved)
        data_part = bridge.sum(axis=1) - old_contrib.loc[moved].sum(axis=1)
        out.loc[moved, "value_change_data"] = data_part
        out.loc[moved, "value_change_model"] = out.loc[moved, "value_change"] - data_part
        # the deltas of a customer whose model changed explain the data part (old model on both data)
        new_contrib = pd.concat([new_contrib.drop(index=moved), bridge]).reindex(pair)
    value = _delta_sentences(
        contribution_deltas(old_contrib, new_contrib),
        registry,
        n_deltas,
        "value",
        currency,
        old_features,
        new_features,
    )
    parts = [out, value.reindex(ids)]
    if old_churn_contrib is not None and new_churn_contrib is not None:
        churn = _delta_sentences(
            contribution_deltas(old_churn_contrib.reindex(pair), new_churn_contrib.reindex(pair)),
            registry,
            n_deltas,
            "churn",
            currency,
            old_features,
            new_features,
        )
        parts.append(churn.reindex(ids))
    result = pd.concat(parts, axis=1)
    result.index.name = "customer_id"
    return result
