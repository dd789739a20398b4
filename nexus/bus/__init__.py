"""Event bus: one protocol, two implementations (Kafka via aiokafka, in-memory), one runner,
and an ordered batching publisher."""

from __future__ import annotations

from nexus.bus.base import (
    DEFAULT_PARTITIONS,
    Bus,
    BusError,
    Consumer,
    Message,
    OutgoingMessage,
    Producer,
    Publisher,
    TopicPartition,
    partition_for,
)
from nexus.bus.kafka import KafkaBus
from nexus.bus.memory import MemoryBus
from nexus.bus.ordered import OrderedPublisher, PublisherUnavailable
from nexus.bus.runner import (
    ConsumerRunner,
    Delivery,
    FatalConsumerError,
    Rejection,
    RunnerStats,
    UndecodableRecord,
    decode_by_topic,
    is_transient,
)
from nexus.events import partition_key


def bus_from_bootstrap(bootstrap: str | None) -> Bus:
    """A :class:`KafkaBus` for a bootstrap address, or a :class:`MemoryBus` when None."""
    return KafkaBus(bootstrap) if bootstrap else MemoryBus()


__all__ = [
    "DEFAULT_PARTITIONS",
    "Bus",
    "BusError",
    "Consumer",
    "ConsumerRunner",
    "Delivery",
    "FatalConsumerError",
    "KafkaBus",
    "MemoryBus",
    "Message",
    "OrderedPublisher",
    "OutgoingMessage",
    "Producer",
    "Publisher",
    "PublisherUnavailable",
    "Rejection",
    "RunnerStats",
    "TopicPartition",
    "UndecodableRecord",
    "bus_from_bootstrap",
    "decode_by_topic",
    "is_transient",
    "partition_for",
    "partition_key",
]
