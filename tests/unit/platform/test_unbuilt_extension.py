"""Importing a compiled module that was not built says how to build it (no Python fallback)."""

from __future__ import annotations

import importlib

import pytest

from nexus.errors import BuildError


def test_missing_compiled_module_raises_build_error_with_instructions() -> None:
    with pytest.raises(BuildError, match="make build"):
        importlib.import_module("nexus._ext.not_built_anywhere")


def test_build_error_is_an_import_error() -> None:
    with pytest.raises(ImportError):
        importlib.import_module("nexus._ext.not_built_anywhere")


def test_built_modules_import_normally() -> None:
    assert importlib.import_module("nexus._ext.fixed").SCALE == 10**9
    assert importlib.import_module("nexus._ext.book").Book is not None
