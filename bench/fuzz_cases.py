"""The fuzz harness's cases (`bench/fuzz_inputs.py`): the good data sets (the demo company as CSV and Parquet, Online
Retail lines with their mapping), the corpus of hostile cell values and every damage (`DAMAGES`) a case applies to
a copy of them; `fuzz_inputs` runs the cases and checks the contract's promise on each."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
RETAIL = REPO.parent / "shared" / "datasets" / "online_retail" / "online_retail.parquet"
RETAIL_MAPPING = REPO / "configs" / "datasets" / "online_retail.yaml"

#: Hostile cell values: every form the "What bad input gets" table of docs/bad-input.md names, Unicode oddities, huge and tiny
#: numbers, blanks, and other types' values.
CORPUS = [
    '', ' ', '\t', '  \xa0 ', 'NULL', 'null', 'None', 'nan', 'NaN', 'N/A', '#N/A', 'nil', 'undefined', '-', '--',
    '?', '.', '_', '*', '0', '000', '0.0', '-1', '1.23457E+11', '1e-400', '1e400', '1e300', 'inf', '-Infinity',
    "9" * 400, '-0', '+5', '0x1F', '1_000', '1,234.50', '31,16', '1.234,50', '1 234', "1'234", '$12.50', '12.50 EUR',
    '15%', '30 min', '１２.５０', '١٢٫٥', '۱۲', '−12.50', '–12.50', '(12.50)', '12.50-', '="12.50"', "'00042", '#VALUE!',
    '#DIV/0!', '#REF!', '#####', '12.50\u200b', '\ufeff12', '1\xad2', 'true', 'false', 'WAHR', 'oui', 'ja', 'yes',
    't', '1.0', '2023-01-15', '15/01/2023', '01/15/2023', '15-01-2023', 'Jan 5 2023', '2023-02-30',
    '2023-01-15 10:00 CET', '2023-01-15T10:00+01:00[Europe/Paris]', '2023-01-15t10:00:00z', '1970-01-01',
    '1900-01-01', '9999-12-31', '2523-06-01', '1899-12-31', '44197', '1704067200', '1704067200000', '2023-03',
    '14:30', '20230305', '2023-W10-1', '２０２３-０１-０５', '2023‐01‐05', 'Ｃ００１', 'C\xa0001', 'C١', '𝐂1', 'Nоrth',
    'North\u200b', 'a@b.co', 'ann.smith@example.com', 'Total', 'Grand Total', 'C0042 Total', 'Subtotal', "x" * 2000,
    '\x1b[2J', '\u202eevil', '[bold]x[/]', 'a\nb', 'a\rb', 'say "hi", then', '\x00', '🙂', 'é', 'GUEST', 'UNKNOWN',
    'CASH', 'WALK-IN', 'TEST', 'XXXX', 'n.a.', 'tbd', 'missing', '0000000', '-9223372036854775809',
    '9223372036854775808', '18446744073709551616', '2**53', '9007199254740993', '1e15', '4.5', '7', '11',
    '2023-01-15 10:00:05,123', '2023-01-15 10', '0001-01-01', '1753-01-01', '1899-12-30', 'No', 'On',
    '1,23,456.00', '12,34,567', '2023-01-15T24:00:00', '2023-01-15 24:00+01:00', '2023-01-15T24:00:01',
    '1704067200000000', '1704067200000000000', '2023-01-15 10:00:00 +0100 CET m=+0.000012',
    '2023-01-15 10:00:00 +0100 UTC', '15-JAN-23 10.00.00.000000 AM', '0000-00-00 00:00:00', '00000000',
    '00/00/0000', '+1 (555) 010-0199', '+4915112345678', '1:30', '00:45:00', '-12.50', 'NA', 'na',
    '2023-01-15T00:00:00Z', '2023-01-15 00:00:00+00:00', '#ERROR!', 'Err:502', '2023-01-15T23:59:60',
    '2023-01-15 10:14:60', '1.2k', 'Y', 'N',
]  # fmt: skip

#: Each damage's name -> (kind, function). A function mutates a case directory in place given the case's rng and
#: the data set's description; it returns a short text of what it did (the findings' record).
Damage = Callable[[Path, random.Random, "DataSet"], str]


@dataclass
class DataSet:
    name: str
    root: Path  # the good files
    fmt: str  # "csv" or "parquet"
    mapping: Path | None = None
    tables: list[str] = field(default_factory=list)  # file stems

    def files(self, case: Path) -> list[Path]:
        return sorted(p for p in case.iterdir() if p.is_file() and p.suffix in (".csv", ".parquet"))


# --- the good data -------------------------------------------------------------------------------------------------


def demo_sets(root: Path, customers: int, seed: int) -> list[DataSet]:
    """The demo company as CSV and as Parquet, `customers` customers over 2022-2024 (generated once)."""
    from pipelines.demo import generate_company, write_company

    company = generate_company(customers, "2022-01-01", "2024-12-31", seed)
    out = []
    for fmt in ("csv", "parquet"):
        d = root / f"demo-{fmt}"
        if not d.exists():
            write_company(company, d, fmt)
            shutil.rmtree(d / "_truth", ignore_errors=True)
        out.append(DataSet(f"demo-{fmt}", d, fmt, None, sorted(p.stem for p in d.glob(f"*.{fmt}"))))
    return out


def retail_sets(root: Path, lines: int) -> list[DataSet]:
    """The first `lines` Online Retail lines (whole invoices), as Parquet and CSV, each with its mapping."""
    if not RETAIL.exists():
        return []
    import yaml

    out = []
    frame = pd.read_parquet(RETAIL).head(lines)
    for fmt in ("parquet", "csv"):
        d = root / f"retail-{fmt}"
        if not d.exists():
            d.mkdir(parents=True)
            if fmt == "parquet":
                frame.to_parquet(d / "online_retail.parquet", index=False)
            else:
                frame.to_csv(d / "online_retail.csv", index=False)
        mapping = yaml.safe_load(RETAIL_MAPPING.read_text())
        mapping["sources"]["lines"]["file"] = f"online_retail.{fmt}"
        m = root / f"retail-{fmt}.yaml"
        m.write_text(yaml.safe_dump(mapping, sort_keys=False))
        out.append(DataSet(f"retail-{fmt}", d, fmt, m, ["online_retail"]))
    return out


# --- damages ---------------------------------------------------------------------------------------------------------


def _pick_file(case: Path, rng: random.Random, ds: DataSet, suffix: str | None = None) -> Path | None:
    files = [p for p in ds.files(case) if suffix is None or p.suffix == suffix]
    return rng.choice(files) if files else None


def _bytes_damage(fn: Callable[[bytes, random.Random], bytes]) -> Damage:
    def damage(case: Path, rng: random.Random, ds: DataSet) -> str:
        f = _pick_file(case, rng, ds, ".csv")
        if f is None:
            return "no csv"
        f.write_bytes(fn(f.read_bytes(), rng))
        return f.name

    return damage


def _at(data: bytes, rng: random.Random) -> int:
    return rng.randrange(len(data) + 1)


def _mid_row(data: bytes, rng: random.Random) -> int:
    """A position inside a data row (not at a line's start or end) when there is one."""
    for _ in range(20):
        i = _at(data, rng)
        if (
            0 < i < len(data)
            and data[i - 1 : i] not in (b"\n", b"\r")
            and data[i : i + 1] not in (b"\n", b"\r")
        ):
            return i
    return _at(data, rng)


BYTES: dict[str, Callable[[bytes, random.Random], bytes]] = {
    "truncate": lambda d, r: d[: _mid_row(d, r)],
    "insert": lambda d, r: (
        lambda i: d[:i] + bytes(r.randrange(256) for _ in range(r.randint(1, 8))) + d[i:]
    )(_at(d, r)),
    "delete": lambda d, r: (lambda i: d[:i] + d[i + r.randint(1, 40) :])(_at(d, r)),
    "swap": lambda d, r: (
        (lambda i, j: d[:i] + d[j : j + 1] + d[i + 1 : j] + d[i : i + 1] + d[j + 1 :])(
            *sorted((_at(d[:-1] or b"x", r), _at(d[:-1] or b"x", r)))
        )
        if len(d) > 2
        else d
    ),
    "bom_mid": lambda d, r: (lambda i: d[:i] + b"\xef\xbb\xbf" + d[i:])(_mid_row(d, r)),
    "nul_mid": lambda d, r: (lambda i: d[:i] + b"\x00" * r.randint(1, 3) + d[i:])(_mid_row(d, r)),
    "cr_only": lambda d, r: d.replace(b"\r\n", b"\n").replace(b"\n", b"\r"),
    "mixed_eol": lambda d, r: b"".join(
        line + r.choice([b"\n", b"\r\n", b"\r"]) for line in d.replace(b"\r\n", b"\n").split(b"\n")
    ),
    "open_quote": lambda d, r: (lambda i: d[:i] + b'"' + d[i:])(_mid_row(d, r)),
    "bom_start": lambda d, r: b"\xef\xbb\xbf" + d,
    "latin1_cell": lambda d, r: (lambda i: d[:i] + b"caf\xe9" + d[i:])(_mid_row(d, r)),
    # the file in UTF-16 (with its mark or without, either byte order) or UTF-32: Excel's "Unicode Text"
    "wide": lambda d, r: d.decode("utf-8", "replace").encode(
        r.choice(["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
    ),
    # a web page or a web service's answer saved under the table's name (a download's error or sign-in page)
    "web_page": lambda d, r: r.choice(
        [
            b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>Not Found</body></html>\n",
            b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code></Error>\n',
            b'{"error": {"code": 401, "message": "Login required"}}\n',
        ]
    ),
    # lines above the header: a report's title, an export date or filter, a blank line, a sheet's padding commas
    "preamble": lambda d, r: (
        r.choice(
            [
                b"Orders export,generated 2024-01-31\n",
                b"Sales report\n\n",
                b"Export,,,,,,,,\r\n",
                b"Q1 2024\nFilter: all\n",
            ]
        )
        + d
    ),
}


def _read(f: Path) -> pd.DataFrame:
    if f.suffix == ".csv":
        return pd.read_csv(f, dtype=str, keep_default_na=False)
    return pd.read_parquet(f)


def _write(frame: pd.DataFrame, f: Path) -> None:
    if f.suffix == ".csv":
        frame.to_csv(f, index=False)
    else:
        frame.to_parquet(f, index=False)


def _frame_damage(fn: Callable[[pd.DataFrame, random.Random, Path], pd.DataFrame | None]) -> Damage:
    def damage(case: Path, rng: random.Random, ds: DataSet) -> str:
        f = _pick_file(case, rng, ds)
        if f is None:
            return "no file"
        frame = _read(f)
        out = fn(frame, rng, f)
        if out is not None:
            _write(out, f)
        return f.name

    return damage


def _cells(frame: pd.DataFrame, rng: random.Random, f: Path) -> pd.DataFrame:
    if not len(frame) or not len(frame.columns):
        return frame
    col = rng.choice(list(frame.columns))
    value = rng.choice(CORPUS)
    many = rng.random() < 0.3  # a share of the column (the stops' 1%) or a stray cell
    rows = rng.sample(
        range(len(frame)), k=min(len(frame), rng.randint(5, max(6, len(frame) // 20)) if many else 1)
    )
    frame = frame.copy()
    if f.suffix == ".parquet" and frame[col].dtype != object:
        frame[col] = frame[col].astype(object)
    frame.loc[frame.index[rows], col] = value
    if f.suffix == ".parquet":  # a mixed object column: written as text
        frame[col] = frame[col].map(lambda v: None if v is None or v is pd.NA else str(v))
    return frame


def _rename(frame: pd.DataFrame, rng: random.Random, f: Path) -> pd.DataFrame:
    col = rng.choice(list(frame.columns))
    new = rng.choice(
        [col.upper(), f" {col}", col.replace("_", " ").title(), col + "s", "Unnamed: 0", "", "x"]
    )
    return frame.rename(columns={col: new})


def _swap_cols(frame: pd.DataFrame, rng: random.Random, f: Path) -> pd.DataFrame:
    if len(frame.columns) < 2:
        return frame
    a, b = rng.sample(list(frame.columns), 2)
    return frame.rename(columns={a: b, b: a})


def _dup_col(frame: pd.DataFrame, rng: random.Random, f: Path) -> pd.DataFrame | None:
    col = rng.choice(list(frame.columns))
    if f.suffix == ".csv":
        text = f.read_text(encoding="utf-8").splitlines()
        i = list(frame.columns).index(col)
        import csv
        import io

        rows = list(csv.reader(io.StringIO("\n".join(text))))
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([r + [r[i]] if len(r) > i else r for r in rows])
        f.write_text(buf.getvalue(), encoding="utf-8")
        return None
    import pyarrow.parquet as pq

    t = pq.read_table(f)
    pq.write_table(t.append_column(col, t.column(col)), f)
    return None


def _index_col(frame: pd.DataFrame, rng: random.Random, f: Path) -> pd.DataFrame | None:
    if f.suffix == ".csv":
        frame.to_csv(f)  # pandas' `to_csv` with its index: a leading unnamed column
        return None
    return frame.reset_index().rename(columns={"index": "Unnamed: 0"})


def _rows(frame: pd.DataFrame, rng: random.Random, f: Path) -> pd.DataFrame | None:
    kind = rng.choice(["duplicate", "shuffle", "blank", "header", "total"])
    if kind == "duplicate" and len(frame):
        return pd.concat(
            [frame, frame.sample(n=rng.randint(1, len(frame)), random_state=rng.randrange(2**31))]
        )
    if kind == "shuffle":
        return frame.sample(frac=1, random_state=rng.randrange(2**31))
    if f.suffix != ".csv":
        return frame.iloc[: rng.randrange(len(frame) + 1)] if kind == "blank" else frame
    lines = f.read_bytes().split(b"\n")
    at = rng.randrange(1, max(2, len(lines)))
    if kind == "blank":
        lines[at:at] = [b""] * rng.randint(1, 3)
    elif kind == "header":
        lines[at:at] = [lines[0]]
    else:
        cells = [b"Total"] + [b""] * (len(frame.columns) - 1)
        lines.insert(len(lines) - 1 if lines[-1] == b"" else len(lines), b",".join(cells))
    f.write_bytes(b"\n".join(lines))
    return None


def _stamp(frame: pd.DataFrame, rng: random.Random, f: Path) -> pd.DataFrame | None:
    """One instant of a date column stamped on a tenth to a half of its rows (a go-live or import date)."""
    dates = [c for c in frame.columns if str(c).endswith("_at") or "date" in str(c).lower()]
    if not dates or frame.empty:
        return None
    col = rng.choice(dates)
    rows = rng.sample(range(len(frame)), k=max(1, int(len(frame) * rng.uniform(0.1, 0.5))))
    out = frame.copy()
    out.loc[out.index[rows], col] = frame[col].iloc[rng.randrange(len(frame))]
    return out


def _partitioned(case: Path, rng: random.Random, ds: DataSet) -> str:
    """A table file moved into a partitioned directory of its name (`orders/year=2024/part-0.parquet`)."""
    f = _pick_file(case, rng, ds)
    if f is None:
        return "no file"
    part = case / f.stem / f"year={rng.choice([2023, 2024])}" / f"part-0{f.suffix}"
    part.parent.mkdir(parents=True)
    f.rename(part)
    return f"{part.relative_to(case)}"


def _table(case: Path, rng: random.Random, ds: DataSet) -> str:
    f = _pick_file(case, rng, ds)
    if f is None:
        return "no file"
    kind = rng.choice(["empty", "header_only", "missing", "twice", "bom_header_only"])
    if kind == "empty":
        f.write_bytes(b"")
    elif kind == "missing":
        f.unlink()
    elif kind == "twice":
        other = f.with_suffix(".parquet" if f.suffix == ".csv" else ".csv")
        _write(_read(f), other)
    else:
        frame = _read(f).iloc[:0]
        _write(frame, f)
        if kind == "bom_header_only" and f.suffix == ".csv":
            f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    return f"{kind} {f.name}"


def _parquet_type(case: Path, rng: random.Random, ds: DataSet) -> str:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    f = _pick_file(case, rng, ds, ".parquet")
    if f is None:
        return "no parquet"
    t = pq.read_table(f)
    i = rng.randrange(t.num_columns)
    col = t.column(i)
    kind = rng.choice(
        ["int", "float", "string", "bool", "timestamp", "date", "decimal", "null", "dictionary", "large_string",
         "all_null", "no_row_groups", "int32", "timestamp_tz", "int_extreme", "float16", "outside_bytes"]
    )  # fmt: skip
    try:
        if kind == "null":
            new = pa.nulls(len(col))
        elif kind == "all_null":
            new = pa.nulls(len(col), type=col.type)
        elif kind == "string":
            new = pc.cast(col, pa.string())
        elif kind == "large_string":
            new = pc.cast(pc.cast(col, pa.string()), pa.large_string())
        elif kind == "dictionary":
            new = pc.dictionary_encode(pc.cast(col, pa.string()))
        elif kind == "int_extreme":  # INT64_MAX / MIN on a few rows of an integer column: sums must not wrap
            ints = pc.cast(col, pa.int64(), safe=False).to_pylist()
            for at in rng.sample(range(len(ints)), k=min(len(ints), 3)):
                ints[at] = rng.choice([2**63 - 1, -(2**63), 2**53 + 1])
            new = pa.array(ints, pa.int64())
        elif kind == "outside_bytes":  # a dump's BLOB outside the contract (not UTF-8), and a row to reject
            blob = pa.array([bytes([0xFF, rng.randrange(256)]) for _ in range(len(col))], pa.binary())
            first = pa.array(["NULL"] + [str(v) for v in t.column(0).to_pylist()[1:]])
            pq.write_table(t.set_column(0, t.column_names[0], first).append_column("blob", blob), f)
            return f"{kind} {f.name}"
        elif kind == "no_row_groups":
            pq.write_table(t.schema.empty_table(), f)
            return f"{kind} {f.name}"
        else:
            target = {
                "int": pa.int64(), "int32": pa.int32(), "float": pa.float64(), "bool": pa.bool_(),
                "timestamp": pa.timestamp("us"), "date": pa.date32(), "decimal": pa.decimal128(18, 4),
                "timestamp_tz": pa.timestamp("ms", tz="UTC"), "float16": pa.float16(),
            }[kind]  # fmt: skip
            col = (
                pc.cast(col, pa.float64(), safe=False) if kind == "float16" else col
            )  # Arrow casts only floats
            new = pc.cast(col, target, safe=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return f"{kind} {t.column_names[i]} (cast refused)"
    pq.write_table(t.set_column(i, t.column_names[i], new), f)
    return f"{kind} {f.name}:{t.column_names[i]}"


def _special_file(case: Path, rng: random.Random, ds: DataSet) -> str:
    import os

    f = _pick_file(case, rng, ds)
    if f is None:
        return "no file"
    kind = rng.choice(["directory", "fifo", "dangling", "unreadable"])
    f.unlink()
    if kind == "directory":
        f.mkdir()
    elif kind == "fifo":
        os.mkfifo(f)
    elif kind == "dangling":
        f.symlink_to(case / "nowhere" / f.name)
    else:
        f.write_text("x\n")
        f.chmod(0)
    return f"{kind} {f.name}"


DAMAGES: dict[str, Damage] = {
    **{f"bytes.{k}": _bytes_damage(v) for k, v in BYTES.items()},
    "cell": _frame_damage(_cells),
    "cell2": _frame_damage(_cells),
    "cell3": _frame_damage(_cells),
    "column.drop": _frame_damage(lambda fr, r, f: fr.drop(columns=[r.choice(list(fr.columns))])),
    "column.duplicate": _frame_damage(_dup_col),
    "column.rename": _frame_damage(_rename),
    "column.reorder": _frame_damage(lambda fr, r, f: fr[r.sample(list(fr.columns), len(fr.columns))]),
    "column.swap": _frame_damage(_swap_cols),
    "column.index": _frame_damage(_index_col),
    "rows": _frame_damage(_rows),
    "rows.stamp": _frame_damage(_stamp),
    "table": _table,
    "table.partitioned": _partitioned,
    "parquet.type": _parquet_type,
    "file.special": _special_file,
}
