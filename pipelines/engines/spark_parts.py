"""The output parts of the Spark engine: what its executors write into the run's staging area (the value and
churn contributions, the scores' reason columns and the profile inputs, per bucket, as Parquet parts; the tiered
compact scores, per batch) and how the driver takes them in (the contributions and the profile inputs appended to
the pandas engine's files one part at a time, the reasons adopted as the run's `ReasonSpill`, the compact scores
read for the whole-base finish), plus the scores as a Parquet directory (`write_spark_output`) and the
rejects' CSV parts published as one set (`publish_rejects_spark`). Pure pyarrow and pandas: no pyspark
import, so the driver's writers and the tests run without a session (`pipelines.engines.spark_engine` runs them).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.validation import StructuralError, TableReport
from pipelines.engines.spark_checks import RAW, REASON, ROW, projection
from pipelines.engines.spill import ReasonSpill, reason_columns, write_reason_file
from pipelines.staging import StagedDirectory

if TYPE_CHECKING:  # pyspark is an optional extra: imported only when the Spark engine runs
    from pyspark.sql import DataFrame as SparkDataFrame

#: Prefix of the value contribution columns in a scored batch (the executors write them, the driver never sees them).
CONTRIB_PREFIX = "contrib:"
#: Prefix of the churn contribution columns (probability points, issue 15), written beside the value ones.
CHURN_PREFIX = "churn_contrib:"
#: Prefixes of the bridge's contribution columns (the history's previous model on this run's data, issue 15).
BRIDGE_PREFIX, BRIDGE_CHURN_PREFIX = "bridge:", "bridge_churn:"
#: Each kind of contribution column and the name its part files start with.
CONTRIB_PARTS = (
    (CONTRIB_PREFIX, "part"),
    (CHURN_PREFIX, "churn"),
    (BRIDGE_PREFIX, "bridge"),
    (BRIDGE_CHURN_PREFIX, "bridgechurn"),
)
#: Every contribution column prefix: columns the executors write, never collected.
CONTRIB_PREFIXES = tuple(prefix for prefix, _ in CONTRIB_PARTS)
#: Rows per part file of a Parquet output directory (readers parallelise over parts).
PART_ROWS = 500_000


def _write_part(directory: str | Path, name: str, write: Callable[[Path], object]) -> None:
    """One executor's part file `name` in `directory`: `write(path)` writes it under a temporary name, which is
    then renamed, so a retried task replaces its part whole and the driver never reads half a part."""
    target = Path(directory) / name
    tmp = target.with_name(f".{name}.{uuid.uuid4().hex}.tmp")
    write(tmp)
    tmp.replace(target)


def write_contribution_parts(scored: pd.DataFrame, parts: str, partition: int, seq: int) -> pd.DataFrame:
    """The executor's half of the contributions (the scores stage's mapInPandas body, after `score_batch`).

    in:  one batch of `score_batch`'s output; `parts`, the run's directory of contribution parts (in its staging
         area: a path the executors and the driver both see, as for the rejects); the task's partition and the
         batch's number in it. Writes the eligible (scored) rows' `contrib:` columns, per bucket, to
         `part-<bucket>-<partition>-<seq>.parquet` (customer_id, then the features and `_base`; written to a
         temporary name and renamed, so a retried task replaces its part whole), and their `churn_contrib:`
         columns (probability points) likewise to `churn-<bucket>-<partition>-<seq>.parquet`, and the bridge's
         (`bridge:`, `bridge_churn:`) to `bridge-...` and `bridgechurn-...`. A bucket is one
         partition's contiguous rows in customer order, so the parts in name order are the rows in the pandas
         engine's order. out: the batch without the contribution columns (what the driver collects)."""
    rows = scored[scored["eligible"].to_numpy(dtype=bool)]
    written = []
    for prefix, stem in CONTRIB_PARTS:
        contrib_cols = [c for c in scored.columns if c.startswith(prefix)]
        written += contrib_cols
        for bucket in pd.unique(rows["bucket"]) if contrib_cols else ():
            part = rows[rows["bucket"].to_numpy() == bucket]
            frame = part[["customer_id", *contrib_cols]].reset_index(drop=True)
            frame.columns = [c.removeprefix(prefix) for c in frame.columns]
            frame["customer_id"] = frame["customer_id"].astype("str")
            table = pa.Table.from_pandas(frame, preserve_index=False)
            name = f"{stem}-{int(bucket):06d}-{partition:06d}-{seq:06d}.parquet"
            _write_part(parts, name, lambda path, table=table: pq.write_table(table, path))
    return scored.drop(columns=written)


