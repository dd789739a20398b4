"""The event-bus contract shared by :class:`KafkaBus` and :class:`MemoryBus`.

Semantics (both implementations):

* A topic has a fixed number of partitions; a message goes to ``partition_for(key)``, so all
  events of one symbol stay in one partition, in order.
* Consumers join a *group*; the group's partitions are split between its live members and
  rebalanced when one joins or leaves. Offsets are committed explicitly, after the effect is
  durable; a partition handed to another member resumes at the last committed offset, so
  uncommitted messages are delivered again (at least once).
* Subscription is by topic names or by a regular expression (``^orders\\..*``), matched against
  the topics that exist, now and later.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from nexus.errors import NexusError

DEFAULT_PARTITIONS = 6


class BusError(NexusError):
    """The bus failed to deliver or receive."""


@dataclass(frozen=True, slots=True)
class TopicPartition:
    """One partition of one topic."""

    topic: str
    partition: int


class Message(NamedTuple):
    """A record as consumed: where it came from, and its bytes (a tuple: cheap to create)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int = 0
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def tp(self) -> TopicPartition:
        """Its topic-partition."""
        return TopicPartition(self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A record to publish."""

    topic: str
    value: bytes
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = field(default=())


def partition_for(key: bytes | None, partitions: int, fallback: int = 0) -> int:
    """Deterministic partition of a key (CRC-32); keyless records use ``fallback``."""
    if key is None:
        return fallback % partitions
    return zlib.crc32(key) % partitions


def exclude_dead_letters(pattern: str) -> re.Pattern[str]:
    """Compile a subscription pattern that never matches ``*.dlq`` topics.

    ``^orders\\..*`` would otherwise also match ``orders.events.dlq`` and a consumer would
    read its own dead letters.
    """
    return re.compile(r"(?!.*\.dlq$)(?:" + pattern + ")")


class Publisher(Protocol):
    """Publishes a batch and returns once the broker acknowledged it (the service runtime)."""

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None: ...


class Producer(Protocol):
    """Publishes records; ``publish*`` return once the broker acknowledged (acks=all)."""

    async def publish(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None: ...

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> None: ...

    async def close(self) -> None: ...


class Consumer(Protocol):
    """A member of a consumer group."""

    async def start(self) -> None: ...

    async def poll(self, max_records: int, timeout_s: float) -> list[Message]: ...

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit ``next offset to read`` per partition."""
        ...

    async def seek(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Rewind so the next poll starts at these offsets (retry of a failed batch)."""
        ...

    def assignment(self) -> frozenset[TopicPartition]: ...

    async def lag(self) -> int:
        """Messages behind the end of the assigned partitions (for metrics)."""
        ...

    async def lags(self) -> dict[TopicPartition, int]:
        """Messages behind the end of each assigned partition, against end offsets asked of
        the broker now; raises :class:`BusError` when an end offset cannot be had (an unknown
        end is never reported as zero lag)."""
        ...

    async def close(self) -> None: ...


class Bus(Protocol):
    """Creates producers, consumers and topics."""

    async def create_topics(
        self, topics: Sequence[str], partitions: int = DEFAULT_PARTITIONS
    ) -> None:
        """Create topics that do not exist yet (existing ones are left alone)."""
        ...

    def producer(self) -> Producer: ...

    def consumer(
        self,
        group_id: str,
        *,
        topics: Sequence[str] = (),
        pattern: str | None = None,
        max_wait_ms: int | None = None,
    ) -> Consumer:
        """A new member of ``group_id``; ``max_wait_ms`` bounds the wait of an empty fetch."""
        ...

    async def close(self) -> None: ...
