"""Churn-risk model: a LightGBM classifier on `label_churned_{h}d`, calibrated on a later time slice.

Table contract
    fit:     X = one row per (customer, cutoff), feature columns only; y = `label_churned_{h}d` (0/1: the
             customer churned in [cutoff, cutoff + h)); `cutoff` = each row's cutoff (datetime64).
    predict_proba: X with the same feature columns (strings accepted for categories) -> (n, 2) float64 array,
             column 1 = calibrated P(churn within the horizon), same row order.

Time semantics (`models.purged.purged_slices`): early stopping watches one slice of late cutoffs, and the
calibrator (isotonic or Platt) is fitted on a later slice, on the predictions of a classifier fitted only on
cutoffs at least one horizon before it (an embargo: no calibration label window overlaps a fitted one). That is
how the model is used in production: the last training labels end where the scored horizon starts. With
`refit_full` and an embargo the final classifier is refitted on every cutoff with the same rounds and the
calibrator is kept (as scikit-learn's CalibratedClassifierCV(ensemble=False) does), so it scores with the most
recent behaviour; otherwise (no embargo possible, or no refit) the final classifier is the calibrated one. With a single cutoff nothing is later: the calibrator is
fitted in-sample and `notes_` says so.

Explainability: `booster_` is the classifier's booster (trimmed to its best iteration); exact TreeSHAP on it
explains the *uncalibrated* log-odds. The calibrator is monotone, so the ranking and the sign of every
contribution carry over to the calibrated probability.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from models.boosters import fit_booster, lgbm_params
from models.config import ModelConfig
from models.feature_contract import FeatureContract
from models.purged import purged_slices
from models.threads import prediction_threads

_EPS = 1e-6
#: how far the refitted classifier's mean calibrated churn probability on the calibration rows may be from their
#: churn rate (`ChurnModel._keep_calibrated_if_refit_strays`); the demo company's refits stay within 0.03
REFIT_CALIBRATION_TOLERANCE = 0.1
#: how much higher (nats per customer-cutoff) the refitted classifier's calibrated log-loss on the calibration rows
#: may be than the calibrated classifier's: the refit learned those rows, so a healthy one is hardly worse (measured
#: on 40 synthetic fits, drifting churn included: Platt at most 0.00, isotonic at most 0.09 as it is fitted on the
#: calibrated classifier's own scores; refits past the calibrator's range 0.49 to 6 worse)
REFIT_LOGLOSS_MARGIN = 0.2
#: how the model's note on such a refit begins (`cvp train` prints it)
REFIT_STRAYED = "the churn classifier refitted on every cutoff strays from its calibration"


class ChurnModel(BaseEstimator, ClassifierMixin):
    """Calibrated churn probability (see the module docstring).

    Fitted attributes: `contract_`, `booster_`, `calibrator_` (IsotonicRegression on the raw probability or
    LogisticRegression on the log-odds), `classes_` = [0, 1], `notes_`, and when cutoffs are given
    `fit_cutoffs_` / `calibration_cutoffs_` (the cutoffs of the classifier the calibrator was fitted on, and
    the cutoffs it was fitted on; the final classifier also learns every cutoff when `refit_full`).
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
        horizon_days: int | None = None,
    ) -> ChurnModel:
        cfg = self._cfg
        y = np.asarray(y, dtype=np.float64)
        if not np.isin(y, (0.0, 1.0)).all():
            raise ValueError("the churn label must be 0/1 without missing values")
        self.contract_ = FeatureContract.from_frame(X)
        Xt = self.contract_.apply(X)
        slices = purged_slices(cutoff, len(y), horizon_days, cfg.validation_share)
        self.notes_: list[str] = []
        self.classes_ = np.array([0, 1])
        if len(np.unique(y[slices.cal_fit])) < 2 or len(np.unique(y[slices.es_fit])) < 2:
            # One class before a validation slice: fall back to fitting on everything.
            slices = purged_slices(None, len(y), None, cfg.validation_share)
            self.notes_.append("one churn class before the validation cutoffs: fitted without them")
        clf = lgb.LGBMClassifier(objective="binary", **lgbm_params(cfg, "churn"))
        # Refit only behind an embargo: then the calibrator learned the production gap (fitted labels end one
        # horizon before the scored cutoff), which the refitted classifier has too. Without one, the calibrator
        # keeps describing exactly the classifier it was fitted on.
        refit = cfg.refit_full and slices.embargoed
        self.booster_, held = fit_booster(clf, Xt, y.astype(int), slices, cfg, refit=refit)
        if held is not None:
            cal_rows = slices.cal_valid
        else:
            held, cal_rows = self.booster_, np.ones(len(y), dtype=bool)
            self.notes_.append("no later cutoff to calibrate on: calibrator fitted in-sample (optimistic)")
        if cutoff is not None:
            cuts = pd.to_datetime(pd.Series(np.asarray(cutoff)))
            fit_rows = slices.cal_fit if slices.cal_valid.any() else np.ones(len(y), dtype=bool)
            self.fit_cutoffs_ = sorted(pd.Timestamp(c) for c in cuts[fit_rows].unique())
            self.calibration_cutoffs_ = sorted(pd.Timestamp(c) for c in cuts[cal_rows].unique())
        _check_two_classes(y[cal_rows], horizon_days)
        raw = np.asarray(held.predict(Xt[cal_rows]), dtype=np.float64)
        self.calibrator_ = self._fit_calibrator(raw, y[cal_rows], cfg.calibration)
        if held is not self.booster_:
            self._keep_calibrated_if_refit_strays(held, raw, Xt[cal_rows], y[cal_rows], horizon_days)
        return self

    def _keep_calibrated_if_refit_strays(
        self,
        held: lgb.Booster,
        raw_held: np.ndarray,
        X_cal: pd.DataFrame,
        y_cal: np.ndarray,
        horizon_days: int | None,
    ) -> None:
        """The refitted classifier scores on the calibrator only if the calibrator describes it, judged on the
        calibration rows (which the refit learned): its calibrated log-loss there at most `REFIT_LOGLOSS_MARGIN`
        above the calibrated classifier's, and its calibrated mean within `REFIT_CALIBRATION_TOLERANCE` of their
        churn rate. Else the calibrated classifier itself is the final one, and `notes_` says why (the rounds
        early stopping kept, the share of the refit's raw scores outside the range the calibrator was fitted on,
        and that this classifier's labels end one horizon before the model's training cutoffs say). Was: a refit
        past the calibrator's range (one boosting round, raw 0.263-0.277 against 0.225-0.232 calibrated, a Platt
        slope of 49: the demo company's 300 customers as of 2025-09-01) scored every customer 100% likely to
        leave, exit 0; and a refit spread past that range with its mean near the rate (79% of customers under 2%
        or over 98%) was kept, as only the mean was judged. `raw_held`: the calibrated classifier's raw scores on
        those rows, which the calibrator was fitted on."""
        y_cal = np.asarray(y_cal, dtype=np.float64)
        raw = np.asarray(self.booster_.predict(X_cal, num_threads=prediction_threads()), dtype=np.float64)
        p_refit, p_held = self.calibrate(raw), self.calibrate(raw_held)
        rate, refit_mean = float(np.mean(y_cal)), float(np.mean(p_refit))
        loss_refit, loss_held = _log_loss(y_cal, p_refit), _log_loss(y_cal, p_held)
        if (
            loss_refit <= loss_held + REFIT_LOGLOSS_MARGIN
            and abs(refit_mean - rate) <= REFIT_CALIBRATION_TOLERANCE
        ):
            return
        self.booster_ = held
        outside = float(np.mean((raw < raw_held.min()) | (raw > raw_held.max())))
        trees = getattr(held, "num_trees", None)
        rounds = f"early stopping kept {trees()} boosting round(s); " if callable(trees) else ""
        labels = ""
        if getattr(self, "fit_cutoffs_", None) and horizon_days is not None:
            end = (self.fit_cutoffs_[-1] + pd.Timedelta(days=horizon_days)).date()
            labels = (
                f"; its churn labels end on {end}, one horizon before the model's training cutoffs say "
                "(the staleness check judges those)"
            )
        self.notes_.append(
            f"{REFIT_STRAYED} ({rounds}{outside:.0%} of its raw scores on the calibration cutoffs outside the "
            f"range the calibrator was fitted on; calibrated log-loss {loss_refit:.3f} against the calibrated "
            f"classifier's {loss_held:.3f}, mean {refit_mean:.3f} against the churn rate {rate:.3f}): the "
            f"calibrated classifier, fitted one horizon before them, scores instead{labels}"
        )

    @staticmethod
    def _fit_calibrator(
        raw: np.ndarray, y: np.ndarray, method: str
    ) -> IsotonicRegression | LogisticRegression:
        if method == "isotonic":
            cal = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            cal.fit(raw, y)
            return cal
        logit = np.log(np.clip(raw, _EPS, 1 - _EPS) / np.clip(1 - raw, _EPS, 1))
        cal = LogisticRegression(C=1e6)
        cal.fit(logit.reshape(-1, 1), y.astype(int))
        return cal

    def predict_raw(self, X: pd.DataFrame) -> np.ndarray:
        """Uncalibrated classifier probability (what the booster's log-odds map to)."""
        return np.asarray(
            self.booster_.predict(self.contract_.apply(X), num_threads=prediction_threads()), dtype=np.float64
        )

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self._proba_t(self.contract_.apply(X))

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probability for uncalibrated classifier probabilities (e.g. of the SHAP base value)."""
        raw = np.asarray(raw, dtype=np.float64)
        if isinstance(self.calibrator_, IsotonicRegression):
            p = self.calibrator_.predict(raw)
        else:
            logit = np.log(np.clip(raw, _EPS, 1 - _EPS) / np.clip(1 - raw, _EPS, 1))
            p = self.calibrator_.predict_proba(logit.reshape(-1, 1))[:, 1]
        return np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)

    def _proba_t(self, Xt: pd.DataFrame) -> np.ndarray:
        """predict_proba on a frame already passed through the contract."""
        raw = self.booster_.predict(Xt, num_threads=prediction_threads())  # threads: models.threads
        p = self.calibrate(np.asarray(raw, dtype=np.float64))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """0/1 at a calibrated probability of 0.5 (for the sklearn contract; the product uses probabilities)."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean log-loss of probabilities `p` for 0/1 labels `y` (clipped at `_EPS`: a sure wrong answer costs 13.8)."""
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _check_two_classes(y: np.ndarray, horizon_days: int | None) -> None:
    """Structural error when the churn labels a model is calibrated on are one class: every customer churned
    (no order within a horizon of a day or a week: `labels.horizon_days: 1`) or none. A calibrator fitted so
    either failed (sigmoid: scikit-learn's `ValueError`, exit 1 with a traceback log) or mapped every score to
    that class (isotonic: every customer's churn probability 1, without a word)."""
    if len(np.unique(y)) > 1:
        return
    from features.errors import StructuralError

    churned = bool(len(y)) and y[0] == 1
    what = "churned (no order within the horizon after their cutoff)" if churned else "active"
    horizon = f"labels.horizon_days = {horizon_days}" if horizon_days is not None else "this horizon"
    raise StructuralError(
        f"the churn labels of the {len(y):,} customer-cutoffs the churn model is calibrated on are all {what}: "
        f"with {horizon}, no churn probability can be learned. Use a longer horizon (labels.horizon_days: one "
        "within which most customers order again), or data with more customers or a longer history."
    )
