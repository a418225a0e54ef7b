"""Where the Spark engine reads each contract table from (`--data`: local paths or any URI Spark reads) and how:
one file or a directory of part files per table, CSV with every column as text, Parquet as stored; local files'
CSV headers and Parquet schemas read on the driver so Spark starts no job to infer them. A source that cannot be
read is a `StructuralError` naming the table (exit 2). Used by `pipelines.engines.spark_input`.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from features.contract import TABLES
from features.errors import printable
from features.validation import StructuralError
from pipelines.engines.spark_checks import _q
from pipelines.table_files import SUFFIXES, check_time_zones, two_sources, uuid_columns

if TYPE_CHECKING:  # pyspark is an optional extra: imported only when the Spark engine runs
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/+(.*)$")
_INDEX = re.compile(r"^__index_level_\d+__$")


@dataclasses.dataclass(frozen=True)
class Source:
    """Where one table is read from: a file or a directory of part files, and its format (csv or parquet)."""

    path: str
    fmt: str
    # local files: CSV headers checked, a Parquet schema read on the driver
    local_files: tuple[Path, ...] = ()
    # a catalog table (`fmt` "catalog", `path` its name as shown): every part quoted, what `spark.table` is given
    catalog: str = ""


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
    """The one format of a table directory's part files (hidden and `_SUCCESS`-like files skipped). Any other file
    is refused by name: a compressed part (`part-00001.csv.gz`, `.csv.snappy`: Spark's own compressed output), a
    part in another format (`.json`, `.txt`) would not be read, its rows lost without a word (was: skipped)."""
    shown = [n for n in names if not n.startswith((".", "_"))]
    folders = sorted(n for n in shown if "=" in n.strip("=") and Path(n).suffix not in SUFFIXES)
    # Hive-style partitions (`partitionBy`, Athena, a data lake): was "not .csv or .parquet part files: year=2024
    # ... Uncompress the parts, or move the other files out", which would lose the folders' rows
    if folders:
        keys = sorted({n.split("=", 1)[0] for n in folders})
        raise StructuralError(
            f"table directory {where} is partitioned into folders ({', '.join(folders[:3])}"
            f"{', ...' if len(folders) > 3 else ''}): the values of {', '.join(keys)} are in the folder names, not "
            "in the part files, and the parts in folders are not read. Write the table unpartitioned (its part "
            f"files directly in the directory, {', '.join(keys)} a column of them if the contract has it)"
        )
    other = sorted(n for n in shown if Path(n).suffix not in SUFFIXES)
    if other:
        listed = ", ".join(other[:5]) + (f" and {len(other) - 5:,} more" if len(other) > 5 else "")
        raise StructuralError(
            f"table directory {where} holds {len(other):,} file(s) that are not .csv or .parquet part files: "
            f"{listed}; their rows would not be read. Uncompress the parts (write them without compression, or "
            "as Parquet), or move the other files out of the directory"
        )
    kinds = {Path(n).suffix for n in shown}
    if len(kinds) != 1:
        raise StructuralError(
            f"table directory {where} must hold part files of one format (.csv or .parquet); found "
            + (", ".join(sorted(kinds)) or "none")
        )
    return kinds.pop()[1:]


def find_sources(
    spark: SparkSession, data: str, required: bool = True
) -> tuple[dict[str, Source], list[str]]:
    """The contract tables under `data` (files or part directories) and notes on what is not read. `required`:
    the orders table must be there (not when `--tables` names it: `spark_catalog.table_sources`)."""
    from pipelines.io import find_table_files
    from pipelines.table_files import check_format, check_inside

    notes: list[str] = []
    found: dict[str, Source] = {}
    if _is_local(data):
        root = Path(data.removeprefix("file://").removeprefix("file:"))
        for name, path in find_table_files(root, notes, table_dirs=True).items():
            found[name] = Source(str(path), path.suffix[1:], (path,))
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name in TABLES):
            check_inside(folder, root)  # a link to another directory's parts (or a part linked from there)
            for part in folder.iterdir():
                check_inside(part, root)
                # a gzip part named `.csv`, a `\"` (read otherwise by Spark than by pandas): a table file's stops
                if part.suffix in SUFFIXES:
                    check_format(part)
            fmt = _part_files([p.name for p in folder.iterdir()], str(folder))
            if folder.name in found:
                raise two_sources(folder.name, Path(found[folder.name].path).name, f"{folder.name}/")
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
                raise two_sources(key, found[key].path, status.getPath().toString())
            found[key] = source
    if "orders" not in found and required:
        raise StructuralError(
            f"required table 'orders' is missing in {data} (expected orders.csv, orders.parquet or a directory "
            "orders/ of part files; or a catalog table named with --tables orders=db.orders)"
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
    check_time_zones(source.local_files[0], [(f.name, f.type) for f in schema])  # as the pandas engine
    return {
        f.name: f.type.tz
        for f in schema
        if pa.types.is_timestamp(f.type) and f.type.unit == "ns"  # type: ignore[attr-defined]
    }


def instant_columns(source: Source, frame: SparkDataFrame) -> dict[str, str]:
    """Parquet columns of time-zone-aware timestamps other than nanoseconds ({column: its time zone, from a local
    file's schema, else UTC}), which Spark reads as instants (`TimestampType`). Handed to pandas, Spark would give
    their wall-clock time in the session's zone (the JVM's: UTC here, Paris on a Paris machine), taken as
    `data.timezone` time without a word; `validate_spark` hands them over as microseconds since the epoch instead,
    turned back into the timestamps pandas reads on the executors (`check_rows`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql.types import TimestampType

    found = [f.name for f in frame.schema.fields if isinstance(f.dataType, TimestampType)]
    if not found:
        return {}
    zones: dict[str, str] = {}
    if source.fmt == "parquet" and source.local_files:
        schema = pq.read_schema(source.local_files[0])
        check_time_zones(source.local_files[0], [(f.name, f.type) for f in schema])  # as the pandas engine
        zones = {f.name: f.type.tz for f in schema if pa.types.is_timestamp(f.type) and f.type.tz}  # type: ignore[attr-defined]
    return {c: zones.get(c, "UTC") for c in found}


def read_source(spark: SparkSession, name: str, source: Source) -> SparkDataFrame:
    """One table as read: CSV with every column as text (as the pandas engine reads it), Parquet as stored."""
    from pyspark.sql import functions as F

    from pipelines.csv_reading import check_csv_header
    from pipelines.io import check_not_empty

    if source.fmt == "catalog":
        return _read_catalog(spark, name, source)
    if (
        source.fmt == "csv"
        and len(source.local_files) == 1
        and source.local_files[0].name == Path(source.path).name
    ):
        check_not_empty(source.local_files[0])  # one file, not a part: empty, as the pandas engine says
    headers = {path: check_csv_header(path) for path in source.local_files if source.fmt == "csv"}
    check_parts_agree(name, source, headers)
    if source.fmt == "parquet" and source.local_files:
        _check_half_floats(name, source.local_files)
    spark.conf.set("spark.sql.legacy.parquet.nanosAsLong", "true")  # see `nanosecond_columns`
    try:
        if source.fmt == "csv":
            reader = spark.read.options(
                header=True, multiLine=True, escape='"', encoding="UTF-8", mode="FAILFAST"
            )
            header = _local_csv_header(source.local_files)
            if header is not None:  # the schema given: Spark starts no job to read the header
                reader = reader.schema(", ".join(f"{_q(c)} string" for c in header))
                # its parser's limit, 20,480 columns by default: a wider export (100,000 attributes) is read
                reader = reader.option("maxColumns", max(20_480, len(header) + 1))
            frame = reader.option("pathGlobFilter", "*.csv").csv(source.path)
        else:
            reader = spark.read.option("pathGlobFilter", "*.parquet")
            schema = _local_parquet_schema(source.local_files)
            if schema is not None:  # read here: Spark starts no job to read a footer
                reader = reader.schema(schema)
            frame = reader.parquet(source.path)
            if uuids := set(uuid_columns(source.local_files[0])) if source.local_files else set():
                frame = frame.select(*[_uuid_text(c) if c in uuids else F.col(_q(c)) for c in frame.columns])
        frame.schema  # noqa: B018 - resolves the files now: an unreadable source fails here, named
    except Exception as exc:  # Spark's own exception types (AnalysisException, Py4JJavaError)
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StructuralError(f"cannot read table {name!r} from {source.path}: {first}") from None
    return frame


def _read_catalog(spark: SparkSession, name: str, source: Source) -> SparkDataFrame:
    """A catalog table (`spark_catalog`) as the catalog gives it: `spark.table` of its quoted name, its columns as
    typed there (the row checks parse text, numbers and timestamps alike, as a Parquet file's)."""
    try:
        frame = spark.table(source.catalog)
        frame.schema  # noqa: B018 - resolved now: a table that cannot be read fails here, named
    # Spark's own (AnalysisException: dropped meanwhile, no permission, a broken view)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StructuralError(
            f"cannot read table {name!r} from the catalog table {source.path} (--tables): {printable(first[:500])}"
        ) from None
    return frame


def _check_half_floats(name: str, paths: list[Path]) -> None:
    """A contract number column of a local Parquet table stored as 16-bit floats in any part: the pandas engine's
    stop (`features.column_types.half_float_column`, the one rule; `half_floats`, no example rows: read from each
    part's footer), as Spark cannot read the type (was: Spark's "Illegal Parquet type: FIXED_LEN_BYTE_ARRAY
    (FLOAT16)")."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from features.column_types import half_float_column, half_floats

    table = TABLES.get(name)
    if table is None:
        return
    for path in paths:
        try:
            schema = pq.read_schema(path)
        except (OSError, pa.ArrowException):  # not Parquet, cut short: Spark's reader names it
            continue
        for field in schema:
            kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
            col = table.column(field.name) if field.name in table.column_names else None
            if pa.types.is_floating(kind) and half_float_column(col, kind.to_pandas_dtype()):
                raise half_floats(table, col, pd.Series([], dtype="float16"))


def check_parts_agree(name: str, source: Source, headers: dict[Path, list[str]]) -> None:
    """A table directory's local part files must name the same columns: Spark reads every CSV part by the
    columns of one header (a part written `customer_id,order_id` read as `order_id,customer_id`: every order id
    taken for a customer id, exit 0), and every Parquet part with one part's schema (a column only some parts
    have dropped from all, or left empty in the others). A Parquet column stored as another kind of type in
    another part (text in one, numbers in another) is named too, instead of Spark's failure to read the file.
    `headers`: each CSV part's header (`pipelines.csv_reading.check_csv_header`; [] when it cannot tell)."""
    import pyarrow.parquet as pq

    parts = source.local_files
    if len(parts) < 2:
        return
    if source.fmt == "csv":
        given = [(p, tuple(headers[p])) for p in parts if headers.get(p)]
        other = [(p, h) for p, h in given if h != given[0][1]]
        if other:
            (a, ha), (b, hb) = given[0], other[0]
            raise StructuralError(
                f"table {name!r}: its part files {a.name} and {b.name} have different headers "
                f"({_shown_header(name, ha)} / {_shown_header(name, hb)}): Spark reads every part by the columns "
                "of one header, so values would land in other columns. Write the parts with one header (the same "
                "columns in the same order)"
            )
        return
    schemas = {}
    for p in parts:  # a pandas index written in some parts only (`__index_level_0__`) is not data
        schema = pq.read_schema(p)
        schemas[p] = {c: t for c, t in zip(schema.names, schema.types, strict=True) if not _INDEX.match(c)}
    first = parts[0]
    for p in parts[1:]:
        only = sorted(set(schemas[first]) ^ set(schemas[p]))
        if only:
            raise StructuralError(
                f"table {name!r}: its part files {first.name} and {p.name} have other columns (only in one of "
                f"them: {', '.join(only)}): Spark reads every part with one part's columns, so these would be "
                "dropped or left empty. Write the parts with one schema"
            )
        for column, kind in schemas[first].items():
            a, b = _type_family(kind), _type_family(schemas[p][column])
            if a != b:
                raise StructuralError(
                    f"table {name!r}, column {column!r}: stored as {kind} in {first.name} and as "
                    f"{schemas[p][column]} in {p.name}: write the parts with one schema"
                )


def _shown_header(name: str, header: tuple[str, ...]) -> str:
    """A part file's header for a message: the names of the table's contract columns as written (`Customer ID`),
    every other cell counted, never shown: a part written without its header has a data row there, a customer's
    name and e-mail address among it (was: the row printed whole)."""
    from features.names import name_key, shown_name

    known = {name_key(c.name) for c in TABLES[name].columns}
    cells = [shown_name(c) if name_key(c) in known else "?" for c in header]
    hidden = cells.count("?")
    return ", ".join(cells) + (f" ({hidden} cell(s) outside the contract not shown)" if hidden else "")


def _type_family(kind: Any) -> str:
    """What Spark reads a Parquet type as, integers of any width alike (Spark widens them)."""
    from pyspark.sql import types as T

    spark = _spark_type(kind)
    if isinstance(spark, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)) and "timestamp" not in str(
        kind
    ):
        return "integer"
    return spark.simpleString() if spark is not None else str(kind)


