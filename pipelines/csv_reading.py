"""Reading a CSV table file as text, the way both engines judge it: UTF-8 or a named byte, the header's lines
and names (lines above it, a separator hint, `;` or tabs, a name given twice), every column as text through
Arrow's parser (ids keep leading zeros), a line longer than Arrow's block, and rows whose field count differs
from the header's, shown without their personal fields. `pipelines.io.read_file` reads a table file through
`read_csv_text`; the Spark engine checks its local CSV files' headers and ragged rows with the same functions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from features.validation import StructuralError


def release_arrow_memory() -> None:
    """Return the buffers pyarrow's pool keeps after reading Parquet (gigabytes at a million customers)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def first_bad_byte(path: Path) -> tuple[int, bytes]:
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


def not_utf8(path: Path) -> StructuralError:
    pos, byte = first_bad_byte(path)
    return StructuralError(
        f"cannot read {path}: not UTF-8 text (byte {pos:,} is {byte!r}); save the file as UTF-8"
    )


def check_csv_header(path: Path) -> list[str]:
    """The header's column names as Python's `csv` reads them (whole: `header_record`), checked by
    `_check_header_names` (the preamble and quote checks read the first 64 KB);
    [] when that reader cannot tell (`csv.Error`, a blank first line). Only a first guess for Arrow's column
    types: `read_csv_text` checks what Arrow read, so a header the two parsers read differently never lets a
    column fall to Arrow's type inference."""
    import csv

    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the block
            raise not_utf8(path) from None
    text = head.decode("utf-8-sig", errors="replace")
    try:
        header = header_record(path)  # whole: a header past 64 KB (100,000 columns) not cut (`x1` of `x10`)
    except csv.Error:
        return []  # Arrow's own reading of the header decides (see `read_csv_text`)
    _check_preamble(path, text)
    _check_header_names(path, header)
    _check_spaced_quotes(path, text)
    _check_single_quotes(path, header)
    _check_cut_in_quote(path, header)
    return header


def _check_cut_in_quote(path: Path, header: list[str]) -> None:
    """A file cut inside its last row's last value, a quoted one (`...,17,"ed` of `"edi"`, `"web<line end>sh` of a
    value over lines, `"say ""h` after an escaped quote: a write or copy stopped early, a disk that filled). Arrow
    and Spark read such a value as if closed (was: exit 0, the row read with `ed` and every row the file lost
    unsaid). Judged only when the file does not end with a line end (a cut there never does; the cheap path: one
    byte read): then Python's `csv` reader, strict, reads the records from the file's start, the one row boundary
    known without reading (a tail's first line may be inside a quoted value), to its end; its "unexpected end of
    data" is the cut. A cut in another column leaves too few fields (the ragged rows' stop says it); a file `csv`
    cannot read to its end (a quote inside a quoted value, a field past its 128 KB limit) is not judged here."""
    import csv

    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - 1))
        if fh.read(1) in (b"", b"\n", b"\r"):
            return
        # a value left open began with a quote within the reader's field limit of the end (a longer one is not
        # judged, above): no quote there, no open value, and the file is not read whole (many exports end
        # without a line end: a 1 GB one costs the strict read about 17 CPU-s)
        tail = csv.field_size_limit() + 1
        fh.seek(max(0, size - tail))
        if b'"' not in fh.read(tail):
            return
    start = 1  # the line the last record starts on

    def records(strict: bool):
        nonlocal start
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
            reader = csv.reader(fh, strict=strict)
            for record in reader:
                yield record
                start = reader.line_num + 1

    try:
        for _ in records(strict=True):
            pass
        return
    except csv.Error as exc:
        if "unexpected end of data" not in str(exc):
            return
    cut_at = start
    if cut_at == 1:
        return  # the header itself cut: `pipelines.io`'s "no header row could be read" says it
    *_, last = records(strict=False)  # the error path only: the cut row's fields, its open value the last
    if len(last) != len(header):
        return
    raise StructuralError(
        f"cannot read {path}: it ends inside a quoted value of its last row's last column, {header[-1]!r} (the "
        f"row from line {cut_at:,}; a quote opened and never closed, no line end after it): the file was cut "
        "short, its write or copy stopped early? Every row after the cut is missing; check the file is whole, "
        "export it again"
    )


def header_record(path: Path) -> list[str]:
    """A CSV file's first record as Python's `csv` reads it, whole however long (a header of 100,000 columns):
    both engines' header (`check_csv_header`, `pipelines.engines.spark_sources._local_csv_header`). Text not
    UTF-8 replaced (`\ufffd`); `csv.Error` raised (a field past its 128 KB limit: a quote left open)."""
    import csv

    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        return next(csv.reader(fh), [])


