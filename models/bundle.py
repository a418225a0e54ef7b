"""`CustomerValueModel`: the one fitted object that scores a feature table (value, interval, churn).

Table contract
    fit(training_set): one row per (customer_id, cutoff) from `features.training.build_training_set`: columns
        `customer_id`, `cutoff`, feature columns (float64; `profile_*` category), labels
        `label_net_profit_{h}d`, `label_orders_{h}d`, `label_churned_{h}d` (others ignored). Early stopping,
        interval residuals and churn calibration use the latest cutoffs (by time, never random rows), each
        predicted by boosters fitted one horizon h earlier (`models.purged.purged_slices`).
    predict(feature_table): one row per customer at one cutoff (e.g. `features.table.build_feature_table`,
        index customer_id); the feature columns must match the training contract (`check_contract` lists the
        problems; categories may arrive as strings and unseen categories score as missing). Returns a frame
        indexed like the input with
        - `pred_value_{h}d`: expected net profit over the next h days (margin - returns - cost to serve), in
          currency. It is an expectation over everything that can happen, churn included: a customer likely to
          leave already has a low value, so it must NOT be multiplied by (1 - churn probability) again.
        - `pred_value_p10_{h}d`, `pred_value_p90_{h}d`: per-customer interval (quantiles from the config; the
          column names follow them, e.g. p10/p90).
        - `pred_churn_prob_{h}d`: calibrated probability of no purchase (or an explicit cancellation) in the
          next h days.
        - `pred_expected_net_value_{h}d`: equal to `pred_value_{h}d` (the expected net value already weighs the
          churn risk); kept as its own column so reports can name it plainly.

Scoring never refits anything. The object is plain Python + lightgbm/sklearn objects, so it pickles with
cloudpickle; the drift reference (`drift_reference_`) is a plain dict of decile edges and proportions per
feature and per prediction column.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from features.config import FEATURE_SETTINGS_BEFORE, LABEL_SETTINGS_BEFORE, FeatureConfig, LabelConfig
from models.churn import REFIT_STRAYED, ChurnModel
from models.config import ModelConfig
from models.drift import psi
from models.explain import spread_check_rows
from models.feature_contract import FeatureContract, feature_columns
from models.threads import prediction_threads
from models.value import SMEARING_NOT_APPLIED, FutureValueModel

DRIFT_SAMPLE_ROWS = 200_000
#: Rows on which `binary_probability` compares its probabilities with LightGBM's own, bit for bit.
_PROBABILITY_CHECK_ROWS = 1024


def binary_probability(booster: Any, X: pd.DataFrame, raw: np.ndarray) -> np.ndarray:
    """`booster.predict(X)` of a binary LightGBM booster, bit for bit, from its raw score `raw` (issue 14).

    LightGBM converts a raw score with `1 / (1 + exp(-sigmoid * raw))`, its `exp` being the C library's; Python's
    `math.exp` is that same function (numpy's vectorised `exp` is not: on the bench's churn model it differs in
    the last bit on 704 of 40,000 rows). So the probability costs a pass of `math.exp` instead of a second
    prediction. Checked on `_PROBABILITY_CHECK_ROWS` rows spread over X, first and last included, against
    LightGBM's own prediction (`models.explain.spread_check_rows`, the raw score's check; was: the head rows only,
    and a chunk's rows come sorted by customer id): another objective, another sigmoid or another `exp` gives
    LightGBM's own prediction of every row instead.
    """
    raw = np.asarray(raw, dtype=np.float64)
    params = getattr(booster, "params", {}) or {}
    threads = prediction_threads()
    if len(raw) <= _PROBABILITY_CHECK_ROWS or params.get("objective") != "binary":
        return np.asarray(booster.predict(X, num_threads=threads), dtype=np.float64)
    scaled = (-float(params.get("sigmoid", 1.0)) * raw).tolist()
    prob = 1.0 / (1.0 + np.fromiter(map(math.exp, scaled), dtype=np.float64, count=len(scaled)))
    rows = spread_check_rows(len(raw), _PROBABILITY_CHECK_ROWS)
    if not np.array_equal(prob[rows], np.asarray(booster.predict(X.iloc[rows], num_threads=threads))):
        return np.asarray(booster.predict(X, num_threads=threads), dtype=np.float64)
    return prob


def _quantile_name(q: float) -> str:
    return f"p{round(q * 100):02d}"


def numeric_reference(values: np.ndarray, n_bins: int = 10) -> dict[str, object]:
    """Decile bin edges of the non-missing values and the share of rows per bin, plus the missing share.

    Bins are (-inf, e1], (e1, e2], ..., (ek, inf) with duplicate edges removed, so a constant column has one bin.
    """
    v = np.asarray(values, dtype=np.float64)
    present = v[~np.isnan(v)]
    missing = float(np.mean(np.isnan(v))) if len(v) else 0.0
    if len(present) == 0:
        return {"kind": "numeric", "edges": [], "proportions": [], "missing": missing}
    edges = np.unique(np.quantile(present, np.linspace(0, 1, n_bins + 1)[1:-1]))
    counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=len(edges) + 1)
    return {
        "kind": "numeric",
        "edges": edges.tolist(),
        "proportions": (counts / len(v)).tolist(),
        "missing": missing,
    }


def categorical_reference(values: pd.Series) -> dict[str, object]:
    """Share of rows per category (as str) and the missing share."""
    s = values.astype("str").where(values.notna())
    shares = s.value_counts(dropna=True, normalize=False) / max(len(s), 1)
    return {
        "kind": "categorical",
        "categories": [str(k) for k in shares.index],
        "proportions": shares.to_numpy(dtype=float).tolist(),
        "missing": float(s.isna().mean()) if len(s) else 0.0,
    }


def reference_proportions(reference: dict[str, object], values: pd.Series | np.ndarray) -> np.ndarray:
    """Shares of `values` in the reference's bins (numeric) or categories (+ one "other"), then missing."""
    if reference["kind"] == "numeric":
        v = np.asarray(values, dtype=np.float64)
        present = v[~np.isnan(v)]
        edges = np.asarray(reference["edges"], dtype=np.float64)
        counts = np.bincount(np.searchsorted(edges, present, side="left"), minlength=len(edges) + 1)
        props = counts / max(len(v), 1)
        return np.append(props, np.mean(np.isnan(v)) if len(v) else 0.0)
    s = pd.Series(values)
    s = s.astype("str").where(s.notna())
    cats = list(reference["categories"])
    counts = s.value_counts(dropna=True)
    known = np.array([counts.get(c, 0) for c in cats], dtype=float)
    other = float(counts.sum() - known.sum())
    n = max(len(s), 1)
    return np.concatenate([known / n, [other / n, s.isna().sum() / n]])


