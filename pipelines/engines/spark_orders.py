"""The checks of the Spark engine's input that join orders to other rows (issue 11): the returns judged against
their `order_id`'s accepted order (`check_returns`, `judge_returns`: `features.crossrefs`' returns rules, in a
bucket of order ids), and the latest accepted `ordered_at` every customer bucket reads (`last_order_rows`, for
`features.crossrefs.far_future`). The rest of the bucket step: `pipelines.engines.spark_checks`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.errors import for_the_driver
from pipelines.engines.spark_checks import BUCKET, JOINED, LAST_ORDER, NAMED, REASON, TABLE, VAL, _q, _wide
from pipelines.engines.spark_slots import every_slot, slot_of

if TYPE_CHECKING:  # pyspark is an optional extra: imported only when the Spark engine runs
    from pyspark.sql import DataFrame as SparkDataFrame


def last_order_rows(orders: SparkDataFrame, slots: list[int]) -> SparkDataFrame:
    """Rows tagged `LAST_ORDER` for every bucket: per input partition, the latest `ordered_at` of the orders
    accepted so far (row checks and duplicate `order_id`, as `validate_tables` takes it); the buckets take the
    maximum for `features.crossrefs.far_future`. No job of its own (a collect or a broadcast would start one)."""
    from pyspark.sql import functions as F

    col = _wide("orders", VAL + "ordered_at")

    def latest(batches: Any) -> Any:
        top = pd.NaT
        for rows in batches:
            top = pd.Series([top, pd.Series(rows[col], dtype="datetime64[ns]").max()]).max()
        yield pd.DataFrame({LAST_ORDER: pd.Series([top], dtype="datetime64[ns]")})

    every = every_slot(slots).alias(BUCKET)
    tops = (
        orders.filter(F.col(REASON).isNull())
        .select(_q(col))
        .mapInPandas(latest, f"{LAST_ORDER} timestamp_ntz")
    )
    return tops.select(F.lit(LAST_ORDER).alias(TABLE), F.col(LAST_ORDER), every)


def event_days_spark(
    accepted: SparkDataFrame, keys: list[tuple[str, str]], as_of: pd.Timestamp
) -> dict[tuple[str, str], np.ndarray]:
    """On the executors (one aggregation job for every `(table, column)` of `keys`): the distinct days before
    `as_of` holding each table's accepted `column`, as sorted `datetime64[D]`: one per day of the data at most,
    whatever the customers (`SparkTables.event_days`)."""
    from pyspark.sql import functions as F

    at = F.lit(str(as_of)).cast("timestamp_ntz")
    each = [F.when(F.col(TABLE) == t, F.col(_q(f"{t}|{VAL}{c}"))) for t, c in keys]
    time = each[0] if len(each) == 1 else F.coalesce(*each)
    tables = [t for t, _ in keys]
    days = (
        accepted.filter(F.col(TABLE).isin(tables) & (time < at))
        .select(F.col(TABLE).alias("t"), F.to_date(time).alias("d"))
        .distinct()
        .toArrow()
    )
    found = pd.DataFrame({"t": days.column("t").to_pylist(), "d": days.column("d").to_pylist()})
    return {
        (t, c): np.unique(np.array(found.loc[found["t"] == t, "d"].tolist(), dtype="datetime64[D]"))
        for t, c in keys
    }


def judge_returns(rows: pd.DataFrame, accepted: pd.DataFrame) -> pd.DataFrame:
    """The returns' rules of `validate_tables` on one bucket of order ids: `rows`, the returns' rows whose
    `order_id` falls in it; `accepted`, the accepted orders whose id does (`JOINED` columns). A return against
    another customer's order, above or before it (`features.return_checks.reject_order_mismatches`), then the returns
    of one order adding up past its revenue (`returns_beyond_order`: every return of an order is in its bucket),
    for the rows still accepted; `NAMED`: the row names an accepted order (`check_returns_against_orders`' count)."""
    from features.return_checks import (
        BEYOND_ORDER,
        reject_order_mismatches,
        returns_at_order,
        returns_beyond_order,
    )
    from features.validation import _Rejector

    cols = [
        c
        for c in ("return_id", "customer_id", "order_id", "amount", "returned_at")
        if _wide("returns", VAL + c) in rows
    ]
    returns = pd.DataFrame({c: rows[_wide("returns", VAL + c)].to_numpy() for c in cols})
    returns["returned_at"] = returns["returned_at"].astype("datetime64[ns]")
    orders = pd.DataFrame(
        {c: accepted[JOINED + c].to_numpy() for c in ("order_id", "customer_id", "revenue")}
    )
    orders["ordered_at"] = accepted[JOINED + "ordered_at"].astype("datetime64[ns]").to_numpy()
    reason = rows[REASON].to_numpy(dtype=object)
    rej = _Rejector(len(rows))
    rej.add(pd.notna(reason), pd.Series(reason))
    reject_order_mismatches(returns, orders, rej)
    rej.add(returns_beyond_order(returns, orders, rej.ok), BEYOND_ORDER)
    named = returns["order_id"].notna().to_numpy() & (
        pd.Index(orders["order_id"]).get_indexer(returns["order_id"]) >= 0
    )
    at_order = returns_at_order(returns, orders, rej.ok)  # bit 1: dated at its order's instant
    return rows.assign(
        **{REASON: rej.reason, NAMED: named.astype(np.int64) | (at_order.astype(np.int64) << 1)}
    )


def check_returns(judged: SparkDataFrame, slots: list[int]) -> SparkDataFrame:
    """`judged` with the returns judged against their `order_id`'s accepted order (after every other check, as in
    `validate_tables`): the returns and the accepted orders grouped by a hash of the order id into a bucket per
    slot (`bucket_slots`; one shuffle of each, as the sort-merge join it replaces), then `judge_returns` per bucket (a join would give
    an order's returns in several batches: the refunds of one order must be added up together)."""
    from pyspark.sql import functions as F

    def of(c: str) -> Any:
        return F.col(_q(_wide("orders", VAL + c))).alias(JOINED + c)

    def bucket(column: str) -> Any:  # each bucket a task of its own (`bucket_slots`)
        return slot_of(F.pmod(F.xxhash64(F.col(_q(column))), F.lit(len(slots))), slots)

    accepted = (F.col(TABLE) == "orders") & F.col(REASON).isNull()
    orders = judged.filter(accepted).select(
        *(of(c) for c in ("order_id", "customer_id", "revenue", "ordered_at"))
    )
    returns = judged.filter(F.col(TABLE) == "returns")

    def judge(rows: pd.DataFrame, accepted: pd.DataFrame) -> pd.DataFrame:
        from pipelines.engines.spark_session import arrow_safe, quiet_pandas3

        quiet_pandas3()
        with for_the_driver(table="returns"):
            return arrow_safe(judge_returns(rows, accepted))

    grouped = returns.groupBy(bucket(_wide("returns", VAL + "order_id"))).cogroup(
        orders.groupBy(bucket(JOINED + "order_id"))
    )
    return judged.filter(F.col(TABLE) != "returns").unionByName(grouped.applyInPandas(judge, returns.schema))
