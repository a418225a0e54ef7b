"""The input tables read and validated by Spark (`cvp score --engine spark`): Spark's readers load the data and the
executors check it with the contract's own rules (`features.validation`), so no rule is written twice.

`--data` is a directory (a local path or any URI Spark reads: `s3a://`, `hdfs://`, ...) holding, per contract
table, one file (`orders.csv`, `orders.parquet`) or a directory of part files (`orders/part-*.parquet`).

Where each check runs:
- structural (driver, from the listing, the schema and the first rows): a missing table or column, an unreadable
  file: `StructuralError` (exit 2) with the pandas engine's message.
- row rules (executors, one `mapInPandas` per table over the input partitions, no shuffle):
  `features.validation._validate_table` on each Arrow batch (column parsing, row rules, configured bounds), its
  key check left to the next step; every row keeps its first reason and its `source_row` (position in the table
  as read: per-partition offsets from one count per partition, so a single file numbers its rows as pandas does).
- everything that needs other rows: `pipelines.engines.spark_checks` (one shuffle by customer bucket and one
  per-bucket Python step running `features.validation`'s own checks; one window per non-customer key; one
  aggregation for the counts and the "no value parses" rule). Same order of checks as `validate_tables`, so a
  row gets the same (first) reason.
Rejects are written by the executors to `<rejects>/<table>/` (CSV parts: source_row, the row as read, reason);
counts per table and reason come back to the driver (a few numbers per table).

Time semantics: none (no clock). Session time zone: parsed timestamps travel as `timestamp_ntz` (naive, in the
configured `data.timezone` as the pandas engine holds them), so the session time zone does not shift them; zoned
Parquet timestamps reach the executors as integers since the epoch (`instant_columns`), never in the session's zone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.column_checks import ColumnStats
from features.contract import TABLES, Table
from features.crossrefs import CLOSING_DATES
from features.errors import for_the_driver
from features.validation import StructuralError, TableReport, ValidationResult
from pipelines.config import AppConfig
from pipelines.engines.spark_checks import (
    BUCKET,
    BUCKET_KEYS,
    CURRENCY,
    GIVEN,
    LAST_ORDER,
    MASKS,
    PARTITION_SHIFT,
    RAW,
    REASON,
    REF,
    ROLE,
    ROW,
    SIGNUP,
    SPARK_TYPE,
    TABLE,
    UNKNOWN,
    VAL,
    _check_throughout,
    _duplicates,
    _offsets,
    _q,
    _wide,
    bucket_rows,
    check_bucket,
    early_columns,
    narrow,
    projection,
    source_rows,
    table_view,
)
from pipelines.engines.spark_masks import checked_columns, column_masks, other_currency
from pipelines.engines.spark_orders import check_returns, last_order_rows
from pipelines.engines.spark_parts import publish_rejects_spark
from pipelines.engines.spark_slots import bucket_slots, every_slot
from pipelines.engines.spark_sources import (
    Source,
    _is_local,
    instant_columns,
    nanosecond_columns,
    read_source,
)
from pipelines.engines.spark_stats import column_stats
from pipelines.engines.spark_tables import accepted_tables, accepted_union, empty_table, paid_at_stop
from pipelines.staging import StagedDirectory
from pipelines.table_files import fixed_binary_columns

if TYPE_CHECKING:  # pyspark is an optional extra: imported only when the Spark engine runs
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession
    from rich.console import Console

    from pipelines.engines.spark_catalog import CatalogName
    from pipelines.io import LoadedData


def _row_schema(table: Table, raw_columns: list[str]) -> str:
    cols = [f"{_q(ROW)} bigint", f"{_q(REASON)} string", f"{_q(UNKNOWN)} bigint"]
    cols += [f"{_q(mask)} bigint" for mask in MASKS.values()]
    cols += [f"{_q(RAW + c)} string" for c in raw_columns]
    for name in checked_columns(table, raw_columns):
        kind = table.column(name).kind
        cols.append(f"{_q(VAL + name)} {SPARK_TYPE.get(kind, 'double')}")
    return ", ".join(cols)


def _as_text(s: pd.Series) -> pd.Series:
    """A raw column as text for the rejects (missing stays missing), whatever type it was read as: `str()` of each
    value. Without a Python call per value where the result is known to be the same (the call was 70-80% of the
    row checks' CPU on the demo's Parquet tables, docs/spark.md): a text column (every column of a CSV file)
    holds its text already; a float64 column as NumPy writes it (the shortest round-trip form, as `str()`); a
    naive datetime's whole seconds as `YYYY-MM-DD HH:MM:SS` (`Timestamp.__str__`); anything else (a fraction of
    a second, a zone, another type) value by value."""
    if isinstance(s.dtype, pd.StringDtype):
        return s.astype("str")  # what the mapping below gives such a column (pandas' default text dtype)
    if s.dtype == np.float64 or (isinstance(s.dtype, np.dtype) and s.dtype.kind == "M"):
        values = s.to_numpy()
        given = ~(np.isnan(values) if s.dtype.kind == "f" else np.isnat(values))
        out = np.full(len(s), None, dtype=object)
        if s.dtype.kind == "f":
            exact = given
            out[exact] = values[exact].astype("U")  # NumPy's shortest round-trip form, as str()
        else:
            seconds = values.astype("datetime64[s]")
            exact = given & (seconds == values)
            if exact.any():
                out[exact] = np.char.replace(np.datetime_as_string(seconds[exact], unit="s"), "T", " ")
        rest = given & ~exact
        out[rest] = [str(v) for v in s[rest]]
        return pd.Series(out, index=s.index, name=s.name)
    return s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))


def check_rows(
    batches: Iterator[pd.DataFrame],
    name: str,
    start: int,
    timezone: str,
    date_formats: Mapping[str, str],
    max_values: Mapping[str, float],
    nanos: Mapping[str, tuple[str, str | None]] | None = None,
    currency: str | None = None,
    early: Mapping[str, pd.Timestamp] | None = None,
    strays: list[str] | None = None,
    fixed: Sequence[str] = (),
    refunds: bool = False,
) -> Iterator[pd.DataFrame]:
    """Row checks of one input partition of table `name` (the mapInPandas body; `start`: its first position).

    in:  the table's rows as read. out: one row per input row: position (see `PARTITION_SHIFT`), reason
    (first problem, None if accepted so far), given/bad bit masks per contract column, the raw columns as text,
    the parsed columns. `early`, `strays`: the table's dates years before the rest of their column and its id
    columns with a stray `42.0`, found over the whole table by a previous pass (`validate_spark`); `fixed`: its
    columns of fixed-length bytes (`pipelines.table_files.fixed_binary_columns`), marked as the pandas engine does;
    `refunds`: the data holds a returns table (`features.sale_status`).
    """
    from features.column_types import fixed_length_bytes
    from features.decimal_ids import reject_stray_decimal_ids
    from features.refund_columns import refund_rows
    from features.sale_status import refunded_rows
    from features.validation import _validate_table
    from features.zone_columns import other_zone_rows
    from pipelines.engines.spark_stops import early_rows
    from pipelines.io import undecodable_as_bytes

    table = dataclasses.replace(TABLES[name], key=None)  # keys are judged over the whole table afterwards
    with for_the_driver(table=name):  # an unexpected error named by its table and column on the driver
        for raw in batches:
            raw = raw.reset_index(drop=True)
            for col, (unit, zone) in (
                nanos or {}
            ).items():  # integers since the epoch -> the timestamps pandas reads
                stamps = pd.to_datetime(raw[col], unit=unit, utc=zone is not None)
                raw[col] = stamps.dt.tz_convert(zone) if zone is not None else stamps
            for (
                col
            ) in fixed:  # Spark reads them as `binary` (`BinaryType`), as the variable-length bytes of text
                raw[col] = fixed_length_bytes(raw[col])
            # a `string` of latin-1 bytes: the pandas reader's stop, not a traceback
            undecodable_as_bytes(raw)
            stats: dict[str, ColumnStats] = {}
            parsed, rej, _, _ = _validate_table(
                table, raw, timezone, date_formats, max_values, stats, refunds
            )
            dates = early_rows(
                table, parsed, rej, early or {}
            )  # `1921` for `2021`, judged over the whole column
            reject_stray_decimal_ids(table, parsed, rej, strays or [])  # then a stray `42.0` among `42`s
            out: dict[str, Any] = {
                ROW: np.arange(start, start + len(raw), dtype=np.int64),  # positions
                REASON: rej.reason,
                UNKNOWN: np.zeros(len(raw), dtype=np.int64),  # set by the bucket step (`check_bucket`)
                **column_masks(table, raw, parsed, stats, date_formats, timezone),
                **dates,
                CURRENCY: other_currency(raw, currency)
                | (refunded_rows(name, raw) & refunds).astype(np.int64) << 1
                | other_zone_rows(name, raw, timezone).astype(np.int64) << 2
                | refund_rows(name, raw, refunds).astype(np.int64) << 3,
            }
            start += len(raw)
            for col in raw.columns:
                out[RAW + str(col)] = _as_text(raw[col])
            for col in parsed.columns:
                values = parsed[col]
                if table.column(col).kind in ("id", "text"):
                    values = _as_text(values)
                out[VAL + col] = values
            yield pd.DataFrame(out)


def validate_spark(
    spark: SparkSession,
    sources: Mapping[str, Source],
    cfg: AppConfig,
    early: Mapping | None = None,
    strays: Mapping[str, list[str]] | None = None,
    notes: list[str] | None = None,
) -> tuple[dict[str, SparkDataFrame], dict[str, TableReport], list[SparkDataFrame], SparkDataFrame]:
    """Every table read and judged on the executors: (checked frames, reports, frames persisted on the way,
    the union of all checked rows). A checked frame holds every input row of its table: source_row, reason
    (None = accepted), the raw columns (`raw:<name>`), the parsed ones (`val:<name>`). `early`: the dates found
    years before the rest of their column by a previous pass (`spark_stops.early_dates`); when this pass finds
    others, the data is judged again with them (only then: a mistyped year in the data). `notes`: the load notes,
    given the count of orders marked refunded kept beside a returns table (`CURRENCY`'s bit 1)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    from features.header import structural_checks, suggestions
    from features.refund_columns import refund_columns, refund_note
    from features.sale_status import refunded_note
    from pipelines.engines.spark_cross_stops import (
        churn_stops,
        cross_table_stops,
        currency_stops,
        referral_stops,
        returns_stops,
    )
    from pipelines.engines.spark_session import short_plan
    from pipelines.engines.spark_stops import TableRows, early_dates, stray_decimals, table_stops

    # One task per bucket; adaptive execution would coalesce the small buckets and start a job per stage.
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    n_buckets = max(spark.sparkContext.defaultParallelism, 1)
    spark.conf.set("spark.sql.shuffle.partitions", str(n_buckets))
    slots = bucket_slots(n_buckets)  # what a bucket's rows are grouped by: each bucket its own task
    d = cfg.data
    tz = d.timezone
    formats, bounds = dict(d.date_formats or {}), dict(d.max_values or {})
    currency = d.currency
    checked: dict[str, SparkDataFrame] = {}
    facts: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {}
    columns: dict[str, list[str]] = {}
    columns_read: dict[str, list[str]] = {}
    for name, source in sources.items():
        frame = read_source(spark, name, source)
        raw_columns = list(frame.columns)
        columns_read[name] = raw_columns
        nanos = {c: ("ns", zone) for c, zone in nanosecond_columns(source).items()}
        parquet = source.fmt == "parquet" and source.local_files
        fixed = fixed_binary_columns(source.local_files[0]) if parquet else []
        if instants := instant_columns(source, frame):  # an instant as microseconds: no session zone applied
            nanos |= {c: ("us", zone) for c, zone in instants.items()}
            frame = frame.select(
                *[
                    F.unix_micros(F.col(_q(c))).alias(c) if c in instants else F.col(_q(c))
                    for c in raw_columns
                ]
            )
        head = pd.DataFrame(columns=raw_columns)
        try:
            structural_checks(TABLES[name], head)
        except StructuralError:  # missing or duplicate columns: the pandas message, with the first rows
            if raw_columns:  # a file without columns has no rows to show (and Spark cannot read one)
                structural_checks(TABLES[name], frame.limit(5).toPandas())
            raise
        facts[name] = (
            tuple(c for c in raw_columns if c not in TABLES[name].column_names),
            suggestions(TABLES[name], head),
        )
        columns[name] = checked_columns(TABLES[name], raw_columns)

        dates, stray = (early or {}).get(name), (strays or {}).get(name)

        def rows(
            batches: Iterator[pd.DataFrame],
            name: str = name,
            nanos: dict = nanos,
            dates: Any = dates,
            stray: Any = stray,
            fixed: list[str] = fixed,
            names: list[str] = raw_columns,
            refunds: bool = "returns" in sources,
        ) -> Iterator:
            from pyspark import TaskContext

            from pipelines.engines.spark_session import arrow_safe, quiet_pandas3

            quiet_pandas3()
            start = TaskContext.get().partitionId() << PARTITION_SHIFT
            named = (batch.set_axis(names, axis=1) for batch in batches)
            for out in check_rows(
                named, name, start, tz, formats, bounds, nanos, currency, dates, stray, fixed, refunds
            ):
                yield arrow_safe(bucket_rows(out, name, slots))

        schema = _row_schema(TABLES[name], raw_columns) + f", {BUCKET} int, {ROLE} int"
        # PySpark's `mapInPandas` looks each column up by its name, a dot in one (`returns.order_id`: a SQL
        # client's header) as a struct's field (was: `AnalysisException [UNRESOLVED_COLUMN]`, exit 1): the columns
        # go by position, named again in each batch
        out = frame.toDF(*[f"_c{i}" for i in range(len(raw_columns))]).mapInPandas(rows, schema)
        key = TABLES[name].key
        if key is not None and key in raw_columns and name not in BUCKET_KEYS:
            out = _duplicates(out, key)
        kept = [c for c in out.columns if c.startswith((RAW, VAL))]
        checked[name] = out.selectExpr(
            f"'{name}' AS {TABLE}",  # a contract table's name: a plain word
            *projection(
                ROW, REASON, UNKNOWN, *MASKS.values(), BUCKET, ROLE, *[(c, _wide(name, c)) for c in kept]
            ),
        )

    cached: list[SparkDataFrame] = []
    has_managers = "account_managers" in checked
    by_customer = [f for n, f in checked.items() if n != "account_managers"]
    if has_managers:  # small: its checked rows go to every bucket (no job of their own to collect the ids)
        managers = checked["account_managers"].persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(managers)
        checked["account_managers"] = managers
        by_customer.append(managers.withColumn(BUCKET, every_slot(slots)))
    if ({"customers"} | set(CLOSING_DATES)) & set(checked):
        # `features.crossrefs.far_future` and `reject_far_future_closings` need the last order across buckets
        by_customer.append(last_order_rows(checked["orders"], slots))
    union = by_customer[0]
    for other in by_customer[1:]:
        union = union.unionByName(other, allowMissingColumns=True)
    # a new StructType: `add` would change the union's own (cached) schema in place
    bucket_schema = StructType(
        [*union.schema.fields, StructField(REF, StringType()), StructField(SIGNUP, StringType())]
    )
    vals = {n: columns[n] for n in checked if n != "account_managers"}
    has_customers = "customers" in checked

    def per_bucket(rows: pd.DataFrame) -> pd.DataFrame:
        from pipelines.engines.spark_session import arrow_safe, quiet_pandas3

        quiet_pandas3()
        with for_the_driver():
            return arrow_safe(check_bucket(rows, vals, has_managers, has_customers))

    judged = union.groupBy(BUCKET).applyInPandas(per_bucket, bucket_schema)
    if "referrals" in checked:  # the two copies of a referral row: key, then referrer, then referred
        # the bucket step's rows persisted first: the join's two sides and the other tables read them (without,
        # the Python bucket step ran three times: 44% of the validation job's executor time at 50k, docs/spark.md)
        judged = judged.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(judged)
        copies = judged.filter(F.col(TABLE) == "referrals")
        second = copies.filter(F.col(ROLE) == 1).select(
            F.col(ROW).alias("__r1"), F.col(REF).alias("__ref1"), F.col(UNKNOWN).alias("__u1"),
            F.col(SIGNUP).alias("__signup1"),
        )  # fmt: skip
        # a sort-merge join: a broadcast would start a job of its own
        first = copies.filter(F.col(ROLE) == 0).join(
            second.hint("merge"), F.col(ROW) == F.col("__r1"), "left"
        )
        first = first.withColumn(
            REASON, F.coalesce(F.col(REASON), F.col("__ref1"), F.col(REF), F.col("__signup1"))
        )
        first = first.withColumn(UNKNOWN, F.col(UNKNOWN).bitwiseOR(F.coalesce(F.col("__u1"), F.lit(0))))
        first = first.drop("__r1", "__ref1", "__u1", "__signup1")
        judged = judged.filter(F.col(TABLE) != "referrals").unionByName(first)
    judged = judged.drop(REF, SIGNUP, BUCKET, ROLE, LAST_ORDER)
    if "returns" in checked and _wide("returns", VAL + "order_id") in judged.columns:
        # `features.crossrefs`: a return against its order. The bucket step's rows persisted first: the join's
        # two sides and the other tables read them (without, the Python bucket step ran three times)
        judged = judged.persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(judged)
        judged = check_returns(judged, slots)
    if "account_managers" in checked:
        judged = judged.unionByName(checked["account_managers"].drop(BUCKET, ROLE), allowMissingColumns=True)
    # persisted over a short plan: each frame built on the judged rows below and in the load (the stats, the
    # views, the accepted rows and every table streamed from them) no longer re-analyses the validation's plan
    judged = short_plan(judged)
    cached.append(judged)

    stats = column_stats(judged, max(len(c) for c in columns.values()), early_columns(columns))
    found = early_dates(stats, judged, columns)  # a date years before the rest of its column (mistyped year)
    found_strays = stray_decimals(stats, columns)  # a stray `42.0` among ids written `42`
    if found != (early or {}) or found_strays != (strays or {}):  # judged again with them: before the keys
        for frame in cached:
            frame.unpersist()
        return validate_spark(spark, sources, cfg, found, found_strays, notes)
    reports: dict[str, TableReport] = {}
    views: dict[str, SparkDataFrame] = {}
    rows = {name: TableRows(judged, name) for name in sources}  # collected only for a stop that fires
    # a currency column naming another than `data.currency`: before any table's checks, as `pandas.io.load_data`
    currency_stops(stats, rows, columns_read, currency, tz)
    if notes is not None and "c1" in stats.columns:  # orders marked refunded, kept beside a returns table
        notes.extend(refunded_note(int(stats.loc[stats[TABLE] == "orders", "c1"].sum())))
    for name in sources if notes is not None and "c3" in stats.columns else ():  # a few refunds, no returns
        own = stats[stats[TABLE] == name]
        n_in = int(own["n"].sum())
        notes.extend(refund_note(name, refund_columns(name, columns_read[name]), int(own["c3"].sum()), n_in))
    for name in sources:
        own = stats[stats[TABLE] == name]
        kept = [narrow(c) for c in checked[name].columns if c.startswith(f"{name}|")]
        view = table_view(judged, name, kept)
        offsets = _offsets(own)

        def throughout(
            i: int, name: str = name, view: Any = view, own: Any = own, offsets: Any = offsets
        ) -> None:
            _check_throughout(view, TABLES[name], columns[name], own, offsets, tz, formats, only=i)

        # the pandas engine's column-level stops, in its order (`spark_stops`), before any reject is written
        table_stops(TABLES[name], columns[name], own, rows[name], throughout, formats)
        views[name] = source_rows(view.drop(GIVEN), offsets)
        by_reason = own.groupby(own[REASON].fillna("__accepted__"))["n"].sum()
        counts = {str(r): int(n) for r, n in by_reason.items()}
        accepted = counts.pop("__accepted__", 0)
        ignored, suggested = facts[name]
        reports[name] = TableReport(
            table=name,
            rows_in=accepted + sum(counts.values()),
            accepted=accepted,
            rejected_by_reason=dict(sorted(counts.items())),
            ignored_columns=ignored,
            did_you_mean=suggested,
        )
    # across tables (managers, a customers table without a usable row, ids spelled otherwise)
    files = {n: (Path(s.path.rstrip("/")).name, s.fmt == "csv") for n, s in sources.items()}
    cross_table_stops(stats, {n: (r.rows_in, r.accepted) for n, r in reports.items()}, rows, files)
    referral_stops(stats, rows)  # most referrals dated after the referred customer's signup: another date
    returns_stops(stats, rows)  # most refunds above their order: another unit
    churn_stops(stats, {n: (r.rows_in, r.accepted) for n, r in reports.items()}, rows)  # a stale churned_at
    return views, reports, cached, judged


_FAILED_READ = re.compile(r"FAILED_READ_FILE[^\n]*?reading file (\S+?)\.?\s", re.S)


@contextlib.contextmanager
def unreadable_files() -> Iterator[None]:
    """A file Spark cannot parse while the checks run (a CSV row with more or fewer fields than the header, a
    damaged Parquet page) as a `StructuralError` naming the file, like the pandas reader's, instead of a Java
    trace; for a local CSV file with such rows, the pandas engine's own message (`pipelines.csv_reading.ragged_rows_error`:
    how many rows, examples with their source rows)."""
    try:
        yield
    except Exception as exc:
        found = (
            _FAILED_READ.search(str(exc)) if type(exc).__module__.startswith(("pyspark", "py4j")) else None
        )
        if found is None:
            raise
        where = found.group(1)
        local = Path(where.removeprefix("file://").removeprefix("file:"))
        if where.endswith(".csv") and _is_local(where) and local.is_file():
            from pipelines.csv_reading import ragged_rows_error

            ragged = ragged_rows_error(local)  # the pandas engine's message: how many rows, examples
            if ragged is not None:
                raise ragged from None
        raise StructuralError(
            f"cannot read {where}: the rows do not match the header or the file is damaged "
            "(Spark: FAILED_READ_FILE)"
        ) from None


def check_id_twins(tables: Mapping[str, pd.DataFrame], reports: Mapping[str, Any]) -> None:
    """The pandas loader's last stop, on the driver's ids (two spellings of one customer hash to two buckets):
    `features.crossrefs.check_case_twins` of the customers' ids, or without a customers table of the orders'
    (`reports`: each table's rows in). `load_spark`'s, and since round 35 `cvp train / backtest --engine spark`'s
    without a sample (`spark_training`; was: not judged there, `7,007` beside `7007` trained as two customers)."""
    from features.crossrefs import check_case_twins

    name = "customers" if "customers" in tables else "orders"
    check_case_twins(name, "customer_id", tables[name]["customer_id"], reports[name].rows_in)


def load_spark(
    spark: SparkSession,
    data: str | Path | None,
    cfg: AppConfig,
    rejects: Path | StagedDirectory | None = None,
    tables: Mapping[str, CatalogName] | None = None,
) -> tuple[LoadedData, list[str]]:
    """Read and validate `data` with Spark: (the loaded data as `load_and_report` returns it, reject dirs written).
    `tables`: the catalog tables of `--tables` (`spark_catalog`), read beside (or instead of) `data`'s files.

    The accepted tables are brought to the driver (`run_score`'s whole-base steps still take pandas tables) and
    also stay persisted in Spark (`SparkTables.accepted`) for the scoring backend's buckets; the rejects stay on
    the executors and are written by them.
    """
    from pyspark import StorageLevel

    from features.row_order import canonical_row_order
    from features.schemas import check_tables
    from pipelines.engines.spark_catalog import table_sources
    from pipelines.io import LoadedData

    sources, notes = table_sources(spark, data, tables)
    cached: list[SparkDataFrame] = []
    accepted = None
    try:
        with unreadable_files():
            checked, reports, cached, judged = validate_spark(spark, sources, cfg, notes=notes)
            # kept for the scoring backend (`SparkTables`); filled by the first table streamed below
            accepted = accepted_union(judged).persist(StorageLevel.MEMORY_AND_DISK)
            tables = accepted_tables(accepted, {name: reports[name].accepted for name in sources})
            check_id_twins(tables, reports)  # before any reject is written
            written = publish_rejects_spark(checked, reports, rejects)
            tables.accepted = accepted
            if "invoices" in tables:  # the driver keeps no paid_at: the whole-base rule judged here
                tables.paid_at_stop = paid_at_stop(accepted, tables["orders"]["ordered_at"].max())
    except BaseException:
        if accepted is not None:
            accepted.unpersist()
        raise
    finally:
        for frame in cached:
            frame.unpersist()
    # the boundary, as `validate_tables` (columns and dtypes; the row rules were the executors'), on the whole
    # tables' columns: the driver's have let their unread columns go
    check_tables({name: empty_table(accepted, name) for name in tables}, rows=False)
    as_streamed = dict(tables)
    canonical_row_order(tables)  # already in that order (streamed sorted): the fingerprint is of this order
    moved = [name for name in tables if tables[name] is not as_streamed[name]]
    if moved:
        raise RuntimeError(f"the Spark sort did not give the pandas loader's row order for {moved}")
    result = ValidationResult(tables=tables, rejects={}, report=reports)
    files = {name: Path(s.path) for name, s in sources.items()}
    return LoadedData(result, files, timezone=cfg.data.timezone, notes=notes), written


def load_and_report_spark(
    data: Path | None,
    cfg: AppConfig,
    console: Console,
    master: str | None,
    rejects: Path | StagedDirectory | None = None,
    tables: Mapping[str, CatalogName] | None = None,
    used_by: str | None = None,
) -> LoadedData:
    """`pipelines.loading.load_and_report` with Spark doing the reading, the checks and the rejects (`tables`:
    `--tables`' catalog tables; `used_by`: `load_and_report`'s, `cvp validate --engine spark`'s)."""
    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_session import spark_session
    from pipelines.loading import print_load_report

    with spark_session(master) as spark, mapped_errors():
        loaded, written = load_spark(spark, data, cfg, rejects, tables)
    print_load_report(loaded, console, rejects, [Path(p).name + "/" for p in written], used_by)
    return loaded
