"""A LightGBM ensemble (``booster.dump_model()["tree_info"]``) flattened into the arrays the TreeSHAP kernels
(`models.treeshap_kernels`) read: nodes in pre-order, each leaf's path slots, cover ratios and table offsets.
Pure Python, one pass; the explainer (`models.treeshap`) calls :func:`_flatten_forest` once per model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_MISSING_TYPES = frozenset({"None", "Zero", "NaN"})
# Pattern bits are an int64 per row and node: a leaf whose path splits on more distinct features than this
# cannot be tracked by them, and its tree is explained row by row instead of by blocks.
_MAX_PATTERN_BITS = 62


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
