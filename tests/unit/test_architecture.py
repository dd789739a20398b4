"""One import rule for the whole tree (every module of every package, relative imports resolved).

* ``nexus`` (the shared library) never imports ``services``;
* no service imports another service (services talk through topics and HTTP only);
* a service's ``core/`` (its pure domain) imports only the standard library, the numeric and
  schema libraries, and the value modules of ``nexus`` - never transport, storage, web or
  configuration code.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("nexus", "services")

#: the infrastructure of ``nexus``: transport, storage, web, configuration, processes. Every
#: other ``nexus`` module is a value module (money, events, errors, halts, book, matching,
#: regulation, the compiled kernels), which a domain core may import.
NEXUS_INFRASTRUCTURE = (
    "nexus.bus",
    "nexus.web",
    "nexus.store",
    "nexus.cache",
    "nexus.clients",
    "nexus.runtime",
    "nexus.infra",
    "nexus.config",
    "nexus.discovery",
    "nexus.cli",
    "nexus.sim",
)
#: third-party roots a domain core may import (numbers and schemas, no I/O)
CORE_THIRD_PARTY_ALLOWED = frozenset({"numpy", "numba", "scipy", "msgspec"})


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(name: str, is_package: bool, source: str) -> list[tuple[int, str]]:
    """Every module ``name`` imports (anywhere in it), relative imports made absolute."""
    package = name if is_package else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # ``from pkg import submodule`` imports the submodule too
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return found


def all_modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


MODULES = all_modules()


def service_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "services" else None


def violations(path: Path) -> list[str]:
    return violations_of(module_name(path), path.name == "__init__.py", path.read_text())


def violations_of(name: str, is_package: bool, source: str) -> list[str]:
    own = service_of(name)
    in_core = own is not None and name.split(".")[2:3] == ["core"]
    bad: list[str] = []
    for line, target in imports_of(name, is_package, source):
        where = f"{name}:{line} imports {target}"
        root = target.split(".")[0]
        if name.startswith("nexus") and root == "services":
            bad.append(f"{where}: nexus must not import a service")
        other = service_of(target)
        if own is not None and other is not None and other != own:
            bad.append(f"{where}: a service must not import another service")
        if not in_core:
            continue
        if root == "nexus" and (target + ".").startswith(
            tuple(m + "." for m in NEXUS_INFRASTRUCTURE)
        ):
            bad.append(f"{where}: a domain core imports only nexus value modules")
        if (
            root not in ("nexus", "services")
            and root not in sys.stdlib_module_names
            and root not in CORE_THIRD_PARTY_ALLOWED
        ):
            bad.append(f"{where}: a domain core must not import {root}")
        if root in ("socket", "ssl", "sqlite3", "subprocess", "http", "urllib", "select"):
            bad.append(f"{where}: a domain core does no I/O")
        if other == own and target.split(".")[2:3] not in (["core"], []):
            bad.append(f"{where}: a domain core must not import its own adapters")
    return bad


def test_every_package_is_scanned() -> None:
    names = {module_name(p) for p in MODULES}
    assert "nexus.money" in names and "nexus.sim.sink" in names
    assert any(n.startswith("services.matching.core") for n in names)
    cores = {service_of(n) for n in names if ".core" in n}
    assert {"analytics", "marketdata", "matching", "orders"} <= cores


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_follows_the_import_rule(path: Path) -> None:
    assert violations(path) == []


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("nexus.sim.bad", "from services.matching.core import MatchingEngine\n"),
        ("nexus.sim.bad", "def lazy():\n    import services.matching.core\n"),
        ("services.orders.bad", "import services.risk.store\n"),
        ("services.orders.core.bad", "from ... import risk\n"),
        ("services.orders.core.bad", "from nexus.bus import Bus\n"),
        ("services.orders.core.bad", "from nexus import web\n"),
        ("services.orders.core.bad", "from ..store import OrdersStore\n"),
        ("services.orders.core.bad", "import asyncpg\n"),
        ("services.orders.core.bad", "import socket\n"),
    ],
)
def test_rule_catches_each_kind_of_violation(name: str, source: str) -> None:
    """The checker itself fails on the violations it exists for (relative imports included)."""
    assert violations_of(name, False, source), source


def test_rule_allows_what_a_core_needs() -> None:
    source = (
        "import numpy\nfrom nexus.money import Fixed\nfrom . import kernels\nfrom .types import X\n"
    )
    assert violations_of("services.analytics.core.var", False, source) == []


def _unit_layout() -> dict[str, str]:
    """The ``folder -> package`` table of docs/ARCHITECTURE.md's "Unit test layout"."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    section = text.split("## Unit test layout", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] not in ("folder", "---"):
            rows[cells[0]] = cells[1]
    return rows


def test_every_unit_test_folder_is_mapped_to_a_package_that_exists() -> None:
    layout = _unit_layout()
    folders = sorted(
        p.name
        for p in (ROOT / "tests" / "unit").iterdir()
        if p.is_dir() and p.name != "__pycache__"
    )
    assert folders == sorted(layout), "tests/unit and ARCHITECTURE's table differ"
    missing = {f: pkg for f, pkg in layout.items() if not (ROOT / pkg).exists()}
    assert missing == {}
