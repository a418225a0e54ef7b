"""Benchmark: training time with monthly against two-monthly training cutoffs, in one run (`labels.cutoff_step_months`).

Usage:
    .venv/bin/python bench/cutoff_step.py [--customers 20000] [--horizon-days 90] [--steps 1,2] [--repeats 2]

Generates a company with `pipelines.demo.generate_company(customers, 2021-01-01, 2025-12-31, seed)` (not timed),
then, for each step and repeat (steps interleaved, so a change in the machine's load hits both), times
`build_training_set` at as-of 2025-12-31 with the default number of cutoffs and `CustomerValueModel.fit` (value
model, interval, calibrated churn model), with the product's other defaults. Prints each step's median seconds,
rows and boosting rounds, and the ratio of every step to the first; the load average at the start and the end.
`labels.cutoff_step_months: auto` (the default) is 1 for horizons up to half a year and 2 for a year; a 365-day
horizon keeps 2, so `bench/train.py` (365 days) is unchanged by it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.config import LabelConfig  # noqa: E402
from features.training import build_training_set  # noqa: E402
from models.bundle import CustomerValueModel  # noqa: E402
from models.config import ModelConfig  # noqa: E402
from pipelines.config import load_config  # noqa: E402
from pipelines.demo import generate_company  # noqa: E402

AS_OF = pd.Timestamp("2025-12-31")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--horizon-days", type=int, default=90)
    parser.add_argument("--steps", default="1,2")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    steps = [int(s) for s in args.steps.split(",")]
    h = args.horizon_days
    load_start = os.getloadavg()[0]
    tables = generate_company(args.customers, "2021-01-01", "2025-12-31", args.seed).tables
    cfg = load_config()
    lightgbm = {**cfg.models.lightgbm.model_dump(), "n_jobs": args.n_jobs}
    churn = {**cfg.models.churn_lightgbm.model_dump(), "n_jobs": args.n_jobs}
    mc = ModelConfig.model_validate(
        {**cfg.models.model_dump(), "lightgbm": lightgbm, "churn_lightgbm": churn}
    )
    seconds: dict[int, dict[str, list[float]]] = {s: {"features": [], "fit": []} for s in steps}
    info: dict[int, str] = {}
    for _ in range(args.repeats):
        for step in steps:
            lc = LabelConfig.model_validate(
                {**cfg.labels.model_dump(), "horizon_days": h, "cutoff_step_months": step}
            )
            t = time.perf_counter()
            ts = build_training_set(tables, AS_OF, h, cfg.features, lc)
            seconds[step]["features"].append(time.perf_counter() - t)
            t = time.perf_counter()
            model = CustomerValueModel(h, mc, cfg.features, lc).fit(ts)
            seconds[step]["fit"].append(time.perf_counter() - t)
            trees = {k: b.num_trees() for k, b in model.explainable_boosters().items()}
            info[step] = f"rows={len(ts):,} cutoffs={ts['cutoff'].nunique()} trees={trees}"
    first = steps[0]
    base = {k: statistics.median(v) for k, v in seconds[first].items()}
    print(f"{args.customers:,} customers, horizon {h} days, {args.repeats} repeats (median seconds)")
    for step in steps:
        med = {k: statistics.median(v) for k, v in seconds[step].items()}
        total, base_total = sum(med.values()), sum(base.values())
        print(
            f"step {step} month(s): features {med['features']:6.1f} s  fit {med['fit']:6.1f} s  total "
            f"{total:6.1f} s  ratio to step {first}: {total / base_total:.2f} (fit {med['fit'] / base['fit']:.2f})"
            f"  {info[step]}"
        )
    print(f"load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
