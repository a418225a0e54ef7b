"""Imports run one way: pipelines -> models -> features. features/ is pure: no mlflow, lightgbm, shap or clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "features": {"models", "pipelines", "mlflow", "lightgbm", "shap", "pyspark", "typer", "rich"},
    "models": {"pipelines", "mlflow", "pyspark", "typer", "rich"},
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_imports(package):
    files = sorted((ROOT / package).glob("*.py"))
    assert files
    for path in files:
        bad = _imports(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_no_clock_below_pipelines():
    for package in ("features", "models"):
        for path in (ROOT / package).glob("*.py"):
            text = path.read_text()
            for call in ("Timestamp.now(", "datetime.now(", "date.today(", "Timestamp.today(", "time.time("):
                assert call not in text, f"{path.relative_to(ROOT)} reads the clock ({call})"
