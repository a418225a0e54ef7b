"""Issue 14: the raw score summed in the TreeSHAP pass has LightGBM's bits (`predict(raw_score=True)`), on hostile
trees (missing values, categories, zero-as-missing, leaves without tables, paths past the pattern bits), and
scoring falls back to LightGBM's own prediction whenever it does not."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

import models.explain as explain
from models.explain import explain_booster, explain_with_raw
from models.treeshap import TreeShapExplainer
from tests.models.test_treeshap import (
    HAND_TREE,
    LGBM_PARAMS,
    SEED,
    _DumpOnlyBooster,
    make_frame,
    make_target,
    row_path_forest,
)


def _hostile_frame(n_rows: int, seed: int) -> pd.DataFrame:
    """NaNs, exact zeros, values within LightGBM's zero threshold, -0.0, and unseen or missing categories."""
    frame = make_frame(n_rows=n_rows, n_numeric=8, n_categorical=2, nan_frac=0.15, seed=seed)
    rng = np.random.default_rng(seed)
    for j, value in enumerate((1e-36, -1e-36, -0.0)):
        col = frame[f"num_{j}"].to_numpy().copy()
        col[rng.random(n_rows) < 0.1] = value
        frame[f"num_{j}"] = col
    return frame


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return _hostile_frame(3000, SEED)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """Rows to predict: as hostile, and one category column with a level training never saw (LightGBM and the
    explainer both read it as missing)."""
    frame = _hostile_frame(4000, SEED + 10)
    unseen = frame["cat_0"].cat.add_categories(["unseen"])
    unseen[np.arange(len(frame)) % 7 == 0] = "unseen"
    frame["cat_0"] = unseen
    return frame


def _assert_raw_bits(model: lgb.LGBMModel, frame: pd.DataFrame, explainer: TreeShapExplainer) -> None:
    values, raw = explainer.shap_values_and_raw(frame)
    np.testing.assert_array_equal(values, explainer.shap_values(frame))
    expected = model.booster_.predict(frame, raw_score=True)
    assert raw is not None
    assert np.array_equal(raw, expected), f"{int((raw != expected).sum())} rows differ"


@pytest.mark.parametrize(
    "params",
    [
        {"objective": "huber"},
        {"objective": "regression", "zero_as_missing": True},
        {"objective": "regression", "use_missing": False},
    ],
)
def test_regression_raw_score_has_lightgbms_bits(train, rows, params) -> None:
    model = lgb.LGBMRegressor(n_estimators=80, num_leaves=31, **params, **LGBM_PARAMS)
    model.fit(train, make_target(train, SEED))
    assert "==" in set(model.booster_.trees_to_dataframe()["decision_type"].dropna())
    _assert_raw_bits(model, rows, TreeShapExplainer(model))


def test_binary_raw_score_has_lightgbms_bits(train, rows) -> None:
    y = (make_target(train, SEED + 1) > 0).astype(int)
    model = lgb.LGBMClassifier(n_estimators=80, num_leaves=15, **LGBM_PARAMS).fit(train, y)
    _assert_raw_bits(model, rows, TreeShapExplainer(model))


def test_a_best_iteration_is_honoured_as_lightgbm_predicts(train, rows) -> None:
    model = lgb.LGBMRegressor(n_estimators=60, learning_rate=0.3, **LGBM_PARAMS)
    model.fit(train, make_target(train, SEED + 2))
    model.booster_.best_iteration = 25  # what early stopping leaves: predict and dump_model stop there
    assert not np.array_equal(
        model.booster_.predict(rows, raw_score=True),
        model.booster_.predict(rows, raw_score=True, num_iteration=60),
    )
    _assert_raw_bits(model, rows, TreeShapExplainer(model))


def test_leaves_without_tables_and_row_by_row_trees_keep_the_bits(monkeypatch) -> None:
    model, _, explainer = row_path_forest(monkeypatch)
    rows = make_frame(n_rows=3000, n_numeric=14, n_categorical=2, nan_frac=0.05, seed=SEED + 13)
    _assert_raw_bits(model, rows, explainer)


def test_a_forest_with_constant_trees_gives_no_raw_score() -> None:
    constant = {"num_leaves": 1, "tree_structure": {"leaf_value": 0.25}}
    frame = pd.DataFrame({"x0": [1.0, np.nan], "x1": [2.0, 1.0]})
    assert TreeShapExplainer(_DumpOnlyBooster([HAND_TREE])).shap_values_and_raw(frame)[1].tolist() == [
        6.0,
        3.0,
    ]
    assert TreeShapExplainer(_DumpOnlyBooster([constant, HAND_TREE])).shap_values_and_raw(frame)[1] is None


def _predicted_rows(monkeypatch) -> list[int]:
    seen: list[int] = []
    original = lgb.Booster.predict

    def spy(self, data, *args, **kwargs):
        if kwargs.get("raw_score"):
            seen.append(len(data))
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(lgb.Booster, "predict", spy)
    return seen


def test_explain_with_raw_predicts_only_the_checked_head(train, rows, monkeypatch) -> None:
    model = lgb.LGBMRegressor(n_estimators=40, **LGBM_PARAMS).fit(train, make_target(train, SEED))
    seen = _predicted_rows(monkeypatch)
    contrib, raw = explain_with_raw(model, rows, expected_check_rows=5)
    assert seen == [explain._RAW_CHECK_ROWS]  # was every row: len(rows)
    assert np.array_equal(raw, model.booster_.predict(rows, raw_score=True))
    pd.testing.assert_frame_equal(contrib, explain_booster(model, rows, expected_check_rows=5))


@pytest.mark.parametrize("row", [0, -1], ids=["the first row", "the last row"])
def test_a_raw_score_off_in_the_last_bit_falls_back_to_lightgbm(train, rows, monkeypatch, row) -> None:
    """The bit-for-bit check samples rows across the whole frame (rows come sorted by customer id), the first and
    last included: a raw score off on the last row only falls back too (was: only the first 1,024 rows compared,
    the last row's wrong raw score returned). A row between two sampled ones is not compared (a sample)."""
    model = lgb.LGBMRegressor(n_estimators=40, **LGBM_PARAMS).fit(train, make_target(train, SEED))
    exact = explain._exact_contributions

    def off(booster, frame):
        values, raw = exact(booster, frame)
        raw = raw.copy()
        raw[row] = np.nextafter(raw[row], np.inf)
        return values, raw

    monkeypatch.setattr(explain, "_exact_contributions", off)
    seen = _predicted_rows(monkeypatch)
    _, raw = explain_with_raw(model, rows, expected_check_rows=0)
    assert seen == [explain._RAW_CHECK_ROWS, len(rows)]
    assert np.array_equal(raw, model.booster_.predict(rows, raw_score=True))
