"""The forest `models.treeshap.warm_up_jit` compiles the explainer's kernels on (kept apart: `treeshap` is at its
line ceiling)."""

from __future__ import annotations

from typing import Any


def tiny_dump() -> list[dict[str, Any]]:
    """A two-split tree (numeric then categorical) shaped like ``dump_model()["tree_info"]``."""
    leaf = {"leaf_value": 1.0, "leaf_count": 2}
    return [
        {
            "num_leaves": 3,
            "tree_structure": {
                "split_index": 0,
                "split_feature": 0,
                "threshold": 0.5,
                "decision_type": "<=",
                "default_left": True,
                "missing_type": "NaN",
                "internal_count": 6,
                "left_child": dict(leaf),
                "right_child": {
                    "split_index": 1,
                    "split_feature": 1,
                    "threshold": "0||2",
                    "decision_type": "==",
                    "default_left": False,
                    "missing_type": "NaN",
                    "internal_count": 4,
                    "left_child": dict(leaf),
                    "right_child": dict(leaf),
                },
            },
        }
    ]
