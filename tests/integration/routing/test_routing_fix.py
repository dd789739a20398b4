"""Route and execute over real FIX sessions to venue processes, with faults injected."""

from __future__ import annotations

import asyncio

import pytest

from nexus.bus import ConsumerRunner, KafkaBus, OutgoingMessage
from nexus.events import (
    HALT_CODEC,
    TOPIC_HALTS,
    TOPIC_ROUTING_DECISIONS,
    TOPIC_ROUTING_EXECUTIONS,
    ChildExecuted,
    Halt,
    ParentExecuted,
    RoutedFill,
    RoutingDecisionEvent,
    partition_key,
)
from nexus.money import to_raw
from tests.integration.routing.conftest import (
    RoutingStack,
    exact,
    no_trade_through,
    oid,
    parent_body,
)
from tests.support.runner import run_until

pytestmark = pytest.mark.integration

Q = to_raw


async def execute(
    rs: RoutingStack,
    user: str,
    symbol: str,
    side: str,
    qty: str,
    price: str | None = None,
    strategy: str = "BEST_PRICE",
    order_id: str | None = None,
) -> tuple[int, dict[str, object]]:
    body = parent_body(symbol, side, qty, price, strategy, order_id)
    async with rs.client(user) as http:
        answer = await http.post("/orders", json=body)
    assert answer.status_code in (200, 201), answer.text
    return answer.status_code, answer.json()


