"""Benchmark: transitions between two runs (`models.transitions.tier_transitions`) on synthetic runs.

Usage:
    .venv/bin/python bench/history.py [--customers 1000000] [--features 80] [--seed 0] [--profile]

Builds two synthetic runs in memory (not timed): scores of `--customers` customers (statuses, tiers, ratings,
value and churn predictions; 3% of the old run's customers gone, 3% new, 5% not scored), per-feature value
contributions over `--features` registry features (currency, `_base` included; the new run's are the old
ones plus noise, so every customer's value moves) and churn contributions in probability points (the same
layout; each row adds up to the churn probability), plus the feature values for "rose from ... to ..."
sentences. Contributions are in chunk order (by a hash of the id), as scoring writes them. Then times `tier_transitions`
(value and churn deltas with sentences from the feature values, the way `pipelines.history.transitions_between`
calls it) and checks old + deltas = new for value and churn on the pairs.
`--profile` prints the top functions by cumulative time (cProfile).
Bar (issue 15): transitions for 1M customers add less than 30 s to a scoring run on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def synthetic_runs(n: int, n_features: int, seed: int):  # noqa: ANN201
    import numpy as np
    import pandas as pd

    from features import feature_registry
    from pipelines.config import load_config

    cfg = load_config()
    registry = feature_registry(cfg.features)
    names = [k for k, s in registry.items() if s.dtype != "category"][:n_features]
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{i:08d}" for i in range(n)], dtype=object)
    h = cfg.labels.horizon_days

    def run(customers: np.ndarray, contrib: np.ndarray, churn: np.ndarray, features: np.ndarray) -> tuple:
        value = contrib.sum(axis=1)
        status = np.where(rng.random(len(customers)) < 0.05, "lapsed", "scored").astype(object)
        scored = status == "scored"
        tier = np.where(value <= 0, "problem", np.where(value > np.quantile(value, 0.8), "great", "good"))
        rating = np.array(["D", "C", "B", "A"], dtype=object)[
            np.searchsorted(np.quantile(value, [0.25, 0.5, 0.8]), value)
        ]
        frame = pd.DataFrame(
            {
                "status": status,
                "tier": pd.array(np.where(scored, tier, None), dtype="str"),
                "rating": pd.array(np.where(scored, rating, None), dtype="str"),
                f"pred_expected_net_value_{h}d": np.where(scored, value, np.nan),
                f"pred_churn_prob_{h}d": np.where(scored, churn.sum(axis=1), np.nan),
                "model_version": "1",
            },
            index=pd.Index(customers, name="customer_id"),
        )
        rows = np.flatnonzero(
            scored
        )  # in chunk order, as scoring writes them: by a hash of the id, not sorted
        shuffled = rows[np.argsort(pd.util.hash_array(customers[rows]), kind="stable")]
        cols = pd.DataFrame(contrib, index=frame.index, columns=[*names, "_base"]).iloc[shuffled]
        churn_cols = pd.DataFrame(churn, index=frame.index, columns=[*names, "_base"]).iloc[shuffled]
        feats = pd.DataFrame(features, index=frame.index, columns=names)
        return frame, cols, churn_cols, feats

    base = np.full((n, 1), 500.0)
    c0 = np.hstack([rng.normal(0, 80, (n, len(names))) * (rng.random((n, len(names))) < 0.6), base])
    c1 = c0 + np.hstack([rng.normal(0, 30, (n, len(names))), np.zeros((n, 1))])
    p0 = np.hstack([rng.normal(0, 0.004, (n, len(names))), np.full((n, 1), 0.3)])
    p1 = p0 + np.hstack([rng.normal(0, 0.002, (n, len(names))), np.zeros((n, 1))])
    f0 = np.round(np.abs(rng.normal(10, 8, (n, len(names)))), 0)
    f1 = f0 + np.round(rng.normal(0, 2, (n, len(names))), 0)
    gone, new = int(n * 0.03), int(n * 0.03)
    old = run(ids[: n - new], c0[: n - new], p0[: n - new], f0[: n - new])
    newer = run(ids[gone:], c1[gone:], p1[gone:], f1[gone:])
    return cfg, registry, old, newer, h


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=80)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    import os

    import numpy as np

    from models.transitions import tier_transitions

    t0 = time.perf_counter()
    cfg, registry, (a, ca, pa_, fa), (b, cb, pb, fb), h = synthetic_runs(
        args.customers, args.features, args.seed
    )
    prep = time.perf_counter() - t0

    def call():  # noqa: ANN202
        return tier_transitions(
            a,
            b,
            ca,
            cb,
            registry,
            value_column=f"pred_expected_net_value_{h}d",
            churn_column=f"pred_churn_prob_{h}d",
            currency=cfg.data.currency,
            n_deltas=cfg.explain.n_reasons,
            old_churn_contrib=pa_,
            new_churn_contrib=pb,
            old_features=fa,
            new_features=fb,
        )

    t0, c0 = time.perf_counter(), time.process_time()
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        out = prof.runcall(call)
        seconds = time.perf_counter() - t0
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    else:
        out = call()
        seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    both = out[(out["old_status"] == "scored") & (out["new_status"] == "scored")]
    errors = {}
    for kind, old_col, contrib in (
        ("value", f"pred_expected_net_value_{h}d", (ca, cb)),
        ("churn", f"pred_churn_prob_{h}d", (pa_, pb)),
    ):
        delta = contrib[1].reindex(both.index).sum(axis=1) - contrib[0].reindex(both.index).sum(axis=1)
        old_v = a[old_col].reindex(both.index)
        new_v = b[old_col].reindex(both.index)
        errors[kind] = float(np.nanmax(np.abs(old_v + delta - new_v)))
    print(
        f"transitions (value and churn deltas): {args.customers:,} customers x {args.features} features: "
        f"{seconds:.1f} s (CPU {cpu:.1f} s: on a shared machine the wall time counts the other jobs' share too)"
    )
    print(
        f"  synthetic runs {prep:.1f} s; {len(both):,} scored in both; max |old + deltas - new| value "
        f"{errors['value']:.1e}, churn {errors['churn']:.1e}; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"  e.g. {both['value_delta_1'].iloc[0]}")
    print(f"       {both['churn_delta_1'].iloc[0]}")


if __name__ == "__main__":
    main()
