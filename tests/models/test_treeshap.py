"""Exactness of models.treeshap.TreeShapExplainer against LightGBM's pred_contrib and shap.TreeExplainer."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import shap
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.treeshap import TreeShapExplainer
from models.treeshap_tiny import tiny_dump

TOL = 1e-9
SEED = 7


def make_frame(n_rows: int, n_numeric: int, n_categorical: int, nan_frac: float, seed: int) -> pd.DataFrame:
    """Numeric columns with NaNs and zeros, category columns with missing values."""
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for j in range(n_numeric):
        col = rng.normal(size=n_rows)
        col[rng.random(n_rows) < 0.1] = 0.0
        col[rng.random(n_rows) < nan_frac] = np.nan
        data[f"num_{j}"] = col
    for j in range(n_categorical):
        levels = [f"l{k}" for k in range(3 + 4 * j)]
        codes = rng.integers(-1, len(levels), size=n_rows)  # -1 = missing
        data[f"cat_{j}"] = pd.Categorical.from_codes(codes, categories=levels)
    return pd.DataFrame(data)


def make_target(frame: pd.DataFrame, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = rng.normal(scale=0.3, size=len(frame))
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            y += (frame[col].cat.codes.to_numpy() % 3) - 1.0
        else:
            y += np.sin(2.0 * np.nan_to_num(frame[col].to_numpy(), nan=-1.5))
    return y


def shap_matrix(model: lgb.LGBMModel, frame: pd.DataFrame) -> np.ndarray:
    """shap's path-dependent values as (n_rows, n_features + 1), positive class for binary models."""
    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    values = np.asarray(explainer.shap_values(frame))
    if values.ndim == 3:  # shap's binary output shape has changed across versions
        values = values[-1] if values.shape[0] == 2 else values[..., -1]
    expected = np.ravel(explainer.expected_value)[-1]
    return np.column_stack([values, np.full(len(frame), expected)])


def assert_exact(model: lgb.LGBMModel, frame: pd.DataFrame, explainer: TreeShapExplainer) -> np.ndarray:
    values = explainer.shap_values(frame)
    booster = model.booster_
    assert values.shape == (len(frame), frame.shape[1] + 1)
    np.testing.assert_allclose(values, booster.predict(frame, pred_contrib=True), rtol=0, atol=TOL)
    np.testing.assert_allclose(values.sum(axis=1), booster.predict(frame, raw_score=True), rtol=0, atol=TOL)
    np.testing.assert_allclose(values[:, -1], explainer.expected_value, rtol=0, atol=0)
    return values


# ------------------------------------------------------------------------------------------------------
# a hand-computed tree


class _DumpOnlyBooster:
    """Stands in for a lightgbm.Booster: the explainer only reads dump_model() and pandas_categorical."""

    pandas_categorical = None

    def __init__(self, tree_info: list[dict[str, Any]], objective: str = "regression") -> None:
        self._dump = {
            "objective": objective,
            "num_tree_per_iteration": 1,
            "feature_names": ["x0", "x1"],
            "average_output": False,
            "tree_info": tree_info,
        }

    def dump_model(self) -> dict[str, Any]:
        return self._dump


# x0 <= 0.5 (NaN left) ? 3.0 : (x1 in {0, 2} ? 6.0 : 0.0), two training rows per leaf.
HAND_TREE = tiny_dump((3.0, 6.0, 0.0))[0]


