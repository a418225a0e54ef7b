"""Reason sentences, rendered from the stored reasons: the one place that turns a reason into words.

Scoring stores each customer's top reasons compactly (`models.explain.reason_choices`), per model `kind`
("value", "churn") and reason k = 1..n (`stored_reason_columns`):

- `{kind}_reason_feature_k` (text): the leading feature's column (the sentence is phrased from it);
- `{kind}_reason_value_k` (float): that feature's value for the customer (NaN: missing, or a category);
- `{kind}_reason_category_k` (text): the value when the feature is a category (empty otherwise);
- `{kind}_reason_effect_k` (float): the reason's group's summed contribution (value: currency; churn:
  probability, said in points), its sign says raises or lowers;
- `{kind}_reason_together_k` (float 1/0): other features of the group contribute too.

Sentences are rendered only where a person reads them (the reports, the CSV export, `ScoreRun.scores`), through
`render_reasons` / `with_reason_sentences`, vectorised: a reason's words depend on a feature's value only
through its format (`{value:,.0f} EUR gross margin`), so a million rows of amounts are a few thousand texts:
`_render_keys` says which rows share a text, `_render_once` formats each text once and hands every row its own,
and a sentence is the Arrow join of its parts' texts.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.registry import GROUP_NOUNS, GROUPS, FeatureSpec, feature_spec, reason_flag_no, reason_words

#: Columns the registry does not know (BTYD outputs and other model-made features) are grouped here.
MODEL_GROUP = "model"
#: The kinds of reasons scoring stores, in their order in the scores.
REASON_KINDS = ("value", "churn")
#: The stored parts of one reason, in their order in the scores (each for k = 1..n).
STORED_PARTS = ("feature", "value", "category", "effect", "together")
_STORED = re.compile(r"^(value|churn)_reason_(feature|value|category|effect|together)_(\d+)$")
#: "1 days", "1 support hours", "1 referred customers": the count nouns of the registry's phrases after a 1
#: (not 21, 0.1 or 1,001), said in the singular.
_ONE_PLURAL = re.compile(
    r"(?<![\d.,])\b1 ((?:support |referred |disputed |different )?)"
    r"(day|hour|ticket|customer|order|invoice|escalation|complaint)s\b"
)


def stored_reason_columns(kind: str, n: int) -> list[str]:
    """The stored reason columns of `kind` for n reasons, in their order in the scores."""
    return [f"{kind}_reason_{part}_{k}" for part in STORED_PARTS for k in range(1, n + 1)]


def is_stored_number(column: str) -> bool:
    """A stored reason column holding numbers (value, effect, together)."""
    m = _STORED.match(column)
    return m is not None and m.group(2) in ("value", "effect", "together")


def _spec_of(name: str, registry: Mapping[str, FeatureSpec]) -> FeatureSpec | None:
    """The registry's spec, also for window configurations other than the given registry's; None if unknown."""
    if name in registry:
        return registry[name]
    try:
        return feature_spec(name)
    except KeyError:
        return None


def _group_of(name: str, registry: Mapping[str, FeatureSpec]) -> str:
    spec = _spec_of(name, registry)
    return MODEL_GROUP if spec is None else spec.group


#: A `{value}` format that rounds to whole units ("about 1,446 EUR", "+3", "12%"): its text depends on the value
#: only through the rounded number (and the sign of a zero), so rows are rendered once per rounded value.
_WHOLE_UNITS_SPEC = re.compile(r"^[+\- ]?,?\.0([f%])$")


def _render_keys(template: str, number: np.ndarray) -> np.ndarray:
    """Per row a float key, equal for two rows exactly when `template` says their values with the same text.

    For a format rounding to whole units the key is the value rounded half to even (as `format` rounds the exact
    binary value; "%" multiplies by 100 first, as `format` does), with a zero's sign kept ("-0" is not "0");
    otherwise the value's bits. The keys of NaN rows are meaningless (`_render_once` is told which rows are NaN).
    """
    specs = {spec for _, field, spec, _ in string.Formatter().parse(template) if field == "value"}
    if not specs:
        return np.zeros(len(number))  # the text does not depend on the value
    match = _WHOLE_UNITS_SPEC.match(specs.pop()) if len(specs) == 1 else None
    if match is None:  # the value's own bits (int64): -0.0 ("-0.0") is not 0.0; NaN rows are not rendered
        return np.ascontiguousarray(number, dtype=np.float64).view(np.int64)
    scaled = number * 100.0 if match.group(1) == "%" else number
    rounded = np.rint(scaled)
    return np.where(rounded == 0, np.where(np.signbit(scaled), -0.25, 0.25), rounded)


def _render_once(keys: np.ndarray, missing: np.ndarray, render: Any) -> tuple[np.ndarray, np.ndarray]:
    """(codes per row, -1 where `missing`; text per code): `render(row)` is called once per distinct key among
    the rows not missing, on the key's first row."""
    rows = np.flatnonzero(~missing)
    codes = np.full(len(keys), -1, dtype=np.int64)
    sub, uniques = pd.factorize(keys[rows])
    codes[rows] = sub
    first = np.full(len(uniques), -1, dtype=np.int64)
    first[codes[rows[::-1]]] = rows[::-1]
    return codes, np.array([render(int(r)) for r in first], dtype=object)


