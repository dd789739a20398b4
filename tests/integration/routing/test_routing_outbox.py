"""Routing's events go through the nexus outbox; the old ``routing_outbox`` is drained at start."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from nexus.outbox import BUS, BusSink, OutboxDispatcher
from nexus.store import create_pool, migrate_dsn
from services.routing.main import MIGRATIONS
from services.routing.store import RoutingStore
from tests.support.publishing import PoolDatabase, RecordingPublisher

pytestmark = pytest.mark.integration


async def test_events_the_old_relay_left_are_handed_over_once_and_published_in_order(
    fresh_database: Callable[[str], Awaitable[str]], tmp_path: Path
) -> None:
    dsn = await fresh_database("routing_outbox")
    for old in ("001_routing.sql", "002_quote_archive.sql"):
        shutil.copy(MIGRATIONS / old, tmp_path)
    await migrate_dsn(dsn, tmp_path)  # the database as the previous version left it
    pool = await create_pool(dsn)
    try:
        for event_id, topic, published in [
            ("d0", "routing.decisions", True),
            ("d1", "routing.decisions", False),
            ("d1", "routing.executions", False),  # same event id on another topic
        ]:
            await pool.execute(
                "INSERT INTO routing_outbox (event_id, topic, key, payload, published)"
                " VALUES ($1, $2, 'AAPL', $3, $4)",
                event_id,
                topic,
                f"{topic}/{event_id}".encode(),
                published,
            )
        await migrate_dsn(dsn, MIGRATIONS)
        store = RoutingStore(PoolDatabase(pool))
        await store.prepare()
        await store.prepare()  # a second start hands over nothing again
        assert await store.outbox.pending_count() == 2

        broker = RecordingPublisher()
        relay = OutboxDispatcher(store.outbox, {BUS: BusSink(broker)})
        assert await relay.drain() == 2
        assert broker.records == [
            ("routing.decisions", b"routing.decisions/d1", b"AAPL"),
            ("routing.executions", b"routing.executions/d1", b"AAPL"),
        ]
    finally:
        await pool.close()
