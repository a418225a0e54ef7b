"""The Spark engine of the scoring job: same rows, values, tiers, reasons and contributions as the pandas engine.

One local[2] session serves every Spark test (the `spark` fixture of conftest.py); the CLI run is on a real
standalone cluster, `tests/pipelines/test_spark_cluster.py`. Without pyspark or Java these tests FAIL (the Spark
engine is a product feature, not an optional nicety); set CVP_SKIP_SPARK=1 to skip them on a machine without a JDK.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from features.validation import StructuralError
from pipelines.config import load_config
from pipelines.engines.run import score_tables
from pipelines.engines.scoring import ContractMismatch
from pipelines.engines.spark_engine import _driver_error
from pipelines.engines.spark_parts import (
    CONTRIB_PREFIX,
    gather_contributions,
    write_contribution_parts,
    write_spark_output,
)
from pipelines.io import load_data

AS_OF = pd.Timestamp("2025-01-01")
CHUNK = 300  # 800 customers -> 3 buckets: the Spark job really runs several tasks


def _written(scores: pd.DataFrame, spill, bundle, path: Path) -> pd.DataFrame:
    """The scores file `run_score` writes from an engine's scores and its reason spill, read back."""
    from pipelines.outputs import write_scores_parquet

    spill.locate(scores["customer_id"])
    at = scores.columns.get_loc(bundle.output_columns[-1]) + 1
    write_scores_parquet(scores, path, extra=spill.columns_for, extra_at=at)
    return pd.read_parquet(path)


@pytest.fixture(scope="module")
def scored(trained, spark, tmp_path_factory):
    """The same data scored by both engines, each engine's scores file written from its compact scores and its
    reason spill (the pandas engine's chunks, the Spark executors' parts) and read back, plus the contributions
    and profile inputs files each wrote."""
    from pipelines.engines.spark_session import spark_jobs
    from pipelines.profile_inputs import ProfileInputsWriter
    from pipelines.tracking import configure_tracking, load_bundle

    cfg = load_config(trained.config)
    configure_tracking(Path(cfg.mlflow.tracking_dir))
    model = load_bundle(f"models:/{cfg.mlflow.registered_model}@champion")
    tables = load_data(trained.data).tables
    out = tmp_path_factory.mktemp("engines")
    args = (tables, AS_OF, model.bundle, "7", cfg, CHUNK)
    runs = []
    for engine in ("pandas", "spark"):
        inputs = ProfileInputsWriter(
            out / f"{engine}.profile_inputs.parquet", "r1", tables, cfg.profile.attributes, cfg.features
        )
        before = spark_jobs(spark)
        scores, info, spill = score_tables(
            engine, *args, out / f"{engine}.contrib.parquet", spill_dir=out / f"{engine}.reasons",
            profile_inputs=inputs,
        )  # fmt: skip
        jobs = spark_jobs(spark) - before
        inputs.close()
        assert spill is not None and spill.columns, engine  # the reasons never came back in the scores
        assert not any(c.startswith(("value_reason_", "churn_reason_")) for c in scores.columns), engine
        written = _written(scores, spill, model.bundle, out / f"{engine}.scores.parquet")
        runs.append((written, info, inputs.info(), jobs))
    return runs[0][:2], runs[1][:2], out, runs


@pytest.mark.spark
def test_spark_scores_equal_pandas_row_by_row(scored):
    """The scores files written from each engine's compact scores and reason spill are equal row by row (the
    Spark engine's reasons written by its executors, `write_reason_parts`), with the same Arrow schema."""
    import pyarrow.parquet as pq

    (expected, _), (got, _), out, _ = scored
    assert pq.read_schema(out / "spark.scores.parquet").equals(pq.read_schema(out / "pandas.scores.parquet"))
    assert len(got) > 500 and got["customer_id"].is_unique and got["customer_id"].is_monotonic_increasing
    assert list(got.columns) == list(expected.columns)
    assert got.dtypes.to_dict() == expected.dtypes.to_dict()
    assert got["customer_id"].tolist() == expected["customer_id"].tolist()
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-9)
    # the columns people act on are equal exactly, not just close
    for col in [
        "tier",
        "rating",
        "tier_reason",
        "flags",
        "value_reason_1",
        "churn_reason_3",
        "account_manager_id",
    ]:
        assert got[col].equals(expected[col]), col
    assert got["tier"].nunique() > 1


