"""The scoring job: chunking invariance, contract errors, atomicity, idempotence, drift."""

from __future__ import annotations

import io
import signal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from features import build_feature_table
from features.contract import PERSONAL_COLUMNS
from features.validation import StructuralError
from models.explain import BASE_COLUMN
from pipelines.config import load_config
from pipelines.engines.chunks import iterate_chunks
from pipelines.io import load_data
from tests.background import KILL_POINT, paused_score_process, take
from tests.pipelines.score_helpers import score_trained

ROOT = Path(__file__).resolve().parents[2]


def test_chunked_features_equal_one_pass(trained):
    cfg = load_config(trained.config)
    tables = load_data(trained.data).tables
    as_of = pd.Timestamp("2025-01-01")
    whole = build_feature_table(tables, as_of, cfg.features)
    parts = [f for _, _, f in iterate_chunks(tables, as_of, cfg, chunk_customers=97)]
    assert len(parts) > 3
    # category sets differ per chunk (each holds the values present); the model re-applies its own categories
    as_text = {c: "str" for c in whole.columns if isinstance(whole[c].dtype, pd.CategoricalDtype)}
    chunked = pd.concat([p.astype(as_text) for p in parts]).sort_index()
    assert chunked.index.is_unique
    expected = whole.astype(as_text).loc[chunked.index]
    pd.testing.assert_frame_equal(chunked, expected, check_exact=False, rtol=1e-12, atol=1e-9)
    assert set(chunked.index) == set(whole.index)


def test_score_output_contract(default_scores):
    run, out = default_scores.run, default_scores.out
    s = pd.read_parquet(out)
    assert s["customer_id"].is_unique and s["customer_id"].is_monotonic_increasing
    h = run.manifest["horizon_days"]
    # Four years of orders and training cutoffs with a year before them: nothing extrapolated (issue 16).
    assert "seasonal_history" in run.manifest and run.manifest["seasonal_history"] is None
    for col in (
        "as_of",
        "model_version",
        f"pred_value_{h}d",
        f"pred_value_p10_{h}d",
        f"pred_value_p90_{h}d",
        f"pred_churn_prob_{h}d",
        f"pred_expected_net_value_{h}d",
        "tier",
        "rating",
        "flags",
        "value_reason_feature_1",  # the reasons as stored (issue 14; worded when read: test_reason_columns.py)
        "value_reason_effect_1",
        "churn_reason_feature_1",
        "churn_reason_effect_1",
    ):
        assert col in s.columns, col
    scored = s[s["status"] == "scored"]
    assert set(scored["tier"]) <= {"great", "good", "problem"} and scored["tier"].notna().all()
    assert not set(s.columns) & PERSONAL_COLUMNS
    assert scored[f"pred_churn_prob_{h}d"].between(0, 1).all()
    # exact contributions add up to the value prediction, customer by customer (scored customers only)
    contrib = pd.read_parquet(out.with_name("scores.contributions.parquet")).set_index("customer_id")
    assert set(contrib.index) == set(scored["customer_id"])
    total = contrib.drop(columns="run_id").sum(axis=1).reindex(scored["customer_id"]).to_numpy()
    np.testing.assert_allclose(total, scored[f"pred_value_{h}d"].to_numpy(), rtol=1e-9, atol=1e-6)
    m = run.manifest
    assert m["customers_scored"] == len(scored) and m["explanations_spot_checked_rows"] > 0
    assert m["customers_total"] == len(s) and sum(m["statuses"].values()) == len(s)
    assert set(m["data_fingerprint"]) >= {"orders", "customers"}
    assert (s["run_id"] == m["run_id"]).all() and (contrib["run_id"] == m["run_id"]).all()


def test_idempotent_same_rows_twice(default_scores, watched_scores):
    # `watched_scores` is the same run as `default_scores`, again (through `cvp score`)
    a, b = pd.read_parquet(default_scores.out), pd.read_parquet(watched_scores.out)
    pd.testing.assert_frame_equal(a, b)


