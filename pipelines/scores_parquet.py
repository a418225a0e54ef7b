"""The scores file as Parquet, written in row groups (`write_scores_parquet`), spilled reason columns inserted on
the way (`insert_columns`); the output set's writers call it (`pipelines.outputs`, whose room it was)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from models.threads import prediction_threads


def insert_columns(frame: pd.DataFrame, columns: pd.DataFrame, at: int) -> pd.DataFrame:
    """`frame` with the columns of `columns` (same length, rows in the same order) inserted at position `at`."""
    out = frame.copy(deep=False)
    for k, col in enumerate(columns.columns):
        out.insert(at + k, col, columns[col].to_numpy())
    return out


def write_scores_parquet(
    scores: pd.DataFrame,
    path: Path,
    rows_per_group: int = 100_000,
    extra: Callable[[int, int], pa.Table] | None = None,
    extra_at: int = 0,
) -> None:
    """Parquet in row groups, converted to Arrow a slice at a time (a whole-frame conversion doubles the peak).

    `extra(start, stop)`, when given, returns Arrow columns that are not in `scores` for its rows [start, stop)
    (the reason sentences spilled to disk: `pipelines.engines.spill`); they are written at position `extra_at`,
    with the types and pandas metadata the whole frame would have had, without becoming Python objects.

    Each row group's Parquet encoding (pyarrow's C++, which releases the GIL) runs on one background thread while
    the next slice is converted (issue 14), one write in flight, in order: the bytes of a serial write. On one
    thread (`OMP_NUM_THREADS=1`: `models.threads.prediction_threads`) the writes stay on the caller's thread."""
    writer: pq.ParquetWriter | None = None
    pool = (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="scores") if prediction_threads() > 1 else None
    )
    pending: Future[None] | None = None
    # One schema for every slice, taken from a sample of the whole frame, so a slice whose column happens to
    # be all missing cannot change a type.
    sample = scores.iloc[: min(len(scores), 1000)]
    if extra is not None:
        typed = extra(0, len(sample))
        more = typed.to_pandas()
        sample = insert_columns(sample, more, extra_at)
    schema = pa.Schema.from_pandas(sample, preserve_index=False)
    if extra is not None:  # a spilled column missing in the whole sample keeps the spill's type
        schema = pa.schema(
            [
                f.with_type(typed.field(f.name).type)
                if f.name in more.columns and pa.types.is_null(f.type)
                else f
                for f in schema
            ],
            metadata=schema.metadata,
        )
        own = pa.schema([f for f in schema if f.name not in more.columns])
    try:
        for start in range(0, max(len(scores), 1), rows_per_group):
            stop = min(start + rows_per_group, len(scores))
            part = scores.iloc[start:stop]
            if extra is None:
                table = pa.Table.from_pandas(part, schema=schema, preserve_index=False)
            else:
                light, added = (
                    pa.Table.from_pandas(part, schema=own, preserve_index=False),
                    extra(start, stop),
                )
                columns = [
                    added.column(f.name).cast(f.type) if f.name in more.columns else light.column(f.name)
                    for f in schema
                ]
                table = pa.Table.from_arrays(columns, schema=schema)
            if writer is None:
                writer = pq.ParquetWriter(path, schema)
            if pending is not None:
                pending.result()
            if pool is None:
                writer.write_table(table)
            else:
                pending = pool.submit(writer.write_table, table)
            del table
        if pending is not None:
            pending.result()
    finally:
        if pool is not None:
            pool.shutdown(wait=True)  # a write in flight ends before the file is closed
        if writer is not None:
            writer.close()
