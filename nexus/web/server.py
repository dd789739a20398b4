"""Run an app: ``serve`` (uvicorn + uvloop + httptools) and an in-process test server."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from nexus.errors import NexusError


class ServerStartError(NexusError, RuntimeError):
    """The in-process server did not start in time."""


#: How long a stopping server waits for open requests before closing them. Event streams and
#: WebSockets stay open until their client leaves, so without a bound one open dashboard tab
#: held a service's shutdown until the supervisor's kill (15 s).
GRACEFUL_SHUTDOWN_S = 5


def _config(app: Any, host: str, port: int, log_level: str, loop: str) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop=loop,
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        log_level=log_level.lower(),
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )


def serve(app: Any, host: str, port: int, *, log_level: str = "info") -> None:
    """Serve ``app`` on ``host:port`` with uvicorn, uvloop and httptools until a signal."""
    uvicorn.Server(_config(app, host, port, log_level, "uvloop")).run()


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening-ready TCP socket on ``host:port`` (port 0 picks a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class ServerThread:
    """A real uvicorn server (own uvloop event loop) in a background thread, for tests.

    ``with ServerThread(app) as server: httpx.get(server.url + "/healthz")``. Pass ``port`` to
    restart on the same port after :meth:`stop`.
    """

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning"
    ) -> None:
        self._app = app
        self.host = host
        self.port = port
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_seconds: float = 10.0) -> ServerThread:
        """Start serving; returns once the server accepts connections."""
        sock = bind_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        server = uvicorn.Server(_config(self._app, self.host, self.port, self._log_level, "uvloop"))
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_seconds
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise ServerStartError(f"server on {self.url} did not start")
            time.sleep(0.01)
        sock.close()
        return self

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_seconds)
        self._server = None
        self._thread = None

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.asynccontextmanager
async def running_server(
    app: Any, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning"
) -> AsyncIterator[str]:
    """Serve ``app`` on the current event loop for the duration of the block; yields the URL."""
    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, host, bound_port, log_level, "none"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise ServerStartError("server exited during start-up")
            await asyncio.sleep(0.01)
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
