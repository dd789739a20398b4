"""PostgreSQL access of the routing service: parents, decisions, children, fills.

Exactly one effect: a parent is *claimed* by inserting its row (the primary key is the
caller's order id), so a retried or concurrent request for the same order executes it once;
decisions, children and fills are inserted under their deterministic ids with ``ON CONFLICT
DO NOTHING``; their events are enqueued in the outbox (:mod:`nexus.outbox`) in the same
transaction and published by its dispatcher, so an event is never lost between the database
and the broker. Amounts are ``NUMERIC(38, 9)``.
"""

from __future__ import annotations

import decimal
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec

from nexus.bus import OutgoingMessage
from nexus.events import (
    ROUTING_DECISION_CODEC,
    ROUTING_EXECUTION_CODEC,
    TOPIC_ROUTING_DECISIONS,
    TOPIC_ROUTING_EXECUTIONS,
    ChildExecuted,
    ParentExecuted,
    RoutedFill,
    RoutingDecisionEvent,
    partition_key,
)
from nexus.money import raw_to_decimal, to_raw
from nexus.outbox import Outbox
from nexus.store import Database

log = logging.getLogger(__name__)

CLAIM_PARENT = """
INSERT INTO parent_orders (order_id, user_id, symbol, side, quantity, limit_price, strategy,
                           status, leaves_quantity, ts_start)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'EXECUTING', $5, $8)
ON CONFLICT (order_id) DO NOTHING
"""
FINISH_PARENT = """
UPDATE parent_orders SET status = $2, filled_quantity = $3, leaves_quantity = $4,
       in_doubt_quantity = $5, average_price = $6, fees = $7, reason = $8, ts_end = $9
WHERE order_id = $1
"""
INSERT_DECISION = """
INSERT INTO routing_decisions (decision_id, order_id, user_id, symbol, round, strategy,
                               executed, rule_set, decision, ts_event)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)
ON CONFLICT (decision_id) DO NOTHING
"""
INSERT_CHILD = """
INSERT INTO child_orders (child_id, order_id, decision_id, venue, side, quantity, limit_price,
                          iso, time_in_force, round, status, filled_quantity, leaves_quantity,
                          reason, sent_ns, done_ns, timed_out, nbbo_at_decision,
                          nbbo_at_execution)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
        $18::jsonb, $19::jsonb)
ON CONFLICT (child_id) DO NOTHING
"""
INSERT_FILL = """
INSERT INTO routed_fills (fill_id, child_id, order_id, venue, price, quantity, fee, liquidity,
                          ts_event, nbbo_at_execution)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)
ON CONFLICT (fill_id) DO NOTHING
"""
# events of the version before migration 003 that its relay had not published yet
SELECT_LEGACY = """
SELECT seq, event_id, topic, key, payload FROM routing_outbox WHERE NOT published ORDER BY seq
FOR UPDATE
"""
MARK_LEGACY = "UPDATE routing_outbox SET published = TRUE WHERE seq = ANY($1::bigint[])"
GET_PARENT = "SELECT * FROM parent_orders WHERE order_id = $1"
LIST_PARENTS = """
SELECT * FROM parent_orders WHERE ($1::text IS NULL OR user_id = $1)
ORDER BY ts_start DESC, order_id LIMIT $2
"""
GET_CHILDREN = "SELECT * FROM child_orders WHERE order_id = $1 ORDER BY round, sent_ns, child_id"
GET_FILLS = "SELECT * FROM routed_fills WHERE order_id = $1 ORDER BY ts_event, fill_id"
GET_DECISIONS = "SELECT decision FROM routing_decisions WHERE order_id = $1 ORDER BY round"

_JSON = msgspec.json.Encoder()


def dec(raw: int) -> decimal.Decimal:
    """A NUMERIC parameter of a raw fixed-point value."""
    return raw_to_decimal(raw)


def raw(value: decimal.Decimal) -> int:
    """A raw fixed-point value of a NUMERIC column."""
    return to_raw(value)


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """A parent with its children, fills and decisions (rows as dicts; amounts raw ints)."""

    parent: dict[str, Any]
    children: list[dict[str, Any]]
    fills: list[dict[str, Any]]
    decisions: list[dict[str, Any]]


_AMOUNTS = (
    "quantity",
    "limit_price",
    "filled_quantity",
    "leaves_quantity",
    "in_doubt_quantity",
    "average_price",
    "fees",
    "price",
    "fee",
)


def entry_id(topic: str, event_id: str) -> str:
    """The outbox entry id of an event (event ids are unique per topic)."""
    return f"{topic}:{event_id}"


def _json(value: Any) -> Any:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


def _row(record: asyncpg.Record) -> dict[str, Any]:
    out = dict(record)
    for name in _AMOUNTS:
        if name in out and isinstance(out[name], decimal.Decimal):
            out[name] = raw(out[name])
    for name in ("nbbo_at_decision", "nbbo_at_execution"):
        if name in out:
            out[name] = _json(out[name])
    return out


