"""The debug build (``make test-debug``) is the one loaded when asked for, and its book runs
:meth:`Book.check` after every operation; a release build compiles those checks out.

The debug-only tests skip in a release run and the release-only ones in a debug run, so
``make test`` and ``make test-debug`` between them run every test here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nexus._ext.book as compiled
from nexus.book import BATCH_COLUMNS, Op, Side, TimeInForce
from tests.support.debug_build import debug_lib

Q = 1_000_000_000
BID = 100 * Q
ASK = 101 * Q


@pytest.mark.parametrize("name", ["nexus._ext.book", "nexus._ext.fixed"])
def test_the_loaded_build_is_the_one_asked_for(name: str) -> None:
    module = importlib.import_module(name)
    lib = debug_lib()
    if lib is None:  # the in-place release build (the one the perf gates measure)
        assert module.DEBUG is False
    else:
        assert module.DEBUG is True
        assert Path(module.__file__ or "").resolve().is_relative_to(lib), module.__file__


def corrupted() -> Any:
    """A bid and an ask, then the bid's open quantity changed behind its level's back."""
    book = compiled.Book()
    book.submit(1, int(Side.BUY), BID, 5 * Q, tif=int(TimeInForce.GTC))
    book.submit(2, int(Side.SELL), ASK, 5 * Q)
    book._debug_corrupt(1, 3 * Q)  # the level still sums 5
    return book


def batch_cancel(book: Any) -> Any:
    row = np.zeros((1, BATCH_COLUMNS), dtype=np.int64)
    row[0, 0], row[0, 1] = int(Op.CANCEL), 2
    return book.apply_batch(row)


#: every operation of the book, each leaving the corrupted bid where it is
OPERATIONS: dict[str, Callable[[Any], object]] = {
    "submit": lambda b: b.submit(3, int(Side.BUY), BID - Q, Q),
    "submit refused": lambda b: b.submit(2, int(Side.BUY), BID, Q),
    "amend": lambda b: b.amend(2, ASK + Q, Q),
    "amend refused": lambda b: b.amend(99, ASK, Q),
    "cancel": lambda b: b.cancel(2),
    "cancel of nothing": lambda b: b.cancel(99),
    "batch row": batch_cancel,
    "expire": lambda b: b.expire(int(TimeInForce.DAY)),
}


def needs_debug_build() -> None:
    if not compiled.DEBUG:
        pytest.skip("a debug build's check (make test-debug)")


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_debug_book_checks_itself_after_every_operation(operation: str) -> None:
    needs_debug_build()
    book = corrupted()
    with pytest.raises(compiled.BookInvariantError, match="aggregates wrong"):
        OPERATIONS[operation](book)


def test_debug_check_names_the_broken_invariant() -> None:
    needs_debug_build()
    with pytest.raises(compiled.BookInvariantError, match=f"level {BID} aggregates wrong"):
        corrupted().check()
    assert issubclass(compiled.BookInvariantError, AssertionError)


def test_debug_book_passes_its_checks_through_a_trading_sequence() -> None:
    needs_debug_build()
    book = compiled.Book(capacity=16)
    for i in range(40):  # grows every slot array past its first capacity
        book.submit(i, int(Side.BUY) if i % 2 else int(Side.SELL), BID + (i % 5) * Q, Q)
    book.amend(39, BID + 7 * Q, 2 * Q)
    book.cancel(37)
    book.expire(int(TimeInForce.GTC))
    assert len(book) == 0
    assert book.check()


def test_release_build_has_no_corruption_hook() -> None:
    if compiled.DEBUG:
        pytest.skip("a release build's behaviour (make test)")
    book = compiled.Book()
    book.submit(1, int(Side.BUY), BID, 5 * Q)
    with pytest.raises(NotImplementedError, match="debug build"):
        book._debug_corrupt(1, 3 * Q)
    assert book.order(1) == (int(Side.BUY), BID, 5 * Q, 0)
    assert book.check()
