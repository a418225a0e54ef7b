"""Future-value model: LightGBM on the signed net profit a customer brings over the label horizon.

Table contract
    fit:     X = one row per (customer, cutoff), feature columns only (float64, `profile_*` pandas `category`
             or strings); y = `label_net_profit_{h}d` (signed currency: margin - returns - cost to serve in
             [cutoff, cutoff + h)); `cutoff` = the row's cutoff (datetime64) and `horizon_days` = h, used to
             hold out the latest cutoffs for early stopping and calibration behind an embargo of one horizon
             (`purged_slices`: split by time, never random rows);
             `bought` (hurdle only) = 1 if the customer ordered in the horizon (`label_orders_{h}d > 0`).
    predict: X with the same feature columns (extra columns are ignored, category columns may be strings) ->
             float64 array of expected net profit over the horizon, same row order.

Four variants (`ModelConfig.value_model`; `bench/objectives.py` compares them fold by fold):
- "single": one `LGBMRegressor` on the signed target (objective "regression" = L2 or "huber"). Its one
  booster's raw output IS the prediction in currency, so exact TreeSHAP on `boosters_["value"]` is additive in
  currency: contributions + expected value = `predict(X)`. Explainable. Default (by backtest): Huber, with
  the total correction (`value_scale_correction`, `value_scale_basis`) folded into the booster's leaf values, so it stays
  one booster in currency. With a horizon under a year that correction is the booster's in-sample shrink on the
  training cutoffs nearest, in the year, the date it scores at (`value_scale_season_days`): Huber's shrink of the
  total follows the season, so one factor over the whole year over-corrects quiet horizons and under-corrects peaks.
- "hurdle": P(buys) from an `LGBMClassifier`, E[net | buys] from an `LGBMRegressor` on buyers' net profit and
  E[net | no purchase] from an `LGBMRegressor` on the other rows (cost to serve and returns of customers who do
  not buy; a constant when there are too few such rows). Prediction = p * E[net|buys] + (1-p) * E[net|none].
  The cost to serve of buyers is folded into the buyers' model because the training set carries net profit, not
  a separate cost label. Each booster is explainable on its own (`boosters_`), the product is not additive.
- "hurdle_lognormal": the hurdle with a log-normal spend model (zero-inflated log-normal CLV): E[net | buys] =
  exp(mu(x)) x `smearing_`, mu an L2 booster ("log_spend") on log(net) of buyers with a positive net and the
  smearing factor Duan's mean(exp(residual)) on the calibration slice. Exact TreeSHAP explains mu in log currency.
- "tweedie": exp(raw "gain") + "loss": a Tweedie booster (log link) on max(net, 0) and an L2 booster on the loss
  part min(net, 0) (returns and cost to serve of loss-making customers). TreeSHAP is exact per part: "gain" in log
  currency, "loss" additively in currency; their sum is not additive in currency. No total correction.

Purged validation: early stopping watches one slice of late cutoffs and the total correction, the interval
residuals (and the churn calibration, `models.churn`) use a later one; each is predicted by a booster fitted
only on cutoffs at least one horizon earlier, so no validated label window overlaps a fitted one, and the gap
between the last fitted labels and the predicted cutoff is the one the final model has at scoring time.

Interval (P10/P90 by default): finite-sample split-conformal residual quantiles (rank ceil((n + 1) q)) of the
calibration slice, computed per bin of the predicted value (Mondrian conformal), so whales get wide intervals
and small customers narrow ones. `predict_interval(X) -> (low, high)`. With `interval_residuals: relative`
(and the default `relative_zero_upper`, whose upper bound alone scores "bought nothing" -1 below the floor too,
`models.conformal.zero_atom_score`) the residuals are normalized by a spread scale s(pred) = max(|pred|, c), c the calibration
predictions' |pred| quantile `interval_scale_floor_quantile` (the median): the interval is pred + s(pred) x the
bin's normalized quantiles. A customer's chance of not buying at all is then one atom (residual -1 x pred) for
every prediction in a bin, so the lower bound of the many customers who may not buy sits at 0 for all of them
instead of just above or below it, and a shift of the whole business (a busier season) widens the upper bound
in proportion to the prediction. The calibration booster's predictions are corrected by its own in-sample shrink
of the total (not the final booster's): fitted on fewer cutoffs, its shrink differs. Where the total correction
is matched to the season (`interval_season_match`), they are also multiplied by the final booster's in-sample
shrink on the calibration slice over its shrink on every row (`_season_interval_ratio`): the calibration slice
sits one horizon before the scoring date, in another season. `absolute` is the former interval (raw residuals,
the final booster's correction). With `interval_new_customer_days` (off by default) new and established customers
(`tenure_days` below / at or above it) each get their own per-bin table (Mondrian by customer age):
`interval_from_prediction(pred, X)` picks it from the rows' features; without X the pooled table is used.
`interval_residuals: quantile` (off): conformalized quantile regression (`models.cqr`); its bounds need X.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

from models.boosters import fit_booster, lgbm_params, scale_booster
from models.config import ModelConfig
from models.conformal import (
    TENURE,
    conformal_table,
    interval_residuals,
    is_new,
    zero_atom_bound,
    zero_atom_score,
)
from models.cqr import cqr_bounds, fit_cqr
from models.feature_contract import (
    FeatureContract,
)  # also what pickles of earlier models name as models.value's
from models.purged import PurgedSlices, purged_slices, season_matched_cutoffs
from models.threads import prediction_threads

# Rows needed before a hurdle sub-model is worth fitting; below it the sub-model is the mean.
_MIN_ROWS_SUBMODEL = 50
#: a correction factor measured on other rows than those it corrects (the total correction, the log-normal spend's
#: smearing) is applied only within these bounds: further out the rows are unlike the rest
FACTOR_BOUNDS = (0.5, 2.0)
#: how the note on a calibration slice's smearing factor left out begins (`cvp train` prints it)
SMEARING_NOT_APPLIED = "the log-normal spend model's smearing factor measured out of time"


class FutureValueModel(BaseEstimator, RegressorMixin):
    """Expected net profit over the horizon, with a P10/P90 interval (see the module docstring).

    Fitted attributes: `scale_` (single model: the total correction folded into the booster's leaves),
    `scale_cutoffs_` (the training cutoffs it was measured on when matched to the season, else empty),
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
        horizon_days: int | None = None,
        scoring_date: pd.Timestamp | None = None,
    ) -> FutureValueModel:
        """Fit on rows of several cutoffs; `horizon_days` (the label horizon) sets the embargo when cutoffs
        are given (see `purged_slices`); `scoring_date` (the training set's as-of) is the date whose time of
        year the season-matched total correction targets (default: one horizon after the latest cutoff)."""
        cfg = self._cfg
        self.contract_ = FeatureContract.from_frame(X)
        Xt = self.contract_.apply(X)
        y = np.asarray(y, dtype=np.float64)
        if np.isnan(y).any():
            raise ValueError("the value label has missing values")
        valid = purged_slices(cutoff, len(y), horizon_days, cfg.validation_share)
        self.slices_ = {k: [c.date().isoformat() for c in v] for k, v in valid.cutoffs.items()}
        self.embargoed_ = valid.embargoed
        self.notes_: list[str] = list(valid.notes)
        self.boosters_: dict[str, lgb.Booster] = {}
        self.net_if_none_const_: float | None = None
        self.kind_ = cfg.value_model
        self.scale_ = 1.0
        self.scale_cutoffs_: list[str] = []
        self.interval_season_ratio_ = 1.0
        self._holdout: dict[str, lgb.Booster] = {}
        self._season_rows = self._season_matched_rows(cutoff, horizon_days, cfg, scoring_date)
        self._cuts = None if cutoff is None else pd.to_datetime(pd.Series(np.asarray(cutoff))).to_numpy()
        self._horizon = horizon_days
        self._single_params: dict[str, object] | None = None

        if cfg.value_model == "single":
            self._fit_single(Xt, y, valid, cfg)
        elif cfg.value_model == "tweedie":
            self._fit_tweedie(Xt, y, valid, cfg)
        else:
            if bought is None:
                bought = y != 0
                self.notes_.append("no purchase label given: 'bought' taken as a non-zero net profit")
            self._fit_hurdle(Xt, y, np.asarray(bought, dtype=bool), valid, cfg)
        self._fit_interval(Xt, y, valid, cfg)
        del self._holdout, self._season_rows, self._cuts, self._horizon, self._single_params
        return self

    # -- variants ------------------------------------------------------------------------------------------
    def _fit_single(self, Xt: pd.DataFrame, y: np.ndarray, valid: PurgedSlices, cfg: ModelConfig) -> None:
        params = lgbm_params(cfg)
        if cfg.single_objective == "huber":
            alpha = cfg.huber_alpha
            if alpha is None:
                alpha = float(np.quantile(np.abs(y - np.median(y)), 0.9)) or 1.0
            params.update(objective="huber", alpha=alpha)
        else:
            params.update(objective="regression")
        self._store("value", fit_booster(lgb.LGBMRegressor(**params), Xt, y, valid, cfg, cfg.refit_full))
        self._single_params = params
        self.scale_ = 1.0

    def _store(self, name: str, fitted: tuple[lgb.Booster, lgb.Booster | None]) -> None:
        # Held-out boosters only live until the interval is fitted; they are not part of the fitted model.
        self.boosters_[name], held = fitted
        self._holdout[name] = held if held is not None else fitted[0]

    def _fit_hurdle(
        self, Xt: pd.DataFrame, y: np.ndarray, bought: np.ndarray, valid: PurgedSlices, cfg: ModelConfig
    ) -> None:
        params = lgbm_params(cfg)
        if bought.all() or not bought.any():
            raise ValueError("the hurdle model needs both buyers and non-buyers in the training set")
        clf = lgb.LGBMClassifier(objective="binary", **params)
        self._store("buy", fit_booster(clf, Xt, bought.astype(int), valid, cfg, cfg.refit_full))
        if cfg.value_model == "hurdle_lognormal":
            self._fit_log_spend(Xt, y, bought, valid, cfg)
        else:
            reg = lgb.LGBMRegressor(objective="regression", **params)
            self._store(
                "net_if_buys",
                fit_booster(reg, Xt[bought], y[bought], valid.subset(bought), cfg, cfg.refit_full),
            )
        none = ~bought
        if none.sum() >= _MIN_ROWS_SUBMODEL and np.ptp(y[none]) > 0:
            reg0 = lgb.LGBMRegressor(objective="regression", **params)
            self._store(
                "net_if_none", fit_booster(reg0, Xt[none], y[none], valid.subset(none), cfg, cfg.refit_full)
            )
        else:
            self.net_if_none_const_ = float(y[none].mean())

    def _fit_tweedie(self, Xt: pd.DataFrame, y: np.ndarray, valid: PurgedSlices, cfg: ModelConfig) -> None:
        params = lgbm_params(cfg)
        gain = lgb.LGBMRegressor(
            objective="tweedie", tweedie_variance_power=cfg.tweedie_variance_power, **params
        )
        self._store("gain", fit_booster(gain, Xt, np.maximum(y, 0.0), valid, cfg, cfg.refit_full))
        loss = np.minimum(y, 0.0)
        if (loss < 0).sum() >= _MIN_ROWS_SUBMODEL:
            reg = lgb.LGBMRegressor(objective="regression", **params)
            self._store("loss", fit_booster(reg, Xt, loss, valid, cfg, cfg.refit_full))
        else:
            self.net_if_none_const_ = float(loss.mean())

    def _fit_log_spend(
        self, Xt: pd.DataFrame, y: np.ndarray, rows: np.ndarray, valid: PurgedSlices, cfg: ModelConfig
    ) -> None:
        """Log-normal spend of buyers with a positive net: an L2 booster on log(net) plus Duan's smearing.

        E[net | x] = exp(mu(x)) * mean(exp(residual)), the residuals of log(net) on the calibration slice
        (predicted by the calibration booster, out of time) or in-sample when nothing is held out.
        """
        pos = rows & (y > 0)
        reg = lgb.LGBMRegressor(objective="regression", **lgbm_params(cfg))
        log_y = np.log(np.where(pos, y, 1.0))
        fitted = fit_booster(reg, Xt[pos], log_y[pos], valid.subset(pos), cfg, cfg.refit_full)
        self._store("log_spend", fitted)
        held = pos & valid.cal_valid
        # a calibration booster exists only when buyers are on both the calibration-fit and the calibration
        # cutoffs (fit_booster's answer; was: none on the calibration-fit ones left `learned` empty, a crash)
        calibrated = fitted[1] is not None
        learned = pos & valid.cal_fit if calibrated and not cfg.refit_full else pos
        final = self.boosters_["log_spend"]
        own = float(
            np.mean(np.exp(log_y[learned] - np.asarray(final.predict(Xt[learned]), dtype=np.float64)))
        )
        self.smearing_ = own
        if not calibrated:
            return
        booster = self._holdout["log_spend"]
        resid = log_y[held] - np.asarray(booster.predict(Xt[held]), dtype=np.float64)
        out_of_time = float(np.mean(np.exp(resid)))
        low, high = FACTOR_BOUNDS
        if low <= out_of_time / own <= high:
            self.smearing_ = out_of_time
            return
        # Duan's mean(exp(residual)) is one row's exp(residual) / n when one buyer spent far past their
        # prediction (a whale on the slice): was applied to every buyer, the demo-sized case's totals x2.7-11.
        top = float(np.max(np.exp(resid)) / np.sum(np.exp(resid)))
        self.notes_.append(
            f"{SMEARING_NOT_APPLIED} {out_of_time:.2f} (Duan's, on the calibration cutoffs' {int(held.sum())} "
            f"buyers, {top:.0%} of it from one of them) is {out_of_time / own:.1f}x the spend model's own on "
            f"the rows it was fitted on ({own:.2f}), outside [{low}, {high}]: its own is applied (in-sample, "
            "so the expected spend of buyers may be a little low)"
        )

    def _predict_t(self, Xt: pd.DataFrame, boosters: dict[str, lgb.Booster] | None = None) -> np.ndarray:
        b = self.boosters_ if boosters is None else boosters
        t = prediction_threads()  # the threads this process may use, not the training n_jobs (models.threads)
        if self.kind_ == "single":
            return np.asarray(b["value"].predict(Xt, raw_score=True, num_threads=t), dtype=np.float64)
        if self.kind_ == "tweedie":
            gain = np.exp(np.asarray(b["gain"].predict(Xt, raw_score=True, num_threads=t), dtype=np.float64))
            if "loss" in b:
                return gain + np.asarray(b["loss"].predict(Xt, num_threads=t), dtype=np.float64)
            return gain + self.net_if_none_const_
        p = np.asarray(b["buy"].predict(Xt, num_threads=t), dtype=np.float64)
        if self.kind_ == "hurdle_lognormal":
            m1 = (
                np.exp(np.asarray(b["log_spend"].predict(Xt, num_threads=t), dtype=np.float64))
                * self.smearing_
            )
        else:
            m1 = np.asarray(b["net_if_buys"].predict(Xt, num_threads=t), dtype=np.float64)
        if "net_if_none" in b:
            m0 = np.asarray(b["net_if_none"].predict(Xt, num_threads=t), dtype=np.float64)
        else:
            m0 = np.full(len(Xt), self.net_if_none_const_)
        return p * m1 + (1.0 - p) * m0

    # -- interval ------------------------------------------------------------------------------------------
    def _scale_factor(
        self, actual: np.ndarray, pred: np.ndarray, cfg: ModelConfig, note: bool = True
    ) -> float:
        """sum(actual) / sum(pred) for the single model, 1.0 when off or not meaningful (`note`: say so)."""
        if self.kind_ != "single" or not cfg.value_scale_correction:
            return 1.0
        total_pred, total_actual = float(pred.sum()), float(actual.sum())
        if total_pred <= 0 or total_actual <= 0:
            return 1.0
        factor = total_actual / total_pred
        # A factor far from 1 means the rows are unlike the rest, not a loss-induced shrink.
        low, high = FACTOR_BOUNDS
        if not low <= factor <= high:
            if note:
                self.notes_.append(f"held-out scale factor {factor:.2f} outside [{low}, {high}]; not applied")
            return 1.0
        return factor

    def _season_matched_rows(
        self,
        cutoff: pd.Series | np.ndarray | None,
        horizon_days: int | None,
        cfg: ModelConfig,
        scoring_date: pd.Timestamp | None = None,
    ) -> list[tuple[np.ndarray, float]] | None:
        """(rows, weight) whose in-sample shrinks, interpolated, set the total correction: the training cutoffs
        at the time of year the model scores at (`value_scale_season_days`, `season_matched_cutoffs`); None =
        every row at once."""
        days = getattr(cfg, "value_scale_season_days", None)  # absent from configs pickled before it existed
        near, scoring = season_matched_cutoffs(cutoff, horizon_days, days, scoring_date)
        if scoring is None or cfg.value_model != "single" or not cfg.value_scale_correction:
            return None
        if not near:
            self.notes_.append(
                f"no training cutoff within {days} days of the time of year the model scores at "
                f"({scoring.date()}): the total correction is measured over every training cutoff"
            )
            return None
        self.scale_cutoffs_ = [c.date().isoformat() for cuts, _ in near for c in cuts]
        rows = pd.to_datetime(pd.Series(np.asarray(cutoff)))
        return [(rows.isin(cuts).to_numpy(), w) for cuts, w in near]

    def _in_sample_factor(self, Xt: pd.DataFrame, y: np.ndarray, cfg: ModelConfig) -> float:
        """The final booster's own shrink of the total (sum(y) / sum(pred)) on the rows it was fitted on: those
        at the time of year it scores at when there are any (Huber's shrink follows the season), interpolated
        between the nearest times of year before and after; every row otherwise or when a ratio is unusable."""
        if self._season_rows is not None:
            season = self._season_rows
            ratios = [self._scale_factor(y[r], self._predict_t(Xt[r]), cfg, note=False) for r, _ in season]
            if all(r != 1.0 for r in ratios):
                return float(sum(w * r for (_, w), r in zip(season, ratios, strict=True)))
        return self._scale_factor(y, self._predict_t(Xt), cfg)

    def _season_interval_ratio(
        self, Xt: pd.DataFrame, y: np.ndarray, rows: np.ndarray, cfg: ModelConfig
    ) -> float:
        """How much busier the calibration slice's time of year was than the average, in the final booster's
        in-sample shrink: (sum(y) / sum(pred) on the calibration slice's rows) / (the same on every row). 1.0 when
        the total correction is not matched to the season (`interval_season_match` off, a horizon of a year, no
        cutoff near the scoring date's time of year) or a ratio is unusable (a total <= 0, outside [0.5, 2]).

        Huber's shrink follows the season (more of a busy horizon's value sits in large purchases), so the
        calibration booster's predictions on a quiet slice, scaled by its shrink over every cutoff, sit above
        what that slice brought, and its relative residuals were too narrow for a busier scoring season (and
        too wide for a quieter one). Multiplying them by this ratio puts them on the footing of the final
        prediction, whose total correction is the shrink at the time of year it scores at.
        """
        if not getattr(cfg, "interval_season_match", False) or self._season_rows is None:
            return 1.0
        final = self._predict_t(Xt)
        ratios = []
        for part in (rows, np.ones(len(y), dtype=bool)):
            total_pred, total_actual = float(final[part].sum()), float(y[part].sum())
            if total_pred <= 0 or total_actual <= 0:
                return 1.0
            ratios.append(total_actual / total_pred)
        ratio = ratios[0] / ratios[1]
        return ratio if FACTOR_BOUNDS[0] <= ratio <= FACTOR_BOUNDS[1] else 1.0

    def _pooled_calibration(
        self, Xt: pd.DataFrame, y: np.ndarray, rows: np.ndarray, cfg: ModelConfig
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(rows, prediction)] of the `interval_calibration_cutoffs` - 1 training cutoffs before the calibration
        slice, each predicted as the slice is: by a booster of the same rounds fitted only on cutoffs at least one
        horizon earlier, corrected by its own in-sample shrink and re-expressed at the scoring season
        (`_season_interval_ratio`). Empty unless asked for (single model; a cutoff with nothing to fit stops)."""
        k = getattr(cfg, "interval_calibration_cutoffs", 1)
        if k <= 1 or self._single_params is None or self._cuts is None or self._horizon is None:
            return []
        first = self._cuts[rows].min()
        earlier = np.unique(self._cuts[self._cuts < first])[::-1][: k - 1]
        rounds = self._holdout["value"].num_trees()
        out = []
        for c in earlier:
            fit = self._cuts + np.timedelta64(self._horizon, "D") <= c
            if not fit.any():
                break
            part = self._cuts == c
            est = lgb.LGBMRegressor(**{**self._single_params, "n_estimators": rounds}).fit(Xt[fit], y[fit])
            shrink = self._scale_factor(y[fit], est.predict(Xt[fit]), cfg, note=False)
            ratio = self._season_interval_ratio(Xt, y, part, cfg)
            out.append((part, est.predict(Xt[part]) * shrink * ratio))
        return out

    def _fit_interval(self, Xt: pd.DataFrame, y: np.ndarray, valid: PurgedSlices, cfg: ModelConfig) -> None:
        """Finite-sample conformal residual quantiles per predicted-value bin on the calibration slice.

        The residuals come from the calibration boosters (fitted at least one horizon before the calibration
        cutoffs, see `purged_slices`), after the total correction (`value_scale_basis`: the final booster's
        in-sample total ratio, or the calibration boosters' ratio on the calibration slice). With one cutoff
        only there is nothing held out: in-sample residuals are used and a note says the interval is optimistic.
        """
        rows = valid.cal_valid
        held_out = bool(rows.any() and (~rows).any())
        if held_out:
            pred_v = self._predict_t(Xt[rows], self._holdout)
        else:
            pred_v = self._predict_t(Xt)
            self.notes_.append("single cutoff: interval from in-sample residuals (optimistic)")
        if cfg.value_scale_basis == "in_sample" or not held_out:
            factor = self._in_sample_factor(Xt, y, cfg)
        else:
            factor = self._scale_factor(y[rows], pred_v, cfg)
        relative = interval_residuals(cfg) in ("relative", "relative_zero", "relative_zero_upper", "quantile")
        self.interval_zero_atom_ = interval_residuals(cfg) == "relative_zero"
        self.interval_zero_upper_ = interval_residuals(cfg) == "relative_zero_upper"
        if factor != 1.0:
            self.boosters_["value"] = scale_booster(self.boosters_["value"], factor)
            self.scale_ = factor
            if relative and held_out and cfg.value_scale_basis == "in_sample":
                # The calibration booster's own in-sample shrink: it was fitted on other (fewer) cutoffs. Over
                # all of them: matched to the calibration slice's time of year, the demo company's 90-day
                # interval over-covered (0.84-0.86 on the folds into the peak).
                fit_rows = valid.cal_fit
                own = self._predict_t(Xt[fit_rows], self._holdout)
                pred_v = pred_v * self._scale_factor(y[fit_rows], own, cfg, note=False)
                ratio = self._season_interval_ratio(Xt, y, rows, cfg)
                if ratio != 1.0:
                    # The final prediction carries the shrink of the time of year it scores at; the calibration
                    # slice (one horizon earlier) had its own: re-express its residuals at the scoring season.
                    pred_v = pred_v * ratio
                    self.interval_season_ratio_ = ratio
            else:
                pred_v = pred_v * factor
        self.interval_scale_floor_ = (
            max(float(np.quantile(np.abs(pred_v), cfg.interval_scale_floor_quantile)), 1e-9)
            if relative
            else None
        )
        if interval_residuals(cfg) == "quantile" and held_out:
            params = {**lgbm_params(cfg), "n_estimators": max(b.num_trees() for b in self.boosters_.values())}
            fitted = fit_cqr(Xt, y, valid.cal_fit, rows, params, cfg.interval_quantiles)
            self.interval_quantile_boosters_, self.interval_scale_floor_, self.interval_offsets_ = fitted
            return
        actual = y[rows] if held_out else y
        resid = self._interval_score(actual, pred_v)
        cal_X = Xt[rows] if held_out else Xt
        if relative and held_out and factor != 1.0 and cfg.value_scale_basis == "in_sample":
            for extra_rows, extra_pred in self._pooled_calibration(Xt, y, rows, cfg):
                pred_v = np.concatenate([pred_v, extra_pred])
                extra_resid = self._interval_score(y[extra_rows], extra_pred)
                resid = np.concatenate([resid, extra_resid])
                actual = np.concatenate([actual, y[extra_rows]])
                cal_X = pd.concat([cal_X, Xt[extra_rows]])
        # `relative_zero_upper`: the upper bound's score has "bought nothing" at -1 for every positive prediction.
        high = (
            zero_atom_score(actual, pred_v, self.interval_scale_floor_) if self.interval_zero_upper_ else None
        )
        self.interval_edges_, self.interval_offsets_, capped = conformal_table(pred_v, resid, cfg, high)
        # Mondrian by customer age: new customers' residuals (wider, and their own season) get their own table.
        self.interval_new_days_ = None
        self.interval_segment_tables_: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
        new_days = getattr(cfg, "interval_new_customer_days", None)
        if new_days is not None and TENURE in Xt.columns:
            new = is_new(cal_X, new_days)
            fewest = cfg.interval_min_segment_customers
            if min(new.sum(), (~new).sum()) >= fewest:
                self.interval_new_days_ = new_days
                for seg in (True, False):
                    part = new == seg
                    edges, offsets, seg_capped = conformal_table(
                        pred_v[part], resid[part], cfg, None if high is None else high[part]
                    )
                    self.interval_segment_tables_[seg] = (edges, offsets)
                    capped += seg_capped
            else:
                self.notes_.append(
                    f"fewer than {fewest} calibration customers younger (or older) than {new_days} "
                    "days: one interval table for every customer"
                )
        if capped:
            self.notes_.append(
                f"{capped} interval bin(s) had too few residuals for the finite-sample conformal rank: "
                "their extreme residual is used (coverage may fall short of the nominal level)"
            )

    # -- public --------------------------------------------------------------------------------------------
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Expected net profit over the horizon (currency), one value per row."""
        return self._predict_t(self.contract_.apply(X))

    def predict_interval(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) bounds at `interval_quantiles`; low <= predict(X) is not guaranteed for skewed bins."""
        Xt = self.contract_.apply(X)
        return self.interval_from_prediction(self._predict_t(Xt), Xt)

    def interval_from_prediction(
        self, pred: np.ndarray, X: pd.DataFrame | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Interval bounds for already-computed predictions (avoids predicting twice). With the rows' features
        `X` (their `tenure_days`), new and established customers get their own conformal table when the model
        has them (`interval_new_customer_days`); without, the table of every calibration customer."""
        pred = np.asarray(pred, dtype=np.float64)
        if getattr(self, "interval_quantile_boosters_", None):
            if X is None:
                raise ValueError(
                    "a quantile (CQR) interval needs the rows' features, not only the prediction"
                )
            boosters, floor = self.interval_quantile_boosters_, self.interval_scale_floor_
            return cqr_bounds(boosters, self.contract_.apply(X), self.interval_offsets_, floor)
        off = np.empty((len(pred), 2))
        tables = getattr(self, "interval_segment_tables_", None)
        if tables and X is not None and TENURE in X.columns:
            new = is_new(X, self.interval_new_days_)
            for seg, (edges, offsets) in tables.items():
                part = new == seg
                off[part] = offsets[np.searchsorted(edges, pred[part], side="right")]
        else:
            off[:] = self.interval_offsets_[np.searchsorted(self.interval_edges_, pred, side="right")]
        return self._interval_bound(pred, off[:, 0]), self._interval_bound(pred, off[:, 1], upper=True)

    def _interval_score(self, actual: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """The conformal score of each calibration row: (actual - pred) / s(pred), or with `relative_zero` the
        score whose "bought nothing" (actual 0) is -1 for every positive prediction (see `zero_atom_score`)."""
        if getattr(self, "interval_zero_atom_", False):
            return zero_atom_score(actual, pred, self.interval_scale_floor_)
        return (actual - pred) / self._interval_scale(pred)

    def _interval_bound(self, pred: np.ndarray, offset: np.ndarray, upper: bool = False) -> np.ndarray:
        """The value whose score is `offset` for each prediction (the inverse of `_interval_score`; of
        `zero_atom_score` for the upper bound of `relative_zero_upper`)."""
        if getattr(self, "interval_zero_atom_", False) or (
            upper and getattr(self, "interval_zero_upper_", False)
        ):
            return zero_atom_bound(pred, offset, self.interval_scale_floor_)
        return pred + self._interval_scale(pred) * offset

    def _interval_scale(self, pred: np.ndarray) -> np.ndarray | float:
        """The residual scale s(pred) = max(|pred|, floor) of relative intervals; 1 for absolute ones."""
        # Models fitted before relative intervals have no floor: their offsets are in currency.
        floor = getattr(self, "interval_scale_floor_", None)
        return 1.0 if floor is None else np.maximum(np.abs(pred), floor)

    @property
    def explainable_booster(self) -> lgb.Booster | None:
        """The one booster whose raw output is the prediction (single model); None for the hurdle."""
        return self.boosters_.get("value") if getattr(self, "kind_", None) == "single" else None
