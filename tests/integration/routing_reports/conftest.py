"""Fixtures of the routing report tests: a seeded quarter of routed flow in PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from nexus.store import create_pool, migrate_dsn
from services.routing.main import MIGRATIONS
from services.routing.reports.render import month_period, quarter_period
from services.routing.reports_store import RecordedFlow, ReportsStore
from tests.integration.routing_reports.flow import Flow, generate, write


@pytest.fixture
async def seeded(
    fresh_database: Callable[[str], Awaitable[str]],
) -> AsyncIterator[tuple[str, Flow, RecordedFlow, RecordedFlow]]:
    dsn = await fresh_database("rrep")
    await migrate_dsn(dsn, MIGRATIONS)
    pool = await create_pool(dsn, min_size=1, max_size=2)
    flow = generate()
    try:
        await write(pool, flow)
        store = ReportsStore(pool)
        quarter = await store.flow(*quarter_period("2026Q4"))
        december = await store.flow(*month_period("2026-12"))
        yield dsn, flow, quarter, december
    finally:
        await pool.close()
