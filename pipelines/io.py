"""Reading data directories, atomic writes and data fingerprints. The only place that touches raw files."""

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
from pipelines.mapping import Mapping, apply_mapping, expected_rejects, load_mapping, resolve_source
from pipelines.staging import atomic_directory, atomic_path, replace_path  # noqa: F401 (re-exported)
from pipelines.table_files import (
    SUFFIXES,
    check_table_path,
    parquet_columns,
    unreadable_table_file,
    uuid_text,
)


def _first_bad_byte(path: Path) -> tuple[int, bytes]:
    """Offset and value of the first byte that is not valid UTF-8 (scanned in blocks; error path only)."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return offset + exc.start, block[exc.start : exc.start + 1]
            offset += len(block)
    return offset, b""


def _not_utf8(path: Path) -> StructuralError:
    pos, byte = _first_bad_byte(path)
    return StructuralError(
        f"cannot read {path}: not UTF-8 text (byte {pos:,} is {byte!r}); save the file as UTF-8"
    )


def _check_csv_header(path: Path) -> list[str]:
    """The header's column names as Python's `csv` reads them (first 64 KB), checked by `_check_header_names`;
    [] when that reader cannot tell (`csv.Error`, a blank first line). Only a first guess for Arrow's column
    types: `_read_csv_text` checks what Arrow read, so a header the two parsers read differently never lets a
    column fall to Arrow's type inference."""
    import csv
    import io

    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the block
            raise _not_utf8(path) from None
    text = head.decode("utf-8-sig", errors="replace")
    try:
        header = next(csv.reader(io.StringIO(text, newline=None)), [])
    except csv.Error:
        return []  # Arrow's own reading of the header decides (see `_read_csv_text`)
    _check_preamble(path, text)
    _check_header_names(path, header)
    return header


def _check_preamble(path: Path, text: str) -> None:
    """Lines above the header (a report's title, an export date): said as what they are
    (`features.headerless.header_below`), not as rows that do not match a header of 1 or 2 columns."""
    from features.headerless import header_below

    if found := header_below(text):
        line, named = found
        shown = ", ".join(named[:6]) + (", ..." if len(named) > 6 else "")
        raise StructuralError(
            f"{path.name}: its header is line {line} ({shown}), below {line - 1} line(s) that are no header (a "
            "report's title, an export date or filter, a blank line?): remove the line(s) above the header, so "
            "the column names come first (the lines are not shown: they may quote your data)"
        )


def _check_header_names(path: Path, header: list[str]) -> None:
    """Refuses a `;` or tab separated file (read as one column), a `sep=` line and duplicate names (`a.1`)."""
    if 1 <= len(header) <= 2 and header[0].strip().lower().startswith("sep="):
        raise StructuralError(
            f"{path.name}: the first line {','.join(header)!r} is a spreadsheet's separator hint, not a header; "
            "remove that line so the column names come first"
        )
    if len(header) == 1:
        for sep, name in ((";", "semicolons"), ("\t", "tabs")):
            if sep in header[0]:
                raise StructuralError(
                    f"{path.name}: the header is separated by {name}, not commas ({header[0][:80]!r}); "
                    "save the file as comma-separated CSV (with '.' as the decimal point)"
                )
    _check_duplicate_names(path, header)


def _check_duplicate_names(path: Path, names: list[str]) -> None:
    """A column name given twice (in a CSV header or a Parquet schema): which one holds the data is unknowable."""
    index = pd.Index(names, dtype=object)
    dup = sorted(set(index[index.duplicated()]))
    if dup:
        where = "schema" if path.suffix == ".parquet" else "header"
        raise StructuralError(f"{path.name}: duplicate column name(s) {', '.join(dup)} in the {where}")


def _read_csv_text(path: Path) -> pd.DataFrame:
    """Every column as text (ids keep leading zeros), empty fields missing, quoted fields may hold commas and
    newlines; any line ending. A row with more or fewer fields than the header is never padded or cut: pandas
    fills a short row's last columns with missing values, which would silently shift what a column holds, so
    the rows are parsed by Arrow, which counts every row's fields, and such rows are a structural error.

    Arrow is told the text type per column name, by the names Arrow itself reads from the header (the names
    `csv` read are only a first guess: a blank first line, which Arrow skips, a header longer than 64 KB or one
    `csv` refuses are read differently). A column that still arrives as anything but text would hold values
    typed by inference ("007" -> 7): a structural error, never a guessed type."""
    import pyarrow as pa

    guess = _check_csv_header(path)
    names = _arrow_header(path, guess)
    if names != guess:
        _check_header_names(path, names)
    table = _arrow_csv(path, names)
    not_text = [f"{f.name!r} ({f.type})" for f in table.schema if not pa.types.is_string(f.type)]
    if not_text:
        raise StructuralError(
            f"cannot read {path}: column(s) {', '.join(not_text)} could not be read as text, so their values "
            "(ids such as 007) would be changed; check the header row"
        )
    frame = table.to_pandas()
    del table
    _release_arrow_memory()
    return frame


