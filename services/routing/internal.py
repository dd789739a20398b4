"""The internal matching engine as an :class:`ExecutionVenue`, over its order-entry REST API.

A child becomes ``POST /orders`` (a LIMIT order, IOC or DAY, entered by the router's service
principal on behalf of the child's user); the answer lists the fills of that command, so an
IOC child's report is complete when the call returns. The matching service answers only after
its events are on the broker. Failures map onto the core's contract:

* the connection could not be made (or the circuit is open): nothing reached the engine,
  :class:`VenueUnavailable` with ``order_sent=False``;
* the call timed out or the engine answered 5xx after accepting: ``order_sent=True``, and
  :meth:`InternalVenue.cancel` learns the child's fate from ``GET /orders/{id}``;
* a 4xx refusal (halt, invalid order) is a ``REJECTED`` report naming the reason.

Child ids may hold ``:``, which the engine reserves; :func:`engine_order_id` maps them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

import httpx

from nexus.clients import ServiceClient
from nexus.clients.breaker import BreakerState
from nexus.clients.errors import CircuitOpen, ClientError, ServiceCallError, ServiceUnavailable
from nexus.clients.http import NO_RETRY
from nexus.money import format_raw, to_raw
from services.routing.core import (
    ChildOrder,
    ChildReport,
    ChildStatus,
    ExecutionVenue,
    Fill,
    VenueProfile,
    VenueUnavailable,
)

INTERNAL_VENUE: Final = "NEXUS"
_OPEN: Final = frozenset({"NEW", "PARTIALLY_FILLED"})


def engine_order_id(child_id: str) -> str:
    """The matching engine's order id of a child (its alphabet has no ``:``)."""
    return child_id.replace(":", ".")[:64]


class InternalVenue(ExecutionVenue):
    """The internal venue (``NEXUS``): no fees, no protected-quote obligations to itself."""

    def __init__(
        self,
        client: ServiceClient,
        profile: VenueProfile | None = None,
        *,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._client = client
        self._profile = profile or VenueProfile(
            venue_id=INTERNAL_VENUE, kind="INTERNAL", expected_latency_ns=2_000_000
        )
        self._clock = clock_ns
        self._fills: dict[str, dict[str, Fill]] = {}

    @property
    def profile(self) -> VenueProfile:
        return self._profile

    def is_available(self) -> bool:
        return self._client.breaker.state is not BreakerState.OPEN

    async def submit(self, child: ChildOrder) -> ChildReport:
        body: dict[str, Any] = {
            "symbol": child.symbol,
            "side": child.side,
            "quantity": str(format_raw(child.quantity)),
            "order_type": "LIMIT",
            "time_in_force": child.time_in_force,
            "price": str(format_raw(child.limit_price)),
            "order_id": engine_order_id(child.child_id),
            "user_id": child.user_id,
            "client_order_id": engine_order_id(child.child_id),
        }
        try:
            response = await self._client.request("POST", "/orders", json=body, retry=NO_RETRY)
        except ClientError as exc:
            if exc.status == 409:  # sent before (a retried child): learn what happened
                return await self._status(child)
            return self._rejected(child, _detail(exc))
        except ServiceUnavailable as exc:
            sent = exc.status is not None or not _refused(exc)
            raise VenueUnavailable(self.venue_id, str(exc), order_sent=sent) from exc
        except ServiceCallError as exc:  # a timeout: the order may have been entered
            raise VenueUnavailable(self.venue_id, str(exc), order_sent=True) from exc
        return self._report(child, response.json())

    async def cancel(self, child: ChildOrder) -> ChildReport:
        view = await self._get(child)
        if view is None:
            return ChildReport(
                child_id=child.child_id,
                venue_id=self.venue_id,
                status=ChildStatus.CANCELED,
                reason="never reached the engine",
                ts_event=self._clock(),
            )
        if view["status"] in _OPEN:
            try:
                response = await self._client.request(
                    "DELETE", f"/orders/{engine_order_id(child.child_id)}"
                )
                view = response.json()
            except ClientError as exc:
                if exc.status != 409:  # 409: it stopped resting meanwhile
                    raise VenueUnavailable(self.venue_id, str(exc), order_sent=True) from exc
                view = await self._get(child) or view
            except ServiceCallError as exc:
                raise VenueUnavailable(self.venue_id, str(exc), order_sent=True) from exc
        return self._report(child, view)

    async def _status(self, child: ChildOrder) -> ChildReport:
        view = await self._get(child)
        if view is None:
            raise VenueUnavailable(
                self.venue_id, "order neither entered nor refused", order_sent=True
            )
        return self._report(child, view)

    async def _get(self, child: ChildOrder) -> dict[str, Any] | None:
        try:
            response = await self._client.request(
                "GET", f"/orders/{engine_order_id(child.child_id)}"
            )
        except ClientError as exc:
            if exc.status == 404:
                return None
            raise VenueUnavailable(self.venue_id, str(exc), order_sent=True) from exc
        except ServiceCallError as exc:
            raise VenueUnavailable(self.venue_id, str(exc), order_sent=True) from exc
        view: dict[str, Any] = response.json()
        return view

    def _report(self, child: ChildOrder, view: dict[str, Any]) -> ChildReport:
        known = self._fills.setdefault(child.child_id, {})
        for f in view.get("fills", ()):
            if f["trade_id"] not in known:
                known[f["trade_id"]] = Fill(
                    fill_id=f["trade_id"],
                    child_id=child.child_id,
                    venue_id=self.venue_id,
                    price=to_raw(f["price"]),
                    quantity=to_raw(f["quantity"]),
                    fee=0,
                    liquidity="TAKER" if f.get("aggressor", True) else "MAKER",
                    ts_event=int(f.get("ts_event", 0)),
                )
        fills = tuple(known.values())
        known_qty = sum(f.quantity for f in fills)
        filled = to_raw(view.get("filled_quantity", "0"))
        status = view.get("status", "")
        reason = view.get("reject_reason") or view.get("reason") or ""
        if status == "REJECTED":
            result = ChildStatus.REJECTED
        elif filled > known_qty:
            result = ChildStatus.UNKNOWN  # fills this adapter did not see (a resting DAY child)
        elif status in _OPEN:
            result = ChildStatus.WORKING
        elif filled >= child.quantity:
            result = ChildStatus.FILLED
        elif filled:
            result = ChildStatus.PARTIALLY_FILLED
        else:
            result = ChildStatus.CANCELED
        leaves = to_raw(view.get("leaves_quantity", "0")) if status in _OPEN else 0
        return ChildReport(
            child_id=child.child_id,
            venue_id=self.venue_id,
            status=result,
            fills=fills,
            leaves_quantity=leaves,
            reason=str(reason)[:512],
            ts_event=int(view.get("ts_last") or self._clock()),
        )

    def _rejected(self, child: ChildOrder, reason: str) -> ChildReport:
        return ChildReport(
            child_id=child.child_id,
            venue_id=self.venue_id,
            status=ChildStatus.REJECTED,
            reason=reason[:512],
            ts_event=self._clock(),
        )


def _detail(exc: ClientError) -> str:
    problem = exc.problem or {}
    return str(problem.get("detail") or problem.get("title") or f"HTTP {exc.status}")


def _refused(exc: ServiceUnavailable) -> bool:
    """Whether the call failed before the request could reach the engine (connect refused)."""
    return isinstance(exc, CircuitOpen) or isinstance(exc.__cause__, httpx.ConnectError)
