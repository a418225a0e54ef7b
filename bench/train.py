"""Benchmark: training-set build, model fit and rolling-origin backtest at scale.

Usage:
    .venv/bin/python bench/train.py [--customers 200000] [--cutoffs 12] [--folds 3] [--n-jobs 2]
        [--seed 7] [--skip-backtest]

Generates a company with `pipelines.demo.generate_company(customers, 2021-01-01, 2025-12-31, seed)` (not
timed), then times
  (1) features: `build_training_set` at as_of 2025-12-31, horizon 365 days, `--cutoffs` monthly cutoffs;
  (2) fit: `CustomerValueModel.fit` (value model + interval + calibrated churn model + drift reference);
  (3) backtest: `run_backtest` with `--folds` folds (3-month steps), our model plus the persistence and
      past-rate baselines (and BTYD when `models.btyd` exists; BTYD time is part of the backtest figure).
Prints one line per step with seconds and rows, then the total and the load average at the start and the end
(on a shared machine the figures depend on it). LightGBM's OpenMP threads wait passively (`models/__init__.py`);
set OMP_WAIT_POLICY to compare another policy. Target: under 10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.config import LabelConfig  # noqa: E402
from features.training import build_training_set  # noqa: E402
from models.backtest import run_backtest  # noqa: E402
from models.bundle import CustomerValueModel  # noqa: E402
from models.config import ModelConfig  # noqa: E402
from pipelines.config import load_config  # noqa: E402
from pipelines.demo import generate_company  # noqa: E402

AS_OF = pd.Timestamp("2025-12-31")
HORIZON_DAYS = 365


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--cutoffs", type=int, default=12)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-backtest", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)

    load_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    tables = generate_company(args.customers, "2021-01-01", "2025-12-31", args.seed).tables
    print(f"generate   {time.perf_counter() - t0:8.1f} s  (not counted)  orders={len(tables['orders']):,}")

    # The product's defaults (the cutoff step included), with the benchmark's own horizon, cutoffs, threads, folds.
    cfg = load_config()
    fc = cfg.features
    lc = LabelConfig.model_validate(
        {
            **cfg.labels.model_dump(),
            "horizon_days": HORIZON_DAYS,
            "n_cutoffs": args.cutoffs,
        }
    )
    lightgbm = {**cfg.models.lightgbm.model_dump(), "n_jobs": args.n_jobs}
    mc = ModelConfig.model_validate(
        {**cfg.models.model_dump(), "lightgbm": lightgbm, "backtest_folds": args.folds}
    )
    timings: dict[str, float] = {}

    t = time.perf_counter()
    ts = build_training_set(tables, AS_OF, HORIZON_DAYS, fc, lc)
    timings["features"] = time.perf_counter() - t
    print(f"features   {timings['features']:8.1f} s  rows={len(ts):,} columns={ts.shape[1]}")

    t = time.perf_counter()
    model = CustomerValueModel(HORIZON_DAYS, mc).fit(ts)
    timings["fit"] = time.perf_counter() - t
    trees = {k: b.num_trees() for k, b in model.explainable_boosters().items()}
    print(f"fit        {timings['fit']:8.1f} s  value_model={mc.value_model} trees={trees}")

    if not args.skip_backtest:
        baselines = ("persistence", "past_rate") + (
            ("btyd",) if importlib.util.find_spec("models.btyd") else ()
        )
        t = time.perf_counter()
        res = run_backtest(tables, AS_OF, HORIZON_DAYS, fc, lc, mc, baselines=baselines)
        timings["backtest"] = time.perf_counter() - t
        print(f"backtest   {timings['backtest']:8.1f} s  folds={len(res.fold_cutoffs)} baselines={baselines}")
        keys = [
            "value_norm_gini",
            "value_top20_capture",
            "value_aggregate_bias",
            "churn_roc_auc",
            "churn_brier",
        ]
        print(res.table(keys).to_string())

    print(
        f"total      {sum(timings.values()):8.1f} s  ("
        + ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
        + f"); load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
        + f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}"
    )


if __name__ == "__main__":
    main()
