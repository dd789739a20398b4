"""Behaviour of the order book, run against the compiled book and the reference alike."""

from __future__ import annotations

from typing import Any

import pytest

import nexus._ext.book as compiled
from nexus import book as codes
from nexus.book import (
    AMENDED,
    EXPIRED,
    FILL_MATCH,
    FILL_STP_CANCEL,
    FILLED,
    REJECT_DUPLICATE,
    REJECT_FOK,
    REJECT_INVALID,
    REJECT_POST_ONLY,
    REJECT_UNKNOWN,
    RESTED,
    STP_CANCEL_NEWEST,
    STP_CANCEL_OLDEST,
    STP_CANCELLED,
    TIF_DAY,
    TIF_FOK,
    TIF_IOC,
)

BUY, SELL = codes.SIDE_BUY, codes.SIDE_SELL
P = 1_000_000_000  # one unit at the fixed-point scale


def test_codes_match_compiled_module() -> None:
    for name in codes.CODE_NAMES:
        assert getattr(compiled, name) == getattr(codes, name), name


def test_limit_orders_rest_in_price_time_priority(book: Any) -> None:
    assert book.submit(1, SELL, 101 * P, 5 * P) == RESTED
    assert book.submit(2, SELL, 100 * P, 3 * P) == RESTED
    assert book.submit(3, SELL, 100 * P, 4 * P) == RESTED
    assert book.submit(4, BUY, 99 * P, 1 * P) == RESTED
    assert book.levels(SELL) == [(100 * P, [(2, 3 * P), (3, 4 * P)]), (101 * P, [(1, 5 * P)])]
    assert book.depth(SELL, 1) == [(100 * P, 7 * P, 2)]
    assert book.depth(BUY) == [(99 * P, 1 * P, 1)]
    assert (book.best_bid(), book.best_ask()) == (99 * P, 100 * P)
    assert len(book) == 4


def test_aggressive_limit_sweeps_levels_fifo_at_maker_prices(book: Any) -> None:
    book.submit(1, SELL, 100 * P, 3 * P, account=1)
    book.submit(2, SELL, 100 * P, 4 * P, account=2)
    book.submit(3, SELL, 101 * P, 5 * P, account=3)
    assert book.submit(9, BUY, 101 * P, 10 * P, account=9) == FILLED
    assert book.fills() == [
        (FILL_MATCH, 1, 9, 100 * P, 3 * P, 0),
        (FILL_MATCH, 2, 9, 100 * P, 4 * P, 0),
        (FILL_MATCH, 3, 9, 101 * P, 3 * P, 2 * P),
    ]
    assert (book.last_filled, book.last_remaining) == (10 * P, 0)
    assert book.levels(SELL) == [(101 * P, [(3, 2 * P)])]
    assert book.levels(BUY) == []


def test_aggressive_limit_remainder_rests_at_its_limit(book: Any) -> None:
    book.submit(1, SELL, 100 * P, 3 * P)
    assert book.submit(2, BUY, 102 * P, 5 * P) == RESTED
    assert book.last_remaining == 2 * P
    assert book.levels(BUY) == [(102 * P, [(2, 2 * P)])]
    assert book.best_ask() == 0


def test_market_order_on_empty_book_expires_unfilled(book: Any) -> None:
    assert book.submit(1, BUY, 0, 5 * P) == EXPIRED
    assert book.fills() == []
    assert book.last_remaining == 5 * P
    assert len(book) == 0


def test_market_order_takes_any_price_and_remainder_expires(book: Any) -> None:
    book.submit(1, SELL, 100 * P, 2 * P)
    book.submit(2, SELL, 500 * P, 2 * P)
    assert book.submit(3, BUY, 0, 5 * P) == EXPIRED
    assert [f[3] for f in book.fills()] == [100 * P, 500 * P]
    assert book.last_remaining == 1 * P
    assert len(book) == 0


def test_ioc_fills_up_to_limit_and_never_rests(book: Any) -> None:
    book.submit(1, BUY, 100 * P, 2 * P)
    book.submit(2, BUY, 98 * P, 2 * P)
    assert book.submit(3, SELL, 99 * P, 5 * P, tif=TIF_IOC) == EXPIRED
    assert book.fills() == [(FILL_MATCH, 1, 3, 100 * P, 2 * P, 0)]
    assert book.last_remaining == 3 * P
    assert book.best_ask() == 0
    assert book.levels(BUY) == [(98 * P, [(2, 2 * P)])]