def test_chunk_size_does_not_change_scores(trained, default_scores, tmp_path):
    assert (
        default_scores.run.manifest["customers_total"]
        > 2 * load_config(trained.config).scoring.chunk_customers
    )
    score_trained(trained, tmp_path / "b.parquet", chunk_customers=100_000)  # one pass vs its chunks
    a, b = pd.read_parquet(default_scores.out), pd.read_parquet(tmp_path / "b.parquet")
    # the same bits: reason effects and churn shares add a customer's columns in one order whatever the chunk
    # (`models.explain.row_sums`; was: equal within 1e-9 only, the last digits following the chunk's size)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_contract_mismatch_lists_problems(trained, tmp_path, monkeypatch):
    """The feature contract still refuses what slips past the input record (here: a model saved before models
    recorded their input columns, whose missing tickets table only the contract can catch)."""
    monkeypatch.setattr("pipelines.engines.run.check_model_inputs", lambda *args: [])
    data = tmp_path / "data"
    data.mkdir()
    for p in trained.data.glob("*.parquet"):
        if p.stem != "tickets":  # no tickets: the service-effort features the model needs are missing
            (data / p.name).write_bytes(p.read_bytes())
    with pytest.raises(StructuralError, match="feature contract") as exc:
        score_trained(trained, tmp_path / "s.parquet", data=data)
    assert "service_effort_hours_90d" in str(exc.value)
    assert not (tmp_path / "s.parquet").exists()


def test_unseen_category_scores_as_missing_with_a_warning(trained, tmp_path):
    """One new region value no longer stops the batch: scored as missing, counted, warned, in the manifest."""
    data = tmp_path / "data"
    data.mkdir()
    for p in trained.data.glob("*.parquet"):
        (data / p.name).write_bytes(p.read_bytes())
    cust = pd.read_parquet(data / "customers.parquet")
    cust.loc[cust.index[:3], "region"] = "atlantis"
    cust.to_parquet(data / "customers.parquet", index=False)
    console = Console(file=io.StringIO(), width=400)
    run = score_trained(trained, tmp_path / "s.parquet", data=data, console=console)
    s = pd.read_parquet(tmp_path / "s.parquet")
    changed = set(cust["customer_id"].iloc[:3])
    scored_changed = s[s["customer_id"].isin(changed) & (s["status"] == "scored")]
    assert run.manifest["unseen_categories"] == {"profile_region": {"atlantis": len(scored_changed)}}
    assert len(scored_changed) and scored_changed["pred_value_365d"].notna().all()
    assert "unseen in training" in console.file.getvalue() and "atlantis" in console.file.getvalue()


def test_missing_model_and_early_as_of_are_clear_errors(trained, tmp_path):
    with pytest.raises(StructuralError, match="cannot load model"):
        score_trained(trained, tmp_path / "s.parquet", model_uri="models:/customer-value@nosuchalias")
    # an as-of before the data starts is before the model's training cutoffs too: refused before the data is read
    with pytest.raises(StructuralError, match="before the end of the model's training labels"):
        score_trained(trained, tmp_path / "s.parquet", as_of_text="2019-01-01")
    from pipelines.loading import check_after_first_order  # the data's own check (a model without cutoffs)

    with pytest.raises(StructuralError, match="before the data starts"):
        check_after_first_order(load_data(trained.data).tables, pd.Timestamp("2019-01-01"), "score")


def test_drift_is_detected_on_a_shifted_copy(trained, default_scores, tmp_path):
    base = default_scores.run
    data = tmp_path / "data"
    data.mkdir()
    for p in trained.data.glob("*.parquet"):
        (data / p.name).write_bytes(p.read_bytes())
    orders = pd.read_parquet(data / "orders.parquet")
    orders[["revenue", "cost", "discount"]] *= 5.0  # prices jump fivefold
    orders.to_parquet(data / "orders.parquet", index=False)
    console = Console(file=io.StringIO(), width=200)
    shifted = score_trained(trained, tmp_path / "t.parquet", data=data, console=console)
    key = "features:profit_revenue_365d"
    assert shifted.manifest["drift"]["psi"][key] > max(0.2, 3 * base.manifest["drift"]["psi"][key])
    assert "profit_revenue_365d" in shifted.manifest["drift"]["drifted_features"]
    assert "profit_revenue_365d" not in base.manifest["drift"]["drifted_features"]
    assert "drift above PSI" in console.file.getvalue()
    # ages and lifetime totals grow with the calendar: left out of both runs, with the reason
    for run in (base, shifted):
        assert "relationship_manager_tenure_days" in run.manifest["drift"]["left_out"]
        assert "tenure_days" in run.manifest["drift"]["left_out"]
        assert "features:relationship_manager_tenure_days" not in run.manifest["drift"]["psi"]


