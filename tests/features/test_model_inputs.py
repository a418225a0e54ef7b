"""Which contract columns shape what the models see (`Column.model_input`): the declaration the train/score seam
holds scoring data to (`features.contract.check_model_inputs`). Checked against the feature code itself: dropping
a declared column changes the feature table or the customers' statuses, dropping any other optional column changes
neither."""

from __future__ import annotations

import pandas as pd
import pytest

from features import build_feature_table
from features.contract import TABLES, check_model_inputs, model_inputs
from features.errors import StructuralError
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


def test_model_inputs_lists_present_input_columns_per_table():
    got = model_inputs(
        {
            "orders": ["order_id", "customer_id", "ordered_at", "revenue", "cost", "channel"],
            "account_managers": ["account_manager_id", "name"],  # the id alone shapes nothing
            "not_a_table": ["x"],
        }
    )
    assert got == {"orders": ["order_id", "customer_id", "ordered_at", "revenue", "cost"]}


def test_check_model_inputs_refuses_missing_and_reports_extra():
    recorded = {"orders": ["order_id", "customer_id", "ordered_at", "revenue"], "tickets": ["ticket_id"]}
    with pytest.raises(StructuralError, match=r"table\(s\) tickets"):
        check_model_inputs(recorded, {"orders": recorded["orders"]}, strict=False)
    with_cost = {"orders": [*recorded["orders"], "cost"], "tickets": ["ticket_id"], "returns": ["return_id"]}
    assert check_model_inputs(recorded, with_cost, strict=False) == [
        "table returns: in this data, not in the model's training data",
        "orders.cost: in this data, not in the model's training data",
    ]
    with pytest.raises(StructuralError, match=r"--strict: .*orders.cost"):
        check_model_inputs(recorded, with_cost, strict=True)
    assert check_model_inputs(None, {"orders": []}, strict=True) == []  # a model from before the record
