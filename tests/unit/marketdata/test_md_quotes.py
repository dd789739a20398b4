"""Venue quote streams: L1 and depth per venue, never crossed or locked, deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from nexus.events import QUOTE_CODEC, QuoteDepth, QuoteL1
from services.marketdata.core.errors import InvalidRangeError
from services.marketdata.core.quotes import DEFAULT_VENUES, VenueProfile, mid_path, quote_stream

TICK = 10_000_000  # 0.01


def _stream(seed: int = 1) -> list[QuoteL1 | QuoteDepth]:
    ts = np.arange(0, 10_000_000_000, 100_000_000, dtype=np.int64)
    mids = mid_path(100 * 10**9, TICK, len(ts), 1.5, seed)
    return quote_stream("ACME", ts, mids, TICK, DEFAULT_VENUES, seed=seed)


def test_quote_stream_several_venues_emit_l1_and_depth() -> None:
    quotes = _stream()
    venues = {q.venue for q in quotes}
    assert venues == {v.venue for v in DEFAULT_VENUES}
    assert any(isinstance(q, QuoteL1) for q in quotes)
    assert any(isinstance(q, QuoteDepth) for q in quotes)
    ts = [q.ts_event for q in quotes]
    assert ts == sorted(ts)
    assert len({q.event_id for q in quotes}) == len(quotes)


def test_quote_stream_nbbo_is_never_crossed_or_locked() -> None:
    best: dict[str, tuple[int, int]] = {}
    for q in _stream(seed=7):
        if isinstance(q, QuoteL1):
            assert 0 < q.bid_price < q.ask_price
            assert q.bid_price % TICK == 0 and q.ask_price % TICK == 0
            best[q.venue] = (q.bid_price, q.ask_price)
            assert max(b for b, _ in best.values()) < min(a for _, a in best.values())


def test_quote_stream_events_roundtrip_through_codec() -> None:
    for q in _stream()[:50]:
        assert QUOTE_CODEC.decode(QUOTE_CODEC.encode(q)) == q


def test_quote_stream_same_seed_is_identical() -> None:
    assert _stream(3) == _stream(3)


def test_quote_stream_half_spread_below_half_tick_raises() -> None:
    ts = np.array([0, 1], dtype=np.int64)
    mids = np.array([10**9, 10**9], dtype=np.int64)
    with pytest.raises(InvalidRangeError):
        quote_stream("ACME", ts, mids, TICK, [VenueProfile("X", half_spread_ticks=0.2)])


def test_quote_stream_descending_times_raise() -> None:
    with pytest.raises(InvalidRangeError):
        quote_stream("ACME", np.array([5, 1]), np.array([10**9, 10**9]), TICK)


def test_market_quotes_several_symbols_merged_in_time_order() -> None:
    from services.marketdata.core.quotes import market_quotes

    quotes = market_quotes([("AAA", 50 * 10**9), ("BBB", 20 * 10**9)], 10**18, 2.0, TICK, seed=4)
    assert {q.symbol for q in quotes} == {"AAA", "BBB"}
    ts = [q.ts_event for q in quotes]
    assert ts == sorted(ts) and ts[0] >= 10**18
    again = market_quotes([("AAA", 50 * 10**9), ("BBB", 20 * 10**9)], 10**18, 2.0, TICK, seed=4)
    assert quotes == again


def test_market_quotes_non_positive_window_raises() -> None:
    from services.marketdata.core.quotes import market_quotes

    with pytest.raises(InvalidRangeError):
        market_quotes([("AAA", 10**9)], 0, 0.0, TICK)
