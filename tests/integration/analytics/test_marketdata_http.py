"""Prices over HTTP from the real market data service (chassis client, breaker, Redis cache)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from decimal import Decimal

import httpx
import pytest

from nexus.web import running_server
from services.analytics.main import AnalyticsOptions
from services.analytics.main import build as build_analytics
from services.marketdata.main import build as build_marketdata
from services.marketdata.service import MarketDataOptions
from tests.integration.analytics.conftest import Headers, Running, eventually, quote, trade
from tests.integration.platform.conftest import SettingsFactory

pytestmark = pytest.mark.integration

SEEDED = MarketDataOptions(seed_symbols=4, seed_days=260, seed=5, quote_symbols=0)


@pytest.fixture
async def over_http(service_settings: SettingsFactory, tokens: Headers) -> AsyncIterator[Running]:
    """Market data seeded with S0000..S0003, and analytics reading prices from it over HTTP."""
    settings = await service_settings("marketdata", "analytics")
    md_app, _, _ = build_marketdata(settings, SEEDED)
    async with running_server(md_app) as md_url:
        wired = replace(settings, service_urls={"marketdata": md_url})
        app, runtime, service = build_analytics(wired, AnalyticsOptions(prices="http"))
        async with (
            running_server(app) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as http,
        ):
            yield Running(http, url, runtime, service, wired, tokens)


async def test_var_with_prices_from_the_market_data_service(
    over_http: Running, user: str, unique_name: Callable[[str], str]
) -> None:
    other = unique_name("cp")
    await over_http.publish_trades(
        [
            trade(f"{user}-1", user, other, "S0000", "10", 100, 1),
            trade(f"{user}-2", user, other, "S0001", "10", 200, 2),
        ]
    )
    await over_http.wait_positions(user, {"S0000": "100", "S0001": "200"})
    headers = over_http.tokens(user, "trader")
    resp = await over_http.http.get(
        f"/users/{user}/var", params={"method": "parametric_normal"}, headers=headers
    )
    assert resp.status_code == 200, resp.text
    assert Decimal(resp.json()["var"]) > 0
    corr = await over_http.http.get(f"/users/{user}/correlation", headers=headers)
    assert corr.status_code == 200, corr.text
    assert corr.json()["symbols"] == ["S0000", "S0001"]


async def test_symbol_unknown_to_market_data_is_404(
    over_http: Running, user: str, unique_name: Callable[[str], str]
) -> None:
    other = unique_name("cp")
    await over_http.publish_trades([trade(f"{user}-1", user, other, "NOPE", "10", 1, 1)])
    seen: list[httpx.Response] = []

    async def answered() -> bool:
        seen.append(
            await over_http.http.get(
                f"/users/{user}/summary", headers=over_http.tokens(user, "trader")
            )
        )
        return seen[-1].status_code != 200

    await eventually(answered)
    assert seen[-1].status_code == 404, seen[-1].text
    assert "NOPE" in seen[-1].json()["detail"]


async def test_market_data_down_is_503_problem(
    service_settings: SettingsFactory, tokens: Headers, user: str
) -> None:
    settings = await service_settings("analytics")
    wired = replace(settings, service_urls={"marketdata": "http://127.0.0.1:9"})
    app, _, service = build_analytics(wired, AnalyticsOptions(prices="http", cache=False))
    async with running_server(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        # a position exists only in the database here: insert it through the store directly
        await service.positions.apply_trades([trade(f"{user}-1", user, "cp", "S0000", "10", 1, 1)])
        resp = await http.get(f"/users/{user}/summary", headers=tokens(user, "trader"))
    assert resp.status_code == 503
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "marketdata" in resp.json()["detail"]


async def test_quote_mids_move_latest_prices_between_market_data_closes(
    over_http: Running, user: str, unique_name: Callable[[str], str]
) -> None:
    other = unique_name("cp")
    await over_http.publish_trades(
        [
            trade(f"{user}-1", user, other, "S0002", "10", 10, 1),
            trade(f"{user}-2", user, other, "S0003", "10", 10, 2),
        ]
    )
    await over_http.wait_positions(user, {"S0002": "10", "S0003": "10"})
    await over_http.publish_quotes([quote("S0002", "77.00", "77.10", 3 * 10**18)])

    async def moved() -> bool:
        resp = await over_http.http.get(
            f"/users/{user}/positions", headers=over_http.tokens(user, "trader")
        )
        prices = {p["symbol"]: p["price"] for p in resp.json()}
        return bool(prices["S0002"] == "77.05" and prices["S0003"] != "77.05")

    await eventually(moved)