class RoutingStore:
    """The routing service's tables."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.outbox = Outbox(db)

    async def prepare(self) -> None:
        """Create the outbox and hand it the events the old ``routing_outbox`` still holds."""
        await self.outbox.ensure_schema()
        async with self._db.pool.acquire() as conn, conn.transaction():
            legacy = await conn.fetch(SELECT_LEGACY)
            for r in legacy:
                message = OutgoingMessage(r["topic"], bytes(r["payload"]), bytes(r["key"]))
                await self.outbox.enqueue_message(
                    entry_id(r["topic"], r["event_id"]), message, conn=conn
                )
            await conn.execute(MARK_LEGACY, [r["seq"] for r in legacy])
        if legacy:
            log.info("unpublished routing events handed to the outbox", extra={"n": len(legacy)})

    async def _enqueue(
        self, conn: asyncpg.Connection, topic: str, event_id: str, key: bytes, payload: bytes
    ) -> None:
        message = OutgoingMessage(topic, payload, key)
        await self.outbox.enqueue_message(entry_id(topic, event_id), message, conn=conn)

    async def claim_parent(
        self,
        order_id: str,
        user_id: str,
        symbol: str,
        side: str,
        quantity: int,
        limit_price: int,
        strategy: str,
        ts_start: int,
    ) -> bool:
        """Insert the parent as EXECUTING; False if the order id was already used."""
        status: str = await self._db.pool.execute(
            CLAIM_PARENT,
            order_id,
            user_id,
            symbol,
            side,
            dec(quantity),
            dec(limit_price),
            strategy,
            ts_start,
        )
        return status.rsplit(" ", 1)[-1] != "0"

    async def record_decision(self, event: RoutingDecisionEvent, *, executed: bool) -> None:
        """Store a decision and queue its event (idempotent by decision id)."""
        async with self._db.pool.acquire() as conn, conn.transaction():
            await self._decision(conn, event, executed)

    async def record_outcome(
        self,
        decisions: Sequence[RoutingDecisionEvent],
        events: Sequence[ChildExecuted | RoutedFill | ParentExecuted],
    ) -> None:
        """Store a parent's decisions, children, fills and final state with their events.

        One transaction; every insert is keyed by a deterministic id, so a retry is a no-op.
        """
        async with self._db.pool.acquire() as conn, conn.transaction():
            for decision in decisions:
                await self._decision(conn, decision, True)
            for event in events:
                if isinstance(event, ChildExecuted):
                    await conn.execute(
                        INSERT_CHILD,
                        event.child_id,
                        event.order_id,
                        event.decision_id,
                        event.venue,
                        event.side,
                        dec(event.quantity),
                        dec(event.limit_price),
                        event.iso,
                        event.time_in_force,
                        event.round,
                        event.status,
                        dec(event.filled_quantity),
                        dec(event.leaves_quantity),
                        event.reason,
                        event.sent_ns,
                        event.done_ns,
                        event.timed_out,
                        _JSON.encode(event.nbbo_at_decision).decode(),
                        _JSON.encode(event.nbbo_at_execution).decode(),
                    )
                elif isinstance(event, RoutedFill):
                    await conn.execute(
                        INSERT_FILL,
                        event.event_id,
                        event.child_id,
                        event.order_id,
                        event.venue,
                        dec(event.price),
                        dec(event.quantity),
                        dec(event.fee),
                        event.liquidity,
                        event.ts_event,
                        _JSON.encode(event.nbbo_at_execution).decode(),
                    )
                else:
                    await conn.execute(
                        FINISH_PARENT,
                        event.order_id,
                        event.status,
                        dec(event.filled_quantity),
                        dec(event.leaves_quantity),
                        dec(event.in_doubt_quantity),
                        dec(event.average_price),
                        dec(event.fees),
                        event.reason,
                        event.ts_event,
                    )
                await self._enqueue(
                    conn,
                    TOPIC_ROUTING_EXECUTIONS,
                    event.event_id,
                    partition_key(event),
                    ROUTING_EXECUTION_CODEC.encode(event),
                )

    async def _decision(
        self, conn: asyncpg.Connection, event: RoutingDecisionEvent, executed: bool
    ) -> None:
        await conn.execute(
            INSERT_DECISION,
            event.event_id,
            event.order_id,
            event.user_id,
            event.symbol,
            event.round,
            event.strategy,
            executed,
            event.rule_set,
            ROUTING_DECISION_CODEC.encode_json(event).decode(),
            event.ts_event,
        )
        await self._enqueue(
            conn,
            TOPIC_ROUTING_DECISIONS,
            event.event_id,
            partition_key(event),
            ROUTING_DECISION_CODEC.encode(event),
        )

    async def order(self, order_id: str) -> StoredOrder | None:
        """A parent with its children, fills and decisions, or None."""
        pool = self._db.pool
        parent = await pool.fetchrow(GET_PARENT, order_id)
        if parent is None:
            return None
        children = await pool.fetch(GET_CHILDREN, order_id)
        fills = await pool.fetch(GET_FILLS, order_id)
        decisions = await pool.fetch(GET_DECISIONS, order_id)
        return StoredOrder(
            parent=_row(parent),
            children=[_row(r) for r in children],
            fills=[_row(r) for r in fills],
            decisions=[_json(r["decision"]) for r in decisions],
        )

    async def orders(self, user_id: str | None, limit: int = 100) -> list[dict[str, Any]]:
        """Recent parents, newest first (one user's, or everyone's when ``user_id`` is None)."""
        return [_row(r) for r in await self._db.pool.fetch(LIST_PARENTS, user_id, limit)]
