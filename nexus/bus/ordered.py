"""An in-memory, ordered, batching publisher: many callers' records per broker round trip.

Not an outbox: nothing here is durable (a process that dies loses what it had queued; a
caller that must not lose a record stores it with :mod:`nexus.outbox`). What it gives a hot
path that answers only after the broker's acknowledgement is group commit: records are kept in
call order, published as one batch per round trip, and a failed batch is retried (with backoff)
before anything queued after it, so order is kept and nothing queued is dropped (a retry may
publish a record twice: consumers deduplicate by event id).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from nexus.bus.base import BusError, OutgoingMessage, Publisher
from nexus.errors import DependencyUnavailable

log = logging.getLogger(__name__)

#: Records waiting for publication above which :meth:`OrderedPublisher.check_accepting` refuses.
MAX_BACKLOG = 100_000
RETRY_BASE_S = 0.05
RETRY_MAX_S = 2.0


class PublisherUnavailable(BusError, DependencyUnavailable):
    """The broker is not acknowledging, or too many records await publication (503)."""


class OrderedPublisher:
    """Publishes records in call order, many calls per broker round trip.

    :meth:`enqueue` appends one caller's records and returns a future resolved when the broker
    acknowledged them. :meth:`run` (a background task) publishes everything pending as one
    batch, waits for the acks, and repeats.
    """

    def __init__(self, publisher: Publisher, *, max_backlog: int = MAX_BACKLOG) -> None:
        self._publisher = publisher
        self._max_backlog = max_backlog
        self._pending: list[OutgoingMessage] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._in_flight = 0
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.failing = False
        self.published = 0
        self.batches = 0

    @property
    def backlog(self) -> int:
        """Records queued or in flight."""
        return len(self._pending) + self._in_flight

    def check_accepting(self) -> None:
        """Raise :class:`PublisherUnavailable` while the broker is failing or far behind."""
        if self.failing:
            raise PublisherUnavailable("the event broker is not acknowledging; retry later")
        if self.backlog >= self._max_backlog:
            raise PublisherUnavailable("too many events awaiting publication; retry later")

    def enqueue(self, messages: Iterable[OutgoingMessage]) -> asyncio.Future[None]:
        """Queue records (kept in call order); the future resolves once they are acknowledged."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.extend(messages)
        self._waiters.append(waiter)
        self._idle.clear()
        self._wake.set()
        return waiter

    async def run(self) -> None:
        """Publish until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending or self._waiters:
                batch, waiters = self._pending, self._waiters
                self._pending, self._waiters = [], []
                self._in_flight = len(batch)
                await self._publish_with_retry(batch)
                self._in_flight = 0
                self.published += len(batch)
                self.batches += 1
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
            self._idle.set()

    async def drain(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything queued is acknowledged (at shutdown); False on timeout."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def _publish_with_retry(self, batch: list[OutgoingMessage]) -> None:
        attempt = 0
        while True:
            try:
                if batch:
                    await self._publisher.publish(batch)
                self.failing = False
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                attempt += 1
                self.failing = True
                log.exception(
                    "publishing failed; retrying in order",
                    extra={"records": len(batch), "attempt": attempt},
                )
                await asyncio.sleep(min(RETRY_MAX_S, RETRY_BASE_S * 2 ** min(attempt, 10)))
