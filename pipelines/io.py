"""Reading data directories and table files (a CSV file's text: `pipelines.csv_reading`) and atomic writes: with
`pipelines.csv_reading`, the only place that touches raw files."""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from features.column_types import fixed_length_bytes
from features.contract import TABLES
from features.row_order import canonical_row_order
from features.validation import StructuralError, ValidationResult, validate_tables
from pipelines.csv_cells import line_end, neutralise_formulas
from pipelines.csv_reading import (
    arrow_text,
    check_duplicate_names,
    first_bad_byte,
    not_utf8,
    read_csv_text,
    release_arrow_memory,
)
from pipelines.mapping import (
    Mapping,
    apply_mapping,
    expected_rejects,
    load_mapping,
    read_zone,
    resolve_source,
)
from pipelines.mapping.source_checks import check_source_currencies
from pipelines.staging import atomic_directory, atomic_path, replace_path  # noqa: F401 (re-exported)
from pipelines.table_files import (
    SUFFIXES,
    check_table_path,
    parquet_columns,
    two_sources,
    unreadable_table_file,
    uuid_text,
)


def _read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file as pandas. The pandas metadata a writer leaves in the file (the dtype each column had) is a
    hint only: when it contradicts the stored column types (a column rewritten by another tool), the columns are
    read by their stored types and the validation judges them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names, uuids, fixed = parquet_columns(path)  # the footer read once
    check_duplicate_names(path, names)  # Arrow's own error dumps the schema
    try:
        frame = pd.read_parquet(path, coerce_int96_timestamp_unit="us")  # int96 9999-12-31 wrapped to 1816
    except (TypeError, pa.ArrowNotImplementedError, pa.ArrowTypeError, pa.ArrowInvalid):
        # pa.ArrowInvalid: `binary` bytes that are not UTF-8 under pandas metadata saying text ("Invalid UTF8
        # payload"): read as bytes, judged by the column's type (`features.column_types.readable_column`)
        frame = pq.read_table(path, coerce_int96_timestamp_unit="us").to_pandas(ignore_metadata=True)
    release_arrow_memory()  # the Arrow buffers behind the conversion are garbage now
    undecodable_as_bytes(frame)
    for column in uuids:  # a UUID's text is its canonical 8-4-4-4-12 (was: 16 raw bytes)
        frame[column] = uuid_text(frame[column])
    for column in fixed:  # raw bytes, not text: pandas holds them as `binary`'s (UTF-8)
        frame[column] = fixed_length_bytes(frame[column])
    # A key written as the pandas index (`df.set_index("order_id")`) is a column; an unnamed one is row labels.
    unnamed = all(name is None for name in frame.index.names)
    return frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index(drop=unnamed)


def undecodable_as_bytes(frame: pd.DataFrame) -> None:
    """Each Arrow-backed text column of `frame` holding bytes that are not UTF-8 (a Parquet `string` of Hive's,
    Impala's latin-1 text) turned into its bytes, in place: judged as bytes by the column's type (the stop `holds
    bytes that are not UTF-8 text`, `features.column_types.readable_column`), never parsed as text. Both engines:
    the pandas reader's frame, and the Spark executors' batches, which Spark hands on as such text unchecked
    (`pipelines.engines.spark_input.check_rows`; was there exit 1, `unexpected PythonException`, an ArrowInvalid
    in `features.text.clean_text`)."""
    import pyarrow as pa

    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.StringDtype) and frame[column].dtype.storage == "pyarrow":
            text = frame[column].array.__arrow_array__()
            try:
                text.validate(full=True)
            except pa.ArrowInvalid:
                frame[column] = pd.Series(text.cast(pa.large_binary()).to_pandas(), index=frame.index)


def check_not_empty(path: Path) -> None:
    """A CSV file holding nothing but a byte-order mark, spaces or line ends: "the file is empty", both engines
    (the Spark engine's one-file tables: `spark_sources.read_source`; was there "has no column at all"). Read
    until a byte that is none of those: a file opening with more than 64 KiB of blank lines is read, not empty."""
    with open(path, "rb") as fh:  # read on until a byte that is none of those (was: the first 64 KiB only)
        while block := fh.read(1 << 16):
            if block.strip(b"\xef\xbb\xbf \t\r\n"):
                return
    raise StructuralError(f"cannot read {path}: the file is empty (not even a header row)")


