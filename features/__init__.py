"""Point-in-time features: validated tables + cutoff -> one row per customer. Pure pandas: no I/O, no clock.

The names below are loaded on first use (PEP 562), so importing a light submodule such as `features.errors` does
not import pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from features.config import FeatureConfig, LabelConfig
    from features.labels import build_labels
    from features.registry import FeatureSpec, describe_value, feature_registry
    from features.table import FeatureManifest, build_feature_table, build_feature_table_with_manifest
    from features.training import build_training_set, training_cutoffs

_EXPORTS = {
    "FeatureConfig": "features.config",
    "LabelConfig": "features.config",
    "build_labels": "features.labels",
    "FeatureSpec": "features.registry",
    "describe_value": "features.registry",
    "feature_registry": "features.registry",
    "FeatureManifest": "features.table",
    "build_feature_table": "features.table",
    "build_feature_table_with_manifest": "features.table",
    "build_training_set": "features.training",
    "training_cutoffs": "features.training",
}

__all__ = [
    "FeatureConfig",
    "FeatureManifest",
    "FeatureSpec",
    "LabelConfig",
    "build_feature_table",
    "build_feature_table_with_manifest",
    "build_labels",
    "build_training_set",
    "describe_value",
    "feature_registry",
    "training_cutoffs",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'features' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
