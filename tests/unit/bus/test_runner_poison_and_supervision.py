"""ConsumerRunner: poison messages are isolated and dead-lettered, outages are waited out,
crashes are restarted, an unknown end offset is never "caught up"."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from nexus.bus import (
    BusError,
    ConsumerRunner,
    Delivery,
    MemoryBus,
    TopicPartition,
    UndecodableRecord,
)
from nexus.bus.memory import MemoryConsumer, MemoryProducer
from nexus.errors import ValidationError
from nexus.events import DEAD_LETTER_CODEC
from tests.support.runner import run_until

FAST: dict[str, Any] = {"retry_base_s": 0.0005, "retry_max_s": 0.001, "poll_timeout_s": 0.01}


def raw(topic: str, value: bytes) -> bytes:
    return value


async def publish(bus: MemoryBus, topic: str, values: list[bytes]) -> None:
    producer = bus.producer()
    for value in values:
        await producer.publish(topic, value, key=b"AAPL")


async def test_poison_record_mid_batch_is_dead_lettered_and_the_rest_applied() -> None:
    bus = MemoryBus(default_partitions=1)
    values = [f"m{i}".encode() for i in range(9)]
    values[4] = b"poison"
    await publish(bus, "t", values)
    applied: list[bytes] = []
    calls = 0

    async def handle(batch: list[Delivery[bytes]]) -> None:
        nonlocal calls
        calls += 1
        if any(d.event == b"poison" for d in batch):
            raise OverflowError("volume overflows int64")
        applied.extend(d.event for d in batch)

    runner = ConsumerRunner(bus, "g", handle, topics=["t"], decoder=raw, max_attempts=3, **FAST)
    await run_until(runner, lambda: runner.stats.committed.get(TopicPartition("t", 0)) == 9)
    assert applied == [v for v in values if v != b"poison"]
    [dead] = [DEAD_LETTER_CODEC.decode(m.value) for m in bus.messages("t.dlq")]
    assert (dead.offset, dead.payload, dead.error_type) == (4, b"poison", "OverflowError")
    assert "volume overflows int64" in dead.reason
    assert runner.stats.poisoned == 1
    assert runner.stats.dead_lettered == 1
    assert runner.stats.processed == 9


async def test_transient_failures_are_retried_past_max_attempts_and_never_dead_lettered() -> None:
    bus = MemoryBus(default_partitions=1)
    await publish(bus, "t", [b"a", b"b"])
    failures_left = 10
    applied: list[bytes] = []

    async def handle(batch: list[Delivery[bytes]]) -> None:
        nonlocal failures_left
        if failures_left:
            failures_left -= 1
            raise ConnectionRefusedError("store down")
        applied.extend(d.event for d in batch)

    runner = ConsumerRunner(bus, "g", handle, topics=["t"], decoder=raw, max_attempts=2, **FAST)
    await run_until(runner, lambda: len(applied) == 2)
    assert bus.messages("t.dlq") == []
    assert runner.stats.handler_failures == 10
    assert runner.stats.poisoned == 0


async def test_stop_while_the_handler_fails_leaves_the_batch_uncommitted() -> None:
    bus = MemoryBus(default_partitions=1)
    await publish(bus, "t", [b"a"])

    async def handle(batch: list[Delivery[bytes]]) -> None:
        raise ConnectionRefusedError("store down")

    runner = ConsumerRunner(bus, "g", handle, topics=["t"], decoder=raw, **FAST)
    await run_until(runner, lambda: runner.stats.handler_failures >= 3)
    assert bus.committed("g") == {}


class FlakyProducer(MemoryProducer):
    """Refuses ``failures`` batches, then publishes."""

    failures = 0

    async def publish_batch(self, messages: Any) -> None:
        if FlakyProducer.failures:
            FlakyProducer.failures -= 1
            raise BusError("broker down")
        await super().publish_batch(messages)


class FlakyBus(MemoryBus):
    """A MemoryBus whose consumers' first polls raise and whose producers may refuse."""

    poll_errors = 0
    lag_errors = 0

    def producer(self) -> MemoryProducer:
        return FlakyProducer(self)

    def consumer(
        self,
        group_id: str,
        *,
        topics: Any = (),
        pattern: str | None = None,
        max_wait_ms: int | None = None,
    ) -> MemoryConsumer:
        bus = self

        class Flaky(MemoryConsumer):
            async def poll(self, max_records: int, timeout_s: float) -> Any:
                if bus.poll_errors:
                    bus.poll_errors -= 1
                    raise RuntimeError("fetch failed")
                return await super().poll(max_records, timeout_s)

            async def lags(self) -> dict[TopicPartition, int]:
                if bus.lag_errors:
                    bus.lag_errors -= 1
                    raise BusError("end offsets unavailable")
                return await super().lags()

        return Flaky(self, group_id, tuple(topics), pattern)