def read_file(path: Path) -> pd.DataFrame:
    """Read one CSV (UTF-8, every column as text so ids keep leading zeros; see `read_csv_text`) or Parquet
    file; a file that cannot be read as a table is a structural error naming it (and the byte or example rows)."""
    import pyarrow as pa

    try:
        if path.suffix == ".parquet":
            return _read_parquet(path)
        return read_csv_text(path)
    except StructuralError:
        raise
    except pa.ArrowInvalid as exc:
        text = str(exc)
        if path.suffix != ".parquet" and first_bad_byte(path)[1]:
            raise not_utf8(path) from None
        if "Empty CSV file" in text:
            check_not_empty(path)
            raise StructuralError(
                f"cannot read {path}: no header row could be read (an unterminated quote in the header "
                "runs to the end of the file?)"
            ) from None
        raise StructuralError(f"cannot read {path}: {arrow_text(exc)}") from None
    except (OSError, ValueError) as exc:
        raise StructuralError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc


def find_table_files(
    data_dir: Path, notes: list[str] | None = None, table_dirs: bool = False
) -> dict[str, Path]:
    """Contract tables present in `data_dir`, by file stem. Two files for one table is an error.

    A file that is a contract table but for letter case (`Customers.csv`, `returns.CSV`) is a structural error
    (reading it under a guessed name would hide the problem; skipping it would silently drop a table). So is a
    directory named after a table (`customers/` of part files) unless the caller reads those (`table_dirs`: the
    Spark engine). Other files are listed in `notes`, with a "did you mean" for near misses (`ticket.csv` ->
    `tickets.csv`).
    """
    from features.names import did_you_mean, name_key, spelt

    if data_dir.is_file():
        raise StructuralError(
            f"data directory {data_dir} is a file: give the directory that holds the table files "
            f"({data_dir.parent}{os.sep} if {data_dir.name} is one of them)"
        )
    if not data_dir.is_dir():
        raise StructuralError(f"data directory {data_dir} does not exist")
    found: dict[str, Path] = {}
    by_key = {name_key(t): t for t in TABLES}  # a table's name as spelt any way (`features.names.name_key`)
    for path in sorted(data_dir.iterdir()):
        if path.suffix in SUFFIXES and path.stem in TABLES:
            check_table_path(path, data_dir, table_dirs)  # part files, a FIFO
            if path.stem in found:
                raise StructuralError(
                    f"table {path.stem!r} has two files: {found[path.stem].name} and {path.name}"
                )
            found[path.stem] = path
            continue
        if path.is_dir() and path.name in TABLES and not table_dirs:
            beside = [f.name for f in (data_dir / f"{path.name}{x}" for x in SUFFIXES) if f.exists()]
            if (
                beside
            ):  # `orders.csv` and `orders/`: as the Spark engine says (was: "give the table as one file")
                raise two_sources(path.name, beside[0], f"{path.name}/")
            raise StructuralError(
                f"{path.name}/ in {data_dir} is a directory, which this command does not read as the "
                f"{path.name!r} table (only `cvp score --engine spark` reads directories of part files): give "
                f"the table as one file, {path.name}.csv or {path.name}.parquet"
            )
        if path.name.startswith((".", "_")) or path.is_dir():
            continue  # hidden files and side folders such as the demo's _truth/
        unreadable_table_file(path, data_dir)
        stem, suffix = path.stem, path.suffix
        table = by_key.get(name_key(stem))  # `Customers`, `ｃｕｓｔｏｍｅｒｓ`, `cuѕtomers`
        if table is not None and suffix.lower() in SUFFIXES:  # round 16: not only case (was: a note, exit 0)
            raise StructuralError(
                f"{path.name}{spelt(path.name)} in {data_dir} looks like the {table!r} table, but file names are "
                f"case-sensitive and matched exactly: rename it to {table}{suffix.lower()}"
            )
        guess = did_you_mean(stem, TABLES)
        if notes is not None:
            notes.append(
                f"file {path.name} is not a contract table and is not read"
                + (f" (did you mean {guess}.csv?)" if guess else "")
                + (
                    ""
                    if suffix.lower() in SUFFIXES
                    else f"; tables are read from {' or '.join(SUFFIXES)} files"
                )
            )
    return found


@dataclass
class LoadedData:
    """Validated tables plus everything the run should say about how they were obtained."""

    result: ValidationResult
    files: dict[str, Path]
    source_rejects: dict[str, pd.DataFrame] = field(default_factory=dict)
    source_report: dict[str, dict[str, int]] = field(default_factory=dict)
    timezone: str = "UTC"
    notes: list[str] = field(default_factory=list)  # files in --data that were not read, and why
    expected_rejects: dict[str, dict[str, Any]] = field(default_factory=dict)  # the mapping's, as applied

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return self.result.tables