def _about_amount(amount: np.ndarray, currency: str) -> np.ndarray:
    """'about 420 EUR', 'about 1,200 EUR', 'about 12k EUR', 'about 1.2M EUR' (2 significant figures).

    Below 100 the amount is rounded to a whole number; below 0.5 it reads 'less than 1'.
    """
    texts, codes = _about_amount_codes(amount, currency)
    return texts[codes]


def _about_amount_codes(amount: np.ndarray, currency: str) -> tuple[np.ndarray, np.ndarray]:
    """`_about_amount` as (text per distinct rounded amount, code per row): each text formatted once."""
    suffix = f" {currency}" if currency else ""
    x = np.abs(amount)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = 10.0 ** (np.floor(np.log10(np.where(x > 0, x, 1.0))) - 1)
    unit = np.where(x < 100, 1.0, unit)
    rounded = np.floor(x / unit + 0.5) * unit  # half up, so 425 -> 430 like people round
    uniques, inverse = np.unique(rounded, return_inverse=True)

    def text(r: float) -> str:
        if r < 1:
            return f"less than 1{suffix}"
        if r >= 1e6:
            m = r / 1e6
            return f"about {m:,.0f}M{suffix}" if m >= 10 else f"about {m:g}M{suffix}"
        if r >= 1e4:
            return f"about {r / 1e3:,.0f}k{suffix}"
        return f"about {r:,.0f}{suffix}"

    return np.array([text(float(r)) for r in uniques], dtype=object), inverse.reshape(-1)


def _about_points(prob: np.ndarray) -> np.ndarray:
    """'about 9 points' for a probability change of 0.09; 'less than 1 point' below half a point."""
    texts, codes = _about_points_codes(prob)
    return texts[codes]


