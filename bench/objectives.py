"""Benchmark: value objectives side by side in the rolling-origin backtest, fold by fold, against the baselines.

Usage:
    .venv/bin/python bench/objectives.py [--data demo|online_retail|both] [--objectives huber,l2,...]
        [--customers 3000] [--seed 7] [--smoke]

Datasets (the `cvp backtest` protocol, `models.backtest.run_backtest`, every objective fitted on the same folds and
scored on the same customers):
  demo           `pipelines.demo.generate_company(customers, 2021-01-01, 2025-12-31, seed)`, the default config
                 (365-day horizon, folds 2024-06/09/12), as-of 2025-12-31;
  online_retail  ../shared/datasets/online_retail with configs/datasets/online_retail.yaml and
                 configs/online_retail.yaml (90-day horizon, folds 2011-07/08/09), as-of 2011-12-09, and
                 `features.margin_rate_when_cost_missing: 1.0` (the file has no cost: net value = revenue).
Objectives (`models.value_model` / `models.single_objective`, see `models.config.ModelConfig`):
  huber             one LightGBM booster, Huber loss on the signed net value (leaves rescaled to the total)
  l2                one booster, squared error on the signed net value
  tweedie           Tweedie (log link) on max(net, 0) plus an L2 booster on the loss part min(net, 0)
  hurdle            P(buys) x E[net | buys] (L2) + (1 - P(buys)) x E[net | no purchase]
  hurdle_lognormal  the same with a log-normal spend model (log(net) of buyers + Duan smearing)
Baselines: persistence and BG/NBD + Gamma-Gamma (its churn score: the closed-form P(no purchase in the horizon)).
Metrics per fold (`models.backtest.run_backtest`'s own): top-20% capture, Spearman, normalized Gini, AUC (buys
again) of each model's own purchase probability (`auc_buys`, event: actual net value > 0; ours 1 - the churn
model's probability, persistence 1 - its recency curve, BG/NBD 1 - P(no purchase)), AUC of the predicted value
for the same event (`auc_buys_value`; both from `models.metrics.buys_again_metrics`), MAE,
predicted / actual total, P10-P90 coverage (our models only). Then one line per objective: does it beat both
baselines on every fold on top-20% capture, Spearman, Gini and both AUCs?
`--smoke` runs a 300-customer demo company, 2 folds and every objective, boosters of at most 30 trees (a test runs
it: it checks the table, not the figures).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.backtest import run_backtest  # noqa: E402
from models.config import ModelConfig  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OBJECTIVES: dict[str, dict[str, Any]] = {
    "huber": {"value_model": "single", "single_objective": "huber"},
    "l2": {"value_model": "single", "single_objective": "regression", "huber_alpha": None},
    "tweedie": {"value_model": "tweedie"},
    "hurdle": {"value_model": "hurdle"},
    "hurdle_lognormal": {"value_model": "hurdle_lognormal"},
}
BASELINES = ("persistence", "btyd_no_purchase")
#: (column, metric name in `models.backtest.BacktestResult.metrics`)
COLUMNS = (
    ("top20", "value_top20_capture"),
    ("spearman", "value_spearman"),
    ("gini", "value_norm_gini"),
    ("auc_buys", "auc_buys"),
    ("auc_buys_value", "auc_buys_value"),
    ("mae", "value_mae"),
    ("pred/actual", "value_aggregate_bias"),
    ("p10-p90", "value_interval_coverage"),
)
SMOKE_TREES = 30
RANK_COLUMNS = ("top20", "spearman", "gini", "auc_buys", "auc_buys_value")


def candidates(base: ModelConfig, names: list[str]) -> dict[str, ModelConfig]:
    """One model configuration per objective name, everything else as configured."""
    unknown = [n for n in names if n not in OBJECTIVES]
    if unknown:
        raise SystemExit(f"unknown objectives {unknown}; known: {sorted(OBJECTIVES)}")
    out = {}
    for n in names:
        out[n] = ModelConfig.model_validate({**base.model_dump(), **OBJECTIVES[n]})
    return out


def fold_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per (fold cutoff, model): the `COLUMNS` metrics, as `run_backtest` scored them (both AUCs for buys
    again come from `models.metrics.buys_again_metrics`; `auc_buys` is NaN for a model without a churn score)."""
    wide = metrics.pivot_table(index=["cutoff", "model"], columns="metric", values="value")
    out = pd.DataFrame({col: wide.get(name, pd.Series(np.nan, index=wide.index)) for col, name in COLUMNS})
    out.index = out.index.set_levels(pd.to_datetime(out.index.levels[0]).strftime("%Y-%m"), level=0)
    return out


def verdict(table: pd.DataFrame, objectives: list[str]) -> pd.DataFrame:
    """Per objective and rank metric: the number of folds where it beats every baseline, out of the folds."""
    rows = []
    cutoffs = table.index.get_level_values(0).unique()
    for name in objectives:
        row: dict[str, Any] = {"objective": name}
        for col in RANK_COLUMNS:
            wins = 0
            for cut in cutoffs:
                mine = table.loc[(cut, name), col]
                best = max(table.loc[(cut, b), col] for b in BASELINES if (cut, b) in table.index)
                wins += int(mine > best)
            row[col] = f"{wins}/{len(cutoffs)}"
        rows.append(row)
    return pd.DataFrame(rows).set_index("objective")


