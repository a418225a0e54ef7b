"""Per-chunk contribution frames appended to one Parquet file, the write overlapping the next chunk (issue 14).

`ContributionsWriter.add` turns a chunk's frame into an Arrow table on the caller's thread and hands the Parquet
encoding and compression (pyarrow's C++, which releases the GIL) to one background thread, so the second core
writes chunk k while the first builds and explains chunk k+1. One write is in flight at a time and writes keep
their order, so the file is byte-for-byte what a serial writer makes; a failed write is raised by the next `add`
or by `close`, which waits for the last write. When the process may use one thread (`OMP_NUM_THREADS=1`, a Spark
worker beside others: `models.threads.prediction_threads`) the writes stay on the caller's thread.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from models.threads import prediction_threads

__all__ = ["ContributionsWriter"]


class ContributionsWriter:
    """Appends per-chunk contribution frames (index customer_id; feature columns and `_base`) to one Parquet
    file, in the layout of the value contributions: `customer_id`, `run_id` (when given), then the columns.
    The file exists once a chunk was added (complete once closed); `rows` counts what was added."""

    def __init__(self, path: Path, run_id: str | None) -> None:
        self.path = Path(path)
        self.run_id = run_id
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    def add(self, contrib: pd.DataFrame | None) -> None:
        if contrib is None or not len(contrib.columns):
            return
        frame = contrib.rename_axis("customer_id").reset_index()
        if self.run_id is not None:
            frame.insert(1, "run_id", self.run_id)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        self._wait()
        if self._writer is None:
            # Dictionary pages only for the ids: tried on every float column they cost most of the write (a
            # contribution rarely repeats) and the file comes out larger, not smaller.
            ids = [c for c in ("customer_id", "run_id") if c in table.column_names]
            self._writer = pq.ParquetWriter(self.path, table.schema, use_dictionary=ids)
            if prediction_threads() > 1:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="contributions")
        if self._pool is None:
            self._writer.write_table(table)
        else:
            self._pending = self._pool.submit(self._writer.write_table, table)
        self.rows += len(frame)

    def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        try:
            self._wait()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
            # let go of the writer before closing it: a close that fails (its footer refused by a full disk) is
            # not tried again by the run's cleanup, which then still removes the staging directory (was: the
            # second close raised again, and the failed run's files stayed on the full disk)
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.close()
