"""Output locations are checked before any computing: a clear StructuralError, not a late traceback."""

from __future__ import annotations

import pytest

from features.validation import StructuralError
from pipelines.io import check_writable


def test_a_file_where_a_directory_must_be_is_refused(tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    with pytest.raises(StructuralError, match="cannot write the scores"):
        check_writable(blocker / "scores.parquet", "scores")


def test_a_directory_where_a_file_must_be_is_refused(tmp_path):
    (tmp_path / "scores.parquet").mkdir()
    with pytest.raises(StructuralError, match="is a directory"):
        check_writable(tmp_path / "scores.parquet", "scores")


def test_a_writable_location_is_created_and_left_clean(tmp_path):
    target = tmp_path / "a" / "b" / "scores.parquet"
    assert check_writable(target, "scores") == target
    assert target.parent.is_dir()
    assert list(target.parent.iterdir()) == []
