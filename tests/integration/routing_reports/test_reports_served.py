"""The report routes as the routing service serves them (main.py wiring, real PostgreSQL and
broker): the CSV the dashboard fetches equals the library's report over the same rows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import httpx

from nexus.config import load_settings
from nexus.infra import Stack
from nexus.store import create_pool
from nexus.web import COMPLIANCE, TRADER, Authenticator, running_server
from services.routing.main import RoutingOptions, build
from services.routing.reports.export import csv_606
from services.routing.reports.render import load_sp500, quarter_period
from services.routing.reports.rule606 import compute_606
from services.routing.reports_store import ReportsStore
from tests.integration.routing_reports.flow import generate, write


async def test_served_606_csv_equals_the_library_report(
    stack: Stack, fresh_database: Callable[[str], Awaitable[str]], tmp_path: Path
) -> None:
    dsn = await fresh_database("rsrv")
    settings = replace(
        load_settings({}).with_infra(
            kafka_bootstrap=stack.kafka_bootstrap, pg_dsn=stack.pg_dsn, redis_url=stack.redis_url
        ),
        service_pg_dsns={"routing": dsn},
    )
    built = build(settings, RoutingOptions(internal_venue=False, data_dir=tmp_path))
    auth = Authenticator(settings)
    headers = {"Authorization": f"Bearer {auth.issue_token('c1', [COMPLIANCE])}"}
    async with running_server(built.app) as url, httpx.AsyncClient(base_url=url) as http:
        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            await write(pool, generate(n=60, seed=3))
            flow = await ReportsStore(pool).flow(*quarter_period("2026Q4"))
        finally:
            await pool.close()
        got = await http.get(
            "/reports/606", params={"quarter": "2026Q4", "format": "csv"}, headers=headers
        )
        assert got.status_code == 200, got.text
        want = compute_606("2026Q4", flow.orders, flow.routes, flow.fills, load_sp500())
        assert got.text == csv_606(want)
        r605 = await http.get(
            "/reports/605", params={"month": "2026-12", "format": "csv"}, headers=headers
        )
        assert r605.status_code == 200 and r605.text.startswith("month,part,symbol")
        bad = await http.get("/reports/605", params={"month": "2026-13"}, headers=headers)
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        trader = {"Authorization": f"Bearer {auth.issue_token('t1', [TRADER])}"}
        denied = await http.get("/reports/606", params={"quarter": "2026Q4"}, headers=trader)
        assert denied.status_code == 403
