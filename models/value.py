"""Future-value model: LightGBM on the signed net profit a customer brings over the label horizon.

Table contract
    fit:     X = one row per (customer, cutoff), feature columns only (float64, `profile_*` pandas `category`
             or strings); y = `label_net_profit_{h}d` (signed currency: margin - returns - cost to serve in
             [cutoff, cutoff + h)); `cutoff` = the row's cutoff (datetime64), used to hold out the latest
             cutoffs for early stopping and interval residuals (split by time, never random rows);
             `bought` (hurdle only) = 1 if the customer ordered in the horizon (`label_orders_{h}d > 0`).
    predict: X with the same feature columns (extra columns are ignored, category columns may be strings) ->
             float64 array of expected net profit over the horizon, same row order.

Two variants (`ModelConfig.value_model`):
- "single": one `LGBMRegressor` on the signed target (objective "regression" = L2 or "huber"). Its one
  booster's raw output IS the prediction in currency, so exact TreeSHAP on `boosters_["value"]` is additive in
  currency: contributions + expected value = `predict(X)`. Explainable. Default (by backtest): Huber, with
  the held-out total correction (`value_scale_correction`) folded into the booster's leaf values, so it stays
  one booster in currency.
- "hurdle": P(buys) from an `LGBMClassifier`, E[net | buys] from an `LGBMRegressor` on buyers' net profit and
  E[net | no purchase] from an `LGBMRegressor` on the other rows (cost to serve and returns of customers who do
  not buy; a constant when there are too few such rows). Prediction = p * E[net|buys] + (1-p) * E[net|none].
  The cost to serve of buyers is folded into the buyers' model because the training set carries net profit, not
  a separate cost label. Each booster is explainable on its own (`boosters_`), the product is not additive.

Interval (P10/P90 by default): split-conformal residual quantiles of the held-out (latest) cutoffs, computed
per bin of the predicted value (Mondrian conformal), so whales get wide intervals and small customers narrow
ones. `predict_interval(X) -> (low, high)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from models.config import ModelConfig

ID_COLUMNS = ("customer_id", "cutoff")
LABEL_PREFIX = "label_"
# Rows needed before a hurdle sub-model is worth fitting; below it the sub-model is the mean.
_MIN_ROWS_SUBMODEL = 50


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """Feature columns of a training set or feature table: everything but ids, the cutoff and labels."""
    return [c for c in frame.columns if c not in ID_COLUMNS and not str(c).startswith(LABEL_PREFIX)]


@dataclass
class FeatureContract:
    """Feature names, kinds and training categories; re-applies them so predict sees what fit saw.

    Numeric columns become float64; categorical columns become pandas `category` with exactly the training
    categories (values not seen at fit become NaN, which LightGBM treats as missing). Strings are accepted at
    predict (MLflow pyfunc passes strings) and re-coded the same way.
    """

    names: list[str] = field(default_factory=list)
    dtypes: dict[str, str] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, X: pd.DataFrame) -> FeatureContract:
        names = list(X.columns)
        dtypes: dict[str, str] = {}
        categories: dict[str, list[str]] = {}
        for c in names:
            col = X[c]
            if isinstance(col.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(col):
                dtypes[c] = "category"
                values = (
                    col.cat.categories
                    if isinstance(col.dtype, pd.CategoricalDtype)
                    else col.dropna().unique()
                )
                categories[c] = sorted(str(v) for v in values)
            else:
                dtypes[c] = "float64"
        return cls(names, dtypes, categories)

    def apply(self, X: pd.DataFrame) -> pd.DataFrame:
        """The frame's feature columns in training order and dtypes (raises KeyError on missing columns)."""
        missing = [c for c in self.names if c not in X.columns]
        if missing:
            raise KeyError(f"feature columns missing: {missing}")
        out = {}
        for c in self.names:
            col = X[c]
            if self.dtypes[c] == "category":
                cats = self.categories[c]
                values = col.astype("str").where(col.notna())
                # Unseen categories become missing explicitly (pandas will stop doing it silently).
                values = values.where(values.isin(cats))
                out[c] = pd.Categorical(values, categories=cats)
            else:
                out[c] = pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()
        return pd.DataFrame(out, index=X.index)

    def grade(self, X: pd.DataFrame) -> tuple[list[str], dict[str, dict[str, int]], list[str]]:
        """The contract check, graded: (refusals, unseen categories, ignored columns).

        Refusals (missing feature columns, wrong dtypes) mean the model cannot score `X`. Unseen categories
        (column -> value -> row count) are scored as missing, as at fit; feature columns the contract does not
        know are ignored. The one place that compares a feature table with the contract.
        """
        fatal: list[str] = []
        missing = [c for c in self.names if c not in X.columns]
        if missing:
            fatal.append(f"missing feature columns: {missing}")
        unseen: dict[str, dict[str, int]] = {}
        for c in self.names:
            if c not in X.columns:
                continue
            col = X[c]
            if self.dtypes[c] == "float64":
                if not pd.api.types.is_numeric_dtype(col) or isinstance(col.dtype, pd.CategoricalDtype):
                    fatal.append(f"{c}: expected a numeric column, got {col.dtype}")
                continue
            values = col.astype("str").where(col.notna()).dropna()
            new = values[~values.isin(self.categories[c])]
            if len(new):
                unseen[c] = {str(k): int(v) for k, v in new.value_counts().sort_index().items()}
        ignored = [c for c in feature_columns(X) if c not in self.dtypes]
        return fatal, unseen, ignored

    def problems(self, X: pd.DataFrame) -> list[str]:
        """Human-readable contract violations: missing/extra features, wrong dtypes, unknown categories."""
        fatal, unseen, ignored = self.grade(X)
        found = [f for f in fatal if f.startswith("missing feature")]
        if ignored:
            found.append(f"unexpected feature columns (ignored): {ignored}")
        found += [f for f in fatal if not f.startswith("missing feature")]
        for c, counts in unseen.items():
            unknown = sorted(counts)
            shown = unknown[:5] + (["..."] if len(unknown) > 5 else [])
            found.append(f"{c}: {len(unknown)} categories unseen in training (scored as missing): {shown}")
        return found


