"""The reason columns spilled chunk by chunk (issue 14) come back into the scores file exactly as the whole frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from models.reason_text import with_reason_sentences
from pipelines.engines.spill import ReasonSpill, reason_columns
from pipelines.outputs import write_scores_parquet
from tests.pipelines.score_helpers import score_trained


def _frame(n: int, seed: int) -> pd.DataFrame:
    """A scores-like frame sorted by customer_id: numbers, a text column, reasons for about 70% of the rows."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{i:05d}" for i in rng.permutation(n)], dtype=object)
    scored = rng.random(n) < 0.7
    frame = pd.DataFrame({"customer_id": ids, "pred_value_365d": rng.normal(size=n)})
    for col in ("value_reason_1", "value_reason_feature_1", "churn_reason_1"):
        text = np.array(
            [f"{col} of {i}: {v:,.2f} EUR" for i, v in zip(ids, rng.normal(size=n), strict=True)],
            dtype=object,
        )
        frame[col] = np.where(scored, text, np.nan)
    # a stored reason's number (issue 14): spilled as float64, NaN where a customer has no reason
    frame.insert(4, "value_reason_effect_1", np.where(scored, rng.normal(size=n), np.nan))
    frame["tier"] = np.where(scored, "great", None)
    return frame.sort_values("customer_id", ignore_index=True)


def test_reasons_spilled_in_hashed_chunks_write_the_same_file_as_the_whole_frame(tmp_path):
    whole = _frame(2_000, seed=3)
    reasons = reason_columns(whole.columns)
    assert reasons == ["value_reason_1", "value_reason_feature_1", "value_reason_effect_1", "churn_reason_1"]
    spill = ReasonSpill(tmp_path / "spill")
    scored = whole[whole["value_reason_1"].notna()].set_index("customer_id")
    chunk_of = scored.index.map(lambda c: hash(c) % 7)  # chunks are not ranges of ids, as in a run
    for k in range(7):
        spill.add(scored.loc[chunk_of == k, reasons].sample(frac=1.0, random_state=k))  # any row order
    assert spill.rows == len(scored)
    light = whole.drop(columns=reasons)
    spill.locate(light["customer_id"])
    at = light.columns.get_loc("pred_value_365d") + 1

    # row groups that cut across the spill's own row groups and chunks
    write_scores_parquet(
        light, tmp_path / "spilled.parquet", rows_per_group=333, extra=spill.columns_for, extra_at=at
    )
    write_scores_parquet(whole, tmp_path / "whole.parquet", rows_per_group=333)
    a, b = pq.read_table(tmp_path / "spilled.parquet"), pq.read_table(tmp_path / "whole.parquet")
    assert a.schema.equals(b.schema, check_metadata=True)
    assert a.equals(b)
    assert pq.ParquetFile(tmp_path / "spilled.parquet").metadata.num_row_groups == 7


def test_a_scoring_run_keeps_no_reason_sentences_nor_finished_chunks_in_memory(
    trained, default_scores, tmp_path, monkeypatch
):
    """Issue 14: memory beyond the input tables flat in the base. The reason columns never stay in memory; while a
    chunk is scored, every finished chunk's compact scores are on disk (`ScoreParts`, not frames) and the plan no
    longer holds the finished chunks' row positions; the output is the default (one-chunk) run's."""
    import pipelines.engines.chunks as chunks
    import pipelines.engines.pandas_engine as engine

    plans: list = []
    plan = chunks.plan_chunks

    def planning(*args, **kwargs):
        plans.append(plan(*args, **kwargs))
        return plans[-1]

    seen: list[tuple[int, int]] = []  # (compact parts on disk, chunks whose row positions are still held)
    score = engine.score_features

    def scoring(features, *args, **kwargs):
        held = sum(1 for k in range(plans[0].n_chunks) if len(plans[0].rows["orders"][k]))
        seen.append((len(list(tmp_path.rglob("scores-*.parquet"))), held))
        return score(features, *args, **kwargs)

    monkeypatch.setattr(chunks, "plan_chunks", planning)
    monkeypatch.setattr(engine, "score_features", scoring)
    run = score_trained(trained, tmp_path / "s.parquet", chunk_customers=150)
    n_chunks = plans[0].n_chunks
    assert n_chunks > 3 and len(seen) >= n_chunks - 1
    # the last chunk scored: every earlier chunk's scores (scored and unscored rows) are parts on disk
    assert seen[-1][0] >= n_chunks - 1
    assert all(held <= n_chunks - k for k, (_, held) in enumerate(seen))  # positions freed as it goes
    assert seen[-1][1] == 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "s.parquet"), pd.read_parquet(default_scores.out)
    )

    kept = run._scores  # the frame the run held while finishing the base and writing
    assert not reason_columns(kept.columns)
    full = run.scores  # read back from the published file, the stored reasons worded (issue 14)
    written = with_reason_sentences(
        pd.read_parquet(tmp_path / "s.parquet"), run.manifest["reasons"]["currency"]
    )
    assert list(full.columns) == list(written.columns)
    assert reason_columns(full.columns) and full["value_reason_1"].notna().any()
    pd.testing.assert_frame_equal(full, written, check_dtype=False)


