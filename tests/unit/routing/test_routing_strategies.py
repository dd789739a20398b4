"""Each strategy's own behaviour on hand-made books (the optimiser test covers random ones)."""

from __future__ import annotations

import pytest

from services.routing.core import Strategy
from services.routing.core.scoring import INTERNAL_PRIORITY, ScoreParams, terms, urgency
from services.routing.core.types import VenueStats
from tests.support.routing_fakes import CENT, BookVenue, px, sh
from tests.unit.routing.conftest import T_NOW, build_router


def _route(decision: object) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in decision.children:  # type: ignore[attr-defined]
        out[c.venue_id] = out.get(c.venue_id, 0) + c.quantity
    return out


def _learn(router: object, venue: str, *, filled: int, n: int = 8, latency: int = 1_000_000,
           rejected: bool = False, improvement: float = 0.0) -> None:  # fmt: skip
    for _ in range(n):
        router.stats.observe_child(  # type: ignore[attr-defined]
            venue, ts_ns=T_NOW - 10**9, sent=sh(100), filled=filled, rejected=rejected,
            latency_ns=latency, improvement_per_share=improvement, effective_spread=float(CENT),
        )  # fmt: skip


# -- BEST_PRICE ---------------------------------------------------------------------------------
async def test_best_price_buys_the_lowest_offers_first() -> None:
    a = BookVenue("A", asks=[(px("10.02"), sh(500))])
    b = BookVenue("B", asks=[(px("10.01"), sh(200))])
    router, _, _ = build_router(a, b)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(300), 0, Strategy.BEST_PRICE)
    assert _route(d) == {"B": sh(200), "A": sh(100)}
    assert d.metrics["expected_average_price"] == px("10.013333333")


async def test_best_price_sells_to_the_highest_bids_first() -> None:
    a = BookVenue("A", bids=[(px("9.98"), sh(500))])
    b = BookVenue("B", bids=[(px("9.99"), sh(100)), (px("9.97"), sh(100))])
    router, _, _ = build_router(a, b)
    d = await router.route_order("o", "u", "XYZ", "SELL", sh(200), 0, Strategy.BEST_PRICE)
    assert _route(d) == {"B": sh(100), "A": sh(100)}
    assert {c.venue_id: c.limit_price for c in d.children} == {"B": px("9.99"), "A": px("9.98")}


async def test_best_price_respects_the_limit_and_leaves_a_residual_at_it() -> None:
    a = BookVenue("A", asks=[(px("10.00"), sh(100)), (px("10.05"), sh(900))])
    router, _, _ = build_router(a)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(400), px("10.02"), Strategy.BEST_PRICE)
    sweep = [c for c in d.children if c.kind != "RESIDUAL"]
    residual = [c for c in d.children if c.kind == "RESIDUAL"]
    assert [(c.venue_id, c.quantity, c.limit_price) for c in sweep] == [("A", sh(100), px("10.00"))]
    assert [(c.quantity, c.limit_price) for c in residual] == [(sh(300), px("10.02"))]
    assert d.routed_quantity == sh(400)
    assert "residual 300" in d.rationale


async def test_best_price_breaks_a_price_tie_by_the_lower_fee() -> None:
    a = BookVenue("A", asks=[(px("10.00"), sh(100))], taker_fee=px("0.003"))
    b = BookVenue("B", asks=[(px("10.00"), sh(100))], taker_fee=px("0.0005"))
    router, _, _ = build_router(a, b)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(100), 0, Strategy.BEST_PRICE)
    assert _route(d) == {"B": sh(100)}  # A's 0.003 counts as the 0.001 cap, still above B's


# -- FASTEST ------------------------------------------------------------------------------------
async def test_fastest_uses_the_fast_venue_when_it_alone_can_fill() -> None:
    slow = BookVenue("SLOW", asks=[(px("10.00"), sh(500))], latency_ns=20_000_000, protected=False)
    fast = BookVenue("FAST", asks=[(px("10.01"), sh(500))], latency_ns=200_000)
    router, _, _ = build_router(slow, fast)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(300), 0, Strategy.FASTEST)
    assert _route(d) == {"FAST": sh(300)}
    assert d.alternatives[0].venue_id == "FAST"
    b = await router.route_order("o", "u", "XYZ", "BUY", sh(300), 0, Strategy.BEST_PRICE)
    assert _route(b) == {"SLOW": sh(300)}


