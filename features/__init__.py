"""Point-in-time features: validated tables + cutoff -> one row per customer. Pure pandas: no I/O, no clock."""

from features.config import FeatureConfig, LabelConfig
from features.labels import build_labels
from features.registry import FeatureSpec, describe_value, feature_registry
from features.table import FeatureManifest, build_feature_table, build_feature_table_with_manifest
from features.training import build_training_set, training_cutoffs

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