def test_ioc_with_nothing_at_limit_is_a_no_op(book: Any) -> None:
    book.submit(1, SELL, 101 * P, 2 * P)
    assert book.submit(2, BUY, 100 * P, 2 * P, tif=TIF_IOC) == EXPIRED
    assert book.fills() == []
    assert book.levels(SELL) == [(101 * P, [(1, 2 * P)])]


def test_fok_without_enough_quantity_is_rejected_untouched(book: Any) -> None:
    book.submit(1, SELL, 100 * P, 2 * P)
    book.submit(2, SELL, 102 * P, 5 * P)
    assert book.submit(3, BUY, 101 * P, 3 * P, tif=TIF_FOK) == REJECT_FOK
    assert book.fills() == []
    assert book.levels(SELL) == [(100 * P, [(1, 2 * P)]), (102 * P, [(2, 5 * P)])]


def test_fok_with_enough_quantity_fills_completely(book: Any) -> None:
    book.submit(1, SELL, 100 * P, 2 * P)
    book.submit(2, SELL, 102 * P, 5 * P)
    assert book.submit(3, BUY, 102 * P, 7 * P, tif=TIF_FOK) == FILLED
    assert sum(f[4] for f in book.fills()) == 7 * P
    assert len(book) == 0


def test_fok_counts_only_what_stp_would_let_it_fill(book: Any) -> None:
    book.submit(1, SELL, 100 * P, 2 * P, account=7)
    book.submit(2, SELL, 100 * P, 2 * P, account=8)
    args = {"account": 7, "tif": TIF_FOK}
    assert book.submit(3, BUY, 100 * P, 3 * P, stp=STP_CANCEL_OLDEST, **args) == REJECT_FOK
    assert book.submit(4, BUY, 100 * P, 2 * P, stp=STP_CANCEL_NEWEST, **args) == REJECT_FOK
    assert book.submit(5, BUY, 100 * P, 2 * P, stp=STP_CANCEL_OLDEST, **args) == FILLED
    assert book.fills() == [
        (FILL_STP_CANCEL, 1, 5, 100 * P, 2 * P, 0),
        (FILL_MATCH, 2, 5, 100 * P, 2 * P, 0),
    ]


def test_post_only_that_would_cross_or_lock_is_rejected(book: Any) -> None:
    book.submit(1, SELL, 100 * P, 2 * P)
    assert book.submit(2, BUY, 100 * P, 1 * P, post_only=True) == REJECT_POST_ONLY
    assert book.submit(3, BUY, 101 * P, 1 * P, post_only=True) == REJECT_POST_ONLY
    assert book.submit(4, BUY, 99 * P, 1 * P, post_only=True) == RESTED
    assert book.fills() == []
    assert book.best_bid() == 99 * P


def test_post_only_market_or_ioc_is_invalid(book: Any) -> None:
    assert book.submit(1, BUY, 0, P, post_only=True) == REJECT_INVALID
    assert book.submit(2, BUY, 100 * P, P, tif=TIF_IOC, post_only=True) == REJECT_INVALID


@pytest.mark.parametrize(
    ("order_id", "side", "price", "qty"),
    [(-1, BUY, P, P), (1, 2, P, P), (1, BUY, -P, P), (1, BUY, P, 0), (1, BUY, P, -P)],
)
def test_malformed_submit_is_invalid(
    book: Any, order_id: int, side: int, price: int, qty: int
) -> None:
    assert book.submit(order_id, side, price, qty) == REJECT_INVALID
    assert len(book) == 0


def test_duplicate_resting_id_is_rejected(book: Any) -> None:
    book.submit(1, BUY, 99 * P, P)
    assert book.submit(1, BUY, 98 * P, P) == REJECT_DUPLICATE
    assert book.levels(BUY) == [(99 * P, [(1, P)])]


def test_cancel_returns_open_quantity_and_removes_empty_level(book: Any) -> None:
    book.submit(1, BUY, 99 * P, 2 * P)
    book.submit(2, BUY, 99 * P, 3 * P)
    book.submit(3, BUY, 98 * P, 4 * P)
    assert book.cancel(2) == 3 * P
    assert book.cancel(2) == 0
    assert book.cancel(3) == 4 * P
    assert book.levels(BUY) == [(99 * P, [(1, 2 * P)])]
    assert book.order(2) is None
    assert book.order(1) == (BUY, 99 * P, 2 * P, 0)