async def test_every_venue_session_is_logged_on_and_listed(routing_stack: RoutingStack) -> None:
    async with routing_stack.client("u-venues") as http:
        venues = (await http.get("/venues")).json()
    by_id = {v["venue"]: v for v in venues}
    assert {"ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "NEXUS"} <= set(by_id)
    assert all(by_id[v]["available"] for v in ("ALPHA", "BRAVO", "CHARLIE"))
    assert by_id["ALPHA"]["taker_fee"] == "0.003" and by_id["BRAVO"]["taker_fee"] == "-0.0005"


async def test_nbbo_and_rankings_come_from_the_venues_quotes(routing_stack: RoutingStack) -> None:
    async with routing_stack.client("u-nbbo") as http:
        nbbo = (await http.get("/nbbo/RT0")).json()
        ranks = (await http.get("/rankings/RT0", params={"side": "BUY", "quantity": "500"})).json()
    assert Q("49.97") <= Q(nbbo["bid_price"]) < Q(nbbo["ask_price"]) <= Q("50.03")
    assert set(nbbo["ask_venues"]) <= {"ALPHA", "BRAVO", "CHARLIE"}
    assert {r["venue"] for r in ranks} >= {"ALPHA", "BRAVO", "CHARLIE"}
    assert all(r["reason"] for r in ranks)


async def test_route_decision_only_sends_nothing(routing_stack: RoutingStack) -> None:
    order_id = oid("D")
    async with routing_stack.client("u-route") as http:
        answer = await http.post("/route", json=parent_body("RT0", "BUY", "700", order_id=order_id))
    assert answer.status_code == 200, answer.text
    decision = answer.json()
    assert sum(Q(c["quantity"]) for c in decision["children"]) == Q("700")
    assert decision["rationale"] and decision["alternatives"] and decision["rule_set"]
    assert await routing_stack.built.service.store.order(order_id) is None  # nothing executed


async def test_small_buy_fills_end_to_end_at_the_nbbo_with_fees(
    routing_stack: RoutingStack,
) -> None:
    status, body = await execute(routing_stack, "u-small", "RT0", "BUY", "100", "50.10")
    assert status == 201 and body["status"] in ("FILLED", "UNFILLED")  # an IOC may miss a move
    order = await routing_stack.stored(body["order_id"])
    exact(order)
    no_trade_through(order)
    assert order["filled_quantity"] in (0, Q("100"))
    assert all(f["venue"] in ("ALPHA", "BRAVO", "CHARLIE", "NEXUS") for f in order["fills"])
    assert body["children"] and body["decisions"]


async def test_sweep_across_venues_fills_exactly_without_trading_through(
    routing_stack: RoutingStack,
) -> None:
    _, body = await execute(routing_stack, "u-sweep", "RT1", "BUY", "3000", "20.10")
    order = await routing_stack.stored(body["order_id"])
    exact(order)
    no_trade_through(order)
    assert order["filled_quantity"] > 0
    assert len({c["venue"] for c in order["children"]}) >= 2


async def test_sell_side_and_lowest_cost_prefer_the_venue_that_pays_takers(
    routing_stack: RoutingStack,
) -> None:
    _, body = await execute(routing_stack, "u-cost", "RT0", "SELL", "100", "49.90", "LOWEST_COST")
    order = await routing_stack.stored(body["order_id"])
    exact(order)
    no_trade_through(order)
    fees = [f["fee"] for f in order["fills"]]
    assert sum(fees) == order["fees"]


async def test_a_retried_order_id_executes_once(routing_stack: RoutingStack) -> None:
    order_id = oid("I")
    first, a = await execute(
        routing_stack, "u-idem", "RT0", "BUY", "200", "50.10", order_id=order_id
    )
    again, b = await execute(
        routing_stack, "u-idem", "RT0", "BUY", "200", "50.10", order_id=order_id
    )
    assert (first, again) == (201, 200)
    assert a["children"] == b["children"] and a["fills"] == b["fills"]
    async with routing_stack.client("u-other") as http:
        taken = await http.post(
            "/orders", json={"symbol": "RT0", "side": "BUY", "quantity": "1", "order_id": order_id}
        )
    assert taken.status_code == 409


async def test_a_venue_that_rejects_leaves_the_rest_to_other_venues(
    routing_stack: RoutingStack,
) -> None:
    _, body = await execute(routing_stack, "u-reject", "RT2", "BUY", "4000", "30.10")
    order = await routing_stack.stored(body["order_id"])
    exact(order)
    no_trade_through(order)
    delta = [c for c in order["children"] if c["venue"] == "DELTA"]
    assert delta and all(c["status"] == "REJECTED" and c["filled_quantity"] == 0 for c in delta)
    assert any(c["venue"] == "ALPHA" and c["filled_quantity"] for c in order["children"])


async def test_a_venue_answering_after_the_timeout_is_cancelled_and_counted_exactly(
    routing_stack: RoutingStack,
) -> None:
    _, body = await execute(routing_stack, "u-slow", "RT3", "BUY", "3000", "40.10")
    order = await routing_stack.stored(body["order_id"])
    exact(order)
    no_trade_through(order)
    echo = [c for c in order["children"] if c["venue"] == "ECHO"]
    assert echo and any(c["timed_out"] for c in echo)
    # the late answer was learned (fills counted once) and nothing over-filled
    assert order["in_doubt_quantity"] == 0 or order["status"] != "FILLED"


async def test_a_venue_killed_mid_order_leaves_exact_quantities(
    routing_stack: RoutingStack,
) -> None:
    venue = routing_stack.venues["FOXTROT"]
    adapter = routing_stack.built.directory.venues["FOXTROT"]
    order_id = oid("K")
    task = asyncio.create_task(
        execute(routing_stack, "u-kill", "RT4", "BUY", "9000", "60.10", order_id=order_id)
    )
    async with asyncio.timeout(10):  # the child is out; FOXTROT answers only after 400 ms
        while adapter.report_of(f"{order_id}:r0:FOXTROT") is None:
            await asyncio.sleep(0.005)
    venue.kill()
    _, body = await task
    order = await routing_stack.stored(body["order_id"])
    exact(order)
    no_trade_through(order)
    fox = [c for c in order["children"] if c["venue"] == "FOXTROT"]
    assert fox and all(c["filled_quantity"] == 0 for c in fox)
    assert order["in_doubt_quantity"] <= sum(c["quantity"] for c in fox)
    await venue.start()  # back for the later tests, same port and FIX store
    await routing_stack.built.directory.venues["FOXTROT"].wait_logged_on(15)


async def test_after_a_venue_restart_the_session_resumes_its_sequence(
    routing_stack: RoutingStack,
) -> None:
    adapter = routing_stack.built.directory.venues["CHARLIE"]
    before = adapter.counters.logons
    await routing_stack.venues["CHARLIE"].restart()
    await asyncio.sleep(0.2)
    await adapter.wait_logged_on(15)
    assert adapter.counters.logons == before + 1
    _, body = await execute(routing_stack, "u-restart", "RT1", "SELL", "100", "19.90")
    order = await routing_stack.stored(body["order_id"])
    exact(order)
    no_trade_through(order)
    assert order["status"] in ("FILLED", "PARTIALLY_FILLED")


async def test_halted_user_and_symbol_are_refused_before_any_venue(
    routing_stack: RoutingStack,
) -> None:
    bus = KafkaBus(routing_stack.settings.kafka_bootstrap or "")
    producer = bus.producer()
    ts = routing_stack.built.router.clock()
    user = oid("halted-")
    halts = [
        Halt(
            event_id=oid("h"),
            ts_event=ts,
            scope="USER",
            target=user,
            action="HALT",
            reason="spoofing",
        ),
        Halt(
            event_id=oid("h"),
            ts_event=ts,
            scope="SYMBOL",
            target="RT1",
            action="HALT",
            reason="news",
        ),
    ]
    await producer.publish_batch(
        [OutgoingMessage(TOPIC_HALTS, HALT_CODEC.encode(h), partition_key(h)) for h in halts]
    )
    service = routing_stack.built.service
    async with asyncio.timeout(15):
        while service.halted(user, "RT0") is None or service.halted("anyone", "RT1") is None:
            await asyncio.sleep(0.05)
    try:
        _, by_user = await execute(routing_stack, user, "RT0", "BUY", "100", "50.10")
        _, by_symbol = await execute(routing_stack, "u-sym", "RT1", "BUY", "100", "20.10")
    finally:
        resumes = [
            Halt(
                event_id=oid("r"),
                ts_event=ts + 1,
                scope=h.scope,
                target=h.target,
                action="RESUME",
                reason="over",
            )
            for h in halts
        ]
        await producer.publish_batch(
            [OutgoingMessage(TOPIC_HALTS, HALT_CODEC.encode(h), partition_key(h)) for h in resumes]
        )
        await producer.close()
        await bus.close()
    for body in (by_user, by_symbol):
        assert body["status"] == "REFUSED" and "halted" in body["reason"]
        assert body["children"] == [] and body["fills"] == []
    async with asyncio.timeout(15):
        while service.halted("anyone", "RT1") is not None:
            await asyncio.sleep(0.05)


async def test_traders_see_their_own_orders_and_compliance_sees_all(
    routing_stack: RoutingStack,
) -> None:
    _, body = await execute(routing_stack, "u-owner", "RT0", "BUY", "100", "50.10")
    order_id = body["order_id"]
    async with (
        routing_stack.client("u-owner") as own,
        routing_stack.client("u-nosy") as other,
        routing_stack.client("auditor", "compliance") as compliance,
    ):
        assert (await own.get(f"/orders/{order_id}")).status_code == 200
        assert (await other.get(f"/orders/{order_id}")).status_code == 404
        seen = (await compliance.get(f"/orders/{order_id}")).json()
        mine = (await own.get("/orders")).json()
        theirs = await other.get("/orders", params={"user_id": "u-owner"})
        everyone = (await compliance.get("/orders", params={"limit": 1000})).json()
    assert seen["order_id"] == order_id and seen["fills"]
    assert {o["user_id"] for o in mine} == {"u-owner"}
    assert theirs.status_code == 403
    assert len({o["user_id"] for o in everyone}) > 1


async def test_children_fills_and_decisions_are_published_with_both_nbbos(
    routing_stack: RoutingStack,
) -> None:
    _, body = await execute(routing_stack, "u-events", "RT0", "BUY", "300", "50.10")
    order_id = body["order_id"]
    seen: list[object] = []

    async def handle(batch: list[object]) -> None:
        seen.extend(d.event for d in batch if getattr(d.event, "order_id", None) == order_id)  # type: ignore[attr-defined]

    def done() -> bool:
        return any(isinstance(e, ParentExecuted) for e in seen) and any(
            isinstance(e, RoutingDecisionEvent) for e in seen
        )

    await run_until(
        ConsumerRunner(
            KafkaBus(routing_stack.settings.kafka_bootstrap or ""),
            oid("evidence-"),
            handle,
            topics=[TOPIC_ROUTING_DECISIONS, TOPIC_ROUTING_EXECUTIONS],
        ),
        done,
    )
    fills = [e for e in seen if isinstance(e, RoutedFill)]
    children = [e for e in seen if isinstance(e, ChildExecuted)]
    parent = next(e for e in seen if isinstance(e, ParentExecuted))
    assert fills and children
    assert all(f.nbbo_at_decision.ask_price and f.nbbo_at_execution.ts_event for f in fills)
    assert sum(f.quantity for f in fills) == parent.filled_quantity
    assert len({f.event_id for f in fills}) == len(fills)


async def test_many_concurrent_parents_never_over_fill(routing_stack: RoutingStack) -> None:
    results = await asyncio.gather(
        *(
            execute(
                routing_stack,
                f"u-c{i % 3}",
                "RT0",
                "BUY" if i % 2 else "SELL",
                "500",
                "50.10" if i % 2 else "49.90",
                "SMART",
            )
            for i in range(12)
        )
    )
    for _, body in results:
        order = await routing_stack.stored(body["order_id"])
        exact(order)
        no_trade_through(order)


async def test_internalize_first_fills_on_the_internal_venue_inside_the_nbbo(
    routing_stack: RoutingStack,
) -> None:
    import httpx

    from nexus.events import QUOTE_CODEC, TOPIC_QUOTES, QuoteL1

    headers = routing_stack.headers("desk", "service")
    async with httpx.AsyncClient(base_url=routing_stack.matching_url, headers=headers) as m:
        rest = await m.post(
            "/orders",
            json={
                "symbol": "RT0",
                "side": "SELL",
                "quantity": "100",
                "price": "50.00",
                "time_in_force": "GTC",
                "user_id": "u-internal-seller",
            },
        )
    assert rest.status_code == 201, rest.text
    # market data publishes the internal venue's top of book like any venue's
    quote = QuoteL1(
        event_id=oid("nexus-q"),
        ts_event=routing_stack.built.router.clock(),
        symbol="RT0",
        venue="NEXUS",
        bid_price=0,
        bid_size=0,
        ask_price=Q("50.00"),
        ask_size=Q("100"),
    )
    bus = KafkaBus(routing_stack.settings.kafka_bootstrap or "")
    producer = bus.producer()
    await producer.publish_batch(
        [OutgoingMessage(TOPIC_QUOTES, QUOTE_CODEC.encode(quote), partition_key(quote))]
    )
    await producer.close()
    await bus.close()
    router = routing_stack.built.router
    async with asyncio.timeout(10):
        while router.market.nbbo("RT0", router.clock()).ask_price != Q("50.00"):
            await asyncio.sleep(0.02)
    _, body = await execute(
        routing_stack, "u-int", "RT0", "BUY", "100", "50.10", "INTERNALIZE_FIRST"
    )
    order = await routing_stack.stored(body["order_id"])
    exact(order)
    no_trade_through(order)
    assert order["strategy"] == "INTERNALIZE_FIRST"
    nexus = [f for f in order["fills"] if f["venue"] == "NEXUS"]
    assert nexus and nexus[0]["price"] == Q("50.00") and nexus[0]["fee"] == 0


async def test_bad_requests_answer_4xx_naming_the_problem(routing_stack: RoutingStack) -> None:
    order = {"symbol": "RT0", "side": "BUY", "quantity": "100", "price": "50.10"}
    async with (
        routing_stack.client("u-bad") as trader,
        routing_stack.client("router-svc", "service") as svc,
    ):
        off_tick = await trader.post(
            "/orders", json={**order, "price": "50.105", "order_id": oid()}
        )
        zero = await trader.post("/route", json={**order, "quantity": "0"})
        negative = await trader.post("/route", json={**order, "price": "-1"})
        for_other = await trader.post("/orders", json={**order, "user_id": "someone-else"})
        unnamed = await svc.post("/route", json=order)
        named = await svc.post("/route", json={**order, "user_id": "u-bad"})
        bad_symbol = await trader.get("/nbbo/not-a-symbol")
        bad_rank = await trader.get("/rankings/RT0", params={"quantity": "0"})
        route_off_tick = await trader.post("/route", json={**order, "price": "50.105"})
        unknown = await trader.post("/orders", json={**order, "symbol": "NOPE", "order_id": oid()})
        odd_lot = await trader.post("/orders", json={**order, "quantity": "0.5", "order_id": oid()})
    assert off_tick.status_code == 422 and "tick" in off_tick.text
    assert zero.status_code == 422 and negative.status_code == 422
    assert for_other.status_code == 403 and unnamed.status_code == 422
    assert named.status_code == 200 and named.json()["user_id"] == "u-bad"
    assert bad_symbol.status_code == 422 and bad_rank.status_code == 422
    assert route_off_tick.status_code == 422
    assert unknown.status_code == 422 and "unknown symbol 'NOPE'" in unknown.text
    assert odd_lot.status_code == 422 and "lot size 1" in odd_lot.text
    assert all(
        r.headers["content-type"].startswith("application/problem+json")
        for r in (off_tick, zero, for_other, unnamed, bad_symbol)
    )
    # refused at the edge by the instrument reference data: the id is not claimed, nothing stored
    assert "$.price" in off_tick.text
    assert await routing_stack.built.service.store.order(_order_id_of(off_tick)) is None


def _order_id_of(answer: object) -> str:
    import json as _json

    return str(_json.loads(answer.request.content)["order_id"])  # type: ignore[attr-defined]


async def test_a_decision_for_a_halted_user_is_refused(routing_stack: RoutingStack) -> None:
    service = routing_stack.built.service
    user = oid("halted-route-")
    service.apply_halts(
        [Halt(event_id=oid("h"), ts_event=1, scope="USER", target=user, action="HALT", reason="x")]
    )
    async with routing_stack.client(user) as http:
        answer = await http.post(
            "/route", json={"symbol": "RT0", "side": "BUY", "quantity": "100", "price": "50.10"}
        )
    assert answer.status_code == 409 and "halted" in answer.text
