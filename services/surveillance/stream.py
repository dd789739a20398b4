"""Server-sent events of new alert versions for the compliance dashboard: ``/alerts/stream``.

Each stored alert version (never a redelivered duplicate) is sent as an ``alert`` event whose
``id`` is ``<alert_id>:<version>`` and whose data is the alert's JSON view; a comment line
keeps idle connections open. A slow client's queue is bounded: the oldest undelivered
versions are dropped (the client can always re-read ``GET /alerts``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import falcon.asgi

from nexus.web import COMPLIANCE, endpoint
from nexus.web.codec import encode_json
from services.surveillance.alerts import alert_view
from services.surveillance.core import SurveillanceAlert

QUEUE_SIZE = 1_000
KEEPALIVE_S = 15.0
_CLOSED: Any = object()


class AlertHub:
    """Fans new alert versions out to the connected streams."""

    def __init__(self, queue_size: int = QUEUE_SIZE, keepalive_s: float = KEEPALIVE_S) -> None:
        self._queues: set[asyncio.Queue[Any]] = set()
        self._queue_size = queue_size
        self._keepalive_s = keepalive_s

    @property
    def listeners(self) -> int:
        """Connected streams."""
        return len(self._queues)

    def publish(self, alert: SurveillanceAlert) -> None:
        """Queue ``alert`` for every stream (dropping a slow stream's oldest item)."""
        if not self._queues:
            return
        view = alert_view(alert)
        for queue in self._queues:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(view)

    def close(self) -> None:
        """End every stream (the service is stopping)."""
        for queue in self._queues:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(_CLOSED)

    async def subscribe(
        self, keepalive_s: float = KEEPALIVE_S
    ) -> AsyncIterator[falcon.asgi.SSEvent]:
        """Server-sent events until the hub closes or the client goes away."""
        queue: asyncio.Queue[Any] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        try:
            yield falcon.asgi.SSEvent(comment="connected")
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=self._keepalive_s)
                except TimeoutError:
                    yield falcon.asgi.SSEvent(comment="keep-alive")
                    continue
                if item is _CLOSED:
                    return
                yield falcon.asgi.SSEvent(
                    event="alert",
                    event_id=f"{item['alert_id']}:{item['version']}",
                    data=encode_json(item),
                )
        finally:
            self._queues.discard(queue)


class AlertStreamResource:
    """``/alerts/stream``: new alert versions as server-sent events."""

    def __init__(self, hub: AlertHub) -> None:
        self._hub = hub

    @endpoint(roles={COMPLIANCE}, media_type="text/event-stream", tags=["alerts"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Stream new alert versions as they are stored."""
        resp.sse = self._hub.subscribe()
