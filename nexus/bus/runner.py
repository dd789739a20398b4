"""The consumer loop every service uses: decode, handle, dead-letter, commit, supervised.

Guarantees:

* an offset is committed only after the handler returned (its effect is durable) and the
  dead letters of that batch were acknowledged by the broker (their publication is retried
  with backoff, never skipped);
* a message that cannot be decoded or validated goes to ``<topic>.dlq`` with the reason, and
  the batch goes on; the handler may also reject single messages (domain validation);
* a handler failure is retried with backoff. A *transient* failure (a connection, a timeout,
  the broker: :func:`is_transient`) is retried for as long as it lasts, so an outage never
  loses a message. A failure that repeats ``max_attempts`` times for another reason is taken
  for a poison message: the batch is bisected, the halves handled in order, until the single
  failing message is found; it is dead-lettered with the error as its reason (logged at
  ERROR and counted: ``stats.poisoned``) and the partition goes on;
* on stop the uncommitted batch is left for redelivery (so handlers must be idempotent: every
  effect has a deterministic id);
* :meth:`ConsumerRunner.run_supervised` restarts the loop after any crash (a poll error, a
  consumer that stays unable to read its end offsets) with jittered exponential backoff,
  logging and counting each restart (``stats.restarts``); a :class:`FatalConsumerError`
  (an undecodable record on a runner that must not skip any) ends it for good;
* lag is measured against end offsets fetched from the broker; a partition whose end is
  unknown makes the runner "not caught up" (:meth:`ConsumerRunner.caught_up`);
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

import asyncpg

from nexus.bus.base import (
    Bus,
    BusError,
    Consumer,
    Message,
    OutgoingMessage,
    Producer,
    TopicPartition,
)
from nexus.errors import NexusError, ValidationError
from nexus.events import DEAD_LETTER_CODEC, DeadLetter, codec_for_topic, dlq_topic

log = logging.getLogger(__name__)

E = TypeVar("E")

#: Failures of the same batch (other than transient ones) before it is bisected.
MAX_ATTEMPTS = 3
#: Seconds a consumer may go without knowing its partitions' end offsets before it is restarted.
STALL_RESTART_S = 15.0
#: Backoff of supervised restarts.
RESTART_BASE_S = 0.2
RESTART_MAX_S = 10.0

#: Failures that say nothing about the message: retried for as long as they last.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,  # connections, timeouts (ConnectionError, TimeoutError are OSErrors)
    BusError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is an outage (retry forever) rather than a verdict on the message."""
    return isinstance(exc, TRANSIENT_ERRORS)


class FatalConsumerError(NexusError):
    """The runner must not go on (supervision does not restart it)."""


class UndecodableRecord(FatalConsumerError, ValueError):
    """A record that cannot be decoded on a runner that may skip none (``strict_decode``)."""


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
    poisoned: int = 0
    handler_failures: int = 0
    restarts: int = 0
    last_error: str | None = None
    last_commit_monotonic: float = 0.0
    lag: int = 0
    lags: dict[TopicPartition, int] = field(default_factory=dict)
    lags_known: bool = False
    lags_at_monotonic: float = 0.0
    committed: dict[TopicPartition, int] = field(default_factory=dict)