async def test_fastest_still_sweeps_a_better_protected_quote_on_a_slow_venue() -> None:
    slow = BookVenue("SLOW", asks=[(px("10.00"), sh(100))], latency_ns=20_000_000)
    fast = BookVenue("FAST", asks=[(px("10.01"), sh(500))], latency_ns=200_000)
    router, _, _ = build_router(slow, fast)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(300), 0, Strategy.FASTEST)
    assert _route(d) == {"SLOW": sh(100), "FAST": sh(200)}
    assert [e.kind for e in d.protection_exceptions] == ["ISO"]
    assert all(c.iso for c in d.children)


async def test_fastest_counts_a_low_fill_rate_as_slow() -> None:
    a = BookVenue("A", asks=[(px("10.00"), sh(500))], latency_ns=1_000_000)
    b = BookVenue("B", asks=[(px("10.00"), sh(500))], latency_ns=1_000_000)
    router, _, _ = build_router(a, b)
    _learn(router, "A", filled=0)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(200), 0, Strategy.FASTEST)
    assert _route(d) == {"B": sh(200)}
    assert d.metrics["max_speed_score_ns"] > 0


# -- LOWEST_COST --------------------------------------------------------------------------------
async def test_lowest_cost_prefers_the_inverted_venue_at_the_same_price() -> None:
    maker_taker = BookVenue("MT", asks=[(px("10.00"), sh(300))], taker_fee=px("0.003"))
    inverted = BookVenue("INV", asks=[(px("10.00"), sh(300))], taker_fee=-px("0.0015"))
    router, _, _ = build_router(maker_taker, inverted)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(200), 0, Strategy.LOWEST_COST)
    assert _route(d) == {"INV": sh(200)}
    assert d.metrics["expected_fees"] == -px("0.0015") * 200


async def test_lowest_cost_penalises_a_venue_that_misses() -> None:
    a = BookVenue("A", asks=[(px("10.00"), sh(300))], taker_fee=0)
    b = BookVenue("B", asks=[(px("10.00"), sh(300))], taker_fee=px("0.0005"))
    router, _, _ = build_router(a, b)
    _learn(router, "A", filled=0, n=20)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(100), 0, Strategy.LOWEST_COST)
    assert _route(d) == {"B": sh(100)}  # A's expected slippage outweighs B's fee


async def test_lowest_cost_never_pays_a_worse_price_for_a_rebate() -> None:
    a = BookVenue("A", asks=[(px("10.00"), sh(100))], taker_fee=px("0.003"))
    b = BookVenue("B", asks=[(px("10.01"), sh(100))], taker_fee=-px("0.002"))
    router, _, _ = build_router(a, b)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(100), 0, Strategy.LOWEST_COST)
    assert _route(d) == {"A": sh(100)}


# -- SMART --------------------------------------------------------------------------------------
def test_smart_urgency_grows_with_size_relative_to_displayed() -> None:
    assert urgency(0.25, sh(100), sh(1000)) == pytest.approx(0.275)
    assert urgency(0.25, sh(1000), sh(1000)) == pytest.approx(0.5)
    assert urgency(0.25, sh(9000), sh(1000)) == 1.0
    assert urgency(0.25, sh(1), 0) == 1.0


async def test_smart_large_order_weighs_latency_more_than_small_one() -> None:
    # latency costs urgency x $0.0005/ms: ~7 ms at the small order's urgency (~0.25) is below
    # FD's $0.001 fee, at the large order's (~0.37) above it
    slow_cheap = BookVenue("SC", asks=[(px("10.00"), sh(20000))], taker_fee=0, latency_ns=7_000_000)
    fast_dear = BookVenue(
        "FD", asks=[(px("10.00"), sh(20000))], taker_fee=px("0.001"), latency_ns=100_000
    )
    router, _, _ = build_router(slow_cheap, fast_dear)
    small = await router.route_order("o", "u", "XYZ", "BUY", sh(100), 0, Strategy.SMART)
    large = await router.route_order("o", "u", "XYZ", "BUY", sh(19000), 0, Strategy.SMART)
    assert small.metrics["urgency"] < large.metrics["urgency"]
    assert _route(small) == {"SC": sh(100)}
    assert _route(large) == {"FD": sh(19000)}


