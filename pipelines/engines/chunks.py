"""Chunks of customers: the unit both scoring engines work in (a pandas chunk, a Spark bucket).

One chunk = the customers whose id hashes to it, with only their events (plus the events of the customers they
referred, whose profit is part of a referrer's worth), so peak memory beyond the input tables is bounded by the
chunk size. Company-wide quantities (revenue for the concentration share) are computed once over all customers
and handed to every chunk, so a customer's features do not depend on the chunking.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features import build_feature_table
from features.table import company_revenue
from pipelines.config import AppConfig

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


def customer_buckets(ids: pd.Series | np.ndarray, n_chunks: int) -> np.ndarray:
    """Stable chunk number per customer id (siphash with a fixed key: same on every machine and run)."""
    values = np.asarray(ids, dtype=object)
    h = pd.util.hash_array(values, hash_key=HASH_KEY, categorize=True)
    return (h % np.uint64(n_chunks)).astype(np.int64)


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


def _split(bucket: np.ndarray, n: int) -> list[np.ndarray]:
    order = np.argsort(bucket, kind="stable")
    bounds = np.searchsorted(bucket[order], np.arange(n + 1))
    return [np.sort(order[bounds[k] : bounds[k + 1]]) for k in range(n)]


def plan_chunks(tables: Mapping[str, pd.DataFrame], chunk_customers: int) -> ChunkPlan:
    """Assign every row to the chunk(s) that need it."""
    id_parts = [tables[t][c] for t, c in CUSTOMER_TABLES.items() if t in tables]
    if "referrals" in tables:
        id_parts += [tables["referrals"]["referrer_id"], tables["referrals"]["referred_id"]]
    ids = pd.Index(pd.concat(id_parts, ignore_index=True).dropna().unique()).sort_values()
    n_chunks = max(1, math.ceil(len(ids) / max(chunk_customers, 1)))
    bucket_of = pd.Series(customer_buckets(ids.to_numpy(), n_chunks), index=ids)
    referrer_bucket = pd.Series(dtype="int64")
    if "referrals" in tables:
        r = tables["referrals"]
        referrer_bucket = pd.Series(
            bucket_of.reindex(r["referrer_id"]).to_numpy(), index=r["referred_id"].to_numpy()
        )
        referrer_bucket = referrer_bucket[~referrer_bucket.index.duplicated(keep="first")]

    rows: dict[str, list[np.ndarray]] = {}
    for name, col in CUSTOMER_TABLES.items():
        if name not in tables:
            continue
        cust = tables[name][col]
        own = bucket_of.reindex(cust).to_numpy()
        parts = _split(own.astype(np.int64), n_chunks)
        if len(referrer_bucket):
            extra = referrer_bucket.reindex(cust).to_numpy()
            has = ~np.isnan(extra) & (extra != own)
            extra_rows = np.flatnonzero(has)
            extra_parts = _split(extra[has].astype(np.int64), n_chunks)
            parts = [np.union1d(p, extra_rows[e]) for p, e in zip(parts, extra_parts, strict=True)]
        rows[name] = parts
    if "referrals" in tables:
        r = tables["referrals"]
        b1 = bucket_of.reindex(r["referrer_id"]).to_numpy().astype(np.int64)
        b2 = bucket_of.reindex(r["referred_id"]).to_numpy().astype(np.int64)
        p1, p2 = _split(b1, n_chunks), _split(b2, n_chunks)
        rows["referrals"] = [np.union1d(a, b) for a, b in zip(p1, p2, strict=True)]
    customers = [ids[bucket_of.to_numpy() == k].to_numpy() for k in range(n_chunks)]
    return ChunkPlan(n_chunks, rows, customers)


def iterate_chunks(
    tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, cfg: AppConfig, chunk_customers: int
) -> Iterator[tuple[int, int, pd.DataFrame]]:
    """Yield (chunk number, chunk count, feature table) for every non-empty chunk, in chunk order."""
    plan = plan_chunks(tables, chunk_customers)
    totals = company_revenue(tables, as_of, cfg.features)
    for k in range(plan.n_chunks):
        own = plan.customers[k]
        if len(own) == 0:
            continue
        feats = build_feature_table(plan.tables(tables, k), as_of, cfg.features, company_revenue=totals)
        feats = feats[feats.index.isin(own)]
        yield k, plan.n_chunks, feats
