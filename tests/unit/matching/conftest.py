"""Fixtures of the matching tests: every behavioural test runs on both book implementations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nexus._ext.book import Book
from tests.support.reference_book import ReferenceBook

BOOK_IMPLEMENTATIONS: dict[str, Callable[[], Any]] = {
    "compiled": Book,
    "reference": ReferenceBook,
}


@pytest.fixture(params=sorted(BOOK_IMPLEMENTATIONS))
def book_factory(request: pytest.FixtureRequest) -> Callable[[], Any]:
    """One test, two implementations: the compiled book and its pure reference."""
    return BOOK_IMPLEMENTATIONS[request.param]


@pytest.fixture
def book(book_factory: Callable[[], Any]) -> Any:
    return book_factory()
