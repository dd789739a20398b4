"""The router's REST order entry refuses what the instrument reference data refuses (422).

Issue 11 ("fail closed"): parents on an unknown symbol, off the tick or in fractions of a lot
are refused before the parent id is claimed, anything stored or any venue touched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from nexus.web import TRADER, create_app
from services.routing.api import routes
from services.routing.core import TradingHalted
from services.routing.service import RoutingService
from tests.support.instrument_refusals import refusal_cases


class RecordingRouter:
    """Records what reached it and refuses it (so a passing parent is visible as a 409)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int, int]] = []

    async def route_order(self, *args: Any) -> Any:
        return self._refuse(*args)

    async def route_and_execute(self, *args: Any) -> Any:
        return self._refuse(*args)

    def _refuse(
        self, order_id: str, user_id: str, symbol: str, side: str, qty: int, price: int, *_: Any
    ) -> Any:
        self.calls.append((order_id, symbol, qty, price))
        raise TradingHalted("reached the router")


class RecordingStore:
    """Records claims and outcomes; nothing else is needed before the router answers."""

    def __init__(self) -> None:
        self.claimed: list[str] = []
        self.outcomes = 0
        self.outbox: Any = None  # the relay never runs here

    async def claim_parent(self, order_id: str, *args: Any) -> bool:
        self.claimed.append(order_id)
        return True

    async def record_outcome(self, *args: Any) -> None:
        self.outcomes += 1


class Desk:
    def __init__(self, router: RecordingRouter, store: RecordingStore, http: Any) -> None:
        self.router, self.store, self.http = router, store, http


@pytest.fixture
async def desk() -> AsyncIterator[Desk]:
    router, store = RecordingRouter(), RecordingStore()
    service = RoutingService(router, store, publisher=None)  # type: ignore[arg-type]
    app = create_app("routing", routes(service, lambda: [], lambda: "R-1"))
    token = app.authenticator.issue_token("alice", [TRADER])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://routing",
        headers={"Authorization": f"Bearer {token}"},
    ) as http:
        yield Desk(router, store, http)


def _parent(
    symbol: str = "SIM0003", price: str | None = "25.00", qty: str = "100"
) -> dict[str, Any]:
    body: dict[str, Any] = {"symbol": symbol, "side": "BUY", "quantity": qty}
    if price is not None:
        body["price"] = price
    return body


CASES = refusal_cases(_parent)


@pytest.mark.parametrize("path", ["/orders", "/route"])
@pytest.mark.parametrize(("body", "field", "message"), CASES)
async def test_parent_off_the_reference_data_is_422_before_anything_is_stored(
    desk: Desk, path: str, body: dict[str, Any], field: str, message: str
) -> None:
    answer = await desk.http.post(path, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    [error] = answer.json()["errors"]
    assert error["field"] == field and message in error["message"]
    assert desk.store.claimed == [] and desk.store.outcomes == 0
    assert desk.router.calls == []


@pytest.mark.parametrize("path", ["/orders", "/route"])
async def test_a_parent_on_the_reference_data_reaches_the_router(desk: Desk, path: str) -> None:
    answer = await desk.http.post(path, json=_parent(price="0.9999", qty="300"))
    assert answer.status_code == 409 and "reached the router" in answer.text
    assert desk.router.calls == [("R-1", "SIM0003", 300 * 10**9, 9999 * 10**5)]
    assert desk.store.claimed == (["R-1"] if path == "/orders" else [])
