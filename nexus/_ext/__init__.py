"""Compiled hot paths (built from ``ext/nexus/_ext/*.pyx`` by ``setup.py``).

There is no pure-Python fallback: importing a module of this package that was not built
raises :class:`nexus.errors.BuildError` saying how to build it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

from nexus.errors import BuildError


class _UnbuiltExtensionFinder(importlib.abc.MetaPathFinder):
    """Last on ``sys.meta_path``: reached only when no finder found a ``nexus._ext`` module."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.startswith(__name__ + "."):
            raise BuildError(
                f"compiled module {fullname} is not built: run `make build` "
                "(or `pip install -e .`) from the project root"
            )
        return None


if not any(isinstance(f, _UnbuiltExtensionFinder) for f in sys.meta_path):
    sys.meta_path.append(_UnbuiltExtensionFinder())
