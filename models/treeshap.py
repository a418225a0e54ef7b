"""Exact path-dependent TreeSHAP for LightGBM models, fast enough to explain every customer.

The explainer reproduces ``booster.predict(X, pred_contrib=True)`` (which is also what
``shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")`` returns for LightGBM) to
floating-point round-off, for regression objectives and the binary objective in raw (log-odds) space.

Table contract of :meth:`TreeShapExplainer.shap_values`
    in:  one row per entity (e.g. one customer at one cutoff), columns = the model's features in training
         order; numeric columns are read as float64 (NaN = missing), ``category`` columns are re-coded to the
         categories seen at fit and read as their codes (code -1, i.e. missing, becomes NaN), exactly as
         LightGBM does at predict time. No time semantics: rows are scored as given.
    out: ``float64`` array of shape ``(n_rows, n_features + 1)``, same row order; column ``j < n_features`` is
         feature ``j``'s contribution in raw score units, the last column is the expected value (bias), and
         every row sums to ``booster.predict(X, raw_score=True)``.

How it is fast (the "v2" idea of Yang 2021, *Fast TreeSHAP*). Path-dependent TreeSHAP is a sum over leaves.
For a leaf whose root-to-leaf path splits on ``d`` distinct features, write ``z_i`` for the product of the
cover ratios (``child count / parent count``) at the splits on feature ``i`` and ``o_i`` for whether the row
follows the path's direction at *all* those splits. The leaf's contribution to feature ``j`` is

    phi_j = v * (o_j - z_j) * sum_{S subset F minus j} w(|S|, d) * prod_{i in S} o_i * prod_{i not in S, i != j} z_i

with Shapley weights ``w(s, d) = s! (d - 1 - s)! / d!``. It depends on the row only through the pattern
``P = {i : o_i = 1}``, so each leaf gets a table of ``2**d x d`` contributions, built once per model. A row
then costs one pass over the tree's split decisions (propagating the pattern bits down the tree) and one
table row per leaf. With ``e_t(Q)`` the elementary symmetric polynomials of the ``z`` over ``Q``,
``g(Q) = sum_t w(|Q| - t, d) e_t(Q)`` and ``zc(P) = prod_{i not in P} z_i`` the table entries are

    j in P:      v * (1 - z_j) * zc(P) * g(P minus j)
    j not in P:  -v * zc(P) * g(P)

Tables grow as ``2**d * d``; a tree with any leaf whose ``d`` exceeds ``max_path_features`` is a *fallback
tree*: its over-long leaves evaluate the same formula per row in ``O(d**2)`` (the ordinary TreeSHAP cost) from
the same pattern bits, in the same blocks, its other leaves still use tables. Only a tree with a path on more
than 62 distinct features (more than an int64 of pattern bits) is explained row by row. Decisions follow LightGBM's ``Tree::NumericalDecision`` and
``Tree::CategoricalDecision`` exactly, with ``internal_count``/``leaf_count`` as cover.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from models.threads import prediction_threads
from models.treeshap_forest import _FlatForest, _flatten_forest
from models.treeshap_kernels import NUMBA_CACHE_DIR, _build_tables, _explain, use_user_numba_cache

__all__ = ["NUMBA_CACHE_DIR", "TreeShapExplainer", "use_user_numba_cache", "warm_up_jit"]

_SUPPORTED_OBJECTIVES = frozenset(
    "regression regression_l1 huber fair poisson quantile mape gamma tweedie binary".split()
)
# 2**20 * 20 doubles = 168 MB for a single leaf table: anything larger is no longer a speed-up.
_MAX_TABLE_PATH_FEATURES = 20
#: The leaf tables of one explainer hold at most this many bytes: the cap on a table's features (``d``) is lowered
#: until they fit. A deep model (trained on 2,000 demo customers: paths on up to 21 features) took 1,774 MB of
#: tables at the cap of 14, building them 3.3 s, to explain 1,456 customers (RSS 2.2 GB); at 12 it takes 466 MB and
#: 0.5 s, its longer leaves explained per row. The bench model of 1M customers (414 MB) keeps its cap.
_TABLE_BUDGET_BYTES = 512 * 2**20
# Rows per block inside a thread's chunk: large enough that each tree's nodes and tables are reused across many rows
# (measured: 1024 rows ~2.5x faster than 32 rows), small enough that the block's working set stays in L2.
_ROW_BLOCK = 1024
_MAX_THREADS = 8


def _n_threads() -> int:
    """The threads this process may use (`models.threads.prediction_threads`: its CPU affinity, at most
    `OMP_NUM_THREADS`, so a Spark worker beside others explains on one), at most `_MAX_THREADS`."""
    return max(1, min(_MAX_THREADS, prediction_threads()))


def _cap_within_budget(leaf_d: np.ndarray, cap: int, budget_bytes: int) -> int:
    """The largest table cap at most `cap` whose leaf tables (``2**d * d`` doubles for each leaf with ``d`` at most
    the cap) fit in `budget_bytes` (0 when none does: every leaf then explained without a table)."""
    counts = np.bincount(leaf_d[leaf_d <= cap], minlength=cap + 1)
    depth = np.arange(cap + 1, dtype=np.int64)
    cumulative = np.cumsum(counts * (np.left_shift(np.int64(1), depth) * depth * 8))
    fitting = np.flatnonzero(cumulative <= budget_bytes)
    return int(fitting[-1]) if fitting.size else 0


def _run_threaded(tasks: list[Callable[[], None]]) -> None:
    if len(tasks) == 1:
        tasks[0]()
        return
    with ThreadPoolExecutor(max_workers=len(tasks)) as pool:
        for future in [pool.submit(task) for task in tasks]:
            future.result()


def _compute_tables(forest: _FlatForest) -> np.ndarray:
    tables = np.empty(forest.table_size, dtype=np.float64)
    leaf_ids = np.flatnonzero(forest.leaf_table_off >= 0).astype(np.int64)
    # Largest tables first, dealt round-robin, so the threads get similar work.
    leaf_ids = leaf_ids[np.argsort(-forest.leaf_d[leaf_ids], kind="stable")]
    n_threads = _n_threads() if leaf_ids.size > 256 else 1
    _run_threaded(
        [
            partial(
                _build_tables,
                np.ascontiguousarray(leaf_ids[i::n_threads]),
                forest.leaf_d,
                forest.leaf_table_off,
                forest.leaf_slot_off,
                forest.slot_z,
                forest.leaf_value,
                tables,
            )
            for i in range(n_threads)
        ]
    )
    return tables


def _run_explain(
    forest: _FlatForest, tables: np.ndarray, x: np.ndarray, n_features: int
) -> tuple[np.ndarray, np.ndarray]:
    """(contributions, raw score: each row's leaves summed in tree order; without the constant trees)."""
    n_rows = x.shape[0]
    out = np.zeros((n_rows, n_features + 1), dtype=np.float64)
    pred = np.zeros(n_rows, dtype=np.float64)
    if forest.tree_int_off.size and n_rows:
        n_threads = min(_n_threads(), -(-n_rows // 64))
        # Contiguous row chunks, one per thread; each is a C-contiguous view so the kernel signature is shared.
        bounds = np.linspace(0, n_rows, n_threads + 1).astype(np.int64)
        _run_threaded(
            [
                partial(_explain_rows, forest, tables, x[lo:hi], out[lo:hi], pred[lo:hi])
                for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)
            ]
        )
    out[:, n_features] = forest.expected_value
    return out, pred


def _explain_rows(
    forest: _FlatForest, tables: np.ndarray, x: np.ndarray, out: np.ndarray, pred: np.ndarray
) -> None:
    _explain(
        x,
        out,
        pred,
        _ROW_BLOCK,
        forest.tree_int_off,
        forest.tree_n_int,
        forest.tree_leaf_off,
        forest.tree_n_leaf,
        forest.tree_fallback,
        forest.tree_row_path,
        forest.node_feature,
        forest.node_threshold,
        forest.node_kind,
        forest.node_special_left,
        forest.node_cat_off,
        forest.node_cat_len,
        forest.cat_member,
        forest.node_left,
        forest.node_right,
        forest.node_bit,
        forest.leaf_value,
        forest.leaf_d,
        forest.leaf_table_off,
        forest.leaf_slot_off,
        forest.slot_feature,
        forest.slot_z,
        forest.leaf_path_off,
        forest.leaf_path_len,
        forest.path_node,
        forest.path_slot,
        forest.path_left,
        tables,
        forest.max_int,
        forest.max_d,
    )


# --------------------------------------------------------------------------------------------------------
# public API


def _resolve_booster(model: Any) -> Any:
    booster = getattr(model, "booster_", model)
    if not hasattr(booster, "dump_model"):
        raise TypeError(f"expected a lightgbm.Booster or a fitted LGBMModel, got {type(model).__name__}")
    return booster


def _check_objective(dump: dict[str, Any]) -> None:
    objective = str(dump.get("objective", "")).split(" ")[0]
    if int(dump.get("num_tree_per_iteration", 1)) != 1 or objective not in _SUPPORTED_OBJECTIVES:
        raise ValueError(
            f"TreeShapExplainer supports regression and binary LightGBM models only, got objective "
            f"{dump.get('objective')!r} with {dump.get('num_tree_per_iteration')} trees per iteration"
        )
    if dump.get("average_output"):
        raise ValueError("random-forest LightGBM models (average_output) are not supported")


class TreeShapExplainer:
    """Exact path-dependent TreeSHAP for a fitted lightgbm.Booster (or LGBMModel), fast.

    Construction flattens the booster (``dump_model()``, honouring ``best_iteration`` like ``predict``) and
    precomputes the per-leaf pattern tables. Attributes after construction: ``n_trees``, ``n_fallback_trees``
    (trees with at least one leaf whose path has more than ``max_path_features`` distinct features and is
    therefore evaluated per row without a table), ``n_fallback_leaves``, ``table_bytes`` (memory held by the
    tables).
    """

    def __init__(
        self, model: Any, max_path_features: int = 14, table_budget_bytes: int = _TABLE_BUDGET_BYTES
    ) -> None:
        """Flatten ``model`` and build the tables; ``max_path_features`` caps ``d`` for a table (memory ``2**d * d``),
        lowered until the tables fit in ``table_budget_bytes`` (the cap kept is ``self.max_path_features``)."""
        if not 0 <= max_path_features <= _MAX_TABLE_PATH_FEATURES:
            raise ValueError(f"max_path_features must be in [0, {_MAX_TABLE_PATH_FEATURES}]")
        booster = _resolve_booster(model)
        dump = booster.dump_model()
        _check_objective(dump)
        self.feature_names: list[str] = list(dump["feature_names"])
        self._pandas_categorical: list[list[Any]] | None = getattr(booster, "pandas_categorical", None)
        self._forest = _flatten_forest(dump["tree_info"], max_path_features)
        cap = _cap_within_budget(self._forest.leaf_d, max_path_features, table_budget_bytes)
        if cap < max_path_features:
            self._forest = _flatten_forest(dump["tree_info"], cap)
        self.max_path_features = cap
        self._tables = _compute_tables(self._forest)
        forest = self._forest
        self.n_trees = int(forest.tree_int_off.size + forest.n_const_trees)
        self.n_fallback_trees = int(forest.tree_fallback.sum())
        self.n_fallback_leaves = int((forest.leaf_table_off < 0).sum())
        self.table_bytes = int(self._tables.nbytes)

    @property
    def expected_value(self) -> float:
        """Cover-weighted mean raw score of the ensemble (the bias column of :meth:`shap_values`)."""
        return self._forest.expected_value

    def _to_matrix(self, X: pd.DataFrame) -> np.ndarray:
        """Float64 row-major matrix as LightGBM's pandas path builds it (category codes, -1 -> NaN)."""
        if not isinstance(X, pd.DataFrame):
            raise TypeError("X must be a pandas DataFrame with the model's feature columns")
        if list(X.columns) != self.feature_names:
            raise ValueError(
                f"X columns must be the model's features in order: expected {self.feature_names}, "
                f"got {list(X.columns)}"
            )
        cat_cols = [col for col in X.columns if isinstance(X[col].dtype, pd.CategoricalDtype)]
        train_cats = self._pandas_categorical or []
        if cat_cols and len(train_cats) != len(cat_cols):
            raise ValueError(
                f"X has {len(cat_cols)} category columns but the model was fit with {len(train_cats)}"
            )
        fit_categories = dict(zip(cat_cols, train_cats, strict=False))
        # Feature-major first (each column written contiguously), then one transposing copy to the rows the
        # kernels read: writing each column straight into a row-major matrix strides over it (issue 14: 3x).
        xt = np.empty((X.shape[1], len(X)), dtype=np.float64)
        for j, col in enumerate(X.columns):
            series = X[col]
            if col in fit_categories:
                if list(series.cat.categories) != list(fit_categories[col]):
                    # LightGBM re-codes against the fit-time categories; unseen values become missing.
                    series = series.cat.set_categories(fit_categories[col])
                codes = series.cat.codes.to_numpy().astype(np.float64)
                codes[codes < 0] = np.nan
                xt[j] = codes
            else:
                try:
                    xt[j] = series.to_numpy(dtype=np.float64, na_value=np.nan)
                except (TypeError, ValueError) as err:
                    raise ValueError(f"column {col!r} is neither numeric nor category") from err
        return np.ascontiguousarray(xt.T)

    def shap_values(self, X: pd.DataFrame) -> np.ndarray:
        """SHAP contributions in raw score units, shape ``(n_rows, n_features + 1)``, last col = expected value."""
        return self.shap_values_and_raw(X)[0]

    def shap_values_and_raw(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`shap_values` and, from the same pass, each row's leaf values summed in tree order from 0.0 (LightGBM's
        raw score, its order and float64 additions); None for a forest with constant trees (their place is lost)."""
        values, raw = _run_explain(self._forest, self._tables, self._to_matrix(X), len(self.feature_names))
        return values, (None if self._forest.n_const_trees else raw)


def warm_up_jit() -> float:
    """Compile the numba kernels on a tiny forest (table and per-row paths); return the seconds spent.

    The kernels are compiled lazily on first use; call this once to keep compilation out of timings.
    """
    import time

    from models.treeshap_tiny import tiny_dump

    start = time.perf_counter()
    x = np.array([[0.0, 0.0], [1.0, 2.0], [np.nan, np.nan]])
    for cap in (0, 2):
        forest = _flatten_forest(tiny_dump(), cap)
        _run_explain(forest, _compute_tables(forest), x, 2)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    """`python -m models.treeshap --warm`: compile the kernels into the cache once (the Makefile's setup step runs it),
    so the first scoring run does not pay the compile."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m models.treeshap", description=main.__doc__)
    parser.add_argument(
        "--warm", action="store_true", help="compile the explainer kernels into the numba cache"
    )
    args = parser.parse_args(argv)
    if not args.warm:
        parser.error("nothing to do: pass --warm")
    # Import the module by its own name, so the cache is filled for the functions scoring will call.
    from models import treeshap

    seconds = treeshap.warm_up_jit()
    print(f"numba kernels ready in {seconds:.1f} s (cache: {treeshap.NUMBA_CACHE_DIR})")


if __name__ == "__main__":
    main()
