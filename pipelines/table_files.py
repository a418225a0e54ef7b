"""Files in a data directory that are a contract table in a form the product does not read (`customers.csv.gz`,
`tickets.csv.zip`, `customers.xlsx`): a structural error, never a skipped table. Called by
`pipelines.io.find_table_files`, so by the pandas and the Spark engine alike."""

from __future__ import annotations

import re
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


#: `orders.pq`, `customers.snappy.parquet` (Spark's part names): Parquet files named otherwise than `<table>.parquet`
PARQUET_SUFFIXES = ("pq", "parq")
CODECS = ("snappy", "zstd", "zst", "gz", "gzip", "lz4", "brotli")


def two_sources(table: str, first: str, second: str) -> StructuralError:
    """The stop for two sources of one table in `--data` (`orders.csv` and `orders/`, two engines' listings)."""
    return StructuralError(
        f"table {table!r} has two sources: {first} and {second}: keep one in --data (move the other out)"
    )


def check_table_path(path: Path, data_dir: Path, table_dirs: bool = False) -> None:
    """A table file (`orders.csv`) that is not a regular file: a directory of part files unless the caller reads
    those (`table_dirs`: the Spark engine), or a named pipe, socket or device, which is never opened: reading a
    FIFO waits for a writer forever (was: `cvp validate` hung without a word). Both engines
    (`pipelines.io.find_table_files`); a mapping's source files: `check_file_kind`."""
    check_inside(path, data_dir)
    if path.is_dir():
        if table_dirs:
            return
        raise StructuralError(
            f"{path.name} in {data_dir} is a directory (a Spark or Hadoop output of part files?), which "
            f"this command does not read as the {path.stem!r} table (only `cvp score --engine spark` reads "
            f"directories of part files): give the table as one file, {path.stem}.csv or {path.stem}.parquet"
        )
    check_file_kind(path, data_dir)


def check_file_kind(path: Path, data_dir: Path) -> None:
    """A file in `data_dir` that is a named pipe, socket or device (never opened), or a Parquet file named `.csv`
    (`check_format`): `check_table_path`'s, and a mapping's source files' (`pipelines.mapping.resolve_source`,
    which refuses a directory and a file outside the data directory in its own words)."""
    import stat

    try:
        mode = path.stat().st_mode
    except OSError:  # a broken or looping symbolic link: the reader names it
        return
    kinds = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"))
    for test, kind in (*kinds, (stat.S_ISBLK, "a device")):
        if test(mode):
            raise StructuralError(
                f"{path.name} in {data_dir} is {kind}, not a regular file: it is not read (reading a pipe waits "
                "for a writer forever). Write the table to a file"
            )
    check_format(path)


def check_inside(path: Path, data_dir: Path) -> None:
    """A table file or part (`orders.csv`, `orders/part-0.csv`) that is a symbolic link resolving outside
    `data_dir`: refused by name, as a mapping's source is (`pipelines.mapping.resolve_source`): a batch job pointed
    at a directory reads nothing else without saying so (was: read, another directory's table taken for this one's
    without a word). A link inside `data_dir`, and `data_dir` itself a link, are read. A link to nothing (its file
    moved or deleted) is named so (was: "cannot read ...: FileNotFoundError", of a file `ls` lists)."""
    root = Path(data_dir).resolve()
    target = Path(path).resolve()
    if Path(path).is_symlink() and not Path(path).exists():
        raise StructuralError(
            f"{path.name} in {data_dir} is a symbolic link to {target}, which does not exist (moved or deleted?): "
            "link the table's file again, or copy the table into the data directory"
        )
    if not target.is_relative_to(root):
        raise StructuralError(
            f"{path.name} in {data_dir} is a symbolic link to {target}, outside the data directory: it is not "
            "read. Copy the table into the data directory (or give the directory that holds it as --data)"
        )


