"""Durable outbox on PostgreSQL: calls that must not be lost are stored, then delivered.

A caller enqueues a request under a deterministic id (``INSERT ... ON CONFLICT DO NOTHING``,
so enqueuing twice is one entry), ideally in the same transaction as the change that caused
it. An :class:`OutboxDispatcher` claims due entries with ``FOR UPDATE SKIP LOCKED`` (several
dispatchers may run), leases them for ``lease_seconds`` (a crash mid-delivery makes them due
again), sends each through the target's :class:`ServiceClient` with ``Idempotency-Key: <id>``
and marks it ``delivered`` on a 2xx. Failures are rescheduled with jittered exponential
backoff; a 4xx other than 408/425/429 marks the entry ``rejected`` (retrying cannot help).
All state lives in the table, so a new process picks up where the old one stopped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from nexus.clients.errors import ClientError, ServiceCallError
from nexus.clients.http import NO_RETRY, ServiceClient
from nexus.web.codec import encode_json

log = logging.getLogger("nexus.clients.outbox")

OUTBOX_LOCK_KEY = 0x6F7574626F78  # "outbox"
RETRYABLE_CLIENT_STATUSES = frozenset({408, 425, 429})

OUTBOX_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS nexus_outbox (
    id               TEXT PRIMARY KEY,
    service          TEXT NOT NULL,
    method           TEXT NOT NULL,
    path             TEXT NOT NULL,
    body             BYTEA,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'rejected')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at     TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS nexus_outbox_due
    ON nexus_outbox (next_attempt_at) WHERE status = 'pending';
"""

_ENQUEUE = """
INSERT INTO nexus_outbox (id, service, method, path, body)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO NOTHING
"""

_CLAIM = """
UPDATE nexus_outbox
SET attempts = attempts + 1,
    next_attempt_at = now() + make_interval(secs => $2)
WHERE id IN (
    SELECT id FROM nexus_outbox
    WHERE status = 'pending' AND next_attempt_at <= now()
    ORDER BY next_attempt_at, created_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, service, method, path, body, attempts
"""

_DELIVERED = """
UPDATE nexus_outbox SET status = 'delivered', delivered_at = now(), last_error = NULL
WHERE id = $1
"""

_RESCHEDULE = """
UPDATE nexus_outbox SET next_attempt_at = now() + make_interval(secs => $2), last_error = $3
WHERE id = $1 AND status = 'pending'
"""

_REJECTED = "UPDATE nexus_outbox SET status = 'rejected', last_error = $2 WHERE id = $1"


def outbox_id(*parts: object) -> str:
    """A deterministic id of the request's identity (e.g. ``("halt", alert_id)``)."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A claimed entry."""

    id: str
    service: str
    method: str
    path: str
    body: bytes | None
    attempts: int


class Outbox:
    """Enqueue and inspect outbox entries in ``nexus_outbox``."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def ensure_schema(self) -> None:
        """Create the table if missing (serialised on an advisory lock)."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", OUTBOX_LOCK_KEY)
            await conn.execute(OUTBOX_SCHEMA_SQL)

    async def enqueue(
        self,
        entry_id: str,
        service: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        conn: asyncpg.Connection | None = None,
    ) -> bool:
        """Store a request; True if new, False if ``entry_id`` was already enqueued.

        ``body`` is JSON-encoded unless it is bytes. Pass ``conn`` to enqueue inside the
        caller's transaction.
        """
        payload = body if isinstance(body, bytes) or body is None else encode_json(body)
        target = conn if conn is not None else self.pool
        status: str = await target.execute(
            _ENQUEUE, entry_id, service, method.upper(), path, payload
        )
        return status.rsplit(" ", 1)[-1] != "0"

    async def status(self, entry_id: str) -> str | None:
        """``pending`` / ``delivered`` / ``rejected``, or None if unknown."""
        value: str | None = await self.pool.fetchval(
            "SELECT status FROM nexus_outbox WHERE id = $1", entry_id
        )
        return value

    async def pending_count(self) -> int:
        """Entries not yet delivered or rejected."""
        value: int = await self.pool.fetchval(
            "SELECT count(*) FROM nexus_outbox WHERE status = 'pending'"
        )
        return value


class OutboxDispatcher:
    """Delivers due outbox entries through the target services' clients until acknowledged."""

    def __init__(
        self,
        outbox: Outbox,
        clients: Mapping[str, ServiceClient],
        *,
        batch_size: int = 50,
        lease_seconds: float = 30.0,
        base_backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 60.0,
        uniform01: Callable[[], float] = random.random,
    ) -> None:
        self._outbox = outbox
        self._clients = clients
        self._batch_size = batch_size
        self._lease_seconds = lease_seconds
        self._base_backoff = base_backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._uniform01 = uniform01
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Deliver now instead of at the next poll (call after :meth:`Outbox.enqueue`)."""
        self._wake.set()

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` tries (jitter in [0.5, 1])."""
        cap = min(self._max_backoff, self._base_backoff * 2.0 ** max(attempts - 1, 0))
        return cap * (0.5 + 0.5 * self._uniform01())

    async def run_once(self) -> int:
        """Claim and try one batch of due entries; returns how many were delivered."""
        rows = await self._outbox.pool.fetch(_CLAIM, self._batch_size, self._lease_seconds)
        entries = [OutboxEntry(**dict(row)) for row in rows]
        results = await asyncio.gather(*(self._deliver(entry) for entry in entries))
        return sum(results)

    async def run(self, stop: asyncio.Event, *, poll_seconds: float = 1.0) -> None:
        """Deliver until ``stop`` is set, polling every ``poll_seconds`` (or on :meth:`wake`)."""
        while not stop.is_set():
            # cleared before the batch so a wake() during the batch triggers another one
            self._wake.clear()
            try:
                await self.run_once()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("outbox dispatch failed, will retry: %r", exc)
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            _, pending = await asyncio.wait(
                waiters, timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()

    async def _deliver(self, entry: OutboxEntry) -> bool:
        client = self._clients.get(entry.service)
        if client is None:
            await self._reschedule(entry, f"no client for service {entry.service!r}")
            return False
        headers = {"Content-Type": "application/json"} if entry.body is not None else {}
        try:
            await client.request(
                entry.method,
                entry.path,
                content=entry.body,
                headers=headers,
                idempotency_key=entry.id,
                retry=NO_RETRY,
            )
        except ClientError as exc:
            if exc.status in RETRYABLE_CLIENT_STATUSES:
                await self._reschedule(entry, str(exc))
                return False
            log.error("outbox entry %s rejected by %s: %s", entry.id, entry.service, exc)
            await self._outbox.pool.execute(_REJECTED, entry.id, str(exc))
            return False
        except ServiceCallError as exc:
            await self._reschedule(entry, str(exc))
            return False
        await self._outbox.pool.execute(_DELIVERED, entry.id)
        return True

    async def _reschedule(self, entry: OutboxEntry, error: str) -> None:
        delay = self.backoff(entry.attempts)
        log.info(
            "outbox entry %s attempt %d failed (%s); next in %.2fs",
            entry.id,
            entry.attempts,
            error,
            delay,
        )
        await self._outbox.pool.execute(_RESCHEDULE, entry.id, delay, error)
