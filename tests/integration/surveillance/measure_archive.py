"""Measure the archive: write and read-back rates and bytes per event on simulated flow.

``python -m tests.integration.surveillance.measure_archive [--seconds 20]`` starts the embedded
stack (or uses ``NEXUS_*``), archives the simulator's relevant events in batches of 1,000, reads
them back decoded, and prints the rates. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from nexus.bus import Message
from nexus.config import load_settings
from nexus.events import ORDER_CODEC, TRADE_CODEC
from nexus.infra import Stack, drop_database, ensure_database, start_stack
from nexus.sim import SimConfig, simulate
from nexus.store import create_pool, migrate_dsn
from services.surveillance.archive import EventArchive
from services.surveillance.service import relevant

MIGRATIONS = Path(__file__).parents[3] / "services" / "surveillance" / "migrations"


class _Db:
    def __init__(self, pool: Any) -> None:
        self.pool = pool


async def measure(stack: Stack, seconds: int) -> None:
    name = f"nexus_measure_{uuid.uuid4().hex[:6]}"
    dsn = await ensure_database(stack.pg_dsn, name)
    await migrate_dsn(dsn, MIGRATIONS)
    pool = await create_pool(dsn)
    try:
        result = simulate(SimConfig(seed=3, symbols=20, users=300, seconds=seconds))
        records: list[tuple[Message, Any]] = []

        def collect(topic: str, key: bytes, payload: bytes) -> None:
            codec = TRADE_CODEC if topic.startswith("trades.") else ORDER_CODEC
            event = codec.decode(payload)
            if relevant(event):
                records.append((Message(topic, 0, len(records), key, payload), event))

        result.publish(collect)
        archive = EventArchive(_Db(pool))
        started = time.perf_counter()
        for i in range(0, len(records), 1_000):
            await archive.append(records[i : i + 1_000])
        wrote = time.perf_counter() - started
        started = time.perf_counter()
        read = 0
        async for chunk in archive.read(0, 2**63 - 1):
            read += len(chunk)
        took = time.perf_counter() - started
        size = await pool.fetchval("SELECT pg_total_relation_size('archive_batches')")
        print(f"events: {len(records):,}")
        print(f"append: {len(records) / wrote:,.0f} events/s ({wrote:.2f} s)")
        print(f"read + decode: {read / took:,.0f} events/s ({took:.2f} s)")
        print(f"stored: {size / len(records):.0f} bytes/event")
    finally:
        await pool.close()
        await drop_database(stack.pg_dsn, name)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.integration.surveillance.measure_archive"
    )
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    stack = start_stack(load_settings())
    try:
        asyncio.run(measure(stack, args.seconds))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
