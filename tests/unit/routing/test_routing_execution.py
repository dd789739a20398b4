"""route_and_execute: concurrency, partial fills, rejects, timeouts, lost sessions, halts."""

from __future__ import annotations

import asyncio

import pytest

from nexus.events import Halt
from nexus.halts import HaltBook
from services.routing.core import (
    ChildOrder,
    ChildReport,
    ChildStatus,
    Fill,
    InvalidOrder,
    RouterConfig,
    RoutingError,
    Strategy,
    TradingHalted,
    VenueUnavailable,
)
from tests.support.routing_fakes import Behaviour, BookVenue, px, sh
from tests.unit.routing.conftest import T_NOW, build_router

FAST = RouterConfig(child_timeout_s=0.05, cancel_timeout_s=0.05)


def _exact(report: object) -> None:
    r = report
    assert r.filled_quantity + r.leaves_quantity + r.in_doubt_quantity == r.quantity  # type: ignore[attr-defined]
    assert r.filled_quantity == sum(f.quantity for f in r.fills) <= r.quantity  # type: ignore[attr-defined]
    assert len({f.fill_id for f in r.fills}) == len(r.fills)  # type: ignore[attr-defined]


class _Gate:
    """Counts children in flight at once; each waits until ``want`` are in flight."""

    def __init__(self, want: int) -> None:
        self.want = want
        self.inflight = 0
        self.peak = 0
        self.all_in = asyncio.Event()


class _GatedVenue(BookVenue):
    gate: _Gate | None = None

    async def submit(self, child: ChildOrder) -> ChildReport:
        g = self.gate
        assert g is not None
        g.inflight += 1
        g.peak = max(g.peak, g.inflight)
        if g.inflight >= g.want:
            g.all_in.set()
        await asyncio.wait_for(g.all_in.wait(), 5)  # a sequential router would stall here
        g.inflight -= 1
        return await super().submit(child)


async def test_children_execute_concurrently_and_account_exactly() -> None:
    gate = _Gate(want=2)
    a = _GatedVenue("A", asks=[(px("10.00"), sh(100))], taker_fee=px("0.003"))
    b = _GatedVenue("B", asks=[(px("10.01"), sh(300))], taker_fee=-px("0.001"))
    a.gate = b.gate = gate
    router, _, _ = build_router(a, b)
    r = await router.route_and_execute("P1", "u", "XYZ", "BUY", sh(300), 0, Strategy.BEST_PRICE)
    assert gate.peak == 2  # both children were at their venues at the same time
    _exact(r)
    assert r.status == "FILLED" and r.filled_quantity == sh(300)
    assert r.average_price == px("10.006666667")
    assert r.notional == px("1000") + px("2002")
    assert r.fees == px("0.003") * 100 - px("0.001") * 200
    assert {c.order.child_id for c in r.children} == {"P1:r0:A", "P1:r0:B"}
    assert all(c.order.iso for c in r.children)  # sweeping past A's protected offer
    assert r.quality.rounds == 1 and r.quality.trade_throughs == 0
    assert r.quality.price_improvement == -px("0.01") * 200
    assert len(r.decisions) == 1


async def test_partial_fill_remainder_is_rerouted() -> None:
    a = BookVenue("A", asks=[(px("10.00"), sh(400))], behaviour=Behaviour(fill_fraction=0.5))
    b = BookVenue("B", asks=[(px("10.01"), sh(400))])
    router, _, _ = build_router(a, b)
    r = await router.route_and_execute("P", "u", "XYZ", "BUY", sh(400), 0, Strategy.BEST_PRICE)
    _exact(r)
    assert r.filled_quantity == sh(400)
    assert r.quality.rounds >= 2
    assert [c.order.venue_id for c in r.children if c.round == 0] == ["A"]


async def test_reject_excludes_the_venue_and_reroutes() -> None:
    a = BookVenue("A", asks=[(px("10.00"), sh(300))], behaviour=Behaviour(reject=True))
    b = BookVenue("B", asks=[(px("10.01"), sh(300))])
    router, _, _ = build_router(a, b)
    r = await router.route_and_execute("P", "u", "XYZ", "BUY", sh(200), 0, Strategy.BEST_PRICE)
    _exact(r)
    assert r.filled_quantity == sh(200) and {f.venue_id for f in r.fills} == {"B"}
    assert r.quality.children_rejected == 1
    assert any("excluded" in a.reason for a in r.decisions[1].alternatives)
    # A still displays 10.00: having refused it, it is in self-help for the rest of the parent
    assert [(e.kind, e.venue_id) for e in r.decisions[1].protection_exceptions] == [
        ("SELF_HELP", "A")
    ]