async def test_dead_letters_refused_by_the_broker_are_retried_before_the_commit() -> None:
    bus = FlakyBus(default_partitions=1)
    await bus.create_topics(["t"])
    await bus.producer().publish("t", b"x")
    FlakyProducer.failures = 3

    def strict(topic: str, value: bytes) -> bytes:
        raise ValidationError("not an event")

    async def handle(batch: list[Delivery[bytes]]) -> None:
        return None

    runner = ConsumerRunner(bus, "g", handle, topics=["t"], decoder=strict, **FAST)
    await run_until(runner, lambda: bool(bus.committed("g")))
    assert FlakyProducer.failures == 0
    assert len(bus.messages("t.dlq")) == 1


async def test_a_crashed_runner_is_restarted_and_counted() -> None:
    bus = FlakyBus(default_partitions=1)
    await publish(bus, "t", [b"a"])
    bus.poll_errors = 2
    applied: list[bytes] = []

    async def handle(batch: list[Delivery[bytes]]) -> None:
        applied.extend(d.event for d in batch)

    runner = ConsumerRunner(bus, "g", handle, topics=["t"], decoder=raw, **FAST)
    import nexus.bus.runner as runner_module

    original = runner_module.RESTART_BASE_S
    runner_module.RESTART_BASE_S = 0.001
    task = asyncio.create_task(runner.run_supervised())
    try:
        async with asyncio.timeout(10):
            while not applied:
                await asyncio.sleep(0.005)
    finally:
        runner.request_stop()
        await asyncio.wait_for(task, 10)
        runner_module.RESTART_BASE_S = original
    assert runner.stats.restarts == 2
    assert runner.stats.last_error == "RuntimeError: fetch failed"


async def test_undecodable_record_on_a_strict_runner_stops_it_for_good() -> None:
    bus = MemoryBus(default_partitions=1)
    await publish(bus, "risk.halts", [b"\xff\xfe not msgpack"])

    async def handle(batch: list[Delivery[Any]]) -> None:
        return None

    runner = ConsumerRunner(bus, "g", handle, topics=["risk.halts"], strict_decode=True, **FAST)
    with pytest.raises(UndecodableRecord, match=r"risk.halts\[\d\]@0"):
        await asyncio.wait_for(runner.run_supervised(), 10)
    assert isinstance(runner.failed, UndecodableRecord)
    assert bus.committed("g") == {}
    assert bus.messages("risk.halts.dlq") == []


async def test_unknown_end_offsets_are_not_caught_up() -> None:
    bus = FlakyBus(default_partitions=1)
    await publish(bus, "t", [b"a"])
    bus.lag_errors = 1_000_000

    async def handle(batch: list[Delivery[bytes]]) -> None:
        return None

    runner = ConsumerRunner(bus, "g", handle, topics=["t"], decoder=raw, lag_interval_s=0.0, **FAST)
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(10):
            while not bus.committed("g"):
                await asyncio.sleep(0.005)
        assert not runner.caught_up()
        bus.lag_errors = 0
        async with asyncio.timeout(10):
            while not runner.caught_up():
                await asyncio.sleep(0.005)
        assert runner.stats.lags == {TopicPartition("t", 0): 0}
    finally:
        runner.request_stop()
        await asyncio.wait_for(task, 10)
    assert not runner.caught_up()  # a stopped runner is not caught up either


async def test_consumer_stuck_without_end_offsets_is_restarted() -> None:
    bus = FlakyBus(default_partitions=1)
    await publish(bus, "t", [b"a"])
    bus.lag_errors = 1_000_000

    async def handle(batch: list[Delivery[bytes]]) -> None:
        return None

    runner = ConsumerRunner(
        bus,
        "g",
        handle,
        topics=["t"],
        decoder=raw,
        lag_interval_s=0.0,
        stall_restart_s=0.0,
        **FAST,
    )
    with pytest.raises(BusError, match="stalled"):
        await asyncio.wait_for(runner.run(), 10)