def test_cancel_in_middle_of_deep_queue_keeps_fifo(book: Any) -> None:
    for i in range(100):
        book.submit(i, SELL, 100 * P, P)
    for i in range(1, 100, 2):
        book.cancel(i)
    assert [oid for oid, _ in book.levels(SELL)[0][1]] == list(range(0, 100, 2))
    book.submit(1000, BUY, 100 * P, 3 * P)
    assert [f[1] for f in book.fills()] == [0, 2, 4]


def test_amend_quantity_down_keeps_priority(book: Any) -> None:
    book.submit(1, SELL, 100 * P, 5 * P)
    book.submit(2, SELL, 100 * P, 5 * P)
    assert book.amend(1, 100 * P, 2 * P) == AMENDED
    assert book.levels(SELL) == [(100 * P, [(1, 2 * P), (2, 5 * P)])]
    assert book.depth(SELL) == [(100 * P, 7 * P, 2)]


def test_amend_quantity_up_loses_priority(book: Any) -> None:
    book.submit(1, SELL, 100 * P, 5 * P)
    book.submit(2, SELL, 100 * P, 5 * P)
    assert book.amend(1, 100 * P, 6 * P) == RESTED
    assert book.levels(SELL) == [(100 * P, [(2, 5 * P), (1, 6 * P)])]


def test_amend_price_moves_order_to_back_of_new_level(book: Any) -> None:
    book.submit(1, SELL, 100 * P, 5 * P)
    book.submit(2, SELL, 101 * P, 5 * P)
    assert book.amend(1, 101 * P, 4 * P) == RESTED
    assert book.levels(SELL) == [(101 * P, [(2, 5 * P), (1, 4 * P)])]


def test_amend_to_crossing_price_trades_as_taker(book: Any) -> None:
    book.submit(1, BUY, 99 * P, 2 * P)
    book.submit(2, SELL, 101 * P, 5 * P)
    assert book.amend(2, 99 * P, 5 * P) == RESTED
    assert book.fills() == [(FILL_MATCH, 1, 2, 99 * P, 2 * P, 0)]
    assert book.levels(SELL) == [(99 * P, [(2, 3 * P)])]
    assert book.best_bid() == 0


def test_amend_post_only_to_crossing_price_is_rejected_unchanged(book: Any) -> None:
    book.submit(1, BUY, 99 * P, 2 * P)
    book.submit(2, SELL, 101 * P, 5 * P, post_only=True)
    assert book.amend(2, 99 * P, 5 * P) == REJECT_POST_ONLY
    assert book.levels(SELL) == [(101 * P, [(2, 5 * P)])]


def test_amend_unknown_or_invalid_is_rejected(book: Any) -> None:
    assert book.amend(5, 100 * P, P) == REJECT_UNKNOWN
    book.submit(5, BUY, 100 * P, P)
    assert book.amend(5, 100 * P, 0) == REJECT_INVALID
    assert book.amend(5, 0, P) == REJECT_INVALID


def test_stp_cancel_newest_cancels_the_taker_remainder(book: Any) -> None:
    book.submit(1, SELL, 100 * P, 2 * P, account=2)
    book.submit(2, SELL, 100 * P, 2 * P, account=1)
    book.submit(3, SELL, 100 * P, 2 * P, account=2)
    assert book.submit(4, BUY, 100 * P, 5 * P, account=1, stp=STP_CANCEL_NEWEST) == STP_CANCELLED
    assert book.fills() == [(FILL_MATCH, 1, 4, 100 * P, 2 * P, 0)]
    assert (book.last_filled, book.last_remaining) == (2 * P, 3 * P)
    assert book.levels(SELL) == [(100 * P, [(2, 2 * P), (3, 2 * P)])]
    assert book.best_bid() == 0


def test_stp_cancel_oldest_cancels_resting_and_continues(book: Any) -> None:
    book.submit(1, SELL, 100 * P, 2 * P, account=2)
    book.submit(2, SELL, 100 * P, 2 * P, account=1)
    book.submit(3, SELL, 100 * P, 2 * P, account=2)
    assert book.submit(4, BUY, 100 * P, 5 * P, account=1, stp=STP_CANCEL_OLDEST) == RESTED
    assert book.fills() == [
        (FILL_MATCH, 1, 4, 100 * P, 2 * P, 0),
        (FILL_STP_CANCEL, 2, 4, 100 * P, 2 * P, 0),
        (FILL_MATCH, 3, 4, 100 * P, 2 * P, 0),
    ]
    assert book.levels(BUY) == [(100 * P, [(4, P)])]


def test_stp_off_lets_an_account_trade_with_itself(book: Any) -> None:
    book.submit(1, SELL, 100 * P, 2 * P, account=1)
    assert book.submit(2, BUY, 100 * P, 2 * P, account=1) == FILLED


