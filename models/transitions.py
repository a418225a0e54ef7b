"""Transitions between two scoring runs: who moved tier or rating, how value and churn risk changed, and why.

A pure function of two runs' tables; no I/O, no clock. The caller (`pipelines.history`) reads the runs.

Table contract of `tier_transitions`
    in:  `old`, `new`: the scores of two runs (index `customer_id`, unique): `status`, `tier`, `rating`, the value
         column (`pred_expected_net_value_{h}d`; for the deltas to add up it must be the value model's raw
         prediction, which it is for the default single model) and the churn column (`pred_churn_prob_{h}d`),
         optionally `model_version`. Only `scored` rows carry predictions.
         `old_value_contrib`, `new_value_contrib`: per-feature value contributions of each run (the
         contributions file scoring writes, index `customer_id`, feature columns plus `_base`, currency).
         Optional: `old_churn_contrib`, `new_churn_contrib` (probability points, the churn contributions file
         scoring writes: `models.explain.churn_probability_contributions`, each row adds up to the churn
         probability; churn deltas are left out when either is not given) and `old_features`, `new_features`
         (feature values, index `customer_id`; with them a delta says "rose from 3 to 14", without them it
         names the feature only).
    out: one row per customer in either run, index `customer_id` (sorted):
         `presence` ("both" | "new": only in the new run | "gone": only in the old run), `old_status`,
         `new_status`, `old_tier`, `new_tier`, `tier_move` ("up" | "down" | "same"; missing unless both tiers
         are known), `old_rating`, `new_rating`, `old_value`, `new_value`, `value_change`, `old_churn_prob`,
         `new_churn_prob`, `churn_change` (probability; NaN unless both are known), `model_changed` (bool),
         `value_change_data`, `value_change_model`, `churn_change_data`, `churn_change_model` (see below), then
         per kind (value; churn when its contributions are given) and k = 1..n: `{kind}_delta_{k}` (sentence),
         `{kind}_delta_group_{k}`, `{kind}_delta_feature_{k}` (the group's leading feature),
         `{kind}_delta_amount_{k}` (the group's summed delta: currency for value, probability for churn).

Deltas. With one model, a customer's value change is exactly the sum over features of (new contribution - old
contribution) plus the change of `_base` (0 for one model): `contribution_deltas`; the same holds for the churn
probability with the churn contributions (their `_base` is the model's calibrated base probability, the same for
every customer of one model). Deltas are summed by feature group (`models.explain.top_groups`), groups ranked by
|summed delta|, and each group said from its leading feature (largest |delta| of the group's sign,
`models.explain.group_leads`), as in the reasons: "support hours in the last 90 days rose from 3 to 14: -420 EUR,
together with the other support figures"; churn amounts in points of probability: "...: +6 churn points".

When the model changed between the runs (`model_version` differs), a contribution delta mixes two causes. The
decomposition used, for value and for churn alike: with the old model f0, the new model f1, the old data x0 and the
new data x1,
    f1(x1) - f0(x0) = [f0(x1) - f0(x0)]  (data: the old model on both data)  +  [f1(x1) - f0(x1)]  (model).
The data part is explained exactly by the old model's contribution deltas. The caller provides f0(x1) by scoring
the new data with the old model too (`bridge_value_contrib`, `bridge_churn_contrib`: the old model's
contributions on the new data); then `{kind}_change_data` and `{kind}_change_model` are filled and the deltas
explain the data part. Without a bridge, both are NaN for customers whose model changed, and the deltas are the
contribution differences across the two models (still adding up to the change when both models have the same
base, which they need not).

Speed. Everything is per column or per distinct text, never per customer: ids are looked up once per frame as
integer positions, the deltas are processed in row blocks, and a sentence is assembled by Arrow from its pieces
(label, the move, the two values, the amount), each piece formatted once per distinct (rounded) value.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.registry import FeatureSpec
from models.explain import BASE_COLUMN, top_groups
from models.tiers import TIER_DTYPE
from models.transition_words import Values, delta_label, slot_sentences

__all__ = ["contribution_deltas", "delta_label", "tier_transitions"]

SCORED = "scored"
BLOCK_ROWS = 250_000  # deltas and sentences are built this many customers at a time (bounded memory)


def contribution_deltas(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Per-feature `new - old` contributions for the customers of `new` (index), `_base` included.

    A customer or feature absent from `old` counts as 0 there (a feature a model does not use contributes 0),
    so every row sums to (new prediction - old prediction) for customers in both.
    """
    columns = list(dict.fromkeys([*new.columns, *old.columns]))
    a = old.reindex(index=new.index, columns=columns).fillna(0.0).to_numpy(dtype=np.float64)
    b = new.reindex(columns=columns).fillna(0.0).to_numpy(dtype=np.float64)
    return pd.DataFrame(b - a, index=new.index.copy(), columns=columns)


