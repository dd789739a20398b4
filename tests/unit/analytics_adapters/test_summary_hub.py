"""SummaryHub: snapshot first, throttled coalesced updates, errors as frames, unsubscribe."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from nexus.errors import NotFoundError, ValidationError
from services.analytics.websocket import SummaryHub, error_text


class Book:
    """A summary function whose answer changes on demand; counts its calls."""

    def __init__(self) -> None:
        self.value = 0
        self.calls = 0
        self.fail: Exception | None = None

    async def summary(self, user_id: str) -> dict[str, Any]:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return {"user_id": user_id, "value": self.value}


class Socket:
    def __init__(self) -> None:
        self.frames: list[tuple[float, dict[str, Any]]] = []

    async def send(self, text: str) -> None:
        self.frames.append((time.monotonic(), json.loads(text)))

    async def wait_for(self, n: int) -> None:
        async with asyncio.timeout(5):
            while len(self.frames) < n:
                await asyncio.sleep(0.005)


async def test_snapshot_then_throttled_coalesced_updates() -> None:
    book, socket = Book(), Socket()
    hub = SummaryHub(book.summary, throttle_seconds=0.1)
    sub = hub.subscribe("alice", socket.send)
    await socket.wait_for(1)
    assert socket.frames[0][1] == {
        "type": "snapshot",
        "user_id": "alice",
        "seq": 1,
        "summary": {"user_id": "alice", "value": 0},
    }
    for value in range(1, 21):  # a burst of moves inside one throttle period
        book.value = value
        hub.notify({"alice", "nobody"})
        await asyncio.sleep(0.002)
    await socket.wait_for(2)
    await asyncio.sleep(0.25)
    updates = socket.frames[1:]
    assert 1 <= len(updates) <= 3  # coalesced, not one push per move
    assert updates[-1][1]["summary"]["value"] == 20  # the last state is never lost
    gaps = [b[0] - a[0] for a, b in zip(socket.frames, socket.frames[1:], strict=False)]
    assert all(gap >= 0.09 for gap in gaps)
    assert hub.subscribers("alice") == 1
    await hub.unsubscribe(sub)
    assert hub.subscribers("alice") == 0
    await hub.unsubscribe(sub)  # twice is harmless


async def test_summary_errors_become_error_frames_and_the_subscription_lives() -> None:
    book, socket = Book(), Socket()
    hub = SummaryHub(book.summary, throttle_seconds=0.01)
    book.fail = NotFoundError("no price for ZZZ")
    sub = hub.subscribe("bob", socket.send)
    await socket.wait_for(1)
    assert socket.frames[0][1]["status"] == 404
    book.fail = ValidationError("bad", "user_id")
    hub.notify({"bob"})
    await socket.wait_for(2)
    assert socket.frames[1][1]["status"] == 422
    book.fail = None
    hub.notify({"bob"})
    await socket.wait_for(3)
    assert socket.frames[2][1]["type"] == "update"
    await hub.unsubscribe(sub)


def test_error_frame_carries_status_title_and_extras() -> None:
    frame = json.loads(error_text(403, "no", seq=3))
    assert frame == {
        "type": "error",
        "status": 403,
        "title": "Not allowed",
        "detail": "no",
        "seq": 3,
    }
