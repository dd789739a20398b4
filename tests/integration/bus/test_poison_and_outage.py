"""On the real broker: a poison record mid-batch is dead-lettered and the partition goes on; a
consumer outlives the broker being killed and restarted under it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest

from nexus.bus import ConsumerRunner, Delivery, KafkaBus, TopicPartition
from nexus.events import DEAD_LETTER_CODEC
from tests.support.own_broker import OwnBroker
from tests.support.runner import run_until

pytestmark = pytest.mark.integration


def raw(topic: str, value: bytes) -> bytes:
    return value


async def publish(bus: KafkaBus, topic: str, values: list[bytes]) -> None:
    producer = bus.producer()
    try:
        for value in values:
            await producer.publish(topic, value, key=b"AAPL")
    finally:
        await producer.close()


async def dead_letters(bus: KafkaBus, topic: str, group: str, count: int) -> list[bytes]:
    seen: list[bytes] = []

    async def handle(batch: list[Delivery[bytes]]) -> None:
        seen.extend(d.event for d in batch)

    await run_until(
        ConsumerRunner(bus, group, handle, topics=[topic], decoder=raw), lambda: len(seen) >= count
    )
    return seen


async def test_poison_record_mid_batch_is_dead_lettered_and_the_partition_goes_on(
    kafka_bus: KafkaBus, unique_name: Callable[[str], str]
) -> None:
    topic = unique_name("poison.")
    await kafka_bus.create_topics([topic, topic + ".dlq"], partitions=1)
    values = [f"vol-{i}".encode() for i in range(20)]
    values[11] = b"vol-99999999999999999999"  # overflows int64 in the handler
    await publish(kafka_bus, topic, values)
    applied: list[int] = []

    async def handle(batch: list[Delivery[bytes]]) -> None:
        volumes = [int(d.event.split(b"-")[1]) for d in batch]
        if any(v >= 2**63 for v in volumes):
            raise OverflowError("volume_raw out of BIGINT range")
        applied.extend(volumes)

    runner = ConsumerRunner(
        kafka_bus, unique_name("g"), handle, topics=[topic], decoder=raw, retry_base_s=0.001
    )
    await run_until(runner, lambda: runner.stats.committed.get(TopicPartition(topic, 0)) == 20)
    assert sorted(set(applied)) == [i for i in range(20) if i != 11]
    [letter] = await dead_letters(kafka_bus, topic + ".dlq", unique_name("ops"), 1)
    dead = DEAD_LETTER_CODEC.decode(letter)
    assert (dead.offset, dead.payload, dead.error_type) == (11, values[11], "OverflowError")
    assert "BIGINT" in dead.reason
    assert runner.stats.poisoned == 1


@pytest.fixture
def own_broker() -> Iterator[OwnBroker]:
    broker = OwnBroker()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def test_consumer_outlives_the_broker_killed_and_restarted_under_it(
    own_broker: OwnBroker, unique_name: Callable[[str], str]
) -> None:
    bus = KafkaBus(own_broker.bootstrap)
    topic = unique_name("outage.")
    await bus.create_topics([topic], partitions=1)
    await publish(bus, topic, [b"before"])
    seen: list[bytes] = []

    async def handle(batch: list[Delivery[bytes]]) -> None:
        seen.extend(d.event for d in batch)

    runner = ConsumerRunner(
        bus,
        unique_name("g"),
        handle,
        topics=[topic],
        decoder=raw,
        poll_timeout_s=0.05,
        lag_interval_s=0.1,
        stall_restart_s=2.0,
    )
    task = asyncio.create_task(runner.run_supervised())
    try:
        async with asyncio.timeout(30):
            while not (seen and runner.caught_up()):
                await asyncio.sleep(0.02)
        own_broker.stop()
        async with asyncio.timeout(30):  # an unreachable broker is never "caught up"
            while runner.caught_up():
                await asyncio.sleep(0.02)
        own_broker.start()  # empty: topics, offsets and groups are gone
        await bus.create_topics([topic], partitions=1)
        await publish(bus, topic, [b"after"])
        async with asyncio.timeout(60):
            while b"after" not in seen:
                assert not task.done(), "the supervised consumer ended"
                await asyncio.sleep(0.05)
        async with asyncio.timeout(30):
            while not runner.caught_up():
                await asyncio.sleep(0.02)
    finally:
        runner.request_stop()
        await asyncio.wait_for(task, 20)
    assert seen[0] == b"before"
