"""Files in a data directory that are a contract table in a form the product does not read (`customers.csv.gz`,
`tickets.csv.zip`, `customers.xlsx`): a structural error, never a skipped table. Called by
`pipelines.io.find_table_files`, so by the pandas and the Spark engine alike."""

from __future__ import annotations

from pathlib import Path

from features.contract import TABLES
from features.validation import StructuralError

SUFFIXES = (".parquet", ".csv")  #: the table files read, by both engines
#: file name parts that make `customers.csv.gz`, `customers.xlsx` a table in a form this product does not read
COMPRESSED = ("gz", "gzip", "zip", "bz2", "xz", "zst", "7z", "tar", "tgz")
OTHER_FORMATS = (
    "xlsx",
    "xlsm",
    "xls",
    "ods",
    "numbers",
    "json",
    "jsonl",
    "ndjson",
    "tsv",
    "feather",
    "arrow",
    "orc",
    "avro",
)


def unreadable_table_file(path: Path, data_dir: Path) -> None:
    """`customers.csv.gz`, `tickets.csv.zip`, `customers.xlsx`: a contract table in a form not read is a structural
    error (was: a note among the files not read, and every command went on without the table, exit 0)."""
    head, _, rest = path.name.partition(".")
    parts = rest.lower().split(".")
    if head.lower() not in TABLES or not rest:
        return
    packed = [p for p in parts if p in COMPRESSED]
    other = [p for p in parts if p in OTHER_FORMATS]
    if not packed and not other:
        return
    table = head.lower()
    plain = [f"{table}{suffix}" for suffix in SUFFIXES if (data_dir / f"{table}{suffix}").exists()]
    if plain:  # a packed copy beside the table file: which one is the data?
        raise StructuralError(
            f"table {table!r} has two files: {plain[0]} and {path.name}; remove or move the one not meant"
        )
    how = (
        f"it is compressed (.{packed[0]}): uncompress it to {table}.csv"
        if packed
        else f"a .{other[0]} file is not read: save it as {table}.csv (UTF-8, comma-separated) or {table}.parquet"
    )
    raise StructuralError(
        f"{path.name} in {data_dir} looks like the {table!r} table, but {how}; it is not skipped, which would "
        f"run every command without the {table!r} table"
    )
