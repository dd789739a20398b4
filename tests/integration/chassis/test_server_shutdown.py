"""A stopping server does not wait forever for a client that keeps an event stream open."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import falcon
import falcon.asgi
import pytest

from nexus.web import ServerThread
from nexus.web import server as web_server

pytestmark = pytest.mark.integration


class EndlessStream:
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        async def events() -> AsyncIterator[bytes]:
            while True:
                yield b": keep-alive\n\n"
                await asyncio.sleep(0.1)

        resp.content_type = "text/event-stream"
        resp.stream = events()


def test_stop_closes_an_open_event_stream_after_the_grace_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(web_server, "GRACEFUL_SHUTDOWN_S", 1)
    app = falcon.asgi.App()
    app.add_route("/stream", EndlessStream())
    server = ServerThread(app).start()
    thread = server._thread
    assert thread is not None
    client = socket.create_connection((server.host, server.port))
    try:
        client.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200" in client.recv(4096)  # the stream is open and flowing
        server.stop(timeout_seconds=30)
        assert not thread.is_alive(), "the server still waits for the stream's client"
    finally:
        client.close()