def _arrow_ids(index: pd.Index) -> object:
    """The ids of an index as one Arrow string array (no copy when they already are Arrow strings)."""
    import pyarrow as pa

    values = index.array
    if isinstance(values, pd.arrays.ArrowStringArray):
        found = pa.array(values)
    else:
        found = pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)
    return found.combine_chunks() if isinstance(found, pa.ChunkedArray) else found


class _Lookup:
    """Where given ids are in the frames' indexes, by Arrow hash lookups (`index_in`): one lookup per distinct
    index (the scores and feature frames of one run, or the value and churn contributions of one run, share
    their rows and are looked up once)."""

    def __init__(self, ids: object) -> None:
        self.ids = ids
        self.known: list[tuple[object, object, np.ndarray]] = []

    def positions(self, index: pd.Index) -> np.ndarray:
        import pyarrow.compute as pc

        for seen, _arrow, pos in self.known:
            if seen is index:
                return pos
        values = _arrow_ids(index)
        for _seen, arrow, pos in self.known:
            if len(arrow) == len(values) and arrow.equals(values):
                return pos
        found = pc.index_in(self.ids, value_set=values)
        pos = found.to_numpy(zero_copy_only=False)
        pos = np.where(np.isnan(pos), -1, pos).astype(np.int64) if found.null_count else pos.astype(np.int64)
        self.known.append((index, values, pos))
        return pos


def _take(series: pd.Series, pos: np.ndarray, dtype: str) -> pd.Series:
    return pd.Series(pd.api.extensions.take(series.array, pos, allow_fill=True)).astype(dtype)


def _matrix(frame: pd.DataFrame, columns: list[str], pos: np.ndarray) -> np.ndarray:
    """Rows `pos` of `frame` as float64 in `columns` order; an absent row, column or missing value counts 0.

    Filled column by column into contiguous memory (the transpose of the result), then returned transposed."""
    out = np.zeros((len(columns), len(pos)))
    have = pos >= 0
    every = bool(have.all())
    at = pos if every else pos[have]
    for i, c in enumerate(columns):
        if c in frame.columns:
            column = frame[c].to_numpy(dtype=np.float64, na_value=np.nan)
            if every:
                np.take(column, at, out=out[i])
            else:
                out[i, have] = column[at]
    np.copyto(out, 0.0, where=np.isnan(out))
    return out.T


