"""The market view (compiled and its pure twin): book mirrors, NBBO, staleness, locked/crossed.

Every behavioural test runs on both implementations; the property test checks that after any
random sequence of L1 and depth quotes the compiled NBBO and levels equal a brute-force scan of
the last quote of each venue, and equal the reference.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexus._ext import nbbo as compiled
from nexus._ext.nbbo import MarketView
from tests.support import nbbo_reference as ref
from tests.support.nbbo_reference import ReferenceMarketView

S = "XYZ"


def test_state_codes_match_the_reference() -> None:
    assert (compiled.STATE_EMPTY, compiled.STATE_ONE_SIDED, compiled.STATE_NORMAL) == (0, 1, 2)
    assert (compiled.STATE_LOCKED, compiled.STATE_CROSSED) == (ref.STATE_LOCKED, ref.STATE_CROSSED)
    assert compiled.STATE_NAMES == ref.STATE_NAMES
    assert (compiled.SIDE_BID, compiled.SIDE_ASK) == (ref.SIDE_BID, ref.SIDE_ASK)


def test_empty_symbol_has_an_empty_nbbo(market_factory: Callable[..., Any]) -> None:
    m = market_factory()
    n = m.nbbo(S, 10)
    assert (n.bid_price, n.ask_price, n.state, n.bid_venues) == (0, 0, 0, ())
    assert n.state_name == "EMPTY"
    assert m.levels(S, "A", 0, 10) == []
    assert m.book_side(S, 0, 10) == []
    assert m.quotes(S, 10) == []


def test_nbbo_takes_best_prices_and_sums_sizes_at_them(market_factory: Callable[..., Any]) -> None:
    m = market_factory()
    m.update_l1(S, "A", 100, 5, 103, 7, 1)
    m.update_l1(S, "B", 101, 2, 103, 4, 2)
    m.update_l1(S, "C", 101, 3, 104, 9, 3)
    n = m.nbbo(S, 5)
    assert (n.bid_price, n.bid_size, n.bid_venues) == (101, 5, ("B", "C"))
    assert (n.ask_price, n.ask_size, n.ask_venues) == (103, 11, ("A", "B"))
    assert n.state_name == "NORMAL"
    assert n.ts_event == 5


def test_stale_quotes_are_excluded_and_counted(market_factory: Callable[..., Any]) -> None:
    m = market_factory(max_age_ns=100)
    m.update_l1(S, "A", 100, 5, 103, 7, 0)
    m.update_l1(S, "B", 99, 5, 104, 7, 50)
    n = m.nbbo(S, 120)
    assert (n.bid_price, n.ask_price, n.stale_venues) == (99, 104, 1)
    assert m.levels(S, "A", 0, 120) == []
    assert [q.stale for q in m.quotes(S, 120)] == [True, False]
    assert m.nbbo(S, 200).state_name == "EMPTY"


def test_unprotected_venue_is_depth_not_nbbo(market_factory: Callable[..., Any]) -> None:
    m = market_factory()
    m.add_venue("DARK", protected=False)
    m.update_l1(S, "DARK", 102, 5, 102 + 1, 5, 1)
    m.update_l1(S, "A", 100, 5, 105, 5, 1)
    n = m.nbbo(S, 2)
    assert (n.bid_price, n.ask_price) == (100, 105)
    assert not m.is_protected("DARK") and m.is_protected("A")
    assert ("DARK", False, [(103, 5)]) in m.book_side(S, 1, 2)


@pytest.mark.parametrize(
    ("quote_a", "quote_b", "state"),
    [
        ((100, 102), (102, 104), "LOCKED"),  # B bids at A's offer
        ((100, 102), (103, 105), "CROSSED"),  # B bids above A's offer
        ((0, 102), (0, 103), "ONE_SIDED"),
        ((100, 102), (101, 103), "NORMAL"),
    ],
)
def test_locked_and_crossed_markets_are_reported(
    market_factory: Callable[..., Any],
    quote_a: tuple[int, int],
    quote_b: tuple[int, int],
    state: str,
) -> None:
    m = market_factory()
    for venue, (bid, ask) in (("A", quote_a), ("B", quote_b)):
        m.update_l1(S, venue, bid, 5 if bid else 0, ask, 5, 1)
    assert m.nbbo(S, 2).state_name == state


def test_older_quote_is_ignored(market_factory: Callable[..., Any]) -> None:
    m = market_factory()
    assert m.update_l1(S, "A", 100, 5, 103, 7, 10)
    assert not m.update_l1(S, "A", 90, 5, 93, 7, 9)
    assert not m.update_depth(S, "A", [(80, 1)], [(85, 1)], 5)
    assert m.nbbo(S, 11).bid_price == 100


def test_l1_keeps_depth_worse_than_the_new_top(market_factory: Callable[..., Any]) -> None:
    m = market_factory()
    m.update_depth(S, "A", [(100, 1), (99, 2), (98, 3)], [(101, 1), (102, 2), (103, 3)], 1)
    m.update_l1(S, "A", 99, 7, 101, 9, 2)
    assert m.levels(S, "A", 0, 3) == [(99, 7), (98, 3)]
    assert m.levels(S, "A", 1, 3) == [(101, 9), (102, 2), (103, 3)]
    m.update_l1(S, "A", 0, 0, 104, 1, 3)
    assert m.levels(S, "A", 0, 4) == []
    assert m.levels(S, "A", 1, 4) == [(104, 1)]


def test_depth_is_truncated_and_validated(market_factory: Callable[..., Any]) -> None:
    m = market_factory(max_depth=2)
    m.update_depth(S, "A", [(100, 1), (99, 2), (98, 3)], [], 1)
    assert m.levels(S, "A", 0, 2) == [(100, 1), (99, 2)]
    with pytest.raises(ValueError, match="strictly ordered"):
        m.update_depth(S, "A", [(99, 1), (100, 2)], [], 2)
    with pytest.raises(ValueError, match="size > 0"):
        m.update_depth(S, "A", [], [(100, 0)], 2)


def test_flicker_history_records_previous_top_and_change_time(
    market_factory: Callable[..., Any],
) -> None:
    m = market_factory()
    m.update_l1(S, "A", 100, 5, 105, 5, 10)
    m.update_l1(S, "A", 100, 6, 104, 5, 20)
    q = m.quotes(S, 21)[0]
    assert (q.prev_ask_price, q.ask_changed_ns) == (105, 20)
    assert (q.prev_bid_price, q.bid_changed_ns) == (0, 10)  # size change is not a price change
    assert (q.bid_size, q.ts_event, q.venue, q.protected) == (6, 20, "A", True)


def test_clear_venue_forgets_its_quotes(market_factory: Callable[..., Any]) -> None:
    m = market_factory()
    m.update_l1(S, "A", 100, 5, 105, 5, 10)
    m.update_l1(S, "B", 99, 5, 106, 5, 10)
    m.clear_venue("A")
    m.clear_venue("NEVER")
    assert m.nbbo(S, 11).bid_venues == ("B",)
    assert m.update_l1(S, "A", 98, 1, 107, 1, 1)  # a restarted venue may quote any time again
    assert "A" in m.venues and S in m.symbols()


def test_too_many_venues_is_refused(market_factory: Callable[..., Any]) -> None:
    m = market_factory(max_venues=2)
    m.add_venue("A")
    m.add_venue("B")
    assert m.add_venue("A") == 0
    with pytest.raises(OverflowError):
        m.update_l1(S, "C", 1, 1, 2, 1, 1)


def test_compiled_view_rejects_bad_dimensions() -> None:
    with pytest.raises(ValueError):
        MarketView(max_venues=0)
    assert "XYZ" in repr(MarketView().nbbo("XYZ", 0))


# -- property: NBBO equals a brute-force scan after any quote sequence ------------------------
VENUES = ["A", "B", "C", "D"]
price = st.integers(min_value=95, max_value=105)
size = st.integers(min_value=1, max_value=9)
l1 = st.tuples(
    st.just("l1"), st.sampled_from(VENUES), st.integers(0, 105), size, st.integers(0, 110), size,
    st.integers(0, 50),
)  # fmt: skip
depth = st.tuples(
    st.just("depth"),
    st.sampled_from(VENUES),
    st.lists(price, max_size=4, unique=True),
    st.lists(price, max_size=4, unique=True),
    st.integers(0, 50),
)
events = st.lists(st.one_of(l1, depth), max_size=40)


def _brute_force(
    history: list[tuple[Any, ...]], now: int, max_age: int, unprotected: set[str]
) -> tuple[Any, ...]:
    last: dict[str, tuple[int, int, int, int]] = {}
    for e in history:
        last[e[0]] = e[1:]
    bid = ask = bid_sz = ask_sz = 0
    for v, (b, bs, a, as_, ts) in (
        (v, (*q, t)) for v, (q, t) in ((v, (x[:4], x[4])) for v, x in last.items())
    ):
        if now - ts > max_age or v in unprotected:
            continue
        if b and b > bid:
            bid, bid_sz = b, bs
        elif b and b == bid:
            bid_sz += bs
        if a and (not ask or a < ask):
            ask, ask_sz = a, as_
        elif a and a == ask:
            ask_sz += as_
    return bid, bid_sz, ask, ask_sz


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seq=events, now=st.integers(0, 80))
def test_nbbo_equals_brute_force_after_any_quote_sequence(
    seq: list[tuple[Any, ...]], now: int
) -> None:
    max_age = 30
    views = [MarketView(max_age_ns=max_age), ReferenceMarketView(max_age_ns=max_age)]
    for v in views:
        v.add_venue("D", protected=False)
    history: list[tuple[Any, ...]] = []
    latest: dict[str, int] = {}
    for e in seq:
        kind, venue = e[0], e[1]
        ts = e[-1]
        if ts < latest.get(venue, -1):
            for v in views:
                assert not (
                    v.update_l1(S, venue, 0, 0, 0, 0, ts)
                    if kind == "l1"
                    else v.update_depth(S, venue, [], [], ts)
                )
            continue
        latest[venue] = ts
        if kind == "l1":
            _, _, b, bs, a, as_, _ = e
            for v in views:
                v.update_l1(S, venue, b, bs, a, as_, ts)
            # the top of book the venue now shows (0 price or size = side empty)
            top_b = (b, bs) if b and bs else (0, 0)
            top_a = (a, as_) if a and as_ else (0, 0)
        else:
            _, _, bids, asks, _ = e
            bids = sorted(bids, reverse=True)
            asks = sorted(asks)
            for v in views:
                v.update_depth(S, venue, [(p, 1) for p in bids], [(p, 2) for p in asks], ts)
            top_b = (bids[0], 1) if bids else (0, 0)
            top_a = (asks[0], 2) if asks else (0, 0)
        history.append((venue, top_b[0], top_b[1], top_a[0], top_a[1], ts))
    expected = _brute_force(history, now, max_age, {"D"})
    c, r = (v.nbbo(S, now) for v in views)
    assert (c.bid_price, c.bid_size, c.ask_price, c.ask_size) == expected
    assert (r.bid_price, r.bid_size, r.ask_price, r.ask_size) == expected
    assert (c.bid_venues, c.ask_venues, c.state, c.stale_venues) == (
        r.bid_venues, r.ask_venues, r.state, r.stale_venues,
    )  # fmt: skip
    for side in (0, 1):
        assert views[0].book_side(S, side, now) == views[1].book_side(S, side, now)
    cq = [
        (
            q.venue,
            q.bid_price,
            q.ask_price,
            q.prev_bid_price,
            q.prev_ask_price,
            q.bid_changed_ns,
            q.ask_changed_ns,
            q.stale,
        )
        for q in views[0].quotes(S, now)
    ]
    rq = [
        (
            q.venue,
            q.bid_price,
            q.ask_price,
            q.prev_bid_price,
            q.prev_ask_price,
            q.bid_changed_ns,
            q.ask_changed_ns,
            q.stale,
        )
        for q in views[1].quotes(S, now)
    ]
    assert cq == rq