def time_split(cutoff: pd.Series | np.ndarray, share: float) -> np.ndarray:
    """Boolean mask of the validation rows: the latest `share` of distinct cutoffs (at least one if >= 2).

    Returns all-False when there is a single cutoff (nothing later to validate on).
    """
    cut = pd.to_datetime(pd.Series(np.asarray(cutoff)))
    distinct = np.sort(cut.unique())
    if len(distinct) < 2:
        return np.zeros(len(cut), dtype=bool)
    n_valid = min(len(distinct) - 1, max(1, int(round(share * len(distinct)))))
    first_valid = distinct[len(distinct) - n_valid]
    return (cut >= first_valid).to_numpy()


def lgbm_params(config: ModelConfig, part: str = "value") -> dict[str, object]:
    """Keyword arguments for LGBMRegressor/LGBMClassifier from the config ("value" or "churn" parameters)."""
    p = config.lightgbm if part == "value" else config.churn_lightgbm
    return {
        "n_estimators": p.n_estimators,
        "learning_rate": p.learning_rate,
        "num_leaves": p.num_leaves,
        "min_child_samples": p.min_child_samples,
        "subsample": p.subsample,
        "subsample_freq": p.subsample_freq,
        "colsample_bytree": p.colsample_bytree,
        "reg_lambda": p.reg_lambda,
        "random_state": p.seed,
        "n_jobs": p.n_jobs,
        "verbose": -1,
        "deterministic": True,
        "force_row_wise": True,
    }


def scale_booster(booster: lgb.Booster, factor: float) -> lgb.Booster:
    """A copy of the booster whose raw output is `factor` times the original's, exactly.

    Every leaf value (and internal value) is multiplied, so tree structure, covers and hence TreeSHAP paths
    are unchanged and contributions scale by the same factor (still additive).
    """
    lines = []
    for line in booster.model_to_string().splitlines():
        key, sep, rest = line.partition("=")
        if sep and key == "tree_sizes":
            continue  # byte sizes of the trees change; without them LightGBM parses the trees sequentially
        if sep and key in ("leaf_value", "internal_value"):
            values = np.array(rest.split(" "), dtype=np.float64) * factor
            line = key + "=" + " ".join(repr(float(v)) for v in values)
        lines.append(line)
    return lgb.Booster(model_str="\n".join(lines) + "\n")