def expected_shares(reference: dict[str, object]) -> np.ndarray:
    """The reference's own shares in the bins `reference_proportions` counts (numeric: bins then missing;
    categorical: categories, "other" (0), then missing)."""
    if reference["kind"] == "numeric":
        ref = np.append(np.asarray(reference["proportions"], dtype=float), reference["missing"])
    else:
        ref = np.concatenate([np.asarray(reference["proportions"], dtype=float), [0.0, reference["missing"]]])
    if len(ref) == 1:  # all-missing reference: one (empty) bin of values, then the missing share
        ref = np.array([0.0, 1.0])
    return ref


def population_stability_index(reference: dict[str, object], values: pd.Series | np.ndarray) -> float:
    """PSI (`models.drift.psi`) of `values` against the reference bins (+ missing)."""
    return psi(expected_shares(reference), reference_proportions(reference, values))


class CustomerValueModel:
    """Feature contract + value model (+ interval) + calibrated churn model for one horizon.

    Fitted attributes: `contract_` (FeatureContract), `value_model_` (FutureValueModel), `churn_model_`
    (ChurnModel), `drift_reference_` (dict), `training_cutoffs_` (list of ISO dates), `n_training_rows_`,
    `notes_` (warnings collected while fitting).

    The model carries its contract: besides the feature names and dtypes, the settings that give the features
    and the population their meaning (`feature_config`, `label_config` with the eligibility rules, the
    `mapping_digest` of the foreign-schema mapping, `horizon_days`). Scoring builds features with these, not
    with whatever configuration the scoring run was given. They are None in models pickled before they existed
    (read them with `getattr(bundle, "feature_config", None)`).

    It also carries the lookalike model for customers in their first weeks (`lookalike_`, a
    `models.lookalike.LookalikeModel`, fitted and backtested by `cvp train`; see `attach_lookalike`), so scoring
    never refits it. None when too few new customers were there to fit one (`lookalike_note_` says why) and in
    bundles pickled before it existed: the class attributes below are what those read.
    """

    lookalike_: object | None = None
    #: the training set's as-of (ISO date; None in bundles pickled before it was recorded): `season_note`
    as_of_: str | None = None
    lookalike_note_: str = (
        "this model was registered before models carried a lookalike model (retrain to add one)"
    )

    def __init__(
        self,
        horizon_days: int,
        config: ModelConfig,
        feature_config: FeatureConfig | None = None,
        label_config: LabelConfig | None = None,
        mapping_digest: str | None = None,
        data_settings: dict[str, Any] | None = None,
    ) -> None:
        self.horizon_days = horizon_days
        self.config = config
        self.feature_config = feature_config
        self.label_config = label_config
        self.mapping_digest = mapping_digest
        self.data_settings = data_settings

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle; a `label_config` or `feature_config` pickled before one of its settings existed gets the
        behaviour it was trained with (`features.config.LABEL_SETTINGS_BEFORE`, `FEATURE_SETTINGS_BEFORE`)."""
        self.__dict__.update(state)
        for name, kind, before in (
            ("label_config", LabelConfig, LABEL_SETTINGS_BEFORE),
            ("feature_config", FeatureConfig, FEATURE_SETTINGS_BEFORE),
        ):
            settings = state.get(name)
            if settings is not None:
                missing = {k: v for k, v in before.items() if k not in vars(settings)}
                if missing:
                    setattr(self, name, kind.model_validate(settings.model_dump() | missing))

    def contract_settings(self) -> dict[str, object] | None:
        """The stored settings as plain data (None for a model saved before models carried them)."""
        feats = getattr(self, "feature_config", None)
        labels = getattr(self, "label_config", None)
        if feats is None or labels is None:
            return None
        return {
            "features": feats.model_dump(mode="json"),
            "labels": labels.model_dump(mode="json"),
            "mapping_digest": getattr(self, "mapping_digest", None),
            "horizon_days": self.horizon_days,
            # what the training data's money and naive timestamps were in (None: saved before models carried it)
            "data": getattr(self, "data_settings", None),
        }

    def attach_lookalike(self, model: object | None, note: str = "") -> CustomerValueModel:
        """Carry the fitted lookalike model (or None, with the reason in `note`) with this bundle."""
        self.lookalike_ = model
        self.lookalike_note_ = note
        return self

    # -- column names --------------------------------------------------------------------------------------
    @property
    def output_columns(self) -> list[str]:
        h = self.horizon_days
        lo, hi = (_quantile_name(q) for q in self.config.interval_quantiles)
        return [
            f"pred_value_{h}d",
            f"pred_value_{lo}_{h}d",
            f"pred_value_{hi}_{h}d",
            f"pred_churn_prob_{h}d",
            f"pred_expected_net_value_{h}d",
        ]

    # -- fit -----------------------------------------------------------------------------------------------
    def fit(
        self,
        training_set: pd.DataFrame,
        as_of: pd.Timestamp | None = None,
        drift_rows: pd.DataFrame | None = None,
        drift_dates: list[str] | None = None,
        sampled: bool = False,
    ) -> CustomerValueModel:
        """Fit both models on a training set (see the module docstring for the columns it needs); `as_of`, the
        date the training set was built at, is when the model scores (the season-matched total correction's
        time of year; default: one horizon after the latest cutoff, up to a month earlier). `drift_rows`: the
        feature rows the drift reference is built from, taken at `drift_dates` (`pipelines.drift_reference`: the
        base scored at the as-of and one and two months earlier); None: the training rows. `sampled`: those rows
        are a customer sample's (`--sample-customers`), so the model's base is larger than they are."""
        h = self.horizon_days
        needed = [f"label_net_profit_{h}d", f"label_churned_{h}d", "cutoff"]
        missing = [c for c in needed if c not in training_set.columns]
        if missing:
            raise KeyError(
                f"training set lacks {missing} (is horizon_days={h} the horizon it was built for?)"
            )
        if training_set[["customer_id", "cutoff"]].duplicated().any():
            raise ValueError("training set has duplicate (customer_id, cutoff) rows")
        X = training_set[feature_columns(training_set)]
        cutoff = training_set["cutoff"]
        orders_col = f"label_orders_{h}d"
        bought = training_set[orders_col].to_numpy() > 0 if orders_col in training_set.columns else None
        self.contract_ = FeatureContract.from_frame(X)
        self.value_model_ = FutureValueModel(self.config).fit(
            X,
            training_set[f"label_net_profit_{h}d"],
            cutoff=cutoff,
            bought=bought,
            horizon_days=h,
            scoring_date=as_of,
        )
        self.churn_model_ = ChurnModel(self.config).fit(
            X, training_set[f"label_churned_{h}d"], cutoff=cutoff, horizon_days=h
        )
        self.notes_ = list(dict.fromkeys([*self.value_model_.notes_, *self.churn_model_.notes_]))
        self.training_cutoffs_ = [pd.Timestamp(c).date().isoformat() for c in np.sort(cutoff.unique())]
        self.as_of_ = None if as_of is None else pd.Timestamp(as_of).date().isoformat()
        self.n_training_rows_ = len(training_set)
        rows = X if drift_rows is None or not len(drift_rows) else drift_rows[self.contract_.names]
        self.drift_reference_ = self._drift_reference(rows)
        self.drift_reference_["dates"] = (
            list(drift_dates or []) if rows is not X else list(self.training_cutoffs_)
        )
        if sampled:
            self.drift_reference_["sampled"] = True
        return self

    def _drift_reference(self, X: pd.DataFrame) -> dict[str, object]:
        # A fixed-seed sample keeps the cost bounded on millions of rows; deciles are stable at 200k. `base_rows`:
        # the rows before it (the customers the base had at its dates, `pipelines.engines.drift.reference_customers`)
        base_rows = len(X)
        if len(X) > DRIFT_SAMPLE_ROWS:
            X = X.sample(DRIFT_SAMPLE_ROWS, random_state=self.config.lightgbm.seed)
        feats: dict[str, object] = {}
        for c in self.contract_.names:
            if self.contract_.dtypes[c] == "category":
                feats[c] = categorical_reference(X[c])
            else:
                feats[c] = numeric_reference(X[c].to_numpy(dtype=np.float64, na_value=np.nan))
        preds = self.predict(X)
        return {
            "n_rows": len(X),
            "base_rows": base_rows,
            "features": feats,
            "predictions": {c: numeric_reference(preds[c].to_numpy()) for c in self.output_columns},
        }

    def scoring_warnings(self) -> list[str]:
        """The notes of the fit that say the model scores otherwise than its settings say (the churn classifier
        refitted on every cutoff set aside for the calibrated one, `REFIT_STRAYED`; the spend model's smearing
        factor not applied, `SMEARING_NOT_APPLIED`): `cvp train` prints them as warnings, and so does every
        `cvp score` of the model, into its manifest's `warnings` (was: said once at the training; a batch job
        scoring the champion never told). Empty for a model fitted before `notes_` existed. Then what its training
        said of its data (`data_warnings_`, set by `cvp train`: an export that stopped, its latest cutoffs' labels
        and features read without the missing rows or values)."""
        fitted = [n for n in self.fit_notes() if n.startswith((REFIT_STRAYED, SMEARING_NOT_APPLIED))]
        return fitted + list(getattr(self, "data_warnings_", []))

    def fit_notes(self) -> list[str]:
        """Every note of the value and churn models' fits, once each (`notes_` as `fit` stored it; empty for a
        model fitted before it existed): `scoring_warnings` among them, the others recorded by `cvp score` in its
        manifest's `model_notes`."""
        return list(getattr(self, "notes_", []))

    def season_note(self, as_of: Any) -> str | None:
        """Why this model's totals do not fit the time of year of `as_of`, or None. Under a year of horizon, the
        total correction (and the interval's season ratio) is measured at the time of year of the training set's
        as-of (`models.value_scale_season_days`, `models.purged.season_matched_cutoffs`): scored more than that
        many days away from it in the year, the totals carry another season's correction (was: used without a
        word; a 90-day demo model trained as of 1 October predicted a total 17% above the one its correction at
        1 April gives). Not judged when the correction was not matched to the season or the model was registered
        before it recorded its as-of."""
        from models.purged import days_in_year

        matched = getattr(getattr(self, "value_model_", None), "scale_cutoffs_", None)
        within = getattr(self.config, "value_scale_season_days", None)
        if not matched or within is None or self.as_of_ is None:
            return None
        away = abs(days_in_year(pd.Timestamp(self.as_of_), pd.Timestamp(as_of)))
        if away <= within:
            return None
        return (
            f"the {self.horizon_days}-day model's total correction was measured at the time of year of its training "
            f"as-of {self.as_of_} (training cutoffs {', '.join(matched)}); --as-of {pd.Timestamp(as_of).date()} is "
            f"{away} days from it in the year, more than models.value_scale_season_days ({within}): the predicted "
            "totals and intervals carry that season's correction; retrain as of this date (`cvp train --as-of`)"
        )

    # -- predict -------------------------------------------------------------------------------------------
    def check_contract(self, frame: pd.DataFrame) -> list[str]:
        """Human-readable problems of a feature table against the training contract (empty = fine)."""
        problems = self.contract_.problems(frame)
        return problems + self._row_problems(frame)

    def grade_contract(self, frame: pd.DataFrame) -> tuple[list[str], dict[str, dict[str, int]], list[str]]:
        """Contract problems graded: (refusals, unseen categories, ignored columns); see `FeatureContract.grade`.

        Refusals (missing feature columns, wrong dtypes, duplicate rows) mean the model cannot score the frame;
        unseen categories are scored as missing and ignored columns are not read: both are reported, neither stops
        a run.
        """
        fatal, unseen, ignored = self.contract_.grade(frame)
        return fatal + self._row_problems(frame), unseen, ignored

    @staticmethod
    def _row_problems(frame: pd.DataFrame) -> list[str]:
        found = []
        if frame.index.duplicated().any():
            found.append("the index has duplicate rows (one row per customer expected)")
        if "customer_id" in frame.columns and frame["customer_id"].duplicated().any():
            found.append("customer_id is not unique")
        return found

    def predict(self, feature_table: pd.DataFrame) -> pd.DataFrame:
        """Predictions for every row of the feature table, indexed like it (columns: `output_columns`); the churn
        booster predicts each row once, its raw score (`predict_from_raw`)."""
        Xt = self.contract_.apply(feature_table)
        booster = self.churn_model_.booster_
        churn_raw = np.asarray(
            booster.predict(Xt, raw_score=True, num_threads=prediction_threads()), dtype=np.float64
        )
        return self.predict_from_raw(feature_table, Xt, None, churn_raw)

    def predict_from_raw(
        self,
        feature_table: pd.DataFrame,
        Xt: pd.DataFrame,
        value_raw: np.ndarray | None,
        churn_raw: np.ndarray,
    ) -> pd.DataFrame:
        """`predict` from raw scores already made (scoring takes them from the explainer's pass, issue 14):
        `value_raw` the value booster's raw score (None: predicted here; given only for an explainable value
        booster, whose raw score is `pred_value_{h}d`), `churn_raw` the churn booster's; `Xt` is
        `contract_.apply(feature_table)`. The churn probability is computed from its raw score exactly as
        LightGBM does (`binary_probability`): the same bits as predicting again."""
        if value_raw is None:
            value = self.value_model_._predict_t(Xt)
        elif self.value_model_.explainable_booster is None:
            raise ValueError("a value raw score is the prediction only for a single value booster")
        else:
            value = np.asarray(value_raw, dtype=np.float64)
        lo, hi = self.value_model_.interval_from_prediction(value, Xt)
        churn = self.churn_model_.calibrate(binary_probability(self.churn_model_.booster_, Xt, churn_raw))
        cols = self.output_columns
        return pd.DataFrame(
            {cols[0]: value, cols[1]: lo, cols[2]: hi, cols[3]: churn, cols[4]: value},
            index=feature_table.index,
        )

    def explainable_boosters(self) -> dict[str, object]:
        """Boosters whose exact TreeSHAP explains a prediction column.

        "value": the single value model's booster, additive in currency for `pred_value_{h}d` (absent for the
        hurdle model, whose parts are in `value_model_.boosters_`); "churn": the churn classifier's booster,
        in log-odds of the uncalibrated probability.
        """
        out: dict[str, object] = {"churn": self.churn_model_.booster_}
        if self.value_model_.explainable_booster is not None:
            out["value"] = self.value_model_.explainable_booster
        return out

    @property
    def feature_names(self) -> list[str]:
        return list(self.contract_.names)

    @property
    def feature_contract(self) -> FeatureContract:
        return self.contract_