def test_expire_removes_only_day_orders(book: Any) -> None:
    book.submit(1, BUY, 99 * P, P, tif=TIF_DAY)
    book.submit(2, BUY, 99 * P, P)
    book.submit(3, SELL, 101 * P, P, tif=TIF_DAY)
    assert book.expire(TIF_DAY) == [(1, P), (3, P)]
    assert book.levels(BUY) == [(99 * P, [(2, P)])]
    assert book.best_ask() == 0


def test_batch_matches_one_at_a_time(book_factory: Any) -> None:
    rows = [
        [codes.OP_SUBMIT, 1, SELL, 100 * P, 3 * P, 1, 0, 0, 0],
        [codes.OP_SUBMIT, 2, SELL, 101 * P, 3 * P, 1, 0, 0, 0],
        [codes.OP_AMEND, 1, 0, 100 * P, 2 * P, 0, 0, 0, 0],
        [codes.OP_SUBMIT, 3, BUY, 101 * P, 4 * P, 2, TIF_IOC, 0, 0],
        [codes.OP_CANCEL, 2, 0, 0, 0, 0, 0, 0, 0],
    ]
    import numpy as np

    batched = book_factory()
    results = [int(r) for r in batched.apply_batch(np.array(rows, dtype=np.int64))]
    assert results == [RESTED, RESTED, AMENDED, FILLED, P]
    assert [tuple(int(v) for v in f) for f in batched.fills_array()] == [
        (3, FILL_MATCH, 1, 3, 100 * P, 2 * P, 0),
        (3, FILL_MATCH, 2, 3, 101 * P, 2 * P, P),
    ]
    assert len(batched) == 0


def test_book_grows_past_initial_capacity(book_factory: Any) -> None:
    book = book_factory()
    for i in range(5000):
        book.submit(i, i % 2, (1000 + i % 300) * P if i % 2 else (900 - i % 300) * P, P)
    assert len(book) == 5000
    assert book.check()
    for i in range(0, 5000, 3):
        book.cancel(i)
    assert book.check()
    assert len(book) == 5000 - len(range(0, 5000, 3))


def test_depth_and_levels_reject_bad_side(book: Any) -> None:
    with pytest.raises(ValueError, match="side"):
        book.depth(5)


def test_order_overflowing_level_total_is_rejected_before_anything(book: Any) -> None:
    big = 2**62
    assert book.submit(1, SELL, 100 * P, big) == RESTED
    assert book.submit(2, SELL, 100 * P, big) == REJECT_INVALID
    assert book.submit(3, SELL, 101 * P, big) == RESTED
    assert book.amend(3, 100 * P, big) == REJECT_INVALID
    assert book.amend(1, 100 * P, big + 5) == RESTED
    assert book.levels(SELL) == [(100 * P, [(1, big + 5)]), (101 * P, [(3, big)])]
    assert book.submit(4, SELL, 100 * P, big, tif=TIF_IOC) == EXPIRED


def test_fok_sums_huge_levels_without_overflow(book: Any) -> None:
    big = 2**62
    book.submit(1, SELL, 100 * P, big)
    book.submit(2, SELL, 101 * P, big)
    book.submit(3, SELL, 102 * P, big)
    assert book.submit(4, BUY, 102 * P, 2**63 - 1, tif=TIF_FOK) == FILLED
    assert book.levels(SELL) == [(101 * P, [(2, 1)]), (102 * P, [(3, big)])]


def test_batch_rejects_out_of_range_codes_instead_of_wrapping() -> None:
    import numpy as np

    rows = np.array(
        [
            [codes.OP_SUBMIT, 1, 2**32, 100 * P, P, 0, 0, 0, 0],
            [codes.OP_SUBMIT, 2, BUY, 100 * P, P, 0, 2**32 + 1, 0, 0],
            [codes.OP_SUBMIT, 3, BUY, 100 * P, P, 0, 0, 0, -(2**32)],
        ],
        dtype=np.int64,
    )
    assert [int(r) for r in compiled.Book().apply_batch(rows)] == [REJECT_INVALID] * 3


def test_batch_rejects_unknown_operation_and_short_rows() -> None:
    import numpy as np

    with pytest.raises(ValueError, match="unknown operation"):
        compiled.Book().apply_batch(np.full((1, codes.BATCH_COLUMNS), 7, dtype=np.int64))
    with pytest.raises(ValueError, match="columns"):
        compiled.Book().apply_batch(np.zeros((1, 3), dtype=np.int64))