def write_reason_parts(scored: pd.DataFrame, spill: str, partition: int, seq: int) -> pd.DataFrame:
    """The executor's half of the scores' reason columns (the scores stage's mapInPandas body, issue 11).

    in:  one batch of `score_batch`'s output; `spill`, the run's reason spill directory (in its staging area, a
         path the executors and the driver both see, as for the contributions); the task's partition and the
         batch's number in it. Writes the eligible (scored) rows' reason columns (`spill.reason_columns`: the
         sentences and the features they are about, most of a scores row's bytes), per bucket, to
         `reasons-<bucket>-<partition>-<seq>.parquet` with the pandas engine's writer (`spill.write_reason_file`:
         customer_id then the stored reasons, rows sorted by customer id; written to a temporary name and renamed, so a retried task replaces its part whole); the driver adopts the parts
         (`ReasonSpill.adopt`) and the scores file is written with them a row group at a time, as the pandas
         engine writes its own. out: the batch without the reason columns (what the driver collects)."""
    cols = reason_columns(scored.columns)
    if not cols:
        return scored
    rows = scored[scored["eligible"].to_numpy(dtype=bool)]
    for bucket in pd.unique(rows["bucket"]):
        part = rows[rows["bucket"].to_numpy() == bucket]
        ids = part["customer_id"].astype("str").to_numpy(dtype=object)
        name = f"reasons-{int(bucket):06d}-{partition:06d}-{seq:06d}.parquet"
        # the pandas engine's writer: one layout, one set of types
        _write_part(spill, name, lambda path, part=part, ids=ids: write_reason_file(part, ids, cols, path))
    return scored.drop(columns=cols)


def check_parts_rows(what: str, found: int, expected: int, parts: Path) -> None:
    """Stop (StructuralError) unless the driver `found` in the executors' `parts` the `expected` customers they
    said they wrote (of `what`: "scores", "reasons", "contributions"): parts written where the driver cannot see
    them must never give a partial output set. The message names the output's folder (the parts are in the run's
    staging directory, `outputs.staging_dir`, beside the output; the run removes it before the message is read)."""
    if found != expected:
        raise StructuralError(
            f"the executors wrote the {what} of {expected:,} customers but the driver found {found:,} in the "
            f"output's folder {Path(parts).parent.parent}: it must be on a file system the driver and the "
            "executors share (as for --rejects)"
        )


def adopt_reason_parts(spill_dir: Path, columns: list[str], expected: int) -> ReasonSpill:
    """The executors' reason parts (`write_reason_parts`) as the run's `ReasonSpill` (parts in name order: bucket
    order). Refuses (StructuralError) when they do not hold the `expected` scored customers: parts written
    where the driver cannot see them must never give a scores file without its reasons."""
    files = sorted(Path(spill_dir).glob("reasons-*.parquet"))
    spill = ReasonSpill(Path(spill_dir), columns=list(columns) if files else [])
    for path in files:
        spill.adopt(path)
    check_parts_rows("reasons", spill.rows, expected, spill_dir)
    return spill


def gather_contributions(
    parts: Path, target: Path, run_id: str | None, stem: str = "part", keep: bool = False
) -> int:
    """The executors' contribution parts (`write_contribution_parts`) named `<stem>-*` (`part`: value, `churn`:
    churn) appended in name order to the pandas engine's contributions file (`ContributionsWriter`: same
    columns, types and layout), one part in memory at a time; the parts are removed, unless `keep` (the other
    kind is gathered next). Returns the rows written; no file when there is no part."""
    from pipelines.outputs import ContributionsWriter

    writer = ContributionsWriter(target, run_id)
    try:
        for part in sorted(parts.glob(f"{stem}-*.parquet")):
            frame = pq.read_table(part).to_pandas()
            frame["customer_id"] = frame["customer_id"].astype("str")
            writer.add(frame.set_index("customer_id"))
    finally:
        writer.close()
        if not keep:
            shutil.rmtree(parts, ignore_errors=True)
    return writer.rows


