"""The profile features' names: a `customers` column and the feature that reads it as a category, both ways.

One rule for the feature groups (`features.groups_account`), the scoring's unseen-category check
(`features.contract.check_categories`) and the manager pages' marks (`pipelines.reports.phrases`).
"""

from __future__ import annotations

#: The `customers` columns read as profile categories (never personal columns or ids).
PROFILE_COLUMNS: tuple[str, ...] = ("segment", "size", "region", "acquisition_channel")


def profile_feature(column: str) -> str:
    """The profile feature of a `customers` column (`region` -> `profile_region`)."""
    return f"profile_{column}"


def profile_column(feature: str) -> str | None:
    """The `customers` column a profile feature reads (`profile_region` -> `region`); None for another feature."""
    return next((c for c in PROFILE_COLUMNS if profile_feature(c) == feature), None)
