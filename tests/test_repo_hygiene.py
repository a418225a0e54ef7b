"""Honest tests and benchmarks: no absolute machine paths in the repository, and data tests that fail in CI
rather than skip when their shared dataset is missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.shared_data import ONLINE_RETAIL, REPO, require

# A path rooted in one machine's layout (a home, a scratch or a mount directory), e.g. "/" + "work/shared/...".
_MACHINE_ROOTS = ("work", "tmp", "home", "root", "opt", "mnt", "Users", "private")
MACHINE_PATH = re.compile(r"(?<![\w.~:/-])/(?:" + "|".join(_MACHINE_ROOTS) + r")/")
SCANNED = ("features", "models", "pipelines", "bench", "tests", "configs", "docs")
SUFFIXES = {".py", ".yaml", ".yml", ".toml", ".md", ".j2", ".cfg", ".txt"}


def _repository_files() -> list[Path]:
    files = [REPO / "Makefile", REPO / "pyproject.toml", REPO / "README.md"]
    for folder in SCANNED:
        files += [
            p for p in (REPO / folder).rglob("*") if p.suffix in SUFFIXES and "__pycache__" not in p.parts
        ]
    return [p for p in files if p.is_file()]


def test_no_absolute_machine_paths_in_the_repository():
    files = _repository_files()
    assert len(files) > 50  # the scan reads the repository, not an empty folder
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if MACHINE_PATH.search(line)
    ]
    assert not found, "absolute machine paths:\n" + "\n".join(found)


def test_machine_path_pattern_catches_what_it_should():
    assert MACHINE_PATH.search('ONLINE_RETAIL = Path("/' + 'work/shared/datasets/x.parquet")')
    assert MACHINE_PATH.search("    /" + "tmp/venv/bin/python bench/features.py")
    url = "see https://example.org/" + "home/page and .venv/bin/python bench/x.py"  # split: no path here
    assert not MACHINE_PATH.search(url)


def test_shared_data_is_found_next_to_the_repository():
    assert ONLINE_RETAIL == REPO.parent / "shared" / "datasets" / "online_retail"


def test_missing_shared_data_fails_in_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require(tmp_path / "missing.parquet")


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_missing_shared_data_skips_outside_ci(tmp_path, monkeypatch, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="missing.parquet"):
        require(tmp_path / "missing.parquet")


def test_present_shared_data_is_returned(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    present = tmp_path / "present.parquet"
    present.write_bytes(b"x")
    assert require(present) == present
