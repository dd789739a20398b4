"""Quote mids, fingerprints and the Redis result cache's key mapping (fake Redis surface)."""

from __future__ import annotations

from nexus.events import Level, QuoteDepth, QuoteL1
from services.analytics.core import PortfolioPosition
from services.analytics.results_cache import RedisResultCache, namespace_of
from services.analytics.service import fingerprint, quote_mid
from tests.unit.analytics_adapters.fakes import FakeCache


def _l1(bid: int, ask: int) -> QuoteL1:
    return QuoteL1(
        event_id="q",
        ts_event=1,
        symbol="AAA",
        venue="V",
        bid_price=bid,
        bid_size=1 if bid else 0,
        ask_price=ask,
        ask_size=1 if ask else 0,
    )


def test_mid_of_a_two_sided_quote_rounds_half_even() -> None:
    assert quote_mid(_l1(100, 102)) == 101
    assert quote_mid(_l1(100, 101)) == 100  # 100.5 -> 100 (even)
    assert quote_mid(_l1(101, 102)) == 102  # 101.5 -> 102 (even)


def test_one_sided_quotes_have_no_mid() -> None:
    assert quote_mid(_l1(0, 102)) is None
    assert quote_mid(_l1(100, 0)) is None
    empty = QuoteDepth(event_id="d", ts_event=1, symbol="AAA", venue="V", bids=[], asks=[])
    assert quote_mid(empty) is None


def test_mid_of_depth_uses_the_best_levels() -> None:
    depth = QuoteDepth(
        event_id="d",
        ts_event=1,
        symbol="AAA",
        venue="V",
        bids=[Level(100, 5), Level(99, 5)],
        asks=[Level(104, 5)],
    )
    assert quote_mid(depth) == 102


def test_fingerprint_moves_with_quantity_or_price() -> None:
    a = [PortfolioPosition(symbol="AAA", quantity="1", price="10")]
    b = [PortfolioPosition(symbol="AAA", quantity="2", price="10")]
    c = [PortfolioPosition(symbol="AAA", quantity="1", price="10.01")]
    assert len({fingerprint(a), fingerprint(b), fingerprint(c)}) == 3
    assert fingerprint(a) == fingerprint(list(a))


async def test_results_live_in_one_namespace_per_user_and_unknown_kinds_are_not_cached() -> None:
    fake = FakeCache()
    cache = RedisResultCache(fake)  # type: ignore[arg-type]
    calls: list[str] = []

    async def compute() -> str:
        calls.append("x")
        return "result"

    assert await cache.get_or_compute("desk:a:var:fp:0.99:1:historical", compute) == "result"
    assert await cache.get_or_compute("desk:a:var:fp:0.99:1:historical", compute) == "result"
    assert (cache.misses, cache.hits, len(calls)) == (1, 1, 1)
    assert (namespace_of("desk:a"), "var:fp:0.99:1:historical") in fake.values
    await cache.get_or_compute("alice:unknown:kind", compute)
    await cache.get_or_compute("alice:unknown:kind", compute)
    assert len(calls) == 3  # computed each time, never stored
    assert await cache.invalidate("desk:a:") == 1
    await cache.invalidate_users({"bob", "carol"})
    assert fake.bumped == [namespace_of("desk:a"), namespace_of("bob"), namespace_of("carol")]
    await cache.get_or_compute("desk:a:var:fp:0.99:1:historical", compute)
    assert len(calls) == 4
