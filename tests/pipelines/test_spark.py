"""The Spark engine of the scoring job: its errors, output writer and executors' parts. Its output set against the
pandas engine's (same rows, values, tiers, reasons, contributions, profile inputs, drift) is read from the one
`cvp score --engine spark` run on a real standalone cluster, `tests/pipelines/test_spark_cluster.py`.

One local[2] session serves every in-process Spark test (the `spark` fixture of conftest.py). Without pyspark or Java these tests FAIL (the Spark
engine is a product feature, not an optional nicety); set CVP_SKIP_SPARK=1 to skip them on a machine without a JDK.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from features.validation import StructuralError
from pipelines.engines.scoring import ContractMismatch
from pipelines.engines.spark_engine import _driver_error
from pipelines.engines.spark_parts import (
    CONTRIB_PREFIX,
    gather_contributions,
    write_contribution_parts,
    write_spark_output,
)


@pytest.mark.spark
def test_spark_contract_mismatch_is_the_pandas_error(trained, spark, tmp_path, monkeypatch):
    """A feature contract error of a Spark run reaches the caller as the pandas engine's error, found on the driver
    before Spark runs anything (the driver's input record check is bypassed, as for a model saved before models
    recorded their input columns). The tables come from the pandas loader: the Spark load (its own 2 jobs, the
    most of this test's time before, 34 s quiet) is tested by tests/pipelines/test_spark_input.py and, inside
    `run_score`, by the standalone-cluster test; the mismatch is judged from the tables, whichever loader gave
    them."""
    monkeypatch.setattr("pipelines.engines.run.check_model_inputs", lambda *args: [])
    from pipelines.engines.run import run_score
    from pipelines.engines.spark_session import spark_jobs
    from pipelines.loading import load_and_report

    def pandas_load(data, cfg, console, master, rejects, tables=None):
        return load_and_report(data, None, cfg, console, rejects)

    monkeypatch.setattr("pipelines.engines.spark_input.load_and_report_spark", pandas_load)
    data = tmp_path / "data"
    data.mkdir()
    for p in trained.data.glob("*.parquet"):
        if p.stem != "tickets":  # no tickets: the service-effort features the model needs are missing
            (data / p.name).write_bytes(p.read_bytes())
    before = spark_jobs(spark)
    with pytest.raises(ContractMismatch, match="feature contract") as exc:
        run_score(
            data, "2025-01-01", tmp_path / "s.parquet", None, "spark", None, None, trained.config,
            Console(file=io.StringIO()), "local[2]",
        )  # fmt: skip
    assert "service_effort_hours_90d" in str(exc.value) and "Traceback" not in str(exc.value)
    # found on the driver from the tables' empty slices before the executors build features: no Spark job at all
    assert spark_jobs(spark) - before == 0
    assert not (tmp_path / "s.parquet").exists() and not (tmp_path / "s.contributions.parquet").exists()


@pytest.mark.spark
def test_the_features_stage_runs_each_bucket_as_a_task_of_its_own(spark):
    """The features stage (`spark_engine.per_bucket`, and the scoring's `mapInPandas` that inherits its partitions)
    gives each bucket its own shuffle partition among the bucket count's: grouped by the bucket number itself,
    Spark's hash put buckets 0 and 1 of 2 both in partition 1 (8 buckets in 5), one core of `local[2]` running the
    whole stage. The UDF still reads the bucket number."""
    from pipelines.engines.spark_buckets import BUCKET
    from pipelines.engines.spark_engine import per_bucket

    def tag(rows: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({BUCKET: [int(rows[BUCKET].iloc[0])], "n": [len(rows)]})

    conf = {
        key: spark.conf.get(key) for key in ("spark.sql.shuffle.partitions", "spark.sql.adaptive.enabled")
    }
    try:
        spark.conf.set("spark.sql.adaptive.enabled", "false")
        for n in (2, 8):
            spark.conf.set("spark.sql.shuffle.partitions", str(n))
            rows = spark.createDataFrame(pd.DataFrame({BUCKET: np.repeat(np.arange(n, dtype="int32"), 3)}))
            built = per_bucket(rows, tag, f"`{BUCKET}` int, n long", n)
            held = built.rdd.glom().map(lambda part: sorted((r[0], r[1]) for r in part)).collect()
            assert len(held) == n and all(len(part) == 1 for part in held), (n, held)
            assert sorted(part[0] for part in held) == [(b, 3) for b in range(n)]
    finally:
        for key, value in conf.items():
            spark.conf.set(key, value)


def test_worker_errors_are_rebuilt_on_the_driver():
    wrapped = (
        "An exception was thrown from the Python worker. Please see the stack trace below.\n"
        'Traceback (most recent call last):\n  File "x.py", line 1, in f\n'
        "pipelines.engines.scoring.ContractMismatch: the features do not match:\n  - missing feature columns: ['a']\n\n"
        "JVM stacktrace: ..."
    )
    err = _driver_error(RuntimeError(wrapped))
    assert isinstance(err, ContractMismatch)
    assert str(err) == "the features do not match:\n  - missing feature columns: ['a']"
    other = _driver_error(RuntimeError("features.validation.StructuralError: no orders\n"))
    assert type(other) is StructuralError and str(other) == "no orders"
    assert _driver_error(RuntimeError("java.lang.OutOfMemoryError: heap")) is None


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": pd.array([f"C{i:03d}" for i in range(n)], dtype="str"),
            "as_of": pd.Timestamp("2025-01-01"),
            "pred_value_365d": np.arange(n, dtype=np.float64) * 1.5,
            "tier": pd.array(["great", None, "problem"][:n], dtype="str"),
        }
    )


def test_write_spark_output_round_trips_and_replaces_atomically(tmp_path, monkeypatch):
    out = tmp_path / "scores"
    write_spark_output(_frame(3), out)
    assert (out / "_SUCCESS").exists() and [p.name for p in out.glob("part-*")] == ["part-00000.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(out), _frame(3))
    # a previous result (directory or file) is replaced as a whole; nothing temporary stays behind
    (out / "part-00009.parquet").write_bytes(b"stale")
    monkeypatch.setattr("pipelines.engines.spark_parts.PART_ROWS", 1)
    write_spark_output(_frame(2), out)
    assert sorted(p.name for p in out.iterdir()) == ["_SUCCESS", "part-00000.parquet", "part-00001.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(out), _frame(2))
    assert [p.name for p in tmp_path.iterdir()] == ["scores"]
    single = tmp_path / "old_file"
    single.write_bytes(b"x")
    write_spark_output(_frame(1), single)
    assert single.is_dir() and len(pd.read_parquet(single)) == 1


def test_write_spark_output_failure_keeps_the_old_result(tmp_path, monkeypatch):
    out = tmp_path / "scores"
    write_spark_output(_frame(3), out)
    before = sorted((p.name, p.read_bytes()) for p in out.iterdir())

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("pipelines.engines.spark_parts.pq.write_table", boom)
    with pytest.raises(OSError, match="disk full"):
        write_spark_output(_frame(1), out)
    assert sorted((p.name, p.read_bytes()) for p in out.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["scores"]


def test_contributions_are_written_by_the_executors_and_gathered_in_bucket_order(tmp_path):
    """Issue 11: the scores stage writes the scored customers' contributions as parts (per bucket, from the
    executors) and returns only the compact columns; the driver appends the parts one at a time to the pandas
    engine's file (`ContributionsWriter`), in bucket order, and removes them."""
    from pipelines.outputs import ContributionsWriter

    def batch(bucket: list[int], ids: list[str], eligible: list[bool]) -> pd.DataFrame:
        n = len(ids)
        return pd.DataFrame(
            {
                "customer_id": ids,
                "bucket": np.array(bucket, dtype=np.int32),
                "eligible": eligible,
                "pred_value_365d": np.arange(n, dtype=np.float64),
                f"{CONTRIB_PREFIX}recency": np.arange(n) * 0.5,
                f"{CONTRIB_PREFIX}_base": np.full(n, 10.0),
            }
        )

    parts = tmp_path / "c.parquet.parts"
    parts.mkdir()
    # partition 1 holds bucket 2 and the start of bucket 0 (batch 0), the rest of bucket 0 (batch 1);
    # partition 0 holds bucket 1
    out = write_contribution_parts(
        batch([2, 2, 0], ["C5", "C7", "C1"], [True, False, True]), str(parts), 1, 0
    )
    assert list(out.columns) == ["customer_id", "bucket", "eligible", "pred_value_365d"]  # nothing else back
    write_contribution_parts(batch([0], ["C3"], [True]), str(parts), 1, 1)
    write_contribution_parts(batch([1, 1], ["C2", "C4"], [True, True]), str(parts), 0, 0)
    assert not list(parts.glob(".*"))  # no temporary part left
    rows = gather_contributions(parts, tmp_path / "c.parquet", "r1")
    assert rows == 5 and not parts.exists()
    got = pd.read_parquet(tmp_path / "c.parquet")
    assert got["customer_id"].tolist() == ["C1", "C3", "C2", "C4", "C5"]  # bucket order; C7 was not scored
    expected = ContributionsWriter(tmp_path / "e.parquet", "r1")
    expected.add(
        pd.DataFrame(
            {"recency": [1.0, 0.0, 0.0, 0.5, 0.0], "_base": 10.0},
            index=pd.Index(["C1", "C3", "C2", "C4", "C5"], dtype="str", name="customer_id"),
        )
    )
    expected.close()
    pd.testing.assert_frame_equal(got, pd.read_parquet(tmp_path / "e.parquet"), check_exact=True)


def test_reason_parts_written_by_the_executors_are_the_runs_spill(tmp_path):
    """Issue 11: the scores stage writes the scored customers' reason columns as parts in the pandas engine's spill
    layout (per bucket, sorted by customer id) and returns the batch without them; the driver adopts the parts as
    a `ReasonSpill` that gives back each row's reasons in the finished scores' order (empty for the unscored),
    and refuses parts that do not hold every scored customer (written where the driver cannot see them)."""
    from pipelines.engines.spark_parts import adopt_reason_parts, write_reason_parts

    def batch(bucket: list[int], ids: list[str], eligible: list[bool]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "customer_id": ids,
                "bucket": np.array(bucket, dtype=np.int32),
                "eligible": eligible,
                "pred_value_365d": np.arange(len(ids), dtype=np.float64),
                "value_reason_1": [f"v {i}" for i in ids],
                "value_reason_feature_1": [None if i == "C1" else f"f {i}" for i in ids],
            }
        )

    spill = tmp_path / "reasons"
    spill.mkdir()
    out = write_reason_parts(batch([2, 2, 0], ["C7", "C5", "C1"], [True, False, True]), str(spill), 1, 0)
    assert list(out.columns) == ["customer_id", "bucket", "eligible", "pred_value_365d"]  # nothing else back
    write_reason_parts(batch([0], ["C3"], [True]), str(spill), 1, 1)
    write_reason_parts(batch([1, 1], ["C4", "C2"], [True, True]), str(spill), 0, 0)
    assert not list(spill.glob(".*"))  # no temporary part left
    columns = ["value_reason_1", "value_reason_feature_1"]
    got = adopt_reason_parts(spill, columns, expected=5)
    assert got.columns == columns and got.rows == 5
    ids = pd.Series(["C1", "C2", "C3", "C4", "C5", "C7"], dtype="str")  # the finished scores' order
    got.locate(ids)
    table = got.columns_for(0, 6).to_pydict()
    assert table["value_reason_1"] == ["v C1", "v C2", "v C3", "v C4", None, "v C7"]
    assert table["value_reason_feature_1"] == [None, "f C2", "f C3", "f C4", None, "f C7"]
    assert got.columns_for(3, 5).column("value_reason_1").to_pylist() == ["v C4", None]
    with pytest.raises(StructuralError, match="found 5 in"):
        adopt_reason_parts(spill, columns, expected=6)


