"""The bus on a real Kafka-protocol broker through aiokafka.

Producers wait for ``acks=all`` without idempotence (tansu, the embedded broker, rejects
idempotent producers; consumers are idempotent instead). Records are keyed by symbol so the
default partitioner keeps a symbol in one partition. Consumers never auto-commit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka import TopicPartition as KafkaTP
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from nexus.bus.base import (
    DEFAULT_PARTITIONS,
    BusError,
    Message,
    OutgoingMessage,
    TopicPartition,
    exclude_dead_letters,
)

#: Producer tuning: small linger so a burst goes out in one request, large batches.
PRODUCER_LINGER_MS = 2
PRODUCER_MAX_BATCH_BYTES = 1 << 20
#: Consumer tuning: a failed member is detected within a few seconds.
SESSION_TIMEOUT_MS = 6_000
HEARTBEAT_INTERVAL_MS = 1_000
#: How often a pattern subscription looks for new topics.
METADATA_MAX_AGE_MS = 2_000
#: How long the broker may hold an empty fetch (aiokafka's default).
FETCH_MAX_WAIT_MS = 500
#: How long a lag measurement may wait for the broker's end offsets.
LAG_TIMEOUT_S = 2.0


class KafkaBus:
    """A :class:`~nexus.bus.base.Bus` on a Kafka-protocol broker."""

    def __init__(self, bootstrap_servers: str, client_id: str = "nexus") -> None:
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id

    async def create_topics(
        self, topics: Sequence[str], partitions: int = DEFAULT_PARTITIONS
    ) -> None:
        """Create topics that do not exist yet; existing topics are left as they are."""
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.bootstrap_servers, client_id=self.client_id
        )
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [t for t in topics if t not in existing]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):  # another process was first
                    await admin.create_topics(
                        [
                            NewTopic(t, num_partitions=partitions, replication_factor=1)
                            for t in missing
                        ]
                    )
        finally:
            await admin.close()

    def producer(self) -> KafkaProducer:
        """A producer (started on first use)."""
        return KafkaProducer(self.bootstrap_servers, self.client_id)

    def consumer(
        self,
        group_id: str,
        *,
        topics: Sequence[str] = (),
        pattern: str | None = None,
        max_wait_ms: int | None = None,
    ) -> KafkaConsumer:
        """A new (not yet started) member of ``group_id``.

        ``max_wait_ms`` bounds how long the broker may hold a fetch that found nothing: the
        delay before a record published to an idle partition is seen (default 500 ms; the
        halts consumer asks for a few milliseconds).
        """
        if not topics and pattern is None:
            raise BusError("subscribe to topics or a pattern")
        return KafkaConsumer(
            self.bootstrap_servers, group_id, tuple(topics), pattern, max_wait_ms=max_wait_ms
        )

    async def close(self) -> None:
        """Nothing shared to release."""


class KafkaProducer:
    """aiokafka producer behind the bus protocol."""

    def __init__(self, bootstrap_servers: str, client_id: str) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _ensure_started(self) -> AIOKafkaProducer:
        # Created on first use: an aiokafka producer that is never started warns when collected.
        if self._producer is None:
            async with self._lock:
                if self._producer is None:
                    producer = AIOKafkaProducer(
                        bootstrap_servers=self._bootstrap_servers,
                        client_id=self._client_id,
                        acks="all",
                        enable_idempotence=False,
                        linger_ms=PRODUCER_LINGER_MS,
                        max_batch_size=PRODUCER_MAX_BATCH_BYTES,
                        request_timeout_ms=30_000,
                    )
                    try:
                        await producer.start()
                    except KafkaError as exc:
                        await producer.stop()
                        raise BusError(
                            f"cannot reach the broker at {self._bootstrap_servers}: {exc!r}"
                        ) from exc
                    self._producer = producer
        return self._producer

    async def publish(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Publish one record and wait for the broker's acknowledgement."""
        await self.publish_batch([OutgoingMessage(topic, value, key, tuple(headers))])

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        """Publish records (order kept per partition) and wait until all are acknowledged."""
        producer = await self._ensure_started()
        try:
            futures = [
                await producer.send(m.topic, m.value, key=m.key, headers=list(m.headers))
                for m in messages
            ]
            await asyncio.gather(*futures)
        except KafkaError as exc:
            raise BusError(f"publish failed: {exc!r}") from exc

    async def close(self) -> None:
        """Flush and stop."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


class KafkaConsumer:
    """aiokafka group consumer behind the bus protocol."""

    def __init__(
        self,
        bootstrap_servers: str,
        group_id: str,
        topics: tuple[str, ...],
        pattern: str | None,
        *,
        max_wait_ms: int | None = None,
    ) -> None:
        self.group_id = group_id
        self._topics = topics
        self._pattern = pattern
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
            metadata_max_age_ms=METADATA_MAX_AGE_MS,
            max_poll_records=5_000,
            fetch_max_bytes=16 << 20,
            max_partition_fetch_bytes=4 << 20,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS if max_wait_ms is None else max_wait_ms,
            # Range, not round-robin: partition p of every subscribed topic goes to the same
            # member, so co-partitioned topics (orders.* and trades.*, keyed by symbol) meet
            # in one consumer (round-robin split a symbol's orders from its trades).
            partition_assignment_strategy=(RangePartitionAssignor,),
        )

    async def start(self) -> None:
        """Connect and join the group."""
        if self._pattern is not None:
            self._consumer.subscribe(pattern=exclude_dead_letters(self._pattern).pattern)
        else:
            self._consumer.subscribe(topics=list(self._topics))
        await self._consumer.start()

    async def poll(self, max_records: int, timeout_s: float) -> list[Message]:
        """Up to ``max_records`` records, waiting up to ``timeout_s``."""
        batches = await self._consumer.getmany(
            timeout_ms=int(timeout_s * 1000), max_records=max_records
        )
        out: list[Message] = []
        for tp, records in batches.items():
            for r in records:
                out.append(
                    Message(
                        topic=tp.topic,
                        partition=tp.partition,
                        offset=r.offset,
                        key=r.key,
                        value=r.value if r.value is not None else b"",
                        timestamp_ms=r.timestamp,
                        headers=tuple(r.headers),
                    )
                )
        return out

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit next-offset-to-read per partition."""
        if not offsets:
            return
        try:
            await self._consumer.commit(
                {KafkaTP(tp.topic, tp.partition): off for tp, off in offsets.items()}
            )
        except KafkaError as exc:
            raise BusError(f"commit failed: {exc!r}") from exc

    async def seek(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Rewind owned partitions to these offsets."""
        owned = self._consumer.assignment()
        for tp, off in offsets.items():
            ktp = KafkaTP(tp.topic, tp.partition)
            if ktp in owned:
                self._consumer.seek(ktp, off)

    def assignment(self) -> frozenset[TopicPartition]:
        """Partitions currently owned."""
        return frozenset(
            TopicPartition(tp.topic, tp.partition) for tp in self._consumer.assignment()
        )

    async def lag(self) -> int:
        """Records between our position and the high-water mark of owned partitions."""
        return sum((await self.lags()).values())

    async def lags(self) -> dict[TopicPartition, int]:
        """Records between our position and the end offset, per owned partition.

        The end offsets are fetched from the broker now, and the high-water mark of the last
        fetch (unknown for a partition nothing was read from yet) is taken if it is further:
        tansu answers "latest" with the last record batch's *base* offset + 1, so a consumer
        part-way through the last batch (a burst published in one request) would read no lag
        with records still waiting; the fetch's high-water mark covers that batch. Raises
        :class:`BusError` when the ends cannot be had within ``LAG_TIMEOUT_S`` (an unknown end
        is never "no lag").
        """
        assigned = list(self._consumer.assignment())
        if not assigned:
            return {}
        # The measurement runs in a task of its own, cancelled alone on timeout: a timeout
        # scope around aiokafka's calls could leave the caller's task with a stray cancel.
        measure = asyncio.ensure_future(self._measure(assigned))
        done, _ = await asyncio.wait({measure}, timeout=LAG_TIMEOUT_S)
        if not done:
            measure.cancel()
            raise BusError(f"end offsets not answered within {LAG_TIMEOUT_S}s")
        try:
            return measure.result()
        except (KafkaError, KeyError) as exc:
            raise BusError(f"end offsets unavailable: {exc!r}") from exc

    async def _measure(self, assigned: list[KafkaTP]) -> dict[TopicPartition, int]:
        ends = await self._consumer.end_offsets(assigned)
        out: dict[TopicPartition, int] = {}
        for tp in assigned:
            position = await self._consumer.position(tp)  # raises once tp is revoked
            behind = max(ends[tp], self._consumer.highwater(tp) or 0) - position
            out[TopicPartition(tp.topic, tp.partition)] = max(0, behind)
        return out

    async def close(self) -> None:
        """Leave the group and disconnect."""
        try:
            await self._consumer.stop()
        except asyncio.CancelledError:
            # aiokafka's stop can re-raise the cancellation of its own fetch task (seen after
            # a broker outage); only a cancellation of *our* task may propagate.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            # stop() gave up before closing its connections; close them so none is leaked.
            await self._consumer._client.close()
