"""Fixtures for the analytics service on the real stack (broker, PostgreSQL, Redis)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import numpy as np
import pytest

from nexus.bus import KafkaBus
from nexus.config import Settings
from nexus.events import QUOTE_CODEC, TOPIC_QUOTES, TOPIC_TRADES, TRADE_CODEC, QuoteL1, Trade
from nexus.money import Fixed
from nexus.runtime import ServiceRuntime
from nexus.web import running_server
from services.analytics.main import AnalyticsOptions, build
from services.analytics.service import AnalyticsService
from tests.integration.platform.conftest import SettingsFactory, service_settings, tokens

__all__ = ["Running", "service_settings", "tokens"]

P = 10**9
SYMBOLS = ("AAPL", "MSFT", "XOM", "SPY")
DAYS = 300
Headers = Callable[[str, str], dict[str, str]]


def weekdays_until(end: dt.date, n: int) -> list[dt.date]:
    """The ``n`` weekdays ending on (or before) ``end``, ascending."""
    out: list[dt.date] = []
    day = end
    while len(out) < n:
        if day.weekday() < 5:
            out.append(day)
        day -= dt.timedelta(days=1)
    return out[::-1]


def closes_table(
    symbols: tuple[str, ...] = SYMBOLS, days: int = DAYS, seed: int = 7
) -> dict[str, list[tuple[dt.date, str]]]:
    """Deterministic daily closes (a factor model: every symbol loads on the last one)."""
    rng = np.random.default_rng(seed)
    dates = weekdays_until(dt.date.today(), days)
    market = rng.normal(0.0003, 0.01, days)
    out: dict[str, list[tuple[dt.date, str]]] = {}
    for k, symbol in enumerate(symbols):
        beta = 1.0 if symbol == "SPY" else 0.6 + 0.2 * k
        idio = 0.0 if symbol == "SPY" else rng.normal(0.0, 0.012, days)
        path = (100.0 + 20 * k) * np.exp(np.cumsum(beta * market + idio))
        out[symbol] = [(d, f"{p:.2f}") for d, p in zip(dates, path, strict=True)]
    return out


def load_body(table: dict[str, list[tuple[dt.date, str]]]) -> dict[str, object]:
    """``POST /prices`` body of a closes table."""
    return {
        "closes": [
            {"symbol": s, "date": d.isoformat(), "close": c}
            for s, rows in table.items()
            for d, c in rows
        ],
        "instruments": [{"symbol": "XOM", "asset_class": "equity", "sector": "energy"}]
        if "XOM" in table
        else [],
    }


def trade(
    trade_id: str, buyer: str, seller: str, symbol: str, price: str, qty: int, ts: int = 0
) -> Trade:
    """A trade of ``qty`` units at ``price`` (decimal string)."""
    whole, _, frac = price.partition(".")
    raw = int(whole) * P + int((frac + "0" * 9)[:9])
    return Trade(
        event_id=trade_id,
        ts_event=1_700_000_000_000_000_000 + ts,
        symbol=symbol,
        price=raw,
        quantity=qty * P,
        aggressor_side="BUY",
        buy_order_id=f"b-{trade_id}",
        sell_order_id=f"s-{trade_id}",
        buyer_user_id=buyer,
        buyer_account_id=f"{buyer}-acc",
        seller_user_id=seller,
        seller_account_id=f"{seller}-acc",
    )


def quote(symbol: str, bid: str, ask: str, ts: int) -> QuoteL1:
    """A two-sided top-of-book quote."""
    return QuoteL1(
        event_id=f"q-{symbol}-{ts}",
        ts_event=ts,
        symbol=symbol,
        venue="NEXUS",
        bid_price=Fixed.from_str(bid).raw,
        bid_size=100 * P,
        ask_price=Fixed.from_str(ask).raw,
        ask_size=100 * P,
    )


async def eventually(
    check: Callable[[], Awaitable[bool]], seconds: float = 30.0, interval: float = 0.05
) -> None:
    """Wait until ``check()`` is true (fails the test after ``seconds``)."""
    async with asyncio.timeout(seconds):
        while not await check():
            await asyncio.sleep(interval)


@dataclass
class Running:
    """A started analytics service and what a test needs around it."""

    http: httpx.AsyncClient
    url: str
    runtime: ServiceRuntime
    service: AnalyticsService
    settings: Settings
    tokens: Headers

    async def publish_trades(self, trades: list[Trade]) -> None:
        producer = KafkaBus(self.settings.kafka_bootstrap or "").producer()
        try:
            for t in trades:
                await producer.publish(TOPIC_TRADES, TRADE_CODEC.encode(t), key=t.symbol.encode())
        finally:
            await producer.close()

    async def publish_quotes(self, quotes: list[QuoteL1]) -> None:
        producer = KafkaBus(self.settings.kafka_bootstrap or "").producer()
        try:
            for q in quotes:
                await producer.publish(TOPIC_QUOTES, QUOTE_CODEC.encode(q), key=q.symbol.encode())
        finally:
            await producer.close()

    async def positions(self, user: str) -> dict[str, str]:
        resp = await self.http.get(f"/users/{user}/positions", headers=self.tokens(user, "trader"))
        assert resp.status_code == 200, resp.text
        return {p["symbol"]: p["quantity"] for p in resp.json()}

    async def wait_positions(self, user: str, expected: dict[str, str]) -> None:
        async def check() -> bool:
            return await self.positions(user) == expected

        await eventually(check)

    async def load(self, table: dict[str, list[tuple[dt.date, str]]]) -> httpx.Response:
        resp = await self.http.post(
            "/prices", json=load_body(table), headers=self.tokens("loader", "admin")
        )
        assert resp.status_code == 200, resp.text
        return resp


@pytest.fixture
def options() -> AnalyticsOptions:
    """How the service under test is composed (override in a module to change it)."""
    return AnalyticsOptions()


@pytest.fixture
async def analytics(
    service_settings: SettingsFactory, tokens: Headers, options: AnalyticsOptions
) -> AsyncIterator[Running]:
    """The analytics service on a fresh database, seeded with :func:`closes_table`."""
    settings = await service_settings("analytics")
    app, runtime, service = build(settings, options)
    async with running_server(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        running = Running(http, url, runtime, service, settings, tokens)
        await running.load(closes_table())
        yield running


@pytest.fixture
def user(unique_name: Callable[[str], str]) -> str:
    """A user id of this test only."""
    return unique_name("u")


@pytest.fixture
async def holder(analytics: Running, user: str, unique_name: Callable[[str], str]) -> str:
    """``user`` long 100 AAPL, 50 MSFT and 30 XOM, short 10 SPY (bought from a counterparty)."""
    other = unique_name("cp")
    await analytics.publish_trades(
        [
            trade(f"{user}-1", user, other, "AAPL", "150.00", 100, 1),
            trade(f"{user}-2", user, other, "MSFT", "300.00", 50, 2),
            trade(f"{user}-3", user, other, "XOM", "80.00", 30, 3),
            trade(f"{user}-4", other, user, "SPY", "400.00", 10, 4),
        ]
    )
    await analytics.wait_positions(user, {"AAPL": "100", "MSFT": "50", "XOM": "30", "SPY": "-10"})
    return user
