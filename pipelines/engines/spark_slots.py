"""The slot a Spark customer bucket is grouped by, so that each bucket is a task of its own (`bucket_slots`):
Spark places a grouped row by its key's Murmur3 hash modulo the shuffle partitions, which put several bucket
numbers in one partition. Used by the input checks' bucket step (`pipelines.engines.spark_checks`,
`spark_orders`) and the scoring's features stage (`spark_engine.per_bucket`).
"""

from __future__ import annotations

from typing import Any


def _murmur3_int(value: int, seed: int = 42) -> int:
    """Spark's hash of an int column (`Murmur3Hash`: `Murmur3_x86_32.hashInt`, seed 42), which `HashPartitioning`
    takes modulo the partitions to place a row."""
    mask = 0xFFFFFFFF

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (32 - r))) & mask

    k1 = rotl((value & mask) * 0xCC9E2D51 & mask, 15) * 0x1B873593 & mask
    h1 = (rotl(seed ^ k1, 13) * 5 + 0xE6546B64) & mask
    h1 ^= 4
    h1 = (h1 ^ (h1 >> 16)) * 0x85EBCA6B & mask
    h1 = (h1 ^ (h1 >> 13)) * 0xC2B2AE35 & mask
    h1 ^= h1 >> 16
    return h1 - (1 << 32) if h1 >> 31 else h1


def bucket_slots(n_buckets: int) -> list[int]:
    """Per bucket b (0 .. n_buckets - 1), the int that the rows of bucket b are grouped by: one whose Spark hash
    partition among `n_buckets` shuffle partitions is b, so each bucket is a task of its own. Grouped by b itself,
    Spark's hash put buckets 0 and 1 of 2 both in partition 1 (and 8 buckets in 5 partitions): on `local[2]` one
    core ran the whole bucket step (`check_bucket`, the returns' `judge_returns`) while the other idled."""
    slots: list[int | None] = [None] * n_buckets
    key, free = 0, n_buckets
    while free:
        at = _murmur3_int(key) % n_buckets
        if slots[at] is None:
            slots[at], free = key, free - 1
        key += 1
    return [int(s) for s in slots if s is not None]


def slot_of(bucket: Any, slots: list[int]) -> Any:
    """A Spark column: the slot (`bucket_slots`) of an int column of buckets 0 .. len(slots) - 1."""
    from pyspark.sql import functions as F

    return F.element_at(F.array(*[F.lit(s) for s in slots]), bucket.cast("int") + 1)


def every_slot(slots: list[int]) -> Any:
    """A Spark column: every slot, one row each (`explode`): a row that goes to every bucket."""
    from pyspark.sql import functions as F

    return F.explode(F.array(*[F.lit(s) for s in slots]))
