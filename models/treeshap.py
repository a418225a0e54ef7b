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

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import numba
import numpy as np
import pandas as pd

from models.threads import prediction_threads

__all__ = ["NUMBA_CACHE_DIR", "TreeShapExplainer", "use_user_numba_cache", "warm_up_jit"]

# LightGBM's kZeroThreshold is the float literal 1e-35f widened to double.
_ZERO_THRESHOLD = float(np.float32(1e-35))
_MISSING_TYPES = frozenset({"None", "Zero", "NaN"})
_SUPPORTED_OBJECTIVES = frozenset(
    "regression regression_l1 huber fair poisson quantile mape gamma tweedie binary".split()
)
# 2**20 * 20 doubles = 168 MB for a single leaf table: anything larger is no longer a speed-up.
_MAX_TABLE_PATH_FEATURES = 20
# Rows per block inside a thread's chunk: large enough that each tree's nodes and tables are reused across many rows
# (measured: 1024 rows ~2.5x faster than 32 rows), small enough that the block's working set stays in L2.
_ROW_BLOCK = 1024
_MAX_THREADS = 8
# Pattern bits are an int64 per row and node: a leaf whose path splits on more distinct features than this
# cannot be tracked by them, and its tree is explained row by row instead of by blocks.
_MAX_PATTERN_BITS = 62


def use_user_numba_cache() -> str:
    """Keep numba's compiled kernels in a per-user cache that survives between runs; return that directory.

    numba's default (`cache=True`) writes next to this file in `__pycache__/`, and silently compiles afresh on
    every run when that directory is read-only (a system or container install). Unless the user chose a place
    (`NUMBA_CACHE_DIR`), the cache goes to `$XDG_CACHE_HOME/cvp/numba` (default `~/.cache/cvp/numba`). Must run
    before the kernels below are decorated: the cache location is fixed when a `cache=True` function is created.
    """
    chosen = os.environ.get("NUMBA_CACHE_DIR")
    if not chosen:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        chosen = os.path.join(base, "cvp", "numba")
        # numba re-reads its settings from the environment when it compiles: keep both in step
        os.environ["NUMBA_CACHE_DIR"] = chosen
    numba.config.CACHE_DIR = chosen  # numba may have been imported (read its settings) before this module
    return chosen


NUMBA_CACHE_DIR = use_user_numba_cache()


@dataclass(frozen=True)
class _FlatForest:
    """A LightGBM ensemble flattened into arrays the numba kernels read.

    Trees keep only their internal nodes in pre-order (parents before children, root = local 0); a child
    pointer is a local id where ``id < n_int`` is an internal node and ``n_int + k`` is the tree's k-th leaf.
    Constant (single-leaf) trees only move the expected value and are not stored.
    """

    tree_int_off: np.ndarray  # int64 [n_trees]: first internal node of the tree in the node arrays
    tree_n_int: np.ndarray  # int64 [n_trees]
    tree_leaf_off: np.ndarray  # int64 [n_trees]: first leaf of the tree in the leaf arrays
    tree_n_leaf: np.ndarray  # int64 [n_trees]
    tree_fallback: np.ndarray  # uint8 [n_trees]: 1 if a leaf of the tree has no table
    tree_row_path: np.ndarray  # uint8 [n_trees]: 1 if a path is too long for pattern bits (row by row)
    node_feature: np.ndarray  # int64 [n_nodes]
    node_threshold: np.ndarray  # float64 [n_nodes]
    node_kind: np.ndarray  # uint8 [n_nodes]: 0 numerical, 1 numerical with missing_type Zero, 2 categorical
    node_special_left: np.ndarray  # uint8 [n_nodes]: numerical: 1 if NaN (and, for kind 1, zero) goes left
    node_cat_off: np.ndarray  # int64 [n_nodes]: start of the node's category membership in cat_member
    node_cat_len: np.ndarray  # int64 [n_nodes]: largest left-going category code + 1
    cat_member: np.ndarray  # uint8: 1 if the category code goes left
    node_left: np.ndarray  # int64 [n_nodes]: local child id
    node_right: np.ndarray  # int64 [n_nodes]
    node_bit: np.ndarray  # int64 [n_nodes]: 1 << (slot of the split feature on the path), tables only
    leaf_value: np.ndarray  # float64 [n_leaves]
    leaf_d: np.ndarray  # int64 [n_leaves]: distinct features on the leaf's path
    leaf_table_off: np.ndarray  # int64 [n_leaves]: start of the 2**d x d table in tables, -1 if none
    leaf_slot_off: np.ndarray  # int64 [n_leaves]: start of the leaf's slots in slot_feature / slot_z
    slot_feature: np.ndarray  # int64: feature index of each path slot
    slot_z: np.ndarray  # float64: product of cover ratios at the splits on the slot's feature
    leaf_path_off: np.ndarray  # int64 [n_leaves]: start of the leaf's splits in path_node / ...
    leaf_path_len: np.ndarray  # int64 [n_leaves]
    path_node: np.ndarray  # int64: local internal node id of each split on the path
    path_slot: np.ndarray  # int64: slot of that split's feature
    path_left: np.ndarray  # uint8: 1 if the path goes left at that split
    table_size: int  # float64 entries needed for all leaf tables
    max_int: int  # most internal nodes in one tree
    max_d: int  # most distinct features on one path
    expected_value: float
    n_const_trees: int


