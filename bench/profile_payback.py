"""Benchmark: `cvp profile` and the lookalike scoring of new customers against the scoring run.

Usage:
    .venv/bin/python bench/profile_payback.py [--customers 20000] [--seed 0] [--train-customers 20000]
        [--cache DIR [--prepare-only]] [--cprofile FILE]

In a fresh temporary directory removed at the end (with `--cache DIR`: kept in DIR and reused: the company, the
trained model, and the scoring run with its timings, so a second call times only `cvp profile`; delete
`DIR/score_*` to score again): one demo company (2021-01-01..2025-12-31, about 2% newcomers
who signed up in the last 45 days without an order), one model trained as of 2025-01-01 by benchkit.train_champion
(3 cutoffs, 1 backtest fold, default 300-tree models, promoted champion whatever its backtest; `cvp train` also
fits and registers the lookalike model), then, timed: `run_score` as of 2025-12-31 (load + validate, features, both models, reasons,
tiers, the lookalike step for new customers, the profile inputs file, output set) with the lookalike step and the
profile inputs (`pipelines.profile_inputs.ProfileInputsWriter`: building and writing them chunk by chunk) timed
on their own, and `run_profile` on that run without the data (it reads the scores, the contributions and the
profile inputs the run wrote: no load, no validation, no feature table; the new customers' scores are read from
the run, never refitted). Issue 12's bar: the profile and the lookalike scoring add less than 20% to the scoring
run, i.e. (profile + lookalike step + profile inputs) / (score - lookalike step - profile inputs) < 0.20. The load
average is printed with the figures (timings on a shared machine are noisy; the ratio is taken in one run; with
a cached scoring run, the scoring figures are those of the run that wrote it, printed with their own load average).
`--cprofile FILE`: `run_profile` under cProfile, the statistics dumped to FILE (read with `python -m pstats`).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchkit import load_text, train_champion, work_dir  # noqa: E402 - bench/, the script's own directory


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
    parser.add_argument(
        "--cache", type=Path, default=None, help="keep data, model and scoring run here and reuse them"
    )
    parser.add_argument(
        "--prepare-only",
        action="store_true",
        help="with --cache: generate and train, then stop (nothing timed)",
    )
    parser.add_argument("--cprofile", type=Path, default=None, help="dump run_profile's cProfile stats here")
    args = parser.parse_args()
    with work_dir(args.cache, "cvp-bench-profile-") as cache:
        run_all(args, cache)


def run_all(args: argparse.Namespace, root: Path) -> None:
    from rich.console import Console

    import pipelines.profile as profile_module
    from pipelines.demo import generate_company, write_company
    from pipelines.engines.run import run_score

    quiet = Console(file=io.StringIO())
    data = root / f"n{args.customers}_s{args.seed}" / "data"
    if not (data.parent / "done").exists():
        write_company(generate_company(args.customers, "2021-01-01", "2025-12-31", args.seed), data)
        (data.parent / "done").write_text("ok")
    train_n = args.train_customers or args.customers
    model = root / f"model_n{train_n}_s{args.seed}"
    config = model / "config.yaml"
    if not (model / "done").exists():
        train_data = data
        if train_n != args.customers:
            train_data = root / f"train_n{train_n}_s{args.seed + 1}" / "data"
            write_company(generate_company(train_n, "2021-01-01", "2025-12-31", args.seed + 1), train_data)
        train_champion(train_data, model, "2025-01-01")  # promoted: a small company's may miss the gates
        (model / "done").write_text("ok")
    if args.prepare_only:
        return

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

    scored = root / f"score_n{args.customers}_s{args.seed}_{model.name}"
    figures = scored / "figures.json"
    if not figures.exists():
        in_score: dict[str, float] = {}
        timer(pipelines.newcomers, "score_newcomers", in_score)
        writer = inputs_module.ProfileInputsWriter
        for name in ("__init__", "add", "close"):
            timer(writer, name, in_score)
        t0 = time.perf_counter()
        run = run_score(
            data=data,
            as_of_text="2025-12-31",
            out=scored / "scores.parquet",
            model_uri=None,
            engine="pandas",
            chunk_customers=None,
            mapping=None,
            config=config,
            console=quiet,
        )
        score = {
            "score_s": time.perf_counter() - t0,
            "lookalike_s": in_score["score_newcomers"],
            "inputs_s": sum(in_score.get(k, 0.0) for k in ("__init__", "add", "close")),
            "new_customers": run.manifest["lookalike"]["new_customers"],
            "load": load_text(),
        }
        figures.write_text(json.dumps(score))
    score = json.loads(figures.read_text())
    score_s, lookalike_s, inputs_s = score["score_s"], score["lookalike_s"], score["inputs_s"]
    new_customers = score["new_customers"]

    in_profile: dict[str, float] = {}
    timer(pipelines.loading, "load_configured", in_profile)
    timer(pipelines.outputs, "read_output_set", in_profile)
    timer(pipelines.outputs, "read_profile_inputs", in_profile)  # inside read_output_set, under its lock
    timer(profile_module, "build_profile", in_profile)
    timer(profile_module, "write_profile", in_profile)
    out = root / "profile_out" if args.cache is not None else root / "profile"
    call = (scored / "scores.parquet", None, out, None, config, quiet)
    t0 = time.perf_counter()
    if args.cprofile is not None:
        import cProfile

        cProfile.runctx("profile_module.run_profile(*call)", globals(), {"profile_module": profile_module,
                        "call": call}, str(args.cprofile))  # fmt: skip
    else:
        profile_module.run_profile(*call)
    profile_s = time.perf_counter() - t0
    size_mb = (scored / "scores.profile_inputs.parquet").stat().st_size / 1e6

    base = score_s - lookalike_s - inputs_s
    print(f"load average {load_text()} (the scoring run: {score['load']})")
    print(f"customers {args.customers:,} ({new_customers:,} new, scored by the registered lookalike model)")
    print(
        f"cvp score    {score_s:8.1f} s  (of which the lookalike step {lookalike_s:.2f} s, the profile inputs "
        f"{inputs_s:.2f} s, {size_mb:.1f} MB)"
    )
    print(
        f"cvp profile  {profile_s:8.1f} s  (read the run {in_profile.get('read_output_set', 0):.1f} s, "
        f"of which the profile inputs {in_profile.get('read_profile_inputs', 0):.1f} s, profile + payback "
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
