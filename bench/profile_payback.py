"""Benchmark: `cvp profile` (profile, payback, lookalike model) against the scoring run it reads.

Usage:
    .venv/bin/python bench/profile_payback.py [--customers 20000] [--seed 0]

In a fresh temporary directory removed at the end: one demo company (2021-01-01..2025-12-31), one model trained as
of 2025-01-01 with bench/score.py's fast training settings (3 cutoffs, 1 backtest fold, default 300-tree models),
then, timed: `run_score` as of 2025-12-31 (load + validate, features, both models, reasons, tiers, output set) and
`run_profile` on that run (load + validate, feature table, profile, payback, lookalike training set, backtest, fit
and scoring of the new customers, writing). Prints both times, the lookalike share of the profile time and the
ratio profile / score. Issue 12's bar: profile and lookalike scoring add less than 20% to the scoring run.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRAIN_CONFIG = {"labels": {"n_cutoffs": 3, "cutoff_step_months": 2}, "models": {"backtest_folds": 1}}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import pandas as pd
    import yaml
    from rich.console import Console

    import pipelines.profile as profile_module
    from pipelines.config import load_config
    from pipelines.demo import generate_company, write_company
    from pipelines.engines.run import run_score
    from pipelines.io import load_data
    from pipelines.train import train_and_register

    quiet = Console(file=io.StringIO())
    with tempfile.TemporaryDirectory(prefix="cvp-bench-profile-") as tmp:
        root = Path(tmp)
        data = root / "data"
        write_company(generate_company(args.customers, "2021-01-01", "2025-12-31", args.seed), data)
        config = root / "config.yaml"
        config.write_text(yaml.safe_dump(TRAIN_CONFIG | {"mlflow": {"tracking_dir": str(root / "mlruns")}}))
        cfg = load_config(config)
        train_and_register(load_data(data).tables, cfg, pd.Timestamp("2025-01-01"), quiet)

        t0 = time.perf_counter()
        run_score(
            data=data,
            as_of_text="2025-12-31",
            out=root / "scores.parquet",
            model_uri=None,
            engine="pandas",
            chunk_customers=None,
            mapping=None,
            config=config,
            console=quiet,
        )
        score_s = time.perf_counter() - t0

        lookalike_s = 0.0
        original = profile_module.score_lookalikes

        def timed(*a, **k):  # the lookalike part of the profile, timed on its own
            nonlocal lookalike_s
            t = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                lookalike_s += time.perf_counter() - t

        profile_module.score_lookalikes = timed
        t0 = time.perf_counter()
        profile_module.run_profile(root / "scores.parquet", data, root / "profile", None, config, quiet)
        profile_s = time.perf_counter() - t0
        profile_module.score_lookalikes = original

    print(f"customers {args.customers:,}")
    print(f"cvp score    {score_s:8.1f} s")
    print(
        f"cvp profile  {profile_s:8.1f} s  (lookalike model {lookalike_s:.1f} s, the rest {profile_s - lookalike_s:.1f} s)"
    )
    print(f"profile / score = {profile_s / score_s:.2f}  (bar: < 0.20 added to scoring)")


if __name__ == "__main__":
    main()
