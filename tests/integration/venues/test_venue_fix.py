"""A venue process over real FIX 4.4 sessions: orders, fills, fees, rejects, resend, quotes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from nexus.bus import KafkaBus
from nexus.events import QUOTE_CODEC, TOPIC_QUOTES, QuoteDepth, QuoteL1
from nexus.money import to_raw
from services.routing.core import ChildOrder, ChildStatus
from tests.integration.venues.harness import VenueProcess, connect, venue_processes

pytestmark = pytest.mark.integration

Q = to_raw


def child(
    cid: str, side: str = "BUY", qty: str = "100", px: str = "50.05", **kw: object
) -> ChildOrder:
    return ChildOrder(
        child_id=cid,
        parent_id="P",
        user_id="u1",
        venue_id=str(kw.pop("venue", "ALPHA")),
        symbol=str(kw.pop("symbol", "SIM0000")),
        side=side,  # type: ignore[arg-type]
        quantity=Q(qty),
        limit_price=Q(px),
        **kw,  # type: ignore[arg-type]
    )


async def test_ioc_buy_fills_at_the_venue_offer_and_pays_the_taker_fee(tmp_path: Path) -> None:
    async with venue_processes(
        VenueProcess("ALPHA", tmp_path, args=["--fade-probability", "0"])
    ) as (proc,):
        venue = await connect(proc)
        try:
            report = await venue.submit(child("c1", qty="100", px="50.50"))
        finally:
            await venue.stop()
    assert report.status is ChildStatus.FILLED
    assert report.filled_quantity == Q("100")
    fill = report.fills[0]
    # the participants' best offer sits within a few ticks of the 50.00 fundamental
    assert Q("49.98") <= fill.price <= Q("50.03")
    assert fill.fee == Q("0.003") * 100  # ALPHA's taker fee: 0.003 per share
    assert fill.liquidity == "TAKER"


async def test_ioc_beyond_displayed_depth_fills_partly_and_cancels_the_rest(tmp_path: Path) -> None:
    args = ["--fade-probability", "0"]
    async with venue_processes(VenueProcess("ALPHA", tmp_path, args=args)) as (proc,):
        venue = await connect(proc)
        try:
            report = await venue.submit(child("big", qty="100000", px="50.02"))
        finally:
            await venue.stop()
    assert report.status is ChildStatus.PARTIALLY_FILLED
    assert 0 < report.filled_quantity < Q("100000")
    assert report.leaves_quantity == 0
    assert all(f.price <= Q("50.02") for f in report.fills)
    assert len({f.fill_id for f in report.fills}) == len(report.fills)


async def test_day_order_rests_is_replaced_and_cancelled(tmp_path: Path) -> None:
    async with venue_processes(VenueProcess("ALPHA", tmp_path)) as (proc,):
        venue = await connect(proc)
        try:
            order = child("d1", qty="100", px="45.00", time_in_force="DAY")
            resting = await venue.submit(order)
            replaced = await venue.replace(order, Q("300"), Q("45.10"))
            cancelled = await venue.cancel(order)
            again = await venue.cancel(order)
        finally:
            await venue.stop()
    assert resting.status is ChildStatus.WORKING and resting.leaves_quantity == Q("100")
    assert replaced.status is ChildStatus.WORKING and replaced.leaves_quantity == Q("300")
    assert cancelled.status is ChildStatus.CANCELED and cancelled.leaves_quantity == 0
    assert again == cancelled


async def test_invalid_orders_are_rejected_with_the_reason(tmp_path: Path) -> None:
    async with venue_processes(VenueProcess("ALPHA", tmp_path)) as (proc,):
        venue = await connect(proc)
        try:
            unknown = await venue.submit(child("r1", symbol="NOPE"))
            off_tick = await venue.submit(child("r2", px="50.005"))
            fractional = await venue.submit(child("r3", qty="10.5"))
        finally:
            await venue.stop()
    assert unknown.status is ChildStatus.REJECTED and "unknown symbol" in unknown.reason
    assert off_tick.status is ChildStatus.REJECTED and "tick" in off_tick.reason
    assert fractional.status is ChildStatus.REJECTED and "whole number" in fractional.reason


async def test_a_venue_that_rejects_everything_rejects_every_child(tmp_path: Path) -> None:
    async with venue_processes(
        VenueProcess("BRAVO", tmp_path, args=["--reject-probability", "1"])
    ) as (proc,):
        venue = await connect(proc)
        try:
            reports = await asyncio.gather(
                *(venue.submit(child(f"x{i}", venue="BRAVO")) for i in range(10))
            )
        finally:
            await venue.stop()
    assert {r.status for r in reports} == {ChildStatus.REJECTED}
    assert all("venue busy" in r.reason for r in reports)
    assert all(not r.fills for r in reports)


async def test_maker_fill_on_an_inverted_venue_pays_the_maker_fee(tmp_path: Path) -> None:
    # BRAVO is taker-maker: the resting (maker) side pays 0.0010, the taker earns 0.0005
    async with venue_processes(
        VenueProcess("BRAVO", tmp_path, args=["--fade-probability", "0"])
    ) as (proc,):
        router = await connect(proc)
        taker = await connect(proc, sender="TAKER")
        try:
            bid = child(
                "m1", side="SELL", qty="100", px="50.50", venue="BRAVO", time_in_force="DAY"
            )
            await router.submit(bid)
            # a sweep through every participant level up to our price reaches our order
            hit = await taker.submit(
                child("t1", side="BUY", qty="10000", px="50.50", venue="BRAVO")
            )
            async with asyncio.timeout(5):
                while (r := router.report_of("m1")) is None or r.status is ChildStatus.WORKING:
                    await asyncio.sleep(0.01)
        finally:
            await router.stop()
            await taker.stop()
    taker_fill = next(f for f in hit.fills if f.price == Q("50.50"))
    assert taker_fill.fee == -Q("0.0005") * 100 and taker_fill.liquidity == "TAKER"
    assert r.status is ChildStatus.FILLED
    assert r.fills[0].liquidity == "MAKER" and r.fills[0].fee == Q("0.0010") * 100


async def test_fill_missed_while_disconnected_is_resent_after_the_venue_restarts(
    tmp_path: Path,
) -> None:
    """Sequence gap: the venue stored a report for a logged-out session; after a restart of
    the venue the router's logon finds the gap, asks for a resend and gets the fill once."""
    proc = VenueProcess("ALPHA", tmp_path, args=["--fade-probability", "0"])
    async with venue_processes(proc):
        router = await connect(proc)
        taker = await connect(proc, sender="TAKER")
        try:
            resting = child("g1", side="SELL", qty="100", px="50.40", time_in_force="DAY")
            await router.submit(resting)
            await router.stop()  # the router's session goes away; its order still rests
            hit = await taker.submit(child("t1", qty="10000", px="50.40"))
            assert any(f.price == Q("50.40") for f in hit.fills)
            await asyncio.sleep(0.3)  # the venue stores the maker report for the absent router
            await taker.stop()
            await proc.restart()  # kill -9; the FileStore keeps the stored report
            await router.start(logon_timeout_s=15.0)
            async with asyncio.timeout(10):
                while (report := router.report_of("g1")) is None or not report.fills:
                    await asyncio.sleep(0.02)
            counters = router.counters
            await router.stop()
        finally:
            await taker.stop()
    assert counters.resend_requests_sent >= 1
    assert report.status is ChildStatus.FILLED
    assert [f.quantity for f in report.fills] == [Q("100")]
    assert report.fills[0].price == Q("50.40") and report.fills[0].liquidity == "MAKER"


