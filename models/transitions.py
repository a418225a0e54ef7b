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

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.registry import GROUP_NOUNS, FeatureSpec, feature_spec, reason_words
from models.explain import BASE_COLUMN, group_leads, top_groups
from models.tiers import TIER_DTYPE

__all__ = ["contribution_deltas", "delta_label", "tier_transitions"]

SCORED = "scored"
BLOCK_ROWS = 250_000  # deltas and sentences are built this many customers at a time (bounded memory)
_VALUE_FORMAT = re.compile(r"\{value(?::(?P<spec>[^}]*))?\}")
_WINDOW = re.compile(r"_(?:\d+d|lifetime)$")

#: What a feature is, in people's words, without its value, where its reason phrase does not start with the
#: value or starts with a preposition ("{value} in discounts {period}"); `{period}` is the column's period.
_LABELS: dict[str, str] = {
    "profit_discount": "discounts {period}",
    "profit_returns": "refunds on returns {period}",
    "profit_avg_order_value": "average order {period}",
    "profit_margin_trend": "gross margin {period} against the same time before",
    "profit_revenue_share": "share of the company's revenue {period}",
    "tenure_days": "days as a customer",
    "recency_days": "days since the last order",
    "orders_purchase_days": "days with an order {period}",
    "orders_gap_mean_days": "average days between purchases",
    "orders_gap_cv": "irregularity of the buying rhythm (0 is like clockwork)",
    "orders_overdue_ratio": "time since the last order, in usual gaps between purchases",
    "referral_made": "customers referred {period}",
    "referral_was_referred": "came through a referral",
    "service_satisfaction_mean": "average ticket satisfaction out of 5 {period}",
    "service_days_since_complaint": "days since the last complaint",
    "payment_days_late_mean": "average days late on invoices {period}",
    "payment_overdue_amount": "amount overdue today",
    "price_discount_rate": "average discount {period}",
    "price_return_rate_value": "share of purchases returned {period}",
    "relationship_manager_departed_90d": "account manager left in the last 90 days",
    "relationship_manager_tenure_days": "days the account manager has been with the company",
    "relationship_manager_assigned_days": "days with the current account manager",
    "profile_segment": "segment",
    "profile_size": "size class",
    "profile_region": "region",
    "profile_acquisition_channel": "acquisition channel",
    "season_start_sin": "the time of year",
    "season_start_cos": "the time of year",
    "season_company_index": "how busy the coming weeks were a year ago against the recent weeks",
}
#: Features whose values mean nothing to a person (an angle of the calendar): named without their values.
_NO_VALUES = frozenset({"season_start_sin", "season_start_cos"})


