"""Incremental point-in-time aggregation shared by the feature table, the labels and the training set.

The idea (why one pass serves many cutoffs): every quantity we need is "something over events with time in
[cutoff - a, cutoff - b)" for a handful of offsets a, b per cutoff. Collect every boundary `cutoff - offset` into
one sorted array B. Each event falls in exactly one interval between consecutive boundaries (found with one
`searchsorted`), so a per-(interval, customer) sum computed once with `bincount` on integer codes, then a
cumulative sum over intervals, answers every (cutoff, window) as a difference of two rows. Maxima ("last order
before the cutoff") work the same with a cumulative maximum.

Conventions: times are int64 nanoseconds (naive wall clock); an event at time t is "before boundary B[j]" iff
t < B[j], i.e. windows are half-open [lo, hi). Events with NaT or at/after the last boundary are dropped, so nothing
after the latest cutoff (or label horizon end) can influence any value. Customers are integer codes 0..n-1 whose
order is the sorted order of their string ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

DAY_NS = 86_400 * 10**9
NAT = np.iinfo(np.int64).min

# A span is (lo_offset_days, hi_offset_days) relative to a cutoff c: events in [c - lo, c - hi);
# lo None means "from the beginning of time" (lifetime). Labels use negative offsets: [c, c + h) is (0, -h).
Span = tuple[int | None, int]
LIFETIME: Span = (None, 0)


def to_ns(values: pd.Series | pd.Index) -> np.ndarray:
    """Timestamps of any datetime64 resolution as int64 ns (NaT -> int64 min), never a view of the input."""
    return np.asarray(values.to_numpy(dtype="datetime64[ns]")).view("i8").copy()


def _packed_keys(col: pd.Series) -> np.ndarray | None:
    """Ids of at most 8 UTF-8 bytes packed big-endian into uint64, so integer order = string order.

    Hashing 10M Python/arrow strings dominates a pass over the orders; most real ids are short codes, and
    packed integers factorize an order of magnitude faster. Returns None (use the generic path) for ids that are
    not arrow-backed, longer than 8 bytes, missing, or contain NUL bytes.
    """
    if not hasattr(col.array, "__arrow_array__"):
        return None
    import pyarrow as pa

    chunked = col.array.__arrow_array__()
    chunks = chunked.chunks if isinstance(chunked, pa.ChunkedArray) else [chunked]
    out = []
    for chunk in chunks:
        if chunk.null_count or not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return None
        n = len(chunk)
        if n == 0:
            continue
        _, off_buf, data_buf = chunk.buffers()
        off_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(off_buf, dtype=off_type)[chunk.offset : chunk.offset + n + 1].astype(np.int64)
        data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(1, np.uint8)
        lengths = np.diff(offsets)
        if lengths.max() > 8:
            return None
        used = data[offsets[0] : offsets[-1]]
        if (used == 0).any():
            return None
        if (lengths == lengths[0]).all():
            width = int(lengths[0])
            mat = np.zeros((n, 8), dtype=np.uint8)
            mat[:, :width] = used.reshape(n, width)
        else:
            pos = offsets[:-1, None] + np.arange(8)[None, :]
            inside = np.arange(8)[None, :] < lengths[:, None]
            mat = np.where(inside, data[np.minimum(pos, len(data) - 1)], 0).astype(np.uint8)
        out.append(mat.view(">u8").ravel().astype(np.uint64))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.uint64)


def _unpack_keys(keys: np.ndarray) -> pd.Index:
    raw = keys.astype(">u8").view("S8")  # numpy strips the trailing NUL padding
    return pd.Index(np.char.decode(raw, "utf-8"), dtype="str")


def _sorted_codes(packed: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """(the sorted distinct keys of all `packed` columns, each column's positions in them as int32 when they fit).

    Each column, shortest first, is looked up in the distinct keys of the columns before it, one Arrow hash
    lookup per value; the keys it names that were not seen yet are added and the positions found so far moved to
    the merged keys. The other tables' rows name the customers table's ids, so the long columns (orders,
    invoices) add none (issue 14: a hash factorize of every column, then its distinct keys mapped to the merged
    ones, took longer)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = np.zeros(0, dtype=np.uint64)
    codes: dict[int, np.ndarray] = {}
    for i in sorted(range(len(packed)), key=lambda i: len(packed[i])):
        p = packed[i]
        found = pc.index_in(pa.array(p), value_set=pa.array(keys, type=pa.uint64()))
        if not found.null_count:
            codes[i] = np.asarray(found)
            continue
        missing = found.is_null().to_numpy(zero_copy_only=False)
        merged = np.sort(np.concatenate([keys, pd.unique(p[missing])]))  # the new keys are not in `keys`
        moved = np.searchsorted(merged, keys)
        codes = {k: moved[c] for k, c in codes.items()}
        at = np.empty(len(p), dtype=np.int64)
        at[~missing] = moved[np.asarray(found.drop_null())]
        at[missing] = np.searchsorted(merged, p[missing])
        codes[i], keys = at, merged
    small = np.int32 if len(keys) < np.iinfo(np.int32).max else np.int64
    return keys, [codes[i].astype(small, copy=False) for i in range(len(packed))]


class CustomerIndex:
    """Integer codes for customer ids across every table, in sorted-id order (one factorize per column).

    Codes are 0..n-1 and follow the sorted order of the string ids, so output rows sorted by code are sorted
    by customer_id. Missing ids get code -1.
    """

    def __init__(self, columns: Iterable[pd.Series]) -> None:
        columns = list(columns)
        packed = [_packed_keys(col) for col in columns]
        self._codes: list[np.ndarray] | None = None
        if columns and all(p is not None for p in packed):
            all_keys, self._codes = _sorted_codes(packed)
            self.ids = _unpack_keys(all_keys)
        else:
            local = [pd.factorize(col.astype("str"), use_na_sentinel=True) for col in columns]
            uniques = [pd.Index(u, dtype="str") for _, u in local]
            merged = uniques[0].append(uniques[1:]) if len(uniques) > 1 else uniques[0]
            self.ids = pd.Index(merged.unique(), dtype="str").sort_values()
            self._maps = [self.ids.get_indexer(u) for u in uniques]
            self._local_codes = [c for c, _ in local]
        self.ids.name = "customer_id"

    @property
    def n(self) -> int:
        return len(self.ids)

    def codes_of(self, position: int) -> np.ndarray:
        """Codes for the position-th column passed to the constructor (-1 where the id was missing)."""
        if self._codes is not None:
            return self._codes[position].astype(np.int64)
        mapping = np.append(self._maps[position], -1)  # local code -1 (missing id) indexes the appended -1
        return mapping[self._local_codes[position]].astype(np.int64)


@dataclass
class Events:
    """Events of one table mapped to intervals. Events that must not count (NaT time, unknown customer, at or
    after the last boundary) sit in the overflow interval `n_boundaries`, which no window reads; keeping them
    avoids copying every weight array through a mask.
    """

    codes: np.ndarray
    times: np.ndarray
    interval: np.ndarray
    keep: np.ndarray | None = None  # set by `subset`: weights for a subset must be filtered the same way
    _flat: dict[bytes, np.ndarray] = field(default_factory=dict, repr=False)  # bincount index per column set

    def take(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values)
        return values if self.keep is None else values[self.keep]

    def subset(self, mask: np.ndarray) -> Events:
        return Events(self.codes[mask], self.times[mask], self.interval[mask], mask)


class Plan:
    """Boundaries for a set of cutoffs and offsets, plus the customer rows wanted per cutoff.

    `rows[i]` holds the sorted customer codes that get an output row at cutoff i; output arrays are the
    concatenation over cutoffs in order, so row r belongs to cutoff `row_cut[r]`.
    """

    def __init__(self, cutoffs_ns: np.ndarray, offsets_days: Iterable[int], n_customers: int) -> None:
        self.cutoffs = np.asarray(cutoffs_ns, dtype=np.int64)
        offsets = np.array(sorted(set(offsets_days) | {0}), dtype=np.int64)
        grid = self.cutoffs[:, None] - offsets[None, :] * DAY_NS
        self.boundaries = np.unique(grid.ravel())
        self._col = {
            (i, int(o)): int(np.searchsorted(self.boundaries, grid[i, j]))
            for i in range(len(self.cutoffs))
            for j, o in enumerate(offsets)
        }
        self.n = n_customers
        self.ref = int(self.cutoffs.min())  # days are measured from here to keep float precision
        self.rows: list[np.ndarray] = [np.arange(n_customers)] * len(self.cutoffs)

    @property
    def n_cut(self) -> int:
        return len(self.cutoffs)

    def set_rows(self, rows: Sequence[np.ndarray]) -> None:
        self.rows = [np.asarray(r, dtype=np.int64) for r in rows]

    @property
    def row_cut(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_cut), [len(r) for r in self.rows])

    @property
    def n_rows(self) -> int:
        return int(sum(len(r) for r in self.rows))

    def cutoff_days(self) -> np.ndarray:
        """Each cutoff in days since `ref` (float), one value per cutoff."""
        return (self.cutoffs - self.ref) / DAY_NS

    def per_row(self, per_cutoff: np.ndarray) -> np.ndarray:
        return np.asarray(per_cutoff)[self.row_cut]

    def days(self, times_ns: np.ndarray) -> np.ndarray:
        return (times_ns - self.ref) / DAY_NS

    def events(self, codes: np.ndarray, times_ns: np.ndarray) -> Events:
        interval = np.searchsorted(self.boundaries, times_ns, side="right")
        bad = (times_ns == NAT) | (codes < 0)
        if bad.any():
            interval[bad] = len(self.boundaries)
            codes = np.where(bad, 0, codes)
        return Events(codes, times_ns, interval)

    # -- cumulative sums -------------------------------------------------------------------------------------
    def _columns(self, spans: Iterable[Span]) -> np.ndarray:
        """Sorted boundary columns that a set of spans reads (every cutoff)."""
        cols = {
            self._col[(i, o)]
            for lo, hi in spans
            for o in (lo, hi)
            if o is not None
            for i in range(self.n_cut)
        }
        return np.array(sorted(cols), dtype=np.int64)

    def cumsum(self, ev: Events, weights: np.ndarray | None, columns: np.ndarray) -> np.ndarray:
        """(len(columns), n) matrix: row m = per-customer sum of weights over events before boundary columns[m].

        Intervals are first coarsened to the boundaries actually read (an event in fine interval k lies before
        boundary j iff k <= j), so a lifetime-only statistic builds a 2-row matrix, not one row per boundary.
        """
        rows = len(columns) + 1
        flat = ev._flat.get(columns.tobytes())
        if flat is None:  # several weights of one table share the same column set: index once
            lut = np.searchsorted(columns, np.arange(len(self.boundaries) + 1), side="left")
            flat = lut[ev.interval] * self.n + ev.codes  # past every needed boundary -> last (overflow) row
            ev._flat.clear()  # keep one cached index per table: memory stays at one int64 per event
            ev._flat[columns.tobytes()] = flat
        w = None if weights is None else np.asarray(weights, dtype=np.float64)
        # Counts stay int64 (exact, and no float copy of a large matrix); gather converts the picked values.
        mat = np.bincount(flat, weights=w, minlength=rows * self.n).reshape(rows, self.n)
        np.cumsum(mat, axis=0, out=mat)
        return mat[:-1]

    def gather(
        self, mat: np.ndarray, columns: np.ndarray, span: Span, rows: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        """Window [c - lo, c - hi) per cutoff, gathered for `rows` (default: the plan's output rows)."""
        rows = self.rows if rows is None else rows
        lo, hi = span
        out = np.empty(sum(len(r) for r in rows), dtype=np.float64)
        pos = 0
        for i, codes in enumerate(rows):
            seg = out[pos : pos + len(codes)]  # written in place: no per-cutoff temporaries to concatenate
            seg[:] = mat[np.searchsorted(columns, self._col[(i, hi)])].take(codes)
            if lo is not None:
                seg -= mat[np.searchsorted(columns, self._col[(i, lo)])].take(codes)
            pos += len(codes)
        return out

    def sums(
        self,
        ev: Events,
        weights: np.ndarray | None,
        spans: Iterable[Span],
        rows: Sequence[np.ndarray] | None = None,
        all_spans: Iterable[Span] = (),
    ) -> dict[Span | tuple[str, Span], np.ndarray]:
        """Window sums for several spans from one matrix (built once, freed on return).

        Keys are the spans (values for `rows`, default the output rows) and ("all", span) for each of
        `all_spans`: the same window for every customer code at every cutoff, flattened cutoff-major.
        """
        spans, all_spans = list(dict.fromkeys(spans)), list(dict.fromkeys(all_spans))
        columns = self._columns(spans + all_spans)
        mat = self.cumsum(ev, weights, columns)
        out: dict[Span | tuple[str, Span], np.ndarray] = {
            s: self.gather(mat, columns, s, rows) for s in spans
        }
        every = [np.arange(self.n)] * self.n_cut
        for s in all_spans:
            out[("all", s)] = self.gather(mat, columns, s, every)
        return out

    # -- cumulative maxima -----------------------------------------------------------------------------------
    def last_before(
        self, ev: Events, values: np.ndarray, rows: Sequence[np.ndarray] | None = None
    ) -> np.ndarray:
        """Per row, the maximum of `values` over the customer's events before the cutoff (NaN if none)."""
        columns = self._columns([LIFETIME])  # one boundary per cutoff: the cutoff itself
        lut = np.searchsorted(columns, np.arange(len(self.boundaries) + 1), side="left")
        rows_m = len(columns) + 1  # + overflow (events at/after the last cutoff), never read
        mat = np.full(rows_m * self.n, -np.inf)
        np.maximum.at(mat, lut[ev.interval] * self.n + ev.codes, np.asarray(values, dtype=np.float64))
        mat = mat.reshape(rows_m, self.n)
        np.maximum.accumulate(mat, axis=0, out=mat)
        rows = self.rows if rows is None else rows
        parts = [mat[np.searchsorted(columns, self._col[(i, 0)]), codes] for i, codes in enumerate(rows)]
        out = np.concatenate(parts) if parts else np.empty(0)
        out[np.isneginf(out)] = np.nan
        return out


def safe_ratio(num: np.ndarray, den: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """num / den * scale, NaN where den == 0 (undefined, not zero)."""
    out = np.full(np.shape(num), np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out * scale


def per_customer_min(codes: np.ndarray, times: np.ndarray, n: int) -> np.ndarray:
    """Earliest non-NaT time per customer code (int64 ns, int64 max where none)."""
    out = np.full(n, np.iinfo(np.int64).max)
    ok = (times != NAT) & (codes >= 0)
    np.minimum.at(out, codes[ok], times[ok])
    return out