def _parse_categories(threshold: Any) -> list[int]:
    """Category codes of a LightGBM categorical split, dumped as ``"a||b||c"``."""
    return [int(tok) for tok in str(threshold).split("||") if tok != ""]


def _node_count(node: dict[str, Any]) -> float:
    return float(node["internal_count"] if "split_index" in node else node["leaf_count"])


def _flatten_forest(tree_info: list[dict[str, Any]], max_path_features: int) -> _FlatForest:
    """Flatten ``booster.dump_model()["tree_info"]`` into :class:`_FlatForest` arrays (pure Python, one pass)."""
    tree_int_off, tree_n_int, tree_leaf_off, tree_n_leaf, tree_fallback = [], [], [], [], []
    tree_row_path = []
    n_feat, n_thr, n_kind, n_special_left, n_cat_off, n_cat_len = [], [], [], [], [], []
    n_left, n_right, n_bit, cat_member = [], [], [], []
    l_value, l_d, l_table_off, l_slot_off, l_path_off, l_path_len = [], [], [], [], [], []
    s_feat, s_z, p_node, p_slot, p_left = [], [], [], [], []
    table_size = 0
    max_int = 0
    max_d = 0
    expected_value = 0.0
    n_const = 0

    for tree in tree_info:
        if tree.get("is_linear"):
            raise ValueError("linear_tree models are not supported")
        root = tree["tree_structure"]
        if "split_index" not in root:
            # A constant tree adds its value to every prediction, i.e. only to the expected value.
            expected_value += float(root["leaf_value"])
            n_const += 1
            continue
        n_int = int(tree["num_leaves"]) - 1
        int_off = len(n_feat)
        leaf_off = len(l_value)
        root_count = float(root["internal_count"])
        tree_expected = 0.0
        tree_has_fallback = False
        tree_needs_rows = False
        # Stack items: node, parent local id (-1 for root), went left, path slots (features), slot z, splits.
        stack: list[tuple[dict[str, Any], int, bool, tuple[int, ...], tuple[float, ...], tuple]] = [
            (root, -1, True, (), (), ())
        ]
        while stack:
            node, parent, is_left, feats, zs, splits = stack.pop()
            if "split_index" in node:
                local = len(n_feat) - int_off
            else:
                local = n_int + (len(l_value) - leaf_off)
            if parent >= 0:
                (n_left if is_left else n_right)[int_off + parent] = local
            if "split_index" not in node:
                d = len(feats)
                value = float(node["leaf_value"])
                if "leaf_coeff" in node:
                    raise ValueError("linear_tree models are not supported")
                tree_expected += (float(node["leaf_count"]) / root_count) * value
                l_value.append(value)
                l_d.append(d)
                if d <= max_path_features:
                    l_table_off.append(table_size)
                    table_size += (1 << d) * d
                else:
                    l_table_off.append(-1)
                    tree_has_fallback = True
                    tree_needs_rows = tree_needs_rows or d > _MAX_PATTERN_BITS
                l_slot_off.append(len(s_feat))
                s_feat.extend(feats)
                s_z.extend(zs)
                l_path_off.append(len(p_node))
                l_path_len.append(len(splits))
                for split_node, split_slot, split_left in splits:
                    p_node.append(split_node)
                    p_slot.append(split_slot)
                    p_left.append(split_left)
                max_d = max(max_d, d)
                continue

            feature = int(node["split_feature"])
            slot = feats.index(feature) if feature in feats else len(feats)
            n_feat.append(feature)
            if node["decision_type"] == "==":
                codes = _parse_categories(node["threshold"])
                length = max(codes) + 1 if codes else 0
                member = [0] * length
                for code in codes:
                    member[code] = 1
                n_kind.append(2)
                n_special_left.append(0)
                n_thr.append(0.0)
                n_cat_off.append(len(cat_member))
                n_cat_len.append(length)
                cat_member.extend(member)
            elif node["decision_type"] == "<=":
                threshold = float(node["threshold"])
                missing = str(node["missing_type"])
                if missing not in _MISSING_TYPES:
                    raise ValueError(f"unknown LightGBM missing_type {missing!r}")
                n_kind.append(1 if missing == "Zero" else 0)
                # Tree::NumericalDecision: NaN is read as 0.0 unless missing_type is NaN; NaN (type NaN) and
                # zero (type Zero) take the default direction. Folded into one "special value" direction.
                special_left = (0.0 <= threshold) if missing == "None" else bool(node["default_left"])
                n_special_left.append(1 if special_left else 0)
                n_thr.append(threshold)
                n_cat_off.append(0)
                n_cat_len.append(0)
            else:
                raise ValueError(f"unknown LightGBM decision_type {node['decision_type']!r}")
            n_left.append(-1)
            n_right.append(-1)
            n_bit.append(1 << slot if slot < _MAX_PATTERN_BITS else 0)
            count = float(node["internal_count"])
            for child, went_left in ((node["right_child"], False), (node["left_child"], True)):
                ratio = _node_count(child) / count
                if slot == len(feats):
                    child_feats, child_zs = feats + (feature,), zs + (ratio,)
                else:
                    # A repeated feature is one player: its cover ratios multiply, as in TreeSHAP's unwind.
                    child_feats = feats
                    child_zs = zs[:slot] + (zs[slot] * ratio,) + zs[slot + 1 :]
                stack.append(
                    (
                        child,
                        local,
                        went_left,
                        child_feats,
                        child_zs,
                        splits + ((local, slot, int(went_left)),),
                    )
                )
        expected_value += tree_expected
        tree_int_off.append(int_off)
        tree_n_int.append(n_int)
        tree_leaf_off.append(leaf_off)
        tree_n_leaf.append(n_int + 1)
        tree_fallback.append(1 if tree_has_fallback else 0)
        tree_row_path.append(1 if tree_needs_rows else 0)
        max_int = max(max_int, n_int)

    i64, f64, u8 = np.int64, np.float64, np.uint8
    return _FlatForest(
        tree_int_off=np.asarray(tree_int_off, dtype=i64),
        tree_n_int=np.asarray(tree_n_int, dtype=i64),
        tree_leaf_off=np.asarray(tree_leaf_off, dtype=i64),
        tree_n_leaf=np.asarray(tree_n_leaf, dtype=i64),
        tree_fallback=np.asarray(tree_fallback, dtype=u8),
        tree_row_path=np.asarray(tree_row_path, dtype=u8),
        node_feature=np.asarray(n_feat, dtype=i64),
        node_threshold=np.asarray(n_thr, dtype=f64),
        node_kind=np.asarray(n_kind, dtype=u8),
        node_special_left=np.asarray(n_special_left, dtype=u8),
        node_cat_off=np.asarray(n_cat_off, dtype=i64),
        node_cat_len=np.asarray(n_cat_len, dtype=i64),
        cat_member=np.asarray(cat_member, dtype=u8),
        node_left=np.asarray(n_left, dtype=i64),
        node_right=np.asarray(n_right, dtype=i64),
        node_bit=np.asarray(n_bit, dtype=i64),
        leaf_value=np.asarray(l_value, dtype=f64),
        leaf_d=np.asarray(l_d, dtype=i64),
        leaf_table_off=np.asarray(l_table_off, dtype=i64),
        leaf_slot_off=np.asarray(l_slot_off, dtype=i64),
        slot_feature=np.asarray(s_feat, dtype=i64),
        slot_z=np.asarray(s_z, dtype=f64),
        leaf_path_off=np.asarray(l_path_off, dtype=i64),
        leaf_path_len=np.asarray(l_path_len, dtype=i64),
        path_node=np.asarray(p_node, dtype=i64),
        path_slot=np.asarray(p_slot, dtype=i64),
        path_left=np.asarray(p_left, dtype=u8),
        table_size=int(table_size),
        max_int=int(max_int),
        max_d=int(max_d),
        expected_value=float(expected_value),
        n_const_trees=n_const,
    )


