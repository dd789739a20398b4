"""The archive of every order and trade event the consumer read, in PostgreSQL.

Rows keep the Kafka payload bytes as they arrived (msgpack, no re-encoding) with the columns a
scan filters on; ``seq`` is the order the live engine saw them in, so a historical scan that
replays the archive in ``seq`` order feeds the engine exactly what the live path fed it.
``(topic, event_id)`` makes a redelivered batch a no-op; ``(topic, part, msg_offset)`` tells a
restarted consumer which records the warm-up already fed to the engine.

Why PostgreSQL and not a per-day columnar file: the archive must be written in the same unit
of work as the consumer's batch (before the offset commit) by any member of the consumer
group, and read by scans while it grows; a table gives both without a second storage system.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from nexus.bus import Message, TopicPartition
from nexus.events import ORDER_CODEC, TRADE_CODEC, Trade

KIND_ORDER = 0
KIND_TRADE = 1

INSERT_EVENTS = """
INSERT INTO event_archive (topic, event_id, kind, symbol, ts_event, part, msg_offset, payload)
SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[], $4::text[], $5::bigint[],
                     $6::int[], $7::bigint[], $8::bytea[])
ON CONFLICT (topic, event_id) DO NOTHING
"""
SELECT_RANGE = """
SELECT seq, kind, payload FROM event_archive
WHERE ts_event >= $1 AND ts_event < $2 AND ($3::text[] IS NULL OR symbol = ANY($3::text[]))
  AND seq > $4
ORDER BY seq LIMIT $5
"""
COUNT_RANGE = """
SELECT count(*) FROM event_archive
WHERE ts_event >= $1 AND ts_event < $2 AND ($3::text[] IS NULL OR symbol = ANY($3::text[]))
"""
SELECT_TAIL = """
SELECT seq, kind, topic, part, msg_offset, payload FROM event_archive
WHERE ts_event >= (SELECT max(ts_event) FROM event_archive) - $1
ORDER BY seq
"""

#: Rows fetched per round trip when reading the archive.
READ_CHUNK = 20_000


class Database(Protocol):
    """Something holding the service's pool once started (the service runtime)."""

    @property
    def pool(self) -> asyncpg.Pool: ...


@dataclass(frozen=True, slots=True)
class ArchivedEvent:
    """A decoded archived event and where it came from on the bus."""

    event: Any
    tp: TopicPartition
    offset: int


def decode_row(kind: int, payload: bytes) -> Any:
    """The event of an archived row."""
    return TRADE_CODEC.decode(payload) if kind == KIND_TRADE else ORDER_CODEC.decode(payload)


class EventArchive:
    """Writes consumed records and reads them back for scans and warm-up."""

    def __init__(self, db: Database, *, chunk: int = READ_CHUNK) -> None:
        self._db = db
        self._chunk = chunk

    async def append(self, records: Sequence[tuple[Message, Any]]) -> int:
        """Archive decoded records (message, event); returns how many were new."""
        if not records:
            return 0
        cols: list[list[Any]] = [[] for _ in range(8)]
        for message, event in records:
            for col, value in zip(
                cols,
                (
                    message.topic,
                    event.event_id,
                    KIND_TRADE if isinstance(event, Trade) else KIND_ORDER,
                    event.symbol,
                    event.ts_event,
                    message.partition,
                    message.offset,
                    message.value,
                ),
                strict=True,
            ):
                col.append(value)
        status: str = await self._db.pool.execute(INSERT_EVENTS, *cols)
        return int(status.rsplit(" ", 1)[-1])

    async def count(self, start_ns: int, end_ns: int, symbols: Sequence[str] | None) -> int:
        """Archived events in the time range (and symbols)."""
        value: int = await self._db.pool.fetchval(
            COUNT_RANGE, start_ns, end_ns, list(symbols) if symbols else None
        )
        return value

    async def read(
        self, start_ns: int, end_ns: int, symbols: Sequence[str] | None = None
    ) -> AsyncIterator[list[Any]]:
        """Chunks of decoded events with ``start_ns <= ts_event < end_ns``, in archive order.

        This is the engine's ``EventSource``: scans replay what the live engine was fed.
        """
        after = 0
        wanted = list(symbols) if symbols else None
        while True:
            rows = await self._db.pool.fetch(
                SELECT_RANGE, start_ns, end_ns, wanted, after, self._chunk
            )
            if not rows:
                return
            after = rows[-1]["seq"]
            yield [decode_row(r["kind"], r["payload"]) for r in rows]
            if len(rows) < self._chunk:
                return

    async def tail(self, horizon_ns: int) -> list[ArchivedEvent]:
        """Events within ``horizon_ns`` of event time before the newest one (engine warm-up)."""
        rows = await self._db.pool.fetch(SELECT_TAIL, horizon_ns)
        return [
            ArchivedEvent(
                decode_row(r["kind"], r["payload"]),
                TopicPartition(r["topic"], r["part"]),
                r["msg_offset"],
            )
            for r in rows
        ]