@pytest.mark.parametrize("max_path_features", [0, 1, 2])
def test_hand_computed_shapley_values(max_path_features: int) -> None:
    # E = (3 + 6 + 0) / 3 = 3. Row (1, 2) lands on 6: f({x0}) = 3, f({x1}) = 2/6*3 + 4/6*6 = 5,
    # so phi0 = ((3-3) + (6-5)) / 2 = 0.5 and phi1 = ((5-3) + (6-3)) / 2 = 2.5.
    # Row (NaN, NaN) lands on 3 (NaN left at x0; NaN is never in a category set): f({x0}) = 3,
    # f({x1}) = 2/6*3 + 4/6*0 = 1, so phi0 = ((3-3) + (3-1)) / 2 = 1 and phi1 = ((1-3) + (3-3)) / 2 = -1.
    # Row (1, 1) lands on 0: f({x0}) = 3, f({x1}) = 1: phi0 = ((3-3) + (0-1)) / 2 = -0.5, phi1 = -2.5.
    explainer = TreeShapExplainer(_DumpOnlyBooster([HAND_TREE]), max_path_features=max_path_features)
    frame = pd.DataFrame({"x0": [1.0, np.nan, 1.0], "x1": [2.0, np.nan, 1.0]})
    expected = np.array([[0.5, 2.5, 3.0], [1.0, -1.0, 3.0], [-0.5, -2.5, 3.0]])
    np.testing.assert_allclose(explainer.shap_values(frame), expected, rtol=0, atol=1e-12)
    assert explainer.n_fallback_trees == (1 if max_path_features < 2 else 0)


def test_constant_tree_only_moves_the_expected_value() -> None:
    constant = {"num_leaves": 1, "tree_structure": {"leaf_value": 0.25}}
    explainer = TreeShapExplainer(_DumpOnlyBooster([constant, HAND_TREE, constant]))
    values = explainer.shap_values(pd.DataFrame({"x0": [1.0], "x1": [2.0]}))
    assert explainer.expected_value == pytest.approx(3.5, abs=1e-12)
    np.testing.assert_allclose(values, [[0.5, 2.5, 3.5]], rtol=0, atol=1e-12)
    assert explainer.n_trees == 3


# ------------------------------------------------------------------------------------------------------
# real LightGBM models


# One LightGBM thread: its OpenMP workers would otherwise spin against numba's on a 2-core runner.
LGBM_PARAMS = {"random_state": SEED, "verbose": -1, "n_jobs": 1}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame(n_rows=2000, n_numeric=6, n_categorical=2, nan_frac=0.1, seed=SEED)


@pytest.fixture(scope="module")
def regressor(frame: pd.DataFrame) -> lgb.LGBMRegressor:
    return lgb.LGBMRegressor(n_estimators=60, num_leaves=31, **LGBM_PARAMS).fit(
        frame, make_target(frame, SEED)
    )


def test_regressor_matches_pred_contrib_and_shap(frame: pd.DataFrame, regressor: lgb.LGBMRegressor) -> None:
    model = regressor
    explainer = TreeShapExplainer(model)
    values = assert_exact(model, frame, explainer)
    np.testing.assert_allclose(values, shap_matrix(model, frame), rtol=0, atol=TOL)
    assert explainer.n_fallback_trees == 0
    # The model really uses categorical splits and routes missing values.
    decision_types = set(model.booster_.trees_to_dataframe()["decision_type"].dropna())
    assert "==" in decision_types


def test_binary_classifier_matches_in_log_odds(frame: pd.DataFrame) -> None:
    y = (make_target(frame, SEED + 1) > 0).astype(int)
    model = lgb.LGBMClassifier(n_estimators=60, num_leaves=15, **LGBM_PARAMS).fit(frame, y)
    explainer = TreeShapExplainer(model)
    values = assert_exact(model, frame, explainer)
    np.testing.assert_allclose(values, shap_matrix(model, frame), rtol=0, atol=TOL)


def test_zero_as_missing_splits_are_followed(frame: pd.DataFrame) -> None:
    model = lgb.LGBMRegressor(n_estimators=30, zero_as_missing=True, **LGBM_PARAMS)
    model.fit(frame, make_target(frame, SEED))
    assert_exact(model, frame, TreeShapExplainer(model))