@pytest.mark.spark
def test_spark_contributions_file_equals_pandas(scored):
    (expected, _), (got, _), out, _ = scored
    a = pd.read_parquet(out / "pandas.contrib.parquet")
    b = pd.read_parquet(out / "spark.contrib.parquet")
    assert list(b.columns) == list(a.columns) and b.columns[0] == "customer_id" and "_base" in b.columns
    assert b["customer_id"].tolist() == a["customer_id"].tolist()  # bucket order, like the pandas engine
    pd.testing.assert_frame_equal(b, a, check_exact=False, rtol=1e-9, atol=1e-9)
    # additive: contributions sum to the value prediction, customer by customer
    h = [c for c in got.columns if c.startswith("pred_value_") and c.count("_") == 2][0]
    total = b.set_index("customer_id").sum(axis=1).reindex(got["customer_id"]).to_numpy()
    np.testing.assert_allclose(total, got[h].to_numpy(), rtol=1e-9, atol=1e-6)
    assert not list(out.glob(".*.tmp")) and not list(out.glob("*.parts"))  # the executors' parts, gathered


@pytest.mark.spark
def test_spark_drift_and_info_match_pandas(scored):
    (_, a), (_, b), *_ = scored
    assert set(b) == {"drift", "timings", "explanations_spot_checked_rows", "driver_collected"}
    assert b["explanations_spot_checked_rows"] > 0
    assert b["drift"]["psi"].keys() == a["drift"]["psi"].keys() and len(a["drift"]["psi"]) > 50
    for key, value in a["drift"]["psi"].items():
        assert b["drift"]["psi"][key] == pytest.approx(value, abs=2e-6), key
    assert b["drift"]["drifted_features"] == a["drift"]["drifted_features"]
    assert {"features_s", "score_explain_s", "tiers_s"} <= set(b["timings"])


@pytest.mark.spark
def test_spark_profile_inputs_file_equals_pandas(scored):
    """Issue 12 on Spark: the executors compute each bucket's profile inputs; the file equals the pandas engine's
    (rows, order, columns, types, values), so `cvp profile` reads a Spark run without `--data`."""
    from pipelines.profile_inputs import read_profile_inputs

    (scores, _), _, out, runs = scored
    (*_, pandas_info, _), (*_, spark_info, jobs) = runs
    a = pd.read_parquet(out / "pandas.profile_inputs.parquet")
    b = pd.read_parquet(out / "spark.profile_inputs.parquet")
    assert len(a) == len(scores) > 500  # every customer with a feature row, scored or not
    assert any(c.startswith("customer:") for c in a.columns) and "profit_net_lifetime" in a.columns
    pd.testing.assert_frame_equal(b, a, check_exact=True)
    assert spark_info | {"file": "", "seconds": 0} == pandas_info | {"file": "", "seconds": 0}
    assert read_profile_inputs(out / "spark.profile_inputs.parquet", "r1").index.is_unique
    assert jobs == 5  # session-independent count of this scoring run's Spark jobs (README: "Spark engine")


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

    def pandas_load(data, cfg, console, master, rejects):
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


@pytest.mark.spark
def test_spark_driver_collects_no_reason_columns(scored):
    """Issue 11: the executors write the reason columns (the bulk of a scores row) to the run's spill; the driver
    collects one compact row per customer without them, and says how much it received."""
    (expected, _), (_, info), out, _ = scored
    got = info["driver_collected"]
    reasons = [c for c in expected.columns if c.startswith(("value_reason_", "churn_reason_"))]
    assert (
        len(reasons) >= 6 and len(list((out / "spark.reasons").glob("reasons-*.parquet"))) >= 3
    )  # per bucket
    assert got["rows"] == len(expected)  # every customer has a feature row here (the profile inputs' test)
    # collected: customer_id, bucket, eligible, spot_checked, the predictions and carried features, the 4 tier
    # columns, the drift payloads; the scores add as_of, model_version, status, status_reason, the manager, the
    # reasons
    assert got["columns"] == len(expected.columns) - len(reasons) - 1
    assert 0 < got["scores_mb"] < 1 and got["profile_inputs_mb"] > 0


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
