"""Redis result cache (real Redis): hits, invalidation after trades and price changes; access."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import httpx
import pytest

from nexus.money import Fixed
from nexus.web import running_server
from services.analytics.main import AnalyticsOptions, build
from services.analytics.results_cache import RedisResultCache
from services.analytics.store import Close
from tests.integration.analytics.conftest import (
    Headers,
    Running,
    closes_table,
    load_body,
    trade,
)
from tests.integration.platform.conftest import SettingsFactory

pytestmark = pytest.mark.integration

VAR = {"confidence": "0.99", "horizon": "1", "method": "historical"}


def _results(analytics: Running) -> RedisResultCache:
    results = analytics.service.results
    assert isinstance(results, RedisResultCache)
    return results


async def _var(analytics: Running, user: str) -> dict[str, object]:
    resp = await analytics.http.get(
        f"/users/{user}/var", params=VAR, headers=analytics.tokens(user, "trader")
    )
    assert resp.status_code == 200, resp.text
    body: dict[str, object] = resp.json()
    return body


async def test_second_read_is_served_from_redis(analytics: Running, holder: str) -> None:
    results = _results(analytics)
    first = await _var(analytics, holder)
    misses, hits = results.misses, results.hits
    assert await _var(analytics, holder) == first
    assert (results.misses, results.hits) == (misses, hits + 1)


async def test_read_after_a_trade_never_returns_the_pre_trade_var(
    analytics: Running, holder: str, unique_name: Callable[[str], str]
) -> None:
    before = await _var(analytics, holder)
    await _var(analytics, holder)  # cached now
    other = unique_name("cp")
    await analytics.publish_trades([trade(f"{holder}-more", holder, other, "AAPL", "150", 400, 9)])
    await analytics.wait_positions(holder, {"AAPL": "500", "MSFT": "50", "XOM": "30", "SPY": "-10"})
    after = await _var(analytics, holder)
    assert Decimal(str(after["var"])) > Decimal(str(before["var"]))
    assert after["portfolio_value"] != before["portfolio_value"]


async def test_trade_bumps_the_users_cache_namespace_in_redis(
    analytics: Running, holder: str, unique_name: Callable[[str], str]
) -> None:
    results = _results(analytics)
    key = f"{results.cache.prefix}:analytics:u:{holder}:v"
    await _var(analytics, holder)
    version = await results.cache.redis.get(key)
    assert version is not None
    other = unique_name("cp")
    await analytics.publish_trades([trade(f"{holder}-x", holder, other, "XOM", "80", 1, 9)])
    await analytics.wait_positions(holder, {"AAPL": "100", "MSFT": "50", "XOM": "31", "SPY": "-10"})
    assert await results.cache.redis.get(key) != version


async def test_history_correction_drops_cached_var_of_holders(
    analytics: Running, holder: str
) -> None:
    before = await _var(analytics, holder)
    table = closes_table()
    # a bad print 100 days ago: a 40% drop and back (latest prices stay the same)
    day, close = table["AAPL"][-100]
    crash = f"{Decimal(close) * Decimal('0.6'):.2f}"
    resp = await analytics.load({"AAPL": [(day, crash)]})
    assert resp.json()["changed_symbols"] == ["AAPL"]
    after = await _var(analytics, holder)
    assert Decimal(str(after["var"])) > Decimal(str(before["var"]))
    assert after["portfolio_value"] == before["portfolio_value"]


async def test_reloading_identical_closes_changes_nothing(analytics: Running) -> None:
    resp = await analytics.load(closes_table())
    assert resp.json()["changed_symbols"] == ["XOM"]  # only its classification was re-sent


async def test_missing_token_is_401_problem(analytics: Running, holder: str) -> None:
    resp = await analytics.http.get(f"/users/{holder}/var", params=VAR)
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.headers["www-authenticate"].startswith("Bearer")


async def test_trader_cannot_read_another_users_portfolio(analytics: Running, holder: str) -> None:
    for path in ("summary", "positions", "var", "var/backtest"):
        resp = await analytics.http.get(
            f"/users/{holder}/{path}", headers=analytics.tokens("mallory", "trader")
        )
        assert resp.status_code == 403, path
        assert resp.json()["type"].endswith("/forbidden")
    stress = await analytics.http.post(
        f"/users/{holder}/stress",
        json={"scenarios": ["gfc_2008"]},
        headers=analytics.tokens("mallory", "trader"),
    )
    assert stress.status_code == 403


@pytest.mark.parametrize("role", ["risk", "compliance", "admin"])
async def test_risk_compliance_and_admin_read_any_portfolio(
    analytics: Running, holder: str, role: str
) -> None:
    resp = await analytics.http.get(
        f"/users/{holder}/summary", headers=analytics.tokens("officer", role)
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["user_id"] == holder


async def test_only_admin_or_service_may_load_prices(analytics: Running) -> None:
    body = {"closes": [{"symbol": "AAPL", "date": dt.date.today().isoformat(), "close": "1"}]}
    for role, status in (("trader", 403), ("risk", 403)):
        resp = await analytics.http.post("/prices", json=body, headers=analytics.tokens("x", role))
        assert resp.status_code == status
    bad = {"closes": [{"symbol": "AAPL", "date": "2024-01-02", "close": "0"}]}
    resp = await analytics.http.post("/prices", json=bad, headers=analytics.tokens("x", "service"))
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "$.closes[0].close"


async def test_redis_down_reads_compute_and_loads_answer_503(
    service_settings: SettingsFactory, tokens: Headers, user: str, unique_name: Callable[[str], str]
) -> None:
    settings = replace(await service_settings("analytics"), redis_url="redis://127.0.0.1:9/0")
    options = AnalyticsOptions(consume_quotes=False, trades_group=unique_name("g"))
    app, _, service = build(settings, options)
    async with running_server(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        await service.price_store.load_closes(
            [Close(s, d, Fixed.from_str(c)) for s, rows in closes_table().items() for d, c in rows]
        )
        await service.positions.apply_trades([trade(f"{user}-1", user, "cp", "AAPL", "150", 5, 1)])
        var = await http.get(f"/users/{user}/var", headers=tokens(user, "trader"))
        assert var.status_code == 200, var.text  # the cache is skipped, the answer computed
        load = await http.post(
            "/prices",
            json=load_body({"AAPL": closes_table()["AAPL"][-1:]}),
            headers=tokens("loader", "admin"),
        )
    assert load.status_code == 503  # the invalidation could not be done: the caller must retry
    assert load.headers["content-type"].startswith("application/problem+json")