# --------------------------------------------------------------------------------------------------------
# numba kernels


@numba.njit(cache=True, nogil=True)
def _shapley_weights(d: int, out: np.ndarray) -> None:
    """``out[s] = s! (d-1-s)! / d!`` for ``s < d``, by a ratio recurrence (no factorial overflow)."""
    out[0] = 1.0 / d
    for s in range(d - 1):
        out[s + 1] = out[s] * (s + 1) / (d - 1 - s)


@numba.njit(cache=True, nogil=True)
def _fill_leaf_table(d: int, z: np.ndarray, value: float, table: np.ndarray) -> None:
    """Write the leaf's ``2**d x d`` contribution table (row = satisfaction pattern bitmask over slots)."""
    n_masks = 1 << d
    w = np.empty(d)
    _shapley_weights(d, w)
    # esp[m, t]: elementary symmetric polynomial of degree t of the z in mask m (all terms positive: stable).
    esp = np.zeros((n_masks, d + 1))
    size = np.zeros(n_masks, dtype=np.int64)
    esp[0, 0] = 1.0
    for m in range(1, n_masks):
        k = 0
        while not (m >> k) & 1:
            k += 1
        prev = m ^ (1 << k)
        c = size[prev] + 1
        size[m] = c
        esp[m, 0] = 1.0
        for t in range(1, c + 1):
            esp[m, t] = esp[prev, t] + z[k] * esp[prev, t - 1]
    g = np.zeros(n_masks)
    for m in range(n_masks):
        q = size[m]
        if q < d:
            acc = 0.0
            for t in range(q + 1):
                acc += w[q - t] * esp[m, t]
            g[m] = acc
    zc = np.empty(n_masks)
    zc[n_masks - 1] = 1.0
    for m in range(n_masks - 2, -1, -1):
        k = 0
        while (m >> k) & 1:
            k += 1
        zc[m] = zc[m | (1 << k)] * z[k]
    for m in range(n_masks):
        base = m * d
        neg = -value * zc[m] * g[m]
        for j in range(d):
            bit = 1 << j
            if m & bit:
                table[base + j] = value * (1.0 - z[j]) * zc[m] * g[m ^ bit]
            else:
                table[base + j] = neg


