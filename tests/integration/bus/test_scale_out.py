"""Two consumer processes in one group on the real broker: split, order, takeover, no loss."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from nexus.bus import KafkaBus, OutgoingMessage
from nexus.events import TRADE_CODEC
from tests.support.events import make_trade

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
SYMBOLS = [f"SYM{i}" for i in range(12)]
PER_SYMBOL = 150

SCHEMA = """
CREATE TABLE effects (
    applied_order BIGSERIAL,
    event_id TEXT PRIMARY KEY,
    symbol TEXT NOT NULL,
    seq BIGINT NOT NULL,
    worker TEXT NOT NULL
);
CREATE TABLE deliveries (event_id TEXT NOT NULL, worker TEXT NOT NULL);
"""


def _spawn(bootstrap: str, topic: str, group: str, dsn: str, name: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.bus.scale_worker",
            bootstrap,
            topic,
            group,
            dsn,
            name,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def _publish(bus: KafkaBus, topic: str, seqs: range) -> None:
    """All of a phase in one burst (the producer keeps each partition's records in order)."""
    producer = bus.producer()
    await producer.publish_batch(
        [
            OutgoingMessage(topic, TRADE_CODEC.encode(make_trade(seq, symbol)), symbol.encode())
            for seq in seqs
            for symbol in SYMBOLS
        ]
    )
    await producer.close()


async def _wait_for(
    conn: asyncpg.Connection, sql: str, predicate: Callable[[object], bool], limit_s: float
) -> object:
    async with asyncio.timeout(limit_s):
        while True:
            value = await conn.fetchval(sql)
            if predicate(value):
                return value
            await asyncio.sleep(0.1)


async def test_two_processes_split_partitions_and_survivor_takes_over_without_loss(
    kafka_bootstrap: str,
    fresh_database: Callable[[str], Awaitable[str]],
    unique_name: Callable[[str], str],
) -> None:
    dsn = await fresh_database("scale")
    conn = await asyncpg.connect(dsn)
    await conn.execute(SCHEMA)
    bus = KafkaBus(kafka_bootstrap)
    topic, group = unique_name("scale."), unique_name("g")
    await bus.create_topics([topic], partitions=6)
    await _publish(bus, topic, range(PER_SYMBOL // 2))

    alive = _spawn(kafka_bootstrap, topic, group, dsn, "alive")
    doomed = _spawn(kafka_bootstrap, topic, group, dsn, "doomed")
    try:
        # Both members work on their share before one of them dies.
        await _wait_for(
            conn, "SELECT count(DISTINCT worker) FROM effects", lambda v: v == 2, limit_s=60
        )
        doomed_symbols = {
            r["symbol"]
            for r in await conn.fetch("SELECT DISTINCT symbol FROM effects WHERE worker='doomed'")
        }
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
        await _publish(bus, topic, range(PER_SYMBOL // 2, PER_SYMBOL))
        total = len(SYMBOLS) * PER_SYMBOL
        await _wait_for(conn, "SELECT count(*) FROM effects", lambda v: v == total, limit_s=90)
    finally:
        for proc in (alive, doomed):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)

    assert alive.returncode == 0  # graceful SIGTERM shutdown
    # Every event applied exactly once ...
    assert await conn.fetchval("SELECT count(*) FROM effects") == len(SYMBOLS) * PER_SYMBOL
    # ... in its symbol's order ...
    for symbol in SYMBOLS:
        seqs = [
            r["seq"]
            for r in await conn.fetch(
                "SELECT seq FROM effects WHERE symbol=$1 ORDER BY applied_order", symbol
            )
        ]
        assert seqs == list(range(PER_SYMBOL)), symbol
    # ... and the survivor took over the partitions of the killed process.
    late = await conn.fetch(
        "SELECT DISTINCT symbol FROM effects WHERE worker='alive' AND seq >= $1", PER_SYMBOL // 2
    )
    assert doomed_symbols <= {r["symbol"] for r in late}
    await conn.close()
