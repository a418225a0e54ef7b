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
configured `data.timezone` as the pandas engine holds them), so the session time zone does not shift them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.contract import TABLES, Table
from features.validation import StructuralError, TableReport, ValidationResult
from pipelines.config import AppConfig

if TYPE_CHECKING:  # pyspark is an optional extra: imported only when the Spark engine runs
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession
    from rich.console import Console

    from pipelines.io import LoadedData

SUFFIXES = (".csv", ".parquet")
RAW = "raw:"  # a column as read
VAL = "val:"  # the same column parsed (the validated representation)
ROW = "__source_row"
REASON = "__reason"
GIVEN = "__given"  # bit i: contract column i of the table holds a value in this row
BAD = "__bad"  # bit i: ... and it does not parse
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/+(.*)$")
_SPARK_TYPE = {"id": "string", "text": "string", "timestamp": "timestamp_ntz", "bool": "boolean"}


@dataclasses.dataclass(frozen=True)
class Source:
    """Where one table is read from: a file or a directory of part files, and its format (csv or parquet)."""

    path: str
    fmt: str
    local_files: tuple[
        Path, ...
    ] = ()  # local files: CSV headers checked, a Parquet schema read on the driver


def data_uri(data: str | Path) -> str:
    """`--data` as Spark reads it; a URI that went through `Path` (`s3a:/bucket/x`) gets its `//` back."""
    text = str(data)
    found = _SCHEME.match(text)
    if found is None or found.group(1) == "file":
        return text
    return f"{found.group(1)}://{found.group(2)}"


def _is_local(uri: str) -> bool:
    return _SCHEME.match(uri) is None or uri.startswith("file:")


def _part_files(names: list[str], where: str) -> str:
    """The one format of a table directory's part files (hidden and `_SUCCESS`-like files skipped)."""
    kinds = {Path(n).suffix for n in names if not n.startswith((".", "_")) and Path(n).suffix in SUFFIXES}
    if len(kinds) != 1:
        raise StructuralError(
            f"table directory {where} must hold part files of one format (.csv or .parquet); found "
            + (", ".join(sorted(kinds)) or "none")
        )
    return kinds.pop()[1:]


def find_sources(spark: SparkSession, data: str) -> tuple[dict[str, Source], list[str]]:
    """The contract tables under `data` (files or part directories) and notes on what is not read."""
    from pipelines.io import find_table_files

    notes: list[str] = []
    found: dict[str, Source] = {}
    if _is_local(data):
        root = Path(data.removeprefix("file://").removeprefix("file:"))
        for name, path in find_table_files(root, notes).items():
            found[name] = Source(str(path), path.suffix[1:], (path,))
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name in TABLES):
            fmt = _part_files([p.name for p in folder.iterdir()], str(folder))
            if folder.name in found:
                raise StructuralError(
                    f"table {folder.name!r} has two sources: {Path(found[folder.name].path).name} and {folder.name}/"
                )
            parts = tuple(sorted(p for p in folder.glob(f"*.{fmt}") if not p.name.startswith((".", "_"))))
            found[folder.name] = Source(str(folder), fmt, parts)
    else:
        jvm = spark.sparkContext._jvm
        root_path = jvm.org.apache.hadoop.fs.Path(data)
        fs = root_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        if not fs.exists(root_path) or not fs.getFileStatus(root_path).isDirectory():
            raise StructuralError(f"data directory {data} does not exist")
        for status in fs.listStatus(root_path):
            name = status.getPath().getName()
            stem, suffix = Path(name).stem, Path(name).suffix
            if status.isDirectory() and name in TABLES:
                children = [s.getPath().getName() for s in fs.listStatus(status.getPath())]
                source = Source(str(status.getPath().toString()), _part_files(children, name))
                key = name
            elif not status.isDirectory() and suffix in SUFFIXES and stem in TABLES:
                source, key = Source(str(status.getPath().toString()), suffix[1:]), stem
            else:
                continue
            if key in found:
                raise StructuralError(f"table {key!r} has two sources under {data}")
            found[key] = source
    if "orders" not in found:
        raise StructuralError(
            f"required table 'orders' is missing in {data} (expected orders.csv, orders.parquet or a directory "
            "orders/ of part files)"
        )
    return found, notes


