"""The durable outbox on real PostgreSQL delivers across a dispatcher restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import falcon.asgi
import pytest

from nexus.bus import OutgoingMessage
from nexus.clients import ServiceClient
from nexus.outbox import BUS, BusSink, HttpSink, Outbox, OutboxDispatcher, outbox_id
from nexus.store import create_pool
from nexus.web import ServerThread, create_app, endpoint
from nexus.web.server import bind_socket
from tests.support.publishing import RecordingPublisher

pytestmark = pytest.mark.integration


class HaltsResource:
    """Records every delivered halt request; answers ``status`` (201 by default)."""

    def __init__(self) -> None:
        self.received: list[tuple[str | None, bytes]] = []
        self.status = 201

    @endpoint(public=True)
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        self.received.append((req.get_header("Idempotency-Key"), await req.stream.read()))
        resp.status = self.status
        resp.media = {"ok": self.status < 300}


def free_port() -> int:
    sock = bind_socket()
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
async def outbox(chassis_db: str) -> AsyncIterator[Outbox]:
    pool = await create_pool(chassis_db)
    box = Outbox(pool)
    await box.ensure_schema()
    await pool.execute("TRUNCATE nexus_outbox")
    yield box
    await pool.close()


async def deliver_until_done(dispatcher: OutboxDispatcher, box: Outbox, entry: str) -> None:
    for _ in range(200):
        await dispatcher.run_once()
        if await box.status(entry) != "pending":
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{entry} still pending")


async def test_enqueue_with_same_id_stores_one_entry(outbox: Outbox) -> None:
    entry = outbox_id("halt", "alert-1")
    assert await outbox.enqueue_request(entry, "risk", "POST", "/halts", {"user_id": "u1"}) is True
    assert await outbox.enqueue_request(entry, "risk", "POST", "/halts", {"user_id": "u1"}) is False
    assert await outbox.pending_count() == 1


async def test_pending_entry_survives_restart_and_is_delivered_once(outbox: Outbox) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    entry = outbox_id("halt", "alert-restart")
    await outbox.enqueue_request(
        entry, "risk", "POST", "/halts", {"user_id": "u1", "reason": "CRITICAL"}
    )

    async with ServiceClient("risk", url, timeout_seconds=0.5) as down_client:
        first = OutboxDispatcher(outbox, {"risk": HttpSink(down_client)}, base_backoff_seconds=0.05)
        assert await first.run_once() == 0
    row = await outbox.pool.fetchrow("SELECT * FROM nexus_outbox WHERE id = $1", entry)
    assert row is not None
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "risk" in row["last_error"]

    # "restart": a new dispatcher and client in front of a risk service that is now up
    halts = HaltsResource()
    with ServerThread(create_app("risk", [("/halts", halts)]), port=port):
        async with ServiceClient("risk", url) as client:
            second = OutboxDispatcher(outbox, {"risk": HttpSink(client)}, base_backoff_seconds=0.05)
            await deliver_until_done(second, outbox, entry)
            assert await second.run_once() == 0
    assert await outbox.status(entry) == "delivered"
    assert halts.received == [(entry, b'{"user_id":"u1","reason":"CRITICAL"}')]


async def test_5xx_is_retried_and_4xx_is_rejected(outbox: Outbox) -> None:
    halts = HaltsResource()
    with ServerThread(create_app("risk", [("/halts", halts)])) as server:
        async with ServiceClient("risk", server.url) as client:
            dispatcher = OutboxDispatcher(
                outbox, {"risk": HttpSink(client)}, base_backoff_seconds=0.01
            )
            halts.status = 503
            retried = outbox_id("halt", "retried")
            await outbox.enqueue_request(retried, "risk", "POST", "/halts", {"n": 1})
            await dispatcher.run_once()
            assert await outbox.status(retried) == "pending"
            halts.status = 201
            await deliver_until_done(dispatcher, outbox, retried)
            assert await outbox.status(retried) == "delivered"

            halts.status = 422
            rejected = outbox_id("halt", "rejected")
            await outbox.enqueue_request(rejected, "risk", "POST", "/halts", {"n": 2})
            await deliver_until_done(dispatcher, outbox, rejected)
            assert await outbox.status(rejected) == "rejected"


async def test_enqueue_in_callers_transaction_rolls_back_with_it(outbox: Outbox) -> None:
    entry = outbox_id("halt", "rolled-back")
    conn: asyncpg.Connection
    async with outbox.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await outbox.enqueue_request(entry, "risk", "POST", "/halts", None, conn=conn)
        await tx.rollback()
    assert await outbox.status(entry) is None


async def test_run_loop_delivers_on_wake_and_stops(outbox: Outbox) -> None:
    halts = HaltsResource()
    with ServerThread(create_app("risk", [("/halts", halts)])) as server:
        async with ServiceClient("risk", server.url) as client:
            dispatcher = OutboxDispatcher(outbox, {"risk": HttpSink(client)})
            stop = asyncio.Event()
            task = asyncio.create_task(dispatcher.run(stop, poll_seconds=30.0))
            entry = outbox_id("halt", "woken")
            await outbox.enqueue_request(entry, "risk", "POST", "/halts", {"n": 3})
            dispatcher.wake()
            for _ in range(200):
                if await outbox.status(entry) == "delivered":
                    break
                await asyncio.sleep(0.02)
            stop.set()
            await asyncio.wait_for(task, 5.0)
    assert await outbox.status(entry) == "delivered"


async def test_bus_entries_go_out_in_enqueue_order_and_a_failure_holds_back_later_ones(
    outbox: Outbox,
) -> None:
    broker = RecordingPublisher()
    dispatcher = OutboxDispatcher(outbox, {BUS: BusSink(broker)}, base_backoff_seconds=0.01)
    broker.down = True
    await outbox.enqueue_message("e1", OutgoingMessage("risk.halts", b"halt", b"bob"))
    assert await dispatcher.run_once() == 0
    assert await outbox.status("e1") == "pending"
    # enqueued after the failure: due now, but held back behind e1 while e1 backs off
    await outbox.enqueue_message("e2", OutgoingMessage("risk.halts", b"resume", b"bob"))
    broker.down = False
    for _ in range(200):
        await dispatcher.run_once()
        if await outbox.pending_count() == 0:
            break
        await asyncio.sleep(0.01)
    assert broker.records == [("risk.halts", b"halt", b"bob"), ("risk.halts", b"resume", b"bob")]
    assert [await outbox.status(e) for e in ("e1", "e2")] == ["delivered", "delivered"]


async def test_two_dispatchers_never_publish_an_ordered_entry_twice(outbox: Outbox) -> None:
    broker = RecordingPublisher()
    first = OutboxDispatcher(outbox, {BUS: BusSink(broker)})
    second = OutboxDispatcher(outbox, {BUS: BusSink(broker)})
    for n in range(20):
        await outbox.enqueue_message(f"m{n}", OutgoingMessage("t", str(n).encode(), b"k"))
    await asyncio.gather(first.drain(), second.drain())
    assert [v for _, v, _ in broker.records] == [str(n).encode() for n in range(20)]


async def test_schema_of_the_first_http_only_shape_is_upgraded_in_place(chassis_db: str) -> None:
    pool = await create_pool(chassis_db)
    try:
        await pool.execute("DROP TABLE IF EXISTS nexus_outbox")
        await pool.execute(
            """CREATE TABLE nexus_outbox (
                id TEXT PRIMARY KEY, service TEXT NOT NULL, method TEXT NOT NULL,
                path TEXT NOT NULL, body BYTEA, status TEXT NOT NULL DEFAULT 'pending',
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(), last_error TEXT,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(), delivered_at TIMESTAMPTZ)"""
        )
        await pool.execute(
            "INSERT INTO nexus_outbox (id, service, method, path, body) "
            "VALUES ('old', 'risk', 'POST', '/halts', '{}')"
        )
        box = Outbox(pool)
        await box.ensure_schema()
        await box.ensure_schema()  # idempotent
        claimed = await box.claim("risk", 10, 30.0, ordered=False)
        assert [(e.id, e.sink, e.route, e.body) for e in claimed] == [
            ("old", "risk", "POST /halts", b"{}")
        ]
    finally:
        await pool.execute("DROP TABLE IF EXISTS nexus_outbox")
        await pool.close()