def _build_tables_impl(
    leaf_ids: np.ndarray,
    leaf_d: np.ndarray,
    leaf_table_off: np.ndarray,
    leaf_slot_off: np.ndarray,
    slot_z: np.ndarray,
    leaf_value: np.ndarray,
    tables: np.ndarray,
) -> None:
    for i in range(leaf_ids.size):
        leaf = leaf_ids[i]
        d = leaf_d[leaf]
        off = leaf_table_off[leaf]
        so = leaf_slot_off[leaf]
        _fill_leaf_table(d, slot_z[so : so + d], leaf_value[leaf], tables[off : off + (1 << d) * d])


@numba.njit(cache=True, nogil=True, inline="always")
def _goes_left(
    value: float,
    threshold: float,
    kind: int,
    special_left: int,
    cat_off: int,
    cat_len: int,
    cat_member: np.ndarray,
) -> np.int64:
    """LightGBM's ``Tree::Decision`` for one split: 1 = left child, 0 = right child."""
    if kind == 2:
        # NaN and negative codes go right; codes are truncated toward zero like static_cast<int>.
        if np.isnan(value) or value <= -1.0 or value >= cat_len:
            return np.int64(0)
        return np.int64(cat_member[cat_off + int(value)])
    # Branch-free on the data: the threshold comparison is unpredictable, so select instead of jumping.
    special = np.int64(value != value) | (
        np.int64(kind == 1) & np.int64(value >= -_ZERO_THRESHOLD) & np.int64(value <= _ZERO_THRESHOLD)
    )
    return (special & np.int64(special_left)) | ((1 - special) & np.int64(value <= threshold))


