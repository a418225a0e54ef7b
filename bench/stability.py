"""Benchmark: how often reported tiers flap between monthly runs, with and without hysteresis, and what it costs.

Usage:
    .venv/bin/python bench/stability.py [--customers 5000] [--seed 7] [--cache DIR]

Prepares, in a fresh temporary directory removed at the end (`--cache DIR` keeps and reuses it):
  - the demo company (`generate_company(n, 2021-01-01, 2025-12-31, seed)`);
  - one model trained as of 2024-01-01 (4 cutoffs two months apart, 1 backtest fold, default trees), champion.
Then scores it as of the first of each month of 2024 (12 runs, `run_score` with `--history`) and applies
`models.stability.stable_tiers` (the function scoring applies with `--history`) to the raw tiers (`raw_tier`) of
those 12 runs under each rule: none, margin (`margin_share` 0.1) and consecutive (`runs` 2).

Measured per rule:
  - flips: among customers scored in two consecutive runs, the share whose reported tier changed (mean over the
    11 pairs of runs);
  - disagreement with the realised tier: the share of scored customers whose reported tier differs from their
    realised tier (mean over the 12 runs). The realised tier is `models.tiers.assign_tiers` with the same rules
    (`tiers:` of configs/default.yaml) applied to the customer's features at the as-of and, in place of the two
    predictions, what happened over the horizon [as-of, as-of + 365 days): the realised net profit
    (`label_net_profit_365d`) as the value and the realised churn (1 if no order in the horizon, else 0) as the
    churn probability. So "great" means: in the realised top 20% by net profit, not a problem, and still buying.
The horizon ends by 2025-12-01, inside the generated data, so every label is complete.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START, END = "2021-01-01", "2025-12-31"
TRAIN_AS_OF = "2024-01-01"
AS_OFS = [f"2024-{m:02d}-01" for m in range(1, 13)]
TRAIN_CONFIG = {"labels": {"n_cutoffs": 4, "cutoff_step_months": 2}, "models": {"backtest_folds": 1}}
RULES = ({"rule": "none"}, {"rule": "margin"}, {"rule": "consecutive"})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cache", type=Path, default=None)
    args = ap.parse_args()
    work = args.cache or Path(tempfile.mkdtemp(prefix="cvp-stability-"))
    try:
        run(work, args.customers, args.seed)
    finally:
        if args.cache is None:
            shutil.rmtree(work, ignore_errors=True)


def run(work: Path, n: int, seed: int) -> None:
    import pandas as pd
    import yaml
    from rich.console import Console

    from features.labels import build_labels
    from models.stability import stable_tiers
    from models.tier_config import StabilityConfig
    from models.tiers import assign_tiers
    from pipelines.config import load_config
    from pipelines.demo import generate_company, write_company
    from pipelines.engines.run import run_score
    from pipelines.history_store import list_runs, read_run
    from pipelines.io import load_data
    from pipelines.train import train_and_register

    quiet = Console(file=io.StringIO(), width=200)
    data = work / "data"
    config = work / "config.yaml"
    t0 = time.perf_counter()
    if not (data / "orders.parquet").exists():
        write_company(generate_company(n, START, END, seed), data)
    config.write_text(yaml.safe_dump(TRAIN_CONFIG | {"mlflow": {"tracking_dir": str(work / "mlruns")}}))
    cfg = load_config(config)
    tables = load_data(data, None, cfg.data.timezone).tables
    if not (work / "trained").exists():
        train_and_register(tables, cfg, pd.Timestamp(TRAIN_AS_OF), quiet, promote=True)
        (work / "trained").write_text("ok")
    t_prep = time.perf_counter() - t0
    history = work / "history"
    t0 = time.perf_counter()
    for as_of in AS_OFS:
        if not (history / f"as_of={as_of}").exists():
            res = run_score(
                data,
                as_of,
                work / "scores" / f"{as_of}.parquet",
                None,
                "pandas",
                None,
                None,
                config,
                quiet,
                history=history,
            )
            from pipelines.history_append import append_run

            append_run(history, res.scores, res.contributions_path, res.manifest)
    t_score = time.perf_counter() - t0
    h = list_runs(history)[0].horizon_days
    value_col = cfg.tiers.value_column.format(h=h)
    churn_col = f"pred_churn_prob_{h}d"
    frames, realised = [], []
    for r in list_runs(history):
        scores, _ = read_run(r)
        scored = scores[scores["status"] == "scored"].set_index("customer_id")
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": scored.index,
                    "as_of": r.as_of,
                    "tier": scored["raw_tier"].to_numpy(),
                    value_col: scored[value_col].to_numpy(),
                }
            )
        )
        labels = build_labels(tables, pd.Timestamp(r.as_of), h, cfg.features).reindex(scored.index)
        truth = scored.assign(
            **{value_col: labels[f"label_net_profit_{h}d"], churn_col: labels[f"label_churned_{h}d"]}
        )
        tiers = assign_tiers(truth.reset_index(), cfg.tiers, h)
        realised.append(
            pd.DataFrame(
                {
                    "customer_id": scored.index,
                    "as_of": r.as_of,
                    "realised": tiers["tier"].astype(str).to_numpy(),
                }
            )
        )
    runs = pd.concat(frames, ignore_index=True)
    truth = pd.concat(realised, ignore_index=True).set_index(["as_of", "customer_id"])["realised"]
    print(
        f"demo company {n:,} customers, seed {seed}; model as of {TRAIN_AS_OF}; runs {AS_OFS[0]}..{AS_OFS[-1]}; "
        f"prep {t_prep:.0f} s, 12 scoring runs {t_score:.0f} s"
    )
    print(
        f"{'rule':<28} {'flips / run':>12} {'disagree w/ realised':>22} {'problem':>8} {'good':>6} {'great':>6}"
    )
    for spec in RULES:
        rule = StabilityConfig(**(cfg.tiers.stability.model_dump() | spec))
        rep = (
            stable_tiers(runs, rule, value_col)
            .set_index(["as_of", "customer_id"])["reported_tier"]
            .astype(str)
        )
        wide = rep.unstack("as_of")
        flips = []
        for a, b in zip(AS_OFS[:-1], AS_OFS[1:], strict=True):
            both = wide[a].notna() & wide[b].notna() & (wide[a] != "nan") & (wide[b] != "nan")
            flips.append(float((wide.loc[both, a] != wide.loc[both, b]).mean()))
        joined = pd.concat([rep.rename("reported"), truth], axis=1, join="inner")
        disagree = joined.groupby(level="as_of").apply(
            lambda g: float((g["reported"] != g["realised"]).mean())
        )
        shares = rep.value_counts(normalize=True)
        label = (
            rule.rule
            + (f" (margin {rule.margin_share})" if rule.rule == "margin" else "")
            + (f" ({rule.runs} runs)" if rule.rule == "consecutive" else "")
        )
        print(
            f"{label:<28} {sum(flips) / len(flips):>12.2%} {disagree.mean():>22.2%} "
            f"{shares.get('problem', 0):>8.1%} {shares.get('good', 0):>6.1%} {shares.get('great', 0):>6.1%}"
        )
    raw_dis = pd.concat(
        [runs.set_index(["as_of", "customer_id"])["tier"].astype(str).rename("reported"), truth],
        axis=1,
        join="inner",
    )
    print(
        f"(check: raw tiers disagree with realised {float((raw_dis['reported'] != raw_dis['realised']).mean()):.2%})"
    )


if __name__ == "__main__":
    main()
