"""PostgreSQL access of the orders service: fills and positions, applied idempotently."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from nexus.money import Fixed, Money
from nexus.store import Database
from services.orders.core import Fill, Position, apply_fill

INSERT_FILL = """
INSERT INTO fills (trade_id, side, user_id, account_id, symbol, price_raw, quantity_raw,
                   order_id, venue, ts_event)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (trade_id, side) DO NOTHING
RETURNING trade_id
"""
LOCK_POSITIONS = """
SELECT * FROM positions WHERE (user_id, symbol) IN (SELECT * FROM unnest($1::text[], $2::text[]))
FOR UPDATE
"""
UPSERT_POSITION = """
INSERT INTO positions (user_id, symbol, quantity_raw, avg_cost_raw, realized_pnl,
                       last_trade_id, last_ts_event, cost_basis, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
ON CONFLICT (user_id, symbol) DO UPDATE SET
    quantity_raw = EXCLUDED.quantity_raw, avg_cost_raw = EXCLUDED.avg_cost_raw,
    cost_basis = EXCLUDED.cost_basis,
    realized_pnl = EXCLUDED.realized_pnl, last_trade_id = EXCLUDED.last_trade_id,
    last_ts_event = EXCLUDED.last_ts_event, updated_at = now()
"""
SELECT_POSITIONS = "SELECT * FROM positions WHERE user_id = $1 ORDER BY symbol"
SELECT_FILLS = """
SELECT * FROM fills
WHERE user_id = $1 AND ($2::text IS NULL OR symbol = $2)
  AND (ts_event, trade_id, side) > ($3, $4, $5)
ORDER BY ts_event, trade_id, side
LIMIT $6
"""


def _position(row: asyncpg.Record) -> Position:
    return Position(
        user_id=row["user_id"],
        symbol=row["symbol"],
        quantity=Fixed.from_raw(row["quantity_raw"]),
        cost_basis=Money.from_decimal(row["cost_basis"]),
        realized_pnl=Money.from_decimal(row["realized_pnl"]),
        last_trade_id=row["last_trade_id"],
        last_ts_event=row["last_ts_event"],
    )


def _fill(row: asyncpg.Record) -> Fill:
    return Fill(
        trade_id=row["trade_id"],
        user_id=row["user_id"],
        account_id=row["account_id"],
        symbol=row["symbol"],
        side=row["side"],
        price=Fixed.from_raw(row["price_raw"]),
        quantity=Fixed.from_raw(row["quantity_raw"]),
        order_id=row["order_id"],
        ts_event=row["ts_event"],
        venue=row["venue"],
    )


class PositionStore:
    """``fills`` and ``positions``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def apply_fills(self, fills: Sequence[Fill]) -> int:
        """Apply fills in order, in one transaction; a fill already stored changes nothing.

        Returns how many fills were new.
        """
        pool = self._db.pool
        async with pool.acquire() as conn, conn.transaction():
            keys = sorted({(f.user_id, f.symbol) for f in fills})
            rows = await conn.fetch(LOCK_POSITIONS, [k[0] for k in keys], [k[1] for k in keys])
            positions = {(r["user_id"], r["symbol"]): _position(r) for r in rows}
            changed: set[tuple[str, str]] = set()
            new = 0
            for fill in fills:
                inserted = await conn.fetchval(
                    INSERT_FILL,
                    fill.trade_id,
                    fill.side,
                    fill.user_id,
                    fill.account_id,
                    fill.symbol,
                    fill.price.raw,
                    fill.quantity.raw,
                    fill.order_id,
                    fill.venue,
                    fill.ts_event,
                )
                if inserted is None:
                    continue  # redelivered: its effect is already in the position
                new += 1
                key = (fill.user_id, fill.symbol)
                positions[key] = apply_fill(positions.get(key) or Position(*key), fill)
                changed.add(key)
            await conn.executemany(
                UPSERT_POSITION,
                [
                    (
                        p.user_id,
                        p.symbol,
                        p.quantity.raw,
                        p.avg_cost.raw,
                        p.realized_pnl.to_decimal(),
                        p.last_trade_id,
                        p.last_ts_event,
                        p.cost_basis.to_decimal(),
                    )
                    for p in (positions[k] for k in sorted(changed))
                ],
            )
            return new

    async def positions(self, user_id: str) -> list[Position]:
        """A user's positions by symbol."""
        return [_position(r) for r in await self._db.pool.fetch(SELECT_POSITIONS, user_id)]

    async def fills(
        self, user_id: str, symbol: str | None, after: tuple[int, str, str] | None, limit: int
    ) -> list[Fill]:
        """A user's fills in event-time order after the keyset ``after``."""
        ts, trade_id, side = after or (-1, "", "")
        rows = await self._db.pool.fetch(SELECT_FILLS, user_id, symbol, ts, trade_id, side, limit)
        return [_fill(r) for r in rows]