def _spark_type(kind: Any) -> Any:
    """The Spark type Spark's Parquet reader gives an Arrow type (`nanosAsLong` on), or None when unsure."""
    import pyarrow as pa
    from pyspark.sql import types as T

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return T.StringType()
    if pa.types.is_timestamp(kind):
        if kind.unit == "ns":  # see `nanosecond_columns`
            return T.LongType()
        return T.TimestampType() if kind.tz is not None else T.TimestampNTZType()
    simple = {
        pa.bool_(): T.BooleanType(), pa.int8(): T.ByteType(), pa.int16(): T.ShortType(),
        pa.int32(): T.IntegerType(), pa.int64(): T.LongType(), pa.float32(): T.FloatType(),
        pa.float64(): T.DoubleType(), pa.date32(): T.DateType(),
    }  # fmt: skip
    return simple.get(kind)


def _local_parquet_schema(paths: tuple[Path, ...]) -> Any:
    """The schema Spark would infer for a table's local Parquet files, read here from their footers (Spark's own
    inference is a job per table); None (Spark infers it) when there are none, they differ, or a column's type is
    not one whose Spark type is certain. A footer that cannot be read raises (the caller names the table)."""
    import pyarrow.parquet as pq
    from pyspark.sql import types as T

    schemas = {pq.read_schema(path).remove_metadata() for path in paths}
    if len(schemas) != 1:
        return None
    uuids = uuid_columns(paths[0])  # Spark infers no type for them (`Illegal Parquet type ... (UUID)`): bytes
    fields = []
    for field in schemas.pop():
        kind = T.BinaryType() if field.name in uuids else _spark_type(field.type)
        if kind is None:
            return None
        fields.append(T.StructField(field.name, kind, True))
    return T.StructType(fields)


