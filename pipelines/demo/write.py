"""Writing a demo company: one file per contract table plus the truth, published together, byte-identical per seed."""

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
from pipelines.staging import umask


def write_company(
    company: DemoCompany, out_dir: Path, fmt: str = "parquet", remove: list[Path] | None = None
) -> dict[str, Path]:
    """Write every contract table to ``out_dir/<table>.<fmt>`` and the truth to ``out_dir/_truth/truth.parquet``.

    ``fmt`` is ``"parquet"`` (default) or ``"csv"`` (UTF-8, ISO-8601 timestamps ``YYYY-MM-DDTHH:MM:SS``, empty
    cells for missing values). The files are published together (`pipelines.staging.atomic_files`: staged, then
    renamed into place through a journal), so a run stopped half-way leaves the previous company whole, never
    new orders beside old customers; ``remove`` (an earlier company's tables of the other format) goes with them.
    A side table of no row (a small company without referrals) is not written, and an earlier company's file
    of it is removed: a header alone is a failed export to the loader (`features.table_rows.check_source_rows`).
    Returns table name -> path; the truth is under the key ``"_truth"``, the planted profile drivers
    (``_truth/profile_drivers.parquet``) under ``"_profile_drivers"`` (not contract tables; the product must not
    read them).
    """
    from pipelines.staging import atomic_files

    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', not {fmt!r}")
    out_dir = Path(out_dir)
    truth_dir = out_dir / "_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    empty = [name for name in TABLE_NAMES if name != "orders" and company.tables[name].empty]
    remove = [*(remove or []), *(out_dir / f"{name}.{fmt}" for name in empty)]
    frames = {
        name: (company.tables[name], out_dir / f"{name}.{fmt}", fmt)
        for name in TABLE_NAMES
        if name not in empty
    }
    frames["_truth"] = (company.truth, truth_dir / "truth.parquet", "parquet")
    if company.profile_drivers is not None:
        frames["_profile_drivers"] = (
            company.profile_drivers,
            truth_dir / "profile_drivers.parquet",
            "parquet",
        )
    paths = {key: path for key, (_, path, _) in frames.items()}
    with atomic_files(paths, f"the demo company in {out_dir}", remove) as staged:
        for key, (frame, _, kind) in frames.items():
            _write_table(frame, staged[key], kind)
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
        os.chmod(
            tmp_name, 0o666 & ~umask()
        )  # as every output: the user's umask (was: 0644 under `umask 077`)
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
