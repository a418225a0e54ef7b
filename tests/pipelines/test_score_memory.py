"""Issue 14, memory: what the scoring run keeps of the input tables while it scores."""

from __future__ import annotations

import pandas as pd

from pipelines.engines.run import drop_unread_columns
from tests.pipelines.score_helpers import score_trained


def test_drop_unread_columns_drops_personal_columns_and_unread_event_keys_only():
    tables = {
        "customers": pd.DataFrame(
            {"customer_id": ["c1"], "segment": ["smb"], "name": ["Ann"], "email": ["a@x"], "phone": ["1"]}
        ),
        "account_managers": pd.DataFrame({"account_manager_id": ["m1"], "name": ["Bob"]}),
        "orders": pd.DataFrame({"order_id": ["o1"], "customer_id": ["c1"], "revenue": [1.0]}),
        "returns": pd.DataFrame({"return_id": ["r1"], "customer_id": ["c1"], "order_id": ["o1"]}),
        "tickets": pd.DataFrame({"ticket_id": ["t1"], "customer_id": ["c1"]}),
        "invoices": pd.DataFrame({"invoice_id": ["i1"], "customer_id": ["c1"]}),
    }
    same = tables
    drop_unread_columns(tables)
    assert tables is same  # in place: the loaded data's own dict, so the dropped columns are freed
    assert {name: list(frame.columns) for name, frame in tables.items()} == {
        "customers": ["customer_id", "segment"],
        "account_managers": ["account_manager_id"],
        "orders": ["order_id", "customer_id", "revenue"],  # order_id: the early-life features' tie-break
        "returns": ["customer_id", "order_id"],
        "tickets": ["customer_id"],
        "invoices": ["customer_id"],
    }


def test_chunk_plan_holds_row_positions_as_int32_covering_every_row_once():
    """The plan keeps one position per input row for the whole run: int32, not int64 (issue 14)."""
    import numpy as np

    from pipelines.engines.chunks import plan_chunks

    ids = [f"c{i:03d}" for i in range(40)]
    tables = {
        "customers": pd.DataFrame({"customer_id": ids}),
        "orders": pd.DataFrame({"customer_id": [ids[i % 40] for i in range(200)], "revenue": 1.0}),
        "referrals": pd.DataFrame({"referrer_id": ["c001", "c002"], "referred_id": ["c030", "c031"]}),
    }
    plan = plan_chunks(tables, chunk_customers=7)
    for name, parts in plan.rows.items():
        assert all(p.dtype == np.int32 for p in parts), name
    # every row in some chunk (a referred customer's rows also in the referrer's chunk)
    assert np.unique(np.concatenate(plan.rows["customers"])).tolist() == list(range(40))
    assert np.unique(np.concatenate(plan.rows["orders"])).tolist() == list(range(200))


def test_scoring_a_chunk_in_batches_changes_no_output(trained, default_scores, tmp_path, monkeypatch):
    """The pandas engine scores each chunk's rows in batches (`SCORE_BATCH_ROWS`: a whole chunk's model matrices,
    contributions and reasons at once made the peak at 1M, issue 14). Batches of 97 rows give the same scores,
    reasons, contributions and spot-check count as the default run, whose chunks are one batch each."""
    import pyarrow.parquet as pq

    import pipelines.engines.pandas_engine as engine
    from pipelines.outputs import churn_contributions_path

    sizes: list[int] = []
    score = engine.score_features

    def counted(features, *args, **kwargs):
        sizes.append(len(features))
        return score(features, *args, **kwargs)

    monkeypatch.setattr(engine, "SCORE_BATCH_ROWS", 97)
    monkeypatch.setattr(engine, "score_features", counted)
    run = score_trained(trained, tmp_path / "b.parquet")
    want = default_scores.run
    assert sum(sizes) == want.manifest["customers_scored"] and max(sizes) <= 97
    assert len(sizes) >= want.manifest["customers_scored"] / 97 > 2
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "b.parquet"), pd.read_parquet(default_scores.out)
    )
    for path in (lambda r: r.contributions_path, lambda r: churn_contributions_path(r.contributions_path)):
        assert pq.read_table(path(run)).equals(pq.read_table(path(want)))
    checked = "explanations_spot_checked_rows"
    assert run.manifest[checked] == want.manifest[checked] > 0


def test_the_scores_are_written_without_the_input_tables_or_the_explainers(watched_scores):
    """Issue 14: at 1M the scores write was the run's peak, with every input table and the value model's
    explainer tables (0.4 GB on the bench model) still held. Nothing reads them by then: the run releases both
    before it writes the scores. (`watched_scores` records, when its run writes the scores, how many tables the
    loaded data still holds and how many explainers are cached.)"""
    assert watched_scores.manifest["customers_scored"] > 0
    assert watched_scores.at_write == {"tables": 0, "explainers": 0}


def test_score_parts_come_back_equal_whatever_the_dtypes(tmp_path):
    """The compact scores spilled chunk by chunk (issue 14) are read back equal: values, dtypes, index, order."""
    import numpy as np

    from pipelines.engines.spill import ScoreParts

    ids = pd.Index(["c2", "c1", "c3"], dtype="str", name="customer_id")
    first = pd.DataFrame(
        {
            "pred_value_365d": [1.5, np.nan, -0.0],
            "orders_count_365d": pd.array([3, None, 1], dtype="Int64"),
            "segment": pd.Categorical(["smb", None, "enterprise"]),
            "note": pd.array(["a", None, "c"], dtype="str"),
            "active": [True, False, True],
            "first_order_at": pd.to_datetime(["2024-01-02", None, "2023-05-06"]).tz_localize("UTC"),
        },
        index=ids,
    )
    second = first[["orders_count_365d", "segment"]].iloc[:0]  # an empty part with fewer columns
    parts = ScoreParts(tmp_path / "spill")
    parts.append(first)
    parts.append(second)
    assert len(parts) == 2 and len(list((tmp_path / "spill").glob("*.parquet"))) == 2
    back = parts.frames()
    pd.testing.assert_frame_equal(back[0], first, check_exact=True)
    pd.testing.assert_frame_equal(back[1], second, check_exact=True)
    assert not list((tmp_path / "spill").glob("*.parquet"))  # read back once, then gone
