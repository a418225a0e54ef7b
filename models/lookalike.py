"""The lookalike model: will a customer in their first weeks (ordered or not) be great after the horizon?

Trained at past cutoffs on who the customer is and what they did in their first days
(`features.early_life.early_life_features`): a small LightGBM classifier for P(great after the horizon) and a
regressor for the expected net profit over the horizon. "Great after the horizon" is a label, not a tier: net
profit over [cutoff, cutoff + horizon) in the top `top_share` of every customer known at that cutoff, and positive.
Backtested against a profile-only frequency baseline (share great per acquisition channel and segment, smoothed
toward the base rate). Reasons are exact TreeSHAP contributions (LightGBM's `pred_contrib`) of the classifier, in
log-odds, phrased with `EARLY_WORDS`. No I/O, no clock: cutoffs and tables are given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.early_life import NOT_RECORDED, NUMERIC_COLUMNS, early_life_features
from models.config_sections import LookalikeConfig
from models.tiers import TIER_NAMES

#: Plain words for the early-life features (the profile attributes are said as "<attribute> <value>").
EARLY_WORDS: dict[str, str] = {
    "early_days_since_signup": "days since signing up",
    "early_was_referred": "came through a referral",
    "early_has_order": "has ordered",
    "early_days_to_first_order": "days from signup to the first order",
    "early_first_order_value": "value of the first order",
    "early_orders": "orders so far",
    "early_revenue": "revenue so far",
    "early_promo_share": "share of orders bought on promotion",
    "early_tickets": "service requests so far",
    "early_effort_minutes": "service minutes so far",
}
_ORDER_FEATURES = frozenset(
    {"early_days_to_first_order", "early_first_order_value", "early_revenue", "early_promo_share"}
)
_BASELINE_KEYS = ("acquisition_channel", "segment")
_SMOOTHING = 10.0  # pseudo-customers at the base rate in the frequency baseline


def lookalike_training_set(
    tables: Mapping[str, pd.DataFrame],
    cutoffs: Sequence[pd.Timestamp],
    horizon_days: int,
    attributes: Sequence[str],
    config: LookalikeConfig,
    feature_config: Any,
) -> pd.DataFrame:
    """Rows (customer_id, cutoff) of new customers at each cutoff: early-life features, `label_great` (0/1) and
    `label_net_profit` over [cutoff, cutoff + horizon). Callers pass only cutoffs whose horizon lies in the data."""
    from features.labels import build_labels

    frames = []
    net_col = f"label_net_profit_{horizon_days}d"
    for cutoff in cutoffs:
        feats = early_life_features(tables, cutoff, config.early_days, attributes)
        if feats.empty:
            continue
        labels = build_labels(tables, cutoff, horizon_days, feature_config)
        net = labels[net_col]
        threshold = float(np.quantile(net.to_numpy(), 1.0 - config.top_share)) if len(net) else np.inf
        mine = net.reindex(feats.index)
        frames.append(
            feats.assign(
                cutoff=pd.Timestamp(cutoff),
                label_net_profit=mine.to_numpy(),
                label_great=((mine >= threshold) & (mine > 0)).astype(np.float64).to_numpy(),
            ).reset_index()
        )
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class LookalikeModel:
    """The fitted pair of boosters, the categories they were fitted with and the training facts.

    Registered inside the main model (`models.bundle.CustomerValueModel.lookalike_`), so scoring and
    `cvp profile` use it and never refit. `early_days` and `attributes` are its contract: scoring builds the
    early-life features with them (`features.early_life.early_life_features`), not with the run's configuration.
    `facts`: training cutoffs, rows and the out-of-time backtest of the run that fitted it (plain data).
    """

    classifier: Any
    regressor: Any
    categories: dict[str, list[str]]
    features: list[str]
    base_rate: float
    n_rows: int
    early_days: int | None = None
    attributes: tuple[str, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input: attributes as categoricals with the training categories (unseen -> missing)."""
        X = pd.DataFrame(index=frame.index)
        for name in self.features:
            if name in self.categories:
                text = frame[name].astype("str")
                known = text.where(text.isin(self.categories[name]))
                X[name] = pd.Categorical(known, categories=self.categories[name])
            else:
                X[name] = frame[name].astype("float64")
        return X

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`lookalike_prob_great` and `lookalike_expected_value` per row of an early-life frame."""
        X = self.matrix(frame)
        return pd.DataFrame(
            {
                "lookalike_prob_great": self.classifier.predict_proba(X)[:, 1],
                "lookalike_expected_value": self.regressor.predict(X),
            },
            index=frame.index,
        )

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Exact TreeSHAP of the classifier (log-odds) per feature; the last column `_base` is the expected value."""
        raw = self.classifier.booster_.predict(self.matrix(frame), pred_contrib=True)
        return pd.DataFrame(raw, index=frame.index, columns=[*self.features, "_base"])


