"""In-process bus with Kafka's semantics: partitions, groups, rebalancing, explicit commits.

Used for embedding the services in one process and for unit tests; integration tests run the
same code against :class:`nexus.bus.kafka.KafkaBus` and a real broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nexus.bus.base import (
    DEFAULT_PARTITIONS,
    BusError,
    Message,
    OutgoingMessage,
    TopicPartition,
    exclude_dead_letters,
    partition_for,
)


@dataclass(slots=True)
class _Group:
    members: list[MemoryConsumer] = field(default_factory=list)
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    generation: int = 0


class MemoryBus:
    """An in-memory :class:`~nexus.bus.base.Bus`."""

    def __init__(self, default_partitions: int = DEFAULT_PARTITIONS) -> None:
        self.default_partitions = default_partitions
        self._logs: dict[str, list[list[Message]]] = {}
        self._groups: dict[str, _Group] = {}
        self._new_data = asyncio.Event()
        self._topic_version = 0

    # -- topics --------------------------------------------------------------------------------
    async def create_topics(self, topics: Sequence[str], partitions: int | None = None) -> None:
        """Create topics that do not exist yet."""
        for topic in topics:
            self._ensure_topic(topic, partitions or self.default_partitions)

    def _ensure_topic(self, topic: str, partitions: int) -> list[list[Message]]:
        log = self._logs.get(topic)
        if log is None:
            if partitions < 1:
                raise BusError("a topic needs at least one partition")
            log = [[] for _ in range(partitions)]
            self._logs[topic] = log
            self._topic_version += 1
            for group in self._groups.values():
                group.generation += 1
        return log

    def topics(self) -> list[str]:
        """Names of existing topics."""
        return sorted(self._logs)

    def messages(self, topic: str) -> list[Message]:
        """Every record of ``topic`` (all partitions, by partition then offset), for tests."""
        return [m for part in self._logs.get(topic, []) for m in part]

    def committed(self, group_id: str) -> dict[TopicPartition, int]:
        """The group's committed offsets, for tests."""
        group = self._groups.get(group_id)
        return dict(group.committed) if group else {}

    # -- produce -------------------------------------------------------------------------------
    def _append(self, out: OutgoingMessage) -> None:
        log = self._ensure_topic(out.topic, self.default_partitions)
        index = partition_for(out.key, len(log))
        part = log[index]
        part.append(
            Message(
                topic=out.topic,
                partition=index,
                offset=len(part),
                key=out.key,
                value=out.value,
                timestamp_ms=int(time.time() * 1000),
                headers=tuple(out.headers),
            )
        )

    def _wake(self) -> None:
        self._new_data.set()
        self._new_data = asyncio.Event()

    def producer(self) -> MemoryProducer:
        """A producer on this bus."""
        return MemoryProducer(self)

    # -- consume -------------------------------------------------------------------------------
    def consumer(
        self,
        group_id: str,
        *,
        topics: Sequence[str] = (),
        pattern: str | None = None,
        max_wait_ms: int | None = None,
    ) -> MemoryConsumer:
        """A new (not yet started) member of ``group_id`` (``max_wait_ms``: no wait here)."""
        if not topics and pattern is None:
            raise BusError("subscribe to topics or a pattern")
        return MemoryConsumer(self, group_id, tuple(topics), pattern)

    def _join(self, consumer: MemoryConsumer) -> None:
        group = self._groups.setdefault(consumer.group_id, _Group())
        group.members.append(consumer)
        group.generation += 1

    def _leave(self, consumer: MemoryConsumer) -> None:
        group = self._groups.get(consumer.group_id)
        if group and consumer in group.members:
            group.members.remove(consumer)
            group.generation += 1

    def _assignment_for(self, consumer: MemoryConsumer) -> frozenset[TopicPartition]:
        """Round-robin split of each subscribed partition among the members subscribed to it."""
        members = self._groups[consumer.group_id].members
        subscribers: dict[str, list[MemoryConsumer]] = {}
        for member in members:
            for topic in member.matching_topics(self._logs):
                subscribers.setdefault(topic, []).append(member)
        mine: set[TopicPartition] = set()
        index = 0
        for topic in sorted(subscribers):
            eligible = subscribers[topic]
            for partition in range(len(self._logs[topic])):
                if eligible[index % len(eligible)] is consumer:
                    mine.add(TopicPartition(topic, partition))
                index += 1
        return frozenset(mine)

    async def close(self) -> None:
        """Nothing to release; present for the protocol."""