class _Stopped(Exception):
    """Internal: a stop was requested while a batch was still failing."""


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
        max_attempts: int = MAX_ATTEMPTS,
        transient: Callable[[BaseException], bool] = is_transient,
        strict_decode: bool = False,
        lag_interval_s: float = 1.0,
        stall_restart_s: float = STALL_RESTART_S,
        fetch_max_wait_ms: int | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
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
        self._max_attempts = max_attempts
        self._transient = transient
        self._strict_decode = strict_decode
        self._lag_interval_s = lag_interval_s
        self._stall_restart_s = stall_restart_s
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._stop = asyncio.Event()
        self._consumer: Consumer | None = None
        self.stats = RunnerStats()
        self.started = asyncio.Event()
        self.running = False
        self.failed: BaseException | None = None

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

    def caught_up(self, max_age_s: float | None = None) -> bool:
        """Running, owning partitions, and at the end of each at the last lag measurement.

        The end offsets were fetched from the broker (an unknown end is not caught up); with
        ``max_age_s`` the measurement must also be that recent.
        """
        stats = self.stats
        if not (self.running and stats.lags_known and stats.lags and stats.lag == 0):
            return False
        return max_age_s is None or time.monotonic() - stats.lags_at_monotonic <= max_age_s

    async def run_supervised(self) -> None:
        """:meth:`run`, restarted with backoff after every crash, until stopped or fatal."""
        failures = 0
        while not self._stop.is_set():
            started_at = time.monotonic()
            try:
                await self.run()
                return
            except asyncio.CancelledError:
                raise
            except FatalConsumerError as exc:
                self.failed = exc
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.critical(
                    "consumer stopped for good",
                    extra={"group": self.group_id, "error": self.stats.last_error},
                )
                raise
            except Exception as exc:
                # A run that lasted a while before failing starts the backoff over.
                failures = 1 if time.monotonic() - started_at > 4 * RESTART_MAX_S else failures + 1
                self.stats.restarts += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                delay = min(RESTART_MAX_S, RESTART_BASE_S * 2 ** min(failures - 1, 16))
                log.exception(
                    "consumer crashed; restarting",
                    extra={
                        "group": self.group_id,
                        "restarts": self.stats.restarts,
                        "delay_s": round(delay, 3),
                    },
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stop.wait(), timeout=delay * random.uniform(0.5, 1.0)
                    )

    async def run(self) -> None:
        """Consume until :meth:`request_stop` (one consumer; a crash propagates)."""
        consumer = self._bus.consumer(
            self.group_id,
            topics=self._topics,
            pattern=self._pattern,
            max_wait_ms=self._fetch_max_wait_ms,
        )
        producer = self._bus.producer()
        self._consumer = consumer
        self.stats.lags_known = False
        self.running = True  # alive from here; caught_up() waits for a lag measurement too
        try:
            await consumer.start()
            self.started.set()
            known_at = time.monotonic()
            next_lag = 0.0
            while not self._stop.is_set():
                messages = await consumer.poll(self._max_batch, self._poll_timeout_s)
                if messages:
                    await self._process(consumer, producer, messages)
                now = time.monotonic()
                # after every batch too: a handler that orders events across partitions (the
                # surveillance watermark) reads which partitions still have records waiting
                if messages or now >= next_lag or self.stats.lag:
                    next_lag = now + self._lag_interval_s
                    if await self._measure_lag(consumer):
                        known_at = time.monotonic()
                    elif time.monotonic() - known_at > self._stall_restart_s:
                        raise BusError(
                            f"end offsets unknown for {self._stall_restart_s:.0f}s: consumer stalled"
                        )
        except _Stopped:
            pass
        finally:
            self.running = False
            self.stats.lags_known = False
            self._consumer = None
            with contextlib.suppress(Exception):
                await consumer.close()
            with contextlib.suppress(Exception):
                await producer.close()

    async def _measure_lag(self, consumer: Consumer) -> bool:
        try:
            lags = await consumer.lags()
        except BusError as exc:
            if self.stats.lags_known:
                log.warning(
                    "consumer lag unknown", extra={"group": self.group_id, "error": str(exc)}
                )
            self.stats.lags_known = False
            return False
        self.stats.lags = lags
        self.stats.lag = sum(lags.values())
        self.stats.lags_known = True
        self.stats.lags_at_monotonic = time.monotonic()
        return True

    async def _process(
        self, consumer: Consumer, producer: Producer, messages: list[Message]
    ) -> None:
        deliveries: list[Delivery[Any]] = []
        dead: list[Rejection] = []
        for message in messages:
            try:
                deliveries.append(Delivery(message, self._decoder(message.topic, message.value)))
            except ValidationError as exc:
                if self._strict_decode:
                    raise UndecodableRecord(
                        f"undecodable record at {message.topic}[{message.partition}]@"
                        f"{message.offset}: {exc}"
                    ) from exc
                dead.append(Rejection(message, str(exc), type(exc).__name__))
        if deliveries:
            dead.extend(await self._handle_isolating_poison(deliveries))
        if dead:
            await self._publish_with_retry(producer, [self._dead_letter(r) for r in dead])
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
        # The records just applied are no longer behind: without this, the lag measured before
        # they were read would call the runner "not caught up" until the next measurement.
        counts: dict[TopicPartition, int] = {}
        for message in messages:
            counts[message.tp] = counts.get(message.tp, 0) + 1
        for tp, count in counts.items():
            if tp in self.stats.lags:
                self.stats.lags[tp] = max(0, self.stats.lags[tp] - count)
        self.stats.lag = sum(self.stats.lags.values())
        self.stats.batches += 1
        self.stats.processed += len(deliveries)
        self.stats.dead_lettered += len(dead)
        self.stats.committed.update(offsets)
        self.stats.last_commit_monotonic = time.monotonic()

    async def _handle_isolating_poison(self, deliveries: list[Delivery[Any]]) -> list[Rejection]:
        """Handle; a batch failing ``max_attempts`` times is bisected down to its poison."""
        outcome = await self._handle_with_retry(deliveries)
        if not isinstance(outcome, BaseException):
            return list(outcome)
        if len(deliveries) == 1:
            message = deliveries[0].message
            self.stats.poisoned += 1
            reason = (
                f"handler failed {self._max_attempts} times: {type(outcome).__name__}: {outcome}"
            )
            log.error(
                "poison message dead-lettered",
                extra={
                    "alert": "poison_message",
                    "group": self.group_id,
                    "topic": message.topic,
                    "partition": message.partition,
                    "offset": message.offset,
                    "reason": reason,
                },
            )
            return [Rejection(message, reason, type(outcome).__name__)]
        middle = len(deliveries) // 2
        left = await self._handle_isolating_poison(deliveries[:middle])
        return left + await self._handle_isolating_poison(deliveries[middle:])

    async def _handle_with_retry(
        self, deliveries: list[Delivery[Any]]
    ) -> Sequence[Rejection] | BaseException:
        """The handler's rejections, or the error after ``max_attempts`` non-transient failures."""
        attempt = 0
        verdicts = 0
        while True:
            try:
                return (await self._handler(deliveries)) or ()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                self.stats.handler_failures += 1
                transient = self._transient(exc)
                verdicts = 0 if transient else verdicts + 1
                log.warning(
                    "handler failed; batch not committed, retrying",
                    exc_info=True,
                    extra={
                        "group": self.group_id,
                        "attempt": attempt,
                        "records": len(deliveries),
                        "transient": transient,
                    },
                )
                if verdicts >= self._max_attempts:
                    return exc
                await self._backoff(attempt)

    async def _publish_with_retry(self, producer: Producer, records: list[OutgoingMessage]) -> None:
        attempt = 0
        while True:
            try:
                await producer.publish_batch(records)
                return
            except BusError:
                attempt += 1
                log.warning(
                    "dead letters not acknowledged; batch not committed, retrying",
                    exc_info=True,
                    extra={"group": self.group_id, "attempt": attempt},
                )
                await self._backoff(attempt)

    async def _backoff(self, attempt: int) -> None:
        """Sleep before retry ``attempt``; raise :class:`_Stopped` when a stop is requested."""
        if self._stop.is_set():
            raise _Stopped
        delay = min(self._retry_max_s, self._retry_base_s * 2 ** min(attempt - 1, 16))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=delay * random.uniform(0.5, 1.0))
        if self._stop.is_set():
            raise _Stopped

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
