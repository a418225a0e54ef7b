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
}


def fold_sets(
    data: str, cache: Path, customers: int, seed: int, overrides: dict[str, dict[str, Any]] | None = None
) -> tuple[list[tuple], Any]:
    """[(cutoff, training set, evaluation rows)] of every backtest fold, and the config (`overrides`: section ->
    settings, e.g. {"labels": {"horizon_days": 90}}, applied to the dataset's configuration)."""
    from bench.objectives import load_cdnow, load_demo, load_online_retail
    from features.training import build_training_set, truncate_tables
    from models.backtest import evaluation_rows, fold_cutoffs

    if data == "demo":
        tables, cfg, as_of = load_demo(customers, seed)
    elif data == "cdnow":
        tables, cfg, as_of = load_cdnow(Path(os.environ["CDNOW_MASTER"]))
    else:
        tables, cfg, as_of = load_online_retail()
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


def score_variant(sets: list[tuple], cfg: Any, overrides: dict[str, Any]) -> pd.DataFrame:
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
        model = FutureValueModel(mc).fit(
            X,
            train[f"label_net_profit_{h}d"],
            cutoff=train["cutoff"],
            bought=bought,
            horizon_days=h,
            scoring_date=None if overrides.get("_last_cutoff_plus_h") else t,
        )
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
        table = score_variant(sets, cfg, VARIANTS[name])
        print(f"\n== {args.data} {name} ({time.perf_counter() - t:.0f} s, load {os.getloadavg()[0]:.1f}) ==")
        print(table.round(3).to_string())
        print(verdict(table))


if __name__ == "__main__":
    main()
