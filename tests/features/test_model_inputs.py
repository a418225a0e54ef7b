"""Which contract columns shape what the models see (`Column.model_input`): the declaration the train/score seam
holds scoring data to (`features.model_inputs.check_model_inputs`). Checked against the feature code itself: dropping
a declared column changes the feature table or the customers' statuses, dropping any other optional column changes
neither."""

from __future__ import annotations

import pandas as pd
import pytest

from features import build_feature_table
from features.contract import TABLES
from features.errors import StructuralError
from features.model_inputs import check_model_inputs, model_inputs
from features.population import customer_status
from pipelines.config import load_config

CUTOFF = pd.Timestamp("2024-01-01")


@pytest.fixture(scope="module")
def company():
    import tempfile
    from pathlib import Path

    from pipelines.demo import generate_company, write_company
    from pipelines.io import load_data

    with tempfile.TemporaryDirectory() as tmp:
        write_company(generate_company(400, "2021-01-01", "2024-06-30", 5), Path(tmp))
        return load_data(Path(tmp)).tables


def _seen(tables, cfg):
    return build_feature_table(tables, CUTOFF, cfg.features), customer_status(tables, CUTOFF, cfg.labels)


def test_the_declared_model_inputs_are_exactly_the_columns_the_features_read(company):
    cfg = load_config(None)
    features, status = _seen(company, cfg)
    checked = 0
    for name, table in company.items():
        for column in TABLES[name].columns:
            if column.required or column.name not in table.columns:
                continue
            without = dict(company) | {name: table.drop(columns=[column.name])}
            f, s = _seen(without, cfg)
            changed = not (f.equals(features) and s.equals(status))
            assert changed == column.model_input, f"{name}.{column.name}: declared {column.model_input}"
            checked += 1
    assert checked >= 20  # the demo company carries nearly every optional column


def _frame(**columns):
    return pd.DataFrame(columns)


ORDERS = {"order_id": ["o1", "o2"], "customer_id": ["c1", "c2"], "ordered_at": ["2024-01-01"] * 2}


def test_model_inputs_lists_present_input_columns_per_table_with_their_filled_share():
    got = model_inputs(
        {
            "orders": _frame(**ORDERS, revenue=[1.0, 2.0], cost=[0.5, None], channel=["web", "shop"]),
            "account_managers": _frame(account_manager_id=["a"], name=["x"]),  # the id alone shapes nothing
            "not_a_table": _frame(x=[1]),
        }
    )
    assert got == {
        "orders": {"order_id": 1.0, "customer_id": 1.0, "ordered_at": 1.0, "revenue": 1.0, "cost": 0.5}
    }


RECORDED = {
    "orders": {"order_id": 1.0, "customer_id": 1.0, "ordered_at": 1.0, "revenue": 1.0, "cost": 0.9},
    "customers": {"customer_id": 1.0, "churned_at": 0.1},
}


def _tables(cost, churned_at=(None, None), **more):
    orders = _frame(**ORDERS, revenue=[1.0, 2.0], cost=list(cost))
    return {
        "orders": orders,
        "customers": _frame(customer_id=["c1", "c2"], churned_at=list(churned_at)),
    } | more


def test_a_missing_table_is_refused_naming_the_features_it_feeds():
    # was: "(for example a guessed margin without orders.cost, no payment lateness without invoices.paid_at,
    # tenure from the first order without customers.signup_at)" for a data directory without tickets.csv
    recorded = {"orders": {"revenue": 1.0}, "tickets": {"effort_minutes": 1.0}}
    with pytest.raises(StructuralError) as err:
        check_model_inputs(recorded, {"orders": _tables([1.0, 1.0])["orders"]}, strict=False)
    message = str(err.value)
    assert "table(s) tickets" in message
    assert "(tickets: the profit and service effort features)" in message
    assert "orders.cost" not in message and "signup_at" not in message


def test_check_model_inputs_refuses_what_the_training_data_had_and_this_data_lacks():
    with pytest.raises(StructuralError, match=r"table\(s\) customers"):
        check_model_inputs(RECORDED, {"orders": _tables([1.0, 1.0])["orders"]}, strict=False)
    no_cost = _tables([1.0, 1.0])
    no_cost["orders"] = no_cost["orders"].drop(columns="cost")
    with pytest.raises(StructuralError, match=r"column\(s\) orders.cost, which this data lacks"):
        check_model_inputs(RECORDED, no_cost, strict=False)
    # a column that arrives without a single value, where training had one on most rows, is as good as missing
    with pytest.raises(StructuralError, match=r"orders.cost had a value on most training rows and have none"):
        check_model_inputs(RECORDED, _tables([None, None]), strict=False)
    # a column rarely filled in training (cancellations) may arrive empty: a warning, not a stop
    assert check_model_inputs(RECORDED, _tables([1.0, 1.0]), strict=False) == [
        "customers.churned_at: a value on 0% of the rows, 10% in the model's training data"
    ]
    assert (
        check_model_inputs(RECORDED, _tables([1.0, 1.0], churned_at=("2024-01-01", None)), strict=True) == []
    )