@numba.njit(cache=True, nogil=True)
def _leaf_direct(
    d: int,
    z: np.ndarray,
    ones: np.ndarray,
    value: float,
    w: np.ndarray,
    esp: np.ndarray,
    esp_wo: np.ndarray,
    phi: np.ndarray,
) -> None:
    """One leaf's contributions for one row without a table, in O(d**2) (same formula as the tables).

    `w` holds the Shapley weights of `d` (`_shapley_weights`); writes slot s's contribution to `phi[s]`.
    """
    q = 0
    zc = 1.0
    esp[0] = 1.0
    for s in range(d):
        if ones[s]:
            q += 1
            esp[q] = 0.0
            for t in range(q, 0, -1):
                esp[t] += z[s] * esp[t - 1]
        else:
            zc *= z[s]
    neg = 0.0
    if q < d:
        acc = 0.0
        for t in range(q + 1):
            acc += w[q - t] * esp[t]
        neg = -value * zc * acc
    for s in range(d):
        if ones[s]:
            # Divide (1 + z_s x) out of the generating polynomial: the unwind step of TreeSHAP.
            esp_wo[0] = 1.0
            for t in range(1, q):
                esp_wo[t] = esp[t] - z[s] * esp_wo[t - 1]
            acc = 0.0
            for t in range(q):
                acc += w[q - 1 - t] * esp_wo[t]
            phi[s] = value * (1.0 - z[s]) * zc * acc
        else:
            phi[s] = neg


