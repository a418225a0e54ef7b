"""The data fingerprint hashed on two threads (`pipelines.fingerprint.data_fingerprint`, issue 14): every table's
digest is the one-thread digest, and the tables are hashed off the caller's thread."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

import pipelines.fingerprint as fingerprint


def tables() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(7)
    out = {}
    for name, n in (("orders", 5_000), ("customers", 800), ("returns", 300), ("tickets", 0)):
        out[name] = pd.DataFrame(
            {
                "customer_id": pd.Series([f"C{i % 900:04d}" for i in range(n)], dtype="str"),
                "amount": rng.normal(size=n),
                "at": pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
            }
        )
    return out


def test_two_threads_give_the_one_thread_digests(monkeypatch):
    data = tables()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0}, raising=False)
    one = fingerprint.data_fingerprint(data)
    seen: list[str] = []
    frame = fingerprint.frame_fingerprint

    def spy(table):
        seen.append(threading.current_thread().name)
        return frame(table)

    monkeypatch.setattr(fingerprint, "frame_fingerprint", spy)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    two = fingerprint.data_fingerprint(data)
    assert two == one and list(two) == sorted(data)
    assert {k: v["rows"] for k, v in two.items()} == {k: len(v) for k, v in data.items()}
    assert len(seen) == 4 and all(name.startswith("fingerprint") for name in seen)