def test_the_spark_executors_write_the_stored_reasons_as_the_pandas_spill_does(tmp_path):
    """Issue 14: both engines write the stored reasons with one writer (`spill.write_reason_file`): numbers stay
    float64 (NaN kept), text stays text, so the scores file is the same whichever engine wrote it."""
    from pipelines.engines.spark_parts import adopt_reason_parts, write_reason_parts

    whole = _frame(600, seed=5)
    reasons = reason_columns(whole.columns)
    scored = whole[whole["value_reason_1"].notna()].reset_index(drop=True)
    batch = scored.assign(bucket=np.int32(0), eligible=True)
    spark_dir, pandas_dir = tmp_path / "spark", tmp_path / "pandas"
    spark_dir.mkdir()
    write_reason_parts(batch, str(spark_dir), 0, 0)
    from_spark = adopt_reason_parts(spark_dir, reasons, expected=len(scored))
    from_pandas = ReasonSpill(pandas_dir)
    from_pandas.add(scored.set_index("customer_id")[reasons])
    tables = []
    for spill in (from_spark, from_pandas):
        spill.locate(whole["customer_id"])
        tables.append(spill.columns_for(0, len(whole)))
    assert tables[0].equals(tables[1])
    assert tables[0].schema.field("value_reason_effect_1").type == "double"


def test_the_spark_executors_write_the_tiered_scores_as_parts_the_driver_reads_without_a_collect(tmp_path):
    """Issue 11: the tiers stage's batches are written by the executors as id-sorted Parquet parts with the
    stage's Arrow schema (was: collected to the driver with `toArrow`, a row per customer through the driver's
    JVM); the driver reads them in part order, the tier sentences as dictionaries, and refuses parts it cannot
    see all of (never a partial scores file)."""
    import pyarrow as pa
    import pytest

    from features.validation import StructuralError
    from pipelines.engines.spark_parts import read_score_parts, write_score_part

    schema = pa.schema(
        [
            ("customer_id", pa.string()),
            ("bucket", pa.int32()),
            ("eligible", pa.bool_()),
            ("pred_value_365d", pa.float64()),
            ("tier", pa.string()),
        ]
    )
    batches = [
        pd.DataFrame(
            {
                "customer_id": ["C3", "C1", "C2"],
                "bucket": np.array([1, 0, 1], dtype=np.int32),
                "eligible": [True, False, True],
                "pred_value_365d": [3.5, np.nan, 2.0],
                "tier": ["great", None, "good"],
            }
        ),
        pd.DataFrame(
            {
                "customer_id": ["C9", "C5"],
                "bucket": np.array([0, 0], dtype=np.int32),
                "eligible": [True, True],
                "pred_value_365d": [1.0, 0.5],
                "tier": ["good", "good"],
            }
        ),
    ]
    parts = tmp_path / "scores-parts"
    parts.mkdir()
    written = [write_score_part(b, str(parts), partition, 0, schema) for partition, b in enumerate(batches)]
    assert written == [3, 2]
    table = read_score_parts(parts, expected=5, dictionary=("tier",))
    assert not parts.exists()  # the parts are the driver's to remove once read
    assert table["customer_id"].to_pylist() == ["C1", "C2", "C3", "C5", "C9"]  # id-sorted within each part
    assert table["tier"].to_pylist() == [None, "good", "great", "good", "good"]
    assert pa.types.is_dictionary(table.schema.field("tier").type)
    assert table.schema.field("bucket").type == pa.int32() and table.schema.metadata is None
    parts.mkdir()
    write_score_part(batches[0], str(parts), 0, 0, schema)  # the other executor's part not seen by the driver
    with pytest.raises(StructuralError, match="scores of 5 customers but the driver found 3"):
        read_score_parts(parts, expected=5)


def test_a_missing_part_stops_naming_the_outputs_folder(tmp_path):
    """The executors' parts (scores, reasons, contributions) are checked by one rule (`check_parts_rows`): a part
    the driver cannot see stops the run, and the message names the output's folder, not the run's staging
    directory (hidden, and removed by the run before anyone reads the message)."""
    import pyarrow as pa
    import pytest

    from features.validation import StructuralError
    from pipelines.engines.spark_parts import check_parts_rows, read_score_parts, write_score_part

    out = tmp_path / "out"
    parts = out / ".scores.parquet.r1.host-1.0123abcd.run" / "scores.parquet.scores-parts"
    parts.mkdir(parents=True)
    schema = pa.schema([("customer_id", pa.string()), ("tier", pa.string())])
    write_score_part(
        pd.DataFrame({"customer_id": ["C2", "C1"], "tier": ["a", "b"]}), str(parts), 0, 0, schema
    )
    with pytest.raises(StructuralError) as stopped:  # the other executor's part is not there
        read_score_parts(parts, expected=3)
    message = str(stopped.value)
    assert f"found 2 in the output's folder {out}:" in message and ".run" not in message
    check_parts_rows("contributions", 4, 4, parts)  # all found: nothing to say
    with pytest.raises(StructuralError, match="contributions of 4 customers but the driver found 3"):
        check_parts_rows("contributions", 3, 4, parts)
