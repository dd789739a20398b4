"""PostgreSQL access of the risk service: the halt audit trail, doubling as its outbox."""

from __future__ import annotations

import asyncpg

from nexus.events import Halt
from nexus.store import Database, execute_idempotent

INSERT_EVENT = """
INSERT INTO halt_events (event_id, scope, target, action, reason, source_alert_id,
                         expires_at_ns, requested_by, ts_event)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (event_id) DO NOTHING
"""
SELECT_ALL = "SELECT * FROM halt_events ORDER BY seq"
SELECT_ONE = "SELECT * FROM halt_events WHERE event_id = $1"
SELECT_UNPUBLISHED = "SELECT * FROM halt_events WHERE NOT published ORDER BY seq LIMIT $1"
MARK_PUBLISHED = "UPDATE halt_events SET published = TRUE WHERE event_id = ANY($1::text[])"
SELECT_AUDIT = "SELECT * FROM halt_events WHERE seq > $1 ORDER BY seq LIMIT $2"


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
    """The ``halt_events`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def _pool(self) -> asyncpg.Pool:
        return self._db.pool

    async def record(self, event: Halt) -> bool:
        """Store an event; False if an event with that id was already stored."""
        return await execute_idempotent(
            self._pool,
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

    async def get(self, event_id: str) -> Halt | None:
        """One stored event."""
        row = await self._pool.fetchrow(SELECT_ONE, event_id)
        return _event(row) if row else None

    async def all_events(self) -> list[Halt]:
        """The whole trail, oldest first (to rebuild state at start)."""
        return [_event(r) for r in await self._pool.fetch(SELECT_ALL)]

    async def unpublished(self, limit: int = 500) -> list[Halt]:
        """Events not yet acknowledged by the broker."""
        return [_event(r) for r in await self._pool.fetch(SELECT_UNPUBLISHED, limit)]

    async def mark_published(self, event_ids: list[str]) -> None:
        """Record the broker's acknowledgement."""
        await self._pool.execute(MARK_PUBLISHED, event_ids)

    async def audit(self, after_seq: int, limit: int) -> list[tuple[int, Halt]]:
        """Page of the trail after ``after_seq``."""
        rows = await self._pool.fetch(SELECT_AUDIT, after_seq, limit)
        return [(r["seq"], _event(r)) for r in rows]
