"""Writing a demo company: one file per contract table plus the truth, each atomic, byte-identical per seed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from pipelines.demo.assemble import DemoCompany
from pipelines.demo.params import TABLE_NAMES


def write_company(company: DemoCompany, out_dir: Path, fmt: str = "parquet") -> dict[str, Path]:
    """Write every contract table to ``out_dir/<table>.<fmt>`` and the truth to ``out_dir/_truth/truth.parquet``.

    ``fmt`` is ``"parquet"`` (default) or ``"csv"`` (UTF-8, ISO-8601 timestamps ``YYYY-MM-DDTHH:MM:SS``, empty
    cells for missing values). Each file is written to a temporary file in the same directory and moved into
    place with ``os.replace``, so readers never see a half-written file. Returns table name -> path; the truth is
    under the key ``"_truth"``, the planted profile drivers (``_truth/profile_drivers.parquet``) under
    ``"_profile_drivers"`` (not contract tables; the product must not read them).
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', not {fmt!r}")
    out_dir = Path(out_dir)
    truth_dir = out_dir / "_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in TABLE_NAMES:
        path = out_dir / f"{name}.{fmt}"
        _write_table(company.tables[name], path, fmt)
        paths[name] = path
    truth_path = truth_dir / "truth.parquet"
    _write_table(company.truth, truth_path, "parquet")
    paths["_truth"] = truth_path
    if company.profile_drivers is not None:
        drivers_path = truth_dir / "profile_drivers.parquet"
        _write_table(company.profile_drivers, drivers_path, "parquet")
        paths["_profile_drivers"] = drivers_path
    return paths


def _write_table(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    """Write one frame with fixed settings, atomically (temp file in the same directory, then os.replace)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        if fmt == "parquet":
            pq.write_table(
                table,
                tmp_name,
                compression="zstd",
                compression_level=3,
                use_dictionary=True,
                write_statistics=True,
                version="2.6",
                row_group_size=1_000_000,
            )
        else:
            pa_csv.write_csv(_csv_ready(table), tmp_name)
        # mkstemp creates owner-only files; data files are meant to be shared like any other output.
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _csv_ready(table: pa.Table) -> pa.Table:
    """Timestamps as ISO-8601 strings (whole seconds); everything else as pyarrow writes it."""
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type):
            column = pc.strftime(column.cast(pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S")
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)
