"""Benchmark: `cvp profile` and the lookalike scoring of new customers against the scoring run.

Usage:
    .venv/bin/python bench/profile_payback.py [--customers 20000] [--seed 0] [--train-customers 20000]

In a fresh temporary directory removed at the end: one demo company (2021-01-01..2025-12-31, about 2% newcomers
who signed up in the last 45 days without an order), one model trained as of 2025-01-01 with bench/score.py's
fast training settings (3 cutoffs, 1 backtest fold, default 300-tree models; `cvp train` also fits and registers
the lookalike model), then, timed: `run_score` as of 2025-12-31 (load + validate, features, both models, reasons,
tiers, the lookalike step for new customers, the profile inputs file, output set) with the lookalike step and the
profile inputs (`pipelines.profile_inputs.ProfileInputsWriter`: building and writing them chunk by chunk) timed
on their own, and `run_profile` on that run without the data (it reads the scores, the contributions and the
profile inputs the run wrote: no load, no validation, no feature table; the new customers' scores are read from
the run, never refitted). Issue 12's bar: the profile and the lookalike scoring add less than 20% to the scoring
run, i.e. (profile + lookalike step + profile inputs) / (score - lookalike step - profile inputs) < 0.20. The load
average is printed with the figures (timings on a shared machine are noisy; the ratio is taken in one run).
"""

from __future__ import annotations

import argparse
import io
import os
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
    parser.add_argument(
        "--train-customers",
        type=int,
        default=None,
        help="train on a company of this size (same generator, seed + 1; default: the scored company itself)",
    )
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
        train_data = data
        if args.train_customers and args.train_customers != args.customers:
            train_data = root / "train-data"
            company = generate_company(args.train_customers, "2021-01-01", "2025-12-31", args.seed + 1)
            write_company(company, train_data)
        train_and_register(load_data(train_data).tables, cfg, pd.Timestamp("2025-01-01"), quiet)

        import pipelines.loading
        import pipelines.newcomers

        def timer(module, name: str, bucket: dict) -> None:  # wrap module.name, adding its seconds to bucket
            original = getattr(module, name)

            def timed(*a, **k):
                t = time.perf_counter()
                try:
                    return original(*a, **k)
                finally:
                    bucket[name] = bucket.get(name, 0.0) + time.perf_counter() - t

            setattr(module, name, timed)

        import pipelines.outputs
        import pipelines.profile_inputs as inputs_module

        in_score: dict[str, float] = {}
        timer(pipelines.newcomers, "score_newcomers", in_score)
        writer = inputs_module.ProfileInputsWriter
        for name in ("__init__", "add", "close"):
            timer(writer, name, in_score)
        t0 = time.perf_counter()
        run = run_score(
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
        lookalike_s = in_score["score_newcomers"]
        inputs_s = sum(in_score.get(k, 0.0) for k in ("__init__", "add", "close"))
        new_customers = run.manifest["lookalike"]["new_customers"]

        in_profile: dict[str, float] = {}
        timer(pipelines.loading, "load_configured", in_profile)
        timer(pipelines.outputs, "read_output_set", in_profile)
        timer(inputs_module, "read_profile_inputs", in_profile)
        timer(profile_module, "build_profile", in_profile)
        timer(profile_module, "write_profile", in_profile)
        t0 = time.perf_counter()
        profile_module.run_profile(root / "scores.parquet", None, root / "profile", None, config, quiet)
        profile_s = time.perf_counter() - t0
        size_mb = (root / "scores.profile_inputs.parquet").stat().st_size / 1e6

    base = score_s - lookalike_s - inputs_s
    print(f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}")
    print(f"customers {args.customers:,} ({new_customers:,} new, scored by the registered lookalike model)")
    print(
        f"cvp score    {score_s:8.1f} s  (of which the lookalike step {lookalike_s:.2f} s, the profile inputs "
        f"{inputs_s:.2f} s, {size_mb:.1f} MB)"
    )
    print(
        f"cvp profile  {profile_s:8.1f} s  (read the run {in_profile.get('read_output_set', 0):.1f} s, "
        f"the profile inputs {in_profile.get('read_profile_inputs', 0):.1f} s, profile + payback "
        f"{in_profile.get('build_profile', 0):.1f} s, writing {in_profile.get('write_profile', 0):.1f} s, "
        f"load + validate {in_profile.get('load_configured', 0):.1f} s)"
    )
    print(f"lookalike step / score without it = {lookalike_s / base:.3f}")
    print(f"profile inputs / score without it = {inputs_s / base:.3f}")
    added = profile_s + lookalike_s + inputs_s
    print(
        f"(profile + lookalike step + profile inputs) / score without them = {added / base:.3f}  (bar: < 0.20)"
    )


if __name__ == "__main__":
    main()