def contribution_deltas(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Per-feature `new - old` contributions for the customers of `new` (index), `_base` included.

    A customer or feature absent from `old` counts as 0 there (a feature a model does not use contributes 0),
    so every row sums to (new prediction - old prediction) for customers in both.
    """
    columns = list(dict.fromkeys([*new.columns, *old.columns]))
    a = old.reindex(index=new.index, columns=columns).fillna(0.0).to_numpy(dtype=np.float64)
    b = new.reindex(columns=columns).fillna(0.0).to_numpy(dtype=np.float64)
    return pd.DataFrame(b - a, index=new.index.copy(), columns=columns)


def delta_label(name: str, currency: str) -> tuple[str, str, str]:
    """(what the feature is, the value's format spec, how its values are said) in people's words.

    How values are said: "money" (with the currency), "number", "flag" (no / yes), "text" (categories) or
    "none" (not said: the sentence names the feature only). The label never holds the value, a column name,
    cutoff language or its period twice ("support hours in the last 90 days", "discounts in the last 12 months").
    """
    words, period = reason_words(name)
    phrase = words.phrase
    m = _VALUE_FORMAT.search(phrase)
    spec = (m["spec"] or "") if m else ""
    money = "{currency}" in phrase and "per 1,000" not in phrase
    try:
        described: FeatureSpec | None = feature_spec(name)
    except KeyError:
        described = None
    stem = name if name in _LABELS else _WINDOW.sub("", name)
    if stem in _LABELS:
        label = _LABELS[stem]
    elif m is not None and m.start() == 0:
        label = phrase[m.end() :].strip()
        label = label.removeprefix("{currency}").strip()  # the currency of the value, not of a rate
        label = "share " + label if label.startswith("of ") else label
    elif described is None:
        return "their buying-pattern estimate", spec, "none"
    else:
        label = re.split(r":| \(| / ", described.description, maxsplit=1)[0]
        label = label[:1].lower() + label[1:]
    label = label.format(period=period, currency=currency)
    label = " ".join(label.split()).rstrip(",")
    if name in _NO_VALUES or stem in _NO_VALUES:
        how = "none"
    elif described is not None and described.unit == "flag":
        how = "flag"
    elif described is not None and described.dtype == "category":
        how = "text"
    else:
        how = "money" if money else "number"
    return label, spec, how


def _signed(amount: float, kind: str, currency: str) -> str:
    if kind == "churn":
        points = abs(amount) * 100.0
        text = (
            "less than 1 churn point"
            if points < 0.5
            else f"{points:,.0f} churn point" + ("" if round(points) == 1 else "s")
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


def _signed_rounded(amount: np.ndarray, kind: str) -> np.ndarray:
    """Amounts rounded as `_signed` says them (2 significant figures; whole points), to format each text once."""
    if kind == "churn":
        return np.sign(amount) * np.maximum(np.floor(np.abs(amount) * 100.0 + 0.5), 0.1) / 100.0
    x = np.abs(amount)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = np.where(x < 100, 1.0, 10.0 ** (np.floor(np.log10(np.where(x > 0, x, 1.0))) - 1))
    return np.sign(amount) * np.maximum(np.floor(x / unit + 0.5) * unit, 0.1)


def _rounded(values: np.ndarray, spec: str) -> np.ndarray:
    """Numbers rounded as `spec` will print them (",.0f", ".1f", ".0%"), so equal texts share one format call."""
    m = re.search(r"\.(\d+)([f%])$", spec)
    if m is None:
        return values
    return np.round(values, int(m[1]) + (2 if m[2] == "%" else 0))


class _Texts:
    """A growing dictionary of texts; pieces of sentences are integer codes into it (one Arrow take at the end)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.codes: dict[str, int] = {}

    def code(self, text: str) -> int:
        found = self.codes.get(text)
        if found is None:
            found = self.codes[text] = len(self.items)
            self.items.append(text)
        return found

    def each(self, values: np.ndarray, say: object) -> np.ndarray:
        """Codes of `say(value)` for float values, formatted once per distinct value (NaN included)."""
        uniques, inverse = np.unique(values, return_inverse=True)  # NaNs sort last and collapse to one
        texts = np.array([self.code(say(float(u))) for u in uniques], dtype=np.int64)  # type: ignore[operator]
        return texts[inverse.reshape(-1)] if len(uniques) else np.zeros(0, dtype=np.int64)

    def each_object(self, values: np.ndarray, say: object) -> np.ndarray:
        codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        texts = np.array(
            [*(self.code(say(u)) for u in uniques), self.code(say(None))],  # type: ignore[operator]
            dtype=np.int64,
        )
        return texts[np.where(codes < 0, len(uniques), codes)]


def _say(value: object, spec: str, how: str, currency: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "no record"
    if isinstance(value, str):
        return value.replace("_", " ")
    if how == "flag":
        return "yes" if float(value) >= 0.5 else "no"  # type: ignore[arg-type]
    text = format(value, spec) if spec else f"{value:g}"
    return f"{text} {currency}".strip() if how == "money" else text


class _Values:
    """One run's feature values: the frame's row of every delta row found once by integer position, each
    feature column converted once (float64, or objects for categories and text)."""

    def __init__(self, frame: pd.DataFrame | None, pos: np.ndarray | None) -> None:
        self.frame, self.pos = frame, pos
        self.columns: dict[str, np.ndarray] = {}

    def get(self, name: str, rows: np.ndarray) -> np.ndarray | None:
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
        if not len(column):
            return np.full(len(at), np.nan if column.dtype != object else None, dtype=column.dtype)
        values = column[np.maximum(at, 0)]
        values[at < 0] = np.nan if values.dtype != object else None  # a customer the frame does not have
        return values


_STAYED, _ROSE, _FELL, _WENT = range(4)
_MOVE_WORDS = ("stayed at ", "rose from ", "fell from ", "went from ")


def _slot_sentences(
    values: np.ndarray,
    names: list[str],
    order: list[str],
    members: list[np.ndarray],
    group: np.ndarray,
    total: np.ndarray,
    kind: str,
    currency: str,
    labels: list[tuple[str, str, str]],
    old_values: _Values,
    new_values: _Values,
    rows: np.ndarray,
) -> tuple[object, np.ndarray, np.ndarray]:
    """One slot's sentences (an Arrow string array, null where nothing moved), group and feature codes (-1)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(total)
    texts = _Texts()
    empty = texts.code("")
    lead_of = np.full(n, -1, dtype=np.int64)
    others = np.zeros(n, dtype=bool)
    for _g, in_group, lead, more in group_leads(values, members, group, total):
        lead_of[in_group] = lead
        others[in_group] = more
    has = lead_of >= 0
    label = np.full(n, empty, dtype=np.int64)
    move = np.full(n, -1, dtype=np.int64)  # -1: no values said
    before = np.full(n, empty, dtype=np.int64)
    after = np.full(n, empty, dtype=np.int64)
    tails = np.array(
        [texts.code(f", together with the other {GROUP_NOUNS[g]}") for g in order], dtype=np.int64
    )
    tail = np.where(has & others, tails[np.maximum(group, 0)] if len(tails) else empty, empty)
    said = np.full(n, empty, dtype=np.int64)
    idx = np.flatnonzero(has)
    said[idx] = texts.each(
        _signed_rounded(total[idx], kind), lambda v: _signed(v, kind=kind, currency=currency)
    )
    # the values of each row's leading feature, gathered feature by feature; numbers formatted per class of
    # format (spec, how) once per distinct rounded value, whichever feature they come from
    b_num, a_num = np.full(n, np.nan), np.full(n, np.nan)
    fmt = np.full(n, -1, dtype=np.int64)
    classes: dict[tuple[str, str], int] = {}
    leads = lead_of[idx]
    by_lead = np.argsort(leads, kind="stable")
    cuts = np.flatnonzero(np.diff(leads[by_lead])) + 1
    for part in np.split(idx[by_lead], cuts) if len(idx) else []:
        j = int(lead_of[part[0]])
        name = names[j]
        text, spec, how = labels[j]
        label[part] = texts.code(text)
        if how == "none":
            continue
        b = old_values.get(name, rows[part])
        a = new_values.get(name, rows[part])
        if b is None or a is None:
            continue
        if b.dtype == object or a.dtype == object:  # categories and text: per feature, few distinct values

            def say(v: object, spec: str = spec, how: str = how) -> str:
                return _say(v, spec, how, currency)

            bc, ac = texts.each_object(b, say), texts.each_object(a, say)
            move[part] = np.where(bc == ac, _STAYED, _WENT)
            before[part], after[part] = bc, ac
            continue
        b_num[part], a_num[part] = _rounded(b, spec), _rounded(a, spec)
        fmt[part] = classes.setdefault((spec, how), len(classes))
    for (spec, how), c in classes.items():
        rows = np.flatnonzero(fmt == c)
        rb, ra = b_num[rows], a_num[rows]
        if how == "flag":
            rb, ra = np.where(np.isnan(rb), rb, rb >= 0.5), np.where(np.isnan(ra), ra, ra >= 0.5)
        codes = texts.each(
            np.concatenate([rb, ra]), lambda v, spec=spec, how=how: _say(v, spec, how, currency)
        )
        bc, ac = codes[: len(rows)], codes[len(rows) :]
        known = ~np.isnan(rb) & ~np.isnan(ra) & (how != "flag")  # a flag "went from no to yes"
        m = np.where(known & (ra > rb), _ROSE, np.where(known & (ra < rb), _FELL, _WENT))
        move[rows] = np.where(bc == ac, _STAYED, m)
        before[rows], after[rows] = bc, ac
    dictionary = pa.array(texts.items, type=pa.string())

    def piece(codes: np.ndarray) -> object:
        return pc.take(dictionary, pa.array(codes))

    said_values = move >= 0
    went = said_values & (move != _STAYED)
    words = pa.array([*_MOVE_WORDS, ""], type=pa.string())
    sentence = pc.binary_join_element_wise(
        piece(label),
        pc.take(pa.array(["", " "]), pa.array(said_values.astype(np.int64))),
        pc.take(words, pa.array(np.where(said_values, move, len(_MOVE_WORDS)))),
        piece(np.where(went, before, empty)),
        pc.take(pa.array(["", " to "]), pa.array(went.astype(np.int64))),
        piece(np.where(said_values, after, empty)),
        ": ",
        piece(said),
        piece(tail),
        "",
    )
    sentence = pc.if_else(pa.array(has), sentence, pa.scalar(None, type=pa.string()))
    return sentence, np.where(has, group, -1), lead_of


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
    old_values: _Values,
    new_values: _Values,
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
            text, g, lead = _slot_sentences(
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
    old_values = _Values(old_features, None if old_features is None else lookup.positions(old_features.index))
    new_values = _Values(new_features, None if new_features is None else lookup.positions(new_features.index))
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
                where = np.where(full >= 0, back[np.maximum(full, 0)], -1)
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
