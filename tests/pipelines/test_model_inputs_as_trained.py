"""A model scores with the inputs it was trained on (`features.as_trained`), the pandas engine; the Spark engine's
case rides on `test_spark_parity.py`'s runs.

Was: a model trained on data without a table or column scored data that had it with only a warning ("the model
never saw it"): its features were built from whatever the scoring data held (with `orders.cost` the real margin,
without it `features.margin_rate_when_cost_missing`), so it read inputs in a form it never saw; on the demo's 300
customers a model trained without `orders.cost` put 91 of 306 customers in another tier (total value +21%), one
trained without tickets 122. A column the training data had empty and the scoring data filled was not said at all.
Now the model's features are built as trained; the tier rules and reports read the features of all the data.

One scoring run of the session's `trained` fixture (its data and model): the model's recorded inputs as if its
training data had had no `orders.cost` and an empty `orders.discount` (training another model costs 10 s; the
recorded inputs are what scoring reads of the training data).
"""

from __future__ import annotations

import copy
import dataclasses

import pandas as pd
import pytest

AS_OF = pd.Timestamp("2025-01-01")


def _without_cost(loaded):
    """The registered model as if trained on orders without `cost` and with `discount` and `promo` empty on every
    row."""
    bundle = copy.copy(loaded.bundle)
    data = dict(bundle.data_settings)
    inputs = {table: dict(columns) for table, columns in data["input_columns"].items()}
    del inputs["orders"]["cost"]
    inputs["orders"]["discount"] = 0.0
    inputs["orders"]["promo"] = 0.0
    bundle.data_settings = data | {"input_columns": inputs}
    return dataclasses.replace(loaded, bundle=bundle)


@pytest.fixture(scope="module")
def as_trained_run(trained, default_scores, tmp_path_factory):
    """The run, with a score history whose previous run (as of 2024-12-01) was `default_scores`' run, scored by
    the registered model under its URI: the bridge's model, trained on every input of the data."""
    import pipelines.engines.run as job
    import pipelines.tracking as tracking
    from pipelines.config import load_config
    from pipelines.history_append import append_run
    from tests.pipelines.score_helpers import score_trained

    load, read, loaded, tables = tracking.load_bundle, job.load_and_report, [], {}
    root = tmp_path_factory.mktemp("as-trained")
    before = default_scores.run
    uri = f"models:/{load_config(trained.config).mlflow.registered_model}/1"  # this run's model: its champion
    # no training run recorded (a run of before they were): told apart from this run's model by its version
    earlier = before.manifest | {
        "as_of": "2024-12-01",
        "model_version": uri,
        "model_uri": uri,
        "model_run_id": None,
    }
    append_run(root / "history", before.scores.assign(model_version=uri), before.contributions_path, earlier)

    def as_if_trained_without_cost(*args, **kw):
        if args[0] == uri:  # the history's previous model: as registered (trained on every input)
            return load(*args, **kw)
        loaded.append(_without_cost(load(*args, **kw)))
        return loaded[-1]

    def kept(*args, **kw):  # the run's validated tables, as loaded (the run drops columns and clears them)
        out = read(*args, **kw)
        tables.update(out.tables)
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tracking, "load_bundle", as_if_trained_without_cost)
        patch.setattr(job, "load_and_report", kept)
        run = score_trained(trained, root / "scores.parquet", history=root / "history")
    return run, loaded[0].bundle, tables


