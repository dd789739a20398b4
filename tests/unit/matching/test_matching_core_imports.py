"""The matching core stays pure: no transport, storage or framework imports, no other service."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import services.matching.core as core

CORE = Path(core.__file__).parent
ALLOWED_ROOTS = {"__future__", "collections", "random", "re", "typing", "msgspec", "nexus"}
FORBIDDEN_NEXUS = ("nexus.bus", "nexus.store", "nexus.cache", "nexus.web", "nexus.clients")


def imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_imports_only_pure_dependencies(path: Path) -> None:
    for name in imported_modules(path):
        if name.startswith("services."):
            assert name.startswith("services.matching.core"), name
            continue
        assert name.split(".")[0] in ALLOWED_ROOTS, name
        assert not name.startswith(FORBIDDEN_NEXUS), name