def load_dataset(data: str, customers: int, seed: int) -> tuple[dict[str, pd.DataFrame], Any, pd.Timestamp]:
    """The tables, config and as-of of a bench dataset: `demo` (generated: `customers`, `seed`), `online_retail`,
    or `cdnow` (the held-out file named by the CDNOW_MASTER environment variable)."""
    if data == "demo":
        return load_demo(customers, seed)
    if data == "cdnow":
        return load_cdnow(Path(os.environ["CDNOW_MASTER"]))
    return load_online_retail()


def load_demo(customers: int, seed: int) -> tuple[dict[str, pd.DataFrame], Any, pd.Timestamp]:
    from pipelines.config import load_config
    from pipelines.demo import generate_company

    tables = generate_company(customers, "2021-01-01", "2025-12-31", seed).tables
    return tables, load_config(), pd.Timestamp("2025-12-31")


def load_online_retail() -> tuple[dict[str, pd.DataFrame], Any, pd.Timestamp]:
    from rich.console import Console

    from pipelines.train import load_for_modelling

    cfg, tables, as_of, _ = load_for_modelling(
        ROOT.parent / "shared" / "datasets" / "online_retail",
        ROOT / "configs" / "datasets" / "online_retail.yaml",
        ROOT / "configs" / "online_retail.yaml",
        {"features": {"margin_rate_when_cost_missing": 1.0}},
        "2011-12-09",
        Console(stderr=True, quiet=True),
    )
    return tables, cfg, as_of


def load_cdnow(master: Path) -> tuple[dict[str, pd.DataFrame], Any, pd.Timestamp]:
    """CDNOW (held out; `configs/datasets/cdnow.yaml` says where `CDNOW_master.txt` comes from) as docs/model-quality.md's
    protocol: Online Retail's config in USD, net value = revenue, as-of 1998-07-01 (folds 1998-02 / 03 / 04)."""
    import tempfile

    from rich.console import Console

    from pipelines.train import load_for_modelling

    raw = pd.read_csv(master, sep=r"\s+", dtype={"customer_id": str, "date": str})
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i:07d}" for i in range(len(raw))],
            "customer_id": raw["customer_id"],
            "ordered_at": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "revenue": raw["dollar_value"],
            "quantity": raw["number_of_cds"],
        }
    )
    orders["signup_at"] = orders.groupby("customer_id")["ordered_at"].transform("min")
    with tempfile.TemporaryDirectory(prefix="cdnow_") as tmp:
        orders.to_parquet(Path(tmp) / "cdnow.parquet", index=False)
        cfg, tables, as_of, _ = load_for_modelling(
            Path(tmp),
            ROOT / "configs" / "datasets" / "cdnow.yaml",
            ROOT / "configs" / "online_retail.yaml",
            {
                "features": {"margin_rate_when_cost_missing": 1.0},
                "data": {"currency": "USD", "timezone": "UTC"},
                "report": {"currency": "USD"},
            },
            "1998-07-01",
            Console(stderr=True, quiet=True),
        )
    return tables, cfg, as_of


def smoke_config(cfg: Any, trees: int = SMOKE_TREES) -> Any:
    """`cfg` with value and churn boosters of at most `trees` rounds: the smoke run checks the table, not figures."""
    m = cfg.models
    fewer = {
        key: getattr(m, key).model_copy(update={"n_estimators": min(trees, getattr(m, key).n_estimators)})
        for key in ("lightgbm", "churn_lightgbm")
    }
    return cfg.model_copy(update={"models": m.model_copy(update=fewer)})


def compare(
    tables: dict[str, pd.DataFrame], cfg: Any, as_of: pd.Timestamp, objectives: list[str], folds: int | None
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """(fold table, verdict, backtest notes) of the objectives on one dataset."""
    base = cfg.models if folds is None else cfg.models.model_copy(update={"backtest_folds": folds})
    res = run_backtest(
        tables,
        as_of,
        cfg.labels.horizon_days,
        cfg.features,
        cfg.labels,
        base,
        candidates=candidates(base, objectives),
        baselines=BASELINES,
    )
    table = fold_table(res.metrics)
    return table, verdict(table, objectives), res.notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("demo", "online_retail", "both"), default="both")
    parser.add_argument("--objectives", default=",".join(OBJECTIVES))
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--smoke", action="store_true", help="300 demo customers, 2 folds, 30 trees (a test runs it)"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    objectives = [o.strip() for o in args.objectives.split(",") if o.strip()]
    datasets = ["demo", "online_retail"] if args.data == "both" else [args.data]
    if args.smoke:
        datasets, args.customers = ["demo"], 300
    pd.set_option("display.width", 200)
    load_start = os.getloadavg()[0]
    for name in datasets:
        t = time.perf_counter()
        tables, cfg, as_of = load_demo(args.customers, args.seed) if name == "demo" else load_online_retail()
        if args.smoke:
            cfg = smoke_config(cfg)
        table, wins, notes = compare(tables, cfg, as_of, objectives, 2 if args.smoke else None)
        print(f"\n== {name}: horizon {cfg.labels.horizon_days} days, as-of {as_of.date()} ==")
        print(table.round(3).to_string())
        print("\nfolds where the objective beats persistence and BG/NBD + Gamma-Gamma:")
        print(wins.to_string())
        for note in dict.fromkeys(notes):
            print(f"note: {note}")
        print(f"{name}: {time.perf_counter() - t:.1f} s")
    print(f"load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