def test_profile_inputs_written_by_the_executors_are_gathered_in_bucket_order(tmp_path, monkeypatch):
    """Issue 11: the features stage writes each bucket's profile inputs as a Parquet part (no payload in the rows
    the driver collects); the driver appends the parts in bucket order, one at a time, to the run's
    `ProfileInputsWriter` (the pandas engine's file: same rows, types and values), removes them, and refuses
    parts missing for a bucket (written where the driver cannot see them)."""
    from pipelines.config import load_config
    from pipelines.engines.spark_parts import gather_profile_parts, write_profile_part
    from pipelines.profile_inputs import ProfileInputsWriter, read_profile_inputs

    settings = load_config(None).features

    def inputs(ids: list[str]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "customer_id": ids,
                "customer:segment": pd.Categorical([f"s{len(i)}" for i in ids]),
                "customer:acquisition_cost": [1.5 * len(i) if i != "C10" else np.nan for i in ids],
                "profit_net_lifetime": np.arange(len(ids), dtype=np.float64),
            }
        )

    parts = tmp_path / "profile.parquet.parts"
    parts.mkdir()
    for bucket, ids in ((10, ["C10", "C3"]), (2, ["C1"]), (0, ["C2", "C4"])):  # tasks finish in any order
        write_profile_part(inputs(ids), str(parts), bucket)
    assert not list(parts.glob(".*"))  # no temporary part left
    # the driver never builds its own row per customer of the customers' inputs (the executors did, issue 11)
    import models.profile

    def never(*args: object) -> None:
        raise AssertionError("the Spark driver built the customer inputs of every customer")

    monkeypatch.setattr(models.profile, "customer_inputs", never)
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "segment": ["a", "b"]})
    writer = ProfileInputsWriter(
        tmp_path / "profile.parquet", "run-1", {"customers": customers}, ("segment",), settings
    )
    gather_profile_parts(parts, writer, buckets=3)
    import gc
    import weakref

    held = weakref.ref(customers)
    del customers
    writer.close()  # `run_score` closes it before the write: the customers let go (was: held through the write)
    gc.collect()
    assert held() is None
    assert not parts.exists()
    got = read_profile_inputs(tmp_path / "profile.parquet", "run-1")
    assert got.index.tolist() == ["C2", "C4", "C1", "C10", "C3"]  # bucket 0, 2, 10: the pandas engine's order
    expected = pd.concat([inputs(["C2", "C4"]), inputs(["C1"]), inputs(["C10", "C3"])], ignore_index=True)
    for column in expected.columns.drop("customer_id"):
        assert got[column].astype(str).tolist() == expected[column].astype(str).tolist(), column
    parts.mkdir()
    write_profile_part(inputs(["C1"]), str(parts), 0)
    with pytest.raises(StructuralError, match="profile inputs of 2 customer buckets but the driver found 1"):
        gather_profile_parts(
            parts, ProfileInputsWriter(tmp_path / "p2.parquet", "run-2", {}, (), settings), 2
        )
    assert not parts.exists()  # the parts go with the failed run's staging area


