"""The forest `models.treeshap.warm_up_jit` compiles the explainer's kernels on (kept apart: it is data, not
explainer); the tests' hand-computed tree is it with other leaf values."""

from __future__ import annotations

from typing import Any


def tiny_dump(leaf_values: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> list[dict[str, Any]]:
    """A two-split tree (numeric then categorical) shaped like ``dump_model()["tree_info"]``: x0 <= 0.5 (NaN left)
    ? leaf 0 : (x1 in {0, 2} ? leaf 1 : leaf 2), `leaf_values` in that order, two training rows per leaf."""
    left, middle, right = ({"leaf_value": float(v), "leaf_count": 2} for v in leaf_values)
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
                "left_child": left,
                "right_child": {
                    "split_index": 1,
                    "split_feature": 1,
                    "threshold": "0||2",
                    "decision_type": "==",
                    "default_left": False,
                    "missing_type": "NaN",
                    "internal_count": 4,
                    "left_child": middle,
                    "right_child": right,
                },
            },
        }
    ]
