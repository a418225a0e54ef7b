"""Typed, frozen settings for the value and churn models, the intervals and the backtest.

The YAML loader in `pipelines` composes these; nothing here reads files. Every model rejects unknown keys so a
typo in a config file fails loudly. No field has a default here: the values (and how they were chosen, by the
rolling-origin backtest) live in `configs/default.yaml`, the one place a default lives.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class LightGBMParams(BaseModel):
    """LightGBM hyper-parameters shared by every booster (value, hurdle parts, churn).

    Attributes:
        n_estimators: maximum boosting rounds; early stopping usually stops earlier.
        learning_rate: shrinkage per round.
        num_leaves: maximum leaves per tree.
        min_child_samples: minimum rows per leaf; large because customer targets are heavy-tailed and small
            leaves chase single whales.
        subsample: row share drawn per bagging round (`bagging_fraction`); 1.0 disables bagging.
        subsample_freq: bag every N rounds (0 disables bagging).
        colsample_bytree: feature share drawn per tree.
        reg_lambda: L2 penalty on leaf values.
        seed: one seed for every random choice (bagging, feature sampling), so fits are reproducible.
        n_jobs: threads per fit.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_estimators: int = Field(gt=0)
    learning_rate: float = Field(gt=0.0, le=1.0)
    num_leaves: int = Field(ge=2)
    min_child_samples: int = Field(ge=1)
    subsample: float = Field(gt=0.0, le=1.0)
    subsample_freq: int = Field(ge=0)
    colsample_bytree: float = Field(gt=0.0, le=1.0)
    reg_lambda: float = Field(ge=0.0)
    seed: int
    n_jobs: int = Field(ge=1)


