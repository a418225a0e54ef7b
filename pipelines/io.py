"""Reading data directories, atomic writes and data fingerprints. The only place that touches raw files."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from features.contract import TABLES
from features.validation import StructuralError, ValidationResult, validate_tables
from pipelines.mapping import Mapping, apply_mapping, load_mapping, resolve_source

SUFFIXES = (".parquet", ".csv")


def read_file(path: Path) -> pd.DataFrame:
    """Read one CSV (UTF-8, every column as text so ids keep leading zeros) or Parquet file."""
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            _release_arrow_memory()  # the Arrow buffers behind the conversion are garbage now
            return frame
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise StructuralError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc


def find_table_files(data_dir: Path) -> dict[str, Path]:
    """Contract tables present in `data_dir`, by file stem. Two files for one table is an error."""
    if not data_dir.is_dir():
        raise StructuralError(f"data directory {data_dir} does not exist")
    found: dict[str, Path] = {}
    for path in sorted(data_dir.iterdir()):
        if path.suffix in SUFFIXES and path.stem in TABLES:
            if path.stem in found:
                raise StructuralError(
                    f"table {path.stem!r} has two files: {found[path.stem].name} and {path.name}"
                )
            found[path.stem] = path
    return found


@dataclass
class LoadedData:
    """Validated tables plus everything the run should say about how they were obtained."""

    result: ValidationResult
    files: dict[str, Path]
    source_rejects: dict[str, pd.DataFrame] = field(default_factory=dict)
    source_report: dict[str, dict[str, int]] = field(default_factory=dict)
    timezone: str = "UTC"

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return self.result.tables


def load_data(
    data_dir: Path,
    mapping_path: Path | None = None,
    timezone: str = "UTC",
    date_formats: dict[str, str] | None = None,
    max_values: dict[str, float] | None = None,
) -> LoadedData:
    """Read a data directory (optionally through a foreign-schema mapping) and validate it against the contract.

    `date_formats` and `max_values` come from the config's `data:` section (see `DataConfig`); a mapping's own
    per-table `date_formats` are added to them.
    """
    data_dir = Path(data_dir)
    if mapping_path is None:
        files = find_table_files(data_dir)
        if "orders" not in files:
            raise StructuralError(
                f"required table 'orders' is missing in {data_dir} (expected orders.csv or orders.parquet; "
                f"found: {', '.join(p.name for p in sorted(data_dir.iterdir())) or 'nothing'})"
            )
        raw = {name: read_file(path) for name, path in files.items()}
        result = validate_tables(raw, timezone, date_formats, max_values)
        del raw
        _release_arrow_memory()
        return LoadedData(result, files, timezone=timezone)
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
    return LoadedData(result, files, source_rejects, source_report, tz)


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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _release_arrow_memory() -> None:
    """Return the buffers pyarrow's pool keeps after reading Parquet (gigabytes at a million customers)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` only if the block completes.

    A killed run leaves either the old file or none, never a half-written one (rename is atomic on POSIX).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; results are for other systems to read
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_directory(target: Path, marker: str) -> Iterator[Path]:
    """Yield an empty staging directory beside `target`; when the block completes it replaces `target` whole.

    Nothing of an earlier run survives next to the new files, and a killed run leaves the previous directory
    (or, in the instant between the two renames, none), never a mix. `target` must be absent, empty, or a
    directory published here before (it holds the file `marker`): any other directory is refused, so a user's
    own files are never deleted.
    """
    target = Path(target).resolve()
    if target.exists():
        if not target.is_dir():
            raise StructuralError(f"{target} exists and is not a directory")
        if not (target / marker).exists() and any(target.iterdir()):
            raise StructuralError(
                f"{target} is not empty and was not written by cvp (no {marker} in it): choose a new or empty "
                f"directory; its files are left untouched"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    for old in target.parent.glob(f".{target.name}.*.old"):  # left by a run killed between the renames
        shutil.rmtree(old, ignore_errors=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    os.chmod(stage, 0o777 & ~_umask())  # mkdtemp makes 0700; results are for other people to read
    try:
        yield stage
        (stage / marker).write_text("written by cvp; this directory is replaced as a whole on every run\n")
        retired = None
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.replace(target, retired / target.name)
        os.replace(stage, target)
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def write_atomic(target: Path, writer: Callable[[Path], Any]) -> Path:
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def write_frame(frame: pd.DataFrame, target: Path, index: bool = False) -> Path:
    """Write a frame atomically as Parquet or CSV by suffix."""
    target = Path(target)
    if target.suffix == ".csv":
        return write_atomic(target, lambda p: frame.to_csv(p, index=index))
    return write_atomic(target, lambda p: frame.to_parquet(p, index=index))


def write_json(obj: Any, target: Path) -> Path:
    text = json.dumps(obj, indent=2, sort_keys=True, default=str)
    return write_atomic(Path(target), lambda p: p.write_text(text + "\n", encoding="utf-8"))


def _hash_column(h: Any, s: pd.Series) -> None:
    """Feed one column's content to `h` without materialising Python objects (strings hashed as Arrow buffers)."""
    import numpy as np
    import pyarrow as pa

    h.update(f"{s.name}:{s.dtype}".encode())
    values = None
    if isinstance(s.dtype, pd.BooleanDtype):
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    elif pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        values = s.to_numpy()
    if values is not None:
        h.update(np.ascontiguousarray(values).view(np.uint8).tobytes())
        h.update(np.asarray(s.isna()).tobytes())
        return
    arr = pa.array(s, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    h.update((offsets - offsets[0]).tobytes())  # slices and chunks of equal content hash alike
    if data is not None:
        h.update(memoryview(data)[offsets[0] : offsets[-1]])
    h.update(np.asarray(arr.is_null()).tobytes())


def frame_fingerprint(frame: pd.DataFrame) -> dict[str, Any]:
    """Row count and a content hash that is stable across runs, column by column (bounded extra memory)."""
    h = hashlib.sha256()
    for col in frame.columns:
        _hash_column(h, frame[col])
    return {"rows": len(frame), "sha256": h.hexdigest()[:16]}


def data_fingerprint(tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    return {name: frame_fingerprint(tables[name]) for name in sorted(tables)}


def write_rejects(loaded: LoadedData, rejects_dir: Path) -> dict[str, Path]:
    """Write `<rejects>/<table>.csv` (and `<source>.source.csv` for mapping rejects); only tables with rejects."""
    out: dict[str, Path] = {}
    for name, frame in loaded.result.rejects.items():
        if len(frame):
            out[name] = write_frame(frame, Path(rejects_dir) / f"{name}.csv")
    for name, frame in loaded.source_rejects.items():
        if len(frame):
            out[f"source:{name}"] = write_frame(frame, Path(rejects_dir) / f"{name}.source.csv")
    return out