def _check_single_quotes(path: Path, header: list[str]) -> None:
    """A header whose names are quoted with single quotes (`'order_id','customer_id'`: a script or a database
    client set to quote with `'`), on most of its cells (2 or more): CSV quotes with double quotes only, so the
    quotes are read as part of every name and value (a customer `'C1'`; no date parses) (was: "missing required
    column(s) ... did you mean "'order_id'" -> 'order_id'? (column names are case-sensitive)"). Also typographic
    quotes (`“order_id”`, `‘order_id’`, `„order_id“`: a file edited in a word processor or a text editor with
    smart quotes on; was the same "did you mean", though the case was not the cause)."""
    quoted = [c for c in header if len(c) > 2 and c[0] in "'‘“„" and c[-1] in "'’”“"]
    if len(quoted) >= 2 and 2 * len(quoted) > len([c for c in header if c.strip()]):
        shown = ", ".join(quoted[:3])
        plain = all(c[0] == "'" for c in quoted)
        what = (
            "single quotes"
            if plain
            else "typographic quotes (a word processor's or an editor's smart quotes)"
        )
        raise StructuralError(
            f"{path.name}: the header's names are written in {what} ({shown}): CSV quotes a field with "
            'double quotes ("), so these quotes are read as part of every name and value (a customer '
            "`'C1'`, no date parses). Export with double quotes, or none (the export's quote character setting: "
            "`quotechar='\"'` in Python, `FIELDS ENCLOSED BY '\"'` in MySQL; smart quotes off in the editor)"
        )


def _check_spaced_quotes(path: Path, text: str) -> None:
    """A space after each comma before a quoted field (`"O1", "C1", "2023-01-05"`: a hand-written file, a script
    joining with `", "`), on one of the first 10 lines: RFC 4180 reads the space and the quotes as part of the
    value (the customer `"C1"`, quotes included), so the header's names are not the columns' and no date parses
    (was: "missing required column(s) ... did you mean ' \"customer_id\"'? (column names are case-sensitive)",
    or "no value parses as a date" over dates in quotes)."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=None))
    lines, end = [], 0  # (the record's first line, its cells): a quoted value may span lines
    try:
        for _, cells in zip(range(10), reader, strict=False):
            lines.append((end + 1, cells))
            end = reader.line_num
    except csv.Error:
        return
    for at, cells in lines:
        spaced = [c for c in cells if len(c) > 2 and c[0] in " \t" and c.strip()[:1] == '"' == c.strip()[-1:]]
        if len(spaced) >= 2:
            raise StructuralError(
                f"{path.name}: line {at} writes a space after the comma before a quoted field ({len(spaced)} "
                'fields: `, "..."`): CSV reads the space and the quotes as part of the value (a customer '
                '`"C1"`, quotes included; no date parses). Write each field right after its comma (`,"C1"`)'
            )


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


#: The separators CSV writers use (`;`: a spreadsheet of a decimal-comma locale; `|`: bcp's, Hive's, a database
#: dump's), by name: a header split by one but a comma, and rows of another export, are told by it.
_SEPARATORS = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars (|)"}


def _check_header_names(path: Path, header: list[str]) -> None:
    """Refuses a `;`, tab or `|` separated file (read as one column; `|`: bcp's, Hive's, a database dump's), a
    `sep=` line and duplicate names (`a.1`)."""
    if 1 <= len(header) <= 2 and header[0].strip().lower().startswith("sep="):
        raise StructuralError(
            f"{path.name}: the first line {','.join(header)!r} is a spreadsheet's separator hint, not a header; "
            "remove that line so the column names come first"
        )
    if len(header) == 1:
        for sep, name in _SEPARATORS.items():
            if sep != "," and sep in header[0]:
                raise StructuralError(
                    f"{path.name}: the header is separated by {name}, not commas ({header[0][:80]!r}); "
                    "save the file as comma-separated CSV (with '.' as the decimal point)"
                )
    check_duplicate_names(path, header)


def check_duplicate_names(path: Path, names: list[str]) -> None:
    """A column name given twice (in a CSV header or a Parquet schema): which one holds the data is unknowable."""
    index = pd.Index(names, dtype=object)
    dup = sorted(set(index[index.duplicated()]))
    if dup:
        where = "schema" if path.suffix == ".parquet" else "header"
        raise StructuralError(f"{path.name}: duplicate column name(s) {', '.join(dup)} in the {where}")


def read_csv_text(path: Path) -> pd.DataFrame:
    """Every column as text (ids keep leading zeros), empty fields missing, quoted fields may hold commas and
    newlines; any line ending. A row with more or fewer fields than the header is never padded or cut: pandas
    fills a short row's last columns with missing values, which would silently shift what a column holds, so
    the rows are parsed by Arrow, which counts every row's fields, and such rows are a structural error.

    Arrow is told the text type per column name, by the names Arrow itself reads from the header (the names
    `csv` read are only a first guess: a blank first line, which Arrow skips, a header longer than 64 KB or one
    `csv` refuses are read differently). A column that still arrives as anything but text would hold values
    typed by inference ("007" -> 7): a structural error, never a guessed type."""
    import pyarrow as pa

    guess = check_csv_header(path)
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
    release_arrow_memory()
    return frame


def _arrow_header(path: Path, guess: list[str]) -> list[str]:
    """The column names as Arrow reads the header (from the file's first block only); `guess` when that block
    does not parse (the full read then reports why)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    for block in _BLOCK_SIZES:  # a header longer than Arrow's block (100,000 columns): read in larger blocks
        try:
            with pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(use_threads=False, block_size=block),
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in guess}),
            ) as reader:
                return list(reader.schema.names)
        except pa.ArrowInvalid as exc:
            if not _longer_than_block(exc, path, block):
                break
    return guess