def test_check_model_inputs_warns_of_new_and_emptier_inputs_and_strict_refuses():
    tables = _tables(
        [1.0, None],
        ("2024-01-01", None),
        returns=_frame(return_id=["r"], customer_id=["c1"], returned_at=["x"], amount=[1.0]),
    )
    tables["orders"]["discount"] = [0.0, 1.0]
    recorded = RECORDED | {"orders": RECORDED["orders"] | {"cost": 1.0}}
    said = check_model_inputs(recorded, tables, strict=False)
    assert [note.split(": the model")[0] for note in said] == [
        "table returns: in this data, not in the model's training data",
        "orders.cost: a value on 50% of the rows, 100% in the model's training data",
        "orders.discount: in this data, not in the model's training data",
    ]  # what each new input does to the scores: tests/pipelines/test_seam_round16.py
    with pytest.raises(StructuralError, match=r"--strict: .*orders.discount"):
        check_model_inputs(recorded, tables, strict=True)
    assert check_model_inputs(None, tables, strict=True) == []  # a model from before the record


def test_check_model_inputs_names_tables_whose_rows_were_all_rejected_not_their_columns():
    """Every order rejected (a customers table naming none of their customers) left tables without a row: the
    message names the tables and points at the rejected counts (was: every column of them listed as "had a
    value on most training rows and have none in this data", a missing export)."""
    tables = _tables([1.0, 1.0])
    tables["orders"] = tables["orders"].iloc[:0]
    with pytest.raises(StructuralError, match=r"table\(s\) orders have no accepted row") as err:
        check_model_inputs(RECORDED, tables, strict=False)
    assert "have none in this data" not in str(err.value) and "unknown customer_id" in str(err.value)


def test_an_input_never_filled_a_rowless_table_and_a_rarely_filled_column_are_said_in_their_own_words():
    """A column nobody filled in training nor here says nothing (was:
    "account_managers.left_at: a value on 0% of the rows, 0% in the model's training data", and `--strict`
    refused the demo model's own training data); a table without a row in training is said once (was: one
    "emptied" warning per column, seven for tickets), its columns emptied as trained; a column filled on few
    training rows and on most rows here is said, and `--strict` refuses it (was: nothing, nor a build as
    trained)."""
    from features.as_trained import AsTrained, as_trained_plan

    managers = {"account_managers": {"started_at": 1.0, "left_at": 0.0}}
    tickets_recorded = {"tickets": dict.fromkeys(["ticket_id", "customer_id", "kind", "satisfaction"], 0.0)}
    present = (
        managers
        | {"tickets": dict.fromkeys(["ticket_id", "customer_id", "kind", "satisfaction"], 1.0)}
        | {"orders": {"order_id": 1.0, "cost": 0.97}}
    )
    recorded = managers | tickets_recorded | {"orders": {"order_id": 1.0, "cost": 0.02}}
    rows = {t: pd.DataFrame(index=[0]) for t in recorded}  # the shares are `present`'s
    assert check_model_inputs(managers, rows, True, managers) == []
    notes = check_model_inputs(recorded, rows, False, present)
    assert [n.split(": the model")[0] for n in notes] == [
        "table tickets had no row in the model's training data",
        "orders.cost: a value on 97% of the rows, only 2% in the model's training data",
    ]
    with pytest.raises(
        StructuralError, match=r"--strict: .*orders.cost: a value on 97% of the rows, only 2%"
    ):
        check_model_inputs(recorded, rows, True, present)
    cols = ("ticket_id", "customer_id", "kind", "satisfaction")
    assert as_trained_plan(recorded, present) == AsTrained(emptied=tuple(("tickets", c) for c in cols))


def test_the_warnings_and_the_as_trained_plan_read_one_comparison():
    """`input_differences`: the one comparison `check_model_inputs`' warnings and `as_trained_plan` both read (was:
    two copies of the rule)."""
    from features.model_inputs import input_differences

    managers = {"account_managers": {"started_at": 1.0, "left_at": 0.0}}
    recorded = {"tickets": {"ticket_id": 0.0, "kind": 0.0}, "orders": {"order_id": 1.0, "cost": 0.02}}
    present = {"tickets": {"ticket_id": 1.0, "kind": 0.5}, "orders": {"order_id": 1.0, "cost": 0.97}}
    kinds = [(d.kind, d.table, d.column) for d in input_differences(recorded, present)]
    assert kinds == [("rowless", "tickets", None), ("few", "orders", "cost")]
    assert input_differences(recorded, present)[0].columns == (
        "ticket_id",
        "kind",
    )  # those filled here: emptied
    rows = {t: pd.DataFrame(index=[0]) for t in recorded}
    assert len(check_model_inputs(recorded, rows, False, present)) == 2  # one warning per difference
    # a table with rows whose optional inputs were all empty in training is not "rowless"
    assert [
        d.kind for d in input_differences(managers, {"account_managers": {"started_at": 1.0, "left_at": 0.6}})
    ] == ["emptied"]