async def test_smart_prefers_venue_with_price_improvement_history() -> None:
    a = BookVenue("A", asks=[(px("10.00"), sh(300))])
    b = BookVenue("B", asks=[(px("10.00"), sh(300))])
    router, _, _ = build_router(a, b)
    _learn(router, "A", filled=sh(100))
    _learn(router, "B", filled=sh(100), improvement=float(px("0.002")))
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(200), 0, Strategy.SMART)
    assert _route(d) == {"B": sh(200)}


async def test_smart_penalises_rejects() -> None:
    a = BookVenue("A", asks=[(px("10.00"), sh(300))])
    b = BookVenue("B", asks=[(px("10.00"), sh(300))])
    router, _, _ = build_router(a, b)
    _learn(router, "A", filled=sh(100), rejected=True)
    _learn(router, "B", filled=sh(100))
    assert router.venue_stats("A").reject_rate > 0.5
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(100), 0, Strategy.SMART)
    assert _route(d) == {"B": sh(100)}


def test_smart_terms_follow_the_documented_formula() -> None:
    from nexus.regulation import REG_NMS_2024

    params = ScoreParams(
        strategy=Strategy.SMART, side="BUY", spread_ref=CENT, urgency=0.5,
        latency_cost_per_ms=500_000, far_price=px("10.00"), rules=REG_NMS_2024,
    )  # fmt: skip
    stats = VenueStats(
        venue_id="A", fill_rate=0.8, reject_rate=0.1, latency_p50_ns=2_000_000,
        latency_p99_ns=5_000_000, price_improvement=1000.0, effective_spread=0.0, weight=1.0,
        observations=1, updated_ns=0,
    )  # fmt: skip
    t = terms(params, stats, px("0.003"), "EXTERNAL", px("10.00"))
    assert t.fee == px("0.001")  # capped by Rule 610 after the 2024 amendment
    assert t.slippage == round(0.2 * CENT)
    assert t.latency == round(0.5 * 500_000 * 2)
    assert t.reject == round(0.1 * CENT)
    assert t.improvement == 1000
    assert t.adjustment == t.fee + t.slippage + t.latency + t.reject - 1000


# -- INTERNALIZE_FIRST --------------------------------------------------------------------------
async def test_internalize_first_fills_internally_at_the_nbbo_first() -> None:
    ext = BookVenue("EXT", asks=[(px("10.00"), sh(500))], taker_fee=-px("0.002"))
    internal = BookVenue("NEXUS", asks=[(px("10.00"), sh(200))], kind="INTERNAL", protected=False, taker_fee=px("0.001"))  # fmt: skip
    router, _, _ = build_router(ext, internal)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(300), 0, Strategy.INTERNALIZE_FIRST)
    assert _route(d) == {"NEXUS": sh(200), "EXT": sh(100)}
    smart = await router.route_order("o", "u", "XYZ", "BUY", sh(300), 0, Strategy.SMART)
    assert _route(smart) == {"EXT": sh(300)}


async def test_internalize_first_gives_no_priority_to_internal_worse_than_nbbo() -> None:
    ext = BookVenue("EXT", asks=[(px("10.00"), sh(500))])
    internal = BookVenue("NEXUS", asks=[(px("10.01"), sh(500))], kind="INTERNAL", protected=False)
    router, _, _ = build_router(ext, internal)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(300), 0, Strategy.INTERNALIZE_FIRST)
    assert _route(d) == {"EXT": sh(300)}
    plan = router.prepare(
        "XYZ", "BUY", sh(300), 0, Strategy.INTERNALIZE_FIRST, T_NOW, router.rules.at(T_NOW)
    )
    assert all(c.key > -INTERNAL_PRIORITY // 2 for c in plan.candidates)


# -- EXTERNAL_ONLY ------------------------------------------------------------------------------
async def test_external_only_never_routes_internally() -> None:
    ext = BookVenue("EXT", asks=[(px("10.01"), sh(500))])
    internal = BookVenue("NEXUS", asks=[(px("10.00"), sh(500))], kind="INTERNAL", protected=False)
    router, _, _ = build_router(ext, internal)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(300), 0, Strategy.EXTERNAL_ONLY)
    assert _route(d) == {"EXT": sh(300)}
    assert "NEXUS" not in {a.venue_id for a in d.alternatives}
    smart = await router.route_order("o", "u", "XYZ", "BUY", sh(300), 0, Strategy.SMART)
    assert _route(smart) == {"NEXUS": sh(300)}