def _longer_than_block(exc: BaseException, path: Path, block: int) -> bool:
    """Arrow's failure for a line longer than its read block: "straddling object straddles two block boundaries"
    for a row, "Empty CSV file or block" for a header (a file of 100,000 columns) in a file larger than it."""
    text = str(exc)
    return "straddl" in text or ("Empty CSV file or block" in text and path.stat().st_size > block)


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
            if _longer_than_block(exc, path, block):
                continue  # a line longer than the block: read again in larger blocks
            if "Empty CSV file" in str(exc) and (header := _unended_header(path)) is not None:
                return header
            if "columns, got" not in str(exc):
                raise
            raise ragged_rows_error(path, convert) or StructuralError(
                f"cannot read {path}: {arrow_text(exc)}"
            ) from None
    raise StructuralError(
        f"cannot read {path}: a line is longer than {_BLOCK_SIZES[-1] >> 20:,} MB (a quote left open?)"
    )


def _unended_header(path: Path):
    """A file holding a header line only, without a line end after it (`printf`, a writer that ends no line, an
    export of no rows): its columns and no row, as with the line end (Arrow reads it as no header at all: was "no
    header row could be read (an unterminated quote ...?)", every column typed none). None for anything else
    (a quote left open, a blank file)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    data = path.read_bytes()
    if not data.strip(b"\xef\xbb\xbf \t") or b"\n" in data or b"\r" in data or data.count(b'"') % 2:
        return None
    names = pacsv.read_csv(pa.py_buffer(data + b"\n")).schema.names
    return pa.table({name: pa.array([], pa.string()) for name in names})


def arrow_text(exc: BaseException) -> str:
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

    if first_bad_byte(path)[1]:  # a file in another encoding also breaks the rows: say what is wrong
        return not_utf8(path)
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
            read = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(use_threads=False, block_size=block),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
                convert_options=convert or pacsv.ConvertOptions(column_types={c: pa.string() for c in names}),
            )
            break
        except pa.ArrowInvalid as exc:
            if not _longer_than_block(exc, path, block) or block == _BLOCK_SIZES[-1]:
                raise
    if not count:
        return None
    # the line up to its first field outside the contract's non-personal columns (a whitelist, as every example
    # row: `features.names.shown_in_messages`; messages land in batch logs), at most 160 chars
    from features.names import shown_in_messages

    with open(path, encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f), [])
    keeps = {",": next((i for i, c in enumerate(header) if not shown_in_messages(c)), None)}
    keeps.update(_own_headers(header, [text for _, got, _, text in ragged if got == 1]))

    def shown(text: str, got: int) -> str:
        # a line of one field (another export's, split on `;`) is cut by that export's own header when one is among
        # the lines, else none of it is shown (its columns may be in another order); then where any separator could
        # end the shown fields, the earliest (a quoted name holding `;` among comma-separated fields shows none)
        keep = keeps[","] if got > 1 else keeps.get(_separator(text), 0)
        if keep == 0:
            return "(the line is not shown: its fields may be personal)"
        cuts = [
            (s.join(text.split(s)[:keep]), s)
            for s in _SEPARATORS
            if keep is not None and text.count(s) >= keep
        ]
        if cuts:
            head, sep = min(cuts, key=lambda cut: len(cut[0]))
            return repr(head[:160] + f"{sep}(fields outside the contract not shown)")
        return repr(text[:160])

    examples = "\n".join(
        f"  source row {at}: {got} fields: {shown(text, got)}" for _, got, at, text in ragged
    )
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
    other = {_separator(text) for _, got, _, text in ragged if got == 1}
    if (
        len(other) == 1
        and other != {","}
        and all(
            got == 1 and len(text.split(_separator(text))) == expected for expected, got, _, text in ragged
        )
    ):  # was: "an unquoted comma ... or a cut line?", or a report's footer when they end the file
        sep = _SEPARATORS[other.pop()]
        return StructuralError(
            f"cannot read {path}: {count:,} row(s) do not match the header ({ragged[0][0]} columns), and "
            f"{'these are' if count == len(ragged) else f'the first {len(ragged)} are'} separated by {sep}, not "
            f"commas, into the header's {ragged[0][0]} fields: two exports put together, one separated by {sep}? "
            f"Export the table again as one comma-separated file.\nExample rows:\n{examples}"
        )
    mark = ragged[0][3].strip()  # Ctrl-Z, repeated (CP/M padded a file's last record with it) or with NULs
    if count == 1 and "\x1a" in mark and not mark.strip("\x1a\0") and (ragged[0][2] or 0) >= read.num_rows:
        return StructuralError(  # was: "a line cut short (...)? export it again": the export is whole
            f"cannot read {path}: it ends in a DOS end-of-file mark (Ctrl-Z, byte 0x1A, on a line of its own: how "
            "MS-DOS `COPY`, dBase, FoxPro and other older systems end a text file), not a row of the table. The "
            "rows above it are whole: remove that last line (or export the table as UTF-8 CSV)."
        )
    if count == len(ragged) and all(
        got == 1 and at is not None and at >= read.num_rows for _, got, at, _ in ragged
    ):
        footer = "a report's footer (`Generated by ...`, a row count, a page number)? Export the table alone, or delete"
        if _cut_short(path, ragged[-1][3], read):
            return StructuralError(
                f"cannot read {path}: it ends in {count} line(s) of one field after its rows: a line cut short (the "
                "file's write or copy stopped early? Check the file is whole, export it again) or a report's footer "
                f"(`Generated by ...`, a row count, a page number: export the table alone, or delete them)?\n"
                f"The lines:\n{examples}"
            )
        return StructuralError(  # was: "an unquoted comma or quote, or a cut line?"
            f"cannot read {path}: it ends in {count} line(s) of one field after its rows, not rows of the table: "
            f"{footer} them.\nThe lines:\n{examples}"
        )
    return StructuralError(
        f"cannot read {path}: the rows do not match the header ({ragged[0][0]} columns): "
        f"{count:,} row(s) have more or fewer fields (an unquoted comma or quote, or a cut line?); no row is "
        f"padded or cut.\nExample rows:\n{examples}"
    )


def _own_headers(header: list[str], lines: list[str]) -> dict[str, int]:
    """For each separator other than `,` whose line among `lines` is a header (every field one of `header`'s column
    names, in any order: a second export's own header), how many of its leading fields may be shown (those before
    its first field outside the contract's non-personal columns, `features.names.shown_in_messages`)."""
    from features.names import name_key, shown_in_messages

    names = {name_key(c) for c in header}
    own: dict[str, int] = {}
    for line in lines:
        sep = _separator(line)
        fields = [f.strip().strip('"') for f in line.split(sep)]
        if sep != "," and len(fields) > 1 and all(name_key(f) in names for f in fields):
            own.setdefault(sep, next((i for i, f in enumerate(fields) if not shown_in_messages(f)), None))
    return own


def _separator(line: str) -> str:
    """The separator splitting a CSV line into the most fields (`,` on a tie)."""
    return max(_SEPARATORS, key=line.count)


def _cut_short(path: Path, last: str, read) -> bool:
    """Whether a CSV file's last line of one field (`last`) may be a row cut short rather than a report's footer:
    the file does not end in a newline (a write or copy stopped early), or the line has the shape (letters, digits,
    other characters, their order and count) of a value of the first column in the last rows read (`O0000299`
    below `O0000298`: the next row's start)."""
    import re

    with open(path, "rb") as f:
        f.seek(-1, 2)
        if f.read(1) not in (b"\n", b"\r"):
            return True

    def shape(text: object) -> str:
        return re.sub(r"\d", "9", re.sub(r"[^\W\d_]", "a", str(text).strip()))

    return bool(read.num_rows) and shape(last) in {shape(v) for v in read.column(0).to_pylist()[-50:]}