#: The first bytes of a compressed file or an archive (`_PACKED`): a table compressed, or a spreadsheet's workbook,
#: under a table's name (`orders.csv` that is gzip: was "not UTF-8 text (byte 1 is ...)", an xz file "line 90 holds
#: a quote escaped with a backslash"). Each is binary from its first bytes on, so no CSV text starts so.
_PACKED = (
    (rb"\x1f\x8b", "a gzip-compressed file"),
    (rb"PK\x03\x04", "a zip archive (or an Excel .xlsx workbook)"),
    (rb"BZh[1-9]1AY&SY", "a bzip2-compressed file"),
    (rb"\xfd7zXZ\x00", "an xz-compressed file"),
    (rb"\x28\xb5\x2f\xfd", "a zstd-compressed file"),
    (rb"\x04\x22\x4d\x18", "an LZ4-compressed file"),
    (rb"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (rb"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel .xls workbook (an OLE document)"),
)


#: Text in UTF-16 or UTF-32 (Excel's "Unicode Text", PowerShell's and .NET's default, SQL Server's `bcp -w`), with
#: its byte-order mark or without: was "not UTF-8 text (byte 0 is b'\\xff')", or without a mark "line(s) hold only
#: NUL bytes: a file padded with zeros" (little-endian) or a header of `\\x00"\\x00o...` (big-endian).
_WIDE = (
    (rb"\xff\xfe\x00\x00|\x00\x00\xfe\xff", "UTF-32 text"),
    (rb"\xff\xfe|\xfe\xff", "UTF-16 text"),
    (rb"(?:[^\x00]\x00){4}", "UTF-16 text (little-endian, without a byte-order mark)"),
    (rb"(?:\x00[^\x00]){4}", "UTF-16 text (big-endian, without a byte-order mark)"),
)
#: A web page or a web service's answer saved under a table's name (a download link that returned its error or
#: sign-in page, a REST API's JSON): was "missing required column(s) ...: its first line may be a data row".
_MARKUP = (
    (rb"<(?:!doctype\s+html|html|head|body|!--)", "an HTML page"),
    (rb"<\?xml|<[a-z][a-z0-9_:-]*[\s>]", "an XML document"),
    (rb"\{\s*\"|\[\s*[\[{]", "JSON"),
)


def _not_text(head: bytes) -> tuple[str, str] | None:
    """What a table file is, and the way out, when its first bytes are text in another encoding, a web page or
    JSON (`_WIDE`, `_MARKUP`); None for anything else (CSV text in UTF-8 starts with none of them)."""
    wide = next((what for magic, what in _WIDE if re.match(magic, head)), None)
    if wide is not None:
        return wide, "save it as UTF-8 CSV (Excel: 'CSV UTF-8 (Comma delimited)')"
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    markup = next((what for magic, what in _MARKUP if re.match(magic, start)), None)
    if markup is not None:
        return (
            markup,
            "a download's error or sign-in page, a web service's answer? Export or download the table again",
        )
    return None


def check_format(path: Path) -> None:
    """A Parquet file named `.csv` or a text file named `.parquet` (a file renamed, an export saved with the wrong
    extension), a table compressed under its own name (`_PACKED`), text in UTF-16 or a web page (`_not_text`):
    named for what it is, from its first bytes (was: "not UTF-8 text (byte 7 is ...)", "Parquet magic bytes not
    found in footer", "a file padded with zeros", "its first line may be a data row")."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError:  # the reader names it
        return
    suffix = path.suffix.lower()
    packed = next((what for magic, what in _PACKED if re.match(magic, head)), None)
    if packed is not None and suffix in (".csv", ".parquet"):
        raise StructuralError(
            f"{path.name} is {packed} (its first bytes), not {'CSV text' if suffix == '.csv' else 'Parquet'}: "
            f"uncompress it (or save the workbook's sheet) as {path.stem}.csv, UTF-8 text, or {path.stem}.parquet"
        )
    other = _not_text(head) if suffix in (".csv", ".parquet") else None
    if other is not None:
        raise StructuralError(
            f"{path.name} is {other[0]} (its first bytes), not {'UTF-8 CSV text' if suffix == '.csv' else 'Parquet'}"
            f": {other[1]}"
        )
    head = head[:4]
    if suffix == ".csv" and head == b"PAR1":
        raise StructuralError(f"{path.name} is a Parquet file named .csv: rename it to {path.stem}.parquet")
    text = head.startswith(b"\xef\xbb\xbf") or all(32 <= b < 127 or b in b"\t\r\n" for b in head)
    if suffix == ".parquet" and head and head != b"PAR1" and text:
        raise StructuralError(
            f"{path.name} is a text file (CSV?), not Parquet: rename it to {path.stem}.csv if it is one"
        )
    if suffix == ".csv" and head != b"PAR1":
        check_escaped_quotes(path)


#: what may follow `\"` in a CSV file written the RFC 4180 way: the quote ends a field that ends with a backslash
#: (`"C:\dir\"`), or starts a doubled quote (`"5\"" screen"`)
_AFTER_QUOTE = b',\r\n"'
_CHUNK = 1 << 24


def _escaped_quote(data: bytes) -> int:
    """The position of the first `\"` in `data` followed by a byte outside `_AFTER_QUOTE` (-1 if none; the last
    two bytes are left to the next chunk), vectorised: a file of Windows paths holds many backslashes."""
    import numpy as np

    b = np.frombuffer(data, dtype=np.uint8)
    at = np.flatnonzero((b[:-2] == ord("\\")) & (b[1:-1] == ord('"')))
    if not len(at):
        return -1
    bad = at[~np.isin(b[at + 2], np.frombuffer(_AFTER_QUOTE, dtype=np.uint8))]
    return int(bad[0]) if len(bad) else -1


def _line_at(path: Path, offset: int) -> int:
    """The line (from 1) of byte `offset` of the file: its line breaks before it counted."""
    with open(path, "rb") as fh:
        return 1 + sum(fh.read(min(_CHUNK, offset - done)).count(b"\n") for done in range(0, offset, _CHUNK))


def check_escaped_quotes(path: Path) -> None:
    """A CSV file escaping quotes with a backslash (`"say \"hi\""`: PHP's `fputcsv`, MySQL's `INTO OUTFILE`, a
    writer with `escapechar`) instead of doubling them: a structural error naming the line, never its text (was:
    `"C\"1"` read as `C\1"` by the pandas engine and as `"C\"1"` by Spark's, two customers; a field with a comma
    after the escaped quote, a ragged-row stop). One `memchr` pass for a backslash; the chunks holding one read
    as bytes by NumPy."""
    offset, carry = 0, b""  # offset: where `data` starts in the file
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                data = carry + chunk
                at = _escaped_quote(data) if data.find(b"\\") != -1 else -1  # memchr: most files hold no "\\"
                if at != -1:
                    raise StructuralError(
                        f"{path.name}: line {_line_at(path, offset + at):,} holds a quote escaped with a "
                        "backslash (\\\"), as some writers do (PHP's fputcsv, MySQL's INTO OUTFILE); CSV doubles a "
                        'quote inside a quoted field (""), and the two engines would read such a value '
                        "differently. Export RFC 4180 CSV (quotes doubled), or Parquet"
                    )
                offset += len(data) - 2
                carry = data[-2:]
    except OSError:  # the reader names it
        return


def unreadable_table_file(path: Path, data_dir: Path) -> None:
    """`customers.csv.gz`, `tickets.csv.zip`, `customers.xlsx`: a contract table in a form not read is a structural
    error (was: a note among the files not read, and every command went on without the table, exit 0)."""
    head, _, rest = path.name.partition(".")
    parts = rest.lower().split(".")
    table = head.strip().lower()
    if table in TABLES and rest and path.name.lower() not in {f"{table}{s}" for s in SUFFIXES}:
        _check_doubled_suffix(path, table, parts, data_dir)
    if head.lower() not in TABLES or not rest:
        return
    if parts[-1] in PARQUET_SUFFIXES or (len(parts) > 1 and parts[-1] == "parquet" and parts[-2] in CODECS):
        raise StructuralError(  # a Parquet file by another name: a note would run every command without it
            f"{path.name} in {data_dir} looks like the {head.lower()!r} table as Parquet, but table files are "
            f"named {head.lower()}.parquet (or .csv): rename it; it is not skipped, which would run every command "
            f"without the {head.lower()!r} table"
        )
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


def _check_doubled_suffix(path: Path, table: str, parts: list[str], data_dir: Path) -> None:
    """`tickets.csv.csv` (an extension typed again where the file manager hides it), `tickets.parquet.csv`,
    `tickets.csv ` (a space after the name): a table file's name with only table suffixes and spaces added is
    the table, never a note (was: "file tickets.csv.csv is not a contract table and is not read", every command
    run without the tickets, exit 0)."""
    suffixes = {s.lstrip(".") for s in SUFFIXES}
    if not all(p.strip() in suffixes for p in parts):
        return
    plain = [f"{table}{s}" for s in SUFFIXES if (data_dir / f"{table}{s}").exists()]
    if plain:
        raise StructuralError(
            f"table {table!r} has two files: {plain[0]} and {path.name!r}; remove or move the one not meant"
        )
    raise StructuralError(
        f"{path.name!r} in {data_dir} looks like the {table!r} table with its name written otherwise (an extension "
        f"typed twice, a space): rename it to {table}.{parts[-1].strip()}; it is not skipped, which would run every "
        f"command without the {table!r} table"
    )


def check_outputs_beside_tables(
    data: Path | str | None, files: dict[str, Path], dirs: dict[str, Path]
) -> None:
    """Outputs that would land on the tables of `data` (the --data directory): a file written in it named like a
    table (`--out data/orders.parquet`: the scores replaced the orders), a directory of `<table>.csv` files that is
    `data` itself (`--rejects data`: each table's rejects over the table) or a directory in it named like a
    table (`--rejects data/orders`: read as that table's part files by `--engine spark`, refused by pandas).
    `files` / `dirs`: what -> path. Exit 2 before anything is read or written (was: exit 0, the table gone)."""
    if data is None or not Path(data).is_dir():
        return
    root = Path(data).resolve()

    def in_root(path: Path) -> bool:
        return path.resolve().parent == root

    def named_like_table(path: Path) -> bool:
        return path.name.partition(".")[0].lower() in TABLES

    for what, path in files.items():
        if in_root(Path(path)) and named_like_table(Path(path)):
            _refuse(
                what,
                Path(path),
                root,
                f"it would replace or shadow the {path.name.partition('.')[0].lower()!r} table",
            )
    for what, path in dirs.items():
        if Path(path).resolve() == root:
            _refuse(what, Path(path), root, "its <table>.csv files would replace or shadow the tables")
        if in_root(Path(path)) and named_like_table(Path(path)):
            _refuse(
                what,
                Path(path),
                root,
                f"a directory named like the {path.name.partition('.')[0].lower()!r} table is read as it",
            )


def _refuse(what: str, path: Path, root: Path, why: str) -> None:
    raise StructuralError(
        f"the {what} {path} is in the data directory {root}: {why}. Write outputs outside --data (or in a folder "
        "of it not named like a table)"
    )


def uuid_columns(path: Path) -> list[str]:
    """The columns of a Parquet file typed UUID (Parquet's UUID logical type, which Arrow's `arrow.uuid` extension
    is written as): each value is read as its canonical text, `8-4-4-4-12` lower-case hex (RFC 9562), by both
    engines (`uuid_text`; Spark's `spark_sources.read_source`). A column of plain bytes is not one: its text is
    not known (`features.column_types.BINARY_IDS`)."""
    return parquet_columns(path)[1]


def fixed_binary_columns(path: Path) -> list[str]:
    """The columns of a Parquet file of fixed-length bytes (FIXED_LEN_BYTE_ARRAY, Arrow's `fixed_size_binary`)
    not typed UUID: raw bytes (a UUID's, a hash's), not text. Both engines mark their values as read
    (`features.column_types.fixed_length_bytes`; Spark's executors in `spark_input.check_rows`), as pandas and
    Spark hold them as plain bytes; an id column of them stops (`BINARY_IDS`). Variable-length bytes (`binary`,
    Hive's and Impala's text) are not among them: they are read as UTF-8 text."""
    return parquet_columns(path)[2]


def parquet_columns(path: Path) -> tuple[list[str], list[str], list[str]]:
    """A Parquet file's column names, its UUID columns (`uuid_columns`) and its other fixed-length-bytes columns
    (`fixed_binary_columns`), from one read of its footer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        schema, arrow = file.schema, file.schema_arrow
    leaves = (schema.column(i) for i in range(len(schema)))
    uuids = [c.path for c in leaves if "." not in c.path and str(c.logical_type) == "UUID"]
    kinds = [(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type) for f in arrow]
    fixed = [name for name, kind in kinds if pa.types.is_fixed_size_binary(kind) and name not in set(uuids)]
    check_time_zones(path, kinds)
    return arrow.names, uuids, fixed


#: A fixed offset as Arrow writes a zone (`+01:00`, `-05:30`).
_OFFSET_ZONE = re.compile(r"^[+-]\d{2}:\d{2}$")


def check_time_zones(path: Path, kinds: list[tuple[str, object]]) -> None:
    """A Parquet timestamp column's zone is a known IANA name or a fixed offset; another (`Mars/Olympus`,
    `CEST`, a typo) stops the run naming the file, column and zone (was: "The zoneinfo module or pytz package
    must be installed", as if the machine lacked a package)."""
    import pyarrow as pa

    from features.dates import zone_ok

    for name, kind in kinds:
        zone = getattr(kind, "tz", None) if pa.types.is_timestamp(kind) else None
        if zone and not _OFFSET_ZONE.match(zone) and not zone_ok(zone):
            raise StructuralError(
                f"cannot read {path}: column {name} holds times in the zone {zone!r}, which is no known time zone "
                "(an IANA name such as Europe/Paris, UTC or an offset such as +01:00): write the column with one "
                "of those, or in UTC"
            )


#: Each byte's two lower-case hex digits, and where a UUID's 32 digits go in its 36 characters (8-4-4-4-12).
_HEX_DIGITS = [f"{i:02x}".encode() for i in range(256)]
_UUID_DIGITS = [i for i in range(36) if i not in (8, 13, 18, 23)]


def uuid_text(values: object) -> object:
    """A UUID column's 16-byte values as their canonical text (`uuid_columns`); a missing value stays missing. The
    values' Arrow buffer is viewed as rows of 16 bytes and spelled by a lookup table (no `uuid.UUID` per value)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    series = pd.Series(values)
    arr = pa.array(series.to_numpy(dtype=object), type=pa.binary(16), from_pandas=True)  # offset 0
    n = len(arr)
    validity, data = arr.buffers()
    raw = np.frombuffer(data, dtype=np.uint8, count=16 * n).reshape(n, 16)
    spelled = np.full((n, 36), ord("-"), dtype=np.uint8)
    spelled[:, _UUID_DIGITS] = np.array(_HEX_DIGITS, dtype="S2")[raw].view(np.uint8).reshape(n, 32)
    large = 36 * n >= 2**31  # a string array's offsets are int32
    offsets = np.arange(0, 36 * n + 1, 36, dtype=np.int64 if large else np.int32)
    text = pa.Array.from_buffers(
        pa.large_string() if large else pa.string(),
        n,
        [validity, pa.py_buffer(offsets), pa.py_buffer(spelled)],
        null_count=arr.null_count,
    )
    return pd.Series(pd.array(text, dtype="str"), index=series.index).where(series.notna(), None)
