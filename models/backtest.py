"""Rolling-origin backtest of the value and churn models against the baselines.

Time semantics. The tables are first cut at `as_of` (nothing at or after it exists). Fold cutoffs step back
from the month start at or before `as_of - horizon`: t_0, t_0 - step, ... (`backtest_folds` of them, month
starts). For fold t:
- training set = `build_training_set(tables, as_of=t, ...)`: every training cutoff c has c + h <= t and the
  tables are truncated to events before t, so the fold reads nothing at or after t to fit;
- evaluation rows = the customers eligible at t with features from events before t and labels from
  [t, t + h) (the single-cutoff training set at as_of = t + h);
- our models (one or more `ModelConfig` candidates) and every baseline are fitted on the training set and
  scored on the evaluation rows; baselines see only the tables truncated at t.

Output (`BacktestResult`)
- `metrics`: tidy frame, one row per (fold, cutoff, model, metric) with `value` (metric names from
  `models.metrics`; "AUC (buys again)" is `auc_buys`, of the model's purchase probability 1 - churn, beside
  `auc_buys_value`, of its value prediction); `summary`: mean and std over
  folds per (model, metric); `predictions`: (fold, model, customer_id, cutoff, pred_value, pred_churn_prob,
  actual_value, actual_churned); `gain_curves`, `decile_tables`, `calibration_curves`: plot data with fold and
  model columns; `notes`: warnings (BTYD fits that failed, missing baseline scores that were filled);
  `fold_totals`: one row per (fold, cutoff, model) with `predicted_total`, `actual_total` and `bias` =
  predicted / actual (the data of a predicted-vs-actual total plot per fold); `bias_table()` puts each fold's
  bias beside the mean, so a seasonal miss on one fold is not averaged away.
Missing baseline predictions (a BTYD fit failure) are filled with 0 value and the training churn rate, and
counted in `notes`, so every model is scored on the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.config import FeatureConfig, LabelConfig
from features.dates import MIN_DATE
from features.errors import StructuralError
from features.seasonal import NO_SEASONAL_HISTORY
from features.training import CustomerSample, build_training_set, truncate_tables
from models import metrics as mt
from models.baselines import BTYDBaseline, PastRateBaseline, PersistenceBaseline, add_btyd_features
from models.bundle import CustomerValueModel
from models.config import ModelConfig
from models.feature_contract import feature_columns
from models.tier_config import TierConfig
from models.tiers import assign_tiers

OUR_MODEL = "model"


@dataclass
class BacktestResult:
    """Everything a backtest measured (see the module docstring)."""

    metrics: pd.DataFrame
    predictions: pd.DataFrame
    gain_curves: pd.DataFrame
    decile_tables: pd.DataFrame
    calibration_curves: pd.DataFrame
    fold_cutoffs: list[pd.Timestamp]
    notes: list[str] = field(default_factory=list)
    #: (fold, cutoff, tier, model, metric, value): every model scored within the tiers our model assigns at t
    metrics_by_tier: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def evaluated_cutoffs(self) -> list[pd.Timestamp]:
        """The fold cutoffs whose models were scored, oldest first: `fold_cutoffs` less the folds skipped for too
        little data (no rows, too few customers, one churn class; said in `notes`). The means cover these only."""
        if self.metrics.empty:
            return []
        return [self.fold_cutoffs[k] for k in sorted(set(self.metrics["fold"].astype(int)))]

    @property
    def fold_totals(self) -> pd.DataFrame:
        """(fold, cutoff, model, predicted_total, actual_total, bias): the totals each fold's horizon held.

        `bias` = predicted_total / actual_total (1 = the total is right; NaN when the actual total is 0). The
        data of a predicted-vs-actual total plot, one point per fold and model.
        """
        cols = ["fold", "cutoff", "model", "predicted_total", "actual_total", "bias"]
        if self.predictions.empty:
            return pd.DataFrame(columns=cols)
        g = self.predictions.groupby(["fold", "cutoff", "model"], sort=True)
        out = g.agg(predicted_total=("pred_value", "sum"), actual_total=("actual_value", "sum")).reset_index()
        actual = out["actual_total"].where(out["actual_total"] != 0)
        return out.assign(bias=out["predicted_total"] / actual)[cols]

    def bias_table(self) -> pd.DataFrame:
        """Models as rows; one column of predicted/actual total per fold cutoff (ISO date), then `mean`."""
        totals = self.fold_totals
        if totals.empty:
            return pd.DataFrame()
        wide = totals.assign(cutoff=pd.to_datetime(totals["cutoff"]).dt.strftime("%Y-%m-%d")).pivot(
            index="model", columns="cutoff", values="bias"
        )
        return wide.assign(mean=wide.mean(axis=1))

    @property
    def summary_by_tier(self) -> pd.DataFrame:
        """Mean, std and fold count per (tier, model, metric)."""
        if self.metrics_by_tier.empty:
            return pd.DataFrame(columns=["tier", "model", "metric", "mean", "std", "folds"])
        g = self.metrics_by_tier.groupby(["tier", "model", "metric"], sort=True)["value"]
        return g.agg(mean="mean", std="std", folds="count").reset_index()

    @property
    def summary(self) -> pd.DataFrame:
        """Mean, std and fold count per (model, metric)."""
        g = self.metrics.groupby(["model", "metric"], sort=True)["value"]
        return g.agg(mean="mean", std="std", folds="count").reset_index()

    def table(self, metrics: list[str] | None = None) -> pd.DataFrame:
        """Models as rows, "mean +- std" strings as columns (for reports and the console)."""
        s = self.summary
        if metrics is not None:
            s = s[s["metric"].isin(metrics)]
        cells = s.assign(
            cell=[f"{m:.3f} +- {sd:.3f}" for m, sd in zip(s["mean"], s["std"].fillna(0.0), strict=True)]
        )
        return cells.pivot(index="model", columns="metric", values="cell")


def fold_cutoffs(as_of: pd.Timestamp, horizon_days: int, folds: int, step_months: int) -> list[pd.Timestamp]:
    """Fold cutoffs, ascending: month start at or before as_of - horizon, then back every `step_months`."""
    last = (pd.Timestamp(as_of) - pd.Timedelta(days=horizon_days)).to_period("M").to_timestamp()
    if (last.year - MIN_DATE.year) * 12 + last.month - 1 < (folds - 1) * step_months:
        raise StructuralError(  # was: `unexpected ValueError: year 0 is out of range` (or an overflow)
            f"{folds} backtest folds every {step_months} month(s), the latest one at {last.date()}, reach back "
            f"before {MIN_DATE.year}, where no data can be: lower --folds (models.backtest_folds) or "
            "models.backtest_step_months"
        )
    cuts = [last - pd.DateOffset(months=k * step_months) for k in range(folds)]
    return sorted(pd.Timestamp(c).as_unit("ns") for c in cuts)


def evaluation_rows(
    tables: Mapping[str, pd.DataFrame],
    cutoff: pd.Timestamp,
    horizon_days: int,
    feature_config: FeatureConfig,
    label_config: LabelConfig,
    sample: CustomerSample | None = None,
) -> pd.DataFrame:
    """Eligible customers at `cutoff`: features from events before it, labels from [cutoff, cutoff + h)."""
    one = label_config.model_copy(update={"n_cutoffs": 1})
    rows = build_training_set(
        tables, cutoff + pd.Timedelta(days=horizon_days), horizon_days, feature_config, one, sample
    )
    if len(rows) and (rows["cutoff"] != cutoff).any():
        raise ValueError(f"fold cutoff {cutoff.date()} must be a month start (training cutoffs are)")
    return rows


def _score(
    fold: int,
    cutoff: pd.Timestamp,
    name: str,
    pred: pd.DataFrame,
    actual: np.ndarray,
    churned: np.ndarray,
    low: np.ndarray | None = None,
    high: np.ndarray | None = None,
) -> tuple[list[dict[str, object]], dict[str, pd.DataFrame]]:
    value = pred["pred_value"].to_numpy(dtype=np.float64)
    out = mt.value_metrics(actual, value, low, high)
    churn = pred["pred_churn_prob"].to_numpy(dtype=np.float64)
    plots = {
        "gain": mt.gain_curve(actual, value),
        "decile": mt.decile_table(actual, value),
    }
    if not np.isnan(churn).all():
        out.update(mt.churn_metrics(churned, churn))
        plots["calibration"] = mt.calibration_curve(churned, churn)
    out.update(mt.buys_again_metrics(actual, value, churn))
    rows = [{"fold": fold, "cutoff": cutoff, "model": name, "metric": k, "value": v} for k, v in out.items()]
    tagged = {k: v.assign(fold=fold, model=name) for k, v in plots.items()}
    return rows, tagged


def _tier_metrics(
    fold: int,
    cutoff: pd.Timestamp,
    evaluation: pd.DataFrame,
    scored: Mapping[str, tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None]],
    actual: np.ndarray,
    churned: np.ndarray,
    tier_config: TierConfig,
    h: int,
) -> list[dict[str, object]]:
    """Every model's metrics within each tier that our model's predictions put customers in at the fold cutoff."""
    ours = scored[OUR_MODEL][0]
    frame = evaluation.reset_index(drop=True).assign(
        **{
            f"pred_value_{h}d": ours["pred_value"].to_numpy(),
            f"pred_expected_net_value_{h}d": ours["pred_value"].to_numpy(),
            f"pred_churn_prob_{h}d": ours["pred_churn_prob"].to_numpy(),
        }
    )
    tiers = assign_tiers(frame, tier_config, h)["tier"].astype("str").to_numpy()
    rows: list[dict[str, object]] = []
    for tier in sorted(set(tiers)):
        m = tiers == tier
        if m.sum() < 10:  # too few customers for a ranking metric to mean anything
            continue
        for name, (pred, _, _) in scored.items():
            value = pred["pred_value"].to_numpy(dtype=np.float64)[m]
            out = mt.value_metrics(actual[m], value)
            churn = pred["pred_churn_prob"].to_numpy(dtype=np.float64)[m]
            if not np.isnan(churn).all() and 0 < churned[m].sum() < m.sum():
                out.update(mt.churn_metrics(churned[m], churn))
            rows += [
                {"fold": fold, "cutoff": cutoff, "tier": tier, "model": name, "metric": k, "value": v}
                for k, v in out.items()
            ]
    return rows


def run_backtest(
    tables: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    horizon_days: int,
    feature_config: FeatureConfig,
    label_config: LabelConfig,
    model_config: ModelConfig,
    candidates: Mapping[str, ModelConfig | tuple[ModelConfig, FeatureConfig]] | None = None,
    baselines: tuple[str, ...] = ("persistence", "past_rate", "btyd", "btyd_no_purchase"),
    tier_config: TierConfig | None = None,
    sample: CustomerSample | None = None,
) -> BacktestResult:
    """Rolling-origin backtest (see the module docstring).

    `candidates` optionally scores several model configurations side by side (name -> config, or
    (config, feature config) for a candidate whose features are built with its own settings, e.g. the
    champion's stored ones) on the same folds and the same customers; by default the one `model_config` is reported as "model". Fold count and spacing come from
    `model_config.backtest_folds` / `backtest_step_months`. `baselines` names the baselines to score
    ("persistence", "past_rate", "btyd", "btyd_no_purchase"; the last two fit BTYD separately). With `sample`
    (`tables` hold a sample of the customers), the folds' rows are the sampled customers', company values from
    the whole base (`features.training.build_training_set`).
    """
    as_of = pd.Timestamp(as_of)
    h = horizon_days
    tables = truncate_tables(tables, as_of)
    cands = dict(candidates) if candidates is not None else {OUR_MODEL: model_config}
    cuts = fold_cutoffs(as_of, h, model_config.backtest_folds, model_config.backtest_step_months)
    rows: list[dict[str, object]] = []
    plots: dict[str, list[pd.DataFrame]] = {"gain": [], "decile": [], "calibration": []}
    preds: list[pd.DataFrame] = []
    notes: list[str] = []
    tier_rows: list[dict[str, object]] = []
    seen: set[str] = set()  # a model note repeated on every fold is said once, on the first
    for fold, t in enumerate(cuts):
        train = build_training_set(tables, t, h, feature_config, label_config, sample)
        evaluation = evaluation_rows(tables, t, h, feature_config, label_config, sample)
        if train.empty or evaluation.empty:
            notes.append(f"fold {fold} ({t.date()}): no training or evaluation rows, skipped")
            continue
        n_churned = int(train[f"label_churned_{h}d"].sum())
        if train["customer_id"].nunique() < model_config.min_training_customers or n_churned in (
            0,
            len(train),
        ):
            notes.append(
                f"fold {fold} ({t.date()}): {train['customer_id'].nunique()} customers, {n_churned} of "
                f"{len(train)} rows churned: too little to fit (fewer than {model_config.min_training_customers} "
                "customers or one churn class only), skipped"
            )
            continue
        known = truncate_tables(tables, t)  # what a scorer at t could see
        season = [c for c in evaluation.columns if str(c).startswith("season_company_index_")]
        if season and evaluation[season].isna().all().all():
            notes.append(
                f"fold {fold} ({t.date()}): the predicted total is {NO_SEASONAL_HISTORY} (less than a year of "
                "orders before the fold and no features.seasonal_profile)"
            )
        actual = evaluation[f"label_net_profit_{h}d"].to_numpy(dtype=np.float64)
        churned = evaluation[f"label_churned_{h}d"].to_numpy(dtype=np.float64)
        btyd_ready: tuple[pd.DataFrame, pd.DataFrame] | None = None

        scored: dict[str, tuple[pd.DataFrame, np.ndarray | None, np.ndarray | None]] = {}
        for name, spec in cands.items():
            cfg, own_features = spec if isinstance(spec, tuple) else (spec, feature_config)
            tr, ev = train, evaluation
            if own_features != feature_config:
                # Same fold, same customers (eligibility does not depend on feature settings), own features.
                tr = build_training_set(tables, t, h, own_features, label_config, sample)
                ev = evaluation_rows(tables, t, h, own_features, label_config, sample)
                ev = ev.set_index("customer_id").loc[evaluation["customer_id"]].reset_index()
            if cfg.use_btyd_features and own_features != feature_config:
                tr, n1 = add_btyd_features(tr, tables, h, cfg.btyd_penalizer)
                ev, n2 = add_btyd_features(ev, known, h, cfg.btyd_penalizer)
            elif cfg.use_btyd_features:
                if btyd_ready is None:
                    tr_b, n1 = add_btyd_features(train, tables, h, cfg.btyd_penalizer)
                    ev_b, n2 = add_btyd_features(evaluation, known, h, cfg.btyd_penalizer)
                    notes += [f"fold {fold}: {n}" for n in n1 + n2]
                    btyd_ready = (tr_b, ev_b)
                tr, ev = btyd_ready
            model = CustomerValueModel(h, cfg).fit(tr, as_of=t)
            # The model's own notes (a short history without an embargo, capped interval ranks) belong to the fold.
            notes += [
                f"fold {fold} ({t.date()}) {name}: {n}" for n in model.notes_ if f"{name}: {n}" not in seen
            ]
            seen.update(f"{name}: {n}" for n in model.notes_)
            out = model.predict(ev[feature_columns(ev)])
            cols = model.output_columns
            pred = pd.DataFrame({"pred_value": out[cols[0]], "pred_churn_prob": out[cols[3]]})
            scored[name] = (pred, out[cols[1]].to_numpy(), out[cols[2]].to_numpy())

        train_churn_rate = float(train[f"label_churned_{h}d"].mean())
        for base in (
            PersistenceBaseline(h),
            PastRateBaseline(h),
            BTYDBaseline(
                h, model_config.btyd_penalizer, "dead", feature_config.margin_rate_when_cost_missing
            ),
            BTYDBaseline(
                h, model_config.btyd_penalizer, "no_purchase", feature_config.margin_rate_when_cost_missing
            ),
        ):
            if base.name in baselines:
                base.fit(train)
                pred = base.predict(evaluation, known)
                n_missing = int(pred["pred_value"].isna().sum())
                if n_missing:
                    notes.append(f"fold {fold}: {base.name} had no prediction for {n_missing} rows (filled)")
                pred = pred.assign(pred_value=pred["pred_value"].fillna(0.0))
                if base.name != "past_rate":
                    pred = pred.assign(pred_churn_prob=pred["pred_churn_prob"].fillna(train_churn_rate))
                notes += [f"fold {fold}: {n}" for n in getattr(base, "notes_", [])]
                scored[base.name] = (pred, None, None)

        if tier_config is not None and OUR_MODEL in scored:
            tier_rows += _tier_metrics(fold, t, evaluation, scored, actual, churned, tier_config, h)
        for name, (pred, low, high) in scored.items():
            r, p = _score(fold, t, name, pred, actual, churned, low, high)
            rows += r
            for k, v in p.items():
                plots[k].append(v)
            preds.append(
                pd.DataFrame(
                    {
                        "fold": fold,
                        "model": name,
                        "customer_id": evaluation["customer_id"].to_numpy(),
                        "cutoff": t,
                        "pred_value": pred["pred_value"].to_numpy(),
                        "pred_churn_prob": pred["pred_churn_prob"].to_numpy(),
                        "actual_value": actual,
                        "actual_churned": churned,
                    }
                )
            )

    def cat(parts: list[pd.DataFrame]) -> pd.DataFrame:
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    return BacktestResult(
        metrics=pd.DataFrame(rows, columns=["fold", "cutoff", "model", "metric", "value"]),
        predictions=cat(preds),
        gain_curves=cat(plots["gain"]),
        decile_tables=cat(plots["decile"]),
        calibration_curves=cat(plots["calibration"]),
        fold_cutoffs=cuts,
        notes=notes,
        metrics_by_tier=pd.DataFrame(
            tier_rows, columns=["fold", "cutoff", "tier", "model", "metric", "value"]
        ),
    )


@dataclass(frozen=True)
class PromotionDecision:
    """Whether a new model may replace the champion, and why (with the per-fold numbers)."""

    promote: bool
    reason: str


def decide_promotion(
    metrics: pd.DataFrame,
    primary: tuple[str, ...] | list[str],
    config: ModelConfig,
    candidate: str = OUR_MODEL,
    champion: str | None = "champion",
) -> PromotionDecision:
    """The promotion gate over one backtest's per-fold metrics (`BacktestResult.metrics`).

    Promote only when, for every primary metric,
    - in every fold where both were scored, the candidate is no worse than the champion by more than
      `config.tolerance_for(metric)` (paired: same fold, same rows; direction from `METRIC_DIRECTIONS`), and
    - the candidate's mean over folds is above chance (`models.metrics.CHANCE_LEVELS`: AUC 0.5, Gini and
      Spearman 0) and better than `config.promotion_baseline`'s.
    `champion=None` (or absent from `metrics`) skips the first test only: there is nothing to compare against.
    A primary metric the candidate has no value for blocks promotion.
    """
    lo, hi = config.interval_quantiles
    nominal = hi - lo
    base = config.promotion_baseline
    m = metrics.dropna(subset=["value"])
    has_champion = champion is not None and (m["model"] == champion).any()
    blocked: list[str] = []
    passed: list[str] = []
    for metric in primary:
        mine = m[(m["model"] == candidate) & (m["metric"] == metric)].set_index("fold")["value"]
        if mine.empty:
            blocked.append(f"{metric}: no backtest value for the new model")
            continue
        tol = config.tolerance_for(metric)
        if has_champion:
            theirs = m[(m["model"] == champion) & (m["metric"] == metric)].set_index("fold")["value"]
            folds = sorted(set(mine.index) & set(theirs.index))
            per_fold = []
            worse = False
            for f in folds:
                gap = mt.metric_loss(metric, mine[f], nominal) - mt.metric_loss(metric, theirs[f], nominal)
                per_fold.append(f"fold {f} {mine[f]:.4f} vs {theirs[f]:.4f}")
                worse |= gap > tol + 1e-12
            text = f"{metric} ({mt.METRIC_DIRECTIONS[metric]} is better, tolerance {tol:g}) new vs champion: "
            text += "; ".join(per_fold) if per_fold else "no common fold"
            if worse or not folds:
                blocked.append(text)
            else:
                passed.append(text)
        chance = mt.CHANCE_LEVELS.get(metric)
        if chance is not None and not float(mine.mean()) > chance:
            blocked.append(f"{metric} mean new {float(mine.mean()):.4f}: no better than chance ({chance:g})")
            continue
        baseline = m[(m["model"] == base) & (m["metric"] == metric)]["value"]
        if baseline.empty:
            passed.append(f"{metric}: no {base} baseline value to compare with")
            continue
        mean_new, mean_base = float(mine.mean()), float(baseline.mean())
        text = f"{metric} mean new {mean_new:.4f} vs {base} {mean_base:.4f}"
        if mt.metric_loss(metric, mean_new, nominal) < mt.metric_loss(metric, mean_base, nominal):
            passed.append(text)
        else:
            blocked.append(f"{text} (not better than the baseline)")
    head = "" if has_champion else "no champion to compare with; "
    if blocked:
        also = f" | passed: {' | '.join(passed)}" if passed else ""
        return PromotionDecision(False, head + "not promoted: " + " | ".join(blocked) + also)
    return PromotionDecision(True, head + "promoted: " + " | ".join(passed))
