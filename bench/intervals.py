"""Benchmark: interval and ranking variants of the value model, fold by fold, on the backtest folds.

Usage:
    .venv/bin/python bench/intervals.py [--data demo|online_retail] [--variants a,b] [--cache DIR]

Fits only the value model (`models.value.FutureValueModel`, as `models.bundle.CustomerValueModel` fits it) on each
fold's training set of the `cvp backtest` protocol (`models.backtest.run_backtest`: same folds, same evaluation
customers) and prints, per fold and variant: P10-P90 coverage, the share above P90 and below P10, predicted /
actual total, top-20% capture, Spearman, normalized Gini and AUC of the value for "buys again" (`auc_buys_value`). Training and
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

#: variant name -> `models` config overrides
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "absolute": {"interval_residuals": "absolute"},
    "floor_0.3": {"interval_scale_floor_quantile": 0.3},
}


def fold_sets(data: str, cache: Path, customers: int, seed: int) -> tuple[list[tuple], Any]:
    """[(cutoff, training set, evaluation rows)] of every backtest fold, and the config."""
    from bench.objectives import load_demo, load_online_retail
    from features.training import build_training_set, truncate_tables
    from models.backtest import evaluation_rows, fold_cutoffs

    tables, cfg, as_of = load_demo(customers, seed) if data == "demo" else load_online_retail()
    h = cfg.labels.horizon_days
    path = cache / f"{data}_{customers}_{seed}.pkl"
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
    from models.value import FutureValueModel, feature_columns

    h = cfg.labels.horizon_days
    mc = ModelConfig.model_validate({**cfg.models.model_dump(), **overrides})
    rows = []
    for t, train, ev in sets:
        X = train[feature_columns(train)]
        bought = train[f"label_orders_{h}d"].to_numpy() > 0
        model = FutureValueModel(mc).fit(
            X, train[f"label_net_profit_{h}d"], cutoff=train["cutoff"], bought=bought, horizon_days=h
        )
        Xe = ev[feature_columns(ev)]
        pred = model.predict(Xe)
        low, high = model.interval_from_prediction(pred)
        y = ev[f"label_net_profit_{h}d"].to_numpy(np.float64)
        m = mt.value_metrics(y, pred, low, high)
        rows.append(
            {
                "fold": t.strftime("%Y-%m"),
                "p10-p90": m["value_interval_coverage"],
                "above": float(np.mean(y > high)),
                "below": float(np.mean(y < low)),
                "pred/actual": m["value_aggregate_bias"],
                "top20": m["value_top20_capture"],
                "spearman": m["value_spearman"],
                "gini": m["value_norm_gini"],
                "auc_buys_value": mt.buys_again_auc(y, pred),
            }
        )
    return pd.DataFrame(rows).set_index("fold")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("demo", "online_retail"), default="online_retail")
    parser.add_argument("--variants", default="default")
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path(".bench_cache"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    pd.set_option("display.width", 200)
    sets, cfg = fold_sets(args.data, args.cache, args.customers, args.seed)
    for name in [v.strip() for v in args.variants.split(",") if v.strip()]:
        t = time.perf_counter()
        table = score_variant(sets, cfg, VARIANTS[name])
        print(f"\n== {args.data} {name} ({time.perf_counter() - t:.0f} s, load {os.getloadavg()[0]:.1f}) ==")
        print(table.round(3).to_string())


if __name__ == "__main__":
    main()
