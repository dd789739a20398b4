"""SQL of the routing reports: the stored parents, routes, fills and the recorded market.

Reads what part 1 records (``parent_orders``, ``routing_decisions``, ``child_orders``,
``routed_fills``) into the columnar inputs of :mod:`services.routing.reports`. Amounts are
converted to raw fixed point (``NUMERIC * 1e9 -> BIGINT``) in SQL.

* NBBO at receipt: the NBBO snapshot of the parent's first decision (round 0);
* order flags: every routed parent is held and non-directed (the router decides the venues;
  no order names one), none carries a stop price or an IOC instruction; orders the router
  refused (halts) were never routed and are left out;
* the best available displayed price is the NBBO (no odd-lot quotes are recorded);
* the recorded market: ``routing_quote_archive`` rows together with every NBBO snapshot
  stored with decisions, children and fills of the symbol (mid known at those instants).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
import numpy as np

from services.routing.reports.model import Fills, Orders, QuoteTape, Routes

_RAW = "1000000000"

PARENTS = f"""
SELECT p.order_id, p.symbol, CASE p.side WHEN 'BUY' THEN 1 ELSE -1 END AS side,
       (p.quantity * {_RAW})::bigint AS quantity, (p.limit_price * {_RAW})::bigint AS limit_price,
       p.ts_start,
       COALESCE((d.nbbo->>'bid_price')::bigint, 0) AS bid,
       COALESCE((d.nbbo->>'ask_price')::bigint, 0) AS ask,
       COALESCE((d.nbbo->>'bid_size')::bigint, 0) AS bid_size,
       COALESCE((d.nbbo->>'ask_size')::bigint, 0) AS ask_size
FROM parent_orders p
LEFT JOIN LATERAL (
    SELECT r.decision->'nbbo' AS nbbo FROM routing_decisions r
    WHERE r.order_id = p.order_id ORDER BY r.round, r.ts_event LIMIT 1
) d ON TRUE
WHERE p.ts_start >= $1 AND p.ts_start < $2 AND p.status <> 'REFUSED'
ORDER BY p.ts_start, p.order_id
"""
ROUTES = f"""
SELECT c.order_id, c.venue, (c.quantity * {_RAW})::bigint AS quantity
FROM child_orders c JOIN parent_orders p USING (order_id)
WHERE p.ts_start >= $1 AND p.ts_start < $2 AND p.status <> 'REFUSED'
"""
FILLS = f"""
SELECT f.order_id, f.venue, (f.price * {_RAW})::bigint AS price,
       (f.quantity * {_RAW})::bigint AS quantity, (f.fee * {_RAW})::bigint AS fee, f.ts_event,
       f.liquidity = 'MAKER' AS maker,
       COALESCE((f.nbbo_at_execution->>'bid_price')::bigint, 0) AS bid,
       COALESCE((f.nbbo_at_execution->>'ask_price')::bigint, 0) AS ask
FROM routed_fills f JOIN parent_orders p USING (order_id)
WHERE p.ts_start >= $1 AND p.ts_start < $2 AND p.status <> 'REFUSED'
"""
#: every recorded NBBO of the period's symbols, from $1 to $2 + the longest horizon ($3)
MARKET = """
WITH snaps AS (
    SELECT symbol, ts_event, bid_price AS bid, ask_price AS ask FROM routing_quote_archive
    WHERE ts_event >= $1::bigint AND ts_event < $2::bigint + $3::bigint
    UNION ALL
    SELECT r.symbol, (r.decision->'nbbo'->>'ts_event')::bigint,
           (r.decision->'nbbo'->>'bid_price')::bigint, (r.decision->'nbbo'->>'ask_price')::bigint
    FROM routing_decisions r WHERE r.ts_event >= $1::bigint AND r.ts_event < $2::bigint + $3::bigint
    UNION ALL
    SELECT p.symbol, (s.snap->>'ts_event')::bigint, (s.snap->>'bid_price')::bigint,
           (s.snap->>'ask_price')::bigint
    FROM child_orders c JOIN parent_orders p USING (order_id),
         LATERAL (VALUES (c.nbbo_at_decision), (c.nbbo_at_execution)) AS s (snap)
    WHERE c.sent_ns >= $1 AND c.sent_ns < $2::bigint + $3::bigint
    UNION ALL
    SELECT p.symbol, (f.nbbo_at_execution->>'ts_event')::bigint,
           (f.nbbo_at_execution->>'bid_price')::bigint, (f.nbbo_at_execution->>'ask_price')::bigint
    FROM routed_fills f JOIN parent_orders p USING (order_id)
    WHERE f.ts_event >= $1::bigint AND f.ts_event < $2::bigint + $3::bigint
)
SELECT DISTINCT symbol, ts_event, COALESCE(bid, 0) AS bid, COALESCE(ask, 0) AS ask FROM snaps
WHERE ts_event IS NOT NULL AND ts_event > 0
ORDER BY symbol, ts_event
"""
ARCHIVE_QUOTE = """
INSERT INTO routing_quote_archive (symbol, ts_event, bid_price, ask_price)
VALUES ($1, $2, $3, $4) ON CONFLICT (symbol, ts_event) DO NOTHING
"""
PRUNE_ARCHIVE = "DELETE FROM routing_quote_archive WHERE ts_event < $1::bigint"

#: the longest horizon any report reads after a fill (Rule 605's 5 minutes)
LOOKAHEAD_NS = 300 * 10**9


@dataclass(frozen=True, slots=True)
class RecordedFlow:
    """The period's orders, routes, fills and market, ready for the report functions."""

    orders: Orders
    routes: Routes
    fills: Fills
    tape: QuoteTape


