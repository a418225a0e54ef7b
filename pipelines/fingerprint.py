"""Fingerprints of validated tables: a row count and a content hash per table, stable across runs.

A scoring run records them in its manifest (`data_fingerprint`); the report and the profile compare the data they
are given with them (`check_same_data`), so names and inputs of other data never land on the run's customers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

from features.validation import StructuralError

T = TypeVar("T")


def _segments(s: pd.Series, base: int = 0, first: bool = True) -> tuple[list[Any], int]:
    """One column's content as the hash reads it, in its segments: numbers and times (values, missing), text
    (offsets, characters, missing; strings as Arrow buffers, no Python objects); and the text's new `base`. The
    segments are contiguous buffers (arrays, views of Arrow's memory), not copies into `bytes` (issue 14).

    A column given in row batches hashes as the whole column when each batch's segments are appended to the
    previous ones': text offsets count from `base` (the characters before the batch), and a batch after the
    `first` leaves out its first offset (the previous batch's last)."""
    import numpy as np
    import pyarrow as pa

    values = None
    if isinstance(s.dtype, pd.BooleanDtype):
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
    elif pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_datetime64_any_dtype(s.dtype):
        values = s.to_numpy()
    if values is not None:
        return [np.ascontiguousarray(values).view(np.uint8), np.ascontiguousarray(s.isna())], base
    arr = pa.array(s, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = arr.cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    relative = offsets - offsets[0] + base  # slices and chunks of equal content hash alike
    chars = b"" if data is None else memoryview(data)[offsets[0] : offsets[-1]]
    kept = relative if first else relative[1:]
    return [kept, chars, np.ascontiguousarray(arr.is_null())], int(relative[-1])


def _header(s: pd.Series) -> bytes:
    return f"{s.name}:{s.dtype}".encode()


def _hash_column(h: Any, s: pd.Series) -> None:
    """Feed one column's content to `h` (`_segments`, bounded extra memory)."""
    h.update(_header(s))
    for part in _segments(s)[0]:
        h.update(part)


def frame_fingerprint(frame: pd.DataFrame) -> dict[str, Any]:
    """Row count and a content hash that is stable across runs, column by column (bounded extra memory)."""
    h = hashlib.sha256()
    for col in frame.columns:
        _hash_column(h, frame[col])
    return {"rows": len(frame), "sha256": h.hexdigest()[:16]}


class BatchFingerprint:
    """`frame_fingerprint` of a table that arrives in row batches (issue 11: the Spark driver streams a table
    and keeps only some of its columns): the same digest as the whole frame's, without holding the frame.
    The hash reads a whole column before the next, so each column's segments are spooled to files in
    `spool_dir` as the batches arrive and hashed in order at the end. `empty`: the table's columns and dtypes
    (zero rows), which every batch must have."""

    def __init__(self, empty: pd.DataFrame, spool_dir: Any) -> None:
        from pathlib import Path

        self._headers = [_header(empty[c]) for c in empty.columns]
        self._columns = list(empty.columns)
        self._dir = Path(spool_dir)
        self._files: dict[tuple[int, int], Any] = {}
        self._base = [0] * len(self._columns)
        self._rows = 0
        self._empty = empty

    def add(self, batch: pd.DataFrame) -> None:
        if [_header(batch[c]) for c in self._columns] != self._headers:
            raise ValueError("a batch's columns or dtypes differ from the table's")
        # nothing to hash: a first empty batch would write the text offset the next batch repeats
        if len(batch) == 0:
            return
        for i, col in enumerate(self._columns):
            parts, self._base[i] = _segments(batch[col], self._base[i], first=self._rows == 0)
            for j, part in enumerate(parts):
                if (i, j) not in self._files:
                    self._files[(i, j)] = open(self._dir / f"{i}-{j}.bin", "wb")  # noqa: SIM115
                self._files[(i, j)].write(part)
        self._rows += len(batch)

    def fingerprint(self) -> dict[str, Any]:
        if not self._rows:  # nothing spooled (or empty batches only): the empty table's digest
            self._close()
            return frame_fingerprint(self._empty)
        h = hashlib.sha256()
        self._close()
        for i, header in enumerate(self._headers):
            h.update(header)
            j = 0
            while (i, j) in self._files:
                with open(self._dir / f"{i}-{j}.bin", "rb") as spooled:
                    while chunk := spooled.read(1 << 22):
                        h.update(chunk)
                (self._dir / f"{i}-{j}.bin").unlink()
                j += 1
        return {"rows": self._rows, "sha256": h.hexdigest()[:16]}

    def _close(self) -> None:
        for f in self._files.values():
            f.close()


def data_fingerprint(
    tables: dict[str, pd.DataFrame], threads: int | None = None
) -> dict[str, dict[str, Any]]:
    """`frame_fingerprint` of every table, by name. The tables are hashed on `threads` threads (default
    `prediction_threads()`), largest first (SHA-256, most of the time, releases the GIL; issue 14); each table's
    digest is its own, so the result is the one-thread result."""
    from concurrent.futures import ThreadPoolExecutor

    from models.threads import prediction_threads

    names = sorted(tables)
    threads = min(threads or prediction_threads(), len(names))
    if threads < 2:
        return {name: frame_fingerprint(tables[name]) for name in names}
    by_size = sorted(names, key=lambda name: -int(tables[name].memory_usage(index=False).sum()))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="fingerprint") as pool:
        done = dict(
            zip(by_size, pool.map(lambda name: frame_fingerprint(tables[name]), by_size), strict=True)
        )
    return {name: done[name] for name in names}


def fingerprint_beside(tables: dict[str, pd.DataFrame], work: Callable[[], T]) -> tuple[dict[str, Any], T]:
    """(`data_fingerprint(tables)`, `work()`): the tables hashed on one background thread while `work` runs on
    this one (issue 14: SHA-256 releases the GIL, so the scoring run's customer index and statuses are built
    meanwhile, and the chunk plan on the chunk builder's thread: one hashing thread, not one per core, beside
    them). On one thread (`OMP_NUM_THREADS=1`) one after the other. An error of either is raised once both have
    ended; the digests are `data_fingerprint`'s."""
    from concurrent.futures import ThreadPoolExecutor

    from models.threads import prediction_threads

    if prediction_threads() < 2:
        return data_fingerprint(tables), work()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fingerprint-beside") as pool:
        hashed = pool.submit(data_fingerprint, tables, 1)
        done = work()  # on an error here, leaving the pool waits for the hashing thread
        return hashed.result(), done


def check_same_data(
    tables: dict[str, pd.DataFrame],
    recorded: dict[str, Any] | None,
    names: tuple[str, ...],
    exact: bool,
) -> None:
    """Stop when `tables` are not the data a run recorded (`data_fingerprint` of its manifest), for the tables
    `names`: the row counts must match, and with `exact` the content hashes too (a run of the pandas engine,
    whose tables hash alike when read again; the Spark engine's rows come back in another order). `recorded`
    None: a run from before manifests carried fingerprints (nothing to compare)."""
    if not recorded:
        return
    for name in names:
        was = recorded.get(name)
        frame = tables.get(name)
        if was is None and frame is None:
            continue
        now = None if frame is None else frame_fingerprint(frame)
        if (
            was is None
            or now is None
            or now["rows"] != was["rows"]
            or (exact and now["sha256"] != was["sha256"])
        ):
            described = "no such table" if now is None else f"{now['rows']:,} rows"
            run_had = "none" if was is None else f"{was['rows']:,} rows"
            if now is not None and was is not None and now["rows"] == was["rows"]:
                described, run_had = f"content {now['sha256']}", f"content {was['sha256']}"
            raise StructuralError(
                f"--data is not the data this run scored: table {name} has {described}, the run's had {run_had} "
                "(data_fingerprint in its manifest), so what it says would be put on other customers: give the "
                "data directory the run scored"
            )


def check_run_currency(manifest: dict[str, Any], currency: str, what: str) -> None:
    """Refuse to present a run's amounts in another currency than they are: a run's amounts are in its model's
    data currency (`cvp score` refuses data in another one), recorded in the manifest's `model_settings`."""
    run_currency = ((manifest.get("model_settings") or {}).get("data") or {}).get("currency")
    if run_currency not in (None, currency):
        raise StructuralError(
            f"data.currency: this run's amounts are in {run_currency} (scored with a model of {run_currency} "
            f"data), the config says {currency}: {what} would label every amount in the wrong currency. Use the "
            "config the run was scored with"
        )


def with_run_settings(manifest: dict[str, Any], cfg: Any) -> Any:
    """`cfg` (a reader's `AppConfig`: `cvp report`, `cvp profile`) with the feature and label settings the run
    built its features with (`settings_used` in its manifest: the model's own), so the pages name, window and
    rebuild the run's features as they were, whatever `--config` the reader was given (was: a report read with
    `features.windows_days: [30, 180]` showed a model of 90/365-day windows' features as `profit net 365d`,
    unlabelled); its tier rules are filled for the run's windows (`AppConfig.with_model_settings`). A run without them
    (older manifests) is read with `cfg` as it is; a run scored before a feature or label setting existed, with
    the behaviour it was scored with (`features.config.FEATURE_SETTINGS_BEFORE`, `LABEL_SETTINGS_BEFORE`: was an
    unexpected error, "seasonal_profile Field required", for `cvp report` and `cvp profile` on last month's scores)."""
    from features.config import FEATURE_SETTINGS_BEFORE, LABEL_SETTINGS_BEFORE

    before = {"features": FEATURE_SETTINGS_BEFORE, "labels": LABEL_SETTINGS_BEFORE}
    used = manifest.get("settings_used") or {}
    update = {
        key: type(getattr(cfg, key)).model_validate(before[key] | used[key])
        for key in ("features", "labels")
        if isinstance(used.get(key), dict)
    }
    read = used.get(
        "data"
    )  # the zone and bounds the run read its data with (the model's): the data reads alike
    if isinstance(read, dict) and read:
        cfg = cfg.with_data(**read)
    if not update:
        return cfg
    return cfg.with_model_settings(update.get("features", cfg.features), update.get("labels", cfg.labels))
