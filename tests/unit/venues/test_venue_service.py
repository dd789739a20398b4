"""A venue in process: FIX acceptor, latency, quotes on the bus, fundamental from trades."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest

from nexus.bus import MemoryBus, OutgoingMessage
from nexus.events import QUOTE_CODEC, TOPIC_QUOTES, TOPIC_TRADES, TRADE_CODEC, QuoteL1, Trade
from nexus.money import to_raw
from services.routing.core import ChildOrder, ChildStatus, VenueProfile
from services.routing.fix import FixVenue, write_initiator_settings
from services.venues.core import PROFILES, Exchange, LatencyModel
from services.venues.fix import FixAcceptor, VenueApplication, free_port, write_acceptor_settings
from services.venues.service import VenueService

Q = to_raw


class Venue:
    def __init__(self, service: VenueService, bus: MemoryBus, adapter: FixVenue) -> None:
        self.service, self.bus, self.adapter = service, bus, adapter


@pytest.fixture(scope="module")
async def venue(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Venue]:
    """One venue and one session for the module (QuickFIX's session registry is per process)."""
    tmp_path: Path = tmp_path_factory.mktemp("venue-service")
    profile = msgspec.structs.replace(
        PROFILES["ALPHA"],
        fade_probability=0.0,
        latency=LatencyModel(median_ms=1.0, sigma=0.0),
        requote_ms=20.0,
    )
    bus = MemoryBus()
    service = VenueService(Exchange(profile, {"SIM0000": Q("50.00")}), bus, clock_ns=lambda: 10**18)
    port = free_port()
    loop = asyncio.get_running_loop()
    cfg = write_acceptor_settings(tmp_path / "venue", "ALPHA", ["NEXUSROUTER"], port)
    acceptor = FixAcceptor(
        cfg, VenueApplication(loop, service.on_command, service.on_session), "ALPHA"
    )
    service.attach(acceptor)
    await service.start()
    tasks = [
        asyncio.create_task(service.requote_forever()),
        asyncio.create_task(service.publish_forever()),
    ]
    acceptor.start()
    icfg = write_initiator_settings(
        tmp_path / "router", "NEXUSROUTER", "ALPHA", "127.0.0.1", port, heartbeat_s=1
    )
    adapter = FixVenue(
        VenueProfile(venue_id="ALPHA"), icfg, send_on_loop=False
    )  # the hand-off path
    await adapter.start(logon_timeout_s=10)
    try:
        yield Venue(service, bus, adapter)
    finally:
        # The acceptor logs its sessions out while the initiator still answers, then the
        # initiator stops: stopping the acceptor while its socket thread was still handling
        # the initiator's disconnect crashed QuickFIX once (SIGSEGV in SocketAcceptor.stop).
        await asyncio.to_thread(acceptor.stop)
        await adapter.stop()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await service.stop()


def child(cid: str, **kw: object) -> ChildOrder:
    base: dict[str, object] = {
        "child_id": cid,
        "parent_id": "P",
        "user_id": "u",
        "venue_id": "ALPHA",
        "symbol": "SIM0000",
        "side": "BUY",
        "quantity": Q("100"),
        "limit_price": Q("50.50"),
    }
    base.update(kw)
    return ChildOrder(**base)  # type: ignore[arg-type]


async def test_orders_over_fix_fill_and_quotes_are_published(venue: Venue) -> None:
    report = await venue.adapter.submit(child("c1"))
    assert report.status is ChildStatus.FILLED and report.fills[0].fee == Q("0.3")
    assert "NEXUSROUTER" in venue.service.sessions and venue.service.counters.logons == 1
    async with asyncio.timeout(5):
        while venue.service.counters.quotes < 4:
            await asyncio.sleep(0.01)
    quotes = [QUOTE_CODEC.decode(m.value) for m in venue.bus.messages(TOPIC_QUOTES)]
    l1 = [q for q in quotes if isinstance(q, QuoteL1)]
    assert l1 and all(q.venue == "ALPHA" and q.ts_event == 10**18 for q in l1)
    assert len({q.event_id for q in quotes}) == len(quotes)


async def test_cancel_of_a_finished_order_is_refused_and_learned(venue: Venue) -> None:
    done = await venue.adapter.submit(child("c2", limit_price=Q("40.00")))
    assert done.status is ChildStatus.CANCELED  # IOC found nothing at 40
    again = await venue.adapter.cancel(child("c2", limit_price=Q("40.00")))
    assert again.status is ChildStatus.CANCELED


async def test_a_resting_order_is_cancelled_through_the_latency_in_order(venue: Venue) -> None:
    order = child("d1", limit_price=Q("45.00"), time_in_force="DAY")
    resting = await venue.adapter.submit(order)
    assert resting.status is ChildStatus.WORKING
    final = await venue.adapter.cancel(order)
    assert final.status is ChildStatus.CANCELED and venue.service.counters.commands >= 2


async def test_cancel_reject_for_an_unknown_order_ends_the_child(venue: Venue) -> None:
    from services.routing.fix import _Child

    ghost = child("ghost", time_in_force="DAY")
    state = _Child(ghost, "ghost", leaves=ghost.quantity, acked=True)
    venue.adapter._children["ghost"] = state
    venue.adapter._by_cl_ord_id["ghost"] = state
    final = await venue.adapter.cancel(ghost)
    assert final.status is ChildStatus.CANCELED and "unknown order" in final.reason


async def test_the_fundamental_follows_the_internal_venues_last_sale(venue: Venue) -> None:
    trades = [
        Trade(
            event_id=f"t{i}",
            ts_event=i,
            symbol="SIM0000",
            venue=venue_name,
            price=Q(px),
            quantity=Q("100"),
            aggressor_side="BUY",
            buy_order_id="b",
            sell_order_id="s",
            buyer_user_id="x",
            buyer_account_id="x",
            seller_user_id="y",
            seller_account_id="y",
        )
        for i, (venue_name, px) in enumerate([("NEXUS", "52.00"), ("OTHER", "99.00")])
    ]
    producer = venue.bus.producer()
    await producer.publish_batch(
        [OutgoingMessage(TOPIC_TRADES, TRADE_CODEC.encode(t), b"SIM0000") for t in trades]
    )
    runner = venue.service.follow_trades(venue.bus, "venue-trades")
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(5):
            while venue.service.exchange.fundamental("SIM0000") != Q("52.00"):
                await asyncio.sleep(0.01)
    finally:
        runner.request_stop()
        await asyncio.wait_for(task, 5)
    assert venue.service.exchange.fundamental("SIM0000") == Q("52.00")