def fit_booster(
    estimator: lgb.LGBMModel,
    X: pd.DataFrame,
    y: np.ndarray,
    valid: np.ndarray,
    config: ModelConfig,
    refit: bool,
) -> tuple[lgb.Booster, lgb.Booster | None]:
    """Fit with early stopping on the `valid` rows; return (final booster, held-out booster).

    Both are trimmed to the best iteration, so each holds exactly the trees that predict and TreeSHAP on it
    reproduces `predict` (no hidden `best_iteration`). With `refit`, the final booster is refitted on every
    row with the early-stopped number of rounds (the latest cutoffs are learned too) and the held-out booster
    is the early-stopped one that never saw the `valid` rows (for honest residuals); without refit both are
    the same booster. The held-out booster is None when nothing was held out.
    """
    use_es = config.early_stopping_rounds is not None and valid.any() and (~valid).any()
    if use_es:
        estimator.fit(
            X[~valid],
            y[~valid],
            eval_X=(X[valid],),
            eval_y=(y[valid],),
            callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)],
        )
        best = max(int(estimator.best_iteration_ or estimator.n_estimators), 1)
        holdout = lgb.Booster(model_str=estimator.booster_.model_to_string(num_iteration=best))
        if not refit:
            return holdout, holdout
        estimator.set_params(n_estimators=best)
        estimator.fit(X, y)
        return lgb.Booster(model_str=estimator.booster_.model_to_string(num_iteration=best)), holdout
    estimator.fit(X, y)
    final = lgb.Booster(
        model_str=estimator.booster_.model_to_string(num_iteration=int(estimator.n_estimators))
    )
    held = final if valid.any() else None
    return final, held


