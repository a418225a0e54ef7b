"""Fuzz the input contract: seeded random damage to good data, then the contract's promise checked on each case.

Two good data sets: the demo company (`cvp generate`, small: `--customers`, generated once per run) as CSV and as
Parquet, and the UCI Online Retail lines (a sample of `--retail-lines`, `../shared/datasets/online_retail`) with
their mapping (`configs/datasets/online_retail.yaml`). Each case takes one of them, applies one to three damages
drawn from its seed (bytes: a cut mid-row, bytes inserted, deleted or swapped, a BOM or NUL in the middle, CR-only
or mixed line endings, a quote never closed, lines above the header; cells: a hostile value from `CORPUS`; columns:
dropped, duplicated, renamed, reordered, two swapped; rows: duplicated, shuffled, blank lines, a repeated header, a
trailing `Total` row, one instant stamped on many rows of a date column; tables: an empty file, a header only, a
table missing, a table given twice in two forms, a table file moved into a partitioned directory; Parquet: a
column's type changed, a column all null) and runs `pipelines.io.load_data` on it (with the default config's `data:`
settings: `pipelines.loading.load_configured`), in this process, under a time limit.

The contract (`check_outcome`): either a known stop (`features.errors.StructuralError`, whose message names a table
or a file) or success where every table's rows in = accepted + rejected, the accepted table holds `accepted` rows
and every reject has a reason; never another exception, never a hang. With `--score-every N`, every N-th case also
runs `cvp score` in a subprocess with a small demo model trained once: exit 0 or 2, never 1 (a traceback).

    .venv/bin/python -m bench.fuzz_inputs --seeds 0:200 --budget 3600 --out out/fuzz
    nice -n 10 .venv/bin/python -m bench.fuzz_inputs --seeds 1000:100000 --budget 3600 --score-every 50

Findings are written to `<out>/findings.jsonl` (seed, damages, the exception's type, place and first line), one
class per (type, place) in the summary printed at the end; `--keep` keeps each finding's case directory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
RETAIL = REPO.parent / "shared" / "datasets" / "online_retail" / "online_retail.parquet"
RETAIL_MAPPING = REPO / "configs" / "datasets" / "online_retail.yaml"

#: Hostile cell values: every form the README's "What bad input gets" table names, Unicode oddities, huge and tiny
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
         "all_null", "no_row_groups", "int32", "timestamp_tz", "int_extreme"]
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
        elif kind == "no_row_groups":
            pq.write_table(t.schema.empty_table(), f)
            return f"{kind} {f.name}"
        else:
            target = {
                "int": pa.int64(), "int32": pa.int32(), "float": pa.float64(), "bool": pa.bool_(),
                "timestamp": pa.timestamp("us"), "date": pa.date32(), "decimal": pa.decimal128(18, 4),
                "timestamp_tz": pa.timestamp("ms", tz="UTC"),
            }[kind]  # fmt: skip
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


# --- one case ------------------------------------------------------------------------------------------------------


class Hang(Exception):
    """A case ran past its time limit."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang()


def check_outcome(loaded: Any) -> list[str]:
    """What a successful load broke of the contract (empty: nothing)."""
    broken = []
    for t, rep in loaded.result.report.items():
        if rep.rows_in != rep.accepted + rep.rejected:
            broken.append(f"{t}: rows in {rep.rows_in} != {rep.accepted} accepted + {rep.rejected} rejected")
        kept = loaded.tables.get(t)
        if kept is not None and len(kept) != rep.accepted:
            broken.append(f"{t}: {len(kept)} rows kept, {rep.accepted} accepted")
        rej = loaded.result.rejects.get(t)
        if rep.rejected and (rej is None or len(rej) != rep.rejected):
            broken.append(f"{t}: {rep.rejected} rejected, {0 if rej is None else len(rej)} reject rows")
        if rej is not None and len(rej) and ("reason" not in rej or rej["reason"].isna().any()):
            broken.append(f"{t}: a reject without a reason")
    return broken


def check_rejects_files(loaded: Any, rejects: Path) -> list[str]:
    """The rejects as `cvp validate --rejects` publishes them (`pipelines.loading.publish_rejects`), read back: each
    table's file holds its rejected rows, each with a reason (a hostile cell, a line break or NUL, must not cut or
    merge the rows of the CSV written)."""
    import pyarrow.csv as pv

    from pipelines.loading import publish_rejects

    broken = []
    try:
        written = publish_rejects(loaded, rejects)
        for key, path in written.items():
            table = pv.read_csv(  # a line break inside a quoted cell is one cell (RFC 4180)
                path,
                parse_options=pv.ParseOptions(newlines_in_values=True),
                convert_options=pv.ConvertOptions(column_types={"reason": "string"}),
            )
            want = loaded.result.rejects.get(key)
            if want is None:
                want = loaded.source_rejects.get(key.removeprefix("source:"))
            if want is not None and table.num_rows != len(want):
                broken.append(
                    f"rejects file {path.name}: {table.num_rows} rows read back, {len(want)} rejected"
                )
            if table.column("reason").null_count:
                broken.append(f"rejects file {path.name}: a row without a reason")
    finally:
        shutil.rmtree(rejects, ignore_errors=True)
    return broken