def _arrow_header(path: Path, guess: list[str]) -> list[str]:
    """The column names as Arrow reads the header (from the file's first block only); `guess` when that block
    does not parse (the full read then reports why)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        with pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in guess}),
        ) as reader:
            return list(reader.schema.names)
    except pa.ArrowInvalid:
        return guess


#: Arrow's read block sizes, tried in turn: its default (1 MiB), then blocks that hold a longer line (a 10 MB cell:
#: a document pasted in a notes column, a quote left open), which Arrow cannot split across blocks ("straddling
#: object straddles two block boundaries"). Spark's reader takes any line, so both engines read the same file.
_BLOCK_SIZES = (1 << 20, 1 << 26, 1 << 30)


def _arrow_csv(path: Path, names: list[str]):
    """The file parsed by Arrow with the columns `names` as text (other columns typed by Arrow's inference)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    convert = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in names},
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],
    )
    for block in _BLOCK_SIZES:
        try:
            return pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=block),
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=convert,
            )
        except pa.ArrowInvalid as exc:
            if "straddl" in str(exc):
                continue  # a line longer than the block: read again in larger blocks
            if "columns, got" not in str(exc):
                raise
            raise ragged_rows_error(path, convert) or StructuralError(
                f"cannot read {path}: {_arrow_text(exc)}"
            ) from None
    raise StructuralError(
        f"cannot read {path}: a line is longer than {_BLOCK_SIZES[-1] >> 20:,} MB (a quote left open?)"
    )


def _arrow_text(exc: BaseException) -> str:
    """Arrow's message without the row it quotes (`Expected 4 columns, got 5: <the line>`): a line of the file may
    hold personal fields, and messages land in batch logs (`features.names.shown_in_messages`)."""
    import re

    return re.sub(r"(columns, got \d+)\s*:.*", r"\1 (the line is not shown)", str(exc), flags=re.S)


def ragged_rows_error(path: Path, convert=None) -> StructuralError | None:
    """The error for a CSV file's rows whose field count differs from the header's: how many, and up to five of
    them with their source row (0-based position among the data rows, as `source_row` in the rejects); None when
    every row has the header's field count. A second, single-threaded pass over the file, run only on the error
    path (by both engines: the Spark engine when its reader fails on a local CSV file)."""
    import csv

    import pyarrow as pa
    import pyarrow.csv as pacsv

    if _first_bad_byte(path)[1]:  # a file in another encoding also breaks the rows: say what is wrong
        return _not_utf8(path)
    ragged: list[tuple[int, int, int | None, str]] = []
    count = 0

    def on_invalid(row) -> str:
        nonlocal count
        count += 1
        if len(ragged) < 5:  # `number` counts records from 1, the header included
            at = None if row.number is None else row.number - 2
            ragged.append((row.expected_columns, row.actual_columns, at, row.text))
        return "skip"

    names = _arrow_header(path, [])
    for block in _BLOCK_SIZES:  # a line longer than Arrow's block: read again in larger blocks
        ragged.clear()
        count = 0
        try:
            pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(use_threads=False, block_size=block),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
                convert_options=convert or pacsv.ConvertOptions(column_types={c: pa.string() for c in names}),
            )
            break
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc) or block == _BLOCK_SIZES[-1]:
                raise
    if not count:
        return None
    # the line up to its first field outside the contract's non-personal columns (a whitelist, as every example
    # row: `features.names.shown_in_messages`; messages land in batch logs), at most 160 chars
    from features.names import shown_in_messages

    with open(path, encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f), [])
    keep = next((i for i, c in enumerate(header) if not shown_in_messages(c)), None)

    def shown(text: str) -> str:
        if keep is not None and text.count(",") >= keep:
            return repr(",".join(text.split(",")[:keep])[:160] + ",(fields outside the contract not shown)")
        return repr(text[:160])

    examples = "\n".join(f"  source row {at}: {got} fields: {shown(text)}" for _, got, at, text in ragged)
    if count == len(ragged) and all(not text.replace("\0", "").strip() for _, _, _, text in ragged):
        what = (  # was: "an unquoted comma or quote, or a cut line?"
            "NUL bytes: a file padded with zeros, its write or copy cut short? Check the file is whole;"
            if any("\0" in text for _, _, _, text in ragged)
            else "spaces or tabs (often at the end of the file);"
        )
        return StructuralError(
            f"cannot read {path}: {count} line(s) hold only {what} remove them (an empty line is skipped, a "
            f"line of spaces is not a row).\nThe lines:\n{examples}"
        )
    return StructuralError(
        f"cannot read {path}: the rows do not match the header ({ragged[0][0]} columns): "
        f"{count:,} row(s) have more or fewer fields (an unquoted comma or quote, or a cut line?); no row is "
        f"padded or cut.\nExample rows:\n{examples}"
    )


