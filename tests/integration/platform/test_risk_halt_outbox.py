"""Risk's halts and their outbox entries on real PostgreSQL, across the upgrade to the outbox."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from nexus.events import HALT_CODEC, Halt
from nexus.store import create_pool, migrate_dsn
from services.risk.core import HaltRegistry
from services.risk.main import MIGRATIONS
from services.risk.service import RiskService
from services.risk.store import HaltStore
from tests.support.publishing import PoolDatabase, RecordingPublisher

pytestmark = pytest.mark.integration


def halt(event_id: str, target: str = "bob", action: str = "HALT") -> Halt:
    return Halt(
        event_id=event_id,
        ts_event=1,
        scope="USER",
        target=target,
        action=action,
        reason="spoofing",
        source_alert_id=None,
        expires_at_ns=None,
        requested_by="officer",
    )


async def test_events_unpublished_before_the_upgrade_are_handed_to_the_outbox_in_order(
    fresh_database: Callable[[str], Awaitable[str]], tmp_path: Path
) -> None:
    dsn = await fresh_database("risk_outbox")
    shutil.copy(MIGRATIONS / "001_halt_events.sql", tmp_path)
    await migrate_dsn(dsn, tmp_path)  # the database as the previous version left it
    pool = await create_pool(dsn)
    try:
        for event_id, action, published in [("h0", "HALT", True), ("h1", "HALT", False)]:
            await pool.execute(
                "INSERT INTO halt_events (event_id, scope, target, action, reason,"
                " requested_by, ts_event, published) VALUES ($1, 'USER', 'bob', $2, 'x', 'o', 1, $3)",
                event_id,
                action,
                published,
            )
        await migrate_dsn(dsn, MIGRATIONS)
        store = HaltStore(PoolDatabase(pool))
        await store.prepare()
        await store.prepare()  # a second start hands over nothing again
        assert await store.outbox.status("h0") is None  # published by the previous version
        assert await store.outbox.status("h1") == "pending"
        assert await store.record(halt("r1", action="RESUME")) is True
        assert await store.record(halt("r1", action="RESUME")) is False
        assert await store.outbox.pending_count() == 2
        assert await pool.fetchval("SELECT count(*) FROM halt_events WHERE NOT published") == 0

        broker = RecordingPublisher()
        risk = RiskService(HaltRegistry(), store, broker)
        assert await risk.publish_pending() == 2
        assert [HALT_CODEC.decode(v).event_id for _, v, _ in broker.records] == ["h1", "r1"]
        assert await store.outbox.pending_count() == 0
    finally:
        await pool.close()