def _place(exc: BaseException) -> str:
    """The innermost frame of the product's own code (`features/`, `pipelines/`, `models/`) the exception passed."""
    place = "?"
    for fr in traceback.extract_tb(exc.__traceback__):
        path = Path(fr.filename)
        rel = path.relative_to(REPO) if REPO in path.parents else None
        if rel is not None and rel.parts[0] in ("features", "pipelines", "models"):
            place = f"{rel}:{fr.name}"
    return place


def run_case(
    seed: int, sets: list[DataSet], work: Path, timeout: float, damages: list[str] | None = None
) -> dict[str, Any]:
    """One case: copy a data set, damage it (seeded), load it. Its record (outcome `ok`, `stop` or a finding).
    `damages`: these, in this order, instead of one to three drawn from the seed (the data set still drawn)."""
    from features.contract import TABLES
    from features.errors import StructuralError
    from pipelines.config import load_config
    from pipelines.loading import load_configured

    rng = random.Random(seed)
    ds = rng.choice(sets)
    case = work / f"case-{seed}"
    shutil.rmtree(case, ignore_errors=True)
    shutil.copytree(ds.root, case)
    names = damages if damages is not None else rng.sample(sorted(DAMAGES), k=rng.choice([1, 1, 2, 3]))
    done = []
    for name in names:
        try:
            done.append(f"{name}: {DAMAGES[name](case, rng, ds)}")
        except (
            Exception
        ) as exc:  # the damage itself could not be applied (a file gone): recorded, not the product's
            done.append(f"{name}: not applied ({type(exc).__name__})")
    record: dict[str, Any] = {"seed": seed, "set": ds.name, "damages": done}
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    t0 = time.process_time()
    try:
        loaded = load_configured(case, ds.mapping, load_config(None))  # `data:` as the commands read it
        broken = check_outcome(loaded) + check_rejects_files(loaded, work / f"case-{seed}-rejects")
        record["report"] = {
            t: (r.rows_in, r.accepted, r.rejected_by_reason) for t, r in loaded.result.report.items()
        }
        record["outcome"] = "broken" if broken else "ok"
        if broken:
            record["detail"] = broken
    except StructuralError as exc:
        text = str(exc)
        names_one = any(t in text for t in [*TABLES, *ds.tables, *(p.name for p in case.iterdir())])
        record["outcome"] = "stop" if names_one else "stop-unnamed"
        record["detail"] = text.splitlines()[0][:300] if text else ""
        record["stop"] = text.splitlines()[0] if text else ""
    except Hang:
        record["outcome"] = "hang"
    except Exception as exc:  # the finding: a traceback instead of the contract
        record["outcome"] = "exception"
        record["type"] = type(exc).__name__
        record["place"] = _place(exc)
        record["detail"] = str(exc).splitlines()[0][:300] if str(exc) else ""
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    record["cpu"] = round(time.process_time() - t0, 3)
    return record


def finding_class(record: dict[str, Any]) -> str | None:
    """A finding's class (its outcome, exception type and place), None for a kept promise."""
    if record["outcome"] in ("ok", "stop"):
        return None
    if record["outcome"] == "exception":
        return f"exception {record['type']} at {record['place']}"
    return record["outcome"]


def _cleanup(case: Path) -> None:
    for p in case.rglob("*") if case.exists() else []:
        try:
            p.chmod(0o700) if not p.is_symlink() else None
        except OSError:
            pass
    shutil.rmtree(case, ignore_errors=True)


# --- the Spark engine on a sample -------------------------------------------------------------------------------


def spark_agrees(spark: Any, case: Path, record: dict[str, Any], loaded_stop: str | None) -> str | None:
    """`pipelines.engines.spark_input.load_spark` on a case the pandas loader read (`record`): None when both
    engines agree (the same stop message, any stop when the case has several damages: either may be said first;
    or the same report: rows in, accepted, rejected by reason), else what differs. A traceback of the Spark engine is a disagreement too."""
    from features.errors import StructuralError
    from pipelines.config import load_config
    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_input import load_spark

    cfg = load_config(None)
    try:
        with mapped_errors():
            got, _ = load_spark(spark, case, cfg, case.parent / f"{case.name}-spark-rejects")
    except StructuralError as exc:
        if loaded_stop is None:
            return f"spark stops, pandas does not: {str(exc).splitlines()[0][:200]}"
        if str(exc).splitlines()[0] == loaded_stop or len(record["damages"]) > 1:  # either problem first
            return None
        return f"other stop: {str(exc).splitlines()[0][:200]}"
    except Exception as exc:
        return f"spark {type(exc).__name__} at {_place(exc)}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    if loaded_stop is not None:
        return f"pandas stops, spark does not: {loaded_stop[:200]}"
    want = record.get("report")
    have = {t: (r.rows_in, r.accepted, r.rejected_by_reason) for t, r in got.result.report.items()}
    return None if have == want else f"reports differ: pandas {want}, spark {have}"


