"""The words of the transitions (`models.transitions`): what a feature is called without its value, how a value
and an amount are said, and one slot's sentences assembled by Arrow from pieces formatted once per distinct value.

Pure functions of arrays; no I/O, no clock.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from features.registry import GROUP_NOUNS, FeatureSpec, feature_spec, reason_words
from models.explain import group_leads

__all__ = ["Values", "delta_label", "slot_sentences"]

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


class Values:
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


def slot_sentences(
    values: np.ndarray,
    names: list[str],
    order: list[str],
    members: list[np.ndarray],
    group: np.ndarray,
    total: np.ndarray,
    kind: str,
    currency: str,
    labels: list[tuple[str, str, str]],
    old_values: Values,
    new_values: Values,
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