def read_ahead(data_dir: Path) -> Any:
    """The contract tables of `data_dir` (`pipelines.read_ahead.ReadAhead`), read from now on on a background
    thread (`cvp score` starts them before MLflow is imported and the model loaded, which need no data; issue 14).
    None on one thread, or when the directory's tables cannot be listed or have no orders table: `load_data` says
    why, at its turn (a model that cannot be loaded is still reported first)."""
    from models.threads import prediction_threads
    from pipelines.read_ahead import ReadAhead

    if prediction_threads() < 2:
        return None
    try:
        files = find_table_files(Path(data_dir))
    except (StructuralError, OSError):
        return None
    return ReadAhead(files, read_file) if "orders" in files else None


def _check_columns_outside(
    name: str, frame: pd.DataFrame, currency: str | None, timezone: str, notes: list[str], refunds: bool
) -> None:
    """A table's columns outside the contract that contradict what it is read as: amounts in another currency
    than `data.currency` (`features.currency`), times in another zone than `data.timezone`
    (`features.zone_columns`), refunds without a returns table (`features.refund_columns`); beside a returns table (`refunds`), the orders marked refunded that stand are
    counted in `notes` (`features.sale_status.refunded_note`)."""
    from features.currency import check_currency_columns
    from features.refund_columns import check_refund_columns
    from features.sale_status import refunded_note, refunded_rows
    from features.zone_columns import check_zone_columns

    check_currency_columns({name: frame}, currency)
    check_zone_columns({name: frame}, timezone)
    notes.extend(check_refund_columns({name: frame}, refunds))  # `Amount Refunded` without a returns table
    if refunds:
        notes.extend(refunded_note(int(refunded_rows(name, frame).sum())))


def load_data(
    data_dir: Path,
    mapping_path: Path | None = None,
    timezone: str = "UTC",
    date_formats: dict[str, str] | None = None,
    max_values: dict[str, float] | None = None,
    currency: str | None = None,
    ahead: Any = None,
) -> LoadedData:
    """Read a data directory (optionally through a foreign-schema mapping) and validate it against the contract.

    `date_formats` and `max_values` come from the config's `data:` section (see `DataConfig`); a mapping's own
    per-table `date_formats` are added to them. `currency` (`data.currency`): a currency column of a table
    must name it on every row (`features.currency`; a mapping's source, on the currency column it does not read:
    `pipelines.mapping.source_checks.check_source_currencies`).
    `ahead`: the directory's tables being read already (`pipelines.read_ahead.read_ahead`; without a mapping).
    """
    data_dir = Path(data_dir)
    if mapping_path is None:
        notes: list[str] = []
        files = find_table_files(data_dir, notes)
        if "orders" not in files:
            raise StructuralError(
                f"required table 'orders' is missing in {data_dir} (expected orders.csv or orders.parquet; "
                f"found: {', '.join(p.name for p in sorted(data_dir.iterdir())) or 'nothing'})"
            )
        from models.threads import prediction_threads
        from pipelines.read_ahead import ReadAhead

        # issue 14: the next files are read on a background thread while the tables read are validated; each
        # is checked for a `currency` column naming another than `data.currency`, and for a time-zone column naming
        # another zone than `data.timezone`, before it is validated
        if ahead is not None and ahead.files != files:  # the directory changed since: read it as it is now
            ahead.close()
            ahead = None
        raw = (ahead or ReadAhead(files, read_file)).checked_by(
            lambda name, frame: _check_columns_outside(
                name, frame, currency, timezone, notes, "returns" in files
            )
        )
        try:
            # two tables checked at once on two cores (one thread under OMP_NUM_THREADS=1: parallel workers)
            result = validate_tables(raw, timezone, date_formats, max_values, prediction_threads(), files)
        except Exception:
            raw.finish()  # an unreadable file, then a currency, stops first, as when every file was read first
            raise
        finally:
            raw.release()  # the raw tables: `ahead`, the caller's, refers to them too
        del raw, ahead
        release_memory()
        canonical_row_order(result.tables)
        return LoadedData(result, files, timezone=timezone, notes=notes)
    if ahead is not None:  # a mapping's sources are other files
        ahead.close()
    mapping: Mapping = load_mapping(mapping_path)
    tz = read_zone(mapping, timezone)
    files = {}
    for name, src in mapping.sources.items():
        path = resolve_source(data_dir, src.file, mapping_path)
        if not path.exists():
            raise StructuralError(f"mapping {mapping_path} expects source file {path}, which does not exist")
        files[name] = path
    sources = {name: read_file(path) for name, path in files.items()}
    from features.table_rows import SourceRows, check_source_rows, emptied_table_notes

    check_source_rows(  # a source file of a header only, or (a CSV) of a spreadsheet's last row
        SourceRows(p.name, len(sources[n]), p.suffix == ".csv", _reading(mapping, n), n)
        for n, p in files.items()
    )
    notes = check_source_currencies(mapping, sources, currency, tz)  # two currencies in one export; refunds
    kept: dict[str, dict[str, int]] = {}  # per table, what its `where` kept and what then emptied it
    raw, source_rejects, source_report = apply_mapping(mapping, sources, kept)
    wheres = {t: spec.where for t, spec in mapping.tables.items()}
    notes += emptied_table_notes(wheres, {t: len(frame) for t, frame in raw.items()}, kept)
    formats = dict(date_formats or {}) | {
        f"{t}.{c}": fmt for t, spec in mapping.tables.items() for c, fmt in spec.date_formats.items()
    }
    result = validate_tables(raw, tz, formats, max_values)
    canonical_row_order(result.tables)
    return LoadedData(
        result, files, source_rejects, source_report, tz, notes, expected_rejects=expected_rejects(mapping)
    )