def _uuid_text(column: str) -> Any:
    """A UUID column's 16 bytes as the canonical text `pipelines.table_files.uuid_text` gives (8-4-4-4-12,
    lower-case hex)."""
    from pyspark.sql import functions as F

    hexed = F.lower(F.hex(F.col(_q(column))))
    parts = [F.substring(hexed, start, size) for start, size in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))]
    dashed = [parts[0]] + [x for part in parts[1:] for x in (F.lit("-"), part)]
    return F.concat(*dashed).alias(column)  # a missing value stays missing


def _local_csv_header(paths: tuple[Path, ...]) -> list[str] | None:
    """The one header of a table's local CSV files, read here; None (Spark reads it) when there are none, they
    differ, or a name is empty or not plain text. The first record read whole, however long (was: its first 64
    KB, the name cut there given to Spark, `x1` of `x10000`: "[COLUMN_ALREADY_EXISTS] The column `x1` already
    exists" on a file of 25,000 columns)."""
    import csv

    from pipelines.csv_reading import header_record

    headers = set()
    for path in paths:
        try:
            headers.add(tuple(header_record(path)))
        except csv.Error:
            return None
    if len(headers) != 1:
        return None
    header = list(headers.pop())
    if not header or any(not c or c != c.strip() or "\ufffd" in c for c in header):
        return None
    return header
