"""configs/default.yaml ships with the product (package data) and is always loaded: never a silent fallback."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import pipelines.config as config_module
from features.validation import StructuralError
from pipelines.config import load_config
from tests.background import Fresh, scratch, take

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


#: Build the wheel from a copy of the sources (the build leaves nothing in the checkout), install it (not editable)
#: into its own directory and ask an interpreter run from elsewhere which defaults it reads; prints the wheel, the
#: install directory and the probe's two lines. Run in the background from collection (`BACKGROUND`).
WHEEL_AND_INSTALL = """
import os, shutil, subprocess, sys
from pathlib import Path

repo, root, sources = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
src = root / "src"
for name in sources:
    path = repo / name
    if path.is_dir():
        shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        src.mkdir(exist_ok=True)
        shutil.copy2(path, src / name)
wheels = root / "wheels"
pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
subprocess.run(
    [*pip, "wheel", "--no-deps", "--no-build-isolation", str(src), "-w", str(wheels)], check=True, capture_output=True
)
(wheel,) = wheels.glob("*.whl")
site = root / "site"
subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
probe = "import pipelines.config as c; cfg = c.load_config(); print(c.DEFAULT_CONFIG); print(cfg.digest())"
env = {**os.environ, "PYTHONPATH": str(site)}
out = subprocess.run([sys.executable, "-c", probe], cwd=root, env=env, check=True, capture_output=True, text=True)
print(wheel, site, out.stdout, sep="\\n", end="")
"""


def _wheel_and_install() -> Fresh:
    root = scratch("wheel")
    return Fresh(["-c", WHEEL_AND_INSTALL, str(REPO), str(root), *SOURCES], root / "logs", cwd=root)


BACKGROUND = {"wheel": _wheel_and_install}


@pytest.mark.slow
def test_wheel_ships_the_defaults_and_an_installed_copy_reads_them():
    code, out, err = take("wheel", _wheel_and_install).wait(timeout=600)
    assert code == 0, err[-3000:]
    wheel, site, *probed = (line for line in out.splitlines() if line)
    site = Path(site)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert zf.read("configs/default.yaml") == (REPO / "configs" / "default.yaml").read_bytes()
    assert "configs/datasets/online_retail.yaml" in names
    assert "pipelines/mapping/__init__.py" in names  # subpackages too, not only the top level

    # Installed (not editable) into its own directory, run from elsewhere: it reads its own packaged defaults.
    assert probed == [str(site / "configs" / "default.yaml"), load_config().digest()]
