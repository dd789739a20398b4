"""The analytics core stays pure: no I/O, framework or other-service imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[3] / "services" / "analytics" / "core"
ALLOWED_ROOTS = {
    "__future__",
    "collections",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "functools",
    "warnings",
    "hashlib",
    "math",
    "numbers",
    "typing",
    "msgspec",
    "numba",
    "numpy",
    "scipy",
    "nexus",
}
ALLOWED_NEXUS = {"nexus.errors", "nexus.money"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_imports_only_pure_dependencies(path: Path) -> None:
    for name in _imports(path):
        root = name.split(".")[0]
        assert root in ALLOWED_ROOTS, f"{path.name} imports {name}"
        if root == "nexus":
            assert name in ALLOWED_NEXUS, f"{path.name} imports {name}"
