"""InternalVenue over a (mocked) matching order-entry API: fills, rejects, failures, fate."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from nexus.clients import ServiceClient
from nexus.clients.breaker import CircuitBreaker
from nexus.clients.http import RetryPolicy
from nexus.money import to_raw
from services.routing.core import ChildOrder, ChildStatus, VenueUnavailable
from services.routing.internal import InternalVenue, engine_order_id

Q = to_raw

CHILD = ChildOrder(
    child_id="P1:0:NEXUS",
    parent_id="P1",
    user_id="u1",
    venue_id="NEXUS",
    symbol="SIM0000",
    side="BUY",
    quantity=Q("300"),
    limit_price=Q("50.01"),
)


def view(
    status: str, filled: str, fills: list[dict[str, object]], **kw: object
) -> dict[str, object]:
    body: dict[str, object] = {
        "order_id": "P1.0.NEXUS",
        "status": status,
        "filled_quantity": filled,
        "leaves_quantity": "0",
        "fills": fills,
        "reject_reason": None,
        "ts_last": 77,
    }
    body.update(kw)
    return body


FILL = {
    "trade_id": "NEXUS:SIM0000:9",
    "price": "50.00",
    "quantity": "100",
    "aggressor": True,
    "ts_event": 5,
}


def venue(handler: Callable[[httpx.Request], httpx.Response]) -> InternalVenue:
    client = ServiceClient(
        "matching",
        "http://matching",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(max_attempts=1),
        breaker=CircuitBreaker("matching"),
    )
    return InternalVenue(client, clock_ns=lambda: 42)


def test_engine_order_ids_avoid_the_reserved_colon() -> None:
    assert engine_order_id("P1:0:NEXUS") == "P1.0.NEXUS"
    assert len(engine_order_id("x" * 100)) == 64


async def test_ioc_child_is_entered_for_the_user_and_its_fills_reported() -> None:
    seen: list[dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(201, json=view("EXPIRED", "100", [FILL]))

    v = venue(handler)
    report = await v.submit(CHILD)
    assert seen[0]["time_in_force"] == "IOC" and seen[0]["user_id"] == "u1"
    assert seen[0]["order_id"] == "P1.0.NEXUS" and seen[0]["price"] == "50.01"
    assert report.status is ChildStatus.PARTIALLY_FILLED and report.filled_quantity == Q("100")
    assert report.fills[0].price == Q("50.00") and report.fills[0].fee == 0
    assert v.profile.kind == "INTERNAL" and v.is_available()


async def test_filled_and_unfilled_children() -> None:
    full = venue(
        lambda r: httpx.Response(201, json=view("FILLED", "300", [{**FILL, "quantity": "300"}]))
    )
    assert (await full.submit(CHILD)).status is ChildStatus.FILLED
    none = venue(lambda r: httpx.Response(201, json=view("EXPIRED", "0", [])))
    assert (await none.submit(CHILD)).status is ChildStatus.CANCELED


async def test_a_refused_order_is_a_rejected_child_with_the_reason() -> None:
    halted = venue(
        lambda r: httpx.Response(
            201, json=view("REJECTED", "0", [], reject_reason="user u1 halted: spoofing")
        )
    )
    report = await halted.submit(CHILD)
    assert report.status is ChildStatus.REJECTED and "halted" in report.reason
    invalid = venue(
        lambda r: httpx.Response(422, json={"title": "Unprocessable", "detail": "bad price"})
    )
    report = await invalid.submit(CHILD)
    assert report.status is ChildStatus.REJECTED and report.reason == "bad price"


async def test_connection_refused_means_nothing_was_sent() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(VenueUnavailable) as info:
        await venue(refuse).submit(CHILD)
    assert info.value.order_sent is False


async def test_a_timeout_or_5xx_leaves_the_child_in_doubt_until_cancel_learns_it() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(VenueUnavailable) as info:
        await venue(slow).submit(CHILD)
    assert info.value.order_sent is True
    with pytest.raises(VenueUnavailable) as info:
        await venue(lambda r: httpx.Response(503)).submit(CHILD)
    assert info.value.order_sent is True


async def test_cancel_of_an_order_that_never_arrived_is_cancelled_without_fills() -> None:
    report = await venue(lambda r: httpx.Response(404, json={"detail": "unknown"})).cancel(CHILD)
    assert report.status is ChildStatus.CANCELED and not report.fills


async def test_cancel_of_a_resting_child_deletes_it() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.method == "GET":
            return httpx.Response(200, json=view("NEW", "0", [], leaves_quantity="300"))
        return httpx.Response(200, json=view("CANCELLED", "0", []))

    report = await venue(handler).cancel(CHILD)
    assert calls == ["GET", "DELETE"] and report.status is ChildStatus.CANCELED


async def test_fills_the_adapter_did_not_see_make_the_child_unknown() -> None:
    report = await venue(lambda r: httpx.Response(200, json=view("FILLED", "300", []))).cancel(
        CHILD
    )
    assert report.status is ChildStatus.UNKNOWN


async def test_a_duplicate_submit_answers_the_stored_state() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(409, json={"detail": "duplicate"})
        return httpx.Response(200, json=view("NEW", "0", [], leaves_quantity="300"))

    report = await venue(handler).submit(CHILD)
    assert report.status is ChildStatus.WORKING and report.leaves_quantity == Q("300")
