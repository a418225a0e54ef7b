"""A training's MLflow params on its input rows (`pipelines.rejected_rows.training_params`) for any source name a
mapping may declare: free text, so keys MLflow takes and two sources never one key."""

from __future__ import annotations

import pytest


def _summary(names):
    src = {"in": 10, "accepted": 9, "rejected": 1, "rejected_by_reason": {"missing customer_id": 1}}
    return {
        "rows": {"orders": {"in": 9, "accepted": 9, "rejected": 0}},
        "source_rows": dict.fromkeys(names, src),
    }


NAMES = [
    "orders",
    "lines (2011)",  # was: refused by MLflow after the fit, `cvp train` failing
    "lines [2011]",
    "lines/2011",
    "a/../b",
    "l:2011",
    "ventes été",
    "x" * 300,
    "x" * 299 + "y",
    "lines _2011_",
    "lines _2011_-0123456789",
]


def test_every_source_name_gives_params_mlflow_takes_and_distinct_ones():
    from mlflow.utils.validation import _validate_length_limit, _validate_param_name

    from pipelines.rejected_rows import training_params

    params = training_params(_summary(NAMES))
    assert len(params) == 2 + 3 * len(NAMES)  # no two sources share a key
    for key in params:
        _validate_param_name(key)  # raises on a key MLflow refuses
        assert _validate_length_limit("Param key", 250, key) == key
    assert params["rows_in.source.orders"] == 10 and params["rows_rejected.source.orders"] == 1


@pytest.mark.parametrize("name", NAMES)
def test_a_source_param_name_is_the_name_when_mlflow_takes_it(name):
    from pipelines.rejected_rows import param_name

    key = param_name(name)
    if name in ("orders", "lines _2011_"):
        assert key == name
    else:
        assert key != name and key == param_name(name)  # the same name, the same key in every run
