"""Explanations as tables: per-customer SHAP contributions, group sums, plain-language reasons (tier drivers: `models.tier_drivers`).

"Explanations are a table, not a plot": `explain_booster` is the one adapter that turns a LightGBM booster and
its feature frame into a checked contribution frame; everything else here (and every report or plot) reads
that frame.

Contribution frame (the output of `explain_booster`)
    grain: one row per row of X (one customer at one scoring cutoff), index = X.index, same order.
    columns: one float64 column per model feature, in model order, plus `_base` (the expected value).
    units: the booster's raw score. The value model's raw output is the prediction in currency, so its
        contributions are in currency; the churn classifier's raw output is log-odds, so its contributions
        are in log-odds (`churn_probability_contributions` turns them into probability points).
    invariant: every row sums to the booster's raw prediction (checked on every row).

No time semantics of its own: rows are explained as given; the caller chooses the cutoff of the features.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from features.registry import GROUPS, FeatureSpec
from models.config_sections import ExplainConfig
from models.reason_text import MODEL_GROUP, _group_of, render_reasons, stored_reason_columns
from models.threads import prediction_threads

__all__ = [
    "BASE_COLUMN",
    "MODEL_GROUP",
    "ExplainConfig",
    "ExplanationCheckError",
    "churn_probability_contributions",
    "explain_booster",
    "explain_with_raw",
    "group_contributions",
    "top_reasons",
]

BASE_COLUMN = "_base"
# Additivity is checked relative to the prediction (|sum - raw| <= rtol * max(|raw|, 1)); the spot check
# against LightGBM's own pred_contrib is absolute in raw units, scaled up only for raw values above 1, since
# a sum over hundreds of trees of currency-sized leaves carries ~1e-12 relative round-off.
_ADDITIVITY_RTOL = 1e-6
_SPOT_CHECK_ATOL = 1e-9
_SPOT_CHECK_SEED = 0
#: Rows (spread evenly over X, first and last included) on which the explainer's raw score is compared with
#: LightGBM's own, bit for bit.
_RAW_CHECK_ROWS = 1024


class ExplanationCheckError(RuntimeError):
    """Contributions failed the additivity or the cross-check against LightGBM (a wrong explanation)."""


def _resolve_booster(model: Any) -> Any:
    booster = getattr(model, "booster_", model)
    if not hasattr(booster, "predict") or not hasattr(booster, "feature_name"):
        raise TypeError(f"expected a lightgbm.Booster or a fitted LGBMModel, got {type(model).__name__}")
    return booster


#: One explainer per booster, built once: flattening 300 trees and building their tables costs seconds, and a
#: scoring run explains the same two boosters chunk after chunk. Weak keys: a booster that is gone frees its
#: explainer; the tree count in the value guards against a booster that was trained further in place.
_EXPLAINERS: weakref.WeakKeyDictionary[Any, tuple[tuple[int, int], Any]] = weakref.WeakKeyDictionary()


def release_explainers() -> None:
    """Forget every explainer built so far. A scoring run calls it once its chunks are explained: the value model's
    tables are hundreds of megabytes (0.4 GB on the bench model), which the whole-base finish and the writes after
    the chunks would otherwise carry (issue 14: peak memory). The next explanation builds its explainer again."""
    _EXPLAINERS.clear()


def _explainer_for(booster: Any) -> Any:
    from models.treeshap import TreeShapExplainer

    key = (int(booster.num_trees()), int(getattr(booster, "best_iteration", 0) or 0))
    cached = _EXPLAINERS.get(booster)
    if cached is None or cached[0] != key:
        cached = (key, TreeShapExplainer(booster))
        _EXPLAINERS[booster] = cached
    return cached[1]


def _exact_contributions(booster: Any, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """Exact path-dependent TreeSHAP, shape (n, p + 1), last column = expected value; and the raw score its
    pass summed (None when it cannot: `TreeShapExplainer.shap_values_and_raw`).

    The one place that chooses the explainer: the numba TreeSHAP in `models.treeshap` (same output as
    `booster.predict(X, pred_contrib=True)`, faster on many rows and threads), built once per booster.
    """
    return _explainer_for(booster).shap_values_and_raw(X)


def spread_check_rows(n: int, k: int = _RAW_CHECK_ROWS) -> np.ndarray:
    """Positions of `k` rows (all when fewer) spread evenly over n rows, first and last included: the rows a
    bit-for-bit check compares with LightGBM's own prediction (the raw score here, the probability in
    `models.bundle.binary_probability`). A chunk's rows come sorted by customer id, so its head alone is no
    sample of it."""
    if n <= k:
        return np.arange(n)
    return np.linspace(0, n - 1, k).round().astype(np.intp)  # step > 1: distinct positions


def _lightgbm_raw(booster: Any, X: pd.DataFrame, raw: np.ndarray | None) -> np.ndarray:
    """The explainer's raw score `raw` if it has LightGBM's bits on `_RAW_CHECK_ROWS` rows spread over X, else
    LightGBM's own raw prediction of every row (issue 14: a second prediction of every row saved)."""
    threads = prediction_threads()
    rows = spread_check_rows(len(X))
    if raw is not None and np.array_equal(
        raw[rows],
        np.asarray(booster.predict(X.iloc[rows], raw_score=True, num_threads=threads), dtype=np.float64),
    ):
        return raw
    return np.asarray(booster.predict(X, raw_score=True, num_threads=threads), dtype=np.float64)