def write_score_part(tiered: pd.DataFrame, parts: str, partition: int, seq: int, schema: pa.Schema) -> int:
    """The executor's half of the compact scores (issue 11: nothing per customer collected to the driver): one
    batch of the tiers stage's output (`spark_tiers.assign_batches`, every customer of the batch) written, rows
    sorted by customer id, with the stage's Arrow `schema` (the one `toArrow` gave the driver: no pandas metadata)
    to `scores-<partition>-<seq>.parquet` in `parts`, the run's directory of score parts in its staging area;
    to a temporary name and renamed, so a retried task replaces its part whole. Returns the rows written."""
    frame = tiered.iloc[np.argsort(tiered["customer_id"].astype("str").to_numpy(dtype=object), kind="stable")]
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False).replace_schema_metadata(None)
    name = f"scores-{partition:06d}-{seq:06d}.parquet"
    _write_part(parts, name, lambda path: pq.write_table(table, path))
    return len(frame)


def read_score_parts(parts: Path, expected: int, dictionary: tuple[str, ...] = ()) -> pa.Table:
    """The executors' score parts (`write_score_part`) as one Arrow table, parts in name order, the `dictionary`
    columns read as Arrow dictionaries (a few distinct sentences per base: the tier and its reason); the parts
    are removed. Refuses (StructuralError) unless they hold the `expected` rows the executors said they wrote:
    parts written where the driver cannot see them must never give a partial scores file."""
    try:
        files = sorted(Path(parts).glob("scores-*.parquet"))
        tables = []
        for path in files:
            present = pq.read_schema(path).names
            tables.append(pq.read_table(path, read_dictionary=[c for c in dictionary if c in present]))
        check_parts_rows("scores", sum(t.num_rows for t in tables), expected, parts)
        if not tables:
            raise StructuralError(
                f"the driver found no score parts in the output's folder {Path(parts).parent.parent}"
            )
        return pa.concat_tables(tables)  # one schema in every part: a missing column stops, never null-filled
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def write_profile_part(inputs: pd.DataFrame, parts: str, bucket: int) -> None:
    """The executor's half of the profile inputs (issue 12 on Spark, issue 11: not through the driver): one
    bucket's `models.profile.profile_inputs` (customer_id as a column) written to `profile-<bucket>.parquet` in
    `parts`, the run's directory of profile parts in its staging area (a path the executors and the driver both
    see, as for the contributions); to a temporary name and renamed, so a retried task replaces its part whole."""
    table = pa.Table.from_pandas(inputs, preserve_index=False)
    _write_part(parts, f"profile-{int(bucket):06d}.parquet", lambda path: pq.write_table(table, path))


def gather_profile_parts(parts: Path, writer: Any, buckets: int) -> None:
    """The executors' profile parts (`write_profile_part`) appended in bucket order to the run's
    `pipelines.profile_inputs.ProfileInputsWriter` (the pandas engine's file), one part in memory at a time; the
    parts are removed. Refuses (StructuralError) unless there is one part per bucket with customers (`buckets`):
    parts written where the driver cannot see them must never give a partial file."""
    try:
        files = sorted(Path(parts).glob("profile-*.parquet"))
        if len(files) != buckets:
            raise StructuralError(
                f"the executors wrote the profile inputs of {buckets:,} customer buckets but the driver found "
                f"{len(files):,} in {parts}: the output's directory must be on a file system the driver and the "
                "executors share (as for --rejects)"
            )
        for part in files:
            frame = pq.read_table(part).to_pandas()
            frame["customer_id"] = frame["customer_id"].astype("str")
            writer.add_inputs(frame.set_index("customer_id"))
    finally:
        shutil.rmtree(parts, ignore_errors=True)