def _read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file as pandas. The pandas metadata a writer leaves in the file (the dtype each column had) is a
    hint only: when it contradicts the stored column types (a column rewritten by another tool), the columns are
    read by their stored types and the validation judges them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names, uuids, fixed = parquet_columns(path)  # the footer read once
    _check_duplicate_names(path, names)  # Arrow's own error dumps the schema
    try:
        frame = pd.read_parquet(path, coerce_int96_timestamp_unit="us")  # int96 9999-12-31 wrapped to 1816
    except (TypeError, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        frame = pq.read_table(path, coerce_int96_timestamp_unit="us").to_pandas(ignore_metadata=True)
    _release_arrow_memory()  # the Arrow buffers behind the conversion are garbage now
    for column in uuids:  # a UUID's text is its canonical 8-4-4-4-12 (was: 16 raw bytes)
        frame[column] = uuid_text(frame[column])
    for column in fixed:  # raw bytes, not text: pandas holds them as `binary`'s (UTF-8)
        frame[column] = fixed_length_bytes(frame[column])
    # A key written as the pandas index (`df.set_index("order_id")`) is a column; an unnamed one is row labels.
    unnamed = all(name is None for name in frame.index.names)
    return frame if isinstance(frame.index, pd.RangeIndex) else frame.reset_index(drop=unnamed)


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
    """Read one CSV (UTF-8, every column as text so ids keep leading zeros; see `_read_csv_text`) or Parquet
    file; a file that cannot be read as a table is a structural error naming it (and the byte or example rows)."""
    import pyarrow as pa

    try:
        if path.suffix == ".parquet":
            return _read_parquet(path)
        return _read_csv_text(path)
    except StructuralError:
        raise
    except pa.ArrowInvalid as exc:
        text = str(exc)
        if path.suffix != ".parquet" and _first_bad_byte(path)[1]:
            raise _not_utf8(path) from None
        if "Empty CSV file" in text:
            check_not_empty(path)
            raise StructuralError(
                f"cannot read {path}: no header row could be read (an unterminated quote in the header "
                "runs to the end of the file?)"
            ) from None
        raise StructuralError(f"cannot read {path}: {_arrow_text(exc)}") from None
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
    must name it on every row (`features.currency`; a mapping names its columns, so its tables have none).
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
        from features.currency import check_currency_columns
        from models.threads import prediction_threads
        from pipelines.read_ahead import ReadAhead

        # issue 14: the next files are read on a background thread while the tables read are validated; each
        # is checked for a `currency` column naming another than `data.currency` before it is validated
        if ahead is not None and ahead.files != files:  # the directory changed since: read it as it is now
            ahead.close()
            ahead = None
        raw = (ahead or ReadAhead(files, read_file)).checked_by(
            lambda name, frame: check_currency_columns({name: frame}, currency)
        )
        try:
            # two tables checked at once on two cores (one thread under OMP_NUM_THREADS=1: parallel workers)
            result = validate_tables(raw, timezone, date_formats, max_values, prediction_threads())
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
    tz = mapping.timezone or timezone
    files = {}
    for name, src in mapping.sources.items():
        path = resolve_source(data_dir, src.file, mapping_path)
        if not path.exists():
            raise StructuralError(f"mapping {mapping_path} expects source file {path}, which does not exist")
        files[name] = path
    sources = {name: read_file(path) for name, path in files.items()}
    raw, source_rejects, source_report = apply_mapping(mapping, sources)
    formats = dict(date_formats or {}) | {
        f"{t}.{c}": fmt for t, spec in mapping.tables.items() for c, fmt in spec.date_formats.items()
    }
    result = validate_tables(raw, tz, formats, max_values)
    canonical_row_order(result.tables)
    return LoadedData(
        result, files, source_rejects, source_report, tz, expected_rejects=expected_rejects(mapping)
    )


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


def _release_arrow_memory() -> None:
    """Return the buffers pyarrow's pool keeps after reading Parquet (gigabytes at a million customers)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def release_memory() -> None:
    """Give freed memory back to the system: Arrow's pool, and the C heap's free pages (glibc's `malloc_trim`;
    Python objects and numpy's smaller arrays live there, and glibc keeps what was freed in the middle of its
    heap). Between scoring chunks, a chunk's garbage is then not counted again on top of the next chunk's.
    Without glibc (another C library, another system) only Arrow's pool is released."""
    _release_arrow_memory()
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


def write_frame(frame: pd.DataFrame, target: Path, index: bool = False) -> Path:
    """Write a frame atomically as Parquet or CSV by suffix. CSV text cells are neutralised against formula
    injection (see `neutralise_formulas`); Parquet is written as is."""
    target = Path(target)
    if target.suffix == ".csv":
        safe = neutralise_formulas(frame)
        end = line_end(safe)  # `\r\n` when a cell holds a CR, so it is quoted
        return write_atomic(target, lambda p: safe.to_csv(p, index=index, lineterminator=end))
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
