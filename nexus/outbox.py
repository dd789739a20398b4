"""The durable outbox: effects that must not be lost are stored with their cause, then delivered.

An entry is written under a deterministic id (``INSERT ... ON CONFLICT DO NOTHING``, so
enqueuing twice is one entry) in the same transaction as the business row that caused it.
An :class:`OutboxDispatcher` claims due entries, hands them to the :class:`Sink` named by the
entry (``sink``) and records the outcome: ``delivered``, retried later with jittered exponential
backoff, or ``rejected`` (retrying cannot help). A claim is a lease (``lease_seconds``): a
process that dies mid-delivery leaves its entries due again, so nothing acknowledged by the
caller is lost. Delivery is at least once; the effect is once because every receiver
deduplicates by the entry id (the HTTP ``Idempotency-Key``) or by the event id in the record.

Two sinks: :class:`HttpSink` (a request to another service, ``route`` = ``"POST /halts"``;
entries are independent and delivered concurrently) and :class:`BusSink` (a record published on
the event bus, ``route`` = the topic; *ordered*: entries go out in enqueue order, and a failed
entry holds back those after it). All state lives in ``nexus_outbox``, so a new process picks up
where the old one stopped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from nexus.bus import OutgoingMessage, Publisher
from nexus.clients.errors import ClientError, ServiceCallError
from nexus.clients.http import NO_RETRY, ServiceClient
from nexus.store import Database
from nexus.web.codec import encode_json

log = logging.getLogger("nexus.outbox")

OUTBOX_LOCK_KEY = 0x6F7574626F78  # "outbox"
RETRYABLE_CLIENT_STATUSES = frozenset({408, 425, 429})
#: The sink name of the event bus.
BUS = "bus"

OUTBOX_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS nexus_outbox (
    id               TEXT PRIMARY KEY,
    seq              BIGSERIAL,
    sink             TEXT NOT NULL,
    route            TEXT NOT NULL,
    key              BYTEA,
    body             BYTEA,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'rejected')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    delivered_at     TIMESTAMPTZ
);
-- the first shape (HTTP only: service, method, path) becomes the generic one
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_name = 'nexus_outbox' AND column_name = 'service') THEN
        ALTER TABLE nexus_outbox RENAME COLUMN service TO sink;
        ALTER TABLE nexus_outbox ADD COLUMN route TEXT;
        UPDATE nexus_outbox SET route = method || ' ' || path;
        ALTER TABLE nexus_outbox ALTER COLUMN route SET NOT NULL;
        ALTER TABLE nexus_outbox DROP COLUMN method, DROP COLUMN path;
        ALTER TABLE nexus_outbox ADD COLUMN key BYTEA, ADD COLUMN seq BIGSERIAL;
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS nexus_outbox_due
    ON nexus_outbox (sink, next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS nexus_outbox_pending_seq
    ON nexus_outbox (sink, seq) WHERE status = 'pending';
"""

_ENQUEUE = """
INSERT INTO nexus_outbox (id, sink, route, key, body) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO NOTHING
"""
_COLUMNS = "id, sink, route, key, body, attempts"
# unordered sinks: any due entry, several dispatchers side by side
_CLAIM_DUE = f"""
UPDATE nexus_outbox SET attempts = attempts + 1,
       next_attempt_at = now() + make_interval(secs => $3)
WHERE id IN (
    SELECT id FROM nexus_outbox
    WHERE sink = $1 AND status = 'pending' AND next_attempt_at <= now()
    ORDER BY next_attempt_at, seq
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
RETURNING {_COLUMNS}, seq
"""
# ordered sinks: the oldest pending entries, up to the first one not due (leased or backing off)
_HEAD = """
SELECT id, next_attempt_at <= now() AS due FROM nexus_outbox
WHERE sink = $1 AND status = 'pending' ORDER BY seq LIMIT $2
"""
_LEASE = f"""
UPDATE nexus_outbox SET attempts = attempts + 1,
       next_attempt_at = now() + make_interval(secs => $2)
WHERE id = ANY($1::text[])
RETURNING {_COLUMNS}, seq
"""
_DELIVERED = """
UPDATE nexus_outbox SET status = 'delivered', delivered_at = now(), last_error = NULL
WHERE id = ANY($1::text[])
"""
_RESCHEDULE = """
UPDATE nexus_outbox SET next_attempt_at = now() + make_interval(secs => $2), last_error = $3
WHERE id = ANY($1::text[]) AND status = 'pending'
"""
_REJECTED = "UPDATE nexus_outbox SET status = 'rejected', last_error = $2 WHERE id = $1"


def outbox_id(*parts: object) -> str:
    """A deterministic id of an effect's identity (e.g. ``("halt", alert_id)``)."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A claimed entry: ``sink`` delivers it to ``route`` (``key`` is the bus partition key)."""

    id: str
    sink: str
    route: str
    key: bytes | None
    body: bytes | None
    attempts: int


@dataclass(frozen=True, slots=True)
class Failure:
    """A delivery that did not happen; ``final``: retrying cannot help (the entry is rejected)."""

    error: str
    final: bool = False


