"""The scores file's row groups written on a background thread (`pipelines.outputs.write_scores_parquet`, issue
14): the bytes of a serial write, a failed write raised, one thread when the process may use one."""

from __future__ import annotations

import threading

import pyarrow.parquet as pq
import pytest

from pipelines.outputs import write_scores_parquet
from tests.helpers import as_if_cpus, parquet_writes
from tests.pipelines.test_spill import _frame


def write(path, cpus: set[int], monkeypatch) -> list[str]:
    """Writes the scores with `cpus` as the process's CPUs; the names of the threads that wrote a row group."""
    seen = parquet_writes(monkeypatch, cpus)
    write_scores_parquet(_frame(2_000, seed=5), path, rows_per_group=300)
    return seen


def test_row_groups_written_in_the_background_give_the_bytes_of_one_thread(tmp_path, monkeypatch):
    two = write(tmp_path / "two.parquet", {0, 1}, monkeypatch)
    one = write(tmp_path / "one.parquet", {0}, monkeypatch)
    assert len(two) == len(one) == 7
    main = threading.main_thread().name
    assert all(name != main for name in two)
    assert all(name == main for name in one)
    assert (tmp_path / "two.parquet").read_bytes() == (tmp_path / "one.parquet").read_bytes()
    assert pq.read_table(tmp_path / "two.parquet").num_rows == 2_000


def test_a_failed_background_write_is_raised_and_the_thread_ends(tmp_path, monkeypatch):
    as_if_cpus(monkeypatch, {0, 1})
    before = {t.ident for t in threading.enumerate()}

    def broken(self, table, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        write_scores_parquet(_frame(2_000, seed=5), tmp_path / "s.parquet", rows_per_group=300)
    assert {t.ident for t in threading.enumerate()} <= before