def _about_points_codes(prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_about_points` as (text per distinct rounded number of points, code per row)."""
    points = np.floor(np.abs(prob) * 100.0 + 0.5)
    uniques, inverse = np.unique(points, return_inverse=True)
    texts = [
        "less than 1 point" if p < 1 else ("about 1 point" if p == 1 else f"about {p:,.0f} points")
        for p in uniques
    ]
    return np.array(texts, dtype=object), inverse.reshape(-1)


def _fragments(
    name: str,
    values: np.ndarray,
    goodness: np.ndarray,
    currency: str,
    registry: Mapping[str, FeatureSpec],
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """(subject code, subject texts, plural) per row: what a reason says about one feature's value (row i says
    `texts[code[i]]`), and whether it takes a plural verb.

    `goodness` > 0 where the effect is good news (raises expected profit, lowers churn risk). Words come from
    `features.registry.reason_words`: the value in its phrase with the currency and the period in people's words;
    a missing value reads as what the missingness means ("has never complained"); a flag reads its yes/no phrase;
    a feature with signal words whose effect surprises (more returns, good news) says what the value signals.
    Each distinct text is formatted once (`_render_keys`): a million rows of amounts are a few thousand texts.
    """
    words, period = reason_words(name)
    spec = _spec_of(name, registry)
    is_flag = spec is not None and spec.unit == "flag"
    missing = pd.isna(values)
    numeric = values.dtype != object
    fill = {"period": period, "currency": currency}

    def say(template: str, value: object) -> str:
        return _ONE_PLURAL.sub(r"1 \1\2", " ".join(template.format(value=value, **fill).split()))

    def text_of(value: object) -> str:
        if is_flag:
            return words.phrase if float(value) >= 0.5 else reason_flag_no(name)
        # Category values are the company's own words; "paid_search" reads "paid search".
        return say(words.phrase, value.replace("_", " ") if isinstance(value, str) else value)

    if numeric:
        number = values.astype(np.float64)
        keys = np.where(number >= 0.5, 1.0, 0.0) if is_flag else _render_keys(words.phrase, number)
        codes, texts = _render_once(keys, np.asarray(missing), lambda r: text_of(values[r]))
    else:
        codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        texts = np.array([text_of(value) for value in uniques], dtype=object)
    # "1 support hours" still takes a singular verb.
    plurals = [not is_flag and words.plural and not text.startswith("1 ") for text in texts]
    subject = np.where(missing, len(texts), codes)
    table = [*texts, say(words.missing, None)]
    plural = np.array([*plurals, False], dtype=bool)[subject]

    if numeric and not is_flag and (words.high_signal or words.low_signal):
        number = np.where(missing, np.nan, values.astype(np.float64))
        high = np.flatnonzero((number > 0) & (goodness > 0)) if words.high_signal else np.empty(0, np.int64)
        low = np.flatnonzero((number == 0) & (goodness < 0)) if words.low_signal else np.empty(0, np.int64)
        if high.size:
            high_number = number[high]
            codes, texts = _render_once(
                _render_keys(words.high_signal, high_number),
                np.zeros(high.size, dtype=bool),
                lambda r: say(words.high_signal, high_number[r]),
            )
            subject[high] = len(table) + codes
            table.extend(texts)
        plural[high] = words.high_plural
        if low.size:
            subject[low] = len(table)
            table.append(say(words.low_signal, 0.0))
        plural[low] = False
    return subject, table, plural


def _take(texts: Any, codes: np.ndarray, missing: np.ndarray) -> Any:
    """`texts[codes]` as an Arrow array, null where `missing`."""
    import pyarrow as pa

    return texts.take(pa.array(np.where(missing, 0, codes), mask=missing))


def _slot_sentences(
    stored: pd.DataFrame, kind: str, k: int, currency: str, registry: Mapping[str, FeatureSpec]
) -> tuple[Any, Any]:
    """(sentences, features) of reason k as Arrow arrays, null where the row has no reason k."""
    import pyarrow as pa
    import pyarrow.compute as pc

    feature = pa.array(stored[f"{kind}_reason_feature_{k}"], from_pandas=True).cast(pa.large_string())
    rows = len(feature)
    if feature.null_count == rows:
        return pa.nulls(rows, type=pa.large_string()), feature
    encoded = feature.dictionary_encode()
    names = encoded.dictionary.to_pylist()
    lead = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
    value = stored[f"{kind}_reason_value_{k}"].to_numpy(dtype=np.float64, na_value=np.nan)
    category = stored[f"{kind}_reason_category_{k}"]
    effect = np.nan_to_num(stored[f"{kind}_reason_effect_{k}"].to_numpy(dtype=np.float64, na_value=np.nan))
    together = stored[f"{kind}_reason_together_{k}"].to_numpy(dtype=np.float64, na_value=np.nan) > 0
    texts: list[str] = []
    subject = np.full(rows, -1, dtype=np.int64)  # -1: no reason
    plural = np.zeros(rows, dtype=bool)
    groups = (*GROUPS, MODEL_GROUP)
    noun = np.zeros(rows, dtype=np.int64)  # 0: alone; g + 1: with the other features of group g
    for j, name in enumerate(names):
        rows_j = np.flatnonzero(lead == j)
        if not rows_j.size:
            continue
        cats = category.iloc[rows_j]
        if (
            cats.notna().any()
        ):  # a category: its values are text (missing: NaN), as the feature frame had them
            values = cats.astype(object).where(cats.notna(), np.nan).to_numpy(dtype=object)
        else:
            values = value[rows_j]
        goodness = effect[rows_j] if kind == "value" else -effect[rows_j]
        codes, table, plural[rows_j] = _fragments(name, values, goodness, currency, registry)
        subject[rows_j] = len(texts) + codes
        texts.extend(table)
        noun[rows_j[together[rows_j]]] = groups.index(_group_of(name, registry)) + 1
    target = "expected profit" if kind == "value" else "churn risk"
    amounts, amount = (
        _about_amount_codes(effect, currency) if kind == "value" else _about_points_codes(effect)
    )
    verbs = pa.array(["lowers", "raises", "lower", "raise"], type=pa.large_string())
    nouns = pa.array(
        ["", *(f", together with the other {GROUP_NOUNS[g]}" for g in groups)], type=pa.large_string()
    )
    sentence = pc.binary_join_element_wise(
        _take(pa.array(texts, type=pa.large_string()), subject, subject < 0),
        pa.scalar(" ", type=pa.large_string()),
        verbs.take(pa.array(plural * 2 + (effect > 0))),
        pa.scalar(f" {target} by ", type=pa.large_string()),
        pa.array(amounts, type=pa.large_string()).take(pa.array(amount)),
        nouns.take(pa.array(noun)),
        pa.scalar("", type=pa.large_string()),
    )
    return sentence, feature


def render_reasons(
    stored: pd.DataFrame,
    kind: str,
    currency: str,
    registry: Mapping[str, FeatureSpec] | None = None,
) -> pd.DataFrame:
    """The reason sentences of the stored reasons of `kind` (see the module docstring), vectorised.

    in:  `stored`, a frame holding `{kind}_reason_{part}_k` for k = 1..n (extra columns ignored); `currency`,
         the run's (`data.currency`); `registry`, the run's feature registry (default: specs read off the names,
         which give the same words).
    out: same index; `{kind}_reason_1..n` (str sentences) then `{kind}_reason_feature_1..n` (str), empty where
         a customer has no k-th reason: the columns `models.explain.top_reasons` documents.
    """
    slots = sorted(
        int(m.group(3))
        for c in stored.columns
        if (m := _STORED.match(str(c))) and m.group(1) == kind and m.group(2) == "effect"
    )
    data: dict[str, Any] = {}
    features: dict[str, Any] = {}
    for k in slots:
        sentence, feature = _slot_sentences(stored, kind, k, currency, registry or {})
        data[f"{kind}_reason_{k}"] = pd.array(sentence, dtype="str")
        features[f"{kind}_reason_feature_{k}"] = pd.array(feature, dtype="str")
    return pd.DataFrame(data | features, index=stored.index.copy())


def has_stored_reasons(columns: Any) -> bool:
    """Whether a scores frame's columns hold stored reasons (rather than sentences)."""
    return any(str(c).startswith(tuple(f"{kind}_reason_effect_" for kind in REASON_KINDS)) for c in columns)


def with_reason_sentences(
    scores: pd.DataFrame, currency: str, registry: Mapping[str, FeatureSpec] | None = None
) -> pd.DataFrame:
    """The scores as a person reads them: each kind's stored reason columns replaced, where they stood, by its
    sentences and features (`render_reasons`); the other columns as they are. Scores without stored reasons
    (a CSV export, a run before reasons were stored compactly) are returned as they are."""
    out = scores
    for kind in REASON_KINDS:
        stored = [c for c in out.columns if (m := _STORED.match(str(c))) and m.group(1) == kind]
        if not has_stored_reasons(stored):
            continue
        at = out.columns.get_loc(stored[0])
        rendered = render_reasons(out[stored], kind, currency, registry)
        out = out.drop(columns=stored)
        for i, col in enumerate(rendered.columns):
            out.insert(at + i, col, rendered[col].array)
    return out
