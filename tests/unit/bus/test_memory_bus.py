"""MemoryBus semantics: partitions by key, groups, rebalancing, commits."""

from __future__ import annotations

import pytest

from nexus.bus import BusError, MemoryBus, TopicPartition, partition_for


async def test_publish_same_key_lands_in_one_partition_in_order() -> None:
    bus = MemoryBus(default_partitions=4)
    producer = bus.producer()
    for i in range(20):
        await producer.publish("t", str(i).encode(), key=b"AAPL")
    partitions = {m.partition for m in bus.messages("t")}
    assert partitions == {partition_for(b"AAPL", 4)}
    assert [m.value for m in bus.messages("t")] == [str(i).encode() for i in range(20)]


async def test_poll_without_start_raises() -> None:
    consumer = MemoryBus().consumer("g", topics=["t"])
    with pytest.raises(BusError):
        await consumer.poll(10, 0)


def test_consumer_without_subscription_is_refused() -> None:
    with pytest.raises(BusError):
        MemoryBus().consumer("g")


async def test_pattern_subscription_excludes_dead_letter_topics() -> None:
    bus = MemoryBus(default_partitions=1)
    producer = bus.producer()
    await producer.publish("orders.events", b"a", key=b"k")
    await producer.publish("orders.events.dlq", b"dead", key=b"k")
    await producer.publish("trades.executed", b"t", key=b"k")
    consumer = bus.consumer("g", pattern=r"^orders\..*")
    await consumer.start()
    got = await consumer.poll(10, 0)
    assert [m.value for m in got] == [b"a"]


async def test_uncommitted_records_are_redelivered_to_next_member() -> None:
    bus = MemoryBus(default_partitions=2)
    producer = bus.producer()
    for i in range(6):
        await producer.publish("t", bytes([i]), key=str(i).encode())
    first = bus.consumer("g", topics=["t"])
    await first.start()
    batch = await first.poll(3, 0)
    await first.commit({m.tp: m.offset + 1 for m in batch[:1]})
    await first.close()
    second = bus.consumer("g", topics=["t"])
    await second.start()
    redelivered = await second.poll(100, 0)
    assert len(redelivered) == 5
    assert batch[0] not in redelivered


async def test_two_members_split_partitions_and_take_over_on_leave() -> None:
    bus = MemoryBus(default_partitions=4)
    await bus.create_topics(["t"])
    a = bus.consumer("g", topics=["t"])
    b = bus.consumer("g", topics=["t"])
    await a.start()
    await b.start()
    await a.poll(1, 0)
    await b.poll(1, 0)
    assert a.assignment() | b.assignment() == {TopicPartition("t", p) for p in range(4)}
    assert not a.assignment() & b.assignment()
    assert len(a.assignment()) == len(b.assignment()) == 2
    await b.close()
    await a.poll(1, 0)
    assert a.assignment() == {TopicPartition("t", p) for p in range(4)}


async def test_commit_of_partition_lost_in_rebalance_is_refused() -> None:
    bus = MemoryBus(default_partitions=2)
    await bus.create_topics(["t"])
    a = bus.consumer("g", topics=["t"])
    await a.start()
    await a.poll(1, 0)
    b = bus.consumer("g", topics=["t"])
    await b.start()
    lost = next(iter(bus._assignment_for(b)))
    with pytest.raises(BusError):
        await a.commit({lost: 1})


async def test_seek_rewinds_owned_partition() -> None:
    bus = MemoryBus(default_partitions=1)
    producer = bus.producer()
    await producer.publish("t", b"x", key=b"k")
    consumer = bus.consumer("g", topics=["t"])
    await consumer.start()
    first = await consumer.poll(10, 0)
    await consumer.seek({first[0].tp: 0})
    assert await consumer.poll(10, 0) == first


async def test_lag_counts_unread_records() -> None:
    bus = MemoryBus(default_partitions=1)
    producer = bus.producer()
    for _ in range(5):
        await producer.publish("t", b"x", key=b"k")
    consumer = bus.consumer("g", topics=["t"])
    await consumer.start()
    await consumer.poll(2, 0)
    assert await consumer.lag() == 3


async def test_closed_producer_refuses_publish() -> None:
    producer = MemoryBus().producer()
    await producer.close()
    with pytest.raises(BusError):
        await producer.publish("t", b"x")


async def test_committed_offsets_never_go_backwards() -> None:
    bus = MemoryBus(default_partitions=1)
    await bus.create_topics(["t"])
    consumer = bus.consumer("g", topics=["t"])
    await consumer.start()
    await consumer.poll(1, 0)
    tp = TopicPartition("t", 0)
    await consumer.commit({tp: 5})
    await consumer.commit({tp: 3})
    assert bus.committed("g")[tp] == 5


async def test_members_with_different_subscriptions_leave_no_partition_unowned() -> None:
    bus = MemoryBus(default_partitions=3)
    await bus.create_topics(["a", "b"])
    only_a = bus.consumer("g", topics=["a"])
    both = bus.consumer("g", topics=["a", "b"])
    await only_a.start()
    await both.start()
    await only_a.poll(1, 0)
    await both.poll(1, 0)
    every = {TopicPartition(t, p) for t in ("a", "b") for p in range(3)}
    assert only_a.assignment() | both.assignment() == every
    assert not only_a.assignment() & both.assignment()
    assert all(tp.topic == "a" for tp in only_a.assignment())


async def test_lags_are_reported_per_owned_partition() -> None:
    bus = MemoryBus(default_partitions=2)
    producer = bus.producer()
    for key in (b"k1", b"k1", b"k2"):
        await producer.publish("t", b"x", key=key)
    consumer = bus.consumer("g", topics=["t"])
    await consumer.start()
    await consumer.poll(0, 0)
    lags = await consumer.lags()
    assert sum(lags.values()) == 3 == await consumer.lag()
    assert set(lags) == {TopicPartition("t", 0), TopicPartition("t", 1)}
