"""The matching service's use-case layer without a broker: numbering, publication, halts."""

from __future__ import annotations

import asyncio

import pytest

from nexus.events import ORDER_CODEC, TOPIC_ORDERS, TOPIC_TRADES, TRADE_CODEC, Halt
from nexus.instruments import InstrumentTable, listing
from services.matching.core import DuplicateOrderId, InvalidOrder, SubmitOrder
from services.matching.service import (
    MatchingService,
    NotAcknowledged,
    ServiceUnavailable,
)
from tests.support.publishing import RecordingPublisher as FakePublisher

P = 10**9
#: the reference data of these tests: AAPL listed (1-share lots, Rule 612 ticks)
INSTRUMENTS = InstrumentTable(listing(["AAPL"]))


class Sessions:
    def __init__(self) -> None:
        self.opened = 0

    async def open_session(self, venue: str) -> int:
        self.opened += 1
        return self.opened


def submit(user: str, side: str, qty: int, price: int, order_id: str = "") -> SubmitOrder:
    return SubmitOrder(
        order_id=order_id,
        user_id=user,
        account_id=user,
        symbol="AAPL",
        side=side,  # type: ignore[arg-type]
        quantity=qty * P,
        price=price * P,
        ts_event=0,
    )


async def started(
    publisher: FakePublisher, **kwargs: float | bool
) -> tuple[MatchingService, asyncio.Task[None]]:
    kwargs.setdefault("require_halts", False)  # the halts gate has tests of its own
    service = MatchingService(
        "NEXUS",
        Sessions(),
        publisher,
        instruments=INSTRUMENTS,
        **kwargs,  # type: ignore[arg-type]
    )
    await service.start()
    return service, asyncio.create_task(service.publish_forever())


async def test_submit_answers_after_publication_with_numbered_ids_and_symbol_keys() -> None:
    publisher = FakePublisher()
    service, task = await started(publisher)
    try:
        maker = await service.submit(submit("alice", "SELL", 5, 100))
        taker = await service.submit(submit("bob", "BUY", 2, 101))
    finally:
        task.cancel()
    assert (maker.order.order_id, taker.order.order_id) == ("NEXUS:1:1", "NEXUS:1:2")
    assert taker.order.status == "FILLED" and len(taker.fills) == 1
    records = [m for batch in publisher.batches for m in batch]
    assert {m.key for m in records} == {b"AAPL"}
    topics = [m.topic for m in records]
    assert topics.count(TOPIC_TRADES) == 1 and topics.count(TOPIC_ORDERS) == 4
    trade = TRADE_CODEC.decode(next(m.value for m in records if m.topic == TOPIC_TRADES))
    assert trade.event_id.startswith("NEXUS.1:AAPL:")
    first = ORDER_CODEC.decode(records[0].value)
    assert first.order_id == "NEXUS:1:1" and first.ts_event > 0


async def test_rejected_commands_publish_nothing_and_use_no_number() -> None:
    publisher = FakePublisher()
    service, task = await started(publisher)
    try:
        with pytest.raises(InvalidOrder):
            await service.submit(submit("alice", "SELL", 0, 100))
        await service.submit(submit("alice", "SELL", 1, 100, order_id="mine"))
        with pytest.raises(DuplicateOrderId):
            await service.submit(submit("alice", "SELL", 1, 100, order_id="mine"))
        numbered = await service.submit(submit("alice", "SELL", 1, 100))
    finally:
        task.cancel()
    assert numbered.order.order_id == "NEXUS:1:1"
    assert sum(len(b) for b in publisher.batches) == 2


async def test_a_halt_applies_to_the_next_order_and_a_resume_lifts_it() -> None:
    service, task = await started(FakePublisher())
    halt = Halt(
        event_id="h1", ts_event=1, scope="USER", target="bob", action="HALT", reason="layering"
    )
    try:
        assert service.apply_halts([halt, halt]) == 1
        refused = await service.submit(submit("bob", "BUY", 1, 100))
        assert refused.order.status == "REJECTED"
        assert refused.reject_reason == "user bob halted: layering"
        resume = Halt(
            event_id="h2", ts_event=2, scope="USER", target="bob", action="RESUME", reason="ok"
        )
        service.apply_halts([resume])
        assert (await service.submit(submit("bob", "BUY", 1, 100))).order.status == "NEW"
    finally:
        task.cancel()


async def test_many_concurrent_commands_share_broker_round_trips_in_command_order() -> None:
    publisher = FakePublisher()
    publisher.release.clear()
    service, task = await started(publisher)
    try:
        calls = [
            asyncio.create_task(service.submit(submit(f"u{i}", "BUY", 1, 100 + i)))
            for i in range(50)
        ]
        await asyncio.sleep(0.01)
        publisher.release.set()
        results = await asyncio.gather(*calls)
    finally:
        task.cancel()
    assert len(publisher.batches) <= 2
    published = [ORDER_CODEC.decode(m.value).order_id for b in publisher.batches for m in b]
    assert published == [r.order.order_id for r in results]
    assert published == [f"NEXUS:1:{i}" for i in range(1, 51)]


async def test_a_failed_publication_is_retried_in_order_before_answering() -> None:
    publisher = FakePublisher(failures=2)
    service, task = await started(publisher)
    try:
        done = await service.submit(submit("alice", "SELL", 1, 100))
    finally:
        task.cancel()
    assert done.order.order_id == "NEXUS:1:1"
    assert len(publisher.batches) == 1
    assert service.events.failing is False


async def test_no_ack_in_time_answers_not_acknowledged_and_keeps_the_events() -> None:
    publisher = FakePublisher()
    publisher.release.clear()
    service, task = await started(publisher, ack_timeout_s=0.05)
    try:
        with pytest.raises(NotAcknowledged) as caught:
            await service.submit(submit("alice", "SELL", 1, 100))
        assert caught.value.order_id == "NEXUS:1:1"
        assert service.events.backlog == 1
        publisher.release.set()
        assert await service.events.drain(1.0)
    finally:
        task.cancel()
    assert len(publisher.batches) == 1


async def test_commands_before_start_are_unavailable() -> None:
    service = MatchingService("NEXUS", Sessions(), FakePublisher(), instruments=INSTRUMENTS)
    with pytest.raises(ServiceUnavailable):
        await service.submit(submit("alice", "SELL", 1, 100))


async def test_amend_and_cancel_publish_and_a_halt_refuses_the_amend_but_not_the_cancel() -> None:
    publisher = FakePublisher()
    service, task = await started(publisher)
    try:
        resting = await service.submit(submit("alice", "SELL", 5, 100))
        order_id = resting.order.order_id
        down = await service.amend(order_id, quantity=3 * P)
        assert (down.order.leaves_quantity, down.reject_reason) == (3 * P, None)
        service.apply_halts(
            [
                Halt(
                    event_id="h",
                    ts_event=1,
                    scope="SYMBOL",
                    target="AAPL",
                    action="HALT",
                    reason="news pending",
                )
            ]
        )
        refused = await service.amend(order_id, price=99 * P)
        assert refused.reject_reason == "amend rejected: symbol AAPL halted: news pending"
        assert refused.order.price == 100 * P and refused.order.status == "NEW"
        cancelled = await service.cancel(order_id)
        assert cancelled.order.status == "CANCELLED"
    finally:
        task.cancel()
    kinds = [type(ORDER_CODEC.decode(m.value)).__name__ for b in publisher.batches for m in b]
    assert kinds == ["OrderNew", "OrderAmend", "OrderReject", "OrderCancel"]
