"""The accepted rows of a Spark load on the driver (issue 11): streamed a table at a time in the pandas loader's
canonical row order, measured as they pass (the data fingerprint of the run id, the model inputs' shares) and
kept without the columns no scoring step reads (personal columns, event keys).

in:  the accepted rows of every table, persisted in Spark (`accepted_union`: table tag, source position `ROW`,
     `<table>|val:<column>` in Spark types). out: `SparkTables`, the validated pandas tables `run_score`'s
     whole-base steps read, with what was measured of the whole tables. No clock.
Which columns the driver keeps and the sums folded as the tables stream: `pipelines.engines.spark_driver_view`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.contract import EVENT_TIME_COLUMNS
from features.validation import StructuralError
from pipelines.engines.spark_checks import REASON, ROW, TABLE, VAL, _q, projection, validated_columns
from pipelines.engines.spark_driver_view import (
    EARLY_TABLES,
    ID_TABLES,
    NO_ID_TABLES,
    StreamedCounts,
    driver_columns,
    driver_view,
    order_counts_of,
)

if TYPE_CHECKING:  # pyspark is an optional extra: imported only when the Spark engine runs
    import pyarrow as pa
    from pyspark.sql import DataFrame as SparkDataFrame


class SparkTables(dict):
    """The validated tables of a Spark load: a dict of pandas tables (what `run_score`'s whole-base steps read;
    only the columns they read, `driver_columns`) that also holds `accepted`, the same rows still in Spark and
    persisted (`accepted_union`), which the Spark scoring backend builds its customer buckets from (issue 11,
    step 2); `fingerprint` and `model_inputs`, measured on the whole tables as they streamed in (`run_score`
    would otherwise measure the tables it holds); `empty`, each table without rows but with every column a
    scoring step reads (the feature columns are judged from them); `collected`, what the driver received;
    `paid_at_stop`, the whole-base stop on `invoices.paid_at` the driver's columns cannot judge. The
    backend unpersists `accepted` once its features are built; the session ends with the run."""

    accepted: SparkDataFrame | None = None
    fingerprint: dict[str, dict[str, Any]] | None = None
    #: `table.column` -> (values, values above 0), counted as the tables streamed (`loading.check_positive_values`)
    positive_values: dict[str, tuple[int, int]] | None = None
    #: `features.contract.amount_scale` of the whole tables, measured as they streamed (`check_amount_scale`):
    #: the driver keeps no `returns.amount`, no `invoices.amount`
    amount_scale: dict[str, float] | None = None
    #: `features.conventions.amount_totals` of the whole tables, summed as they streamed, with `customer_medians` of
    #: the sums per customer (`load_notes.amount_notes`)
    amount_totals: dict[str, tuple[float, ...]] | None = None
    #: `pipelines.load_notes.email_twins` of the customers' `email_keys` as they streamed (no address kept)
    email_twins: tuple[int, list[list[str]], int, int] | None = None
    empty: dict[str, pd.DataFrame] | None = None
    model_inputs: dict[str, dict[str, float]] | None = None
    collected: dict[str, float] | None = None
    #: `check_paid_at_filled`'s error judged on the whole invoices in Spark (`paid_at_stop`): the driver's keep no
    #: `paid_at`; raised where the pandas engine's check stands (`check_after_first_order`), not at load
    paid_at_stop: StructuralError | None = None
    #: the accepted rows of each table (the driver keeps only the distinct customer ids of `ID_TABLES`)
    rows: dict[str, int] | None = None
    #: the accepted orders per customer id, counted as the orders streamed when the driver keeps no orders'
    #: customer id (`NO_ID_TABLES`): what the loading notes read of them (`pipelines.load_notes.order_counts`)
    order_counts: pd.Series | None = None
    #: `features.stamped_dates.stamped_note` of each stamped date column the driver does not keep, judged on the
    #: whole column as it streamed (`table.column` -> the note or None)
    stamped: dict[str, str | None] | None = None
    #: `features.model_inputs.model_input_counts` of each whole table as it streamed (the empty-column notes)
    input_counts: dict[str, tuple[int, dict[str, int]]] | None = None
    #: `pipelines.data_age.filled_by_day` of each whole table as it streamed (`stopped_columns`)
    filled_days: dict[str, pd.DataFrame] | None = None
    #: `features.unit_steps.month_sums` of the invoices' and returns' amounts as they streamed (the unit-step note)
    month_amounts: dict[str, pd.DataFrame] | None = None

    def clear(self) -> None:
        """The tables let go (`run_score`, before it writes the scores: nothing reads them after), with what the
        driver keeps per customer beside them (the orders per customer id, the statuses' memo); the whole-table
        figures stay (a few numbers per table)."""
        super().clear()
        self.order_counts = None
        self.__dict__.pop("_status_memo", None)

    def later_events(self, as_of: pd.Timestamp) -> dict[str, int] | None:
        """`pipelines.loading.later_events` of the whole tables, counted by Spark over `accepted` (the driver
        keeps no time of `ID_TABLES`); None without `accepted` (a training sample's tables, which keep every
        column: counted from them)."""
        times = self._event_times(as_of)
        return None if times is None else times[0]

    def latest_events(self, as_of: pd.Timestamp) -> dict[str, Any] | None:
        """`pipelines.data_age.latest_event`'s times: per `table.column`, its latest time before `as_of`, found
        by Spark over `accepted`; None without `accepted` (a training sample's tables keep every column)."""
        times = self._event_times(as_of)
        return None if times is None else times[1]

    def _event_times(self, as_of: pd.Timestamp) -> tuple[dict[str, int], dict[str, Any]] | None:
        """Both of the above from one aggregation (one Spark job), kept for the as-of."""
        if self.accepted is None:
            return None
        memo = self.__dict__.setdefault("_event_times_memo", {})
        if as_of not in memo:
            memo[as_of] = event_times_spark(self.accepted, set(self), as_of)
        return memo[as_of]

    def event_days(self, table: str, column: str, as_of: pd.Timestamp) -> np.ndarray | None:
        """The days before `as_of` holding `table.column` (`ID_TABLES`: no time kept here), found by Spark with
        the other such tables' (`event_days_spark`, one job per as-of); None without `accepted` (a sample's)."""
        from pipelines.engines.spark_orders import event_days_spark

        memo = self.__dict__.setdefault("_event_days_memo", {})
        if self.accepted is not None and (as_of, table, column) not in memo:
            others = [(t, EVENT_TIME_COLUMNS[t][0]) for t in ID_TABLES if t in self and t != table]
            found = event_days_spark(self.accepted, [(table, column), *others], as_of)
            memo |= {(as_of, t, c): days for (t, c), days in found.items()}
        return memo.get((as_of, table, column))

    def status_tables(self, as_of: pd.Timestamp, last: bool = False) -> Mapping[str, pd.DataFrame]:
        """The tables `features.population.customer_status` and the chunk count (`spark_buckets.chunk_count`)
        read at `as_of`: these, with the orders as one row per customer who has any (`last_orders_spark`: their
        last order before as_of, missing when every one comes later), found by Spark: the same statuses and
        chunks, from a row per customer where the driver kept a customer id per order (issue 11). Themselves
        without `accepted` (a training sample's tables keep every column). One job per as-of, kept for the next
        reader; `last`: the last reader at this as-of (the Spark backend's chunk count, after the run's statuses):
        the row per customer leaves the memo, so the driver holds it no longer than that reader (issue 11)."""
        if self.accepted is None or "orders" not in self:
            return self
        memo = self.__dict__.setdefault("_status_memo", {})
        if as_of not in memo:
            memo[as_of] = {
                **self,
                "orders": self._measured("status_orders_mb", last_orders_spark(self.accepted, as_of)),
            }
        return memo.pop(as_of) if last else memo[as_of]

    def with_order_ids(self) -> Mapping[str, pd.DataFrame]:
        """These tables with the orders' customer ids, times and revenue of every order (`fetched_table`): the
        input of the BTYD fit (`scoring.model_extras`) of a model with BTYD features, fetched from Spark for it
        alone (the driver keeps no orders' customer ids, issue 11). Themselves without `accepted`."""
        if self.accepted is None or "orders" not in self:
            return self
        keep = ["customer_id", "ordered_at", "revenue"]
        orders = fetched_table(self.accepted, "orders", keep, (self.rows or {})["orders"])
        return {**self, "orders": self._measured("btyd_orders_mb", orders)}

    def example_rows(self, name: str) -> pd.DataFrame | None:
        """The pandas table `name`'s first five rows (`first_rows_spark`): the example rows of a stop judged on a
        table the driver keeps narrowed (the zero-revenue stop: it keeps the orders' time and revenue only). None
        without `accepted` (a training sample's tables keep every column)."""
        return None if self.accepted is None else first_rows_spark(self.accepted, name)

    def _measured(self, key: str, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame`, its pandas memory added to `collected[key]` (the manifest's `driver_collected`)."""
        if self.collected is not None:
            mb = float(frame.memory_usage(deep=True).sum()) / 2**20
            self.collected[key] = round(self.collected.get(key, 0.0) + mb, 6)
        return frame

    def early_life_tables(self, as_of: pd.Timestamp, early_days: int) -> Mapping[str, pd.DataFrame]:
        """The tables `features.early_life.early_life_features` reads at `as_of` with `early_days` (or fewer):
        these, with the orders and tickets (`EARLY_TABLES`, the early-life columns) of the customers who signed
        up in the window only, fetched from Spark in the canonical order (`fetched_table`; the driver keeps no
        early-life inputs, issue 11). The features read no other customer's orders or tickets: the same
        features. Themselves without `accepted` (a training sample's tables keep every column)."""
        customers = self.get("customers")
        if self.accepted is None or customers is None or "signup_at" not in customers:
            return self
        from features.early_life import EARLY_LIFE_COLUMNS

        at = pd.Timestamp(as_of)
        signup = customers["signup_at"]
        window = ((signup < at) & (signup >= at - pd.Timedelta(days=early_days))).to_numpy(dtype=bool)
        ids = customers.loc[window, "customer_id"].dropna().astype("str").unique().tolist()
        out = dict(self)
        for name in EARLY_TABLES:
            if name in self:
                empty = (self.empty or {}).get(name, self[name])
                keep = [c for c in EARLY_LIFE_COLUMNS[name] if c in empty and c != "order_id"]
                out[name] = fetched_table(self.accepted, name, keep, (self.rows or {}).get(name, 0), ids)
        return out

    def base_signature(self, as_of: pd.Timestamp) -> dict[str, str] | None:
        """`pipelines.history_identity.base_signature` of the whole orders, computed by Spark over `accepted`
        (the driver keeps no `order_id`); None without `accepted` (a training sample's tables keep it)."""
        if self.accepted is None or "orders" not in self:
            return None
        return signature_spark(self.accepted, as_of)


def accepted_union(judged: SparkDataFrame) -> SparkDataFrame:
    """The accepted rows of every table in one frame: table tag, position (sorts in source order) and the
    `<table>|val:<column>` columns (validated values, Spark types)."""
    from pyspark.sql import functions as F

    vals = [c for c in judged.columns if "|" + VAL in c]
    return judged.filter(F.col(REASON).isNull()).selectExpr(*projection(TABLE, ROW, *vals))


def empty_table(accepted: SparkDataFrame, name: str) -> pd.DataFrame:
    """Table `name` without rows, with every validated column of the load and the pandas engine's dtypes."""
    own = [c for c in accepted.columns if c.startswith(f"{name}|{VAL}")]
    return validated_columns(pd.DataFrame({c: pd.Series(dtype=object) for c in own}), name)


def event_times_spark(
    accepted: SparkDataFrame, present: set[str], as_of: pd.Timestamp
) -> tuple[dict[str, int], dict[str, Any]]:
    """On the executors, in one aggregation: `pipelines.loading.later_events` (rows per table.column dated at or
    after as-of) and `pipelines.data_age.latest_event`'s times (per table.column, its latest time before as-of)."""
    from pyspark.sql import functions as F

    at = F.lit(str(as_of)).cast("timestamp_ntz")
    keys = [(t, c) for t, cols in EVENT_TIME_COLUMNS.items() if t in present for c in cols]
    if not keys:
        return {}, {}
    later, latest = [], []
    for t, c in keys:
        col, mine = F.col(_q(f"{t}|{VAL}{c}")), F.col(TABLE) == t
        later.append(F.sum(F.when(mine & (col >= at), 1).otherwise(0)).alias(f"later:{t}.{c}"))
        latest.append(F.max(F.when(mine & (col < at), col)).alias(f"latest:{t}.{c}"))
    row = accepted.agg(*later, *latest).collect()[0]
    counts = {f"{t}.{c}": int(row[f"later:{t}.{c}"] or 0) for t, c in keys if row[f"later:{t}.{c}"]}
    return counts, {f"{t}.{c}": row[f"latest:{t}.{c}"] for t, c in keys}


def signature_spark(accepted: SparkDataFrame, as_of: pd.Timestamp) -> dict[str, str]:
    """`pipelines.history_identity.base_signature` on the executors: each partition's orders' own (a
    `mapInPandas`: the keyed hash of each order id, the `SAMPLE` lowest of the year before as-of), of which the
    driver keeps the lowest (`lowest_of`). Only hashes and digests reach the driver, no order id."""
    from pyspark.sql import functions as F

    from pipelines.history_identity import base_signature, lowest_of

    def sample(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        got: dict[str, str] = {}
        for batch in batches:
            got = lowest_of([got, base_signature(validated_columns(batch, "orders"), as_of)])
        yield pd.DataFrame({"key": list(got), "digest": list(got.values())}, dtype=object)

    own = [_q(f"orders|{VAL}{c}") for c in ("order_id", "customer_id", "ordered_at")]
    orders = accepted.filter(F.col(TABLE) == "orders").select(*own)
    rows = orders.mapInPandas(sample, "key string, digest string").collect()
    return lowest_of([{r["key"]: r["digest"] for r in rows}])


def shown_rows(frame: SparkDataFrame, name: str) -> pd.DataFrame:
    """The first five of table `name`'s accepted rows in `frame` (source order), every column, validated: the
    example rows of a whole-base stop judged by Spark counts."""
    few = frame.orderBy(ROW).limit(5)
    return accepted_tables(few, {name: few.count()}, every_column=True)[name]


def paid_at_stop(accepted: SparkDataFrame, last: pd.Timestamp) -> StructuralError | None:
    """`pipelines.loading.check_paid_at_filled` on the whole base in Spark (the driver keeps no `paid_at`, no
    `due_at`): no `paid_at` on any accepted invoice, some due before `last` (the last accepted order) -> its
    error with the pandas message and counts (one aggregation job); None when the rule does not stop."""
    from pyspark.sql import functions as F

    from pipelines.loading import paid_at_error

    def col(c: str) -> Any:
        return F.col(_q(f"invoices|{VAL}{c}"))

    if f"invoices|{VAL}paid_at" not in accepted.columns or pd.isna(last):
        return None
    inv = accepted.filter(F.col(TABLE) == "invoices")
    due = col("due_at") < F.lit(str(last)).cast("timestamp_ntz")
    row = inv.agg(
        F.count(F.lit(1)).alias("n"),
        F.count(col("paid_at")).alias("paid"),
        F.sum(F.when(due, 1).otherwise(0)).alias("due"),
    ).collect()[0]
    if not row["n"] or row["paid"] or not row["due"]:
        return None
    return paid_at_error(int(row["n"]), int(row["due"]), shown_rows(inv.filter(due), "invoices"))


#: Rows per sorted partition when a table streams to the driver (`canonical_batches`): the driver receives one
#: partition at a time, so this bounds what it holds of a table in flight (about 100 MB of Arrow for orders).
STREAM_ROWS = 1_000_000


def canonical_batches(
    accepted: SparkDataFrame,
    name: str,
    rows: int,
    keep: Sequence[str] | None = None,
    ids: Collection[str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Table `name`'s accepted rows (`rows` of them, or at most so many) streamed to the driver in the pandas
    loader's canonical order (`features.row_order.sort_columns`: each ascending, missing last; ties in source
    order, `ROW`): sorted on the executors (range-partitioned when over `STREAM_ROWS`), the sorted partitions
    fetched one at a time (`toLocalIterator`, a job each) as Arrow record batches. Spark compares text as UTF-8
    bytes, timestamps as instants: Python's and the pandas sort's order (tested by the fingerprints being equal).
    `keep`: only these columns come (besides `TABLE` and `ROW`; sorted by all of them first); `ids`: only the rows
    of these customers (`chunks.CUSTOMER_TABLES`' id column), in the same order as among all rows."""
    import pyarrow as pa
    from pyspark.sql import functions as F

    from features.row_order import sort_columns
    from pipelines.engines.chunks import CUSTOMER_TABLES

    own = [c for c in accepted.columns if c.startswith(f"{name}|{VAL}")]
    frame = accepted.filter(F.col(TABLE) == name)
    if ids is not None:
        frame = frame.filter(F.col(_q(f"{name}|{VAL}{CUSTOMER_TABLES[name]}")).isin(sorted(ids)))
    frame = frame.selectExpr(*projection(TABLE, ROW, *own))
    by = sort_columns(name, [c.split("|" + VAL, 1)[1] for c in own])
    keys = [F.col(_q(f"{name}|{VAL}{c}")).asc_nulls_last() for c in by] + [F.col(ROW).asc()]
    parts = -(-rows // STREAM_ROWS)
    frame = frame.repartitionByRange(parts, *keys) if parts > 1 else frame.coalesce(1)
    frame = frame.sortWithinPartitions(*keys)
    if keep is not None:  # a projection keeps each partition's order
        frame = frame.selectExpr(*projection(TABLE, ROW, *[f"{name}|{VAL}{c}" for c in keep]))

    def ipc(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, batch.schema) as writer:
                writer.write_batch(batch)
            yield pa.RecordBatch.from_arrays([pa.array([sink.getvalue().to_pybytes()], pa.binary())], ["ipc"])

    for row in frame.mapInArrow(ipc, "ipc binary").toLocalIterator():
        yield from pa.ipc.open_stream(pa.py_buffer(row["ipc"]))


def last_orders_spark(accepted: SparkDataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """On the executors (one aggregation job): per customer id of the accepted orders, their last order before
    `as_of` (missing when none is before it), as the validated orders' `customer_id` and `ordered_at` columns, one
    row per customer, ordered by id (`SparkTables.status_tables`)."""
    from pyspark.sql import functions as F

    cid, t = (f"orders|{VAL}{c}" for c in ("customer_id", "ordered_at"))
    at = F.lit(str(as_of)).cast("timestamp_ntz")
    last = (
        accepted.filter(F.col(TABLE) == "orders")
        .groupBy(F.col(_q(cid)).alias(cid))
        .agg(F.max(F.when(F.col(_q(t)) < at, F.col(_q(t)))).alias(t))
        .toArrow()
    )  # sorted here, not by Spark (a range sort costs a sampling job)
    return validated_columns(last.to_pandas(), "orders").sort_values("customer_id", ignore_index=True)


def first_rows_spark(accepted: SparkDataFrame, name: str, n: int = 5) -> pd.DataFrame:
    """The first `n` of table `name`'s accepted rows in the pandas loader's canonical order (`canonical_batches`'
    order), every column, validated, indexed by their position among the accepted rows in source order: the
    pandas table's `head(n)`. Two jobs: the rows (Spark's take-ordered), their positions (one aggregation)."""
    from pyspark.sql import functions as F

    from features.row_order import sort_columns

    own = [c for c in accepted.columns if c.startswith(f"{name}|{VAL}")]
    frame = accepted.filter(F.col(TABLE) == name)
    by = sort_columns(name, [c.split("|" + VAL, 1)[1] for c in own])
    keys = [F.col(_q(f"{name}|{VAL}{c}")).asc_nulls_last() for c in by] + [F.col(ROW).asc()]
    first = frame.select(ROW, *[_q(c) for c in own]).orderBy(*keys).limit(n).toArrow().to_pandas()
    table = validated_columns(first, name)
    if len(first):
        at = [int(r) for r in first[ROW]]
        before = [F.sum(F.when(F.col(ROW) < p, 1).otherwise(0)).alias(f"p{i}") for i, p in enumerate(at)]
        counts = frame.agg(*before).collect()[0]
        table.index = pd.Index([int(counts[f"p{i}"]) for i in range(len(at))], dtype=np.int64)
    return table


def fetched_table(
    accepted: SparkDataFrame, name: str, keep: Sequence[str], rows: int, ids: Collection[str] | None = None
) -> pd.DataFrame:
    """Of table `name`'s accepted rows (`rows` in all), the `keep` columns (of customers `ids` only when given),
    validated, in the pandas loader's canonical order (`canonical_batches`), a fresh index; no job for no ids.
    The early-life features' inputs of the customers in their first weeks (`SparkTables.early_life_tables`), the
    BTYD fit's orders (`SparkTables.with_order_ids`)."""
    empty = empty_table(accepted, name)[list(keep)]
    if ids is not None and not ids:
        return empty
    got = [
        validated_columns(b.to_pandas(), name)[list(keep)]
        for b in canonical_batches(accepted, name, rows, keep, ids)
    ]
    return pd.concat([empty, *got], ignore_index=True) if got else empty


def accepted_tables(
    accepted: SparkDataFrame, accepted_rows: Mapping[str, int], every_column: bool = False
) -> SparkTables:
    """The accepted rows of every table (`accepted_union`) on the driver in the validated representation and the
    pandas loader's canonical row order, as `SparkTables` (issue 11): each table streams in (`canonical_batches`)
    and, batch by batch, is fingerprinted (`pipelines.fingerprint.BatchFingerprint`: the digest of the whole
    table, as `run_score` takes it for the run id), its model inputs counted (`features.model_inputs.model_inputs`)
    and cut to the columns the driver's steps read (`driver_columns`), so the driver never holds the others (nor
    the personal columns and event keys the pandas engine drops once the fingerprint has them). The index is each
    row's position in source order, as the pandas loader's tables carry it. `every_column`: keep every column
    (a training sample's rows, whose features the driver builds: `spark_training`)."""
    import tempfile

    from features.contract import SCALE_COLUMNS, amount_scale
    from features.model_inputs import input_shares, model_input_counts
    from features.stamped_dates import STAMPED_COLUMNS, stamped_note
    from pipelines.data_age import summed_days
    from pipelines.engines.scoring import unread_columns
    from pipelines.fingerprint import BatchFingerprint

    tables = SparkTables()
    tables.empty = {}
    fingerprints, counts, scale, stamped, summed = {}, {}, {}, {}, StreamedCounts()
    streamed = 0.0
    for name, n_rows in accepted_rows.items():
        empty = empty_table(accepted, name)
        keep = (
            list(empty.columns)
            if every_column
            else driver_columns(name, empty.columns, ids="customers" not in accepted_rows)
        )
        tables.empty[name] = empty.drop(columns=unread_columns(name, empty.columns))
        rows, kept, positions = 0, [], []
        scaled = [c for t, c in SCALE_COLUMNS if t == name and c in empty.columns]
        amounts: dict[str, list[pd.Series]] = {c: [] for c in scaled}
        filled = dict.fromkeys((model_input_counts(name, empty) or (0, {}))[1], 0)
        # the orders per customer, when the driver keeps no customer id of them (the loading notes' counts)
        counted: list[pd.Series] | None = [] if name in NO_ID_TABLES and "customer_id" not in keep else None
        dated = {c: [] for c in STAMPED_COLUMNS.get(name, ()) if c in empty.columns and c not in keep}
        with tempfile.TemporaryDirectory(prefix="cvp-fingerprint-") as spool:
            fingerprint = BatchFingerprint(empty, spool)
            for batch in canonical_batches(accepted, name, n_rows):
                streamed += batch.nbytes / 2**20
                got = batch.to_pandas()
                table = validated_columns(got, name)
                fingerprint.add(table)
                for c, n in model_input_counts(name, table)[1].items():
                    filled[c] += n
                summed.add(name, table)  # the rules' counts, a batch at a time (`StreamedCounts`)
                for c in scaled:  # the positive amounts, held while this table streams (`amount_scale`)
                    amounts[c].append(table[c][table[c] > 0])
                if counted is not None:
                    counted.append(table["customer_id"].value_counts(sort=False))
                for c, parts in dated.items():  # each instant's rows, held while this table streams
                    parts.append(table[c].value_counts(sort=False))
                if every_column or name not in ID_TABLES:
                    positions.append(got[ROW].to_numpy(dtype=np.int64))
                    kept.append(table[keep])
                else:  # the distinct customer ids (`driver_view`), batch by batch
                    kept.append(driver_view(name, table))
                rows += len(table)
                del got, table
            fingerprints[name] = fingerprint.fingerprint()
        for c, parts in amounts.items():  # the pandas rule on the table's positive amounts: their median
            scale |= amount_scale({name: pd.DataFrame({c: pd.concat(parts) if parts else empty[c]})})
        del amounts
        counts[name] = (rows, filled)
        for c, parts in dated.items():  # the pandas rule on the whole column's counts per instant
            each = pd.concat(parts).groupby(level=0).sum() if parts else empty[c].value_counts()
            stamped[f"{name}.{c}"] = stamped_note(name, c, each.sort_values(ascending=False, kind="stable"))
        del dated
        if counted is not None:  # canonical order: a customer's orders in one batch or two, summed
            tables.order_counts = order_counts_of(counted, empty)
        frame = pd.concat(kept, ignore_index=True) if kept else empty[keep]
        del kept
        if name in ID_TABLES and not every_column:
            frame = driver_view(name, frame)
        # the index: each row's rank in source order, as `validated_table` and then the canonical order gave it
        at = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
        rank = np.empty(len(at), dtype=np.int64)
        rank[np.argsort(at, kind="stable")] = np.arange(len(at))
        if (rank != np.arange(len(at))).any():
            frame.index = pd.Index(rank)
        tables[name] = frame
    tables.fingerprint = {name: fingerprints[name] for name in sorted(fingerprints)}
    tables.model_inputs = input_shares(counts)
    tables.input_counts, tables.stamped = counts, stamped
    tables.positive_values, tables.amount_totals, tables.email_twins = summed.results()
    tables.filled_days = {name: summed_days(parts) for name, parts in summed.days.items()}
    tables.month_amounts = summed.months.results()
    tables.amount_scale = {f"{t}.{c}": scale[f"{t}.{c}"] for t, c in SCALE_COLUMNS if f"{t}.{c}" in scale}
    # streamed: the Arrow bytes that passed; held: the pandas memory of what the driver keeps of them
    held = sum(float(t.memory_usage(deep=True).sum()) for t in tables.values()) / 2**20
    if tables.order_counts is not None:
        held += float(tables.order_counts.memory_usage(deep=True)) / 2**20
    tables.collected = {"tables_mb": round(streamed, 6), "tables_held_mb": round(held, 6)}
    tables.rows = dict(accepted_rows)
    return tables
