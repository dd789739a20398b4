"""The bus contract, run against the real broker and against MemoryBus (same tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from nexus.bus import (
    Bus,
    ConsumerRunner,
    Delivery,
    KafkaBus,
    MemoryBus,
    OutgoingMessage,
    Rejection,
    TopicPartition,
)
from nexus.events import DEAD_LETTER_CODEC, TRADE_CODEC, Trade
from tests.support.events import make_trade
from tests.support.runner import run_until

pytestmark = pytest.mark.integration


@pytest.fixture(params=["kafka", "memory"])
def bus(request: pytest.FixtureRequest, kafka_bootstrap: str) -> Bus:
    if request.param == "kafka":
        return KafkaBus(kafka_bootstrap)
    return MemoryBus()


async def _publish_trades(bus: Bus, topic: str, trades: list[Trade]) -> None:
    producer = bus.producer()
    try:
        for trade in trades:
            await producer.publish(topic, TRADE_CODEC.encode(trade), key=trade.symbol.encode())
    finally:
        await producer.close()


def _trade_decoder(topic: str, value: bytes) -> Any:
    return TRADE_CODEC.decode(value)


class IdempotentLedger:
    """Applies each trade once, however often it is delivered."""

    def __init__(self) -> None:
        self.applied: dict[str, Trade] = {}
        self.deliveries = 0

    async def handle(self, batch: list[Delivery[Trade]]) -> None:
        for delivery in batch:
            self.deliveries += 1
            self.applied.setdefault(delivery.event.event_id, delivery.event)


async def test_pattern_subscription_consumes_two_topics(
    bus: Bus, unique_name: Callable[[str], str]
) -> None:
    prefix = unique_name("pat")
    t1, t2 = f"{prefix}.alpha", f"{prefix}.beta"
    await bus.create_topics([t1, t2], partitions=3)
    await _publish_trades(bus, t1, [make_trade(i, "AAPL") for i in range(10)])
    await _publish_trades(bus, t2, [make_trade(i, "MSFT") for i in range(10, 20)])
    ledger = IdempotentLedger()
    runner = ConsumerRunner(
        bus, unique_name("g"), ledger.handle, pattern=rf"^{prefix}\..*", decoder=_trade_decoder
    )
    await run_until(runner, lambda: len(ledger.applied) == 20)
    assert {t.symbol for t in ledger.applied.values()} == {"AAPL", "MSFT"}


async def test_consumer_killed_before_commit_gets_message_again_and_effect_applies_once(
    bus: Bus, unique_name: Callable[[str], str]
) -> None:
    topic, group = unique_name("crash."), unique_name("g")
    await bus.create_topics([topic], partitions=2)
    trades = [make_trade(i, sym) for i, sym in enumerate(["AAPL", "MSFT"] * 5)]
    await _publish_trades(bus, topic, trades)
    ledger = IdempotentLedger()

    async def apply_then_crash(batch: list[Delivery[Trade]]) -> None:
        await ledger.handle(batch)
        raise asyncio.CancelledError  # the process dies after the effect, before the commit

    crashing = ConsumerRunner(bus, group, apply_then_crash, topics=[topic], decoder=_trade_decoder)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(crashing.run(), timeout=30)
    first_pass = ledger.deliveries
    assert first_pass > 0

    survivor = ConsumerRunner(bus, group, ledger.handle, topics=[topic], decoder=_trade_decoder)
    await run_until(survivor, lambda: ledger.deliveries >= first_pass + len(trades))
    assert len(ledger.applied) == len(trades)
    assert ledger.deliveries == first_pass + len(trades)  # everything came again


async def test_malformed_message_goes_to_dlq_and_later_messages_are_processed(
    bus: Bus, unique_name: Callable[[str], str]
) -> None:
    topic = unique_name("dlq.")
    await bus.create_topics([topic, topic + ".dlq"], partitions=1)
    producer = bus.producer()
    await producer.publish(topic, TRADE_CODEC.encode(make_trade(1)), key=b"AAPL")
    await producer.publish(topic, b"\xc1 not msgpack", key=b"AAPL")
    await producer.publish(topic, _negative_quantity_trade(), key=b"AAPL")
    for i in range(3, 6):
        await producer.publish(topic, TRADE_CODEC.encode(make_trade(i)), key=b"AAPL")
    await producer.close()

    ledger = IdempotentLedger()
    runner = ConsumerRunner(
        bus, unique_name("g"), ledger.handle, topics=[topic], decoder=_trade_decoder
    )
    await run_until(runner, lambda: len(ledger.applied) == 4)
    assert sorted(ledger.applied) == [f"T-AAPL-{i}" for i in (1, 3, 4, 5)]
    assert runner.stats.dead_lettered == 2

    letters: list[Any] = []
    dlq_reader = ConsumerRunner(
        bus,
        unique_name("ops"),
        lambda batch: _collect(letters, batch),
        topics=[topic + ".dlq"],
        decoder=lambda _t, v: DEAD_LETTER_CODEC.decode(v),
    )
    await run_until(dlq_reader, lambda: len(letters) == runner.stats.dead_lettered)
    first = letters[0]
    assert first.source_topic == topic
    assert first.offset == 1
    assert first.payload == b"\xc1 not msgpack"
    assert "malformed" in first.reason.lower() or "invalid" in first.reason.lower()
    assert letters[1].offset == 2
    assert "$.quantity" in letters[1].reason


def _negative_quantity_trade() -> bytes:
    fields = msgspec.structs.asdict(make_trade(2))
    fields["quantity"] = -5
    return msgspec.msgpack.encode({"type": "trade", **fields})


async def _collect(sink: list[Any], batch: list[Delivery[Any]]) -> None:
    sink.extend(d.event for d in batch)


async def test_handler_rejection_is_dead_lettered_with_its_reason(
    bus: Bus, unique_name: Callable[[str], str]
) -> None:
    topic = unique_name("rej.")
    await bus.create_topics([topic, topic + ".dlq"], partitions=1)
    await _publish_trades(bus, topic, [make_trade(i) for i in range(3)])
    seen: list[str] = []

    async def reject_odd(batch: list[Delivery[Trade]]) -> list[Rejection]:
        out = []
        for d in batch:
            seen.append(d.event.event_id)
            if d.event.event_id.endswith("1"):
                out.append(Rejection(d.message, "unknown account a1", "UnknownAccount"))
        return out

    runner = ConsumerRunner(
        bus, unique_name("g"), reject_odd, topics=[topic], decoder=_trade_decoder
    )
    await run_until(runner, lambda: len(seen) == 3)
    assert runner.stats.dead_lettered == 1
    letters: list[Any] = []
    reader = ConsumerRunner(
        bus,
        unique_name("ops"),
        lambda b: _collect(letters, b),
        topics=[topic + ".dlq"],
        decoder=lambda _t, v: DEAD_LETTER_CODEC.decode(v),
    )
    await run_until(reader, lambda: len(letters) == 1)
    assert letters[0].reason == "unknown account a1"
    assert letters[0].error_type == "UnknownAccount"


async def test_failing_handler_is_retried_and_never_committed_until_it_succeeds(
    bus: Bus, unique_name: Callable[[str], str]
) -> None:
    topic, group = unique_name("retry."), unique_name("g")
    await bus.create_topics([topic], partitions=1)
    await _publish_trades(bus, topic, [make_trade(i) for i in range(3)])
    ledger = IdempotentLedger()
    failures = {"left": 2}

    async def flaky(batch: list[Delivery[Trade]]) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("database down")
        await ledger.handle(batch)

    runner = ConsumerRunner(
        bus, group, flaky, topics=[topic], decoder=_trade_decoder, retry_base_s=0.01
    )
    await run_until(runner, lambda: len(ledger.applied) == 3)
    assert runner.stats.handler_failures == 2
    assert sum(runner.stats.committed.values()) == 3


async def test_graceful_shutdown_commits_what_was_processed(
    bus: Bus, unique_name: Callable[[str], str]
) -> None:
    topic, group = unique_name("stop."), unique_name("g")
    await bus.create_topics([topic], partitions=1)
    await _publish_trades(bus, topic, [make_trade(i) for i in range(50)])
    ledger = IdempotentLedger()
    first = ConsumerRunner(bus, group, ledger.handle, topics=[topic], decoder=_trade_decoder)
    await run_until(first, lambda: len(ledger.applied) == 50)
    assert first.stats.committed

    again = IdempotentLedger()
    second = ConsumerRunner(
        bus, group, again.handle, topics=[topic], decoder=_trade_decoder, poll_timeout_s=0.1
    )
    await _publish_trades(bus, topic, [make_trade(99)])
    await run_until(second, lambda: len(again.applied) >= 1)
    assert list(again.applied) == ["T-AAPL-99"]  # nothing processed before the stop came again


async def test_lag_counts_what_waits_in_a_batch_the_consumer_is_part_way_through(
    bus: Bus, unique_name: Callable[[str], str]
) -> None:
    # One request, one record batch: tansu's "latest" offset is that batch's base + 1, so a
    # lag from the end offsets alone reads 0 once the consumer is past the batch's first record.
    topic, group = unique_name("lag."), unique_name("g")
    await bus.create_topics([topic], partitions=1)
    producer = bus.producer()
    try:
        await producer.publish_batch(
            [OutgoingMessage(topic, TRADE_CODEC.encode(make_trade(i)), b"k") for i in range(50)]
        )
    finally:
        await producer.close()
    consumer = bus.consumer(group, topics=[topic])
    await consumer.start()
    try:
        read: list[Any] = []
        async with asyncio.timeout(20):
            while not read:
                read = await consumer.poll(10, 0.5)
        assert (await consumer.lags()).get(TopicPartition(topic, 0)) == 50 - len(read)
    finally:
        await consumer.close()
