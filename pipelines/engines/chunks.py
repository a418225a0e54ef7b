"""Chunks of customers: the unit both scoring engines work in (a pandas chunk, a Spark bucket).

One chunk = the customers whose id hashes to it, with only their events (plus the events of the customers they
referred, whose profit is part of a referrer's worth), so peak memory beyond the input tables is bounded by the
chunk size. Company-wide quantities (revenue for the concentration share) are computed once over all customers
and handed to every chunk, so a customer's features do not depend on the chunking.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from features import build_feature_table
from features.as_trained import AsTrained, with_data_values
from features.table import company_revenue
from features.validation import isin_ids
from models.threads import prediction_threads
from pipelines.config import AppConfig

T = TypeVar("T")

HASH_KEY = "cvp-chunk-key-01"  # 16 bytes, fixed: the same customer always lands in the same chunk
#: Tables whose rows belong to one customer (column), chunked with that customer.
CUSTOMER_TABLES: dict[str, str] = {
    "orders": "customer_id",
    "returns": "customer_id",
    "tickets": "customer_id",
    "invoices": "customer_id",
    "customers": "customer_id",
    "assignments": "customer_id",
}


def status_input(
    tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, last: bool = False
) -> Mapping[str, pd.DataFrame]:
    """The tables `features.population.customer_status` and the chunk count read at `as_of`: a Spark load's driver
    keeps no orders' customer ids and gives a row per customer with their last order instead
    (`spark_tables.SparkTables.status_tables`, issue 11; `last`: its last reader, which frees it); other tables
    are themselves."""
    own = getattr(tables, "status_tables", None)
    return tables if own is None else own(as_of, last)


def customer_hash(ids: pd.Series | np.ndarray, distinct: bool = False) -> np.ndarray:
    """The keyed hash of each customer id (uint64, siphash with `HASH_KEY`: same on every machine and run).
    `distinct`: the ids are unique, so not factorised first (the same hashes; 1M ids 0.2 s instead of 0.9 s)."""
    return pd.util.hash_array(np.asarray(ids, dtype=object), hash_key=HASH_KEY, categorize=not distinct)


def customer_buckets(ids: pd.Series | np.ndarray, n_chunks: int) -> np.ndarray:
    """Stable chunk number per customer id (`customer_hash` modulo the chunk count)."""
    return (customer_hash(ids) % np.uint64(n_chunks)).astype(np.int64)


def hash_sample(ids: pd.Series | np.ndarray, n: int) -> np.ndarray:
    """The `n` ids of lowest `customer_hash` (ties by id), sorted: a sample that depends on the ids only, so
    the same on any engine, machine, row order and for any N a superset of every smaller N's."""
    values = np.asarray(ids, dtype=object)
    h = customer_hash(values, distinct=True)  # the same hashes either way; duplicates only cost time
    if 0 < n < len(h):  # only those at or below the n-th lowest hash can be among the n (ties included)
        keep = h <= np.partition(h, n - 1)[n - 1]
        values, h = values[keep], h[keep]
    order = np.lexsort((values.astype(str), h))
    return np.sort(values[order[:n]].astype(str))


@dataclass
class ChunkPlan:
    """Row positions per table and chunk (own rows plus the rows of customers they referred)."""

    n_chunks: int
    rows: dict[str, list[np.ndarray]]
    customers: list[np.ndarray]  # the ids each chunk scores (sorted)

    def tables(self, tables: Mapping[str, pd.DataFrame], k: int) -> dict[str, pd.DataFrame]:
        out = {name: tables[name].iloc[self.rows[name][k]] for name in self.rows}
        for name in tables:
            if name not in out:  # account_managers: small, shared by every chunk
                out[name] = tables[name]
        return out

    def release(self, k: int) -> None:
        """Forget chunk k's row positions and customers once its tables are sliced: the plan holds one position
        per input row, so a plan kept whole to the end grows with the base (issue 14)."""
        for parts in self.rows.values():
            parts[k] = np.empty(0, dtype=parts[k].dtype)
        self.customers[k] = np.empty(0, dtype=self.customers[k].dtype)


def _positions(rows: np.ndarray) -> np.ndarray:
    """Row positions as int32 when they fit: the plan holds one per input row for the whole run (issue 14)."""
    return rows.astype(np.int32) if len(rows) < np.iinfo(np.int32).max else rows


def _split(bucket: np.ndarray, n: int) -> list[np.ndarray]:
    """Row positions per chunk, each ascending. The stable sort keeps positions in order within a chunk; on
    16-bit chunk numbers numpy sorts by radix, not by comparisons. Each chunk's positions are an array of their
    own, not a view of one sort of all rows, so `ChunkPlan.release` frees them chunk by chunk."""
    small = bucket.astype(np.int16) if n < np.iinfo(np.int16).max else bucket
    order = _positions(np.argsort(small, kind="stable"))
    bounds = np.searchsorted(small[order], np.arange(n + 1))
    return [order[bounds[k] : bounds[k + 1]].copy() for k in range(n)]


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`np.union1d` of two row-position arrays (sorted, unique) by one sort: numpy's hash-based unique is slower."""
    both = np.concatenate([a, b])
    both.sort(kind="stable")
    return both[np.r_[True, both[1:] != both[:-1]]] if len(both) else both