def nanosecond_columns(source: Source) -> dict[str, str | None]:
    """Parquet columns stored as nanosecond timestamps ({column: time zone or None}), from a local file's schema.

    Spark cannot read them as timestamps; they are read as integers (`nanosAsLong`) and turned back into the
    timestamps pandas reads on the executors (`check_rows`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if source.fmt != "parquet" or not source.local_files:
        return {}
    schema = pq.read_schema(source.local_files[0])
    return {
        f.name: f.type.tz
        for f in schema
        if pa.types.is_timestamp(f.type) and f.type.unit == "ns"  # type: ignore[attr-defined]
    }


def read_source(spark: SparkSession, name: str, source: Source) -> SparkDataFrame:
    """One table as read: CSV with every column as text (as the pandas engine reads it), Parquet as stored."""
    from pipelines.io import _check_csv_header

    for path in source.local_files:
        if source.fmt == "csv":
            _check_csv_header(path)
    spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")  # see `nanosecond_columns`
    try:
        if source.fmt == "csv":
            reader = spark.read.options(
                header=True, multiLine=True, escape='"', encoding="UTF-8", mode="FAILFAST"
            )
            frame = reader.option("pathGlobFilter", "*.csv").csv(source.path)
        else:
            frame = spark.read.option("pathGlobFilter", "*.parquet").parquet(source.path)
        frame.schema  # noqa: B018 - resolves the files now: an unreadable source fails here, named
    except Exception as exc:  # Spark's own exception types (AnalysisException, Py4JJavaError)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StructuralError(f"cannot read table {name!r} from {source.path}: {first}") from None
    return frame


def _q(name: str) -> str:
    """A column name quoted for Spark (names as read may hold dots or spaces)."""
    return "`" + name.replace("`", "``") + "`"


def _checked_columns(table: Table, columns: list[str]) -> list[str]:
    return [c.name for c in table.columns if c.name in columns]


def _row_schema(table: Table, raw_columns: list[str]) -> str:
    cols = [f"{_q(ROW)} bigint", f"{_q(REASON)} string", f"{_q(GIVEN)} bigint", f"{_q(BAD)} bigint"]
    cols += [f"{_q(RAW + c)} string" for c in raw_columns]
    for name in _checked_columns(table, raw_columns):
        kind = table.column(name).kind
        cols.append(f"{_q(VAL + name)} {_SPARK_TYPE.get(kind, 'double')}")
    return ", ".join(cols)


def _as_text(s: pd.Series) -> pd.Series:
    """A raw column as text for the rejects (missing stays missing), whatever type it was read as."""
    return s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))


def check_rows(
    batches: Iterator[pd.DataFrame],
    name: str,
    start: int,
    timezone: str,
    date_formats: Mapping[str, str],
    max_values: Mapping[str, float],
    nanos: Mapping[str, str | None] | None = None,
) -> Iterator[pd.DataFrame]:
    """Row checks of one input partition of table `name` (the mapInPandas body; `start`: its first position).

    in:  the table's rows as read. out: one row per input row: position (see `PARTITION_SHIFT`), reason
    (first problem, None if accepted so far), given/bad bit masks per contract column, the raw columns as text,
    the parsed columns.
    """
    from features.validation import _validate_table

    table = dataclasses.replace(TABLES[name], key=None)  # keys are judged over the whole table afterwards
    for raw in batches:
        raw = raw.reset_index(drop=True)
        for col, zone in (nanos or {}).items():  # integers since the epoch -> the timestamps pandas reads
            stamps = pd.to_datetime(raw[col], unit="ns", utc=zone is not None)
            raw[col] = stamps.dt.tz_convert(zone) if zone is not None else stamps
        stats: dict[str, tuple[pd.Series, pd.Series]] = {}
        parsed, rej, _, _ = _validate_table(table, raw, timezone, date_formats, max_values, stats)
        given = np.zeros(len(raw), dtype=np.int64)
        bad = np.zeros(len(raw), dtype=np.int64)
        for i, col in enumerate(_checked_columns(table, list(raw.columns))):
            g, b = stats[col]
            given |= g.to_numpy(dtype=bool).astype(np.int64) << i
            bad |= b.to_numpy(dtype=bool).astype(np.int64) << i
        out: dict[str, Any] = {
            ROW: np.arange(start, start + len(raw), dtype=np.int64),  # positions
            REASON: rej.reason,
            GIVEN: given,
            BAD: bad,
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


def write_rejects_spark(
    checked: Mapping[str, SparkDataFrame], reports: Mapping[str, TableReport], target: str
) -> list[str]:
    """`<target>/<table>/` CSV parts (source_row, the row as read, reason) for each table with rejects, written by
    the executors; spreadsheet formulas neutralised as in the pandas engine's rejects."""
    from pyspark.sql import functions as F

    from pipelines.io import neutralise_formulas

    written = []
    for name, frame in checked.items():
        if not reports[name].rejected:
            continue
        raw = [c for c in frame.columns if c.startswith(RAW)]
        # as the pandas rejects: a raw column named `reason` is replaced by the reason, in its place
        cols = [F.col(_q(REASON if c == RAW + "reason" else c)).alias(c.removeprefix(RAW)) for c in raw]
        if RAW + "reason" not in raw:
            cols.append(F.col(REASON).alias("reason"))
        rejected = frame.filter(F.col(REASON).isNotNull()).select(F.col(ROW).alias("source_row"), *cols)

        def safe(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
            for batch in batches:
                yield neutralise_formulas(batch)

        path = f"{target.rstrip('/')}/{name}"
        rejected.mapInPandas(safe, rejected.schema).write.mode("overwrite").option("header", True).csv(path)
        written.append(path)
    return written


_FAILED_READ = re.compile(r"FAILED_READ_FILE[^\n]*?reading file (\S+?)\.?\s", re.S)


@contextlib.contextmanager
def unreadable_files() -> Iterator[None]:
    """A file Spark cannot parse while the checks run (a CSV row with more fields than the header, a damaged
    Parquet page) as a `StructuralError` naming the file, like the pandas reader's, instead of a Java trace."""
    try:
        yield
    except Exception as exc:
        found = (
            _FAILED_READ.search(str(exc)) if type(exc).__module__.startswith(("pyspark", "py4j")) else None
        )
        if found is None:
            raise
        raise StructuralError(
            f"cannot read {found.group(1)}: the rows do not match the header or the file is damaged "
            "(Spark: FAILED_READ_FILE)"
        ) from None


def load_spark(
    spark: SparkSession, data: str | Path, cfg: AppConfig, rejects: str | Path | None = None
) -> tuple[LoadedData, list[str]]:
    """Read and validate `data` with Spark: (the loaded data as `load_and_report` returns it, reject dirs written).

    The accepted tables are brought to the driver (the scoring stages still take pandas tables); the rejects
    stay on the executors and are written by them.
    """
    from features.schemas import check_tables
    from pipelines.engines.spark_checks import accepted_tables, validate_spark
    from pipelines.io import LoadedData

    uri = data_uri(data)
    sources, notes = find_sources(spark, uri)
    cached: list[SparkDataFrame] = []
    try:
        with unreadable_files():
            checked, reports, cached, judged = validate_spark(spark, sources, cfg)
            written = write_rejects_spark(checked, reports, data_uri(rejects)) if rejects is not None else []
            tables = accepted_tables(judged, list(sources))
    finally:
        for frame in cached:
            frame.unpersist()
    check_tables(tables)  # the boundary, as `validate_tables`
    result = ValidationResult(tables=tables, rejects={}, report=reports)
    files = {name: Path(s.path) for name, s in sources.items()}
    return LoadedData(result, files, timezone=cfg.data.timezone, notes=notes), written


def load_and_report_spark(
    data: Path, cfg: AppConfig, console: Console, master: str | None, rejects: Path | None = None
) -> LoadedData:
    """`pipelines.loading.load_and_report` with Spark doing the reading, the checks and the rejects."""
    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_session import spark_session
    from pipelines.loading import print_load_report

    with spark_session(master) as spark, mapped_errors():
        loaded, written = load_spark(spark, data, cfg, rejects)
    print_load_report(loaded, console, rejects, [Path(p).name + "/" for p in written])
    return loaded
