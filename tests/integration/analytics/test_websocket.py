"""WebSocket summary push through a real uvicorn server: trades and price moves, reconnects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from nexus.config import load_settings
from nexus.web import Authenticator
from tests.integration.analytics.conftest import Running, quote, trade

pytestmark = pytest.mark.integration

ALL = {"AAPL": "100", "MSFT": "50", "XOM": "30", "SPY": "-10"}


def _token(subject: str, roles: str) -> str:
    return Authenticator(load_settings({})).issue_token(subject, roles.split("|"))


def _ws_url(analytics: Running, token: str | None = None) -> str:
    url = analytics.url.replace("http://", "ws://") + "/ws/summary"
    return f"{url}?token={token}" if token else url


async def _recv(ws: ClientConnection, seconds: float = 20.0) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        message: dict[str, Any] = json.loads(await ws.recv())
    return message


async def _subscribe(ws: ClientConnection, user_id: str | None = None) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "subscribe", "user_id": user_id}))
    return await _recv(ws)


async def test_snapshot_first_then_push_after_a_trade(
    analytics: Running, holder: str, unique_name: Callable[[str], str]
) -> None:
    async with connect(_ws_url(analytics, _token(holder, "trader"))) as ws:
        hello = await _recv(ws)
        assert hello == {"type": "authenticated", "subject": holder, "roles": ["trader"]}
        snapshot = await _subscribe(ws)
        assert snapshot["type"] == "snapshot" and snapshot["seq"] == 1
        assert snapshot["summary"]["n_positions"] == 4
        other = unique_name("cp")
        await analytics.publish_trades([trade(f"{holder}-ws", holder, other, "AAPL", "150", 1, 9)])
        update = await _recv(ws)
        assert update["type"] == "update" and update["seq"] == 2
        assert update["summary"]["long_value"] != snapshot["summary"]["long_value"]
        await ws.send(json.dumps({"type": "ping"}))
        assert (await _recv(ws))["type"] == "pong"


async def test_push_after_a_price_move(analytics: Running, holder: str) -> None:
    async with connect(_ws_url(analytics, _token(holder, "trader"))) as ws:
        await _recv(ws)
        snapshot = await _subscribe(ws)
        await analytics.publish_quotes([quote("MSFT", "500.00", "500.10", 2 * 10**18)])
        update = await _recv(ws)
        assert update["type"] == "update"
        assert update["summary"]["market_value"] != snapshot["summary"]["market_value"]


async def test_reconnect_and_resubscribe_gets_the_current_snapshot_first(
    analytics: Running, holder: str, unique_name: Callable[[str], str]
) -> None:
    async with connect(_ws_url(analytics, _token(holder, "trader"))) as ws:
        await _recv(ws)
        before = await _subscribe(ws)
    other = unique_name("cp")
    await analytics.publish_trades([trade(f"{holder}-gap", holder, other, "XOM", "80", 70, 9)])
    await analytics.wait_positions(holder, {**ALL, "XOM": "100"})
    async with connect(_ws_url(analytics)) as ws:  # token in the first message this time
        await ws.send(json.dumps({"type": "auth", "token": _token(holder, "trader")}))
        assert (await _recv(ws))["type"] == "authenticated"
        again = await _subscribe(ws, holder)
        assert again["type"] == "snapshot"
        assert again["summary"]["long_value"] != before["summary"]["long_value"]
        # subscribing again replaces the subscription and starts with a snapshot again
        assert (await _subscribe(ws))["type"] == "snapshot"
        await ws.send(json.dumps({"type": "unsubscribe"}))
        assert (await _recv(ws))["type"] == "unsubscribed"


async def test_bad_token_gets_an_error_and_close_3401(analytics: Running) -> None:
    async with connect(_ws_url(analytics, "not-a-jwt")) as ws:
        error = await _recv(ws)
        assert error["type"] == "error" and error["status"] == 401
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 3401


async def test_first_message_must_authenticate(analytics: Running) -> None:
    async with connect(_ws_url(analytics)) as ws:
        await ws.send(json.dumps({"type": "subscribe"}))
        assert (await _recv(ws))["status"] == 401


async def test_trader_cannot_subscribe_to_another_user_but_risk_can(
    analytics: Running, holder: str
) -> None:
    async with connect(_ws_url(analytics, _token("mallory", "trader"))) as ws:
        await _recv(ws)
        denied = await _subscribe(ws, holder)
        assert denied["type"] == "error" and denied["status"] == 403
        await ws.send("not json")
        assert (await _recv(ws))["status"] == 400
        await ws.send(json.dumps({"type": "dance"}))
        assert (await _recv(ws))["status"] == 400
    async with connect(_ws_url(analytics, _token("officer", "risk"))) as ws:
        await _recv(ws)
        snapshot = await _subscribe(ws, holder)
        assert snapshot["type"] == "snapshot" and snapshot["user_id"] == holder
