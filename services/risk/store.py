"""PostgreSQL access of the risk service: the halt audit trail and its outbox entries.

Each new event is stored in ``halt_events`` and its ``risk.halts`` record enqueued in the
outbox (:mod:`nexus.outbox`) in one transaction, so an event is durable exactly when its
publication is.
"""

from __future__ import annotations

import logging

import asyncpg

from nexus.bus import OutgoingMessage
from nexus.events import HALT_CODEC, TOPIC_HALTS, Halt
from nexus.outbox import Outbox
from nexus.store import Database, execute_idempotent

INSERT_EVENT = """
INSERT INTO halt_events (event_id, scope, target, action, reason, source_alert_id,
                         expires_at_ns, requested_by, ts_event)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (event_id) DO NOTHING
"""
log = logging.getLogger(__name__)

SELECT_ALL = "SELECT * FROM halt_events ORDER BY seq"
SELECT_ONE = "SELECT * FROM halt_events WHERE event_id = $1"
SELECT_AUDIT = "SELECT * FROM halt_events WHERE seq > $1 ORDER BY seq LIMIT $2"
# events stored before migration 002 and not yet published under the old flag
SELECT_LEGACY = "SELECT * FROM halt_events WHERE NOT published ORDER BY seq FOR UPDATE"
MARK_LEGACY = "UPDATE halt_events SET published = TRUE WHERE event_id = ANY($1::text[])"


def halt_message(event: Halt) -> OutgoingMessage:
    """The ``risk.halts`` record of an event (keyed by its target)."""
    return OutgoingMessage(TOPIC_HALTS, HALT_CODEC.encode(event), event.target.encode())


def _event(row: asyncpg.Record) -> Halt:
    return Halt(
        event_id=row["event_id"],
        ts_event=row["ts_event"],
        scope=row["scope"],
        target=row["target"],
        action=row["action"],
        reason=row["reason"],
        source_alert_id=row["source_alert_id"],
        expires_at_ns=row["expires_at_ns"],
        requested_by=row["requested_by"],
    )


class HaltStore:
    """The ``halt_events`` table; ``outbox`` holds their records until the broker has them."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.outbox = Outbox(db)

    @property
    def _pool(self) -> asyncpg.Pool:
        return self._db.pool

    async def prepare(self) -> None:
        """Create the outbox and hand it the events left unpublished under the old flag."""
        await self.outbox.ensure_schema()
        async with self._pool.acquire() as conn, conn.transaction():
            legacy = [_event(r) for r in await conn.fetch(SELECT_LEGACY)]
            for event in legacy:
                await self.outbox.enqueue_message(event.event_id, halt_message(event), conn=conn)
            await conn.execute(MARK_LEGACY, [e.event_id for e in legacy])
        if legacy:
            log.info("unpublished halt events handed to the outbox", extra={"n": len(legacy)})

    async def record(self, event: Halt) -> bool:
        """Store an event and enqueue its record; False if that event id was already stored."""
        async with self._pool.acquire() as conn, conn.transaction():
            created = await execute_idempotent(
                conn,
                INSERT_EVENT,
                event.event_id,
                event.scope,
                event.target,
                event.action,
                event.reason,
                event.source_alert_id,
                event.expires_at_ns,
                event.requested_by,
                event.ts_event,
            )
            if created:
                await self.outbox.enqueue_message(event.event_id, halt_message(event), conn=conn)
        return created

    async def get(self, event_id: str) -> Halt | None:
        """One stored event."""
        row = await self._pool.fetchrow(SELECT_ONE, event_id)
        return _event(row) if row else None

    async def all_events(self) -> list[Halt]:
        """The whole trail, oldest first (to rebuild state at start)."""
        return [_event(r) for r in await self._pool.fetch(SELECT_ALL)]

    async def audit(self, after_seq: int, limit: int) -> list[tuple[int, Halt]]:
        """Page of the trail after ``after_seq``."""
        rows = await self._pool.fetch(SELECT_AUDIT, after_seq, limit)
        return [(r["seq"], _event(r)) for r in rows]