#: What a sink answers per entry: None when delivered.
Outcome = Failure | None


class Sink(Protocol):
    """Delivers claimed entries; ``ordered`` sinks get them in enqueue order, oldest first."""

    ordered: bool

    async def deliver(self, entries: Sequence[OutboxEntry]) -> list[Outcome]: ...


class BusSink:
    """Publishes entries on the event bus as one batch: all acknowledged, or all retried."""

    ordered = True

    def __init__(self, publisher: Publisher) -> None:
        self._publisher = publisher

    async def deliver(self, entries: Sequence[OutboxEntry]) -> list[Outcome]:
        """Publish ``entries`` (topic = route) and wait for the broker's acknowledgement."""
        messages = [OutgoingMessage(e.route, e.body or b"", e.key) for e in entries]
        try:
            await self._publisher.publish(messages)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any broker failure: the batch is retried as it is
            return [Failure(repr(exc))] * len(entries)
        return [None] * len(entries)


class HttpSink:
    """Sends each entry as a request through one service's client (``route`` = ``"POST /path"``).

    A 2xx delivers; a 4xx other than 408/425/429 rejects; anything else is retried.
    """

    ordered = False

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def deliver(self, entries: Sequence[OutboxEntry]) -> list[Outcome]:
        """Send the requests concurrently, each with ``Idempotency-Key: <entry id>``."""
        return list(await asyncio.gather(*(self._send(e) for e in entries)))

    async def _send(self, entry: OutboxEntry) -> Outcome:
        method, _, path = entry.route.partition(" ")
        headers = {"Content-Type": "application/json"} if entry.body is not None else {}
        try:
            await self._client.request(
                method,
                path,
                content=entry.body,
                headers=headers,
                idempotency_key=entry.id,
                retry=NO_RETRY,
            )
        except ClientError as exc:
            return Failure(str(exc), final=exc.status not in RETRYABLE_CLIENT_STATUSES)
        except ServiceCallError as exc:
            return Failure(str(exc))
        return None


class Outbox:
    """Entries of ``nexus_outbox``: enqueue (in the caller's transaction), claim, settle."""

    def __init__(self, db: Database | asyncpg.Pool) -> None:
        self._db = db

    @property
    def pool(self) -> asyncpg.Pool:
        """The database's pool."""
        return self._db if isinstance(self._db, asyncpg.Pool) else self._db.pool

    async def ensure_schema(self) -> None:
        """Create (or bring up to date) the table, serialised on an advisory lock."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", OUTBOX_LOCK_KEY)
            await conn.execute(OUTBOX_SCHEMA_SQL)

    async def enqueue(
        self,
        entry_id: str,
        sink: str,
        route: str,
        body: bytes | None,
        *,
        key: bytes | None = None,
        conn: asyncpg.Connection | None = None,
    ) -> bool:
        """Store an entry; True if new, False if ``entry_id`` was already enqueued.

        Pass ``conn`` to enqueue inside the caller's transaction.
        """
        target = conn if conn is not None else self.pool
        status: str = await target.execute(_ENQUEUE, entry_id, sink, route, key, body)
        return status.rsplit(" ", 1)[-1] != "0"

    async def enqueue_request(
        self,
        entry_id: str,
        service: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        conn: asyncpg.Connection | None = None,
    ) -> bool:
        """Enqueue an HTTP request to ``service`` (``body`` JSON-encoded unless bytes)."""
        payload = body if isinstance(body, bytes) or body is None else encode_json(body)
        return await self.enqueue(entry_id, service, f"{method.upper()} {path}", payload, conn=conn)

    async def enqueue_message(
        self, entry_id: str, message: OutgoingMessage, *, conn: asyncpg.Connection | None = None
    ) -> bool:
        """Enqueue a record for the event bus (sink :data:`BUS`)."""
        return await self.enqueue(
            entry_id, BUS, message.topic, message.value, key=message.key, conn=conn
        )

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

    async def claim(
        self, sink: str, limit: int, lease_seconds: float, *, ordered: bool
    ) -> list[OutboxEntry]:
        """Lease due entries of ``sink``; ordered: only the oldest, up to the first not due."""
        if not ordered:
            rows = await self.pool.fetch(_CLAIM_DUE, sink, limit, lease_seconds)
            return [_entry(r) for r in sorted(rows, key=lambda r: r["seq"])]
        async with self.pool.acquire() as conn, conn.transaction():
            # one claimer per ordered sink at a time: the head cannot be taken twice
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", OUTBOX_LOCK_KEY & 0x7FFFFFFF, sink
            )
            head = await conn.fetch(_HEAD, sink, limit)
            ids: list[str] = []
            for row in head:
                if not row["due"]:
                    break
                ids.append(row["id"])
            if not ids:
                return []
            rows = await conn.fetch(_LEASE, ids, lease_seconds)
        return [_entry(r) for r in sorted(rows, key=lambda r: r["seq"])]

    async def mark_delivered(self, entry_ids: Sequence[str]) -> None:
        """Record the receiver's acknowledgement."""
        await self.pool.execute(_DELIVERED, list(entry_ids))

    async def reschedule(self, entry_ids: Sequence[str], delay_s: float, error: str) -> None:
        """Make entries due again in ``delay_s`` seconds."""
        await self.pool.execute(_RESCHEDULE, list(entry_ids), delay_s, error)

    async def reject(self, entry_id: str, error: str) -> None:
        """Give up on an entry (the receiver refused it for good)."""
        await self.pool.execute(_REJECTED, entry_id, error)


