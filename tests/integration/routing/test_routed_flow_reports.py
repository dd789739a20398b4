"""Simulated customers route through the real stack; the reports match the raw stored rows.

``nexus.sim.routed`` (what ``make run`` starts) sends parents to the routing service, which
executes them over FIX on the venue processes and on the internal venue and records
everything; ``tools.report_check`` then recomputes the 606, 605 and markout figures with
loops over the raw rows and compares them with the report library's.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import pytest

from nexus.sim.routed import RoutedStats, run_flow
from tests.integration.routing.conftest import RoutingStack
from tools.report_check import check

pytestmark = [pytest.mark.integration]


async def test_reports_of_a_routed_customer_flow_match_the_raw_rows(
    routing_stack: RoutingStack,
) -> None:
    stats = RoutedStats()
    await run_flow(
        routing_stack.url,
        routing_stack.auth.issue_token("simulator", ["service"]),
        rate=50.0,
        symbols=["RT0", "RT1"],
        users=["C00001", "C00002", "C00003"],
        stop=asyncio.Event(),
        stats=stats,
        seed=11,
        limit=60,
    )
    assert stats.errors == 0 and stats.no_quote == 0
    assert stats.by_status.get("201", 0) >= 50, stats.as_dict()
    today = dt.datetime.now(dt.UTC).date()
    quarter, month = f"{today.year}Q{(today.month - 1) // 3 + 1}", f"{today:%Y-%m}"
    conn = await asyncpg.connect(routing_stack.settings.service_pg_dsns["routing"])
    try:
        result = await check(conn, quarter, month)
    finally:
        await conn.close()
    assert result.problems == [], "\n".join(result.problems)
    ours = [p for p in result.quarter_flow.parents.values() if p.symbol in ("RT0", "RT1")]
    assert len(ours) >= 50
    assert set(stats.by_type) == {"market", "marketable_limit", "non_marketable_limit"}
    assert len(result.month_flow.fills) >= 30
    venues = {f.venue for f in result.month_flow.fills}
    assert len(venues) >= 2, venues
