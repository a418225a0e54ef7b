"""The shared datasets, found next to the repository (`../shared/datasets/`), never by an absolute path.

A data test asks for its dataset here. When the dataset is missing, the test is skipped with the reason, except in CI
(the `CI` environment variable is set, as CI services do), where it fails: CI must never pass by skipping them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"
ONLINE_RETAIL = SHARED_DATASETS / "online_retail"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(path: Path) -> Path:
    """`path` if it exists; otherwise fail the test in CI and skip it elsewhere, saying what is missing."""
    if path.exists():
        return path
    reason = f"shared dataset missing: {path} (expected in ../shared/datasets/ next to the repository)"
    if in_ci():
        pytest.fail(f"{reason}; CI is set, so the data test fails instead of skipping", pytrace=False)
    pytest.skip(reason)


def online_retail_dir() -> Path:
    """The UCI Online Retail directory (`online_retail.parquet`), the input of the mapping and data tests."""
    require(ONLINE_RETAIL / "online_retail.parquet")
    return ONLINE_RETAIL