def test_deep_trees_use_the_per_row_fallback_and_stay_exact() -> None:
    frame = make_frame(n_rows=2000, n_numeric=14, n_categorical=2, nan_frac=0.05, seed=SEED + 2)
    model = lgb.LGBMRegressor(
        n_estimators=10, num_leaves=200, max_depth=-1, min_child_samples=2, learning_rate=0.3, **LGBM_PARAMS
    ).fit(frame, make_target(frame, SEED + 2))
    explainer = TreeShapExplainer(model, max_path_features=6)
    assert explainer.n_fallback_trees > 0
    assert explainer.n_fallback_leaves > 0
    values = assert_exact(model, frame, explainer)
    # A budget for the tables lowers the cap until they fit (a deep model took 1.8 GB of tables); still exact.
    budget = explainer.table_bytes // 4
    bounded = TreeShapExplainer(model, max_path_features=6, table_budget_bytes=budget)
    one_more = TreeShapExplainer(model, bounded.max_path_features + 1)
    assert 0 < bounded.table_bytes <= budget < one_more.table_bytes
    assert bounded.n_fallback_leaves > explainer.n_fallback_leaves
    np.testing.assert_allclose(bounded.shap_values(frame.iloc[:400]), values[:400], rtol=0, atol=TOL)


def test_fallback_leaves_give_each_row_its_own_bits_in_any_block() -> None:
    """Leaves without a table compute each distinct pattern of a block once and hand it to the block's rows with
    it: a row's contributions have the same bits alone, in a block of repeated rows, or in a block of others."""
    frame = make_frame(n_rows=600, n_numeric=14, n_categorical=2, nan_frac=0.05, seed=SEED + 2)
    model = lgb.LGBMRegressor(
        n_estimators=6, num_leaves=200, max_depth=-1, min_child_samples=2, learning_rate=0.3, **LGBM_PARAMS
    ).fit(frame, make_target(frame, SEED + 2))
    explainer = TreeShapExplainer(model, max_path_features=4)
    assert explainer.n_fallback_leaves > 0
    together = explainer.shap_values(frame)
    repeated = frame.iloc[np.random.default_rng(SEED).integers(0, 40, size=900)]
    alone = np.vstack([explainer.shap_values(frame.iloc[[i]]) for i in range(40)])
    np.testing.assert_array_equal(together[:40], alone)
    np.testing.assert_array_equal(explainer.shap_values(repeated), together[repeated.index.to_numpy()])