def _kind_deltas(
    kind: str,
    old_contrib: pd.DataFrame,
    new_contrib: pd.DataFrame,
    bridge: pd.DataFrame | None,
    pairs: int,
    moved: np.ndarray,
    registry: Mapping[str, FeatureSpec],
    n: int,
    currency: str,
    old_values: Values,
    new_values: Values,
    lookup: _Lookup,
) -> tuple[dict[str, object], np.ndarray]:
    """The delta columns of one kind for the `pairs` customers scored in both runs (the ids of `lookup`), and the
    data part of the change for the customers whose model changed (`moved`; NaN without a bridge)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = list(dict.fromkeys([*new_contrib.columns, *old_contrib.columns]))
    names = [c for c in columns if c != BASE_COLUMN]
    labels = [delta_label(name, currency) for name in names]
    old_pos = lookup.positions(old_contrib.index)
    new_pos = lookup.positions(new_contrib.index)
    data_part = np.full(pairs, np.nan)
    bridge_pos = None
    if bridge is not None:
        bridge_pos = np.where(moved, lookup.positions(bridge.index), -1)
    sentences: list[list[object]] = [[] for _ in range(n)]
    groups = [np.full(pairs, -1, dtype=np.int64) for _ in range(n)]
    features = [np.full(pairs, -1, dtype=np.int64) for _ in range(n)]
    amounts = [np.full(pairs, np.nan) for _ in range(n)]
    order: list[str] = []
    # the customers in the order of the old contributions file (the new one is chunked the same way): the
    # gathers below then read memory in order; sentences are put back in id order by one take at the end
    walk = np.argsort(old_pos, kind="stable")
    for lo in range(0, pairs, BLOCK_ROWS):
        block = walk[lo : lo + BLOCK_ROWS]
        a = _matrix(old_contrib, columns, old_pos[block])
        b = _matrix(new_contrib, columns, new_pos[block])
        if bridge_pos is not None:
            rows = np.flatnonzero(moved[block])
            if len(rows):  # the deltas of a customer whose model changed explain the data part
                b[rows] = _matrix(bridge, columns, bridge_pos[block][rows])
                data_part[block[rows]] = b[rows].sum(axis=1) - a[rows].sum(axis=1)
        deltas = b - a
        del a, b
        values = deltas[:, [columns.index(c) for c in names]] if names else np.zeros((len(block), 0))
        del deltas
        order, members, sums, top = top_groups(values, names, registry, n)
        row_ids = np.arange(len(block))
        for k in range(n):
            if k >= top.shape[1] or not len(block):
                sentences[k].append(pa.nulls(len(block), type=pa.string()))
                continue
            group = top[:, k]
            total = sums[row_ids, group]
            text, g, lead = slot_sentences(
                values, names, order, members, group, total, kind, currency, labels, old_values,
                new_values, block,
            )  # fmt: skip
            sentences[k].append(text)
            groups[k][block], features[k][block] = g, lead
            amounts[k][block] = np.where(g >= 0, total, np.nan)
    out: dict[str, object] = {}
    group_names = pa.array(order, type=pa.string())
    feature_names = pa.array(names, type=pa.string())
    back = np.empty_like(walk)
    back[walk] = np.arange(len(walk))
    for k in range(n):
        text = pa.concat_arrays(sentences[k]) if sentences[k] else pa.array([], type=pa.string())
        out[f"{kind}_delta_{k + 1}"] = (text, back)  # in walk order: `back` puts a pair's row in place
        out[f"{kind}_delta_group_{k + 1}"] = pc.take(group_names, pa.array(groups[k], mask=groups[k] < 0))
        out[f"{kind}_delta_feature_{k + 1}"] = pc.take(
            feature_names, pa.array(features[k], mask=features[k] < 0)
        )
        out[f"{kind}_delta_amount_{k + 1}"] = amounts[k]
    return out, data_part


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
    bridge_churn_contrib: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per customer, what changed between two runs and why (table contract in the module docstring).

    The optional frames are inputs that may not exist (see the module docstring), not settings: `n_deltas`,
    the columns and the currency come from the caller's configuration.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if n_deltas < 1:
        raise ValueError("n_deltas must be at least 1")
    for label, frame in (("old", old), ("new", new)):
        if not frame.index.is_unique:
            raise ValueError(f"{label} scores must have one row per customer_id")
        missing = [c for c in ("status", "tier", "rating", value_column, churn_column) if c not in frame]
        if missing:
            raise ValueError(f"{label} scores lack columns {missing}")
    old_ids, new_ids = _arrow_ids(old.index), _arrow_ids(new.index)
    # the union of the ids, sorted: the old ids, then the new ones the old run does not have
    new_in_old = pc.index_in(new_ids, value_set=old_ids)
    new_only = np.flatnonzero(pc.is_null(new_in_old).to_numpy(zero_copy_only=False))
    union = pa.concat_arrays([old_ids, new_ids.take(pa.array(new_only))]) if len(new_only) else old_ids
    order = pc.sort_indices(union).to_numpy().astype(np.int64)
    pos_a = np.where(order < len(old_ids), order, -1)
    old_in_new = pc.index_in(old_ids, value_set=new_ids)
    pos_b = np.concatenate([old_in_new.fill_null(-1).to_numpy().astype(np.int64), new_only])[order]
    sorted_ids = union.take(pa.array(order))
    ids = pd.Index(pd.array(sorted_ids, dtype="str"), name="customer_id")
    in_old, in_new = pos_a >= 0, pos_b >= 0
    presence = np.where(in_old & in_new, "both", np.where(in_new, "new", "gone"))
    out = pd.DataFrame(
        {
            "presence": pd.array(presence, dtype="str"),
            "old_status": _take(old["status"], pos_a, "str"),
            "new_status": _take(new["status"], pos_b, "str"),
            "old_tier": _take(old["tier"], pos_a, "str"),
            "new_tier": _take(new["tier"], pos_b, "str"),
        }
    )
    out["tier_move"] = _tier_move(out["old_tier"], out["new_tier"])
    out["old_rating"] = _take(old["rating"], pos_a, "str")
    out["new_rating"] = _take(new["rating"], pos_b, "str")
    out["old_value"] = _take(old[value_column], pos_a, "float64")
    out["new_value"] = _take(new[value_column], pos_b, "float64")
    out["value_change"] = out["new_value"] - out["old_value"]
    out["old_churn_prob"] = _take(old[churn_column], pos_a, "float64")
    out["new_churn_prob"] = _take(new[churn_column], pos_b, "float64")
    out["churn_change"] = out["new_churn_prob"] - out["old_churn_prob"]
    if "model_version" in old and "model_version" in new:
        a_version = _take(old["model_version"], pos_a, "str")
        changed = (a_version != _take(new["model_version"], pos_b, "str")).fillna(False)
        out["model_changed"] = changed.to_numpy(dtype=bool) & in_old & in_new
    else:
        out["model_changed"] = False

    both_scored = (out["old_status"] == SCORED).to_numpy(dtype=bool) & (out["new_status"] == SCORED).to_numpy(
        dtype=bool
    )
    at = np.flatnonzero(both_scored & in_old & in_new)  # the pairs, positions in ids
    moved = out["model_changed"].to_numpy(dtype=bool)[at]
    lookup = _Lookup(sorted_ids.take(pa.array(at)))
    lookup.known += [(old.index, old_ids, pos_a[at]), (new.index, new_ids, pos_b[at])]
    old_values = Values(old_features, None if old_features is None else lookup.positions(old_features.index))
    new_values = Values(new_features, None if new_features is None else lookup.positions(new_features.index))
    kinds = [("value", old_value_contrib, new_value_contrib, bridge_value_contrib)]
    if old_churn_contrib is not None and new_churn_contrib is not None:
        kinds.append(("churn", old_churn_contrib, new_churn_contrib, bridge_churn_contrib))
    columns: dict[str, object] = {}
    full = np.full(len(ids), -1, dtype=np.int64)
    full[at] = np.arange(len(at))
    fill = pa.array(full, mask=full < 0)
    data_parts = {}
    for kind, old_c, new_c, bridge in kinds:
        part, data_parts[kind] = _kind_deltas(
            kind, old_c, new_c, bridge, len(at), moved, registry, n_deltas, currency, old_values, new_values,
            lookup,
        )  # fmt: skip
        for name, col in part.items():
            if isinstance(col, np.ndarray):
                values = np.full(len(ids), np.nan)
                values[at] = col
                columns[name] = values
            elif isinstance(col, tuple):  # sentences in walk order
                text, back = col
                # no pair scored in both runs (a run that scored nobody): no sentence to take
                where = np.where(full >= 0, back[np.maximum(full, 0)], -1) if len(at) else full
                columns[name] = pd.array(pc.take(text, pa.array(where, mask=where < 0)), dtype="str")
            else:
                columns[name] = pd.array(pc.take(col, fill), dtype="str")
    for kind in ("value", "churn"):
        change = out[f"{kind}_change"].to_numpy(dtype=np.float64)
        data = np.full(len(ids), np.nan)
        same = at[~moved]
        data[same] = change[same]
        model = np.full(len(ids), np.nan)
        model[same] = 0.0
        if (
            kind in data_parts
            and (bridge_value_contrib if kind == "value" else bridge_churn_contrib) is not None
        ):
            split = at[moved]
            data[split] = data_parts[kind][moved]
            model[split] = change[split] - data[split]
        out[f"{kind}_change_data"] = data
        out[f"{kind}_change_model"] = model
    result = pd.concat([out, pd.DataFrame(columns)], axis=1)
    result.index = ids
    return result
