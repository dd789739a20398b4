"""The rest of the seed's interface: split_order, get_nbbo, get_venue_rankings, quotes, stats."""

from __future__ import annotations

import pytest

from nexus.events import Level, QuoteDepth, QuoteL1
from services.routing.core import InvalidOrder, RouterConfig, Strategy, VenueStatsTracker
from services.routing.core.protection import ProtectedQuote
from services.routing.core.search import Candidate, allocate, is_feasible
from services.routing.core.types import VenueProfile
from tests.support.routing_fakes import CENT, Behaviour, BookVenue, px, sh
from tests.unit.routing.conftest import T_NOW, build_router


def _five_venues() -> list[BookVenue]:
    return [
        BookVenue(f"V{i}", asks=[(px("10.00") + i * CENT, sh(200)), (px("10.05"), sh(200))])
        for i in range(5)
    ]


@pytest.mark.parametrize("max_venues", [1, 2, 3, 5])
@pytest.mark.parametrize("qty", [100, 700, 1500, 2500])
async def test_split_order_children_sum_exactly_to_the_parent(max_venues: int, qty: int) -> None:
    router, _, _ = build_router(*_five_venues(), protection=None)
    children = await router.split_order("o", "u", "XYZ", "BUY", sh(qty), max_venues)
    assert sum(q for _, q, _ in children) == sh(qty)
    assert all(q > 0 for _, q, _ in children)


async def test_split_order_respects_max_venues_when_protection_allows() -> None:
    from services.routing.core import NoOrderProtection

    router, _, _ = build_router(*_five_venues(), protection=NoOrderProtection())
    children = await router.split_order("o", "u", "XYZ", "BUY", sh(700), 2)
    assert len({v for v, _, _ in children}) <= 2
    # the best two venues (V0 at 10.00 and V1 at 10.01), each swept into its 10.05 level
    assert sorted(children) == sorted([("V0", sh(400), px("10.05")), ("V1", sh(300), px("10.05"))])


async def test_split_order_with_many_venues_falls_back_to_the_largest() -> None:
    from services.routing.core import NoOrderProtection

    router, _, _ = build_router(
        *_five_venues(), protection=NoOrderProtection(), config=RouterConfig(max_subsets=2)
    )
    children = await router.split_order("o", "u", "XYZ", "BUY", sh(900), 2)
    assert len({v for v, _, _ in children}) <= 2
    assert sum(q for _, q, _ in children) == sh(900)


async def test_split_order_validates_max_venues() -> None:
    router, _, _ = build_router(*_five_venues())
    with pytest.raises(InvalidOrder):
        await router.split_order("o", "u", "XYZ", "BUY", sh(1), 0)


async def test_get_nbbo_reports_best_venues_sizes_and_quotes() -> None:
    a = BookVenue("A", asks=[(px("10.01"), sh(100))], bids=[(px("10.00"), sh(300))])
    b = BookVenue("B", asks=[(px("10.01"), sh(200))], bids=[(px("9.99"), sh(100))])
    router, _, _ = build_router(a, b)
    n = await router.get_nbbo("XYZ")
    assert (n["bid_price"], n["bid_size"], n["bid_venues"]) == (px("10.00"), sh(300), ["A"])
    assert (n["ask_price"], n["ask_size"], n["ask_venues"]) == (px("10.01"), sh(300), ["A", "B"])
    assert n["state"] == "NORMAL" and n["stale_venues"] == 0 and n["ts_event"] == T_NOW
    assert [q["venue"] for q in n["quotes"]] == ["A", "B"]
    assert all(q["protected"] and not q["stale"] for q in n["quotes"])


async def test_rankings_explain_themselves() -> None:
    a = BookVenue("A", bids=[(px("10.00"), sh(100))], taker_fee=px("0.003"))
    b = BookVenue("B", bids=[(px("10.00"), sh(100))], taker_fee=-px("0.001"))
    router, _, _ = build_router(a, b)
    ranks = await router.get_venue_rankings("XYZ", "SELL", sh(100))
    assert [r["venue"] for r in ranks] == ["B", "A"]
    assert ranks[0]["rank"] == 1 and ranks[0]["would_route"] and not ranks[1]["would_route"]
    assert ranks[0]["fee"] == -px("0.001") and ranks[1]["fee"] == px("0.001")  # capped
    assert "fee" in ranks[0]["reason"] and ranks[0]["stats"]["fill_rate"] == pytest.approx(0.9)
    with pytest.raises(InvalidOrder):
        await router.get_venue_rankings("XYZ", "SHORT", sh(1))
    with pytest.raises(InvalidOrder):
        await router.get_venue_rankings("XYZ", "BUY", 0)


async def test_quotes_from_the_bus_feed_the_market_view() -> None:
    a = BookVenue("A")
    router, _, _ = build_router(a)
    assert router.on_quote(
        QuoteL1(event_id="q1", ts_event=T_NOW - 5, symbol="XYZ", venue="A", bid_price=px("9.99"),
                bid_size=sh(100), ask_price=px("10.01"), ask_size=sh(100))
    )  # fmt: skip
    assert router.on_quote(
        QuoteDepth(event_id="q2", ts_event=T_NOW - 4, symbol="XYZ", venue="A",
                   bids=[Level(px("9.98"), sh(5))], asks=[Level(px("10.02"), sh(7)), Level(px("10.03"), sh(9))])
    )  # fmt: skip
    n = await router.get_nbbo("XYZ")
    assert (n["bid_price"], n["ask_price"], n["ask_size"]) == (px("9.98"), px("10.02"), sh(7))
    assert "A" in router.venues


