"""Imports run one way: pipelines -> models -> features, and the product's modules import each other without a
circle. features/ is pure: no mlflow, lightgbm, shap or clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "features": {"models", "pipelines", "mlflow", "lightgbm", "shap", "pyspark", "typer", "rich"},
    "models": {"pipelines", "mlflow", "pyspark", "typer", "rich"},
}


PACKAGES = ("features", "models", "pipelines")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_names(tree: ast.AST, package: str) -> list[str]:
    """Every module name an import statement anywhere in `tree` asks for (inside functions too; `if
    TYPE_CHECKING:` blocks are skipped: they never run). `from a import b` yields both `a.b` and `a`."""
    out: list[str] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            out += [f"{base}.{a.name}" for a in node.names] + [base]
        stack.extend(ast.iter_child_nodes(node))
    return out


def import_graph() -> dict[str, set[str]]:
    """module -> the product modules it imports (features/, models/, pipelines/, every subpackage)."""
    paths = {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for wanted in _imported_names(ast.parse(path.read_text()), package):
            # the longest product module the name starts with (`from a.b import func` -> a.b)
            parts = wanted.split(".")
            for n in range(len(parts), 0, -1):
                candidate = ".".join(parts[:n])
                if candidate in paths:
                    if candidate != name:
                        targets.add(candidate)
                    break
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None (depth-first search, deterministic order)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layer_imports(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    for path in files:
        bad = _imports(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_mlflow_is_imported_through_one_module():
    """MLflow imports pyspark, at its import and at run time, unless `pipelines.mlflow_import` refuses it: every
    other module takes MLflow from there (an `import mlflow` elsewhere, run first, would bring pyspark back)."""
    one = ROOT / "pipelines" / "mlflow_import.py"
    direct = [
        path.relative_to(ROOT).as_posix()
        for package in (*PACKAGES, "bench")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != one and "mlflow" in _imports(path)
    ]
    assert "mlflow" in _imports(one)
    assert not direct, f"import MLflow with `from pipelines.mlflow_import import mlflow` in {direct}"


def test_no_clock_below_pipelines():
    for package in ("features", "models"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            for call in ("Timestamp.now(", "datetime.now(", "date.today(", "Timestamp.today(", "time.time("):
                assert call not in text, f"{path.relative_to(ROOT)} reads the clock ({call})"


def test_import_graph_has_no_cycle():
    graph = import_graph()
    assert {"features", "models.bundle", "pipelines.cli"} <= set(graph)  # the walk finds the product
    assert "pipelines.jobs" in graph["pipelines.cli"]  # imports inside functions count too
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_find_cycle_reports_the_circle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


#: A module is read in one sitting: at most this many lines. Exceptions (none today) would be listed here with their
#: size as the ceiling, so that they cannot grow unnoticed.
MAX_MODULE_LINES = 600
LARGER_MODULES: dict[str, int] = {}


def test_modules_fit_one_sitting():
    too_long = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > LARGER_MODULES.get(rel, MAX_MODULE_LINES):
                too_long[rel] = lines
    assert not too_long, f"modules too long to read in one sitting (split them by job): {too_long}"
    for rel in LARGER_MODULES:
        assert (ROOT / rel).exists(), f"{rel} is listed in LARGER_MODULES but no longer exists: drop it"