async def test_timeout_cancels_and_counts_the_fill_that_raced_it() -> None:
    slow = BookVenue("S", asks=[(px("10.00"), sh(100))], behaviour=Behaviour(delay_s=1.0))
    other = BookVenue("O", asks=[(px("10.02"), sh(500))])
    router, _, _ = build_router(slow, other, config=FAST)
    r = await router.route_and_execute("P", "u", "XYZ", "BUY", sh(300), 0, Strategy.BEST_PRICE)
    _exact(r)
    assert slow.cancels == ["P:r0:S"]
    assert r.quality.children_timed_out == 1
    assert sum(f.quantity for f in r.fills if f.venue_id == "S") == sh(100)  # once, not twice
    assert r.filled_quantity == sh(300)


async def test_lost_session_after_fill_is_resolved_by_cancel_and_rerouted() -> None:
    a = BookVenue("A", asks=[(px("10.00"), sh(100))], behaviour=Behaviour(drop_after_fill=True))
    b = BookVenue("B", asks=[(px("10.01"), sh(500))])
    router, _, _ = build_router(a, b)
    r = await router.route_and_execute("P", "u", "XYZ", "BUY", sh(300), 0, Strategy.BEST_PRICE)
    _exact(r)
    assert r.filled_quantity == sh(300) and r.in_doubt_quantity == 0
    assert a.cancels == ["P:r0:A"]


async def test_unconfirmed_child_is_in_doubt_and_never_rerouted() -> None:
    a = BookVenue(
        "A",
        asks=[(px("10.00"), sh(200))],
        behaviour=Behaviour(drop_after_fill=True, cancel_fails=True),
    )
    b = BookVenue("B", asks=[(px("10.00"), sh(500))])
    router, _, _ = build_router(a, b)
    r = await router.route_and_execute("P", "u", "XYZ", "BUY", sh(400), 0, Strategy.BEST_PRICE)
    _exact(r)
    child_a = next(c for c in r.children if c.order.venue_id == "A")
    assert child_a.report.status == ChildStatus.UNKNOWN
    assert r.in_doubt_quantity == child_a.order.quantity
    # the venue did fill: what it filled plus everything else never exceeds the parent
    venue_side = sum(f.quantity for fs in a.fills_by_child.values() for f in fs)
    assert r.filled_quantity + venue_side <= sh(400)
    assert r.filled_quantity == sh(200) and r.in_doubt_quantity == sh(200)
    assert r.status == "PARTIALLY_FILLED"


async def test_session_down_before_send_reroutes_everything() -> None:
    a = BookVenue("A", asks=[(px("10.00"), sh(500))], behaviour=Behaviour(drop_before_send=True))
    b = BookVenue("B", asks=[(px("10.01"), sh(500))])
    router, _, _ = build_router(a, b)
    r = await router.route_and_execute("P", "u", "XYZ", "BUY", sh(300), 0, Strategy.BEST_PRICE)
    _exact(r)
    assert r.filled_quantity == sh(300) and {f.venue_id for f in r.fills} == {"B"}
    assert a.sent == [] and a.cancels == []


class _Overfilling(BookVenue):
    async def submit(self, child: ChildOrder) -> ChildReport:
        fills = tuple(
            Fill(fill_id=f"X{i}", child_id=child.child_id, venue_id=self.vid, price=px("10.00"), quantity=child.quantity)
            for i in range(2)
        )  # fmt: skip
        return ChildReport(
            child_id=child.child_id,
            venue_id=self.vid,
            status=ChildStatus.FILLED,
            fills=fills + fills[:1],
        )


async def test_a_venue_reporting_too_much_never_overfills_the_parent() -> None:
    v = _Overfilling("A", asks=[(px("10.00"), sh(500))])
    router, _, _ = build_router(v)
    r = await router.route_and_execute("P", "u", "XYZ", "BUY", sh(200), 0)
    _exact(r)
    assert r.filled_quantity == sh(200) and [f.fill_id for f in r.fills] == ["X0"]


class _DropsWithFills(BookVenue):
    async def submit(self, child: ChildOrder) -> ChildReport:
        fills = tuple(self._match(child))
        raise VenueUnavailable(self.vid, "lost", order_sent=True, fills=fills)

    async def cancel(self, child: ChildOrder) -> ChildReport:
        raise VenueUnavailable(self.vid, "still down", order_sent=True)