def test_a_model_trained_without_a_column_scores_data_with_it_as_trained(
    trained, as_trained_run, default_scores
):
    """The model's predictions are those of the same data without `orders.cost` and with `orders.discount` empty
    (was: built with the cost and discounts: the scores of `default_scores`, the model reading a margin and
    discount rate it never saw); the tier rules and reports read the cost and discounts (the carried margin and
    discount rate are those of all the data, as in `default_scores`)."""
    from features import build_feature_table
    from features.population import SCORED
    from pipelines.config import load_config

    run, bundle, tables = as_trained_run
    scores = run.scores.set_index("customer_id")
    scored = scores.index[scores["status"] == SCORED]
    cfg = load_config(trained.config).with_model_settings(bundle.feature_config, bundle.label_config)
    orders = tables["orders"].drop(columns="cost").assign(discount=float("nan"))
    orders["promo"] = pd.Series(pd.NA, index=orders.index, dtype=orders["promo"].dtype)
    feats = build_feature_table(tables | {"orders": orders}, AS_OF, cfg.features).loc[scored]
    expected = bundle.predict(feats)
    h = bundle.horizon_days
    for col in (f"pred_value_{h}d", f"pred_churn_prob_{h}d"):
        pd.testing.assert_series_equal(
            scores.loc[scored, col], expected[col].rename(col), check_names=False, rtol=1e-9, atol=1e-9
        )
    before = default_scores.run.scores.set_index("customer_id")
    assert not scores.loc[scored, f"pred_value_{h}d"].equals(before.loc[scored, f"pred_value_{h}d"])
    for col in (
        f"profit_margin_{cfg.features.windows_days[-1]}d",
        f"price_discount_rate_{cfg.features.windows_days[-1]}d",
    ):
        assert col in scores.columns
        pd.testing.assert_series_equal(scores[col], before[col])  # all the data: the tier rules read it
    # the profile inputs (a report): those of all the data, as `default_scores`' (`cvp profile` reads them)
    inputs = {
        name: pd.read_parquet(r.contributions_path.parent / r.manifest["profile_inputs"]["file"]).drop(
            columns="run_id", errors="ignore"
        )
        for name, r in (("as trained", run), ("default", default_scores.run))
    }
    pd.testing.assert_frame_equal(inputs["as trained"], inputs["default"])
    assert run.manifest["model_inputs_as_trained"] == {
        "tables_left_out": [],
        "columns_left_out": ["orders.cost"],
        "columns_emptied": ["orders.discount", "orders.promo"],
    }
    assert (
        default_scores.run.manifest["model_inputs_as_trained"] is None
    )  # matching inputs: one build, as before
    warnings = " ".join(run.manifest["warnings"])
    assert (
        "orders.cost: in this data, not in the model's training data: the model scored these customers as trained, "
        "with a guessed margin without orders.cost; the tier rules and reports read it"
    ) in warnings
    assert default_scores.run.manifest["input_column_differences"] == []  # its own data: nothing to say
    assert (
        "orders.discount: a value on 100% of the rows, none in the model's training data: the model scored these "
        "customers as trained, with the column empty, as in training"
    ) in warnings  # was: not said at all


def test_a_reason_states_the_carried_value_of_all_the_data(as_trained_run):
    """Round 18 (`features.as_trained.stated_values`): a reason led by a carried feature states the value the scores
    carry beside it (all the data's), not the model's as-trained one. Was: "34 EUR net profit in the last 12
    months" (the margin guessed without `orders.cost`) in the row whose `profit_net_365d` said 58.30, on the page
    beside a tier reason read from the real margin."""
    import numpy as np

    run, _, _ = as_trained_run
    stored = pd.read_parquet(run.contributions_path.parent / "scores.parquet")  # the reasons as stored
    differs = 0
    for column in [c for c in stored.columns if "_reason_feature_" in c]:
        lead = stored[column].astype(str)
        stated = stored[column.replace("_feature_", "_value_")].to_numpy(dtype=np.float64)
        for name in set(lead) & set(stored.columns):  # the carried features leading a reason
            at = (lead == name).to_numpy()
            carried = stored.loc[at, name].to_numpy(dtype=np.float64)
            np.testing.assert_array_equal(stated[at], carried, err_msg=f"{column} = {name}")
            differs += int(name in ("profit_net_365d", "profit_margin_365d")) * int(at.sum())
    assert (
        differs >= 20
    )  # reasons led by a margin the model read otherwise (on the code before: each differed)