def customer_columns(tables: Mapping[str, pd.DataFrame]) -> list[tuple[str, str]]:
    """The (table, column) pairs naming a customer, whose distinct ids are the customers the chunks share out."""
    columns = [(t, c) for t, c in CUSTOMER_TABLES.items() if t in tables]
    if "referrals" in tables:
        columns += [("referrals", "referrer_id"), ("referrals", "referred_id")]
    return columns


def n_chunks_for(n_customers: int, chunk_customers: int) -> int:
    """How many chunks (Spark: buckets) `n_customers` distinct customers are cut into."""
    return max(1, math.ceil(n_customers / max(chunk_customers, 1)))


class SharedCustomerIndex:
    """One `CustomerIndex` of every customer id column for the customer status and the chunk plan (issue 14).

    Both build the same index (the sorted distinct ids and every column's codes): the hash factorize of every
    id column, most of either step's time, is done once. Built in `features.population.status_id_columns`
    order, as `customer_status(index=...)` reads it. The chunk plan `take`s it, and from then on nothing here
    holds it: the codes (8 bytes per input row) are freed when the plan is built, before the first chunk.
    """

    def __init__(self, tables: Mapping[str, pd.DataFrame]) -> None:
        from features._engine import CustomerIndex
        from features.population import status_id_columns

        self.columns = status_id_columns(tables)
        self._index: CustomerIndex | None = CustomerIndex([tables[t][c] for t, c in self.columns])

    @property
    def index(self) -> Any:
        if self._index is None:
            raise RuntimeError("the shared customer index was already taken by the chunk plan")
        return self._index

    def take(self) -> Any:
        """The index, handed over: this object no longer holds it."""
        index, self._index = self.index, None
        return index


def plan_chunks(
    tables: Mapping[str, pd.DataFrame], chunk_customers: int, shared: SharedCustomerIndex | None = None
) -> ChunkPlan:
    """Assign every row to the chunk(s) that need it.

    Ids become integer codes once (`features._engine.CustomerIndex`: short ids packed into integers, sorted id
    order), so every per-row lookup below is an array gather, not a hash of the id string. With `shared` (the
    index the customer status was computed with, over the same id columns), that index is taken, not rebuilt:
    the same codes, so the same plan.
    """
    from features._engine import CustomerIndex

    columns = customer_columns(tables)
    if shared is not None and set(columns) <= set(shared.columns):
        index = shared.take()
        codes = {key: index.codes_of(shared.columns.index(key)) for key in columns}
    else:
        index = CustomerIndex(tables[t][c] for t, c in columns)
        codes = {key: index.codes_of(i) for i, key in enumerate(columns)}
    ids = index.ids
    n_chunks = n_chunks_for(len(ids), chunk_customers)
    return _plan(tables, columns, codes, ids, customer_buckets(ids.to_numpy(), n_chunks), n_chunks)


def plan_sample(tables: Mapping[str, pd.DataFrame], n_customers: int) -> tuple[ChunkPlan, int]:
    """One chunk of the `n_customers` customers of `hash_sample` (every id column's distinct ids) and the base's
    customer count: their rows and the rows of the customers they referred, as a scoring chunk has them."""
    from features._engine import CustomerIndex

    columns = customer_columns(tables)
    index = CustomerIndex(tables[t][c] for t, c in columns)
    codes = {key: index.codes_of(i) for i, key in enumerate(columns)}
    ids = index.ids
    chosen = pd.Index(ids).isin(hash_sample(ids.to_numpy(), n_customers))
    # -1: in no chunk (a referred customer's rows still come with their referrer's)
    bucket_of = np.where(chosen, 0, -1).astype(np.int64)
    return _plan(tables, columns, codes, ids, bucket_of, 1), len(ids)


