"""The dashboard relays WebSockets both ways to a real upstream server over loopback."""

from __future__ import annotations

from pathlib import Path

import falcon.asgi
import pytest
import websockets

from nexus.config import load_settings
from nexus.web import ServerThread, create_app, endpoint
from services.dashboard.main import build

pytestmark = pytest.mark.integration


class Echo:
    """Upstream: answers every text frame with ``echo:<text>``, closes on ``bye``."""

    @endpoint(public=True, in_schema=False)
    async def on_websocket(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        await ws.accept()
        await ws.send_text(f"hello {req.get_param('who') or ''}".strip())
        while True:
            text = await ws.receive_text()
            if text == "bye":
                await ws.close()
                return
            await ws.send_text(f"echo:{text}")


async def test_socket_proxy_relays_frames_both_ways_and_the_query(tmp_path: Path) -> None:
    with ServerThread(create_app("echo", [("/ws/echo", Echo())])) as upstream:
        settings = load_settings({"NEXUS_ANALYTICS_PORT": str(upstream.port)})
        with ServerThread(build(settings, tmp_path)[0]) as dashboard:
            url = f"ws://127.0.0.1:{dashboard.port}/ws/analytics/ws/echo?who=ana"
            async with websockets.connect(url) as ws:
                assert await ws.recv() == "hello ana"
                await ws.send("ping")
                assert await ws.recv() == "echo:ping"
                await ws.send("bye")
                with pytest.raises(websockets.ConnectionClosed):
                    await ws.recv()


async def test_socket_proxy_closes_when_the_upstream_is_down(tmp_path: Path) -> None:
    settings = load_settings({"NEXUS_ANALYTICS_PORT": "1"})
    with ServerThread(build(settings, tmp_path)[0]) as dashboard:
        url = f"ws://127.0.0.1:{dashboard.port}/ws/analytics/ws/summary"
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(url) as ws:
                await ws.recv()


async def test_socket_proxy_refuses_an_unknown_service(tmp_path: Path) -> None:
    with ServerThread(build(load_settings({}), tmp_path)[0]) as dashboard:
        url = f"ws://127.0.0.1:{dashboard.port}/ws/venues/fix"
        with pytest.raises(websockets.InvalidStatus):
            async with websockets.connect(url) as ws:
                await ws.recv()
