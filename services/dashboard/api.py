"""Falcon resources of the dashboard: the built page, development sign-in, the API proxy.

The browser loads one page from here and calls ``/api/<service>/<path>``; each call is
forwarded with its bearer token to the service that owns it, and that service's answer
(problem+json errors included) comes back unchanged. Server-sent events stream through;
``/ws/<service>/<path>`` relays a WebSocket (the analytics summary pushes).
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Literal

import falcon
import falcon.asgi
import httpx
import msgspec
import websockets

from nexus.events import Identifier
from nexus.web import Authenticator, HTTPProblem, RequestBody, endpoint
from services.dashboard.core import (
    UnknownUpstreamError,
    forwarded_request_headers,
    forwarded_response_headers,
    resolve,
)

#: Roles a development sign-in may ask for (``service`` is for machines, not people).
Role = Literal["trader", "compliance", "risk", "admin"]
UrlOf = Callable[[str], str]
MAX_BODY = 1 << 20


class DevTokenRequest(RequestBody):
    """A development sign-in: who and with which role."""

    subject: Identifier
    role: Role


class DevTokenView(msgspec.Struct, kw_only=True):
    """A signed bearer token for the development sign-in."""

    token: str
    subject: str
    roles: list[str]
    expires_in_seconds: int


class ConfigView(msgspec.Struct, kw_only=True):
    """What the page needs to know about this deployment."""

    dev_sign_in: bool
    services: list[str]
    roles: list[str]


class ConfigResource:
    """``GET /config.json``: whether development sign-in is on, which services exist."""

    def __init__(self, dev_sign_in: bool, services: list[str]) -> None:
        self._view = ConfigView(
            dev_sign_in=dev_sign_in,
            services=sorted(services),
            roles=["trader", "compliance", "risk", "admin"],
        )

    @endpoint(public=True, response=ConfigView, summary="Deployment facts for the page")
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = self._view


class DevTokenResource:
    """``POST /dev/token``: a token for any role, only with the development secret.

    Off (404) whenever a real ``NEXUS_JWT_SECRET`` is configured: then people bring a bearer
    token issued by the firm's identity provider.
    """

    def __init__(self, authenticator: Authenticator, enabled: bool, ttl_s: int = 8 * 3600) -> None:
        self._auth = authenticator
        self._enabled = enabled
        self._ttl = ttl_s

    @endpoint(public=True, body=DevTokenRequest, response=DevTokenView, status=201)
    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, *, body: DevTokenRequest
    ) -> None:
        if not self._enabled:
            raise HTTPProblem(404, "development sign-in is off: a JWT secret is configured")
        token = self._auth.issue_token(body.subject, [body.role], ttl_seconds=self._ttl)
        resp.status = falcon.HTTP_201
        resp.media = DevTokenView(
            token=token, subject=body.subject, roles=[body.role], expires_in_seconds=self._ttl
        )


class PageResource:
    """The built single page (``index.html``) and its hashed assets."""

    def __init__(self, dist: Path) -> None:
        self._dist = dist.resolve()

    def _file(self, name: str) -> Path:
        path = (self._dist / name).resolve()
        if self._dist not in path.parents and path != self._dist:
            raise HTTPProblem(404, "no such asset")
        if not path.is_file():
            if name == "index.html":
                raise HTTPProblem(
                    503, "the dashboard is not built: run `make dashboard` (npm ci && vite build)"
                )
            raise HTTPProblem(404, "no such asset")
        return path

    @endpoint(public=True, media_type="text/html", in_schema=False)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        path = self._file("index.html")
        resp.content_type = "text/html; charset=utf-8"
        resp.cache_control = ["no-cache"]
        resp.data = path.read_bytes()

    @endpoint(public=True, media_type="application/octet-stream", in_schema=False)
    async def on_get_asset(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, name: str
    ) -> None:
        path = self._file(f"assets/{name}")
        resp.content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        resp.cache_control = ["public", "max-age=31536000", "immutable"]
        resp.data = path.read_bytes()


class ProxyResource:
    """``/api/<service>/<path>``: forwarded to the service, answer returned unchanged."""

    def __init__(self, client: httpx.AsyncClient, url_of: UrlOf) -> None:
        self._client = client
        self._url_of = url_of

    async def _forward(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, service: str, path: str
    ) -> None:
        try:
            target = resolve(service, path, req.query_string)
        except UnknownUpstreamError as exc:
            raise HTTPProblem(404, str(exc)) from None
        body = b""
        if req.method in {"POST", "PUT", "PATCH"}:
            body = await req.stream.read(MAX_BODY + 1)
            if len(body) > MAX_BODY:
                raise HTTPProblem(413, f"request body over {MAX_BODY} bytes")
        upstream = self._client.build_request(
            req.method,
            self._url_of(target.service) + target.path,
            headers=forwarded_request_headers(dict(req.headers)),
            content=body,
        )
        try:
            answer = await self._client.send(upstream, stream=True)
        except httpx.HTTPError as exc:
            raise HTTPProblem(
                503,
                f"the {service} service is unreachable ({type(exc).__name__})",
                headers={"Retry-After": "2"},
            ) from None
        resp.status = falcon.code_to_http_status(answer.status_code)
        for name, value in forwarded_response_headers(answer.headers.items()).items():
            resp.set_header(name, value)
        if answer.headers.get("content-type", "").startswith("text/event-stream"):
            resp.stream = _relay(answer)
            return
        try:
            resp.data = await answer.aread()
        finally:
            await answer.aclose()

    @endpoint(public=True, in_schema=False)
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, service: str, path: str
    ) -> None:
        await self._forward(req, resp, service, path)

    @endpoint(public=True, in_schema=False)
    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, service: str, path: str
    ) -> None:
        await self._forward(req, resp, service, path)

    @endpoint(public=True, in_schema=False)
    async def on_put(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, service: str, path: str
    ) -> None:
        await self._forward(req, resp, service, path)

    @endpoint(public=True, in_schema=False)
    async def on_delete(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, service: str, path: str
    ) -> None:
        await self._forward(req, resp, service, path)


async def _relay(answer: httpx.Response) -> AsyncIterator[bytes]:
    """Stream an upstream event stream to the browser until either side closes."""
    try:
        async for chunk in answer.aiter_raw():
            yield chunk
    finally:
        await answer.aclose()


class SocketProxyResource:
    """``/ws/<service>/<path>``: a WebSocket relayed both ways to the service."""

    def __init__(self, url_of: UrlOf) -> None:
        self._url_of = url_of

    async def on_websocket(
        self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket, service: str, path: str
    ) -> None:
        try:
            target = resolve(service, path, req.query_string)
        except UnknownUpstreamError:
            await ws.close(code=4404)
            return
        url = "ws" + self._url_of(target.service).removeprefix("http") + target.path
        try:
            upstream = await websockets.connect(url, open_timeout=5)
        except (OSError, websockets.WebSocketException, TimeoutError):
            await ws.close(code=1013)  # try again later
            return
        await ws.accept()
        async with upstream:
            await _pump_both(ws, upstream)


async def _pump_both(ws: falcon.asgi.WebSocket, upstream: Any) -> None:
    async def down() -> None:
        async for message in upstream:
            await ws.send_text(message if isinstance(message, str) else message.decode())

    async def up() -> None:
        while True:
            await upstream.send(await ws.receive_text())

    tasks = [asyncio.ensure_future(down()), asyncio.ensure_future(up())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        with contextlib.suppress(Exception):
            await ws.close()


def routes(
    *,
    dist: Path,
    client: httpx.AsyncClient,
    url_of: UrlOf,
    authenticator: Authenticator,
    dev_sign_in: bool,
    services: list[str],
) -> list[tuple[str, Any] | tuple[str, Any, str]]:
    """The dashboard's routes."""
    page = PageResource(dist)
    proxy = ProxyResource(client, url_of)
    return [
        ("/", page),
        ("/assets/{name}", page, "asset"),
        ("/config.json", ConfigResource(dev_sign_in, services)),
        ("/dev/token", DevTokenResource(authenticator, dev_sign_in)),
        ("/api/{service}/{path:path}", proxy),
        ("/ws/{service}/{path:path}", SocketProxyResource(url_of)),
    ]