def explain_booster(booster: Any, X: pd.DataFrame, expected_check_rows: int) -> pd.DataFrame:
    """Checked per-row SHAP contributions of a LightGBM booster (`explain_with_raw` without the raw score)."""
    return explain_with_raw(booster, X, expected_check_rows)[0]


def explain_with_raw(
    booster: Any, X: pd.DataFrame, expected_check_rows: int | np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """Checked per-row SHAP contributions of a LightGBM booster (see the module docstring for the contract), and
    the booster's raw prediction of X, `booster.predict(X, raw_score=True)` bit for bit.

    The raw prediction comes from the explainer's own pass over the trees (each row's leaves summed in LightGBM's
    order), compared bit for bit with LightGBM's on `_RAW_CHECK_ROWS` rows spread over X; on any difference (or a
    forest the explainer cannot sum) LightGBM predicts every row.

    Args:
        booster: a `lightgbm.Booster` or a fitted `LGBMRegressor`/`LGBMClassifier` (regression or binary).
        X: the model's feature columns in training order (category columns as at fit).
        expected_check_rows: rows (drawn with a fixed seed; or their positions) compared with
            `booster.predict(pred_contrib=True)`;
            max abs difference must be < 1e-9 (x max(1, max |contribution|) for currency-sized values).

    Raises:
        ValueError: X's columns are not the model's features in order, or the explainer's raw score has not one
            value per row.
        ExplanationCheckError: a row does not add up to the raw prediction (relative tolerance 1e-6), or the
            spot check disagrees with LightGBM.
    """
    bst = _resolve_booster(booster)
    names = list(bst.feature_name())
    if list(X.columns) != names:
        raise ValueError(
            f"X columns must be the model's features in order: expected {names}, got {list(X.columns)}"
        )
    columns = [*names, BASE_COLUMN]
    if len(X) == 0:
        empty = pd.DataFrame(np.empty((0, len(columns))), index=X.index.copy(), columns=columns)
        return empty, np.empty(0, dtype=np.float64)

    values, own_raw = _exact_contributions(bst, X)
    if values.shape != (len(X), len(columns)):
        raise ExplanationCheckError(
            f"explainer returned shape {values.shape}, expected {(len(X), len(columns))}"
        )

    if own_raw is not None and own_raw.shape != (len(X),):
        raise ValueError(f"raw has {own_raw.size} predictions for {len(X)} rows")
    raw = _lightgbm_raw(bst, X, own_raw)
    gap = np.abs(values.sum(axis=1) - raw)
    bad = gap > _ADDITIVITY_RTOL * np.maximum(np.abs(raw), 1.0)
    if bad.any() or not np.isfinite(values).all():
        row = int(np.argmax(np.where(np.isfinite(gap), gap, np.inf)))
        raise ExplanationCheckError(
            f"contributions do not add up to the raw prediction on {int(bad.sum())} of {len(X)} rows "
            f"(worst: row {X.index[row]!r}, sum {values[row].sum()!r} vs prediction {raw[row]!r})"
        )

    if isinstance(expected_check_rows, np.ndarray):  # the rows themselves (a scoring run's rule, by id)
        rows = np.sort(expected_check_rows)
    else:
        k = min(expected_check_rows, len(X))
        rows = np.sort(np.random.default_rng(_SPOT_CHECK_SEED).choice(len(X), size=max(k, 0), replace=False))
    k = len(rows)
    if k > 0:
        reference = bst.predict(X.iloc[rows], pred_contrib=True, num_threads=prediction_threads())
        reference = np.asarray(reference, dtype=np.float64)
        diff = float(np.abs(values[rows] - reference).max())
        tolerance = _SPOT_CHECK_ATOL * max(1.0, float(np.abs(reference).max()))
        if not diff < tolerance:
            raise ExplanationCheckError(
                f"contributions differ from LightGBM's pred_contrib by {diff:.3g} (tolerance {tolerance:.3g}) "
                f"on a spot check of {k} rows"
            )
    return pd.DataFrame(values, index=X.index.copy(), columns=columns), raw


def _feature_columns(contrib: pd.DataFrame) -> list[str]:
    return [c for c in contrib.columns if c != BASE_COLUMN]


def churn_probability_contributions(
    logodds_contrib: pd.DataFrame,
    final_prob: pd.Series | np.ndarray,
    base_prob: float | pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Split each customer's probability change `final_prob - base_prob` across features (approximation).

    in:  `logodds_contrib`, a contribution frame of the churn classifier (log-odds, with `_base`);
         `final_prob`, the customer's reported churn probability (usually the calibrated one), aligned by index
         when a Series; `base_prob`, the probability at the base (default: sigmoid(`_base`); pass the calibrated
         base, i.e. the calibrator applied to sigmoid(`_base`), when `final_prob` is calibrated).
    out: same index and feature columns, in probability units, plus `_base` = base_prob; every row sums to
         `final_prob` (the features sum to `final_prob - base_prob` up to floating-point round-off, which is
         put on the largest contribution).

    The approximation: SHAP values are additive in log-odds, not in probability. Each feature gets the share
    of the probability change proportional to its log-odds contribution, phi_j * delta / sum(phi). Signs are
    kept when delta and sum(phi) agree in sign, which holds for sigmoid(raw) and for any monotone calibrator
    applied to both ends; the split is exact for one feature and ignores interactions through the curvature
    of the sigmoid. When the log-odds contributions cancel (|sum(phi)| <= 1e-12 x sum|phi|) delta is split in
    proportion to |phi|, and equally when every phi is 0. A NaN `final_prob` gives a NaN row.
    """
    features = _feature_columns(logodds_contrib)
    if not features:
        raise ValueError("logodds_contrib has no feature columns")
    if BASE_COLUMN not in logodds_contrib.columns:
        raise ValueError(f"logodds_contrib needs the {BASE_COLUMN!r} column (the expected log-odds)")
    n = len(logodds_contrib)
    phi = logodds_contrib[features].to_numpy(dtype=np.float64)
    if isinstance(final_prob, pd.Series):
        final_prob = final_prob.reindex(logodds_contrib.index)
    final = np.asarray(final_prob, dtype=np.float64).reshape(-1)
    if final.shape != (n,):
        raise ValueError(f"final_prob has {final.size} values for {n} rows")
    if base_prob is None:
        base = 1.0 / (1.0 + np.exp(-logodds_contrib[BASE_COLUMN].to_numpy(dtype=np.float64)))
    elif isinstance(base_prob, pd.Series):
        base = base_prob.reindex(logodds_contrib.index).to_numpy(dtype=np.float64)
    else:
        base = np.broadcast_to(np.asarray(base_prob, dtype=np.float64), (n,)).copy()
    delta = final - base

    total = row_sums(phi)
    magnitude = row_sums(np.abs(phi))
    cancelled = np.abs(total) <= 1e-12 * magnitude  # includes all-zero rows
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = delta / np.where(cancelled, 1.0, total)
    out = phi * ratio[:, None]
    # Degenerate rows are few: fix them up in place rather than building full-size alternatives.
    for row in np.flatnonzero(cancelled):
        if magnitude[row] > 0:
            out[row] = np.abs(phi[row]) * (delta[row] / magnitude[row])
        else:
            out[row] = delta[row] / len(features)
    # Put the round-off on the largest share so the row adds up to delta as closely as floats allow.
    residual = delta - row_sums(out)
    largest = np.argmax(np.abs(out), axis=1)
    out[np.arange(n), largest] += np.nan_to_num(residual)

    result = pd.DataFrame(out, index=logodds_contrib.index.copy(), columns=features)
    result[BASE_COLUMN] = base
    return result


def group_leads(
    values: np.ndarray, members: list[np.ndarray], group: np.ndarray, total: np.ndarray
) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """Per feature group g (`members[g]`: its columns of `values`), the rows whose chosen group (`group`) is g with
    a nonzero group total, the leading feature column of each (largest |value| of the total's sign), and whether
    other features of the group contribute too. One rule for the reasons and the transition deltas."""
    for g, cols in enumerate(members):
        in_group = np.flatnonzero((group == g) & (total != 0))
        if in_group.size == 0:
            continue
        block = values[np.ix_(in_group, cols)]
        same_sign = block * np.sign(total[in_group])[:, None] > 0
        lead = cols[np.argmax(np.where(same_sign, np.abs(block), -1.0), axis=1)]
        yield g, in_group, lead, (block != 0).sum(axis=1) > 1


def row_sums(values: np.ndarray) -> np.ndarray:
    """Each row's sum, the columns added left to right: the same bits whatever the number of rows (was:
    `values.sum(axis=1)`, whose order of additions numpy picks by the array's shape, so a customer's reason
    effects and churn contributions differed in the last digits between a chunk of one customer and one of 300:
    the scores of `--chunk-customers 1` and of the default were not identical)."""
    out = np.zeros(len(values), dtype=np.float64)
    for j in range(values.shape[1]):
        out += values[:, j]
    return out


def top_groups(
    values: np.ndarray, names: list[str], registry: Mapping[str, FeatureSpec], n: int
) -> tuple[list[str], list[np.ndarray], np.ndarray, np.ndarray]:
    """Per-feature contributions (rows x `names`) summed by feature group, and each row's top-n groups.

    Returns (groups present in registry order then `model`, column positions of each group's features, the group
    sums rows x groups, the top min(n, groups) group positions per row by absolute sum). `n` argmax passes instead
    of a full sort: argmax returns the first maximum, so ties go to the earlier group.
    """
    rows = len(values)
    group_of = [_group_of(name, registry) for name in names]
    order = [g for g in (*GROUPS, MODEL_GROUP) if g in group_of]
    members = [np.array([j for j, g in enumerate(group_of) if g == group]) for group in order]
    sums = np.zeros((rows, len(order)))
    for g, cols in enumerate(members):
        sums[:, g] = row_sums(values[:, cols])
    slots = min(n, len(order))
    top = np.empty((rows, slots), dtype=np.int64)
    remaining = np.abs(sums)
    for k in range(slots if rows else 0):
        top[:, k] = np.argmax(remaining, axis=1)
        remaining[np.arange(rows), top[:, k]] = -1.0
    return order, members, sums, top


def group_contributions(contrib: pd.DataFrame, registry: Mapping[str, FeatureSpec]) -> pd.DataFrame:
    """Contributions summed by feature group.

    in:  a contribution frame (feature columns, optional `_base`); `registry` from `feature_registry(config)`.
    out: same index; one column per group present, in the registry's group order, then `model` (features the
         registry does not know, e.g. `btyd_*`), then `_base` if the input has it. Row sums are unchanged.
    """
    groups = {name: _group_of(name, registry) for name in _feature_columns(contrib)}
    order = [g for g in (*GROUPS, MODEL_GROUP) if g in groups.values()]
    values = contrib[list(groups)].to_numpy(dtype=np.float64)
    data = {}
    for group in order:
        cols = [i for i, name in enumerate(groups) if groups[name] == group]
        data[group] = row_sums(values[:, cols])
    out = pd.DataFrame(data, index=contrib.index.copy(), columns=order)
    if BASE_COLUMN in contrib.columns:
        out[BASE_COLUMN] = contrib[BASE_COLUMN].to_numpy(dtype=np.float64)
    return out


# --------------------------------------------------------------------------------------------------------
# reasons in plain language


def _feature_values(features: pd.DataFrame, name: str) -> np.ndarray:
    """One feature's values as float64 (NaN missing) or, for categories and text, objects (NaN missing)."""
    series = features[name]
    if isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        return series.astype(object).where(series.notna(), np.nan).to_numpy(dtype=object)
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def top_reasons(
    contrib: pd.DataFrame,
    features: pd.DataFrame,
    registry: Mapping[str, FeatureSpec],
    n: int,
    kind: Literal["value", "churn"],
    currency: str,
) -> pd.DataFrame:
    """Per customer, the n feature groups with the largest |summed contribution|, as sentences for a manager.

    in:  `contrib`: kind="value": the value model's contribution frame (currency); kind="churn": the output of
         `churn_probability_contributions` (probability; the effect is said in percentage points). `_base` is
         ignored. `features`: the feature values the model saw, same index (extra columns ignored).
    out: same index; `{kind}_reason_1..n` (str) then `{kind}_reason_feature_1..n` (str).

    One reason per feature group (`group_contributions`: registry groups, then `model` for inputs the registry
    does not know), so correlated features (gross margin, net profit, revenue) make one reason, never two:
    - the reason's amount is the group's summed contribution (exact; the stored per-feature contributions are
      not changed), and the groups are ranked by its absolute size (ties: registry group order); a group
      whose contributions sum to exactly 0 is no reason;
    - the sentence is phrased from the group's leading feature: the one with the largest |contribution| of
      the group's sign (ties: earlier column); `{kind}_reason_feature_k` is that feature's column;
    - when other features of the group contribute too, the sentence ends ", together with the other <group
      noun>" (the amount is theirs as well).

    Sentences: "<subject> <raises|lowers> <expected profit|churn risk> by <amount>[, together with ...]", e.g.
    "1,446 EUR gross margin in the last 12 months raises expected profit by about 1,200 EUR, together with the
    other profit figures", "last ordered 210 days ago raises churn risk by about 9 points". Words come from
    `features.registry.reason_words`: every amount carries `currency`, windows read "in the last 90 days",
    whole-history values "so far" or "over the whole relationship". A feature with signal words (returns,
    discounts, cost to serve, support, disputes: more reads as bad news) whose effect is good news while it is
    above 0 (or bad news while it is 0) is said as what it signals: "a lot of returns (585 EUR refunded in the last
    12 months), which comes with buying a lot, raises expected profit by about 160 EUR". Amounts: 2 significant
    figures (about 420, about 1,200, about 12k, about 1.2M), whole numbers below 100, "less than 1" below 0.5.
    """
    return render_reasons(reason_choices(contrib, features, registry, n, kind), kind, currency, registry)


def reason_choices(
    contrib: pd.DataFrame,
    features: pd.DataFrame,
    registry: Mapping[str, FeatureSpec],
    n: int,
    kind: Literal["value", "churn"],
) -> pd.DataFrame:
    """Per customer, the n reasons `top_reasons` words, stored compactly (what scoring writes, issue 14).

    out: same index; `models.reason_text.stored_reason_columns(kind, n)`: per reason k the leading feature's
    column (`{kind}_reason_feature_k`), its value (`_value_k`, float; `_category_k`, text, for a category), the
    group's summed contribution (`_effect_k`, the contribution frame's unit) and whether other features of the
    group contribute too (`_together_k`, 1.0/0.0); empty (NaN) where a customer has no k-th reason.
    `models.reason_text.render_reasons` turns them into `top_reasons`' sentences.
    """
    if kind not in ("value", "churn"):
        raise ValueError(f"kind must be 'value' or 'churn', got {kind!r}")
    if n < 1:
        raise ValueError("n must be at least 1")
    names = _feature_columns(contrib)
    absent = [c for c in names if c not in features.columns]
    if absent:
        raise ValueError(f"features lacks columns explained in contrib: {absent}")
    if not features.index.equals(contrib.index):
        if not contrib.index.isin(features.index).all():
            raise ValueError("features must hold a row for every row of contrib (same index)")
        features = features.loc[contrib.index]

    rows = len(contrib)
    values = contrib[names].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():  # one pass when every value is finite (the usual case), as before else
        values = np.nan_to_num(values, nan=0.0)
    _, members_of, sums, top = top_groups(values, names, registry, n)
    slots = top.shape[1]
    row_ids = np.arange(rows)
    import pyarrow as pa

    names_text = pa.array(names, type=pa.string())
    cache: dict[int, np.ndarray] = {}  # each feature column converted once, and only if it leads a reason
    parts: dict[str, dict[int, Any]] = {
        part: {} for part in ("feature", "value", "category", "effect", "together")
    }
    for k in range(n):
        lead_of = np.full(rows, -1, dtype=np.int64)  # -1: no reason (a group total of exactly 0)
        together = np.zeros(rows)
        value = np.full(rows, np.nan)
        category = np.full(rows, None, dtype=object)
        total = np.zeros(rows)
        if k < slots and rows:
            group = top[:, k]
            total = sums[row_ids, group]
            for _, in_group, lead, others in group_leads(values, members_of, group, total):
                lead_of[in_group] = lead
                together[in_group] = others
            for j in np.unique(lead_of[lead_of >= 0]):
                rows_j = np.flatnonzero(lead_of == j)
                if j not in cache:
                    cache[j] = _feature_values(features, names[j])
                column = cache[j][rows_j]
                if column.dtype == object:
                    known = pd.notna(column)
                    category[rows_j[known]] = [str(v) for v in column[known]]
                else:
                    value[rows_j] = column
        none = lead_of < 0
        parts["feature"][k] = pd.array(
            names_text.take(pa.array(np.where(none, 0, lead_of), mask=none)), dtype="str"
        )
        parts["value"][k] = value
        parts["category"][k] = pd.array(category, dtype="str")
        parts["effect"][k] = np.where(none, np.nan, total)
        parts["together"][k] = np.where(none, np.nan, together)
    data = {f"{kind}_reason_{part}_{k + 1}": by_k[k] for part, by_k in parts.items() for k in range(n)}
    return pd.DataFrame(data, index=contrib.index.copy(), columns=stored_reason_columns(kind, n))
