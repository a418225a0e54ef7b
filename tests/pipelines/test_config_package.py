"""configs/default.yaml ships with the product (package data) and is always loaded: never a silent fallback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import pipelines.config as config_module
from features.validation import StructuralError
from pipelines.config import load_config

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "configs", "features", "models", "pipelines")


def test_missing_default_file_is_a_structural_error_naming_it(tmp_path, monkeypatch):
    missing = tmp_path / "configs" / "default.yaml"
    monkeypatch.setattr(config_module, "DEFAULT_CONFIG", missing)
    with pytest.raises(StructuralError, match="default configuration .*default.yaml is missing"):
        load_config()


def test_unreadable_default_file_is_a_structural_error(tmp_path, monkeypatch):
    broken = tmp_path / "default.yaml"
    broken.write_text("features: [unclosed\n", encoding="utf-8")
    monkeypatch.setattr(config_module, "DEFAULT_CONFIG", broken)
    with pytest.raises(StructuralError, match="cannot read config"):
        load_config()


def test_default_file_is_the_packaged_one():
    assert config_module.DEFAULT_CONFIG == REPO / "configs" / "default.yaml"


@pytest.mark.slow
def test_wheel_ships_the_defaults_and_an_installed_copy_reads_them(tmp_path):
    src = tmp_path / "src"
    for name in SOURCES:  # a copy, so the build leaves nothing in the checkout
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(path, src / name)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", str(src), "-w", str(wheels)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert zf.read("configs/default.yaml") == (REPO / "configs" / "default.yaml").read_bytes()
    assert "configs/datasets/online_retail.yaml" in names
    assert "pipelines/mapping/__init__.py" in names  # subpackages too, not only the top level

    # Installed (not editable) into its own directory, run from elsewhere: it reads its own packaged defaults.
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    probe = (
        "import pipelines.config as c; cfg = c.load_config(); print(c.DEFAULT_CONFIG); print(cfg.digest())"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    assert out == [str(site / "configs" / "default.yaml"), load_config().digest()]
