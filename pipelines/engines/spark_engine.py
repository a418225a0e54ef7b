"""Batch scoring on Spark (`cvp score --engine spark`): the same features, models and explanations as the pandas
engine, distributed over customer buckets.

Why this shape: the pandas feature functions are the single source of truth, so Spark does not re-implement them;
it runs them per bucket. The buckets are the pandas engine's chunks (`plan_chunks`: customer-id hash, plus the
rows of the customers each one referred; cut by Spark, `pipelines.engines.spark_buckets`), and every bucket gets the same company-wide revenue totals, so a
customer's features are bit-identical to the pandas engine's whatever the cluster layout.

Stages (5 Spark jobs, 4 for a small input; `spark.sql.shuffle.partitions` = number of buckets, the rows grouped
by the bucket's slot (`per_bucket`) so each bucket is one task, except for a small input coalesced to one
partition: `input_partitions`, no shuffle, every bucket in one task):
    1. input      the validated rows Spark holds (`spark_input.SparkTables.accepted`, persisted by the Spark
                  load; pandas tables given without them are shipped once in the same layout), each sent to its
                  bucket(s) by a `mapInPandas` (`spark_buckets.expand_rows`). No payload is built on the driver.
    2. features   `groupBy(bucket).applyInPandas`: the bucket's validated tables (`spark_buckets.bucket_tables`),
                  `build_feature_table(..., company_revenue=totals)`, keep the bucket's own customers. Out: one row
                  per customer: customer_id, bucket, eligible (training rules at as-of, for drift), `HEAD` (the
                  bucket's first row), then the model's feature columns (float64 -> double, categorical ->
                  string: Arrow cannot carry pandas categories through applyInPandas, and the model's contract
                  rebuilds them from strings; BTYD outputs fitted on the driver joined per customer), then the
                  carried features the model does not read (`pipelines.engines.spark_features`). With profile inputs asked for, the executors write the bucket's
                  inputs as a Parquet part into the run's staging area (`spark_parts.write_profile_part`); the
                  driver appends the parts one at a time to the pandas engine's file (`gather_profile_parts`).
                  Persisted by the job (1 and 2: job 1) that brings the `HEAD` rows to the driver (anyone to
                  score? the sample of the scores' schema); stage 3 reads it.
    3. scores     `mapInPandas` (`pipelines.engines.spark_batches`): rebuild dtypes, `score_features`
                  (predictions, exact TreeSHAP, top reasons). The value and churn contributions of the scored customers are written by the executors as Parquet
                  parts into the run's staging area (`write_contribution_parts`), and with a Parquet output
                  their reason columns too, in the pandas engine's spill layout (`write_reason_parts`; the
                  driver adopts them as the run's `ReasonSpill`); the batch's drift counts and unseen categories of its
                  eligible customers' features ride on its first row (`DRIFT`, `batch_counts`: the PSI over all
                  customers equals one pass). Out: one row per customer: customer_id, bucket, eligible, the
                  compact score columns; persisted.
    4. tiers      `spark_tiers.spark_cut_points`: the whole base's tier and rating cut points by an exact
                  distributed pass over (value, customer_id) (jobs 2-4: the range sort's sample, the sorted
                  partitions' sizes, the few rows at the needed ranks), then `mapInPandas` assigns tier, reason,
                  rating and flags on the executors (`spark_tiers.assign_batches`), which write the tiered
                  compact scores as Parquet parts into the run's staging area (`write_score_part`, id-sorted
                  within each) and count the batch's prediction drift (`prediction_counts`); the driver
                  collects only the drift payloads, one row each (job 5: nothing per customer), then reads the
                  parts for the finish (`read_score_parts`), appends the contribution parts, one at a time, to
                  the pandas engine's contributions file (`gather_contributions`) and sums the drift counts.
Then `pipelines.engines.run` finishes the base on the driver (`finish_scores`: statuses, ids, column order; the
tiers come assigned), as for the pandas engine.

Time semantics: those of `build_feature_table` (events strictly before as-of); nothing here reads a clock except
for the timings. The bundle travels to the workers as a broadcast variable, unpickled once per worker process.
"""

