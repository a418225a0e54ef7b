"""The customer buckets of the Spark scoring backend, cut by Spark from the validated rows (issue 11, step 2).

The accepted rows of a Spark load stay in Spark, persisted (`spark_input.SparkTables.accepted`: one frame, every
table tagged, `<table>|val:<column>` columns). Each row is sent to the bucket(s) the pandas engine's chunk plan
(`pipelines.engines.chunks.plan_chunks`) puts it in: its customer's bucket (the keyed hash,
`chunks.customer_buckets`), plus, for the rows of a referred customer, the bucket of their first referrer; a
referral row goes to the buckets of both customers. Then `groupBy(bucket).applyInPandas` hands every bucket its
rows of every table, turned back into the validated pandas tables (`spark_checks.validated_table`: same dtypes,
source order) for the pandas feature functions. The managers table is small: it travels with the function to
every bucket, as the pandas chunks share it. No payload is cut or shipped by the driver.

What the driver still computes from the pandas tables (the Spark load collects them for `run_score`'s
whole-base steps): the number of buckets (distinct customer ids, `features._engine.CustomerIndex`, as
`plan_chunks`; of the orders from a row per customer found by Spark, `chunks.status_input`), each referred
customer's referrer bucket (one entry per referred customer) and the company-wide revenue totals
(`features.table.company_revenue`). Pandas tables given without Spark rows (`--mapping` reads
with pandas, API callers) are turned into the same union first (`pandas_union`, shipped by the driver).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.contract import TABLES
from pipelines.engines.chunks import CUSTOMER_TABLES, customer_buckets, customer_columns, n_chunks_for
from pipelines.engines.spark_checks import BUCKET, ROW, SPARK_TYPE, TABLE, VAL, _wide, validated_table

if TYPE_CHECKING:  # pyspark is an optional extra: imported only when the Spark engine runs
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession


def chunk_count(tables: Mapping[str, pd.DataFrame], chunk_customers: int) -> int:
    """The pandas engine's number of chunks: distinct customer ids over every customer column / chunk size."""
    from features._engine import CustomerIndex

    index = CustomerIndex(tables[t][c] for t, c in customer_columns(tables))
    return n_chunks_for(index.n, chunk_customers)


def _buckets(ids: pd.Series, n_chunks: int) -> np.ndarray:
    """Bucket per id; -1 for a missing id (it belongs to no bucket, as in `plan_chunks`)."""
    values = ids.to_numpy(dtype=object)
    known = pd.notna(values)
    out = np.full(len(values), -1, dtype=np.int64)
    if known.any():
        out[known] = customer_buckets(values[known], n_chunks)
    return out


def referrer_buckets(tables: Mapping[str, pd.DataFrame], n_chunks: int) -> dict[str, int]:
    """{referred customer: bucket of their first referrer (source order)}: their rows go there too."""
    ref = tables.get("referrals")
    if ref is None or not len(ref):
        return {}
    first = ref[ref["referred_id"].notna()].drop_duplicates("referred_id")
    bucket = _buckets(first["referrer_id"], n_chunks)
    ids = first["referred_id"].to_numpy(dtype=object)
    return {str(i): int(b) for i, b in zip(ids, bucket, strict=True) if b >= 0}


def expand_rows(batch: pd.DataFrame, n_chunks: int, referrer_bucket: Mapping[str, int]) -> pd.DataFrame:
    """Rows of the union with their bucket (the mapInPandas body); a row needed by two buckets appears twice.

    in: the union's columns (table tag, position, `<table>|val:<column>`). out: the same rows (the managers' left
    out: every bucket gets them with the function) with `BUCKET`, once per bucket that needs them.
    """
    parts = []
    tags = batch[TABLE].to_numpy(dtype=object)
    for name in pd.unique(tags):
        rows = batch[tags == name]
        if name == "referrals":
            b1 = _buckets(rows[_wide(name, VAL + "referrer_id")], n_chunks)
            b2 = _buckets(rows[_wide(name, VAL + "referred_id")], n_chunks)
            parts += [rows[b1 >= 0].assign(**{BUCKET: b1[b1 >= 0]})]
            also = (b2 >= 0) & (b2 != b1)
            parts += [rows[also].assign(**{BUCKET: b2[also]})]
        elif name in CUSTOMER_TABLES:
            ids = rows[_wide(name, VAL + CUSTOMER_TABLES[name])]
            own = _buckets(ids, n_chunks)
            parts += [rows[own >= 0].assign(**{BUCKET: own[own >= 0]})]
            if referrer_bucket:
                extra = ids.map(lambda v: referrer_bucket.get(v, -1) if isinstance(v, str) else -1)
                extra = extra.to_numpy(dtype=np.int64)
                also = (extra >= 0) & (extra != own)
                parts += [rows[also].assign(**{BUCKET: extra[also]})]
    if not parts:
        return batch.iloc[:0].assign(**{BUCKET: np.zeros(0, dtype=np.int32)})
    out = pd.concat(parts, ignore_index=True)
    return out.assign(**{BUCKET: out[BUCKET].to_numpy(dtype=np.int32)})


def bucket_tables(
    rows: pd.DataFrame, names: list[str], managers: pd.DataFrame | None
) -> dict[str, pd.DataFrame]:
    """One bucket's rows back as the validated tables the pandas engine's chunk holds (every table, maybe empty;
    the managers table whole)."""
    out = {name: validated_table(rows, name) for name in names if name != "account_managers"}
    if managers is not None:
        out["account_managers"] = managers
    return out


def pandas_union(spark: SparkSession, tables: Mapping[str, pd.DataFrame]) -> SparkDataFrame:
    """Validated pandas tables as the union frame of a Spark load (table tag, position, `<table>|val:<column>`),
    shipped by the driver: for tables that were not read by Spark (`--mapping`, API callers)."""
    from pipelines.engines.spark_checks import _q
    from pipelines.engines.spark_session import arrow_safe

    union = None
    for name, table in tables.items():
        data: dict[str, Any] = {TABLE: np.full(len(table), name, dtype=object), ROW: np.arange(len(table))}
        schema = [f"{_q(TABLE)} string", f"{_q(ROW)} bigint"]
        for col in table.columns:
            kind = TABLES[name].column(col).kind
            wide = _wide(name, VAL + col)
            values = table[col]
            if kind in SPARK_TYPE and kind != "timestamp":  # text, ids, booleans: objects with None
                values = values.astype(object).where(values.notna(), None)
            elif kind != "timestamp":
                values = values.to_numpy(dtype=np.float64, na_value=np.nan)
            data[wide] = values
            schema.append(f"{_q(wide)} {SPARK_TYPE.get(kind, 'double')}")
        frame = spark.createDataFrame(arrow_safe(pd.DataFrame(data)), ", ".join(schema))
        union = frame if union is None else union.unionByName(frame, allowMissingColumns=True)
    assert union is not None  # `run_score` refuses data without orders
    return union