def _reading(mapping: Mapping, source: str) -> tuple[str, ...]:
    """The contract tables a mapping builds from its source `source`."""
    return tuple(t for t, spec in mapping.tables.items() if spec.source == source)


def check_writable(target: Path, what: str = "output") -> Path:
    """Fail early, before any computing, when `target` (a file or directory to be written) cannot be written.

    Creates missing parent directories (the run would create them anyway) and probes the directory with a
    temporary file, so a read-only location, a file standing where a directory must be, or a missing
    permission is a clear error at the start of the run instead of a traceback after all the work.
    """
    target = Path(target)
    parent = target.parent
    if target.exists() and target.is_dir() and target.suffix:
        raise StructuralError(f"{what} {target} is a directory, not a file")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".probe", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StructuralError(f"cannot write the {what} to {target}: {exc.strerror or exc}") from exc
    return target


def release_memory() -> None:
    """Give freed memory back to the system: Arrow's pool, and the C heap's free pages (glibc's `malloc_trim`;
    Python objects and numpy's smaller arrays live there, and glibc keeps what was freed in the middle of its
    heap). Between scoring chunks, a chunk's garbage is then not counted again on top of the next chunk's.
    Without glibc (another C library, another system) only Arrow's pool is released."""
    release_arrow_memory()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    """glibc's `malloc_trim`, looked up once (`find_library` runs `ldconfig`); None without glibc."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def write_atomic(target: Path, writer: Callable[[Path], Any]) -> Path:
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def write_frame(
    frame: pd.DataFrame, target: Path, index: bool = False, byte_order_mark: bool = False
) -> Path:
    """Write a frame atomically as Parquet or CSV by suffix. CSV text cells are neutralised against formula
    injection (see `neutralise_formulas`); Parquet is written as is. `byte_order_mark`: the CSV starts with
    UTF-8's byte-order mark, for a file people open in a spreadsheet by double-click (Excel reads a CSV without it
    in the machine's legacy code page: "Ã¼" for "ü", question marks for Hebrew or Arabic); pandas and Python's
    `utf-8-sig` read it as before. Machine-read CSVs (rejects, scores, profile tables) are written without it."""
    target = Path(target)
    if target.suffix == ".csv":
        safe = neutralise_formulas(frame)
        end = line_end(safe)  # `\r\n` when a cell holds a CR, so it is quoted
        encoding = "utf-8-sig" if byte_order_mark else "utf-8"
        return write_atomic(
            target, lambda p: safe.to_csv(p, index=index, lineterminator=end, encoding=encoding)
        )
    return write_atomic(target, lambda p: frame.to_parquet(p, index=index))


def write_json(obj: Any, target: Path) -> Path:
    text = json.dumps(obj, indent=2, sort_keys=True, default=str)
    return write_atomic(Path(target), lambda p: p.write_text(text + "\n", encoding="utf-8"))


def write_rejects(loaded: LoadedData, rejects_dir: Path) -> dict[str, Path]:
    """Write `<rejects>/<table>.csv` (and `<source>.source.csv` for mapping rejects); only tables with rejects.
    The commands write them into a staging directory published whole (`pipelines.loading.publish_rejects`)."""
    out: dict[str, Path] = {}
    for name, frame in loaded.result.rejects.items():
        if len(frame):
            out[name] = write_frame(frame, Path(rejects_dir) / f"{name}.csv")
    for name, frame in loaded.source_rejects.items():
        if len(frame):
            out[f"source:{name}"] = write_frame(frame, Path(rejects_dir) / f"{name}.source.csv")
    return out