def _index(ids: Sequence[str], wanted: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Row of each ``wanted`` id in ``ids`` and whether it is there."""
    at = {v: i for i, v in enumerate(ids)}
    rows = np.fromiter((at.get(w, -1) for w in wanted), dtype=np.int64, count=len(wanted))
    return rows, rows >= 0


class ReportsStore:
    """Reads of the routing database for the reports (a pool or a connection)."""

    def __init__(self, db: asyncpg.Pool | asyncpg.Connection) -> None:
        self._db = db

    async def flow(self, start_ns: int, end_ns: int) -> RecordedFlow:
        """Parents received in ``[start_ns, end_ns)`` with their routes, fills and market."""
        parents = await self._db.fetch(PARENTS, start_ns, end_ns)
        ids = [r["order_id"] for r in parents]
        orders = Orders.build(
            order_id=ids,
            symbol=[r["symbol"] for r in parents],
            side=[r["side"] for r in parents],
            quantity=[r["quantity"] for r in parents],
            limit_price=[r["limit_price"] for r in parents],
            ts_received=[r["ts_start"] for r in parents],
            bid=[r["bid"] for r in parents],
            ask=[r["ask"] for r in parents],
            bid_size=[r["bid_size"] for r in parents],
            ask_size=[r["ask_size"] for r in parents],
        )
        children = await self._db.fetch(ROUTES, start_ns, end_ns)
        c_rows, c_ok = _index(ids, [r["order_id"] for r in children])
        routes = Routes.build(
            order=c_rows[c_ok],
            venue=np.asarray([r["venue"] for r in children], dtype=np.str_)[c_ok],
            quantity=np.asarray([r["quantity"] for r in children], dtype=np.int64)[c_ok],
        )
        rows = await self._db.fetch(FILLS, start_ns, end_ns)
        f_rows, f_ok = _index(ids, [r["order_id"] for r in rows])

        def col(name: str, dtype: type = np.int64) -> np.ndarray:
            values: np.ndarray = np.asarray([r[name] for r in rows], dtype=dtype)
            kept: np.ndarray = values[f_ok]
            return kept

        fills = Fills.build(
            order=f_rows[f_ok],
            venue=col("venue", np.str_),
            price=col("price"),
            quantity=col("quantity"),
            fee=col("fee"),
            ts=col("ts_event"),
            maker=col("maker", np.bool_),
            bid=col("bid"),
            ask=col("ask"),
        )
        return RecordedFlow(orders, routes, fills, await self.tape(start_ns, end_ns))

    async def tape(self, start_ns: int, end_ns: int) -> QuoteTape:
        """The recorded market from ``start_ns`` to ``end_ns`` plus the longest horizon."""
        rows = await self._db.fetch(MARKET, start_ns, end_ns, LOOKAHEAD_NS)
        return QuoteTape.from_quotes(
            [r["symbol"] for r in rows],
            [r["ts_event"] for r in rows],
            [r["bid"] for r in rows],
            [r["ask"] for r in rows],
        )

    async def archive_quotes(self, quotes: Sequence[tuple[str, int, int, int]]) -> None:
        """Archive ``(symbol, ts_event, bid, ask)`` NBBO rows (raw); a repeat changes nothing."""
        await self._db.executemany(ARCHIVE_QUOTE, list(quotes))

    async def prune_quote_archive(self, before_ns: int) -> int:
        """Delete archived rows with ``ts_event < before_ns``; returns how many went.

        The retention bound of the archive (``quote_archive.prune_forever`` calls it hourly
        with ``RETENTION_DAYS``); the NBBO snapshots stored with the routing records stay.
        """
        status: str = await self._db.execute(PRUNE_ARCHIVE, before_ns)
        return int(status.rsplit(" ", 1)[-1])