def _explain_impl(
    x: np.ndarray,
    out: np.ndarray,
    pred: np.ndarray,
    block: int,
    tree_int_off: np.ndarray,
    tree_n_int: np.ndarray,
    tree_leaf_off: np.ndarray,
    tree_n_leaf: np.ndarray,
    tree_fallback: np.ndarray,
    tree_row_path: np.ndarray,
    node_feature: np.ndarray,
    node_threshold: np.ndarray,
    node_kind: np.ndarray,
    node_special_left: np.ndarray,
    node_cat_off: np.ndarray,
    node_cat_len: np.ndarray,
    cat_member: np.ndarray,
    node_left: np.ndarray,
    node_right: np.ndarray,
    node_bit: np.ndarray,
    leaf_value: np.ndarray,
    leaf_d: np.ndarray,
    leaf_table_off: np.ndarray,
    leaf_slot_off: np.ndarray,
    slot_feature: np.ndarray,
    slot_z: np.ndarray,
    leaf_path_off: np.ndarray,
    leaf_path_len: np.ndarray,
    path_node: np.ndarray,
    path_slot: np.ndarray,
    path_left: np.ndarray,
    tables: np.ndarray,
    max_int: int,
    max_d: int,
) -> None:
    n_rows = x.shape[0]
    n_trees = tree_int_off.size
    n_blocks = (n_rows + block - 1) // block
    for b in range(n_blocks):
        r0 = b * block
        r1 = min(n_rows, r0 + block)
        nb = r1 - r0
        n_features = x.shape[1]
        # Table trees work column-wise on a block: feature-major copies of the block's inputs and outputs
        # make every inner loop run over independent rows (no dependency chains, vectorisable).
        xt = np.empty((n_features, nb))
        for r in range(nb):
            for f in range(n_features):
                xt[f, r] = x[r0 + r, f]
        # Trees with table-less leaves sum apart and first, as when they were explained row by row straight into
        # `out`: the additions happen in the same order, so the contributions keep the same bits.
        acc_table = np.zeros((n_features, nb))
        acc_fallback = np.zeros((n_features, nb))
        pattern = np.empty((2 * max_int + 1, nb), dtype=np.int64)
        base = np.empty(nb, dtype=np.uint64)
        block_pred = pred[r0:r1]
        went_left = np.empty(max(max_int, 1), dtype=np.uint8)
        ones = np.empty(max(max_d, 1), dtype=np.uint8)
        w = np.empty(max(max_d, 1))
        esp = np.empty(max_d + 1)
        esp_wo = np.empty(max_d + 1)
        phi = np.empty(max(max_d, 1))
        # Tree-major inside a block: one tree's nodes and tables are reused by every row of the block.
        for t in range(n_trees):
            io = tree_int_off[t]
            n_int = tree_n_int[t]
            lo = tree_leaf_off[t]
            n_leaf = tree_n_leaf[t]
            if tree_row_path[t] == 0:
                acc = acc_fallback if tree_fallback[t] else acc_table
                # Pattern bits start all-ones and lose a slot's bit on the branch the row does not take;
                # pre-order guarantees a parent's pattern is final before its children are written.
                pattern[0, :] = -1
                for i in range(n_int):
                    g = io + i
                    xf = xt[node_feature[g]]
                    parent = pattern[i]
                    to_left = pattern[node_left[g]]
                    to_right = pattern[node_right[g]]
                    bit = node_bit[g]
                    threshold = node_threshold[g]
                    kind = node_kind[g]
                    special_left = node_special_left[g]
                    cat_off = node_cat_off[g]
                    cat_len = node_cat_len[g]
                    for r in range(nb):
                        left = _goes_left(xf[r], threshold, kind, special_left, cat_off, cat_len, cat_member)
                        p = parent[r]
                        # left = 1 keeps the bit on the left child and clears it on the right; 0 the reverse.
                        to_left[r] = p & ~(bit & (left - 1))
                        to_right[r] = p & ~(bit & -left)
                for k in range(n_leaf):
                    leaf = lo + k
                    d = leaf_d[leaf]
                    off = leaf_table_off[leaf]
                    so = leaf_slot_off[leaf]
                    leaf_pattern = pattern[n_int + k]
                    low = (np.int64(1) << d) - 1
                    value = leaf_value[leaf]
                    for r in range(nb):  # the leaf the row reaches: all its path's bits kept (the raw score)
                        block_pred[r] += value * ((leaf_pattern[r] & low) == low)
                    if off < 0:
                        # A leaf too long for a table: the same formula per row, its pattern bits as `ones`.
                        # Rows with the same pattern get the same contributions: each distinct pattern is
                        # computed once, its rows visited in pattern order (one addition per row and slot).
                        _shapley_weights(d, w)
                        z = slot_z[so : so + d]
                        keys = leaf_pattern & low
                        order = np.argsort(keys)
                        last = np.int64(-1)
                        for i in range(nb):
                            r = order[i]
                            p = keys[r]
                            if p != last:
                                for s in range(d):
                                    ones[s] = (p >> s) & 1
                                _leaf_direct(d, z, ones, value, w, esp, esp_wo, phi)
                                last = p
                            for s in range(d):
                                acc[slot_feature[so + s], r] += phi[s]
                        continue
                    # Unsigned offsets: numba then indexes without its negative-index wraparound (same loads).
                    uoff, ud = np.uint64(off), np.uint64(d)
                    for r in range(nb):
                        base[r] = uoff + np.uint64(leaf_pattern[r] & low) * ud
                    # Four slots per pass over the rows (distinct features: each output's additions keep their order).
                    s = 0
                    while s + 4 <= d:
                        out_f = acc[slot_feature[so + s]]
                        out_g = acc[slot_feature[so + s + 1]]
                        out_h = acc[slot_feature[so + s + 2]]
                        out_k = acc[slot_feature[so + s + 3]]
                        us = np.uint64(s)
                        for r in range(nb):
                            row = base[r] + us
                            out_f[r] += tables[row]
                            out_g[r] += tables[row + np.uint64(1)]
                            out_h[r] += tables[row + np.uint64(2)]
                            out_k[r] += tables[row + np.uint64(3)]
                        s += 4
                    while s < d:
                        out_f = acc[slot_feature[so + s]]
                        us = np.uint64(s)
                        for r in range(nb):
                            out_f[r] += tables[base[r] + us]
                        s += 1
            else:
                for r in range(r0, r1):
                    xr = x[r]
                    orow = out[r]
                    for i in range(n_int):
                        g = io + i
                        went_left[i] = _goes_left(
                            xr[node_feature[g]],
                            node_threshold[g],
                            node_kind[g],
                            node_special_left[g],
                            node_cat_off[g],
                            node_cat_len[g],
                            cat_member,
                        )
                    for k in range(n_leaf):
                        leaf = lo + k
                        d = leaf_d[leaf]
                        for s in range(d):
                            ones[s] = 1
                        po = leaf_path_off[leaf]
                        reached = True
                        for e in range(po, po + leaf_path_len[leaf]):
                            if went_left[path_node[e]] != path_left[e]:
                                ones[path_slot[e]] = 0
                                reached = False
                        if reached:
                            pred[r] += leaf_value[leaf]
                        so = leaf_slot_off[leaf]
                        if leaf_table_off[leaf] >= 0:
                            mask = 0
                            for s in range(d):
                                mask |= np.int64(ones[s]) << s
                            row_base = leaf_table_off[leaf] + mask * d
                            for s in range(d):
                                orow[slot_feature[so + s]] += tables[row_base + s]
                        else:
                            _shapley_weights(d, w)
                            _leaf_direct(d, slot_z[so : so + d], ones, leaf_value[leaf], w, esp, esp_wo, phi)
                            for s in range(d):
                                orow[slot_feature[so + s]] += phi[s]

        for r in range(nb):
            for f in range(n_features):
                out[r0 + r, f] += acc_fallback[f, r]
                out[r0 + r, f] += acc_table[f, r]


