"""The orders service: trades from the real broker become positions, once per trade."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from nexus.bus import KafkaBus
from nexus.events import TOPIC_TRADES, TRADE_CODEC, Trade
from nexus.web import running_server
from services.orders.main import build
from tests.integration.platform.conftest import SettingsFactory

pytestmark = pytest.mark.integration
P = 10**9


def trade(n: int, buyer: str, seller: str, price: int, qty: int, symbol: str = "AAPL") -> Trade:
    return Trade(
        event_id=f"{buyer}-{n}",
        ts_event=1_700_000_000_000_000_000 + n,
        symbol=symbol,
        price=price * P,
        quantity=qty * P,
        aggressor_side="BUY",
        buy_order_id=f"b{n}",
        sell_order_id=f"s{n}",
        buyer_user_id=buyer,
        buyer_account_id=buyer + "-acc",
        seller_user_id=seller,
        seller_account_id=seller + "-acc",
    )


async def test_trades_delivered_twice_change_positions_once_and_are_served(
    service_settings: SettingsFactory,
    tokens: Callable[[str, str], dict[str, str]],
    unique_name: Callable[[str], str],
) -> None:
    settings = await service_settings("orders")
    app, runtime, _ = build(settings)
    alice, bob = unique_name("alice"), unique_name("bob")
    trades = [
        trade(1, alice, bob, 100, 10),
        trade(2, alice, bob, 110, 30),
        trade(3, bob, alice, 120, 20),
    ]
    async with running_server(app) as url, httpx.AsyncClient(base_url=url) as http:
        producer = KafkaBus(settings.kafka_bootstrap or "").producer()
        for t in [*trades, trades[0], trades[2]]:  # the broker delivers two of them twice
            await producer.publish(TOPIC_TRADES, TRADE_CODEC.encode(t), key=t.symbol.encode())
        await producer.close()
        async with asyncio.timeout(30):
            while runtime.runners[0].stats.processed < 5:
                await asyncio.sleep(0.05)

        mine = await http.get(f"/users/{alice}/positions", headers=tokens(alice, "trader"))
        assert mine.status_code == 200, mine.text
        [position] = mine.json()
        assert position["quantity"] == "20"
        assert position["avg_cost"] == "107.5"
        assert position["realized_pnl"] == "250"
        bobs = (await http.get(f"/users/{bob}/positions", headers=tokens("r", "risk"))).json()
        assert bobs[0]["quantity"] == "-20"

        first = await http.get(
            f"/users/{alice}/fills", params={"limit": 2}, headers=tokens(alice, "trader")
        )
        body = first.json()
        assert [f["trade_id"] for f in body["items"]] == [f"{alice}-1", f"{alice}-2"]
        rest = await http.get(
            f"/users/{alice}/fills",
            params={"limit": 2, "cursor": body["next_cursor"]},
            headers=tokens(alice, "trader"),
        )
        assert [f["side"] for f in rest.json()["items"]] == ["SELL"]
        assert rest.json()["items"][0]["notional"] == "2400"

        assert (
            await http.get(f"/users/{bob}/positions", headers=tokens(alice, "trader"))
        ).status_code == 403
        assert (await http.get(f"/users/{alice}/positions")).status_code == 401
        bad = await http.get(
            f"/users/{alice}/fills", params={"limit": 0}, headers=tokens(alice, "trader")
        )
        assert bad.status_code in (400, 422)