class ModelConfig(BaseModel):
    """How the value and churn models are fitted, calibrated, evaluated and promoted.

    Attributes:
        value_model: "single" = one LightGBM regressor on the signed net-profit label (one booster whose raw
            output is the prediction in currency, so its TreeSHAP values are additive in currency);
            "hurdle" = P(buys) x E[net | buys] + (1 - P(buys)) x E[net | no purchase] from three boosters
            (each explainable on its own, the product is not additive);
            "hurdle_lognormal" = the same with a log-normal spend model (as in zero-inflated log-normal CLV models):
            E[net | buys] = exp(mu(x)) x smearing, mu from an L2 booster on log(net) of buyers with a positive net,
            the smearing factor mean(exp(residual)) measured on the calibration slice (Duan's estimator);
            "tweedie" = Tweedie (log link, `tweedie_variance_power`) on the non-negative part max(net, 0) plus an
            L2 booster on the loss part min(net, 0) (returns and cost to serve of customers who lose money):
            exp(raw gain) + raw loss (the loss part is additive in currency, the gain part in log currency).
            `bench/objectives.py` compares them; the default is chosen from that table (docs/model-quality.md).
        tweedie_variance_power: Tweedie power p in (1, 2) of the "tweedie" model (1 = Poisson, 2 = Gamma).
        single_objective: loss of the single model: "huber" (robust to whales) or "regression" (L2; unbiased
            for the mean, so aggregate revenue adds up).
        huber_alpha: Huber transition point in currency; None = the 90th percentile of |y - median(y)| on the
            training rows (scale-free default).
        lightgbm: hyper-parameters of the value boosters (see `LightGBMParams`).
        churn_lightgbm: hyper-parameters of the churn classifier. Smaller trees and bigger leaves than the value
            model: the same customers repeat across cutoffs, so small leaves memorise them. Demo company, 3 folds,
            365 days: mean AUC 0.798 with 7 leaves / 200 rows / lr 0.05, 0.810 with lr 0.02 (persistence 0.798);
            31 leaves / 50 rows scored 0.809 vs 0.832 on the 2024-12 fold.
        value_scale_correction: multiply the single value booster's leaf values by sum(actual) / sum(predicted)
            (Huber estimates something between the median and the mean, so it under-predicts right-skewed
            totals). Scaling every leaf keeps one booster whose raw output is the prediction, so TreeSHAP stays
            additive in currency. Ignored for the hurdle model.
        value_scale_basis: where that ratio is measured. "in_sample": on the training rows of the final booster
            (the loss's own shrink, no label is held out, so nothing overlaps). "out_of_time": on the calibration
            slice, predicted by boosters fitted one horizon earlier (the shrink times one horizon of drift of the
            per-customer value). Demo company, folds 2024-06/09/12: mean bias 0.94 in-sample vs 0.67 out of time
            (its value per customer fell from 2021 to 2023 and rose in 2024, so the drift measured one horizon
            earlier has the wrong sign); see docs/model-quality.md.
        value_scale_season_days: with `in_sample` and a horizon under a year, the ratio is measured on the
            training cutoffs whose day of year is within this many days of the date the model scores at (one
            horizon after its latest cutoff, `models.purged.season_matched_cutoffs`), when there are any; else
            on every training row. Huber's shrink of the total follows the season (demo company, 90 days:
            actual / predicted 0.97 on April cutoffs, 1.87 on November ones), so one factor over the whole year
            over-corrected a quiet horizon (1.23) and under-corrected the peak (0.86). None: every training row.
        early_stopping_rounds: stop when the validation loss has not improved for N rounds; None disables early
            stopping (then no validation slice is needed for the boosters).
        validation_share: share k/n of the n distinct training cutoffs in each validation slice (at least one
            cutoff): early stopping watches the k cutoffs before the latest k, and the total correction, the
            conformal interval and the churn calibration use the latest k. Each slice is predicted by boosters
            fitted only on cutoffs one horizon (the label horizon) before it, so no validated label overlaps a
            fitted one (`models.purged.purged_slices`); the cutoffs must therefore span more than one horizon.
            Shorter histories shrink the slices, then share one, then (cutoffs within one horizon) hold out
            without an embargo; each fallback is a note on the model, never silent.
        refit_full: refit the final value and churn boosters on every cutoff with the early-stopped number of
            rounds, so the most recent behaviour is learned too (the churn calibrator, fitted on the held-out
            predictions of the same configuration one horizon earlier, is kept, as in scikit-learn's
            CalibratedClassifierCV(ensemble=False); the churn classifier is refitted only when its calibration
            slice is embargoed). Without it the final boosters are the calibration ones.
        interval_quantiles: (low, high) quantiles of the per-customer value interval (P10/P90).
        interval_bins: residual quantiles are computed per bin of the predicted value (Mondrian split conformal),
            so big customers get wide intervals and small ones narrow intervals.
        interval_residuals: "relative": conformal residuals normalized by s(pred) = max(|pred|, floor), the
            interval is pred + s(pred) x the bin's quantiles (the calibration booster corrected by its own in-sample
            shrink); "relative_zero": the same with "bought nothing" scored -1 for every positive prediction,
            also below the floor (`models.conformal.zero_atom_score`); "relative_zero_upper" (default): the lower bound
            `relative`'s, the upper bound `relative_zero`'s, so a bin whose P90 customer bought nothing gives an upper
            bound of 0 at any prediction level (CDNOW April 0.387 -> 0.881; every demo and Online Retail fold
            unchanged: their P90 customers bought something); "quantile": conformalized quantile regression
            (P10 / P90 boosters on the customers' own features, finite-sample offsets relative to their width on the
            calibration slice; four more boosters, about twice the value model's fit time); "absolute": raw residuals in currency. Relative by the backtests: P10-P90 coverage within
            0.80 +- 0.03 on every fold of the demo company and Online Retail (docs/model-quality.md).
        interval_season_match: relative intervals with a season-matched total correction (horizons under a year):
            the calibration residuals are re-expressed at the scoring date's time of year, by the final booster's
            in-sample shrink on the calibration slice over its shrink on every row (`FutureValueModel.
            _season_interval_ratio`). Demo company, 90 days, 2 x 10 monthly folds: mean |coverage - 0.80| 0.027 /
            0.031 -> 0.022 / 0.023 (docs/model-quality.md).
        interval_new_customer_days: Mondrian by customer age: customers with `tenure_days` below it (or unknown)
            and the others each get their own conformal table (per prediction bin), when the calibration slice
            holds at least `interval_min_segment_customers` of each; None = one table for every customer. Off by
            default: with 180, new customers' mean |coverage - 0.80| over the demo company's folds 0.10-0.11 ->
            0.04-0.05, the aggregate's not better (docs/model-quality.md: coverage by customer age).
        interval_min_segment_customers: fewest calibration customers in each age segment (new, established) for
            `interval_new_customer_days` to give them their own tables; fewer: one table, with a note (100).
        interval_calibration_cutoffs: the conformal residuals of the calibration slice pooled with those of the
            cutoffs before it (this many cutoffs in all; single Huber model, relative residuals), each predicted by
            a booster fitted at least one horizon before it and re-expressed at the scoring season. 1 by
            measurement: with 3, the demo company's 90-day folds 0.022 -> 0.019 mean |coverage - 0.80|, but
            Online Retail 0.014 -> 0.045 and the 365-day folds 0.014 -> 0.032 (docs/model-quality.md).
        interval_scale_floor_quantile: the floor of s(pred): this quantile of |pred| on the calibration slice
            (0.5: the median), so small predictions get an interval in currency rather than a vanishing one.
        calibration: churn probability calibrator: "isotonic" or "sigmoid" (Platt). Sigmoid by measurement: equal
            or better Brier on both backtests and no plateaus (isotonic ties customers, which costs AUC).
        use_btyd_features: add BG/NBD + Gamma-Gamma outputs (fitted per cutoff on that cutoff's history) as
            extra feature columns.
        btyd_penalizer: L2 penalizer of the BTYD fits.
        primary_metrics: backtest metrics (names from `models.backtest`) that decide promotion of a challenger.
        promotion_tolerance: how much worse than the champion a new model may be on a primary metric, in any one
            backtest fold, and still be promoted (paired fold by fold, in the metric's own units, direction from
            `models.metrics.METRIC_DIRECTIONS`); one number for every metric or a mapping metric -> tolerance
            (metrics not in the mapping get 0). It absorbs the noise of refitting, not a real loss.
        promotion_baseline: the baseline the new model must beat on every primary metric (mean over folds).
        min_training_customers: fewest distinct customers in a training set; fewer is refused with a message.
        backtest_folds: rolling-origin folds.
        backtest_step_months: months between consecutive fold cutoffs.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    value_model: Literal["hurdle", "hurdle_lognormal", "single", "tweedie"]
    tweedie_variance_power: float = Field(gt=1.0, lt=2.0)
    single_objective: Literal["huber", "regression"]
    huber_alpha: float | None = Field(gt=0.0)
    lightgbm: LightGBMParams
    churn_lightgbm: LightGBMParams
    value_scale_correction: bool
    value_scale_basis: Literal["in_sample", "out_of_time"]
    value_scale_season_days: int | None = Field(ge=0)
    early_stopping_rounds: int | None = Field(gt=0)
    validation_share: float = Field(gt=0.0, lt=1.0)
    refit_full: bool
    interval_quantiles: tuple[float, float]
    interval_bins: int = Field(ge=1)
    interval_residuals: Literal["absolute", "relative", "relative_zero", "relative_zero_upper", "quantile"]
    interval_scale_floor_quantile: float = Field(ge=0.0, le=1.0)
    interval_season_match: bool
    interval_new_customer_days: int | None = Field(ge=1)
    interval_min_segment_customers: int = Field(ge=1)
    interval_calibration_cutoffs: int = Field(ge=1)
    calibration: Literal["isotonic", "sigmoid"]
    use_btyd_features: bool
    btyd_penalizer: float = Field(ge=0.0)
    primary_metrics: tuple[str, ...]
    promotion_tolerance: float | dict[str, float]
    promotion_baseline: Literal["persistence", "past_rate", "btyd", "btyd_no_purchase"]
    min_training_customers: int = Field(ge=1)
    backtest_folds: int = Field(ge=1)
    backtest_step_months: int = Field(ge=1)

    @field_validator("interval_quantiles")
    @classmethod
    def _quantiles_ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        lo, hi = value
        if not 0.0 < lo < hi < 1.0:
            raise ValueError(f"interval_quantiles must satisfy 0 < low < high < 1, got {value}")
        return value

    @field_validator("primary_metrics")
    @classmethod
    def _metrics_known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Imported lazily: metrics imports nothing from here, but keep config importable on its own.
        from models.metrics import METRIC_DIRECTIONS

        unknown = [m for m in value if m not in METRIC_DIRECTIONS]
        if unknown:
            raise ValueError(f"unknown primary_metrics {unknown}; known: {sorted(METRIC_DIRECTIONS)}")
        if not value:
            raise ValueError("primary_metrics needs at least one metric")
        return value

    @field_validator("promotion_tolerance")
    @classmethod
    def _tolerance_known(cls, value: float | dict[str, float]) -> float | dict[str, float]:
        from models.metrics import METRIC_DIRECTIONS

        values = value.values() if isinstance(value, dict) else [value]
        if any(not v >= 0 for v in values):
            raise ValueError(f"promotion_tolerance must be >= 0, got {value}")
        unknown = [m for m in value if m not in METRIC_DIRECTIONS] if isinstance(value, dict) else []
        if unknown:
            raise ValueError(f"promotion_tolerance names unknown metrics {unknown}")
        return value

    def tolerance_for(self, metric: str) -> float:
        tol = self.promotion_tolerance
        return float(tol.get(metric, 0.0)) if isinstance(tol, dict) else float(tol)

    @model_validator(mode="after")
    def _huber_only_with_huber(self) -> ModelConfig:
        if self.huber_alpha is not None and self.single_objective != "huber":
            raise ValueError("huber_alpha is only used with single_objective='huber'")
        return self