class FutureValueModel(BaseEstimator, RegressorMixin):
    """Expected net profit over the horizon, with a P10/P90 interval (see the module docstring).

    Fitted attributes: `scale_` (single model: the held-out total correction folded into the booster's leaves),
    `contract_` (FeatureContract), `boosters_` (dict name -> lightgbm.Booster: "value" for
    the single model; "buy", "net_if_buys", "net_if_none" for the hurdle, the last absent when it is a
    constant `net_if_none_const_`), `interval_edges_` and `interval_offsets_` (per prediction bin, the
    residual quantiles added to the prediction), `notes_` (warnings about the fit, e.g. in-sample residuals).
    """

    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    @property
    def _cfg(self) -> ModelConfig:
        return self.config

    def fit(
        self,
        X: pd.DataFrame,
        y: np.ndarray | pd.Series,
        cutoff: pd.Series | np.ndarray | None = None,
        bought: np.ndarray | pd.Series | None = None,
    ) -> FutureValueModel:
        cfg = self._cfg
        self.contract_ = FeatureContract.from_frame(X)
        Xt = self.contract_.apply(X)
        y = np.asarray(y, dtype=np.float64)
        if np.isnan(y).any():
            raise ValueError("the value label has missing values")
        if cutoff is None:
            valid = np.zeros(len(y), dtype=bool)
        else:
            valid = time_split(cutoff, cfg.validation_share)
        self.notes_: list[str] = []
        self.boosters_: dict[str, lgb.Booster] = {}
        self.net_if_none_const_: float | None = None
        self.kind_ = cfg.value_model
        self._holdout: dict[str, lgb.Booster] = {}

        if cfg.value_model == "single":
            self._fit_single(Xt, y, valid, cfg)
        else:
            if bought is None:
                bought = y != 0
                self.notes_.append("no purchase label given: 'bought' taken as a non-zero net profit")
            self._fit_hurdle(Xt, y, np.asarray(bought, dtype=bool), valid, cfg)
        self._fit_interval(Xt, y, valid, cfg)
        del self._holdout
        return self

    # -- variants ------------------------------------------------------------------------------------------
    def _fit_single(self, Xt: pd.DataFrame, y: np.ndarray, valid: np.ndarray, cfg: ModelConfig) -> None:
        params = lgbm_params(cfg)
        if cfg.single_objective == "huber":
            alpha = cfg.huber_alpha
            if alpha is None:
                alpha = float(np.quantile(np.abs(y - np.median(y)), 0.9)) or 1.0
            params.update(objective="huber", alpha=alpha)
        else:
            params.update(objective="regression")
        self._store("value", fit_booster(lgb.LGBMRegressor(**params), Xt, y, valid, cfg, cfg.refit_full))
        self.scale_ = 1.0

    def _store(self, name: str, fitted: tuple[lgb.Booster, lgb.Booster | None]) -> None:
        # Held-out boosters only live until the interval is fitted; they are not part of the fitted model.
        self.boosters_[name], held = fitted
        self._holdout[name] = held if held is not None else fitted[0]

    def _fit_hurdle(
        self, Xt: pd.DataFrame, y: np.ndarray, bought: np.ndarray, valid: np.ndarray, cfg: ModelConfig
    ) -> None:
        params = lgbm_params(cfg)
        if bought.all() or not bought.any():
            raise ValueError("the hurdle model needs both buyers and non-buyers in the training set")
        clf = lgb.LGBMClassifier(objective="binary", **params)
        self._store("buy", fit_booster(clf, Xt, bought.astype(int), valid, cfg, cfg.refit_full))
        reg = lgb.LGBMRegressor(objective="regression", **params)
        self._store(
            "net_if_buys", fit_booster(reg, Xt[bought], y[bought], valid[bought], cfg, cfg.refit_full)
        )
        none = ~bought
        if none.sum() >= _MIN_ROWS_SUBMODEL and np.ptp(y[none]) > 0:
            reg0 = lgb.LGBMRegressor(objective="regression", **params)
            self._store("net_if_none", fit_booster(reg0, Xt[none], y[none], valid[none], cfg, cfg.refit_full))
        else:
            self.net_if_none_const_ = float(y[none].mean())

    def _predict_t(self, Xt: pd.DataFrame, boosters: dict[str, lgb.Booster] | None = None) -> np.ndarray:
        b = self.boosters_ if boosters is None else boosters
        if self.kind_ == "single":
            return np.asarray(b["value"].predict(Xt, raw_score=True), dtype=np.float64)
        p = np.asarray(b["buy"].predict(Xt), dtype=np.float64)
        m1 = np.asarray(b["net_if_buys"].predict(Xt), dtype=np.float64)
        if "net_if_none" in b:
            m0 = np.asarray(b["net_if_none"].predict(Xt), dtype=np.float64)
        else:
            m0 = np.full(len(Xt), self.net_if_none_const_)
        return p * m1 + (1.0 - p) * m0

    # -- interval ------------------------------------------------------------------------------------------
    def _scale_factor(self, actual: np.ndarray, pred: np.ndarray, cfg: ModelConfig) -> float:
        """Held-out sum(actual) / sum(pred) for the single model, 1.0 when off or not meaningful."""
        if self.kind_ != "single" or not cfg.value_scale_correction:
            return 1.0
        total_pred, total_actual = float(pred.sum()), float(actual.sum())
        if total_pred <= 0 or total_actual <= 0:
            return 1.0
        factor = total_actual / total_pred
        # A factor far from 1 means the held-out slice is unlike the rest, not a loss-induced shrink.
        if not 0.5 <= factor <= 2.0:
            self.notes_.append(f"held-out scale factor {factor:.2f} outside [0.5, 2]; not applied")
            return 1.0
        return factor

    def _fit_interval(self, Xt: pd.DataFrame, y: np.ndarray, valid: np.ndarray, cfg: ModelConfig) -> None:
        """Residual quantiles per predicted-value bin on the held-out cutoffs.

        With `refit_full` the final boosters have seen the held-out rows, so the held-out residuals come from
        the early-stopped boosters fitted without them. With one cutoff only there is nothing held out:
        in-sample residuals are used and a note says the interval is optimistic.
        """
        if valid.any() and (~valid).any():
            pred_v = self._predict_t(Xt[valid], self._holdout)
            factor = self._scale_factor(y[valid], pred_v, cfg)
            if factor != 1.0:
                self.boosters_["value"] = scale_booster(self.boosters_["value"], factor)
                self.scale_ = factor
                pred_v = pred_v * factor
            resid = y[valid] - pred_v
        else:
            pred_v = self._predict_t(Xt)
            resid = y - pred_v
            self.notes_.append("single cutoff: interval from in-sample residuals (optimistic)")
        n_bins = max(1, min(cfg.interval_bins, len(resid) // 100))
        edges = (
            np.unique(np.quantile(pred_v, np.linspace(0, 1, n_bins + 1)[1:-1]))
            if n_bins > 1
            else np.array([])
        )
        bins = np.searchsorted(edges, pred_v, side="right")
        lo_q, hi_q = cfg.interval_quantiles
        offsets = np.zeros((len(edges) + 1, 2))
        for b in range(len(edges) + 1):
            r = resid[bins == b]
            if len(r) == 0:
                r = resid
            offsets[b] = np.quantile(r, [lo_q, hi_q])
        self.interval_edges_ = edges
        self.interval_offsets_ = offsets

    # -- public --------------------------------------------------------------------------------------------
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Expected net profit over the horizon (currency), one value per row."""
        return self._predict_t(self.contract_.apply(X))

    def predict_interval(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) bounds at `interval_quantiles`; low <= predict(X) is not guaranteed for skewed bins."""
        pred = self.predict(X)
        return self.interval_from_prediction(pred)

    def interval_from_prediction(self, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Interval bounds for already-computed predictions (avoids predicting twice)."""
        bins = np.searchsorted(self.interval_edges_, pred, side="right")
        off = self.interval_offsets_[bins]
        return pred + off[:, 0], pred + off[:, 1]

    @property
    def explainable_booster(self) -> lgb.Booster | None:
        """The one booster whose raw output is the prediction (single model); None for the hurdle."""
        return self.boosters_.get("value") if getattr(self, "kind_", None) == "single" else None
