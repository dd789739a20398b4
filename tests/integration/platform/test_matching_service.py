"""The matching service over HTTP, PostgreSQL and the real broker, with orders and risk beside it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from nexus.bus import ConsumerRunner, KafkaBus
from nexus.events import (
    TOPIC_ORDERS,
    TOPIC_TRADES,
    TRADE_CODEC,
    OrderNew,
    OrderReject,
    Trade,
)
from nexus.web import running_server
from services.orders.main import build as build_orders
from tests.integration.platform.conftest import SettingsFactory
from tests.integration.platform.matching_stack import (
    matching_and_risk,
    running_matching,
    running_risk,
)
from tests.support.runner import run_until

pytestmark = pytest.mark.integration
Tokens = Callable[[str, str], dict[str, str]]


async def events_of(bootstrap: str, group: str, users: set[str], count: int) -> list[Any]:
    """Read ``orders.events`` and ``trades.executed`` until ``count`` events of ``users``."""
    seen: list[Any] = []

    def mine(event: Any) -> bool:
        if isinstance(event, Trade):
            return bool({event.buyer_user_id, event.seller_user_id} & users)
        return getattr(event, "user_id", None) in users

    async def handle(batch: list[Any]) -> None:
        seen.extend(d.event for d in batch if mine(d.event))

    await run_until(
        ConsumerRunner(KafkaBus(bootstrap), group, handle, topics=[TOPIC_ORDERS, TOPIC_TRADES]),
        lambda: len(seen) >= count,
    )
    return seen


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.05)


def order(side: str, qty: str, price: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"symbol": "AAPL", "side": side, "quantity": qty, **extra}
    if price is not None:
        body["price"] = price
    return body


async def test_orders_through_rest_reach_the_broker_positions_and_obey_a_risk_halt(
    service_settings: SettingsFactory, tokens: Tokens, unique_name: Callable[[str], str]
) -> None:
    settings = await service_settings("matching", "orders", "risk")
    bootstrap = settings.kafka_bootstrap or ""
    orders_app, orders_runtime, _ = build_orders(settings)
    alice, bob = unique_name("alice"), unique_name("bob")
    async with (
        matching_and_risk(settings) as (m_url, matching, r_url),
        running_server(orders_app) as o_url,
        httpx.AsyncClient(base_url=m_url) as venue,
        httpx.AsyncClient(base_url=o_url) as ledger,
        httpx.AsyncClient(base_url=r_url) as risk,
    ):
        ask = await venue.post(
            "/orders",
            json=order("SELL", "10", "100.25", client_order_id="a-1"),
            headers=tokens(alice, "trader"),
        )
        assert ask.status_code == 201, ask.text
        assert ask.json()["status"] == "NEW"
        assert ask.json()["price"] == "100.25"
        assert ask.headers["location"] == f"/orders/{ask.json()['order_id']}"
        bid = await venue.post(
            "/orders", json=order("BUY", "4", "101"), headers=tokens(bob, "trader")
        )
        assert bid.status_code == 201, bid.text
        taken = bid.json()
        assert taken["status"] == "FILLED"
        assert taken["reason"] is None
        [fill] = taken["fills"]
        assert (fill["price"], fill["quantity"], fill["aggressor"]) == ("100.25", "4", True)

        # events out on the real broker, keyed by symbol, with both sides of the trade
        events = await events_of(bootstrap, unique_name("reader-1-"), {alice, bob}, 5)
        kinds = sorted(type(e).__name__ for e in events)
        assert kinds == ["OrderFill", "OrderFill", "OrderNew", "OrderNew", "Trade"]
        [trade] = [e for e in events if isinstance(e, Trade)]
        assert (trade.buyer_user_id, trade.seller_user_id) == (bob, alice)
        assert trade.buy_order_id == taken["order_id"]
        assert trade.event_id == fill["trade_id"]
        assert trade.event_id.startswith(f"NEXUS.{matching.session}:AAPL:")
        news = [e for e in events if isinstance(e, OrderNew)]
        assert {n.client_order_id for n in news} == {"a-1", None}
        assert all(e.ts_event > 0 for e in events)

        # positions updated by the orders service
        async def position_is(user: str, quantity: str) -> bool:
            got = await ledger.get(f"/users/{user}/positions", headers=tokens(user, "trader"))
            return got.status_code == 200 and [p["quantity"] for p in got.json()] == [quantity]

        await eventually(lambda: position_is(bob, "4"))
        await eventually(lambda: position_is(alice, "-4"))

        # the same trade delivered twice changes the position once
        processed = orders_runtime.runners[0].stats.processed
        producer = KafkaBus(bootstrap).producer()
        await producer.publish(TOPIC_TRADES, TRADE_CODEC.encode(trade), key=b"AAPL")
        await producer.close()

        async def redelivered() -> bool:
            return orders_runtime.runners[0].stats.processed > processed

        await eventually(redelivered)
        assert await position_is(bob, "4")
        assert await position_is(alice, "-4")

        # a halt from the risk service rejects bob's next order, with the reason
        halted = await risk.post(
            "/halts",
            json={"scope": "USER", "target": bob, "reason": "spoofing under review"},
            headers=tokens("officer", "risk"),
        )
        assert halted.status_code == 201, halted.text

        async def halt_received() -> bool:
            return matching.halts.get("USER", bob) is not None

        await eventually(halt_received)
        refused = await venue.post(
            "/orders", json=order("BUY", "1", "101"), headers=tokens(bob, "trader")
        )
        assert refused.status_code == 200, refused.text  # not created: no 201, no Location
        assert "location" not in refused.headers
        assert refused.json()["status"] == "REJECTED"
        assert refused.json()["reason"] == f"user {bob} halted: spoofing under review"
        assert "reject_reason" not in refused.json()
        assert refused.json()["fills"] == []
        # alice is not halted and her resting order was not touched by the refused one
        status = await venue.get(
            f"/orders/{ask.json()['order_id']}", headers=tokens(alice, "trader")
        )
        assert status.json()["leaves_quantity"] == "6"
        assert status.json()["status"] == "PARTIALLY_FILLED"

        rejects = await events_of(bootstrap, unique_name("reader-2-"), {bob}, 5)
        [reject] = [e for e in rejects if isinstance(e, OrderReject)]
        assert reject.order_id == refused.json()["order_id"]
        assert "halted" in reject.reason

        # and the halt lifted lets bob trade again
        resumed = await risk.post(
            "/halts/resume",
            json={"scope": "USER", "target": bob, "reason": "cleared"},
            headers=tokens("officer", "risk"),
        )
        assert resumed.status_code == 200, resumed.text

        async def resume_received() -> bool:
            return matching.halts.get("USER", bob) is None

        await eventually(resume_received)
        again = await venue.post(
            "/orders", json=order("BUY", "1", "101"), headers=tokens(bob, "trader")
        )
        assert again.json()["status"] == "FILLED"


async def test_a_restarted_engine_obeys_earlier_halts_and_never_reuses_ids(
    service_settings: SettingsFactory, tokens: Tokens, unique_name: Callable[[str], str]
) -> None:
    settings = await service_settings("matching", "risk")
    carol = unique_name("carol")
    ids = []
    async with running_risk(settings) as r_url, httpx.AsyncClient(base_url=r_url) as risk:
        halted = await risk.post(
            "/halts",
            json={"scope": "USER", "target": carol, "reason": "wash trading"},
            headers=tokens("officer", "risk"),
        )
        assert halted.status_code == 201
        for _ in range(2):
            async with (
                running_matching(settings, r_url) as (url, service),
                httpx.AsyncClient(base_url=url) as http,
            ):
                # the halt was issued before this engine started: the very first order obeys it
                first = await http.post(
                    "/orders", json=order("BUY", "1", "10"), headers=tokens(carol, "trader")
                )
                assert first.json()["status"] == "REJECTED", first.text
                assert first.json()["reason"] == f"user {carol} halted: wash trading"
                other = await http.post(
                    "/orders",
                    json=order("BUY", "1", "10"),
                    headers=tokens(unique_name("dave"), "trader"),
                )
                assert other.json()["status"] == "NEW"
                ids.append((service.session, first.json()["order_id"], other.json()["order_id"]))
    (s1, a1, b1), (s2, a2, b2) = ids
    assert s2 == (s1 or 0) + 1
    assert (a1, b1) == (f"NEXUS:{s1}:1", f"NEXUS:{s1}:2")
    assert (a2, b2) == (f"NEXUS:{s2}:1", f"NEXUS:{s2}:2")


async def test_book_snapshot_amend_cancel_and_ioc_round_trips(
    service_settings: SettingsFactory, tokens: Tokens, unique_name: Callable[[str], str]
) -> None:
    settings = await service_settings("matching", "risk")
    maker, taker = unique_name("maker"), unique_name("taker")
    router = tokens("router", "service")
    async with (
        matching_and_risk(settings) as (url, _, _),
        httpx.AsyncClient(base_url=url) as http,
    ):
        mk = tokens(maker, "trader")

        async def place(side: str, qty: str, price: str) -> dict[str, Any]:
            got = await http.post("/orders", json=order(side, qty, price), headers=mk)
            assert got.status_code == 201, got.text
            result: dict[str, Any] = got.json()
            return result

        first = await place("SELL", "5", "100.5")
        second = await place("SELL", "3", "100.5")
        await place("SELL", "2", "101")
        bid = await place("BUY", "7", "99.75")
        book = (await http.get("/books/AAPL", params={"depth": 2}, headers=mk)).json()
        assert book["venue"] == "NEXUS"
        assert book["asks"] == [
            {"price": "100.5", "size": "8", "orders": 2},
            {"price": "101", "size": "2", "orders": 1},
        ]
        assert book["bids"] == [{"price": "99.75", "size": "7", "orders": 1}]
        top = (await http.get("/books/AAPL", params={"depth": 1}, headers=mk)).json()
        assert len(top["asks"]) == 1
        empty = (await http.get("/books/ZZZZ", headers=mk)).json()
        assert empty["bids"] == [] and empty["asks"] == []

        # amend down keeps priority: the first order is still filled first
        down = await http.patch(f"/orders/{first['order_id']}", json={"quantity": "4"}, headers=mk)
        assert down.status_code == 200, down.text
        assert (down.json()["leaves_quantity"], down.json()["quantity"]) == ("4", "4")
        # a price change through the POST form loses priority (and moves the order)
        moved = await http.post(
            f"/orders/{second['order_id']}/amend", json={"price": "100.75"}, headers=mk
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["price"] == "100.75"

        # IOC: fill up to 6 at 100.5 or better, else nothing; the rest expires
        ioc = await http.post(
            "/orders",
            json=order("BUY", "6", "100.5", time_in_force="IOC", user_id=taker),
            headers=router,
        )
        assert ioc.status_code == 201, ioc.text
        report = ioc.json()
        assert report["user_id"] == taker
        assert report["status"] == "EXPIRED"
        assert (report["filled_quantity"], report["leaves_quantity"]) == ("4", "0")
        assert [(f["price"], f["quantity"]) for f in report["fills"]] == [("100.5", "4")]
        nothing = await http.post(
            "/orders",
            json=order("BUY", "1", "90", time_in_force="IOC", user_id=taker),
            headers=router,
        )
        assert (nothing.json()["status"], nothing.json()["fills"]) == ("EXPIRED", [])
        fok = await http.post(
            "/orders",
            json=order("BUY", "100", "200", time_in_force="FOK", user_id=taker),
            headers=router,
        )
        assert fok.json()["status"] == "REJECTED"
        assert fok.json()["reason"] == "fill-or-kill quantity not available"
        post_only = await http.post(
            "/orders", json=order("BUY", "1", "101", post_only=True), headers=mk
        )
        assert post_only.json()["reason"] == "post-only order would cross"
        market = await http.post(
            "/orders",
            json=order("BUY", "1", order_type="MARKET", user_id=taker),
            headers=tokens("ops", "admin"),
        )
        assert market.json()["status"] == "FILLED", market.text
        assert market.json()["price"] is None
        assert market.json()["fills"][0]["price"] == "100.75"

        # the first order is filled and closed: cancel is a conflict; the bid cancels
        status = await http.get(f"/orders/{first['order_id']}", headers=mk)
        assert status.json()["status"] == "FILLED"
        closed = await http.delete(f"/orders/{first['order_id']}", headers=mk)
        assert closed.status_code == 409
        cancelled = await http.delete(f"/orders/{bid['order_id']}", headers=mk)
        assert cancelled.status_code == 200, cancelled.text
        assert (cancelled.json()["status"], cancelled.json()["leaves_quantity"]) == (
            "CANCELLED",
            "0",
        )
        rest = (await http.get("/books/AAPL", params={"depth": 5}, headers=mk)).json()
        assert rest["bids"] == []
        assert rest["asks"] == [
            {"price": "100.75", "size": "2", "orders": 1},
            {"price": "101", "size": "2", "orders": 1},
        ]


async def test_rest_errors_are_problems_with_the_right_status(
    service_settings: SettingsFactory, tokens: Tokens, unique_name: Callable[[str], str]
) -> None:
    settings = await service_settings("matching", "risk")
    erin, frank = unique_name("erin"), unique_name("frank")
    async with (
        matching_and_risk(settings) as (url, _, _),
        httpx.AsyncClient(base_url=url) as http,
    ):
        me = tokens(erin, "trader")
        good = order("BUY", "1", "10", order_id=unique_name("id-"))

        assert (await http.post("/orders", json=good)).status_code == 401
        assert (
            await http.post("/orders", json=good, headers=tokens("c", "compliance"))
        ).status_code == 403
        someone_else = await http.post("/orders", json={**good, "user_id": frank}, headers=me)
        assert someone_else.status_code == 403

        created = await http.post("/orders", json=good, headers=me)
        assert created.status_code == 201, created.text
        assert created.json()["order_id"] == good["order_id"]
        duplicate = await http.post("/orders", json=good, headers=me)
        assert duplicate.status_code == 409
        assert duplicate.headers["content-type"].startswith("application/problem+json")

        async def field_of(body: dict[str, Any], headers: dict[str, str] = me) -> str:
            got = await http.post("/orders", json=body, headers=headers)
            assert got.status_code == 422, got.text
            field: str = got.json()["errors"][0]["field"]
            return field

        assert await field_of(order("HOLD", "1", "10")) == "$.side"
        assert await field_of(order("BUY", "1", "10.0000000001")) == "$.price"
        assert await field_of({**order("BUY", "1"), "price": 10.5}) == "$.price"
        assert await field_of(order("BUY", "0", "10")) == "$.quantity"
        assert await field_of(order("BUY", "1", "-10")) == "$.price"
        assert await field_of(order("BUY", "1")) == "$.price"
        assert await field_of(order("BUY", "1", "10", order_type="MARKET")) == "$.price"
        unknown = await http.post("/orders", json=order("BUY", "1", "10", colour="red"), headers=me)
        assert unknown.status_code == 422
        assert "colour" in unknown.json()["errors"][0]["message"]
        assert await field_of({**order("BUY", "1", "10"), "symbol": "aapl"}) == "$.symbol"
        assert await field_of(order("BUY", "1", "10", order_id="NEXUS:1:1")) == "$.order_id"
        assert await field_of(order("BUY", "1", "10"), tokens("router", "service")) == "$.user_id"
        assert (
            await field_of(order("BUY", "1", "10", time_in_force="IOC", post_only=True))
            == "$.post_only"
        )

        malformed = await http.post(
            "/orders", content=b"{", headers={**me, "content-type": "application/json"}
        )
        assert malformed.status_code == 400

        assert (await http.get("/orders/nope", headers=me)).status_code == 404
        assert (await http.delete("/orders/nope", headers=me)).status_code == 404
        assert (
            await http.patch("/orders/nope", json={"quantity": "1"}, headers=me)
        ).status_code == 404
        mine = created.json()["order_id"]
        # another trader neither sees nor touches erin's order; risk reads it
        other = tokens(frank, "trader")
        assert (await http.get(f"/orders/{mine}", headers=other)).status_code == 404
        assert (await http.delete(f"/orders/{mine}", headers=other)).status_code == 404
        assert (await http.get(f"/orders/{mine}", headers=tokens("r", "risk"))).status_code == 200
        assert (await http.patch(f"/orders/{mine}", json={}, headers=me)).status_code == 422
        assert (
            await http.patch(f"/orders/{mine}", json={"price": "0"}, headers=me)
        ).status_code == 422
        assert (await http.get("/books/AAPL", params={"depth": 0}, headers=me)).status_code == 422
        assert (await http.get("/books/not-a-symbol", headers=me)).status_code == 422

        cancelled = await http.delete(f"/orders/{mine}", headers=me)
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "CANCELLED"
        assert (await http.delete(f"/orders/{mine}", headers=me)).status_code == 409

        spec = (await http.get("/openapi.json")).json()
        assert {"/orders", "/orders/{order_id}", "/orders/{order_id}/amend"} <= set(spec["paths"])