def test_the_spark_drivers_columns_give_its_whole_base_steps_the_pandas_results(trained):
    """Issue 11: the Spark driver keeps of the event tables only the columns `run_score`'s whole-base steps read
    (`spark_driver_view.driver_columns`); on the demo those steps give the same results from them as from the tables
    the pandas engine holds (personal columns and unread keys dropped), so a step that starts reading another
    column fails here, not silently on Spark."""
    from features.population import customer_status
    from features.seasonal import seasonal_history_note
    from features.table import company_revenue
    from pipelines.config import load_config
    from pipelines.engines.chunks import n_chunks_for
    from pipelines.engines.scoring import drop_unread_columns
    from pipelines.engines.spark_buckets import chunk_count, referrer_buckets
    from pipelines.engines.spark_driver_view import driver_view
    from pipelines.io import load_data
    from pipelines.loading import last_order

    cfg = load_config(trained.config)
    full = load_data(trained.data, timezone=cfg.data.timezone).tables
    drop_unread_columns(full)
    kept = {name: driver_view(name, t) for name, t in full.items()}
    assert {"cost", "discount", "quantity", "channel"} & set(full["orders"]) and not {
        "cost",
        "channel",
    } & set(kept["orders"])
    assert sum(t.shape[1] for t in kept.values()) < sum(t.shape[1] for t in full.values()) - 6
    # issue 11: nor the orders' ids (the early-life features order ties by the canonical row order); of the
    # returns, tickets and invoices only the distinct customer ids (their typical amount is measured as they
    # stream, `SparkTables.amount_scale`; their later and latest events found by Spark, `SparkTables.later_events`)
    assert "order_id" in full["orders"] and "order_id" not in kept["orders"]
    for name in ("returns", "tickets", "invoices"):
        assert list(kept[name].columns) == ["customer_id"] and len(kept[name]) < len(full[name])
    assert (
        "amount" in full["invoices"] and "amount" not in kept["invoices"] and "amount" not in kept["returns"]
    )
    # nor the early-life inputs (orders' promo, tickets' effort): fetched from Spark for the customers in their
    # first weeks alone (`SparkTables.early_life_tables`, tested in test_spark_input.py)
    assert {"promo"} <= set(full["orders"]) and not {"promo"} & set(kept["orders"])
    assert "effort_minutes" in full["tickets"] and "opened_at" in full["tickets"]
    as_of = pd.Timestamp("2025-01-01")
    # nor the orders' customer ids: the statuses and the chunk count read a row per customer with their last order
    # before the as-of instead (`SparkTables.status_tables`, found by Spark; here its pandas equal)
    assert list(kept["orders"]) == ["ordered_at", "revenue"]
    o = full["orders"]
    last = o["ordered_at"].where(o["ordered_at"] < as_of).groupby(o["customer_id"]).max()
    by_customer = {**kept, "orders": pd.DataFrame({"customer_id": last.index, "ordered_at": last.to_numpy()})}
    assert len(by_customer["orders"]) < len(o) / 3
    pd.testing.assert_frame_equal(
        customer_status(full, as_of, cfg.labels), customer_status(by_customer, as_of, cfg.labels)
    )
    assert chunk_count(full, 200) == chunk_count(by_customer, 200)
    for step in (
        lambda t: company_revenue(t, as_of, cfg.features),
        last_order,
        lambda t: seasonal_history_note(
            t["orders"]["ordered_at"], as_of, [], cfg.features.windows_days, None
        ),
        lambda t: referrer_buckets(t, n_chunks_for(len(t["customers"]), 200)),
    ):
        a, b = step(full), step(kept)
        if isinstance(a, pd.DataFrame):
            assert len(a) and a.shape == b.shape
            pd.testing.assert_frame_equal(a, b)
        else:
            assert a == b