def _plan(
    tables: Mapping[str, pd.DataFrame],
    columns: list[tuple[str, str]],
    codes: dict[tuple[str, str], np.ndarray],
    ids: Any,
    bucket_of: np.ndarray,
    n_chunks: int,
) -> ChunkPlan:
    """Row positions per chunk from each customer's chunk (`bucket_of`, per id code; -1: in none)."""

    def bucket(code: np.ndarray) -> np.ndarray:  # missing ids (code -1) belong to no chunk
        return np.where(code >= 0, bucket_of[np.maximum(code, 0)], -1)

    # The chunk of each referred customer's (first) referrer: their events also go to the referrer's chunk.
    referrer_bucket = np.full(len(ids), -1, dtype=np.int64)
    if "referrals" in tables:
        referred, referrer = codes[("referrals", "referred_id")], codes[("referrals", "referrer_id")]
        first = np.unique(referred, return_index=True)[1]
        first = first[referred[first] >= 0]
        referrer_bucket[referred[first]] = bucket(referrer[first])

    rows: dict[str, list[np.ndarray]] = {}
    for name, col in columns:
        if name == "referrals":
            continue
        own = bucket(codes[(name, col)])
        parts = _split(own, n_chunks)
        if "referrals" in tables:
            extra = np.where(codes[(name, col)] >= 0, referrer_bucket[np.maximum(codes[(name, col)], 0)], -1)
            has = (extra >= 0) & (extra != own)
            extra_rows = _positions(np.flatnonzero(has))
            extra_parts = _split(extra[has], n_chunks)
            parts = [_union(p, extra_rows[e]) for p, e in zip(parts, extra_parts, strict=True)]
        rows[name] = parts
    if "referrals" in tables:
        b1 = bucket(codes[("referrals", "referrer_id")])
        b2 = bucket(codes[("referrals", "referred_id")])
        p1, p2 = _split(b1, n_chunks), _split(b2, n_chunks)
        rows["referrals"] = [_union(a, b) for a, b in zip(p1, p2, strict=True)]
    customers = [ids[bucket_of == k].to_numpy() for k in range(n_chunks)]
    return ChunkPlan(n_chunks, rows, customers)


def iterate_chunks(
    tables: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    cfg: AppConfig,
    chunk_customers: int,
    shared: SharedCustomerIndex | None = None,
    as_trained: AsTrained | None = None,
) -> Iterator[tuple[int, int, pd.DataFrame]]:
    """Yield (chunk number, chunk count, feature table) for every non-empty chunk, in chunk order (`shared`: see
    `plan_chunks`). With `as_trained` not empty, the features are the model's, built from the tables as its training
    data had them, and those of all the data beside them (`features.as_trained.with_data_values`)."""
    plan = plan_chunks(tables, chunk_customers, shared)
    totals = company_revenue(tables, as_of, cfg.features)
    for k in range(plan.n_chunks):
        own = plan.customers[k]
        if len(own) == 0:
            continue
        chunk = plan.tables(tables, k)
        plan.release(k)
        feats = build_feature_table(chunk, as_of, cfg.features, company_revenue=totals)
        if as_trained:  # a second build, only when the data has inputs the model was trained without
            model = build_feature_table(as_trained.apply(chunk), as_of, cfg.features, company_revenue=totals)
            feats = with_data_values(model, feats)
        del chunk
        feats = feats[isin_ids(feats.index, own)]  # pandas' isin on Arrow strings: seconds per chunk
        del own
        yield k, plan.n_chunks, feats
        del feats  # not held while the next chunk is built: the caller holds it as long as it needs it


_DONE = object()


class prefetched(Iterator[T]):  # noqa: N801 - used as the function it was
    """The items of `items`, the next one built on one background thread while the caller works on the current
    one (issue 14: chunk k+1's tables and features while chunk k is predicted and explained, whose LightGBM and
    numba kernels release the GIL). Items come in order and are the same objects; an error building one is raised
    where the caller asks for it. The first item is built from the start (the caller prepares the rest of the run
    meanwhile), or with `start=False` when first asked for. `close` stops the builder and waits for it (no thread
    outlives the run). On one thread (`OMP_NUM_THREADS=1`: `models.threads.prediction_threads`) the items are
    built on the caller's thread, one at a time."""

    def __init__(self, items: Iterator[T], start: bool = True) -> None:
        self._items = items
        self._pool = None
        self._pending: Any = None
        self._ended = False
        if prediction_threads() >= 2:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chunk-features")
            if start:
                self._pending = self._pool.submit(next, items, _DONE)

    def __iter__(self) -> prefetched[T]:
        return self

    def __next__(self) -> T:
        if self._ended:
            raise StopIteration
        if self._pool is None:
            try:
                return next(self._items)
            except BaseException:
                self._ended = True
                raise
        if self._pending is None:
            self._pending = self._pool.submit(next, self._items, _DONE)
        try:
            item = self._pending.result()
        except BaseException:
            self._pending = None
            self.close()
            raise
        if item is _DONE:
            self.close()
            raise StopIteration
        self._pending = self._pool.submit(next, self._items, _DONE)  # the previous future let go
        return item

    def close(self) -> None:
        """Stop building: the item being built is waited for and dropped, the source closed."""
        self._ended = True
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.cancel()
            try:
                pending.result()
            except BaseException:  # noqa: BLE001 - the caller's own error is the one raised
                pass
            del pending
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        close = getattr(self._items, "close", None)
        if close is not None:
            close()