def write_spark_output(
    scores: pd.DataFrame, out: Path, spill: ReasonSpill | None = None, reasons_at: int = 0
) -> Path:
    """Write the scores as a Parquet directory (part files + `_SUCCESS`, as Spark writes), atomically.

    The parts carry the same Arrow schema (and pandas metadata) as the pandas engine's single file, so
    `pd.read_parquet(out)` returns an equal frame and `spark.read.parquet(out)` reads it too. Written to a
    temporary directory beside `out`, then renamed into place; an existing `out` is renamed away first and
    deleted only after the new one is in place, so a killed run leaves the old directory or the new one.
    With `spill` (located on `scores`' customer ids) the reason columns come from the executors' parts and are
    placed at column `reasons_at`, a row group at a time (`pipelines.outputs.write_scores_parquet`, the pandas
    engine's writer), never as a whole column in memory.
    """
    from pipelines.io import replace_path
    from pipelines.outputs import write_scores_parquet

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    tmp.mkdir()  # not mkdtemp: its 0700 mode would make the published directory private
    try:
        if spill is None or not spill.columns:
            table = pa.Table.from_pandas(scores, preserve_index=False)
            for i, start in enumerate(range(0, max(len(scores), 1), PART_ROWS)):
                pq.write_table(table.slice(start, PART_ROWS), tmp / f"part-{i:05d}.parquet")
        else:
            for i, start in enumerate(range(0, max(len(scores), 1), PART_ROWS)):
                write_scores_parquet(
                    scores.iloc[start : start + PART_ROWS],
                    tmp / f"part-{i:05d}.parquet",
                    extra=lambda a, b, at=start: spill.columns_for(at + a, at + b),
                    extra_at=reasons_at,
                )
        (tmp / "_SUCCESS").touch()
        replace_path(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out


def write_rejects_spark(
    checked: Mapping[str, SparkDataFrame], reports: Mapping[str, TableReport], target: str
) -> list[str]:
    """`<target>/<table>/` CSV parts (source_row, the row as read, reason) for each table with rejects, written by
    the executors; spreadsheet formulas neutralised as in the pandas engine's rejects."""
    from pyspark.sql import functions as F

    from pipelines.io import neutralise_formulas

    written = []
    for name, frame in checked.items():
        if not reports[name].rejected:
            continue
        raw = [c for c in frame.columns if c.startswith(RAW)]
        # as the pandas rejects: a raw column named `reason` is replaced by the reason, in its place
        cols = [(REASON if c == RAW + "reason" else c, c.removeprefix(RAW)) for c in raw]
        if RAW + "reason" not in raw:
            cols.append((REASON, "reason"))
        rejected = frame.filter(F.col(REASON).isNotNull()).selectExpr(*projection((ROW, "source_row"), *cols))
        names = rejected.columns
        # by position through `mapInPandas`, which reads a dot in a name (`Qty.`) as a struct's field
        rejected = rejected.toDF(*[f"_c{i}" for i in range(len(names))])

        def safe(batches: Iterator[pd.DataFrame], names: list[str] = names) -> Iterator[pd.DataFrame]:
            for batch in batches:
                yield neutralise_formulas(batch.set_axis(names, axis=1)).set_axis(batch.columns, axis=1)

        path = f"{target.rstrip('/')}/{name}"
        # a `"` inside a value written `""` (RFC 4180, as the pandas engine's rejects), not Spark's default `\"`,
        # which CSV readers take for the end of the field: the row's later values shifted or the file unreadable
        checked_rows = rejected.mapInPandas(safe, rejected.schema).toDF(*names)
        writer = checked_rows.write.mode("overwrite").option("header", True)
        writer.option("escape", '"').csv(path)
        written.append(path)
    return written


def publish_rejects_spark(
    checked: Mapping[str, SparkDataFrame],
    reports: Mapping[str, TableReport],
    target: Path | StagedDirectory | None,
) -> list[str]:
    """The rejects as one output set, as the pandas engine's (`pipelines.loading.load_and_report`): the executors
    write their parts into a staging directory beside `target` (on the file system they share with the driver, as
    `target` is), and the driver swaps it in whole (`atomic_directory`, marked `.cvp-rejects`); a `target` staged
    for `cvp score`'s output set is only written (published with the scores: `pipelines.outputs.publish`).
    Returns the table directories written, under the target."""
    from pipelines.output_checks import REJECTS_MARKER
    from pipelines.staging import atomic_directory

    if target is None:
        return []
    if isinstance(target, StagedDirectory):
        written = write_rejects_spark(checked, reports, str(target.stage))
        return [str(target.target / Path(p).name) for p in written]
    with atomic_directory(target, REJECTS_MARKER) as stage:
        written = write_rejects_spark(checked, reports, str(stage))
    return [str(Path(target) / Path(p).name) for p in written]