class MemoryProducer:
    """Appends to a :class:`MemoryBus`; acknowledged as soon as appended."""

    def __init__(self, bus: MemoryBus) -> None:
        self._bus = bus
        self._closed = False

    async def publish(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Append one record."""
        await self.publish_batch([OutgoingMessage(topic, value, key, tuple(headers))])

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        """Append records in order."""
        if self._closed:
            raise BusError("producer is closed")
        for message in messages:
            self._bus._append(message)
        self._bus._wake()

    async def close(self) -> None:
        """Refuse further publishing."""
        self._closed = True


class MemoryConsumer:
    """A group member on a :class:`MemoryBus`."""

    def __init__(
        self, bus: MemoryBus, group_id: str, topics: tuple[str, ...], pattern: str | None
    ) -> None:
        self._bus = bus
        self.group_id = group_id
        self._topics = topics
        self._pattern: re.Pattern[str] | None = (
            exclude_dead_letters(pattern) if pattern is not None else None
        )
        self._positions: dict[TopicPartition, int] = {}
        self._generation = -1
        self._started = False

    def matching_topics(self, logs: Mapping[str, object]) -> list[str]:
        """Existing topics this member subscribes to."""
        if self._pattern is not None:
            return [t for t in logs if self._pattern.match(t)]
        return [t for t in self._topics if t in logs]

    async def start(self) -> None:
        """Join the group."""
        if not self._started:
            self._started = True
            self._bus._join(self)

    def _rebalance_if_needed(self) -> None:
        group = self._bus._groups[self.group_id]
        if group.generation == self._generation:
            return
        assigned = self._bus._assignment_for(self)
        # Partitions we keep continue where we are; partitions handed to us resume at the
        # group's committed offset, so what their previous owner did not commit comes again.
        self._positions = {
            tp: self._positions[tp] if tp in self._positions else group.committed.get(tp, 0)
            for tp in assigned
        }
        self._generation = group.generation

    async def poll(self, max_records: int, timeout_s: float) -> list[Message]:
        """Up to ``max_records`` records from the assigned partitions, waiting up to timeout."""
        if not self._started:
            raise BusError("consumer not started")
        deadline = time.monotonic() + timeout_s
        while True:
            self._rebalance_if_needed()
            batch: list[Message] = []
            for tp in sorted(self._positions, key=lambda t: (t.topic, t.partition)):
                part = self._bus._logs[tp.topic][tp.partition]
                start = self._positions[tp]
                take = part[start : start + (max_records - len(batch))]
                if take:
                    batch.extend(take)
                    self._positions[tp] = start + len(take)
                if len(batch) >= max_records:
                    break
            if batch:
                return batch
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            waiter = self._bus._new_data
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), timeout=min(remaining, 0.05))

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit next-offset-to-read per partition (only for partitions we own)."""
        group = self._bus._groups[self.group_id]
        self._rebalance_if_needed()
        for tp, offset in offsets.items():
            if tp not in self._positions:
                raise BusError(f"cannot commit {tp}: not assigned to this member (rebalanced)")
            group.committed[tp] = max(offset, group.committed.get(tp, 0))

    async def seek(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Rewind positions of owned partitions."""
        for tp, offset in offsets.items():
            if tp in self._positions:
                self._positions[tp] = offset

    def assignment(self) -> frozenset[TopicPartition]:
        """Partitions currently owned."""
        return frozenset(self._positions)

    async def lag(self) -> int:
        """Records between our position and the end of the owned partitions."""
        return sum((await self.lags()).values())

    async def lags(self) -> dict[TopicPartition, int]:
        """Records between our position and the end of each owned partition."""
        return {
            tp: len(self._bus._logs[tp.topic][tp.partition]) - pos
            for tp, pos in self._positions.items()
        }

    async def close(self) -> None:
        """Leave the group (uncommitted records will be delivered to another member)."""
        if self._started:
            self._started = False
            self._bus._leave(self)
            self._positions = {}