from __future__ import annotations

import contextlib
import pickle
import re
import shutil
import time
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from features.errors import for_the_driver
from features.table import company_revenue
from features.validation import StructuralError
from models.bundle import CustomerValueModel
from pipelines.config import AppConfig
from pipelines.engines.chunks import status_input
from pipelines.engines.drift import DriftAccumulator
from pipelines.engines.scoring import (
    ContractMismatch,
    EngineRun,
    merge_counts,
    model_extras,
    scored_customer_ids,
    spot_check_ids,
)
from pipelines.engines.spark_batches import DRIFT, batch_counts, bridge_columns, score_batch, score_schema
from pipelines.engines.spark_features import (
    HEAD,
    bridge_plan,
    build_bucket_features,
    feature_schema,
    planned_features,
)
from pipelines.engines.spark_parts import (
    CONTRIB_PREFIXES,
    adopt_reason_parts,
    check_parts_rows,
    gather_contributions,
    gather_profile_parts,
    read_score_parts,
    write_contribution_parts,
    write_reason_parts,
    write_score_part,
)
from pipelines.engines.spark_session import arrow_safe as _arrow_safe
from pipelines.engines.spark_session import quiet_pandas3, spark_session
from pipelines.outputs import bridge_contributions_path, churn_contributions_path

if TYPE_CHECKING:  # pyspark is an optional extra: imported only when the Spark engine runs
    from pyspark.sql import DataFrame as SparkDataFrame
    from pyspark.sql import SparkSession

#: Input rows per partition of the scoring stage's input (`input_partitions`). Below it the input is one
#: partition, which Spark takes as already grouped: no shuffle, every bucket in one task (worth it for a small
#: input, where a task's round trip to a Python worker costs more than its rows).
ROWS_PER_INPUT_TASK = 100_000