def fit_lookalike(train: pd.DataFrame, attributes: Sequence[str], config: LookalikeConfig) -> LookalikeModel:
    """Fit both boosters on a `lookalike_training_set` frame (fixed seeds, single thread: reproducible)."""
    import lightgbm as lgb

    present = [a for a in attributes if a in train.columns]
    features = [*present, *NUMERIC_COLUMNS]
    categories = {a: sorted(train[a].astype("str").unique()) for a in present}
    model = LookalikeModel(None, None, categories, features, float(train["label_great"].mean()), len(train))
    X = model.matrix(train)
    params = dict(
        n_estimators=config.n_estimators,
        learning_rate=config.learning_rate,
        num_leaves=config.num_leaves,
        min_child_samples=config.min_child_samples,
        random_state=config.seed,
        n_jobs=1,
        deterministic=True,
        verbose=-1,
    )
    clf = lgb.LGBMClassifier(**params).fit(X, train["label_great"].astype(int))
    reg = lgb.LGBMRegressor(objective="huber", **params).fit(X, train["label_net_profit"].astype("float64"))
    return LookalikeModel(
        clf, reg, categories, features, model.base_rate, model.n_rows, config.early_days, tuple(attributes)
    )


def frequency_baseline(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Profile-only baseline: the training share of great customers with the same acquisition channel and segment,
    smoothed toward the base rate with `_SMOOTHING` pseudo-customers (unseen combinations get the base rate)."""
    keys = [k for k in _BASELINE_KEYS if k in train.columns and k in test.columns]
    base = float(train["label_great"].mean())
    if not keys:
        return np.full(len(test), base)
    stats = train.groupby(keys, observed=True)["label_great"].agg(["sum", "count"])
    rate = (stats["sum"] + _SMOOTHING * base) / (stats["count"] + _SMOOTHING)
    joined = test[keys].merge(rate.rename("rate"), left_on=keys, right_index=True, how="left")["rate"]
    return joined.fillna(base).to_numpy(dtype=np.float64)


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else float("nan")


def _ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width probability bins."""
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(p[m].mean() - y[m].mean())
    return float(total / len(y)) if len(y) else float("nan")


def backtest_lookalike(
    train_set: pd.DataFrame, attributes: Sequence[str], config: LookalikeConfig, horizon_days: int
) -> dict[str, Any]:
    """Out-of-time check: fit on the cutoffs whose horizon ends by the latest cutoff, score that latest cutoff.

    Returns test cutoff, rows, great share, AUC / Brier / ECE of the model and of the frequency baseline, and
    the mean predicted probability; `{"skipped": reason}` when there is too little to fit or test on.
    """
    if train_set.empty:
        return {"skipped": "no new customers at any training cutoff"}
    test_cutoff = train_set["cutoff"].max()
    fit_rows = train_set[train_set["cutoff"] + pd.Timedelta(days=horizon_days) <= test_cutoff]
    test = train_set[train_set["cutoff"] == test_cutoff]
    if len(fit_rows) < config.min_training_rows or fit_rows["label_great"].nunique() < 2:
        return {"skipped": f"{len(fit_rows)} new-customer rows one horizon before the latest cutoff"}
    if test["label_great"].nunique() < 2:
        return {"skipped": "the test cutoff's new customers are all great or all not"}
    model = fit_lookalike(fit_rows, attributes, config)
    y = test["label_great"].to_numpy(dtype=np.float64)
    p = model.predict(test)["lookalike_prob_great"].to_numpy()
    b = frequency_baseline(fit_rows, test)
    return {
        "test_cutoff": pd.Timestamp(test_cutoff).strftime("%Y-%m-%d"),
        "train_rows": len(fit_rows),
        "test_rows": len(test),
        "test_great_share": float(y.mean()),
        "auc_model": _auc(y, p),
        "auc_baseline": _auc(y, b),
        "brier_model": float(np.mean((p - y) ** 2)),
        "brier_baseline": float(np.mean((b - y) ** 2)),
        "ece_model": _ece(y, p),
        "ece_baseline": _ece(y, b),
        "mean_prob_model": float(p.mean()),
    }


#: The early-life features that only say something once a customer has ordered: for a customer without an order
#: their contributions are one reason, "no order yet" (`NO_ORDER`), never "value of the first order: none".
_ORDERING = frozenset({"early_has_order", "early_orders", *_ORDER_FEATURES})
NO_ORDER = "no_order_yet"


def _amount(value: float, currency: str) -> str:
    return f"{value:,.0f} {currency}".rstrip()


def _count(value: float, one: str, many: str) -> str:
    n = int(round(value))
    return f"{n:,} {one if n == 1 else many}"


def _early_phrase(name: str, value: Any, currency: str) -> str:
    """What a new customer's early-life value says, in plain words (`name` a `NUMERIC_COLUMNS` column or
    `NO_ORDER`)."""
    if name == NO_ORDER:
        return "no order yet"
    if pd.isna(value):
        if name in ("early_tickets", "early_effort_minutes"):
            return "service requests not recorded"
        if name == "early_promo_share":
            return "promotions not recorded"
        return f"{EARLY_WORDS[name]}: not recorded"
    v = float(value)
    phrases = {
        "early_days_since_signup": lambda: (
            "signed up today" if v < 1 else f"signed up {_count(v, 'day', 'days')} ago"
        ),
        "early_was_referred": lambda: "came through a referral" if v == 1 else "not referred by a customer",
        "early_has_order": lambda: "has ordered" if v > 0 else "no order yet",
        "early_days_to_first_order": lambda: (
            "first order on the day of signing up"
            if v < 1
            else f"first order {_count(v, 'day', 'days')} after signing up"
        ),
        "early_first_order_value": lambda: f"first order worth {_amount(v, currency)}",
        "early_orders": lambda: f"{_count(v, 'order', 'orders')} so far",
        "early_revenue": lambda: f"{_amount(v, currency)} revenue so far",
        "early_promo_share": lambda: f"{v:.0%} of orders bought on promotion",
        "early_tickets": lambda: (
            "no service request so far"
            if v == 0
            else f"{_count(v, 'service request', 'service requests')} so far"
        ),
        "early_effort_minutes": lambda: (
            "no service time needed so far"
            if v == 0
            else f"{_count(v, 'minute', 'minutes')} of service so far"
        ),
    }
    return phrases[name]()


def _reason_words(name: str, value: Any, contribution: float, currency: str = "") -> str:
    """One reason: what the value says and which way it moves the chance of becoming great."""
    direction = "raises" if contribution > 0 else "lowers"
    if name in EARLY_WORDS or name == NO_ORDER:
        return f"{_early_phrase(name, value, currency)} ({direction} the chance)"
    label = name.replace("_", " ")
    if pd.isna(value) or str(value) == NOT_RECORDED:
        return f"{label} not recorded ({direction} the chance)"
    return f"{label}: {str(value).replace('_', ' ')} ({direction} the chance)"


def reason_contributions(
    model: LookalikeModel, frame: pd.DataFrame
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(names, contributions, usable) of the reasons: the classifier's features, plus `NO_ORDER`. For a customer
    without an order the ordering features' contributions are summed into `NO_ORDER` (one fact, one reason) and
    are not usable on their own; for a customer with orders `NO_ORDER` is not usable."""
    contrib = model.contributions(frame)[model.features].to_numpy()
    names = [*model.features, NO_ORDER]
    ordering = np.array([f in _ORDERING for f in model.features])
    if "early_has_order" in frame.columns:
        no_order = frame["early_has_order"].to_numpy(dtype=np.float64, na_value=0.0) == 0
    else:
        no_order = np.zeros(len(frame), dtype=bool)
    merged = np.where(no_order, contrib[:, ordering].sum(axis=1), 0.0)
    values = np.column_stack([contrib, merged])
    usable = np.ones(values.shape, dtype=bool)
    usable[:, :-1] &= ~(no_order[:, None] & ordering[None, :])
    usable[:, -1] = no_order
    return names, values, usable


def score_new_customers(
    model: LookalikeModel, frame: pd.DataFrame, config: LookalikeConfig, currency: str = ""
) -> pd.DataFrame:
    """Per new customer: `lookalike_prob_great`, `lookalike_expected_value`, `lookalike_reason_1..n` (largest
    |contribution| first, `reason_contributions`; amounts in `currency`) and `provisional_tier` (the best tier from
    `great_probability`, the worst when the expected value is not positive, the middle one otherwise; always
    provisional)."""
    pred = model.predict(frame)
    names, values, usable = reason_contributions(model, frame)
    key = np.where(usable, np.abs(values), -1.0)
    order = np.argsort(-key, axis=1, kind="stable")[:, : config.n_reasons]
    shown = frame[model.features].to_numpy(dtype=object)  # one array, not a row lookup per reason
    shown = np.column_stack([shown, np.full(len(frame), None, dtype=object)])
    out = pred.copy()
    for k in range(order.shape[1]):
        out[f"lookalike_reason_{k + 1}"] = pd.Series(
            [
                _reason_words(names[j], shown[i, j], values[i, j], currency) if usable[i, j] else pd.NA
                for i, j in enumerate(order[:, k])
            ],
            index=frame.index,
            dtype="str",
        )
    best, middle, worst = TIER_NAMES[-1], TIER_NAMES[len(TIER_NAMES) // 2], TIER_NAMES[0]
    tier = np.where(
        pred["lookalike_prob_great"] >= config.great_probability,
        best,
        np.where(pred["lookalike_expected_value"] <= 0, worst, middle),
    )
    out["provisional_tier"] = pd.Series(tier, index=frame.index).astype("str") + " (provisional)"
    return out


__all__ = [
    "EARLY_WORDS",
    "NO_ORDER",
    "LookalikeConfig",
    "LookalikeModel",
    "backtest_lookalike",
    "fit_lookalike",
    "frequency_baseline",
    "lookalike_training_set",
    "reason_contributions",
    "score_new_customers",
]