# Parallelism comes from Python threads running these nogil kernels on disjoint work (leaf subsets, row
# chunks) rather than from numba's parallel=True: measured on 2 cores, the per-core throughput is the same
# either way, while parallel=True doubles the one-time compile (~3.5 s -> ~7 s of CPU).
_build_tables = numba.njit(cache=True, nogil=True)(_build_tables_impl)
_explain = numba.njit(cache=True, nogil=True)(_explain_impl)


def _n_threads() -> int:
    """The threads this process may use (`models.threads.prediction_threads`: its CPU affinity, at most
    `OMP_NUM_THREADS`, so a Spark worker beside others explains on one), at most `_MAX_THREADS`."""
    return max(1, min(_MAX_THREADS, prediction_threads()))


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

    def __init__(self, model: Any, max_path_features: int = 14) -> None:
        """Flatten ``model`` and build the tables; ``max_path_features`` caps ``d`` for a table (memory ``2**d * d``)."""
        if not 0 <= max_path_features <= _MAX_TABLE_PATH_FEATURES:
            raise ValueError(f"max_path_features must be in [0, {_MAX_TABLE_PATH_FEATURES}]")
        booster = _resolve_booster(model)
        dump = booster.dump_model()
        _check_objective(dump)
        self.feature_names: list[str] = list(dump["feature_names"])
        self.max_path_features = max_path_features
        self._pandas_categorical: list[list[Any]] | None = getattr(booster, "pandas_categorical", None)
        self._forest = _flatten_forest(dump["tree_info"], max_path_features)
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
