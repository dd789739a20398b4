"""A consumer process for the scale-out test: applies trades to PostgreSQL idempotently.

Run as ``python -m tests.integration.bus.scale_worker BOOTSTRAP TOPIC GROUP DSN NAME``.

Tuned for the test's pace, not its semantics: the broker may hold an empty fetch 50 ms (the
runner reads its lag after every batch, and that request waits behind the held fetch: at the
default 500 ms a batch of 20 took half a second), and the session times out after 3 s rather
than 6 s, so the killed member's partitions move sooner (heartbeats stay at 1 s).
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from nexus.bus import ConsumerRunner, Delivery, KafkaBus, kafka
from nexus.events import TRADE_CODEC, Trade

APPLY = """
INSERT INTO effects (event_id, symbol, seq, worker) VALUES ($1, $2, $3, $4)
ON CONFLICT (event_id) DO NOTHING
"""
FETCH_MAX_WAIT_MS = 50
SESSION_TIMEOUT_MS = 3_000


async def main(bootstrap: str, topic: str, group: str, dsn: str, name: str) -> None:
    kafka.SESSION_TIMEOUT_MS = SESSION_TIMEOUT_MS  # read when the consumer is made
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
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    runner.install_signal_handlers()
    await runner.run()
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
