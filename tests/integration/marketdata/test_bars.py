"""Intraday bars from trades on the real broker: exact OHLCV, each trade counted once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from nexus.bus import KafkaBus
from nexus.events import TOPIC_TRADES, TRADE_CODEC, Trade
from nexus.web import running_server
from services.marketdata.main import build
from services.marketdata.service import MarketDataOptions
from tests.integration.platform.conftest import SettingsFactory

pytestmark = pytest.mark.integration
P = 10**9
T0 = 1_767_623_400 * P  # 2026-01-05 14:30:00 UTC


def trade(symbol: str, n: int, ts: int, price: str, qty: int) -> Trade:
    whole, _, frac = price.partition(".")
    raw = int(whole) * P + int((frac + "0" * 9)[:9])
    return Trade(
        event_id=f"{symbol}-{n}",
        ts_event=ts,
        symbol=symbol,
        price=raw,
        quantity=qty * P,
        aggressor_side="BUY",
        buy_order_id=f"b{n}",
        sell_order_id=f"s{n}",
        buyer_user_id="u1",
        buyer_account_id="a1",
        seller_user_id="u2",
        seller_account_id="a2",
    )


async def test_trades_delivered_twice_and_out_of_order_make_exact_bars(
    service_settings: SettingsFactory,
    tokens: Callable[[str, str], dict[str, str]],
    unique_name: Callable[[str], str],
) -> None:
    settings = await service_settings("marketdata")
    symbol = "B" + unique_name("").upper()
    app, _, _ = build(settings, MarketDataOptions(seed_symbols=0, quote_symbols=0))
    minute0 = [
        trade(symbol, 1, T0 + 1 * P, "100.10", 10),
        trade(symbol, 2, T0 + 20 * P, "101.50", 5),
        trade(symbol, 3, T0 + 40 * P, "99.90", 7),
        trade(symbol, 4, T0 + 59 * P, "100.00", 3),
    ]
    minute1 = trade(symbol, 5, T0 + 61 * P, "100.25", 1)
    # The first batch misses the open; the open arrives later, and two trades twice.
    sent = [minute0[1], minute0[3], minute0[2], minute0[0], minute0[1], minute0[3], minute1]
    async with (
        running_server(app) as url,
        httpx.AsyncClient(base_url=url, headers=tokens("carol", "compliance")) as http,
    ):
        producer = KafkaBus(settings.kafka_bootstrap or "").producer()
        for t in sent:
            await producer.publish(TOPIC_TRADES, TRADE_CODEC.encode(t), key=symbol.encode())
            await asyncio.sleep(0.05)
        await producer.close()
        bars: list[dict[str, Any]] = []
        async with asyncio.timeout(60):
            while len(bars) < 2:
                response = await http.get("/bars", params={"symbol": symbol})
                assert response.status_code == 200, response.text
                bars = response.json()
                await asyncio.sleep(0.2)

        first, second = bars
        assert first["start"] == "2026-01-05T14:30:00Z" and first["start_ns"] == T0
        assert (first["open"], first["high"], first["low"], first["close"]) == (
            "100.1",
            "101.5",
            "99.9",
            "100",
        )
        assert (first["volume"], first["trades"], first["seconds"]) == ("25", 4, 60)
        assert (second["open"], second["close"], second["volume"], second["trades"]) == (
            "100.25",
            "100.25",
            "1",
            1,
        )
        window = await http.get(
            "/bars",
            params={
                "symbol": symbol,
                "start": "2026-01-05T14:31:00Z",
                "end": "2026-01-05T15:00:00Z",
            },
        )
        assert [b["start_ns"] for b in window.json()] == [T0 + 60 * P]
        latest = await http.get("/bars", params={"symbol": symbol, "limit": 1})
        assert [b["start_ns"] for b in latest.json()] == [T0 + 60 * P]
        assert (await http.get("/bars", params={"symbol": "NOTRADES"})).json() == []
        naive = await http.get("/bars", params={"symbol": symbol, "start": "2026-01-05T14:30:00"})
        assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "$.start"
        backwards = await http.get(
            "/bars",
            params={
                "symbol": symbol,
                "start": "2026-01-05T15:00:00Z",
                "end": "2026-01-05T14:00:00Z",
            },
        )
        assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "start"
