"""The recorded market tape, index membership and the order classification."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from services.routing.reports.classify import (
    MARKET,
    MARKETABLE_LIMIT,
    NON_MARKETABLE_LIMIT,
    OTHER,
    T605_BEYOND_MIDPOINT,
    T605_EXECUTABLE_NML,
    T605_MARKET,
    T605_MARKETABLE_IOC,
    T605_MARKETABLE_LIMIT,
    T605_STOP,
    lot_class,
    notional_bucket,
    round_lots,
    type_605,
    type_606,
)
from services.routing.reports.groups import group_sum_int
from services.routing.reports.model import (
    IndexMembership,
    Orders,
    QuoteTape,
    distinct_sorted,
    factorize,
    utc_days,
)
from tests.unit.routing_reports.support import S, raw, ts


def test_mid_at_reads_last_quote_at_or_before_each_time_and_nan_before_or_one_sided() -> None:
    tape = QuoteTape.from_quotes(
        ["A", "A", "A", "B"],
        [30, 10, 20, 5],
        [raw("10.00"), raw("9.00"), 0, raw("1")],
        [raw("10.02"), raw("9.04"), raw("9.5"), raw("3")],
    )
    mids = tape.mid_at(np.array(["A", "A", "A", "A", "B", "C"]), np.array([9, 10, 25, 99, 5, 50]))
    assert mids[0] != mids[0]  # before the first quote: NaN
    assert mids[1] == pytest.approx(9.02)
    assert mids[2] != mids[2]  # one-sided quote in force: no mid
    assert mids[3] == pytest.approx(10.01)
    assert mids[4] == pytest.approx(2.0)
    assert mids[5] != mids[5]  # symbol never quoted
    assert tape.symbols() == ["A", "B"]


def test_index_membership_follows_effective_dates_inclusive() -> None:
    member = IndexMembership.from_csv(
        "symbol,start,end\n# comment\nAAA,2026-11-15,\nBBB,2020-01-01,2026-10-31\n"
    )
    days = utc_days(
        np.array([ts(2026, 11, 14), ts(2026, 11, 15), ts(2026, 10, 31), ts(2026, 11, 1)])
    )
    got = member.members(np.array(["AAA", "AAA", "BBB", "BBB"]), days)
    assert got.tolist() == [False, True, True, False]
    assert member.intervals[1] == ("BBB", dt.date(2020, 1, 1), dt.date(2026, 10, 31))


def test_index_membership_bad_line_names_its_number() -> None:
    with pytest.raises(ValueError, match="line 2"):
        IndexMembership.from_csv("AAA,2026-01-01,\nBBB,2026-01-01\n")


def _orders() -> Orders:
    bid, ask = raw("10.00"), raw("10.02")
    return Orders.build(
        order_id=list("abcdefgh"),
        symbol=["X"] * 8,
        side=[1, 1, -1, 1, 1, -1, 1, 1],
        quantity=[raw(100), raw(100), raw(100), raw(100), raw(100), raw(100), raw(100), raw(5)],
        limit_price=[
            0,
            raw("10.02"),
            raw("10.00"),
            raw("10.015"),
            raw("10.00"),
            raw("10.01"),
            0,
            0,
        ],
        ts_received=[0] * 8,
        bid=[bid] * 8,
        ask=[ask] * 8,
        ioc=[False, False, True, False, False, False, False, False],
        stop=[False, False, False, False, False, False, True, False],
    )


def test_type_606_splits_market_marketable_non_marketable_and_stops_as_other() -> None:
    got = type_606(_orders()).tolist()
    assert got == [
        MARKET,
        MARKETABLE_LIMIT,
        MARKETABLE_LIMIT,
        NON_MARKETABLE_LIMIT,
        NON_MARKETABLE_LIMIT,
        NON_MARKETABLE_LIMIT,
        OTHER,
        MARKET,
    ]


def test_type_605_beyond_midpoint_executable_ioc_and_uncovered() -> None:
    executed = np.array([True, True, True, False, True, False, False, True])
    got = type_605(_orders(), executed).tolist()
    # e: at the bid, executed -> executable non-marketable; f: sell at the mid, never
    # executed -> not covered (-1)
    assert got == [
        T605_MARKET,
        T605_MARKETABLE_LIMIT,
        T605_MARKETABLE_IOC,
        T605_BEYOND_MIDPOINT,
        T605_EXECUTABLE_NML,
        -1,
        T605_STOP,
        T605_MARKET,
    ]


def test_size_categories_by_notional_and_lot() -> None:
    orders = Orders.build(
        order_id=["a", "b", "c", "d", "e"],
        symbol=["X"] * 5,
        side=[1] * 5,
        quantity=[raw("0.5"), raw(24), raw(25), raw(100), raw(30)],
        limit_price=[0] * 5,
        ts_received=[0] * 5,
        bid=[raw("9.99"), raw("9.99"), raw("9.99"), raw("9.99"), raw(499)],
        ask=[raw("10.01"), raw("10.01"), raw("10.01"), raw("10.01"), raw(501)],
    )
    # notional = quantity x mid: 5, 240, 250, 1000, 15000
    assert notional_bucket(orders).tolist() == [0, 0, 1, 2, 3]
    lots = round_lots(orders)
    assert (lots // S).tolist() == [100, 100, 100, 100, 40]  # $500 stock: 40-share round lot
    assert lot_class(orders, lots).tolist() == [0, 1, 1, 2, 1]
    assert lot_class(orders, round_lots(orders, fixed=raw(25))).tolist() == [0, 1, 2, 2, 2]


def test_orders_build_refuses_ragged_columns() -> None:
    with pytest.raises(ValueError, match="rows"):
        Orders.build(
            order_id=["a", "b"],
            symbol=["X"],
            side=[1, 1],
            quantity=[1, 1],
            limit_price=[0, 0],
            ts_received=[0, 0],
            bid=[1, 1],
            ask=[2, 2],
        )


def test_index_membership_with_a_symbol_that_left_and_rejoined() -> None:
    member = IndexMembership.from_csv(
        "CCC,2020-01-01,2021-01-01\nCCC,2023-01-01,\nDDD,2020-01-01,\n"
    )
    days = utc_days(np.array([ts(2020, 6, 1), ts(2022, 6, 1), ts(2024, 6, 1), ts(2019, 6, 1)]))
    got = member.members(np.array(["CCC", "CCC", "CCC", "DDD"]), days)
    assert got.tolist() == [True, False, True, False]


def test_factorize_matches_np_unique_on_short_and_long_strings() -> None:
    rng = np.random.default_rng(3)
    short = np.array(["B", "A", "CC", "A", "", "B"])[rng.integers(0, 6, 500)]
    long_ = np.array(["X" * 70, "Y" * 70, "X" * 69])[rng.integers(0, 3, 50)]  # np.unique path
    for values in (short, long_, np.array([], dtype=np.str_)):
        names, codes = factorize(values)
        want_names, want_codes = np.unique(values, return_inverse=True)
        assert names.tolist() == want_names.tolist()
        assert codes.tolist() == want_codes.tolist()
    assert distinct_sorted(np.array([5, 1, 5, 3, 1])).tolist() == [1, 3, 5]


def test_group_sum_int_is_exact_for_large_and_negative_values() -> None:
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 7, 5000)
    values = rng.integers(-(2**50), 2**50, 5000)
    got = group_sum_int(keys, values, 9)
    want = [sum(int(v) for k2, v in zip(keys, values, strict=True) if k2 == k) for k in range(9)]
    assert got.tolist() == want
