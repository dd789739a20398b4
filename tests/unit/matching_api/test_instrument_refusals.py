"""Matching's REST edge refuses what the instrument reference data refuses: 422, nothing published.

Issue 11 ("fail closed"): an order on ``NOPE``, a price of ``10.001`` or a quantity of ``0.5``
was accepted and rested.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from nexus.web import TRADER, create_app
from services.matching.api import routes
from services.matching.service import MatchingService
from tests.support.instrument_refusals import OFF_TICK_PRICE, PART_LOT_QUANTITY, refusal_cases
from tests.unit.matching_api.test_matching_service import FakePublisher, Sessions


class Desk:
    """The matching app over a fake broker, with the default (simulated) reference data."""

    def __init__(self, service: MatchingService, publisher: FakePublisher, http: Any) -> None:
        self.service, self.publisher, self.http = service, publisher, http

    def published(self) -> int:
        return sum(len(b) for b in self.publisher.batches)


@pytest.fixture
async def desk() -> AsyncIterator[Desk]:
    publisher = FakePublisher()
    service = MatchingService("NEXUS", Sessions(), publisher, require_halts=False)
    await service.start()
    task = asyncio.create_task(service.publish_forever())
    app = create_app("matching", routes(service))
    token = app.authenticator.issue_token("alice", [TRADER])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://matching",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        yield Desk(service, publisher, http)
    task.cancel()


def _order(symbol: str = "SIM0005", price: str | None = "10.00", qty: str = "1") -> dict[str, Any]:
    body: dict[str, Any] = {"symbol": symbol, "side": "BUY", "quantity": qty}
    if price is None:
        body["order_type"], body["time_in_force"] = "MARKET", "IOC"
    else:
        body["price"] = price
    return body


def _only_error(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["status"] == 422 and problem["type"].endswith("validation-failed")
    [error] = problem["errors"]
    return dict(error)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        *refusal_cases(_order),
        (_order(price="0.50005"), "$.price", "tick 0.0001"),
        (_order(price=None, qty="2.5"), "$.quantity", "lot size 1"),
    ],
)
async def test_new_order_off_the_reference_data_is_422_and_nothing_rests(
    desk: Desk, body: dict[str, Any], field: str, message: str
) -> None:
    answer = await desk.http.post("/orders", json=body)
    error = _only_error(answer)
    assert error["field"] == field and message in error["message"]
    assert desk.published() == 0
    assert desk.service.open_orders("alice") == []
    assert desk.service.new_order_id() == "NEXUS:1:1"  # no number used


async def test_an_order_on_the_reference_data_is_accepted(desk: Desk) -> None:
    answer = await desk.http.post("/orders", json=_order(price="0.5001", qty="300"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "NEW"
    assert [o.symbol for o in desk.service.open_orders("alice")] == ["SIM0005"]


@pytest.mark.parametrize(
    ("change", "field"),
    [({"price": OFF_TICK_PRICE}, "$.price"), ({"quantity": PART_LOT_QUANTITY}, "$.quantity")],
)
async def test_amend_off_the_reference_data_is_422_and_the_order_is_unchanged(
    desk: Desk, change: dict[str, str], field: str
) -> None:
    placed = await desk.http.post("/orders", json=_order(price="10.00", qty="5"))
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    before = desk.published()
    answer = await desk.http.post(f"/orders/{order_id}/amend", json=change)
    assert _only_error(answer)["field"] == field
    assert desk.published() == before
    status = desk.service.order(order_id)
    assert (status.price, status.leaves_quantity) == (10 * 10**9, 5 * 10**9)
    patched = await desk.http.patch(f"/orders/{order_id}", json={"price": "10.01"})
    assert patched.status_code == 200 and patched.json()["price"] == "10.01"