def test_register_venue_again_keeps_learned_stats() -> None:
    t = VenueStatsTracker(half_life_ns=10**9)
    p = VenueProfile(venue_id="A", expected_latency_ns=2_000_000)
    t.register(p)
    t.observe_child("A", ts_ns=1, sent=100, filled=0, rejected=True, latency_ns=5_000_000)
    t.register(VenueProfile(venue_id="A", taker_fee=1))
    assert t.snapshot("A").observations == 1
    t.observe_child("NOPE", ts_ns=1, sent=1, filled=1, rejected=False, latency_ns=1)
    assert "NOPE" not in t


def test_stats_decay_with_a_half_life_in_event_time() -> None:
    t = VenueStatsTracker(half_life_ns=10**9, prior_fill_rate=1.0)
    t.register(VenueProfile(venue_id="A"))
    for _ in range(10):
        t.observe_child("A", ts_ns=10**9, sent=100, filled=0, rejected=False, latency_ns=1_000_000)
    low = t.snapshot("A").fill_rate
    t.observe_child(
        "A", ts_ns=11 * 10**9, sent=100, filled=100, rejected=False, latency_ns=1_000_000
    )
    high = t.snapshot("A").fill_rate
    assert low < 0.15 and high > 0.95  # ten half-lives later the old misses weigh ~1/1000


def test_stats_latency_quantiles_and_quality() -> None:
    t = VenueStatsTracker()
    t.register(VenueProfile(venue_id="A", expected_latency_ns=1_000_000))
    for _ in range(99):
        t.observe_child("A", ts_ns=1, sent=1, filled=1, rejected=False, latency_ns=1_000_000,
                        improvement_per_share=100.0, effective_spread=2000.0)  # fmt: skip
    t.observe_child("A", ts_ns=1, sent=1, filled=1, rejected=False, latency_ns=50_000_000)
    s = t.snapshot("A")
    assert s.latency_p50_ns == pytest.approx(1_000_000, rel=0.15)
    assert s.latency_p99_ns == pytest.approx(1_000_000, rel=0.15)
    for _ in range(5):
        t.observe_child("A", ts_ns=1, sent=1, filled=1, rejected=False, latency_ns=50_000_000)
    assert t.snapshot("A").latency_p99_ns == pytest.approx(50_000_000, rel=0.15)
    assert s.price_improvement == pytest.approx(100.0) and s.effective_spread == pytest.approx(
        2000.0
    )
    assert t.snapshot("A").latency_p50_ns > 0


def test_stats_reject_bad_parameters() -> None:
    with pytest.raises(ValueError):
        VenueStatsTracker(half_life_ns=0)
    with pytest.raises(ValueError):
        VenueStatsTracker(prior_fill_rate=1.5)


def test_search_edge_cases() -> None:
    c = [Candidate("A", 0, px("10.00"), sh(100), px("10.00"))]
    assert allocate("BUY", c, [], 0).quantity == 0
    assert allocate("BUY", c, [], sh(1), allowed={"B"}).quantity == 0
    assert is_feasible("BUY", [], [])
    pq = [ProtectedQuote("B", px("9.99"), sh(100), px("9.99"))]
    assert allocate("BUY", c, pq, sh(100)).quantity == 0  # only by trading through B
    assert not is_feasible("BUY", [(c[0], sh(100))], pq)


async def test_execution_report_quality_against_the_nbbo() -> None:
    a = BookVenue("A", asks=[(px("10.00"), sh(100))], bids=[(px("9.98"), sh(100))])
    b = BookVenue("B", asks=[(px("10.00"), sh(100))], behaviour=Behaviour(reject=True))
    router, _, _ = build_router(a, b)
    r = await router.route_and_execute("P", "u", "XYZ", "BUY", sh(100), 0, Strategy.BEST_PRICE)
    assert r.quality.effective_spread == px("0.02")  # 2 x |10.00 - 9.99|
    assert r.quality.price_improvement == 0


def test_execution_venue_defaults_come_from_the_profile() -> None:
    v = BookVenue("ZED", taker_fee=px("0.002"))
    assert v.venue_id == "ZED" == v.profile.venue_id
    assert v.is_available()
    from services.routing.core import ExecutionVenue

    class Minimal(ExecutionVenue):
        @property
        def profile(self) -> VenueProfile:
            return VenueProfile(venue_id="MIN")

        async def submit(self, child: object) -> object:  # type: ignore[override]
            raise NotImplementedError

        async def cancel(self, child: object) -> object:  # type: ignore[override]
            raise NotImplementedError

    m = Minimal()
    assert m.venue_id == "MIN" and m.is_available()
    with pytest.raises(TypeError):
        ExecutionVenue()  # type: ignore[abstract]
