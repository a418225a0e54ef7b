"""The product's wheel: what `pip install .` gives a user who does not clone the repository.

Every command reads `configs/default.yaml`, the foreign-schema mappings live in `configs/datasets/`, the reports
render from `pipelines/reports/templates/`: they must ship in the wheel, with the license, and the build must not
warn (a deprecated license table, data directories missing from the packages), so a packager sees no noise."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from tests.shared_data import REPO


def test_the_wheel_builds_without_warnings_and_ships_configs_templates_and_license(tmp_path):
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v"]
    done = subprocess.run(
        [*build, "-w", tmp_path, REPO],
        capture_output=True,
        text=True,
        check=False,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    warnings = [line.strip() for line in log.splitlines() if "Warning:" in line or "deprecated" in line]
    assert not warnings, "the build warns:\n" + "\n".join(warnings)
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        "configs/default.yaml",
        "configs/datasets/online_retail.yaml",
        "configs/datasets/cdnow.yaml",
        "pipelines/reports/templates/manager.html.j2",
        "pipelines/reports/templates/report.css",
        "pipelines/cli.py",
    }
    assert shipped <= names, sorted(shipped - names)
    assert any(name.endswith("licenses/LICENSE") for name in names)
    assert not [name for name in names if "__pycache__" in name or name.startswith("tests/")]
