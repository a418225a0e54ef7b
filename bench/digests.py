"""Benchmark: the cost of the output set's digests (seam round 31, `pipelines.outputs.set_digests`) against the
parse a reader does anyway, on a synthetic 1M-row set. Run:
``.venv/bin/python -c "from bench.digests import bench_set_digests as b; print(b(1_000_000))"``."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def bench_set_digests(n_customers: int = 1_000_000, repeat: int = 3) -> dict[str, float]:
    """Wall seconds (best of `repeat`) of `set_digests` of a scores and a contributions file of `n_customers` rows
    (the scores: `demo_report_inputs`' 10,000 rows repeated under new ids; the contributions: 20 random float
    columns), of the scores' digest alone, and of `pd.read_parquet` of both; and the files' sizes in MB."""
    from pipelines.outputs import file_digest, set_digests
    from tests.pipelines.report_fixtures import demo_report_inputs

    base = demo_report_inputs(10_000, 20)["scores"]
    scores = pd.concat([base] * -(-n_customers // len(base)), ignore_index=True).iloc[:n_customers]
    ids = pd.Series([f"C{i:07d}" for i in range(len(scores))], dtype="str")
    scores["customer_id"] = ids
    rng = np.random.default_rng(0)
    contrib = pd.DataFrame(rng.normal(size=(len(scores), 20)), columns=[f"f{i}" for i in range(20)])
    contrib.insert(0, "customer_id", ids)

    def best(run) -> float:
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        return min(times)

    with tempfile.TemporaryDirectory() as tmp:
        staged = {"scores": Path(tmp) / "scores.parquet", "contributions": Path(tmp) / "c.parquet"}
        scores.to_parquet(staged["scores"], index=False)
        contrib.to_parquet(staged["contributions"], index=False)
        return {
            "customers": float(len(scores)),
            "set_mb": sum(p.stat().st_size for p in staged.values()) / 1e6,
            "set_digests_seconds": best(lambda: set_digests(staged)),
            "scores_digest_seconds": best(lambda: file_digest(staged["scores"])),
            "read_parquet_seconds": best(lambda: [pd.read_parquet(p) for p in staged.values()]),
        }
