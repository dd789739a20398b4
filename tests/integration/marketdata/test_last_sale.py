"""Last sale and mark from trades.executed; venue quotes start from the last sale."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import httpx
import pytest

from nexus.events import QuoteL1
from nexus.web import running_server
from services.marketdata.main import build
from services.marketdata.service import MarketDataOptions
from tests.integration.marketdata.test_bars import T0, P, trade
from tests.integration.platform.conftest import SettingsFactory

pytestmark = pytest.mark.integration

OPTIONS = MarketDataOptions(
    seed_symbols=2,
    symbol_prefix="LS",
    seed_days=10,
    seed=5,
    seed_end=dt.date(2024, 3, 28),
    quote_symbols=0,
)


async def test_last_sale_is_the_newest_trade_and_becomes_the_mark(
    service_settings: SettingsFactory, tokens: Callable[[str, str], dict[str, str]]
) -> None:
    app, _, service = build(await service_settings("marketdata"), OPTIONS)
    async with (
        running_server(app) as url,
        httpx.AsyncClient(base_url=url, headers=tokens("alice", "trader")) as http,
    ):
        before = (await http.get("/prices/latest", params={"symbols": "LS0000,LS0001"})).json()
        assert [r["last_sale"] for r in before] == [None, None]
        assert [r["mark"] for r in before] == [r["close"] for r in before]
        newer = trade("LS0000", 2, T0 + 5 * P, "61.65", 10)
        older = trade("LS0000", 1, T0 + 1 * P, "60.00", 10)
        await service.on_trades([newer])
        await service.on_trades([older, newer])  # late and redelivered: the mark stays
        rows = (await http.get("/prices/latest", params={"symbols": "LS0000,LS0001"})).json()
        assert rows[0]["last_sale"] == "61.65"
        assert rows[0]["last_sale_ts_ns"] == T0 + 5 * P
        assert rows[0]["mark"] == "61.65"
        assert rows[1]["last_sale"] is None and rows[1]["mark"] == rows[1]["close"]


async def test_quotes_start_each_window_from_the_last_sale(
    service_settings: SettingsFactory,
) -> None:
    options = MarketDataOptions(
        seed_symbols=1, symbol_prefix="LQ", seed_days=10, seed=5, quote_symbols=1
    )
    app, _, service = build(await service_settings("marketdata"), options)
    async with running_server(app):
        ((symbol, close),) = await service.quote_universe()
        assert symbol == "LQ0000"
        await service.on_trades([trade("LQ0000", 1, T0, "61.65", 10)])
        ((_, mid),) = service.anchored_mids([(symbol, close)])
        assert mid == 6165 * P // 100
        quotes = [q for q in service.quote_window([(symbol, mid)], T0, 0) if isinstance(q, QuoteL1)]
        for q in quotes:  # every venue quotes around the traded price, not the old close
            assert abs((q.bid_price + q.ask_price) / 2 - mid) / mid < 0.005
        # a window that walked away starts the next one from the last sale again
        ((_, again),) = service.anchored_mids([(symbol, mid + 7 * P)])
        assert again == mid
        # a restarted service picks the last sale up from the store
        service.last_sale.clear()
        ((_, mark),) = await service.quote_universe()
        assert mark == 6165 * P // 100
