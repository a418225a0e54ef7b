"""The reason columns of a scoring run, spilled to disk chunk by chunk (issue 14: memory flat in the base).

The top reasons are stored compactly (`models.reason_text`: per reason the leading feature, its value, the
group's effect), yet still thirty columns per scored customer, and nothing of the whole-base finish (statuses, tiers, ratings, flags, stability, new
customers, the manifest) reads them. So the pandas engine writes each chunk's reason columns to a Parquet file
in the run's staging directory (`ReasonSpill.add`, rows sorted by customer id) and keeps only the rest of the
scores in memory; `ReasonSpill.columns_for` gives back the reason columns of any slice of the finished scores
(rows in the scores' order, empty for customers without reasons) while the scores file is written row group by
row group (`pipelines.outputs.write_scores_parquet`). The file is the one the whole frame gave: same columns,
order, types and values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

#: Columns that go to the spill: the stored reasons (`models.reason_text.stored_reason_columns`).
REASON_PREFIXES = ("value_reason_", "churn_reason_")
#: Rows per row group of a spilled chunk: a slice of the scores reads only the groups it needs.
SPILL_ROW_GROUP = 8192


def reason_columns(columns: pd.Index | list[str]) -> list[str]:
    """The reason columns among `columns`, in their order."""
    return [str(c) for c in columns if str(c).startswith(REASON_PREFIXES)]


def reason_arrow(column: pd.Series | np.ndarray, take: np.ndarray | None = None) -> pa.Array:
    """One reason column as the spill stores it: text as Arrow strings, numbers as float64 (NaN kept, as the
    frame has it), rows in `take`'s order. No Python string per row."""
    if isinstance(column, pd.Series) and (
        pd.api.types.is_string_dtype(column.dtype) or column.dtype == object
    ):
        array = pa.array(column, from_pandas=True).cast(pa.string())
    else:
        array = pa.array(np.asarray(column, dtype=np.float64))  # not from_pandas: NaN stays NaN, not null
    return array if take is None else array.take(pa.array(take))


def write_reason_file(reasons: pd.DataFrame, ids: np.ndarray, columns: list[str], path: Path) -> int:
    """Write one spill file: `customer_id` (from `ids`) then `columns` of `reasons` (`reason_arrow`), rows sorted
    by customer id, `SPILL_ROW_GROUP`-row groups. The one writer of the layout `ReasonSpill` reads, for both
    engines (the Spark executors call it in `spark_parts.write_reason_parts`). Returns the rows written."""
    order = np.argsort(ids, kind="stable")
    arrays = {"customer_id": pa.array(ids[order], type=pa.string())}
    for col in columns:
        arrays[col] = reason_arrow(reasons[col], order)
    pq.write_table(pa.table(arrays), path, row_group_size=SPILL_ROW_GROUP)
    return len(order)


@dataclass
class _Chunk:
    path: Path
    rows: int
    positions: np.ndarray | None = None  # rows' positions in the finished scores, in file order
    order: np.ndarray | None = None  # file rows sorted by position
    sorted_positions: np.ndarray | None = None
    group_starts: np.ndarray | None = None  # first file row of each row group