async def test_quotes_l1_and_depth_are_published_around_the_fundamental(
    tmp_path: Path, kafka_bootstrap: str, unique_name: object
) -> None:
    bus = KafkaBus(kafka_bootstrap)
    group = f"venue-quotes-{tmp_path.name}"
    consumer = bus.consumer(group, topics=[TOPIC_QUOTES])
    await consumer.start()
    try:
        proc = VenueProcess(
            "CHARLIE", tmp_path, symbols="SIM0007=120.00", kafka_bootstrap=kafka_bootstrap
        )
        async with venue_processes(proc):
            l1: QuoteL1 | None = None
            depth: QuoteDepth | None = None
            async with asyncio.timeout(20):
                while l1 is None or depth is None:
                    for message in await consumer.poll(1000, 0.5):
                        event = QUOTE_CODEC.decode(message.value)
                        if event.venue != "CHARLIE" or event.symbol != "SIM0007":
                            continue
                        if isinstance(event, QuoteL1):
                            l1 = event
                        else:
                            depth = event
    finally:
        await consumer.close()
        await bus.close()
    assert Q("119.90") <= l1.bid_price < l1.ask_price <= Q("120.10")
    assert l1.bid_size > 0 and l1.ask_size > 0
    assert len(depth.bids) == 8 and len(depth.asks) == 8  # CHARLIE keeps 8 levels a side
    assert depth.bids[0].price >= depth.bids[-1].price
