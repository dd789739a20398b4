"""WebSocket push of a user's summary metrics: ``/ws/summary``.

Protocol (JSON text frames):

* **auth**: a bearer token as the ``token`` query parameter, or as the first message
  ``{"type": "auth", "token": "<jwt or api key>"}`` (within :data:`AUTH_TIMEOUT_SECONDS`).
  The server answers ``{"type": "authenticated", "subject": ..., "roles": [...]}``.
* **subscribe**: ``{"type": "subscribe", "user_id": "alice"}`` (``user_id`` defaults to the
  caller). A trader may subscribe only to their own user; ``risk``, ``compliance``, ``admin``
  and ``service`` to anyone. The server first sends the current state,
  ``{"type": "snapshot", "user_id", "seq", "summary"}``, then ``{"type": "update", ...}``
  whenever the user's positions or the prices they hold move, at most once per
  ``throttle_seconds`` (changes in between are coalesced into the next push, never lost).
  Subscribing again (same or another user) replaces the subscription and starts with a fresh
  snapshot, so a client that reconnects simply subscribes again.
* ``{"type": "unsubscribe"}`` stops the pushes; ``{"type": "ping"}`` answers ``pong``.
* Errors are ``{"type": "error", "status", "title", "detail"}`` messages; authentication
  failures close the socket with code ``3401`` (Falcon's ``3000 + HTTP status`` convention).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import falcon
import falcon.asgi
import msgspec

from nexus.errors import NotFoundError, ValidationError
from nexus.web import ALL_USERS_READERS, Authenticator, Principal, endpoint
from nexus.web.codec import decode_json, encode_json
from nexus.web.problems import HTTPProblem, problem_title

log = logging.getLogger(__name__)

AUTH_TIMEOUT_SECONDS = 10.0
CLOSE_UNAUTHORIZED = 3401
SummaryOf = Callable[[str], Awaitable[dict[str, Any]]]
Sleep = Callable[[float], Awaitable[None]]


class Subscription:
    """One socket's subscription to one user's summary; pushes run in their own task."""

    def __init__(
        self,
        user_id: str,
        send: Callable[[str], Awaitable[None]],
        summary_of: SummaryOf,
        throttle_seconds: float,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.user_id = user_id
        self._send = send
        self._summary_of = summary_of
        self._throttle = throttle_seconds
        self._sleep = sleep
        self.dirty = asyncio.Event()
        self.seq = 0
        self.task: asyncio.Task[None] | None = None

    async def _push(self, kind: str) -> None:
        self.seq += 1
        try:
            summary = await self._summary_of(self.user_id)
        except (ValidationError, NotFoundError) as exc:
            status = 404 if isinstance(exc, NotFoundError) else 422
            await self._send(error_text(status, str(exc), seq=self.seq))
            return
        message = {"type": kind, "user_id": self.user_id, "seq": self.seq, "summary": summary}
        await self._send(encode_json(message).decode())

    async def run(self) -> None:
        """Snapshot first, then coalesced, throttled updates until cancelled."""
        await self._push("snapshot")
        while True:
            await self._sleep(self._throttle)
            await self.dirty.wait()
            self.dirty.clear()
            await self._push("update")


class SummaryHub:
    """Subscriptions by user; :meth:`notify` marks the users whose metrics moved.

    ``sleep`` is the clock the throttle waits on (``asyncio.sleep``; tests pass a fake
    clock so that the throttle is checked without wall-clock timing).
    """

    def __init__(
        self,
        summary_of: SummaryOf,
        *,
        throttle_seconds: float = 0.25,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._summary_of = summary_of
        self.throttle_seconds = throttle_seconds
        self._sleep = sleep
        self._by_user: dict[str, set[Subscription]] = {}

    def subscribe(self, user_id: str, send: Callable[[str], Awaitable[None]]) -> Subscription:
        """Start pushing ``user_id``'s summary through ``send`` (snapshot first)."""
        sub = Subscription(user_id, send, self._summary_of, self.throttle_seconds, self._sleep)
        self._by_user.setdefault(user_id, set()).add(sub)
        sub.task = asyncio.create_task(sub.run(), name=f"ws-summary-{user_id}")
        return sub

    async def unsubscribe(self, sub: Subscription) -> None:
        """Stop ``sub``'s pushes."""
        subs = self._by_user.get(sub.user_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_user[sub.user_id]
        if sub.task is not None:
            sub.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sub.task

    def notify(self, user_ids: set[str]) -> None:
        """The metrics of ``user_ids`` may have moved: schedule a push to their subscribers."""
        for user_id in user_ids:
            for sub in self._by_user.get(user_id, ()):
                sub.dirty.set()

    def subscribers(self, user_id: str) -> int:
        """How many live subscriptions ``user_id`` has."""
        return len(self._by_user.get(user_id, ()))


class ClientMessage(msgspec.Struct, kw_only=True):
    """What a client sends."""

    type: str
    token: str | None = None
    user_id: str | None = None


def error_text(status: int, detail: str, **extra: Any) -> str:
    """An error message frame."""
    body = {"type": "error", "status": status, "title": problem_title(status), "detail": detail}
    return encode_json({**body, **extra}).decode()


class SummaryStreamResource:
    """``/ws/summary``: a user's summary metrics, pushed as they move."""

    def __init__(self, hub: SummaryHub, authenticator: Authenticator) -> None:
        self._hub = hub
        self._auth = authenticator

    @endpoint(in_schema=False)
    async def on_websocket(self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket) -> None:
        """Serve one socket until the client leaves."""
        await ws.accept()
        sub: Subscription | None = None

        async def send(text: str) -> None:
            await ws.send_text(text)

        try:
            principal = await self._authenticate(req, ws)
            if principal is None:
                return
            await send(
                encode_json(
                    {
                        "type": "authenticated",
                        "subject": principal.subject,
                        "roles": sorted(principal.roles),
                    }
                ).decode()
            )
            while True:
                message = await self._receive(ws)
                if message is None:
                    await send(error_text(400, "messages are JSON objects with a type"))
                elif message.type == "subscribe":
                    user_id = message.user_id or principal.subject
                    if principal.subject != user_id and not principal.has_any(ALL_USERS_READERS):
                        await send(error_text(403, "a trader may only read their own user's data"))
                        continue
                    if sub is not None:
                        await self._hub.unsubscribe(sub)
                    sub = self._hub.subscribe(user_id, send)
                elif message.type == "unsubscribe":
                    if sub is not None:
                        await self._hub.unsubscribe(sub)
                        sub = None
                    await send(encode_json({"type": "unsubscribed"}).decode())
                elif message.type == "ping":
                    await send(encode_json({"type": "pong"}).decode())
                else:
                    await send(error_text(400, f"unknown message type {message.type!r}"))
        except falcon.WebSocketDisconnected:
            pass
        finally:
            if sub is not None:
                await self._hub.unsubscribe(sub)

    @staticmethod
    async def _receive(ws: falcon.asgi.WebSocket) -> ClientMessage | None:
        text = await ws.receive_text()
        try:
            message: ClientMessage = decode_json(text, ClientMessage)
        except msgspec.DecodeError:
            return None
        return message

    async def _authenticate(
        self, req: falcon.asgi.Request, ws: falcon.asgi.WebSocket
    ) -> Principal | None:
        token = req.get_param("token")
        try:
            if token is None:
                try:
                    async with asyncio.timeout(AUTH_TIMEOUT_SECONDS):
                        first = await self._receive(ws)
                except TimeoutError:
                    first = None
                if first is None or first.type != "auth" or not first.token:
                    raise HTTPProblem(401, 'send {"type": "auth", "token": ...} first')
                token = first.token
            return self._auth.authenticate(f"Bearer {token}")
        except HTTPProblem as exc:
            await ws.send_text(error_text(401, exc.description or "unauthorized"))
            await ws.close(CLOSE_UNAUTHORIZED)
            return None
