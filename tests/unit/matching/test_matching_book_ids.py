"""The compiled book refuses negative ids on every entry point and bounds its growth.

Issue 11.1: ``find_c(-1)`` used to match an empty hash slot (key -1), so four submits, two
cancels and ``Book.order(-1)`` killed the process (exit 139). Every test here would crash or
fail on that book.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus._ext.book import MAX_CAPACITY, Book
from nexus.book import BATCH_COLUMNS, Result, Side
from tests.support.reference_book import ReferenceBook
from tests.unit.matching.test_matching_book_properties import BASE, TICK, Op, apply, state

NEGATIVE = [-1, -2, -(2**63), -(2**31)]
Q = 1_000_000_000


def churned(factory: Any) -> Any:
    """The reproduction: four submits and two cancels leave freed hash slots behind."""
    book = factory()
    for i in range(4):
        book.submit(i, int(Side.BUY), BASE - i * TICK, Q)
    book.cancel(1)
    book.cancel(2)
    return book


@pytest.mark.parametrize("oid", NEGATIVE)
def test_order_of_negative_id_is_absent(book_factory: Any, oid: int) -> None:
    book = churned(book_factory)
    assert book.order(oid) is None
    assert book.check()


@pytest.mark.parametrize("oid", NEGATIVE)
def test_amend_cancel_submit_of_negative_id_change_nothing(book_factory: Any, oid: int) -> None:
    book = churned(book_factory)
    before = state(book)
    assert book.amend(oid, BASE, Q) == Result.REJECT_UNKNOWN
    assert book.cancel(oid) == 0
    assert book.submit(oid, int(Side.SELL), BASE, Q) == Result.REJECT_INVALID
    assert state(book) == before
    assert book.check()


@pytest.mark.parametrize("oid", NEGATIVE)
def test_batch_rows_with_negative_id_are_refused(oid: int) -> None:
    book = churned(Book)
    rows = np.zeros((3, BATCH_COLUMNS), dtype=np.int64)
    rows[:, 1] = oid
    rows[0] = [0, oid, 1, BASE, Q, 0, 0, 0, 0]
    rows[1, 0], rows[1, 3], rows[1, 4] = 1, BASE, Q
    rows[2, 0] = 2
    out = book.apply_batch(rows)
    assert [int(v) for v in out] == [Result.REJECT_INVALID, Result.REJECT_UNKNOWN, 0]
    assert len(book) == 2
    assert book.check()


ids = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([-(2**63), -1, 0, 2**31, 2**62, 2**63 - 1]),
    st.integers(-(2**63), 2**63 - 1),
)
ops = st.lists(
    st.tuples(
        st.sampled_from(["submit", "submit", "amend", "cancel"]),
        ids,
        st.sampled_from([0, 1]),
        st.integers(-3, 3).map(lambda k: BASE + k * TICK),
        st.integers(1, 5).map(lambda q: q * Q),
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_random_ops_with_negative_zero_and_huge_ids_match_reference(
    seq: list[tuple[str, int, int, int, int]],
) -> None:
    fast, ref = Book(capacity=16), ReferenceBook()
    for kind, oid, side, price, qty in seq:
        op: Op = (kind, oid, side, price, qty, 0, 0, False, 0)
        assert apply(fast, op) == apply(ref, op), op
        assert fast.fills() == ref.fills(), op
        assert fast.order(oid) == ref.order(oid), op
        assert state(fast) == state(ref), op
        assert fast.check()


def test_growth_past_max_capacity_raises_memory_error_and_leaves_book_intact() -> None:
    book = Book(capacity=16, max_capacity=32)
    for i in range(32):
        assert book.submit(i, int(Side.BUY), BASE - i * TICK, Q) == Result.RESTED
    before = state(book)
    with pytest.raises(MemoryError, match="capacity limit"):
        book.submit(99, int(Side.BUY), BASE - 99 * TICK, Q)
    assert state(book) == before
    assert book.check()
    # a taker that would fill and rest the remainder is refused before it trades
    with pytest.raises(MemoryError):
        book.submit(100, int(Side.SELL), BASE - 40 * TICK, 100 * Q)
    assert state(book) == before
    # freeing a slot makes room again
    book.cancel(0)
    assert book.submit(99, int(Side.BUY), BASE - 99 * TICK, Q) == Result.RESTED
    assert book.check()


def test_capacity_arguments_are_bounded() -> None:
    assert MAX_CAPACITY == 2**30
    with pytest.raises(ValueError):
        Book(capacity=64, max_capacity=32)
    with pytest.raises(ValueError):
        Book(max_capacity=MAX_CAPACITY + 1)
    with pytest.raises(ValueError):
        Book(max_capacity=8)