def test_a_reason_led_by_a_feature_the_scores_do_not_carry_states_the_datas_value(trained, as_trained_run):
    """Round 19 (`features.as_trained.stated_values`): a reason led by a numeric feature the scores do not carry
    ("net profit so far", `profit_net_lifetime`) states its value in all the data, as one led by a carried feature
    does. Was: the model's value, built without `orders.cost` (a guessed margin), in the sentence a manager reads
    beside a tier read from the real margin."""
    import numpy as np

    from features import build_feature_table
    from pipelines.config import load_config

    run, bundle, tables = as_trained_run
    cfg = load_config(trained.config).with_model_settings(bundle.feature_config, bundle.label_config)
    data = build_feature_table(tables, AS_OF, cfg.features)  # all the data's features
    guessed = build_feature_table(
        tables | {"orders": tables["orders"].drop(columns="cost")}, AS_OF, cfg.features
    )
    stored = pd.read_parquet(run.contributions_path.parent / "scores.parquet").set_index("customer_id")
    differs = 0
    for column in [c for c in stored.columns if "_reason_feature_" in c]:
        lead = stored[column].astype(str)
        stated = stored[column.replace("_feature_", "_value_")]
        for name in (set(lead) & set(data.columns)) - set(stored.columns):  # not carried
            if isinstance(data[name].dtype, pd.CategoricalDtype):
                continue
            ids = lead.index[lead == name]
            want = data.loc[ids, name].to_numpy(dtype=np.float64)
            np.testing.assert_allclose(
                stated[ids].to_numpy(dtype=np.float64), want, err_msg=f"{column} = {name}"
            )
            differs += int((guessed.loc[ids, name].to_numpy(dtype=np.float64) != want).sum())
    assert differs >= 5  # reasons led by a value the model read otherwise (on the code before: each differed)


def test_the_history_bridge_reads_the_features_its_own_model_was_trained_on(as_trained_run, default_scores):
    """The history's previous model (the registered one, trained on every input of the data) explains this run's
    data (the bridge) with the features of all the data, as it was trained: its contributions are those of
    `default_scores` (the same model on the same data). Was: it read this run's model's features, built without
    `orders.cost` (a margin it never saw; on the Spark engine a previous model trained with tickets and a new one
    without: a KeyError on the executors)."""
    from pipelines.outputs import bridge_contributions_path, read_churn_contributions

    run, _, _ = as_trained_run
    assert "note" not in run.manifest["bridge"], run.manifest["bridge"]
    bridge = read_churn_contributions(bridge_contributions_path(run.contributions_path, "value"), None)
    own = pd.read_parquet(default_scores.run.contributions_path).set_index("customer_id")
    columns = [c for c in own.columns if c != "run_id"]
    assert len(bridge) == len(own) > 100
    pd.testing.assert_frame_equal(bridge.loc[own.index, columns], own[columns], rtol=0, atol=1e-9)


def test_a_bridge_model_is_planned_from_its_own_recorded_inputs(trained, as_trained_run):
    """`bridge_view` (both engines: `model_bridge.bridge_model`) and, on the Spark engine's driver before any job,
    `spark_features.bridge_plan`: every feature the bridge asks the buckets for is one they build (was: judged
    on all the data, read from the model's build: a previous model trained with tickets, a new one without, a
    KeyError on the executors for `service_tickets_*`)."""
    from features import build_feature_table
    from features.as_trained import AS_DATA, AsTrained, bridge_view
    from features.table import company_revenue
    from pipelines.config import load_config
    from pipelines.engines.spark_features import bridge_plan

    no_tickets, no_cost = AsTrained(("tickets",)), AsTrained(columns=(("orders", "cost"),))
    assert bridge_view(AsTrained(), no_tickets) == "data" and bridge_view(no_tickets, no_tickets) == "model"
    assert bridge_view(no_cost, no_tickets) is None and bridge_view(AsTrained(), AsTrained()) == "model"
    _, old, tables = as_trained_run  # the registered model's contract (it reads tickets)
    cfg = load_config(trained.config).with_model_settings(old.feature_config, old.label_config)
    totals = company_revenue(tables, AS_OF, cfg.features)
    empty = {name: table.iloc[:0] for name, table in tables.items()}
    data = build_feature_table(empty, AS_OF, cfg.features, company_revenue=totals).columns
    model = build_feature_table(no_tickets.apply(empty), AS_OF, cfg.features, company_revenue=totals).columns
    tickets = [c for c in old.contract_.names if c in data and c not in model]
    assert tickets  # the previous model reads features of tickets the new model's build leaves out
    present = set(model)  # what the buckets hold of this run's model (its features built without tickets)
    more, note = bridge_plan(tables, AS_OF, cfg, totals, old, "1", None, present, no_tickets, True)
    assert note is None and {AS_DATA + c for c in tickets} <= set(more)
    assert all(c.startswith(AS_DATA) and c.removeprefix(AS_DATA) in data for c in more)
    # the same plan asked of a model that reads tickets: its features are not in the model's build: the note
    more, note = bridge_plan(tables, AS_OF, cfg, totals, old, "1", None, present, no_tickets, False)
    assert more == {} and "does not accept the features built for this run" in note