def row_path_forest(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[lgb.LGBMRegressor, pd.DataFrame, TreeShapExplainer]:
    """A model, its training frame and an explainer of it with both leaves without a table (explained from their
    pattern bits in blocks) and trees whose path is longer than the bits can hold (the per-row path): the bits
    capped at 5 here to reach it."""
    from models import treeshap_forest

    frame = make_frame(n_rows=1500, n_numeric=14, n_categorical=2, nan_frac=0.05, seed=SEED + 3)
    model = lgb.LGBMRegressor(
        n_estimators=8, num_leaves=16, max_depth=-1, min_child_samples=2, learning_rate=0.3, **LGBM_PARAMS
    ).fit(frame, make_target(frame, SEED + 3))
    monkeypatch.setattr(treeshap_forest, "_MAX_PATTERN_BITS", 5)
    explainer = TreeShapExplainer(model, max_path_features=2)
    forest = explainer._forest
    assert forest.tree_row_path.any() and not forest.tree_row_path.all()
    assert (forest.tree_fallback.astype(bool) & ~forest.tree_row_path.astype(bool)).any()
    return model, frame, explainer


def test_paths_longer_than_the_pattern_bits_are_explained_row_by_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leaves without a table are explained from their pattern bits in blocks; a tree with a path longer than the
    bits can hold takes the per-row path. Both stay exact (bits capped at 5 here to reach the per-row path)."""
    model, frame, explainer = row_path_forest(monkeypatch)
    assert_exact(model, frame, explainer)


def test_table_less_leaves_keep_their_bits_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Explaining the leaves without a table inside the row blocks adds the very same numbers in the very same
    order as the per-row path did: not one bit of a contribution changes (speed changes no output)."""
    from models import treeshap_forest

    frame = make_frame(n_rows=1500, n_numeric=14, n_categorical=2, nan_frac=0.05, seed=SEED + 4)
    model = lgb.LGBMRegressor(
        n_estimators=12, num_leaves=16, max_depth=-1, min_child_samples=2, learning_rate=0.3, **LGBM_PARAMS
    ).fit(frame, make_target(frame, SEED + 4))
    # Some trees with table-less leaves, some without.
    in_blocks = TreeShapExplainer(model, max_path_features=4)
    assert 0 < in_blocks.n_fallback_trees < in_blocks.n_trees and not in_blocks._forest.tree_row_path.any()
    # Every table-less leaf now sends its tree row by row.
    monkeypatch.setattr(treeshap_forest, "_MAX_PATTERN_BITS", 4)
    row_by_row = TreeShapExplainer(model, max_path_features=4)
    assert row_by_row._forest.tree_row_path.sum() == in_blocks.n_fallback_trees
    np.testing.assert_array_equal(in_blocks.shap_values(frame), row_by_row.shap_values(frame))


def test_categories_are_recoded_to_the_fit_categories(
    frame: pd.DataFrame, regressor: lgb.LGBMRegressor
) -> None:
    model = regressor
    frame = frame.iloc[:500]
    shuffled = frame.assign(cat_1=frame["cat_1"].cat.reorder_categories(frame["cat_1"].cat.categories[::-1]))
    explainer = TreeShapExplainer(model)
    np.testing.assert_allclose(
        explainer.shap_values(shuffled), explainer.shap_values(frame), rtol=0, atol=TOL
    )
    assert_exact(model, shuffled, explainer)


def test_multiclass_is_rejected(frame: pd.DataFrame) -> None:
    y = np.arange(len(frame)) % 3
    model = lgb.LGBMClassifier(n_estimators=2, num_leaves=4, **LGBM_PARAMS).fit(frame, y)
    with pytest.raises(ValueError, match="regression and binary"):
        TreeShapExplainer(model)


def test_wrong_columns_are_rejected(frame: pd.DataFrame, regressor: lgb.LGBMRegressor) -> None:
    with pytest.raises(ValueError, match="model's features in order"):
        TreeShapExplainer(regressor).shap_values(frame[frame.columns[::-1]])


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n_rows=st.integers(60, 400),
    n_numeric=st.integers(1, 5),
    n_categorical=st.integers(0, 2),
    nan_frac=st.sampled_from([0.0, 0.2]),
    num_leaves=st.integers(2, 48),
    n_estimators=st.integers(1, 12),
    min_child_samples=st.integers(1, 20),
    binary=st.booleans(),
    zero_as_missing=st.booleans(),
    max_path_features=st.integers(0, 8),
)
def test_exact_on_random_models(
    seed: int,
    n_rows: int,
    n_numeric: int,
    n_categorical: int,
    nan_frac: float,
    num_leaves: int,
    n_estimators: int,
    min_child_samples: int,
    binary: bool,
    zero_as_missing: bool,
    max_path_features: int,
) -> None:
    frame = make_frame(n_rows, n_numeric, n_categorical, nan_frac, seed)
    y = make_target(frame, seed)
    params = {
        "n_estimators": n_estimators,
        "num_leaves": num_leaves,
        "min_child_samples": min_child_samples,
        "min_data_per_group": 1,
        "cat_smooth": 1.0,
        "zero_as_missing": zero_as_missing,
        "random_state": seed,
        "verbose": -1,
        "n_jobs": 1,
    }
    if binary:
        model: lgb.LGBMModel = lgb.LGBMClassifier(**params).fit(frame, (y > np.median(y)).astype(int))
    else:
        model = lgb.LGBMRegressor(**params).fit(frame, y)
    assert_exact(model, frame, TreeShapExplainer(model, max_path_features=max_path_features))
