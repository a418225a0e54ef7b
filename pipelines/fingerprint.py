"""Fingerprints of validated tables: a row count and a content hash per table, stable across runs.

A scoring run records them in its manifest (`data_fingerprint`); the report and the profile compare the data they
are given with them (`check_same_data`), so names and inputs of other data never land on the run's customers.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from features.validation import StructuralError


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
    (older manifests) is read with `cfg` as it is."""
    used = manifest.get("settings_used") or {}
    update = {
        key: type(getattr(cfg, key)).model_validate(used[key])
        for key in ("features", "labels")
        if isinstance(used.get(key), dict)
    }
    if not update:
        return cfg
    return cfg.with_model_settings(update.get("features", cfg.features), update.get("labels", cfg.labels))