def test_the_plan_leaves_out_what_the_training_data_had_not():
    """`as_trained_plan`: a table the training data lacked is left out, a column it lacked dropped, a column it had
    empty emptied (its type kept); a model saved before models recorded their inputs: nothing; matching inputs:
    nothing (one feature build)."""
    from features.as_trained import AsTrained, as_trained_plan

    recorded = {"orders": {"order_id": 1.0, "revenue": 1.0, "discount": 0.0, "promo": 0.5}}
    present = {
        "orders": {"order_id": 1.0, "revenue": 1.0, "cost": 1.0, "discount": 0.4, "promo": 1.0},
        "tickets": {"ticket_id": 1.0},
    }
    plan = as_trained_plan(recorded, present)
    assert plan == AsTrained(("tickets",), (("orders", "cost"),), (("orders", "discount"),))
    assert not as_trained_plan(None, present) and not as_trained_plan(recorded, recorded)
    orders = pd.DataFrame(
        {"order_id": ["o1", "o2"], "revenue": [5.0, 6.0], "cost": [1.0, 2.0], "discount": [0.5, None]}
    )
    tables = plan.apply({"orders": orders, "tickets": pd.DataFrame({"ticket_id": ["t1"]})})
    assert list(tables) == ["orders"]
    assert list(tables["orders"].columns) == ["order_id", "revenue", "discount"]
    assert tables["orders"]["discount"].isna().all() and tables["orders"]["discount"].dtype == "float64"
    assert orders["discount"].notna().any()  # the data itself is untouched
    from features.errors import StructuralError
    from features.model_inputs import check_model_inputs

    with pytest.raises(
        StructuralError, match="--strict: .*orders.discount: a value on 50% of the rows, none in"
    ):
        check_model_inputs(
            recorded, {"orders": orders.assign(promo=True)}, True
        )  # was: not said, nor refused
    assert plan.left_out("tickets") == ["table tickets"] and plan.left_out("orders") == [
        "orders.cost",
        "orders.discount",
    ]


def test_the_carried_features_are_all_the_datas_and_the_model_reads_its_own():
    """The frame a chunk hands on: the model's features and, beside them, the carried ones of all the data."""
    from features.as_trained import AS_DATA, carried_values, data_view, model_view

    frame = pd.DataFrame({"margin": [0.3, 0.3], AS_DATA + "margin": [0.5, 0.1], "other": [1.0, 2.0]})
    assert list(model_view(frame).columns) == ["margin", "other"]
    assert data_view(frame).to_dict("list") == {"margin": [0.5, 0.1]}  # all the data's (the profile's inputs)
    assert list(data_view(model_view(frame))) == ["margin", "other"]  # no AS_DATA columns: the frame itself
    got = carried_values(frame, ["margin", "other", "absent"])
    assert got["margin"].tolist() == [0.5, 0.1] and got["other"].tolist() == [1.0, 2.0]
    assert list(got.columns) == ["margin", "other"]
