"""The contributions writer (`pipelines.contributions_writer`): Parquet writes on a background thread (issue 14),
the same bytes as one thread, a failed write raised, one thread when the process may use one."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.contributions_writer import ContributionsWriter
from tests.helpers import as_if_cpus, parquet_writes


def chunks(n_chunks: int = 4, rows: int = 500) -> list[pd.DataFrame]:
    rng = np.random.default_rng(3)
    out = []
    for k in range(n_chunks):
        ids = pd.Index([f"C{k}_{i}" for i in range(rows)], name="customer_id")
        out.append(
            pd.DataFrame(rng.normal(size=(rows, 3)), index=ids, columns=["recency", "frequency", "_base"])
        )
    return out


def write(path, cpus: set[int], monkeypatch) -> list[str]:
    """Writes the chunks with `cpus` as the process's CPUs; the names of the threads that called write_table."""
    seen = parquet_writes(monkeypatch, cpus)
    writer = ContributionsWriter(path, "run-1")
    for frame in chunks():
        writer.add(frame)
    writer.close()
    assert writer.rows == 2000
    return seen


def test_background_writes_give_the_bytes_of_one_thread(tmp_path, monkeypatch):
    two = write(tmp_path / "two.parquet", {0, 1}, monkeypatch)
    one = write(tmp_path / "one.parquet", {0}, monkeypatch)
    assert len(two) == len(one) == 4
    main = threading.main_thread().name
    assert all(name != main for name in two)  # the second core writes
    assert all(name == main for name in one)  # one CPU: no extra thread
    assert (tmp_path / "two.parquet").read_bytes() == (tmp_path / "one.parquet").read_bytes()
    back = pd.read_parquet(tmp_path / "two.parquet")
    assert list(back.columns) == ["customer_id", "run_id", "recency", "frequency", "_base"]
    expected = pd.concat(chunks())
    np.testing.assert_array_equal(back[["recency", "frequency", "_base"]].to_numpy(), expected.to_numpy())
    assert back["customer_id"].tolist() == expected.index.tolist()


def test_a_failed_background_write_is_raised(tmp_path, monkeypatch):
    as_if_cpus(monkeypatch, {0, 1})

    def broken(self, table, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", broken)
    writer = ContributionsWriter(tmp_path / "c.parquet", None)
    writer.add(chunks(1)[0])  # handed to the writer thread
    with pytest.raises(OSError, match="disk full"):
        writer.close()
    assert writer._pool is None  # the thread is gone even so