def _run_ids(out: Path) -> tuple[str | None, set[str], set[str]]:
    import json

    from pipelines.outputs import output_paths

    paths = output_paths(out)
    manifest = json.loads(paths["manifest"].read_text())["run_id"]
    scores = set(pd.read_parquet(paths["scores"], columns=["run_id"])["run_id"])
    contrib = set(pd.read_parquet(paths["contributions"], columns=["run_id"])["run_id"])
    return manifest, scores, contrib


def _publishing_points() -> list[str]:
    from pipelines.outputs import PUBLISH_ORDER

    # the bridge files (issue 15) exist only when the model changed since the history's previous run
    return ["before_publish", "after_journal"] + [
        f"after_{k}" for k in PUBLISH_ORDER if not k.startswith("bridge_")
    ]


def _read_back_one_set(out: Path) -> str:
    """What `cvp report`'s reader gets after a kill: one run's id, and then every file on disk carries it."""
    from pipelines.outputs import journal_path, output_paths, read_output_set

    got = read_output_set(out)
    manifest, scores, contrib = _run_ids(out)
    assert {manifest} | scores | contrib == {got.run_id}, "the files on disk are not one set"
    assert not journal_path(output_paths(out)).exists()
    return got.run_id


def test_a_kill_at_every_point_of_publishing_leaves_one_whole_set(
    trained, default_scores, tmp_path, monkeypatch
):
    """Kill a run at every point of publishing the output set: what `cvp report`'s reader gets is one run's
    whole set, the previous one (killed before the journal) or the new one (the journal is rolled forward),
    and afterwards every file on disk carries that run's id; never new contributions beside old scores.

    A SIGKILL stops everything at once, so a kill at a point leaves the directory exactly as it is when the run
    reaches that point: one in-process run copies the output directory (staging files and journal included) at
    every point of publishing, and each copy is put back in place, then read, as a killed run would leave it.
    `test_a_killed_score_process_leaves_one_whole_set` kills a real `cvp score` process at one point."""
    import shutil

    import pipelines.outputs as outputs

    out = tmp_path / "out" / default_scores.out.name
    shutil.copytree(default_scores.out.parent, out.parent)  # the previous set
    old = default_scores.run.manifest["run_id"]
    points = _publishing_points()
    frozen = tmp_path / "frozen"
    reached: list[str] = []

    def freeze(point: str) -> None:
        if point in points:
            shutil.copytree(out.parent, frozen / point)  # what a SIGKILL at this point leaves on disk
            reached.append(point)

    monkeypatch.setattr(outputs, "_pause_at", freeze)
    new = score_trained(trained, out, as_of_text="2025-01-02").manifest["run_id"]
    assert new != old
    assert reached == points, "the run did not pass every point of publishing, in order"
    seen: dict[str, str] = {}
    for point in points:
        shutil.rmtree(out.parent)
        shutil.copytree(frozen / point, out.parent)  # the journal names these paths: put back in place
        try:
            got = _read_back_one_set(out)
        except AssertionError as exc:
            raise AssertionError(f"{point}: {exc}") from exc
        seen[point] = {old: "old", new: "new"}[got]
    assert seen == {"before_publish": "old"} | {p: "new" for p in points[1:]}


def test_a_killed_score_process_leaves_one_whole_set(trained, default_scores):
    """A real `cvp score` process, SIGKILLed after it published the new contributions but not the scores: the
    reader completes the journal and gets the new run's whole set. The process (`background.py`) is started as
    soon as `default_scores` was made, into a copy of that set, and waits at that point to be killed.

    The same process shows what `cvp score` on pandas imports (`-X importtime`): MLflow, never pyspark (was: MLflow
    imported it, `pipelines.mlflow_import`)."""
    old = default_scores.run.manifest["run_id"]
    proc = take("killed-score", lambda: paused_score_process(trained, default_scores))
    try:
        reached = proc.wait_for(f"CVP_PAUSED {KILL_POINT}", timeout=300)
        assert reached, f"the run never reached {KILL_POINT}: {proc.stderr.read_text()[-2000:]}"
        proc.proc.send_signal(signal.SIGKILL)
        proc.proc.wait()
    finally:
        proc.stop()
    assert _read_back_one_set(proc.out) != old
    lines = proc.stderr.read_text(errors="replace").splitlines()
    imported = {line.rsplit("|", 1)[1].strip() for line in lines if line.startswith("import time:")}
    assert "mlflow" in imported  # the command's imports are measured, MLflow's among them
    # pyspark's package imports pyspark.util first; an import refused to MLflow leaves a line for `pyspark` alone
    assert "pyspark.util" not in imported, "`cvp score` on the pandas engine imported pyspark"