def _entry(row: asyncpg.Record) -> OutboxEntry:
    return OutboxEntry(
        id=row["id"],
        sink=row["sink"],
        route=row["route"],
        key=None if row["key"] is None else bytes(row["key"]),
        body=None if row["body"] is None else bytes(row["body"]),
        attempts=row["attempts"],
    )


class OutboxStorage(Protocol):
    """What the dispatcher needs of the table (:class:`Outbox`, or an in-memory fake)."""

    async def claim(
        self, sink: str, limit: int, lease_seconds: float, *, ordered: bool
    ) -> list[OutboxEntry]: ...

    async def mark_delivered(self, entry_ids: Sequence[str]) -> None: ...

    async def reschedule(self, entry_ids: Sequence[str], delay_s: float, error: str) -> None: ...

    async def reject(self, entry_id: str, error: str) -> None: ...


class OutboxDispatcher:
    """Delivers due entries through their sinks until each is delivered or rejected."""

    def __init__(
        self,
        outbox: OutboxStorage,
        sinks: Mapping[str, Sink],
        *,
        batch_size: int = 50,
        lease_seconds: float = 30.0,
        base_backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 60.0,
        uniform01: Callable[[], float] = random.random,
    ) -> None:
        self._outbox = outbox
        self._sinks = sinks
        self._batch_size = batch_size
        self._lease_seconds = lease_seconds
        self._base_backoff = base_backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._uniform01 = uniform01
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        """Deliver now instead of at the next poll (call after an enqueue)."""
        self._wake.set()

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` tries (jitter in [0.5, 1])."""
        cap = min(self._max_backoff, self._base_backoff * 2.0 ** max(attempts - 1, 0))
        return cap * (0.5 + 0.5 * self._uniform01())

    async def run_once(self) -> int:
        """Claim and try one batch per sink; returns how many entries were delivered.

        Serialised within the process, so a caller flushing right after its enqueue waits for
        a batch in flight and then claims what is left.
        """
        async with self._lock:
            delivered = 0
            for name, sink in self._sinks.items():
                delivered += await self._run_sink(name, sink)
            return delivered

    async def drain(self) -> int:
        """Deliver until a round delivers nothing; returns how many were delivered."""
        total = 0
        while (n := await self.run_once()) > 0:
            total += n
        return total

    async def run(self, stop: asyncio.Event, *, poll_seconds: float = 1.0) -> None:
        """Deliver until ``stop`` is set, polling every ``poll_seconds`` (or on :meth:`wake`)."""
        while not stop.is_set():
            # cleared before the batch so a wake() during the batch triggers another one
            self._wake.clear()
            try:
                while await self.run_once() >= self._batch_size:
                    pass
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("outbox dispatch failed, will retry: %r", exc)
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            _, pending = await asyncio.wait(
                waiters, timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()

    async def _run_sink(self, name: str, sink: Sink) -> int:
        entries = await self._outbox.claim(
            name, self._batch_size, self._lease_seconds, ordered=sink.ordered
        )
        if not entries:
            return 0
        try:
            outcomes = await sink.deliver(entries)
        except asyncio.CancelledError:
            # a delivery cut short (a caller's timeout, shutdown) gives its lease back
            await asyncio.shield(self._outbox.reschedule([e.id for e in entries], 0.0, "cancelled"))
            raise
        failed = [(e, o) for e, o in zip(entries, outcomes, strict=True) if o is not None]
        if sink.ordered and failed:
            # the first failure holds back everything after it (an ordered sink never rejects)
            first = entries.index(failed[0][0])
            if first:
                await self._outbox.mark_delivered([e.id for e in entries[:first]])
            await self._retry(entries[first:], failed[0][1].error)
            return first
        done = [e.id for e, o in zip(entries, outcomes, strict=True) if o is None]
        if done:
            await self._outbox.mark_delivered(done)
        for entry, failure in failed:
            if failure.final:
                log.error("outbox entry %s rejected by %s: %s", entry.id, name, failure.error)
                await self._outbox.reject(entry.id, failure.error)
            else:
                await self._retry([entry], failure.error)
        return len(done)

    async def _retry(self, entries: Sequence[OutboxEntry], error: str) -> None:
        delay = self.backoff(entries[0].attempts)
        log.info(
            "outbox entries %s attempt %d failed (%s); next in %.2fs",
            [e.id for e in entries],
            entries[0].attempts,
            error,
            delay,
        )
        await self._outbox.reschedule([e.id for e in entries], delay, error)