@dataclass
class ReasonSpill:
    """Per-chunk Parquet files of the reason columns in `directory` (created on the first chunk)."""

    directory: Path
    columns: list[str] = field(default_factory=list)
    _chunks: list[_Chunk] = field(default_factory=list)

    def add(self, reasons: pd.DataFrame) -> None:
        """Spill one chunk's reason columns (index customer_id). The first chunk fixes the column order."""
        if not len(reasons):
            return
        cols = reason_columns(reasons.columns)
        if not self.columns:
            self.columns = cols
        elif cols != self.columns:
            raise RuntimeError(f"a chunk's reason columns {cols} differ from the run's {self.columns}")
        ids = reasons.index.astype("str").to_numpy(dtype=object)
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"reasons-{len(self._chunks):05d}.parquet"
        self._chunks.append(_Chunk(path, write_reason_file(reasons, ids, cols, path)))

    def adopt(self, path: Path) -> None:
        """Register a chunk file written elsewhere by `write_reason_file`: the Spark engine's executors write
        theirs (`pipelines.engines.spark_parts.write_reason_parts`)."""
        self._chunks.append(_Chunk(Path(path), pq.ParquetFile(path).metadata.num_rows))

    @property
    def rows(self) -> int:
        return sum(c.rows for c in self._chunks)

    def locate(self, customer_ids: pd.Series | pd.Index) -> None:
        """Find every spilled row in the finished scores (their `customer_id` column, in file order)."""
        where = pd.Index(pd.Series(customer_ids).astype("str").to_numpy(dtype=object))
        for chunk in self._chunks:
            ids = pq.read_table(chunk.path, columns=["customer_id"]).column(0).to_numpy(zero_copy_only=False)
            pos = where.get_indexer(ids)
            if (pos < 0).any():
                raise RuntimeError(f"{int((pos < 0).sum())} spilled customers are missing from the scores")
            chunk.positions = pos
            chunk.order = np.argsort(pos, kind="stable")
            chunk.sorted_positions = pos[chunk.order]
            meta = pq.ParquetFile(chunk.path).metadata
            sizes = [meta.row_group(g).num_rows for g in range(meta.num_row_groups)]
            chunk.group_starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    def columns_for(self, start: int, stop: int) -> pa.Table:
        """The reason columns of the scores' rows [start, stop) (after `locate`), null where none were spilled."""
        n = stop - start
        pieces: list[pa.Table] = []
        places: list[np.ndarray] = []
        for chunk in self._chunks:
            if chunk.sorted_positions is None:
                raise RuntimeError("ReasonSpill.locate must run before columns_for")
            lo, hi = np.searchsorted(chunk.sorted_positions, [start, stop])
            if lo == hi:
                continue
            rows = chunk.order[lo:hi]  # file rows, in the scores' order
            first = int(np.searchsorted(chunk.group_starts, rows.min(), side="right") - 1)
            last = int(np.searchsorted(chunk.group_starts, rows.max(), side="right") - 1)
            table = pq.ParquetFile(chunk.path).read_row_groups(
                list(range(first, last + 1)), columns=self.columns
            )
            pieces.append(table.take(pa.array(rows - chunk.group_starts[first])))
            places.append(chunk.sorted_positions[lo:hi] - start)
        index = np.full(n, -1, dtype=np.int64)
        if pieces:
            table = pa.concat_tables(pieces)
            index[np.concatenate(places)] = np.arange(table.num_rows)
        else:
            table = pa.table({c: pa.array([], type=self._type(c)) for c in self.columns})
        return table.take(pa.array(index, mask=index < 0))

    def _type(self, column: str) -> pa.DataType:
        """A spilled column's Arrow type (float64 for the stored numbers, text otherwise)."""
        from models.reason_text import is_stored_number

        return pa.float64() if is_stored_number(column) else pa.string()


@dataclass
class ScoreParts:
    """The compact scores of a run, spilled part by part to Parquet files in `directory` (issue 14).

    The pandas engine appends each chunk's compact scores (predictions, carried features; the reasons go to
    `ReasonSpill`) as it finishes instead of keeping them as frames, so the chunk loop holds nothing that grows
    with the base; `frames` reads them back, in the order they were appended, for the whole-base finish. Every part
    comes back equal to what was appended (values, dtypes, index, column order): a dtype Parquet does not round
    trip is cast back to the part's own.
    """

    directory: Path
    _parts: list[tuple[Path, pd.Series, pd.Index]] = field(default_factory=list)

    def append(self, part: pd.DataFrame) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"scores-{len(self._parts):05d}.parquet"
        pq.write_table(pa.Table.from_pandas(part, preserve_index=True), path)
        self._parts.append((path, part.dtypes, part.index[:0]))

    def __len__(self) -> int:
        return len(self._parts)

    def frames(self) -> list[pd.DataFrame]:
        """Every part, read back (the files are removed as they are read)."""
        out = []
        for path, dtypes, index in self._parts:
            frame = pq.read_table(path).to_pandas()
            path.unlink()
            if not frame.dtypes.equals(dtypes):
                frame = frame.astype(dtypes.to_dict())
            if frame.index.dtype != index.dtype or frame.index.name != index.name:
                frame.index = frame.index.astype(index.dtype).rename(index.name)
            out.append(frame)
        self._parts.clear()
        return out