async def test_fills_known_before_a_lost_session_are_counted() -> None:
    v = _DropsWithFills("A", asks=[(px("10.00"), sh(100))])
    router, _, _ = build_router(v)
    r = await router.route_and_execute("P", "u", "XYZ", "BUY", sh(300), px("10.00"))
    _exact(r)
    assert r.filled_quantity == sh(100)
    assert r.in_doubt_quantity == sh(200)  # the rest of that child: the venue may have it


async def test_internalize_first_sends_internal_first_then_routes_out() -> None:
    internal = BookVenue("NEXUS", asks=[(px("10.00"), sh(100))], kind="INTERNAL", protected=False)
    ext = BookVenue("EXT", asks=[(px("10.00"), sh(500))], taker_fee=-px("0.002"))
    router, _, _ = build_router(internal, ext)
    r = await router.route_and_execute(
        "P", "u", "XYZ", "BUY", sh(300), 0, Strategy.INTERNALIZE_FIRST
    )
    _exact(r)
    assert [(c.round, c.order.venue_id) for c in r.children] == [(0, "NEXUS"), (1, "EXT")]
    assert r.decisions[1].strategy == Strategy.SMART


async def test_unfilled_order_stops_when_no_round_makes_progress() -> None:
    a = BookVenue("A", asks=[(px("10.05"), sh(500))])
    router, _, _ = build_router(a)
    r = await router.route_and_execute("P", "u", "XYZ", "BUY", sh(300), px("10.00"))
    _exact(r)
    assert r.status == "UNFILLED" and r.leaves_quantity == sh(300) and r.quality.rounds == 1


@pytest.mark.parametrize(("scope", "target"), [("USER", "u1"), ("SYMBOL", "XYZ")])
async def test_halted_user_or_symbol_is_refused_before_any_venue(scope: str, target: str) -> None:
    halts = HaltBook()
    halts.apply(
        Halt(
            event_id="h1",
            ts_event=T_NOW - 10,
            scope=scope,
            target=target,
            action="HALT",
            reason="alert",
        )
    )  # type: ignore[arg-type]
    a = BookVenue("A", asks=[(px("10.00"), sh(500))])
    router, _, _ = build_router(a, halts=halts)
    with pytest.raises(TradingHalted, match="halted"):
        await router.route_and_execute("P", "u1", "XYZ", "BUY", sh(100), 0)
    with pytest.raises(TradingHalted):
        await router.route_order("P", "u1", "XYZ", "BUY", sh(100), 0)
    assert a.sent == []


@pytest.mark.parametrize(
    ("side", "qty", "price", "strategy", "field"),
    [
        ("HOLD", sh(1), 0, None, "$.side"),
        ("BUY", 0, 0, None, "$.quantity"),
        ("BUY", sh(1), -1, None, "$.price"),
        ("BUY", sh(1), 0, "YOLO", "$.strategy"),
        ("BUY", sh(1), px("10.001"), None, "$.price"),
    ],
)
async def test_invalid_orders_are_refused_with_the_field(
    side: str, qty: int, price: int, strategy: str | None, field: str
) -> None:
    router, _, _ = build_router(BookVenue("A", asks=[(px("10.00"), sh(1))]))
    with pytest.raises(InvalidOrder) as info:
        await router.route_and_execute("P", "u", "XYZ", side, qty, price, strategy)
    assert info.value.field == field


async def test_no_venue_at_all_is_a_routing_error() -> None:
    router, _, _ = build_router()
    with pytest.raises(RoutingError, match="no venue"):
        await router.route_order("P", "u", "XYZ", "BUY", sh(1), 0)


async def test_execution_report_teaches_venue_stats() -> None:
    good = BookVenue("G", asks=[(px("10.00"), sh(100))])
    bad = BookVenue("B", asks=[(px("10.00"), sh(100))], behaviour=Behaviour(reject=True))
    router, _, clock = build_router(good, bad)
    before = router.venue_stats("B")
    r = await router.route_and_execute(
        "P", "u", "XYZ", "BUY", sh(200), px("10.00"), Strategy.BEST_PRICE
    )
    clock.now += 10**9
    await router.update_venue_stats(r)
    after_bad, after_good = router.venue_stats("B"), router.venue_stats("G")
    assert after_bad.reject_rate > before.reject_rate
    assert after_bad.fill_rate < before.fill_rate
    assert after_good.fill_rate > after_bad.fill_rate
    assert after_good.observations == 1 and after_good.updated_ns == r.ts_end