def input_partitions(rows: int, spark: SparkSession) -> int:
    """Partitions for the scoring stage's input of `rows` rows: one per `ROWS_PER_INPUT_TASK` rows, at least one,
    at most one per core (`defaultParallelism`); `coalesce` never adds any, so a smaller input keeps its own."""
    return max(1, min(spark.sparkContext.defaultParallelism, -(-rows // ROWS_PER_INPUT_TASK)))


def gather_bridge(parts: Path, contrib_path: Path, run_id: str | None) -> dict[str, Any]:
    """The executors' bridge parts appended to the bridge files (`outputs.bridge_contributions_path`); the
    manifest's entry as `pandas_engine._Bridge.info` gives it."""
    paths = {kind: bridge_contributions_path(contrib_path, kind) for kind in ("value", "churn")}
    stems = {"value": "bridge", "churn": "bridgechurn"}
    rows = {kind: gather_contributions(parts, paths[kind], run_id, stems[kind], keep=True) for kind in paths}
    return {
        "files": {kind: path.name for kind, path in paths.items()},
        "unit": {"value": "currency", "churn": "probability"},
        "rows": rows,
    }


def prediction_counts(tiered: pd.DataFrame, reference: Mapping[str, Any]) -> bytes:
    """A drift payload (`spark_batches.batch_counts`' layout) of one tiers-stage batch: the PSI bin counts of its
    eligible customers' predictions, counted on the executor (issue 11: the driver sums them, reading no score)."""
    acc = DriftAccumulator(dict(reference))
    eligible = tiered[tiered["eligible"].to_numpy(dtype=bool)]
    if len(eligible):
        acc.add(eligible, "predictions")
    drift = {k: (np.asarray(acc.counts[k], dtype=np.float64).tobytes(), int(acc.n[k])) for k in acc.counts}
    return pickle.dumps({"drift": drift, "unseen": {}})


def _score_parts_dir(contrib_path: Path | None, spill_dir: Path | None) -> Path:
    """A fresh directory for the executors' score parts in the run's staging area (beside the contributions or
    the reason spill: a path the executors and the driver both see, removed with the staging area when a run is
    killed). Never a temporary folder: the executors of a cluster cannot see the driver's, and a killed run
    would leave customer ids and predictions there, outside the staging sweep."""
    if contrib_path is None and spill_dir is None:
        raise ValueError("the Spark score parts need the run's staging area: give contrib_path or spill_dir")
    beside = Path(contrib_path if contrib_path is not None else spill_dir)
    parts = beside.with_name(beside.name + ".scores-parts")
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir(parents=True)
    return parts


def _arrow_schema(spark: SparkSession, ddl: str) -> pa.Schema:
    """The Arrow schema `toArrow` gives a Spark frame of this DDL schema (what the driver read before the parts)."""
    from pyspark.sql.pandas.types import to_arrow_schema

    return to_arrow_schema(spark.createDataFrame([], ddl).schema, timezone="UTC")


# -- the job ---------------------------------------------------------------------------------------------------
_WORKER_ERROR = re.compile(
    r"(ContractMismatch|StructuralError|ExplanationCheckError): (.*?)(?:\n\n|\nJVM |\Z)", re.S
)


def _driver_error(exc: Exception) -> Exception | None:
    """The project error a Spark task raised, rebuilt on the driver (Spark wraps it in its own exception)."""
    found = _WORKER_ERROR.search(str(exc))
    if found is None:
        return None
    kind, message = found.group(1), found.group(2).rstrip()
    return ContractMismatch(message) if kind == "ContractMismatch" else StructuralError(message)


def score_spark(
    tables: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    bundle: CustomerValueModel,
    cfg: AppConfig,
    chunk_customers: int,
    status: pd.DataFrame,
    drift: DriftAccumulator,
    contrib_path: Path | None = None,
    run_id: str | None = None,
    progress: Any = None,
    spark_master: str | None = None,
    profile_inputs: Any = None,
    spill_dir: Path | None = None,
    bridge: Any = None,
    as_trained: Any = None,
    release: Any = None,
) -> EngineRun:
    """The Spark backend of `pipelines.engines.run` (the same contract as `score_pandas`).

    in:  validated tables, as-of, the model bundle, the config, customers per bucket, the run's drift
         accumulator (its reference says which features are measured). `status` and `progress` are the
         pandas backend's: the workers apply the same population rule per bucket (`eligible`), and Spark
         reports no per-chunk progress.
    out: the compact scores of every customer with a feature row (unscored ones blanked by `finish_scores`),
         the drift counts of the eligible customers added to `drift`, and the value contributions
         (customer_id + one column per feature + `_base`, currency) written to `contrib_path` atomically, rows
         in bucket order like the pandas engine, and the churn contributions (probability points) beside them
         (`outputs.churn_contributions_path`). With `profile_inputs` (issue 12,
         `pipelines.profile_inputs.ProfileInputsWriter`) the executors compute each bucket's profile inputs with
         the features and the driver appends them to the writer in bucket order (the pandas engine's file).
         With `spill_dir` (a Parquet output) the executors write the scored customers' reason columns there
         (`write_reason_parts`): the compact scores come without them and `EngineRun.spill` gives them back, as
         the pandas engine's `ReasonSpill` does. `EngineRun.info["driver_collected"]`: what the driver received
         (rows and Arrow megabytes of the collected drift payloads, one per batch, `rows` and `drift_mb`; rows,
         columns and Arrow megabytes of the score parts it read for the finish, `parts_*`; megabytes of the features job's bucket
         heads, one row per bucket: the profile inputs are no longer among them; Arrow megabytes of the
         accepted tables streamed to the driver by a Spark load, `tables_mb`, and the pandas memory of what it kept
         of them, `tables_held_mb`). With `bridge` (the history's
         previous model, `pandas_engine.BridgeModel`) the executors explain the scored customers with it too and
         the driver gathers its value and churn contributions into the bridge files, as the pandas engine does.
         `release()` (`score_base.score_tables`) is called once the driver reads the tables no more, before the
         features are built and the scores collected (issue 11: the tables do not add to the collect's peak).
    """
    timings: dict[str, float] = {}
    # the customers whose explanations are spot-checked: by id, as the pandas engine chooses them
    spot_ids = spot_check_ids(scored_customer_ids(status), cfg.explain.check_rows)
    t0 = time.perf_counter()
    with spark_session(spark_master) as spark, warnings.catch_warnings():
        quiet_pandas3()
        timings["session_s"] = time.perf_counter() - t0
        with mapped_errors():
            return _score_on(
                spark, tables, as_of, bundle, cfg, chunk_customers, drift, contrib_path, timings, run_id,
                profile_inputs, spill_dir, bridge, as_trained, spot_ids, release,
            )  # fmt: skip


@contextlib.contextmanager
def mapped_errors() -> Iterator[None]:
    """A project error raised in a Spark task re-raised on the driver as itself (exit 2, the pandas message)."""
    try:
        yield
    except Exception as exc:
        mapped = _driver_error(exc) if type(exc).__module__.startswith(("pyspark", "py4j")) else None
        if mapped is not None:
            raise mapped from None
        raise


def per_bucket(rows: SparkDataFrame, func: Any, schema: Any, n_chunks: int) -> SparkDataFrame:
    """`func` on each bucket's rows (their `BUCKET` column carried), each bucket a task of its own among the
    `n_chunks` shuffle partitions: grouped by the bucket's slot (`spark_slots.bucket_slots`), not the bucket
    number, whose hash put buckets 0 and 1 of 2 both in one partition (8 buckets in 5): one core ran the whole
    features stage, and the scoring's `mapInPandas` after it, on `local[2]`."""
    from pyspark.sql import functions as F

    from pipelines.engines.spark_buckets import BUCKET
    from pipelines.engines.spark_slots import bucket_slots, slot_of

    return rows.groupBy(slot_of(F.col(BUCKET), bucket_slots(n_chunks))).applyInPandas(func, schema)


def _score_on(
    spark: SparkSession,
    tables: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    bundle: CustomerValueModel,
    cfg: AppConfig,
    chunk_customers: int,
    drift: DriftAccumulator,
    contrib_path: Path | None,
    timings: dict[str, float],
    run_id: str | None = None,
    profile_inputs: Any = None,
    spill_dir: Path | None = None,
    bridge: Any = None,
    as_trained: Any = None,
    spot_ids: pd.Index | None = None,
    release: Any = None,
) -> EngineRun:
    from pyspark import StorageLevel
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegerType, StructField, StructType

    from pipelines.engines.spark_buckets import (
        BUCKET,
        bucket_tables,
        chunk_count,
        expand_rows,
        pandas_union,
        referrer_buckets,
    )
    from pipelines.engines.spark_tiers import TIER_COLUMNS, assign_batches, spark_cut_points

    t0 = time.perf_counter()
    # the validated rows persisted by the Spark load (`SparkTables`, unless its session has ended), else the
    # pandas tables shipped once
    union = getattr(tables, "accepted", None)
    if union is None or union.sparkSession.sparkContext is not spark.sparkContext:
        if getattr(tables, "empty", None) is not None:  # a Spark load's driver tables miss columns (issue 11)
            raise RuntimeError("the Spark load's accepted rows went with its session: score in the same one")
        union = pandas_union(spark, tables)
    # not 0: `run_score` refuses an empty base; the last reader of the statuses' row per customer (`last`: the
    # run's statuses are computed, the driver holds that row no longer)
    n_chunks = chunk_count(status_input(tables, as_of, last=True), chunk_customers)
    # A small input in few partitions: the bucket expansion is one Python task per input partition (a pandas
    # union has one per table and core: 14 tasks on the 800-customer demo, each paying a worker round trip); a
    # large one keeps one per core at most (`ROWS_PER_INPUT_TASK` rows each).
    # the accepted rows of a Spark load's tables (the driver keeps some of them only as distinct ids)
    loaded = getattr(tables, "rows", None) or {name: len(t) for name, t in tables.items()}
    union = union.coalesce(input_partitions(sum(loaded.values()), spark))
    refs = referrer_buckets(tables, n_chunks)
    totals = company_revenue(tables, as_of, cfg.features)
    names, managers = list(tables), tables.get("account_managers")
    # model inputs that are not features (BTYD: fitted on the whole base's orders, the columns the driver keeps),
    # as the pandas engine fits them; the executors join them per bucket
    extras, notes = model_extras(tables, as_of, bundle)
    # the feature columns of every column loaded (a Spark load's driver tables keep only some: `spark_tables`)
    empty = getattr(tables, "empty", None) or tables
    carried, ignored = planned_features(empty, as_of, cfg, totals, bundle, extras, as_trained)
    old, bridge_info = None, None  # issue 15: the history's previous model explains this run's data too
    if bridge is not None and contrib_path is not None:
        old_extras, _ = model_extras(tables, as_of, bridge.bundle)
        present = {*bundle.contract_.names, *carried}
        more, note = bridge_plan(
            empty, as_of, cfg, totals, bridge.bundle, bridge.version, old_extras, present, as_trained,
            bridge.as_data,
        )  # fmt: skip
        bridge_info = {"old_model_version": bridge.version} | ({"note": note} if note else {})
        if note is None:
            carried |= more
            drop = [] if extras is None else list(extras.columns)
            old = spark.sparkContext.broadcast((bridge.bundle, old_extras, drop, bridge.as_data))
    # the driver's tables read for the last time (the account managers kept for the buckets, a few rows): let go
    # before the features job and the collect (issue 11)
    loaded_tables = getattr(tables, "collected", None) or {}
    if release is not None:
        release()
    # One task per bucket; adaptive execution would coalesce the (few, small-looking) buckets into one task.
    spark.conf.set("spark.sql.shuffle.partitions", str(n_chunks))
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    shared = spark.sparkContext.broadcast(bundle)
    shared_extras = None if extras is None else spark.sparkContext.broadcast(extras)
    timings["partition_s"] = time.perf_counter() - t0

    def expand_udf(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        quiet_pandas3()
        with for_the_driver():
            for batch in batches:
                yield _arrow_safe(expand_rows(batch, n_chunks, refs))

    attributes = None if profile_inputs is None else profile_inputs.attributes
    # the profile inputs are written by the executors into the staging area, beside the file they go to
    profile_parts = None
    if profile_inputs is not None:
        staged = Path(profile_inputs.writer.path)
        profile_parts = staged.with_name(staged.name + ".parts")
        shutil.rmtree(profile_parts, ignore_errors=True)
        profile_parts.mkdir(parents=True)
    profile_where = None if profile_parts is None else str(profile_parts)

    def features_udf(rows: pd.DataFrame) -> pd.DataFrame:
        quiet_pandas3()
        k = int(rows[BUCKET].iloc[0])
        with for_the_driver():
            own = bucket_tables(rows, names, managers)
            more = None if shared_extras is None else shared_extras.value
            return build_bucket_features(
                own, k, n_chunks, as_of, cfg, totals, shared.value, attributes, profile_where, carried, more,
                as_trained,
            )  # fmt: skip

    t0 = time.perf_counter()
    rows = union.mapInPandas(
        expand_udf, StructType([*union.schema.fields, StructField(BUCKET, IntegerType())])
    )
    schema = feature_schema(bundle, carried)
    built = per_bucket(rows, features_udf, schema, n_chunks)
    built = built.persist(StorageLevel.MEMORY_AND_DISK)
    # One job builds (and persists) the features and brings each bucket's first row: nobody has features when
    # there is none, they carry the profile inputs, and they are the sample of the scores' schema.
    heads = built.filter(F.col(HEAD)).toPandas().sort_values("bucket", kind="stable")
    union.unpersist()  # the features hold what the stages below read
    timings["features_s"] = time.perf_counter() - t0
    if profile_parts is not None:  # the buckets' inputs, appended in bucket order, one part at a time
        t0 = time.perf_counter()
        gather_profile_parts(profile_parts, profile_inputs, len(heads))
        timings["profile_inputs_s"] = time.perf_counter() - t0
    if not len(heads):  # nobody has a feature row (no event before as-of): `finish_scores` lists them all
        built.unpersist()
        shared.unpersist()
        if shared_extras is not None:
            shared_extras.unpersist()
        return EngineRun(pd.DataFrame(index=pd.Index([], dtype="str", name="customer_id")), timings, 0)
    feats = built.drop(HEAD)
    # what the driver receives from Spark: the features job's one row per bucket (no profile inputs: written by
    # the executors, issue 11), then the compact scores
    collected: dict[str, Any] = {"heads_mb": round(float(heads.memory_usage(deep=True).sum()) / 2**20, 3)}
    collected |= loaded_tables  # the Spark load's tables, streamed (`spark_tables`)

    t0 = time.perf_counter()
    spilled = spill_dir is not None
    schema, has_contrib, reasons = score_schema(
        bundle, cfg, heads.drop(columns=[HEAD]).reset_index(drop=True), spill=spilled
    )
    schema += f", `{DRIFT}` binary"

    # the contributions are written by the executors into the staging area; only compact columns come back
    contrib_parts = (
        None if contrib_path is None else Path(contrib_path).with_name(Path(contrib_path).name + ".parts")
    )
    if contrib_parts is not None:
        shutil.rmtree(contrib_parts, ignore_errors=True)
        contrib_parts.mkdir(parents=True)
    where = None if contrib_parts is None else str(contrib_parts)
    if spilled:  # the reason columns are written by the executors too (`write_reason_parts`)
        shutil.rmtree(spill_dir, ignore_errors=True)
        Path(spill_dir).mkdir(parents=True)
    spill_where = str(spill_dir) if spilled else None

    reference = drift.reference

    def scores_udf(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pyspark import TaskContext

        quiet_pandas3()
        partition = TaskContext.get().partitionId()
        for seq, batch in enumerate(batches):
            out = score_batch(batch, shared.value, cfg, spot_ids)
            if old is not None:
                out = pd.concat([out, bridge_columns(batch, shared.value, *old.value, cfg)], axis=1)
            if where is None:
                out = out[[c for c in out.columns if not c.startswith(CONTRIB_PREFIXES)]]
            else:
                out = write_contribution_parts(out, where, partition, seq)
            if spill_where is not None:
                out = write_reason_parts(out, spill_where, partition, seq)
            yield out.assign(**{DRIFT: batch_counts(batch, shared.value, reference)})

    tier_cfg, horizon, outputs = cfg.tiers, bundle.horizon_days, tuple(bundle.output_columns)
    # issue 11: the tiered compact scores are written by the executors as parts; the driver collects one row per
    # drift payload (the batches' features and predictions), never a row per customer
    score_parts = _score_parts_dir(contrib_path, spill_dir)
    scores_where = str(score_parts)

    def tiers_udf(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pyspark import TaskContext

        quiet_pandas3()
        partition = TaskContext.get().partitionId()
        for seq, out in enumerate(assign_batches(batches, tier_cfg, horizon, cuts, outputs)):
            rows = write_score_part(out.drop(columns=[DRIFT]), scores_where, partition, seq, part_schema)
            payloads = [*out[DRIFT].dropna(), prediction_counts(out, reference)]
            yield pd.DataFrame({DRIFT: payloads, "rows": [rows] + [0] * (len(payloads) - 1)})

    scores_df = None
    try:
        # persisted: the tiers' distributed pass and the assignment below read the scores computed once
        scores_df = feats.mapInPandas(scores_udf, schema).persist(StorageLevel.MEMORY_AND_DISK)
        t1 = time.perf_counter()
        timings["score_explain_s"] = t1 - t0
        # tiers and ratings: the whole base's cut points by Spark (exact), assigned on the executors
        cuts = spark_cut_points(scores_df, tier_cfg.value_column.format(h=horizon), tier_cfg)
        tier_schema = schema + ", " + ", ".join(f"`{c}` string" for c in TIER_COLUMNS)
        part_schema = _arrow_schema(spark, tier_schema.replace(f", `{DRIFT}` binary", ""))
        payloads = scores_df.mapInPandas(tiers_udf, f"`{DRIFT}` binary, `rows` long").toArrow()
        timings["tiers_spark_s"] = time.perf_counter() - t1
    except BaseException:
        for parts in (contrib_parts, score_parts):
            if parts is not None:
                shutil.rmtree(parts, ignore_errors=True)
        raise
    finally:
        if scores_df is not None:
            scores_df.unpersist()

    t0 = time.perf_counter()
    # what the driver received from Spark: the drift payloads, one row each (`rows`, `drift_mb`); then what it
    # read of the executors' score parts for the whole-base finish (`parts_*`)
    collected |= {"rows": payloads.num_rows, "drift_mb": round(payloads.nbytes / 2**20, 3)}
    written = int(pa.compute.sum(payloads["rows"]).as_py() or 0)
    scored = read_score_parts(score_parts, written, dictionary=("tier", "tier_reason", "rating"))
    collected |= {
        "parts_rows": scored.num_rows, "parts_columns": scored.num_columns,
        "parts_mb": round(scored.nbytes / 2**20, 3),
    }  # fmt: skip
    # the features' and predictions' drift counts and unseen categories, one payload per batch, summed here
    unseen: dict[str, dict[str, int]] = {}
    for payload in payloads[DRIFT].to_pylist():
        counts = pickle.loads(payload)
        for key, (bins, n) in counts["drift"].items():
            drift.merge(key, np.frombuffer(bins, dtype=np.float64), n)
        merge_counts(unseen, counts["unseen"])
    built.unpersist()
    shared.unpersist()
    if shared_extras is not None:
        shared_extras.unpersist()
    # issue 11: the tier, its reason (one of a few sentences per customer, about 56 bytes of text each) and the
    # rating read as dictionaries (about 75 bytes per customer less); the finish writes them as text
    # (`finish_scores`), the same values. Not sorted here: the finish sorts the base by id (one copy)
    n_scored = int(pa.compute.sum(scored["eligible"]).as_py() or 0)
    churn_rows = 0
    if contrib_parts is not None:  # contributions of `scored` customers only, in bucket order
        # churn (probability points, issue 15) beside the value contributions, as the pandas engine writes them
        churn_path = churn_contributions_path(Path(contrib_path))
        churn_rows = gather_contributions(contrib_parts, churn_path, run_id, stem="churn", keep=True)
        if old is not None:  # the bridge's files, as `pandas_engine._Bridge` writes them
            bridge_info = bridge_info | gather_bridge(contrib_parts, Path(contrib_path), run_id)
            old.unpersist()
        written = gather_contributions(contrib_parts, Path(contrib_path), run_id)
        for found, expected in ((written, n_scored if has_contrib else 0), (churn_rows, n_scored)):
            check_parts_rows("contributions", found, expected, contrib_parts)
    spill = adopt_reason_parts(Path(spill_dir), reasons, n_scored) if spilled else None
    # a writable pandas copy (the finish blanks the unscored rows in place; `self_destruct` / `split_blocks` gave
    # read-only views of the Arrow buffers: tried, not kept); the parts' table let go once converted
    compact = scored.to_pandas()
    del scored
    compact = compact.set_index(pd.Index(compact["customer_id"].astype("str"), name="customer_id"))
    compact.pop("eligible")  # the predictions' drift: counted by the executors (`prediction_counts`)
    checked = int(compact.pop("spot_checked").sum())
    compact = compact.drop(columns=["customer_id", "bucket"])
    timings["drift_collect_s"] = time.perf_counter() - t0
    # the built features the model does not read, as the pandas engine reports them (once anyone is scored)
    info = {
        "notes": notes,
        "unseen_categories": {c: dict(sorted(v.items())) for c, v in sorted(unseen.items())},
        "ignored_columns": sorted(ignored) if n_scored else [],
    }
    if churn_rows:  # declared in the manifest as by the pandas engine (issue 15)
        info["churn_contributions"] = {"file": churn_path.name, "unit": "probability", "rows": churn_rows}
    if bridge_info is not None:
        info["bridge"] = bridge_info
    info["driver_collected"] = collected
    # a list of one frame, which `finish_scores` empties as it sorts it: one copy of the scores alive in the
    # finish, not this one held beside it (issue 11)
    return EngineRun([compact], timings, checked, info, spill)