# --- scoring a sample ------------------------------------------------------------------------------------------------


def train_demo(root: Path, ds: DataSet) -> Path:
    """A config whose registry holds a small model trained on the good demo data (once per `root`)."""
    import yaml

    config = root / "config.yaml"
    if (root / "trained.ok").exists():
        return config
    cfg = {
        "labels": {"n_cutoffs": 3, "cutoff_step_months": 2},
        "models": {
            "lightgbm": {"n_estimators": 30, "num_leaves": 7, "min_child_samples": 20},
            "churn_lightgbm": {"n_estimators": 30, "num_leaves": 7, "min_child_samples": 50},
            "backtest_folds": 1,
        },
        "mlflow": {"tracking_dir": str(root / "mlruns")},
    }
    config.write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "pipelines.cli", "train", "--data", str(ds.root), "--config", str(config)]
    cmd += ["--as-of", "2024-07-01"]
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, timeout=1800)
    (root / "trained.ok").write_text("")
    return config


def score_case(case: Path, config: Path, timeout: float) -> tuple[int, str]:
    """`cvp score` on a case directory: its exit code and last lines."""
    cmd = [sys.executable, "-m", "pipelines.cli", "score", "--data", str(case), "--config", str(config)]
    cmd += [
        "--as-of",
        "2024-12-01",
        "--out",
        str(case.parent / f"{case.name}-scores.parquet"),
        "--allow-stale",
    ]
    try:
        res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, "timeout"
    return res.returncode, (res.stdout + res.stderr)[-600:]


# --- the run ---------------------------------------------------------------------------------------------------------


def seeds_of(text: str) -> list[int]:
    """`0:200` (a range) or `3,17,42` (a list)."""
    if ":" in text:
        a, b = text.split(":")
        return list(range(int(a), int(b)))
    return [int(s) for s in text.split(",") if s]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0:100", help="a range a:b or a list a,b,c")
    ap.add_argument("--budget", type=float, default=600.0, help="CPU seconds at most, then stop")
    ap.add_argument(
        "--timeout", type=float, default=60.0, help="seconds per case (a hang past it is a finding)"
    )
    ap.add_argument("--customers", type=int, default=300)
    ap.add_argument("--retail-lines", type=int, default=3000)
    ap.add_argument(
        "--score-every", type=int, default=0, help="run `cvp score` on every N-th case (0: never)"
    )
    ap.add_argument(
        "--spark-every", type=int, default=0, help="compare with the Spark engine every N-th case"
    )
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "cvp-fuzz")
    ap.add_argument("--keep", action="store_true", help="keep each finding's case directory")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    good = args.out / "good"
    sets = demo_sets(good, args.customers, 7) + retail_sets(good, args.retail_lines)
    config = train_demo(good, sets[1]) if args.score_every else None
    work = args.out / "cases"
    work.mkdir(exist_ok=True)
    stack = contextlib.ExitStack()
    spark = None
    if args.spark_every:
        from pipelines.engines.spark_session import spark_session

        spark = stack.enter_context(spark_session("local[2]"))
    classes: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    start = time.process_time()
    n = 0
    with stack, (args.out / "findings.jsonl").open("a") as log:
        for seed in seeds_of(args.seeds):
            if time.process_time() - start > args.budget:
                break
            record = run_case(seed, sets, work, args.timeout)
            if config is not None and n % args.score_every == 0 and record["set"].startswith("demo"):
                record["score_exit"], tail = score_case(work / f"case-{seed}", config, args.timeout * 5)
                if record["score_exit"] not in (0, 2):
                    record["outcome"], record["detail"] = f"score exit {record['score_exit']}", tail
            if spark is not None and n % args.spark_every == 0 and record["outcome"] in ("ok", "stop"):
                if record["set"].startswith("demo"):
                    differs = spark_agrees(spark, work / f"case-{seed}", record, record.get("stop"))
                    record["spark"] = differs or "agrees"
                    if differs:
                        record["outcome"], record["detail"] = "engines differ", differs
            record.pop("report", None)
            n += 1
            outcomes[record["outcome"]] += 1
            kind = finding_class(record)
            if kind:
                classes[kind] += 1
                log.write(json.dumps(record, ensure_ascii=False) + "\n")
                log.flush()
            shutil.rmtree(work / f"case-{seed}-spark-rejects", ignore_errors=True)
            if not (kind and args.keep):
                _cleanup(work / f"case-{seed}")
    cpu = time.process_time() - start
    print(f"{n} cases, {cpu:.0f} CPU-s; outcomes {dict(outcomes)}")
    for kind, count in classes.most_common():
        print(f"  {count:5d}  {kind}")
    return 1 if classes else 0


if __name__ == "__main__":
    sys.exit(main())
