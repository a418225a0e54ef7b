"""Benchmark: interval and ranking variants of the value model, fold by fold, on the backtest folds.

Usage:
    .venv/bin/python bench/intervals.py [--data demo|online_retail|cdnow] [--variants a,b] [--cache DIR]
        [--horizon-days H] [--cutoff-step-months N] [--n-cutoffs N] [--fold-step-months N] [--folds N]

Fits only the value model (`models.value.FutureValueModel`, as `models.bundle.CustomerValueModel` fits it) on each
fold's training set of the `cvp backtest` protocol (`models.backtest.run_backtest`: same folds, same evaluation
customers; `--data cdnow`: the held-out CDNOW file named by the environment variable CDNOW_MASTER, read by
`bench.objectives.load_cdnow`) and prints, per fold and variant: P10-P90 coverage, the share above P90 and below P10, predicted /
actual total, top-20% capture, Spearman, normalized Gini and AUC of the value for "buys again" (`auc_buys_value`),
`cov_new` / `cov_old`, the coverage among customers younger / older than 180 days (`tenure_days`), and
`total_sd`: the bootstrap standard deviation (200 resamples of the fold's customers) of log(predicted / actual
total), how much the fold's total moves with which customers happen to be in it. Then, per variant, the folds
within the bars (total 0.9-1.1, coverage 0.77-0.83) and the mean |log(predicted / actual)| and |coverage - 0.80|.
The variant `last_cutoff_plus_h` aims the season-matched total correction one horizon after the latest cutoff
(as before `scoring_date`), every other variant at the fold's date, as `cvp backtest` does. Training and
evaluation sets are cached per fold in `--cache` (built once; delete the directory after a feature change).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import metrics as mt  # noqa: E402
from models.config import ModelConfig  # noqa: E402

#: customers younger than this (days of tenure) are "new" in the per-age coverage columns
NEW_DAYS = 180

#: variant name -> `models` config overrides
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    # the season-matched total correction aimed at one horizon after the latest cutoff instead of the fold's date
    "last_cutoff_plus_h": {"_last_cutoff_plus_h": True},
    "absolute": {"interval_residuals": "absolute"},
    "zero_atom": {"interval_residuals": "relative_zero"},
    "floor_0.3": {"interval_scale_floor_quantile": 0.3},
    "no_season_interval": {"interval_season_match": False},
    "bins_5": {"interval_bins": 5},
    "bins_20": {"interval_bins": 20},
    "new_180": {"interval_new_customer_days": 180},
    "new_365": {"interval_new_customer_days": 365},
    "one_table": {"interval_new_customer_days": None},
    "pool_2": {"interval_calibration_cutoffs": 2},
    "pool_3": {"interval_calibration_cutoffs": 3},
    "quantile": {"interval_residuals": "quantile"},
    "zero_upper": {"interval_residuals": "relative_zero_upper"},
    "relative": {"interval_residuals": "relative"},
    # the final refit also learns from the month starts after the latest training cutoff, their label windows cut
    # at the fold's date (at least a third of the horizon) and scaled up to the horizon, weighted by the share seen
    "recent_partial": {"_recent_partial": 1 / 3},
    "recent_partial_half": {"_recent_partial": 1 / 2},
}


def fold_sets(
    data: str, cache: Path, customers: int, seed: int, overrides: dict[str, dict[str, Any]] | None = None
) -> tuple[list[tuple], Any]:
    """[(cutoff, training set, evaluation rows)] of every backtest fold, and the config (`overrides`: section ->
    settings, e.g. {"labels": {"horizon_days": 90}}, applied to the dataset's configuration)."""
    from bench.objectives import load_dataset
    from features.training import build_training_set, truncate_tables
    from models.backtest import evaluation_rows, fold_cutoffs

    tables, cfg, as_of = load_dataset(data, customers, seed)
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    if overrides:
        cfg = type(cfg).model_validate(
            {**cfg.model_dump(), **{k: {**getattr(cfg, k).model_dump(), **v} for k, v in overrides.items()}}
        )
    h = cfg.labels.horizon_days
    tag = "".join(f"_{k}{v}" for sec in overrides.values() for k, v in sorted(sec.items()))
    path = cache / f"{data}_{customers}_{seed}{tag}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes()), cfg
    tables = truncate_tables(tables, as_of)
    out = []
    for t in fold_cutoffs(as_of, h, cfg.models.backtest_folds, cfg.models.backtest_step_months):
        train = build_training_set(tables, t, h, cfg.features, cfg.labels)
        ev = evaluation_rows(tables, t, h, cfg.features, cfg.labels)
        out.append((t, train, ev))
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out, cfg


def recent_partial_rows(tables: dict, fold: pd.Timestamp, cfg: Any, min_share: float) -> pd.DataFrame | None:
    """Rows of the month starts c after the latest training cutoff of `fold` (every `cutoff_step` months) whose
    label window [c, fold) holds at least `min_share` of the horizon, with `days_seen` = (fold - c) in days:
    features from the events before c, labels from the orders before the fold only (the tables are cut at the
    fold's date first, so nothing at or after it is read). None when no month start qualifies."""
    from features.training import training_cutoffs, truncate_tables
    from models.backtest import evaluation_rows

    h = cfg.labels.horizon_days
    step = cfg.labels.step_months(h)
    known = truncate_tables(tables, fold)
    c = training_cutoffs(fold, h, cfg.labels)[-1] + pd.DateOffset(months=step)
    parts = []
    while (fold - c).days >= min_share * h:
        rows = evaluation_rows(known, pd.Timestamp(c), h, cfg.features, cfg.labels)
        parts.append(rows.assign(days_seen=(fold - c).days))
        c = c + pd.DateOffset(months=step)
    return pd.concat(parts, ignore_index=True) if parts else None


def partial_rows(data: str, cache: Path, customers: int, seed: int, cfg: Any, min_share: float) -> dict:
    """{fold cutoff: `recent_partial_rows`} for every backtest fold of the dataset. Cached."""
    from bench.objectives import load_dataset
    from models.backtest import fold_cutoffs

    h = cfg.labels.horizon_days
    path = cache / f"partial_{data}_{customers}_{seed}_{h}_{cfg.labels.n_cutoffs}_{min_share:.3f}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    tables, _, as_of = load_dataset(data, customers, seed)
    folds = fold_cutoffs(as_of, h, cfg.models.backtest_folds, cfg.models.backtest_step_months)
    out = {t: recent_partial_rows(tables, t, cfg, min_share) for t in folds}
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out


def _refit_with(extra_X: pd.DataFrame, extra_y: np.ndarray, extra_w: np.ndarray):
    """A `models.boosters.fit_booster` (as `models.value` calls it) whose final refit (on every row) also fits the
    extra rows, weighted; early stopping and the calibration booster see the training rows only (so the interval's
    residuals and the total correction, measured on the training rows, keep their meaning)."""
    import models.value as mv
    from models.boosters import _trimmed

    original = mv.fit_booster

    def fit_booster(estimator, X, y, slices, config, refit):
        final, held = original(estimator, X, y, slices, config, False)
        if held is None or not refit:
            return final, held
        rounds = int(estimator.n_estimators)
        Xa = pd.concat([X, mv.FeatureContract.from_frame(X).apply(extra_X)], ignore_index=True)
        ya = np.concatenate([y, extra_y])
        wa = np.concatenate([np.ones(len(y)), extra_w])
        estimator.set_params(n_estimators=rounds)
        estimator.fit(Xa, ya, sample_weight=wa)
        return _trimmed(estimator, rounds), held

    return original, fit_booster


def score_variant(
    sets: list[tuple], cfg: Any, overrides: dict[str, Any], partial: dict | None = None
) -> pd.DataFrame:
    import models.value as mv
    from models.feature_contract import feature_columns
    from models.value import FutureValueModel

    h = cfg.labels.horizon_days
    mc = ModelConfig.model_validate(
        {**cfg.models.model_dump(), **{k: v for k, v in overrides.items() if not k.startswith("_")}}
    )
    rows = []
    for t, train, ev in sets:
        X = train[feature_columns(train)]
        bought = train[f"label_orders_{h}d"].to_numpy() > 0
        extra = None if partial is None else partial.get(t)
        if extra is not None:
            seen = extra["days_seen"].to_numpy(np.float64)
            ey = extra[f"label_net_profit_{h}d"].to_numpy(np.float64) * h / seen
            original, mv.fit_booster = _refit_with(extra[X.columns], ey, seen / h)
        try:
            model = FutureValueModel(mc).fit(
                X,
                train[f"label_net_profit_{h}d"],
                cutoff=train["cutoff"],
                bought=bought,
                horizon_days=h,
                scoring_date=None if overrides.get("_last_cutoff_plus_h") else t,
            )
        finally:
            if extra is not None:
                mv.fit_booster = original
        Xe = ev[feature_columns(ev)]
        pred = model.predict(Xe)
        low, high = model.interval_from_prediction(pred, Xe)
        y = ev[f"label_net_profit_{h}d"].to_numpy(np.float64)
        m = mt.value_metrics(y, pred, low, high)
        inside = (y >= low) & (y <= high)
        new = ~(ev["tenure_days"].to_numpy(np.float64) >= NEW_DAYS)
        rows.append(
            {
                "fold": t.strftime("%Y-%m"),
                "p10-p90": m["value_interval_coverage"],
                "above": float(np.mean(y > high)),
                "below": float(np.mean(y < low)),
                "cov_new": float(inside[new].mean()) if new.any() else float("nan"),
                "cov_old": float(inside[~new].mean()) if (~new).any() else float("nan"),
                "pred/actual": m["value_aggregate_bias"],
                "top20": m["value_top20_capture"],
                "spearman": m["value_spearman"],
                "gini": m["value_norm_gini"],
                "auc_buys_value": mt.buys_again_auc(y, pred),
                "total_sd": _bootstrap_sd(y, pred),
            }
        )
    return pd.DataFrame(rows).set_index("fold")


def _bootstrap_sd(actual: np.ndarray, pred: np.ndarray, draws: int = 200) -> float:
    """Standard deviation of log(sum(pred) / sum(actual)) over bootstrap resamples of the customers (seeded)."""
    rng = np.random.default_rng(0)
    logs = []
    for _ in range(draws):
        i = rng.integers(0, len(actual), len(actual))
        a, p = actual[i].sum(), pred[i].sum()
        if a > 0 and p > 0:
            logs.append(np.log(p / a))
    return float(np.std(logs)) if logs else float("nan")


def verdict(table: pd.DataFrame) -> str:
    """Folds within the bars and the mean distances from them, one line."""
    bias, cov = table["pred/actual"].to_numpy(), table["p10-p90"].to_numpy()
    n = len(table)
    by_age = {k: np.nanmean(np.abs(table[k].to_numpy() - 0.8)) for k in ("cov_new", "cov_old")}
    return (
        f"total within 0.9-1.1 on {int(((bias >= 0.9) & (bias <= 1.1)).sum())}/{n} folds, mean |log(pred/actual)| "
        f"{np.mean(np.abs(np.log(bias))):.3f}; coverage within 0.77-0.83 on "
        f"{int(((cov >= 0.77) & (cov <= 0.83)).sum())}/{n}, mean |coverage - 0.80| {np.mean(np.abs(cov - 0.8)):.3f}; "
        f"of customers younger / older than {NEW_DAYS} days {by_age['cov_new']:.3f} / {by_age['cov_old']:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("demo", "online_retail", "cdnow"), default="online_retail")
    parser.add_argument("--variants", default="default")
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path(".bench_cache"))
    parser.add_argument("--horizon-days", type=int, help="override labels.horizon_days")
    parser.add_argument("--cutoff-step-months", type=int, help="override labels.cutoff_step_months")
    parser.add_argument("--n-cutoffs", type=int, help="override labels.n_cutoffs")
    parser.add_argument("--fold-step-months", type=int, help="override models.backtest_step_months")
    parser.add_argument("--folds", type=int, help="override models.backtest_folds")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", message="Mean of empty slice")  # no customer under 180 days (CDNOW)
    pd.set_option("display.width", 200)
    labels = {
        "horizon_days": args.horizon_days,
        "cutoff_step_months": args.cutoff_step_months,
        "n_cutoffs": args.n_cutoffs,
    }
    overrides = {
        "labels": {k: v for k, v in labels.items() if v is not None},
        "models": {
            k: v
            for k, v in {"backtest_step_months": args.fold_step_months, "backtest_folds": args.folds}.items()
            if v is not None
        },
    }
    sets, cfg = fold_sets(args.data, args.cache, args.customers, args.seed, overrides)
    print(
        f"load average at the start: {os.getloadavg()[0]:.1f}; folds {[t.date().isoformat() for t, _, _ in sets]}"
    )
    for name in [v.strip() for v in args.variants.split(",") if v.strip()]:
        t = time.perf_counter()
        share = VARIANTS[name].get("_recent_partial")
        partial = None
        if share:
            partial = partial_rows(args.data, args.cache, args.customers, args.seed, cfg, share)
        table = score_variant(sets, cfg, VARIANTS[name], partial)
        print(f"\n== {args.data} {name} ({time.perf_counter() - t:.0f} s, load {os.getloadavg()[0]:.1f}) ==")
        print(table.round(3).to_string())
        print(verdict(table))


if __name__ == "__main__":
    main()
