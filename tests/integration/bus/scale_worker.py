"""A consumer process for the scale-out test: applies trades to PostgreSQL idempotently.

Run as ``python -m tests.integration.bus.scale_worker BOOTSTRAP TOPIC GROUP DSN NAME``.
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from nexus.bus import ConsumerRunner, Delivery, KafkaBus
from nexus.events import TRADE_CODEC, Trade

APPLY = """
INSERT INTO effects (event_id, symbol, seq, worker) VALUES ($1, $2, $3, $4)
ON CONFLICT (event_id) DO NOTHING
"""


async def main(bootstrap: str, topic: str, group: str, dsn: str, name: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)

    async def handle(batch: list[Delivery[Trade]]) -> None:
        rows = [
            (d.event.event_id, d.event.symbol, int(d.event.event_id.rsplit("-", 1)[1]), name)
            for d in batch
        ]
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany(APPLY, rows)
            await conn.executemany(
                "INSERT INTO deliveries (event_id, worker) VALUES ($1, $2)",
                [(r[0], name) for r in rows],
            )
        await asyncio.sleep(0.02)  # keep the stream running long enough to kill us mid-way

    runner = ConsumerRunner(
        KafkaBus(bootstrap),
        group,
        handle,
        topics=[topic],
        decoder=lambda _t, v: TRADE_CODEC.decode(v),
        max_batch=20,
    )
    runner.install_signal_handlers()
    await runner.run()
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
