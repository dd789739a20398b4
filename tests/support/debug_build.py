"""Pytest plugin of the debug CI step: the ``nexus._ext`` modules come from a debug build.

``make test-debug`` builds the extensions with ``NEXUS_DEBUG=1`` into ``build/debug`` (never
over the in-place release modules others test against) and runs
``pytest -p tests.support.debug_build`` with :data:`ENV` naming that build. Before any conftest
imports an extension, its ``nexus/_ext`` goes first on the package's path: a module built
there shadows the in-place one (a module it lacks still comes from the in-place build).
``tests/unit/matching/test_matching_book_debug.py`` asserts the debug modules are the ones
loaded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

#: environment variable naming the debug build's ``--build-lib`` directory
ENV = "NEXUS_DEBUG_LIB"


def debug_lib() -> Path | None:
    """The debug build this session is asked to test, or None for the in-place build."""
    value = os.environ.get(ENV)
    return Path(value).resolve() if value else None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """Put the debug build first on ``nexus._ext``'s path (before any conftest runs)."""
    lib = debug_lib()
    if lib is None:
        raise pytest.UsageError(f"-p tests.support.debug_build needs {ENV}=<debug build lib>")
    ext_dir = lib / "nexus" / "_ext"
    if not any(ext_dir.glob("*.so")):
        raise pytest.UsageError(f"no debug build in {ext_dir}: run `make test-debug`")
    import nexus._ext

    loaded = sorted(name for name in sys.modules if name.startswith("nexus._ext."))
    if loaded:
        raise pytest.UsageError(f"already imported from the in-place build: {loaded}")
    nexus._ext.__path__.insert(0, str(ext_dir))
