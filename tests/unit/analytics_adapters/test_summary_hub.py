"""SummaryHub: snapshot first, throttled coalesced updates, errors as frames, unsubscribe."""

from __future__ import annotations

import asyncio
import itertools
import json
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


class FakeClock:
    """A clock the test moves by hand: ``sleep`` waits until :meth:`advance` passes its
    deadline, so throttling is checked in exact virtual time, never wall-clock time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._waiters: list[tuple[float, asyncio.Future[None]]] = []

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((self.now + seconds, future))
        await future

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [(t, f) for t, f in self._waiters if t <= self.now + 1e-12]
        self._waiters = [(t, f) for t, f in self._waiters if t > self.now + 1e-12]
        for _, future in due:
            if not future.done():
                future.set_result(None)
        await settle()

    @property
    def sleepers(self) -> int:
        return len(self._waiters)


async def settle() -> None:
    """Let every ready task run (no timers: the hub waits only on the fake clock)."""
    for _ in range(20):
        await asyncio.sleep(0)


class Socket:
    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.frames: list[tuple[float, dict[str, Any]]] = []

    async def send(self, text: str) -> None:
        stamp = self.clock.now if self.clock is not None else 0.0
        self.frames.append((stamp, json.loads(text)))

    async def wait_for(self, n: int) -> None:
        async with asyncio.timeout(5):
            while len(self.frames) < n:
                await asyncio.sleep(0.005)


async def test_snapshot_then_throttled_coalesced_updates() -> None:
    clock = FakeClock()
    book, socket = Book(), Socket(clock)
    hub = SummaryHub(book.summary, throttle_seconds=0.1, sleep=clock.sleep)
    sub = hub.subscribe("alice", socket.send)
    await settle()
    assert socket.frames == [
        (
            0.0,
            {
                "type": "snapshot",
                "user_id": "alice",
                "seq": 1,
                "summary": {"user_id": "alice", "value": 0},
            },
        )
    ]
    for value in range(1, 21):  # a burst of moves inside one throttle period
        book.value = value
        hub.notify({"alice", "nobody"})
        await settle()
    assert len(socket.frames) == 1  # nothing is pushed before the throttle period ends
    await clock.advance(0.0999)
    assert len(socket.frames) == 1
    await clock.advance(0.0001)
    assert len(socket.frames) == 2  # the burst, coalesced into one push
    assert socket.frames[1][1]["summary"]["value"] == 20  # the last state is never lost
    assert socket.frames[1][1]["seq"] == 2
    await clock.advance(0.5)
    assert len(socket.frames) == 2  # no move, no push
    book.value = 21
    hub.notify({"alice"})
    await settle()
    assert socket.frames[2][1]["summary"]["value"] == 21  # quiet for > throttle: at once
    book.value = 22
    hub.notify({"alice"})
    await clock.advance(0.05)
    assert len(socket.frames) == 3  # still inside the period that began with the last push
    await clock.advance(0.05)
    assert socket.frames[3][1]["summary"]["value"] == 22
    stamps = [t for t, _ in socket.frames]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(gap >= 0.1 - 1e-9 for gap in gaps), gaps
    assert book.calls == 4
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