def test_corrupt_model_is_a_clear_error(trained, tmp_path):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "MLmodel").write_text("this: [is not a model\n")
    with pytest.raises(StructuralError, match="could not be loaded|cannot load model"):
        score_trained(trained, tmp_path / "s.parquet", model_uri=str(broken))
    assert not (tmp_path / "s.parquet").exists()


def test_a_run_spot_checks_its_sample_once_and_reuses_the_value_prediction(trained, watched_scores):
    """The exactness spot check takes `explain.check_rows` rows per model for the whole run (not per chunk), and
    the value model's additivity check reuses its prediction: every scored row is predicted in raw units twice in
    all (the value prediction and the churn model's additivity check), not three times. Only the two main
    models' calls count: the registered lookalike model explains the few new customers with its own boosters.
    (`watched_scores` records every `lightgbm.Booster.predict` call of its run.)"""
    contrib_columns = pd.read_parquet(watched_scores.out.with_name("scores.contributions.parquet")).columns
    n_features = len([c for c in contrib_columns if c not in ("customer_id", "run_id", BASE_COLUMN)])
    calls = [c[:3] for c in watched_scores.predict_calls if c[3] == n_features]
    m = watched_scores.manifest
    scored = m["customers_scored"]
    check = load_config(trained.config).explain.check_rows
    assert scored > check and scored > load_config(trained.config).scoring.chunk_customers  # several chunks
    assert m["explanations_spot_checked_rows"] == check
    assert sum(n for n, _, contrib in calls if contrib) == 2 * check  # value and churn models
    assert sum(n for n, raw, _ in calls if raw) == 2 * scored
    # which customers: the run's rule (`spot_check_ids`, by id), the same for both models (was: by position)
    from pipelines.engines.scoring import spot_check_ids

    ids = pd.read_parquet(watched_scores.out, columns=["customer_id", "status"])
    chosen = set(spot_check_ids(ids.loc[ids["status"] == "scored", "customer_id"], check))
    checked = [set(rows) for n, rows in watched_scores.contrib_ids if n == n_features]
    assert len(checked) >= 2 and set().union(*checked) == chosen and len(chosen) == check


def test_contributions_are_written_without_dictionary_pages_for_the_floats(default_scores):
    """Dictionary encoding is tried only on the id columns: on contributions (floats that rarely repeat) it cost
    most of the write and made the file larger."""
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(default_scores.out.with_name("scores.contributions.parquet")).metadata
    names = [meta.schema.column(j).name for j in range(meta.num_columns)]
    for g in range(meta.num_row_groups):
        encodings = {name: meta.row_group(g).column(j).encodings for j, name in enumerate(names)}
        assert any("DICTIONARY" in e for e in encodings["customer_id"])
        floats = [n for n in names if n not in ("customer_id", "run_id")]
        assert floats and not any("DICTIONARY" in e for n in floats for e in encodings[n])


def test_ids_stored_as_binary_text_score_as_the_string_ids(trained, default_scores, tmp_path):
    """Hive, Impala and older Parquet writers store every string column as `binary` (BYTE_ARRAY without the
    String type): the fixture's data with every id column so scores exactly as with string ids (was, after
    edccc49: the binary-ids stop on the first id column)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = tmp_path / "data"
    data.mkdir()
    cast = 0
    for p in trained.data.glob("*.parquet"):
        table = pq.read_table(p)
        for i, field in enumerate(table.schema):
            if field.name.endswith("_id") and (
                pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
            ):
                table = table.set_column(i, field.name, table[field.name].cast(pa.binary()))
                cast += 1
        pq.write_table(table, data / p.name, store_schema=False)
    assert cast >= 3
    score_trained(trained, tmp_path / "s.parquet", data=data)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "s.parquet"), pd.read_parquet(default_scores.out)
    )