@pytest.mark.parametrize("strategy", list(Strategy), ids=lambda s: s.value)
async def test_every_strategy_records_rules_nbbo_and_alternatives(strategy: Strategy) -> None:
    a = BookVenue("A", asks=[(px("10.00"), sh(100))], bids=[(px("9.99"), sh(100))])
    b = BookVenue("B", asks=[(px("10.01"), sh(100))], bids=[(px("9.98"), sh(100))])
    router, _, _ = build_router(a, b)
    d = await router.route_order("ord-1", "u", "XYZ", "BUY", sh(150), 0, strategy)
    assert d.decision_id == "ord-1:r0"
    assert d.rule_set == "REG_NMS_2024_AMENDMENT" and d.rule_set_effective == "2025-11-03"
    assert d.protection == "REG_NMS_611"
    assert (d.nbbo.bid_price, d.nbbo.ask_price, d.nbbo.state) == (px("9.99"), px("10.00"), "NORMAL")
    assert {x.venue_id for x in d.alternatives} == {"A", "B"}
    assert sorted(x.rank for x in d.alternatives) == [1, 2]
    assert d.routed_quantity == sh(150)
    assert strategy.value in d.rationale


@pytest.mark.parametrize("strategy", list(Strategy), ids=lambda s: s.value)
@pytest.mark.parametrize("kind", ["EXTERNAL", "INTERNAL"])
@pytest.mark.parametrize("price", [px("0.50"), px("9.99"), px("10.00"), px("10.01")])
def test_per_venue_terms_completed_at_a_price_equal_the_full_terms(
    strategy: Strategy, kind: str, price: int
) -> None:
    from nexus.regulation import REG_NMS_2005
    from services.routing.core.scoring import at_price, venue_terms

    params = ScoreParams(
        strategy=strategy, side="BUY", spread_ref=CENT, urgency=0.7,
        latency_cost_per_ms=500_000, far_price=px("10.00"), rules=REG_NMS_2005,
    )  # fmt: skip
    stats = VenueStats(
        venue_id="A", fill_rate=0.7, reject_rate=0.2, latency_p50_ns=3_000_000,
        latency_p99_ns=9_000_000, price_improvement=-200.0, effective_spread=0.0, weight=1.0,
        observations=1, updated_ns=0,
    )  # fmt: skip
    fee = px("0.0035")
    full = terms(params, stats, fee, kind, price)  # type: ignore[arg-type]
    assert at_price(params, venue_terms(params, stats), fee, kind, price) == full  # type: ignore[arg-type]


@pytest.mark.parametrize("strategy", list(Strategy), ids=lambda s: s.value)
@pytest.mark.parametrize("side", ["BUY", "SELL"])
def test_router_level_keys_equal_the_documented_terms(strategy: Strategy, side: str) -> None:
    from services.routing.core.scoring import level_key

    mk = BookVenue(
        "MK",
        asks=[(px("10.00"), sh(100)), (px("10.02"), sh(100))],
        bids=[(px("9.99"), sh(100)), (px("9.97"), sh(100))],
        taker_fee=px("0.004"),
    )
    inv = BookVenue(
        "INV",
        asks=[(px("10.01"), sh(300))],
        bids=[(px("9.98"), sh(300))],
        taker_fee=-px("0.001"),
        latency_ns=4_000_000,
    )
    nx = BookVenue("NX", asks=[(px("10.00"), sh(100))], bids=[(px("9.99"), sh(50))],
                   kind="INTERNAL", protected=False)  # fmt: skip
    router, _, _ = build_router(mk, inv, nx)
    _learn(router, "INV", filled=sh(60), rejected=True, improvement=300.0)
    plan = router.prepare("XYZ", side, sh(400), 0, strategy, T_NOW, router.rules.at(T_NOW))  # type: ignore[arg-type]
    profiles = {v.vid: v for v in (mk, inv, nx)}
    assert plan.candidates
    for c in plan.candidates:
        v = profiles[c.venue_id]
        t = terms(plan.params, plan.stats[c.venue_id], v.taker_fee, v.kind, c.price)  # type: ignore[arg-type]
        assert c.key == level_key(plan.params, t, c.price)
