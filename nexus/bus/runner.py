"""The consumer loop every service uses: decode, handle, dead-letter, commit.

Guarantees:

* an offset is committed only after the handler returned (its effect is durable) and the
  dead letters of that batch were acknowledged by the broker;
* a message that cannot be decoded or validated goes to ``<topic>.dlq`` with the reason, and
  the batch goes on; the handler may also reject single messages (domain validation);
* a handler failure is retried with backoff, never skipped; on stop the uncommitted batch is
  left for redelivery (so handlers must be idempotent: every effect has a deterministic id);
* ``request_stop`` (wired to SIGTERM/SIGINT) lets the current batch finish and commit, then
  closes the consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from nexus.bus.base import (
    Bus,
    BusError,
    Consumer,
    Message,
    OutgoingMessage,
    Producer,
    TopicPartition,
)
from nexus.errors import ValidationError
from nexus.events import DEAD_LETTER_CODEC, DeadLetter, codec_for_topic, dlq_topic

log = logging.getLogger(__name__)

E = TypeVar("E")


class Delivery(NamedTuple, Generic[E]):
    """A decoded event and the record it came from."""

    message: Message
    event: E


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record the handler refused, and why (it goes to the dead-letter topic)."""

    message: Message
    reason: str
    error_type: str = "Rejected"


Handler = Callable[[list[Delivery[Any]]], Awaitable[Sequence[Rejection] | None]]
Decoder = Callable[[str, bytes], Any]


def decode_by_topic(topic: str, value: bytes) -> Any:
    """Decode with the schema registered for ``topic`` (see :mod:`nexus.events`)."""
    return codec_for_topic(topic).decode(value)


@dataclass(slots=True)
class RunnerStats:
    """Counters for metrics and tests."""

    batches: int = 0
    processed: int = 0
    dead_lettered: int = 0
    handler_failures: int = 0
    last_commit_monotonic: float = 0.0
    lag: int = 0
    lags: dict[TopicPartition, int] = field(default_factory=dict)
    committed: dict[TopicPartition, int] = field(default_factory=dict)


class ConsumerRunner:
    """Runs one group member: poll, decode, handle, dead-letter, commit, until stopped."""

    def __init__(
        self,
        bus: Bus,
        group_id: str,
        handler: Handler,
        *,
        topics: Sequence[str] = (),
        pattern: str | None = None,
        decoder: Decoder = decode_by_topic,
        max_batch: int = 1_000,
        poll_timeout_s: float = 0.2,
        retry_base_s: float = 0.05,
        retry_max_s: float = 5.0,
    ) -> None:
        self._bus = bus
        self.group_id = group_id
        self._handler = handler
        self._topics = tuple(topics)
        self._pattern = pattern
        self._decoder = decoder
        self._max_batch = max_batch
        self._poll_timeout_s = poll_timeout_s
        self._retry_base_s = retry_base_s
        self._retry_max_s = retry_max_s
        self._stop = asyncio.Event()
        self._consumer: Consumer | None = None
        self.stats = RunnerStats()
        self.started = asyncio.Event()

    def request_stop(self) -> None:
        """Finish the current batch, commit it, then close."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Whether a stop was requested."""
        return self._stop.is_set()

    def install_signal_handlers(self) -> None:
        """Stop gracefully on SIGTERM and SIGINT."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)

    def assignment(self) -> frozenset[TopicPartition]:
        """Partitions this member owns now."""
        return self._consumer.assignment() if self._consumer else frozenset()

    async def run(self) -> None:
        """Consume until :meth:`request_stop`."""
        consumer = self._bus.consumer(self.group_id, topics=self._topics, pattern=self._pattern)
        producer = self._bus.producer()
        self._consumer = consumer
        await consumer.start()
        self.started.set()
        try:
            while not self._stop.is_set():
                messages = await consumer.poll(self._max_batch, self._poll_timeout_s)
                if messages:
                    await self._process(consumer, producer, messages)
                self.stats.lags = await consumer.lags()
                self.stats.lag = sum(self.stats.lags.values())
        finally:
            await consumer.close()
            await producer.close()
            self._consumer = None

    async def _process(
        self, consumer: Consumer, producer: Producer, messages: list[Message]
    ) -> None:
        deliveries: list[Delivery[Any]] = []
        dead: list[Rejection] = []
        for message in messages:
            try:
                deliveries.append(Delivery(message, self._decoder(message.topic, message.value)))
            except ValidationError as exc:
                dead.append(Rejection(message, str(exc), type(exc).__name__))
        if deliveries:
            rejected = await self._handle_with_retry(deliveries)
            if rejected is None:
                return  # stopping while the handler still fails: leave it uncommitted
            dead.extend(rejected)
        if dead:
            await producer.publish_batch([self._dead_letter(r) for r in dead])
        ends: dict[tuple[str, int], int] = {}
        for message in messages:  # records of a partition arrive in offset order
            ends[(message.topic, message.partition)] = message.offset + 1
        offsets = {TopicPartition(topic, part): end for (topic, part), end in ends.items()}
        try:
            await consumer.commit(offsets)
        except BusError:
            # The group rebalanced and these partitions moved: their new owner resumes at the
            # last committed offset and applies the batch again (idempotently).
            log.warning("commit refused after a rebalance", extra={"group": self.group_id})
            return
        self.stats.batches += 1
        self.stats.processed += len(deliveries)
        self.stats.dead_lettered += len(dead)
        self.stats.committed.update(offsets)
        self.stats.last_commit_monotonic = time.monotonic()

    async def _handle_with_retry(
        self, deliveries: list[Delivery[Any]]
    ) -> Sequence[Rejection] | None:
        attempt = 0
        while True:
            try:
                return (await self._handler(deliveries)) or ()
            except asyncio.CancelledError:
                raise
            except Exception:
                attempt += 1
                self.stats.handler_failures += 1
                log.exception(
                    "handler failed; batch not committed, retrying",
                    extra={"group": self.group_id, "attempt": attempt},
                )
                if self._stop.is_set():
                    return None
                delay = min(self._retry_max_s, self._retry_base_s * 2 ** min(attempt, 16))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stop.wait(), timeout=delay * random.uniform(0.5, 1.0)
                    )

    def _dead_letter(self, rejection: Rejection) -> OutgoingMessage:
        message = rejection.message
        record = DeadLetter(
            source_topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            key=message.key,
            payload=message.value,
            reason=rejection.reason[:512],
            error_type=rejection.error_type,
            consumer_group=self.group_id,
            ts_dead_lettered=time.time_ns(),
        )
        return OutgoingMessage(
            dlq_topic(message.topic), DEAD_LETTER_CODEC.encode(record), message.key
        )
