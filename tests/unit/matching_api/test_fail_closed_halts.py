"""Matching refuses orders unless it knows every halt; client order ids; open orders; cancel-all."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest

from nexus.bus import ConsumerRunner, MemoryBus
from nexus.clients import NO_RETRY, ServiceClient
from nexus.events import HALT_CODEC, TOPIC_HALTS, Halt
from services.matching.consumer import RiskHaltsLoader, halts_consumer, wait_for_halts
from services.matching.service import (
    DuplicateClientOrderId,
    HaltsUnavailable,
    MatchingService,
)
from tests.unit.matching_api.test_matching_service import (
    INSTRUMENTS,
    FakePublisher,
    Sessions,
    submit,
)


async def service_with_halts(
    bus: MemoryBus, *, snapshot: bool = False
) -> tuple[MatchingService, ConsumerRunner, list[asyncio.Task[None]]]:
    service = MatchingService("NEXUS", Sessions(), FakePublisher(), instruments=INSTRUMENTS)
    await service.start()
    await bus.create_topics([TOPIC_HALTS])
    runner = halts_consumer(bus, service, "matching.halts.test")
    tasks = [
        asyncio.create_task(service.publish_forever()),
        asyncio.create_task(runner.run_supervised()),
    ]
    service.risk_snapshot_loaded = snapshot
    return service, runner, tasks


async def stop(runner: ConsumerRunner, tasks: list[asyncio.Task[None]]) -> None:
    runner.request_stop()
    tasks[0].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def halt(event_id: str, target: str, ts: int = 1, action: str = "HALT") -> Halt:
    return Halt(
        event_id=event_id,
        ts_event=ts,
        scope="USER",
        target=target,
        action=action,  # type: ignore[arg-type]
        reason="spoofing",
    )


async def test_orders_are_refused_without_a_halts_consumer() -> None:
    service = MatchingService("NEXUS", Sessions(), FakePublisher(), instruments=INSTRUMENTS)
    await service.start()
    with pytest.raises(HaltsUnavailable, match=r"no risk\.halts consumer"):
        await service.submit(submit("bob", "BUY", 1, 100))
    with pytest.raises(HaltsUnavailable):
        await service.ready()


async def test_orders_wait_for_the_halts_in_force_from_the_risk_service() -> None:
    bus = MemoryBus(default_partitions=2)
    service, runner, tasks = await service_with_halts(bus)
    try:
        await wait_for_halts(service, timeout_s=10)
        with pytest.raises(HaltsUnavailable, match="not yet loaded from the risk service"):
            await service.submit(submit("bob", "BUY", 1, 100))
        service.risk_snapshot_loaded = True
        assert (await service.submit(submit("bob", "BUY", 1, 100))).order.status == "NEW"
    finally:
        await stop(runner, tasks)


async def test_orders_are_refused_once_the_halts_consumer_is_dead() -> None:
    bus = MemoryBus(default_partitions=2)
    service, runner, tasks = await service_with_halts(bus, snapshot=True)
    try:
        await wait_for_halts(service, timeout_s=10)
        assert (await service.submit(submit("bob", "BUY", 1, 100))).order.status == "NEW"
        runner.request_stop()
        await asyncio.wait_for(tasks[1], 10)
        with pytest.raises(HaltsUnavailable, match="not running"):
            await service.submit(submit("bob", "BUY", 1, 100))
        # cancels still pass: they only reduce risk
        [open_order] = service.open_orders("bob")
        assert (await service.cancel(open_order.order_id)).order.status == "CANCELLED"
    finally:
        await stop(runner, tasks)


async def test_an_undecodable_halt_stops_the_start_and_refuses_orders() -> None:
    bus = MemoryBus(default_partitions=1)
    await bus.create_topics([TOPIC_HALTS])
    producer = bus.producer()
    await producer.publish(TOPIC_HALTS, HALT_CODEC.encode(halt("h1", "bob")), key=b"bob")
    await producer.publish(TOPIC_HALTS, b"\x93garbage", key=b"bob")
    service, runner, tasks = await service_with_halts(bus, snapshot=True)
    try:
        with pytest.raises(Exception, match="undecodable record"):
            await wait_for_halts(service, timeout_s=10)
        with pytest.raises(HaltsUnavailable, match="consumer stopped"):
            await service.submit(submit("eve", "BUY", 1, 100))
    finally:
        await stop(runner, tasks)
    assert bus.messages(TOPIC_HALTS + ".dlq") == []  # never skipped


async def test_a_halt_published_after_start_applies_to_the_next_order() -> None:
    bus = MemoryBus(default_partitions=2)
    service, runner, tasks = await service_with_halts(bus, snapshot=True)
    try:
        await wait_for_halts(service, timeout_s=10)
        await bus.producer().publish(TOPIC_HALTS, HALT_CODEC.encode(halt("h1", "bob")), key=b"bob")
        async with asyncio.timeout(10):
            while service.halts.get("USER", "bob") is None:
                await asyncio.sleep(0.001)
        refused = await service.submit(submit("bob", "BUY", 1, 100))
        assert (refused.order.status, refused.reject_reason) == (
            "REJECTED",
            "user bob halted: spoofing",
        )
    finally:
        await stop(runner, tasks)


@pytest.fixture
async def risk_client() -> AsyncIterator[tuple[ServiceClient, list[int]]]:
    answers = [503]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/halts"
        assert request.headers["authorization"] == "Bearer t"
        if answers:
            return httpx.Response(answers.pop(0), json={"title": "starting"})
        return httpx.Response(
            200,
            json=[
                {
                    "halt_id": "halt:x",
                    "scope": "SYMBOL",
                    "target": "AAPL",
                    "action": "HALT",
                    "reason": "news pending",
                    "source_alert_id": None,
                    "expires_at_ns": None,
                    "requested_by": "",
                    "ts_event": 5,
                }
            ],
        )

    client = ServiceClient(
        "risk", "http://risk", token="t", retry=NO_RETRY, transport=httpx.MockTransport(handler)
    )
    yield client, answers
    await client.aclose()


async def test_loader_retries_until_risk_answers_then_applies_its_halts(
    risk_client: tuple[ServiceClient, list[int]],
) -> None:
    client, answers = risk_client
    service = MatchingService(
        "NEXUS", Sessions(), FakePublisher(), require_halts=False, instruments=INSTRUMENTS
    )
    await service.start()
    await asyncio.wait_for(RiskHaltsLoader(client, service).load_until_done(retry_s=0.001), 10)
    assert answers == [] and service.risk_snapshot_loaded
    assert service.halts.check("anyone", "AAPL", 10) == "symbol AAPL halted: news pending"


async def test_client_order_id_is_unique_per_user() -> None:
    service = MatchingService(
        "NEXUS", Sessions(), FakePublisher(), require_halts=False, instruments=INSTRUMENTS
    )
    await service.start()
    task = asyncio.create_task(service.publish_forever())
    first = submit("alice", "SELL", 1, 100)
    try:
        mine = msgspec.structs.replace(first, client_order_id="c-1")
        await service.submit(mine)
        with pytest.raises(DuplicateClientOrderId, match="c-1"):
            await service.submit(mine)
        other = msgspec.structs.replace(mine, user_id="bob", account_id="bob")
        assert (await service.submit(other)).order.client_order_id == "c-1"
    finally:
        task.cancel()
    assert len(service.open_orders("alice")) == 1


async def test_open_orders_follow_fills_and_cancel_all_cancels_only_that_user() -> None:
    service = MatchingService(
        "NEXUS", Sessions(), FakePublisher(), require_halts=False, instruments=INSTRUMENTS
    )
    await service.start()
    task = asyncio.create_task(service.publish_forever())
    try:
        for price in (100, 101, 102):
            await service.submit(submit("alice", "SELL", 1, price))
        await service.submit(submit("carol", "SELL", 1, 103))
        await service.submit(submit("bob", "BUY", 1, 100))  # takes alice's 100
        assert [o.price for o in service.open_orders("alice")] == [101 * 10**9, 102 * 10**9]
        cancelled = await service.cancel_all("alice")
        assert [e.order.status for e in cancelled] == ["CANCELLED", "CANCELLED"]
        assert service.open_orders("alice") == []
        assert len(service.open_orders("carol")) == 1
    finally:
        task.cancel()
