"""Falcon resources of the matching service: submit, amend, cancel, order status, L2 book.

Prices and quantities are exact decimal strings (``"101.25"``) at this boundary and raw fixed
point inside. Routes:

* ``POST /orders`` - submit (201). LIMIT or MARKET, GTC/DAY/IOC/FOK, post-only. The router's
  "fill up to Q at price P or better, else nothing" is a LIMIT with ``time_in_force`` IOC: the
  answer lists the fills and the unfilled rest is expired (status ``FILLED`` or ``EXPIRED``).
* ``POST /orders/{order_id}/amend`` (or ``PATCH /orders/{order_id}``) - new price and/or new
  open quantity (200).
* ``DELETE /orders/{order_id}`` - cancel the open quantity (200).
* ``GET /orders/{order_id}`` - status.
* ``GET /orders?user_id=U&symbol=S`` - the user's open (resting) orders, oldest first.
* ``DELETE /orders?user_id=U&symbol=S`` - cancel every open order of the user (of one symbol).
* ``GET /books/{symbol}?depth=N`` - L2 snapshot, best level first on each side.

Every command answers only after its events were acknowledged by the broker. An accepted
order answers ``201`` with a ``Location``. An order the engine *refuses* for a business
reason - a halted user or symbol, a post-only order that would cross, a FOK that cannot fill -
answers ``200`` with ``status: "REJECTED"`` and the one ``reason`` field, no ``Location``; an
``OrderReject`` event goes on ``orders.events``, so surveillance sees the attempt (an amend
refused so answers ``200`` with ``reason`` and the order unchanged). Malformed input is
``422`` naming the field, and so is what the instrument reference data refuses
(:mod:`nexus.instruments`: an unknown symbol, a price off its band's tick, a quantity that is
not a whole number of lots; new orders and amends, nothing published); an unknown order
``404`` (also another trader's order), a reused order id, a reused ``client_order_id`` of
the same user or a closed order ``409``; a broker outage, or halts not known for sure (the
halts consumer down or behind, the halts in force not yet loaded from the risk service),
``503`` with the reason and ``Retry-After``.

Who: traders submit for themselves (``user_id`` is their token's subject); ``service`` and
``admin`` callers (the router, the simulator) must name the ``user_id``. Traders see, amend
and cancel only their own orders; ``risk`` and ``compliance`` may read any order.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import falcon.asgi
import msgspec
from msgspec import Meta

from nexus.events import OrderFill, Symbol
from nexus.money import Fixed, format_raw
from nexus.web import (
    ADMIN,
    COMPLIANCE,
    RISK,
    SERVICE,
    TRADER,
    Forbidden,
    HTTPProblem,
    NotFound,
    Principal,
    QueryParams,
    RequestBody,
    endpoint,
    invalid,
    principal_of,
    read_query,
)
from services.matching.core import BookSnapshot, OrderStatus, SubmitOrder
from services.matching.service import (
    Execution,
    MatchingService,
    NotAcknowledged,
    ServiceUnavailable,
)

ENTRY = {TRADER, SERVICE, ADMIN}
ON_BEHALF = {SERVICE, ADMIN}
READERS = {TRADER, SERVICE, ADMIN, RISK, COMPLIANCE}
ALL_ORDERS_READERS = {SERVICE, ADMIN, RISK, COMPLIANCE}
MAX_DEPTH = 1000

#: user, account and client order ids (the engine's identifier alphabet)
Id = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
#: a caller-chosen order id: no ``:``, which is reserved for server-numbered ids
OrderId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]


class NewOrder(RequestBody):
    """A new order. ``price`` is required for LIMIT and absent for MARKET (decimal strings)."""

    symbol: Symbol
    side: Literal["BUY", "SELL"]
    quantity: Fixed
    order_type: Literal["LIMIT", "MARKET"] = "LIMIT"
    time_in_force: Literal["GTC", "DAY", "IOC", "FOK"] = "GTC"
    price: Fixed | None = None
    post_only: bool = False
    stp: Literal["OFF", "CANCEL_NEWEST", "CANCEL_OLDEST"] | None = None
    account_id: Id | None = None
    client_order_id: Id | None = None
    order_id: OrderId | None = None
    user_id: Id | None = None


class AmendRequest(RequestBody):
    """New price and/or new open (unfilled) quantity; at least one."""

    price: Fixed | None = None
    quantity: Fixed | None = None


class OrderView(msgspec.Struct, kw_only=True):
    """An order; amounts are exact decimal strings, ``price`` null for a MARKET order."""

    order_id: str
    client_order_id: str | None
    user_id: str
    account_id: str
    symbol: str
    side: str
    order_type: str
    time_in_force: str
    post_only: bool
    price: str | None
    quantity: str
    filled_quantity: str
    leaves_quantity: str
    status: str
    reason: str | None
    ts_last: int


class FillView(msgspec.Struct, kw_only=True):
    """One fill of the order by this command."""

    trade_id: str
    price: str
    quantity: str
    leaves_quantity: str
    aggressor: bool
    ts_event: int


class ExecutionView(OrderView, kw_only=True):
    """The order right after the command and its fills; ``reason`` says why it was refused."""

    fills: list[FillView]


class OpenOrdersQuery(QueryParams):
    """Whose open orders (a trader's own by default), optionally of one symbol."""

    user_id: Id | None = None
    symbol: Symbol | None = None


class LevelView(msgspec.Struct, kw_only=True):
    """One price level: aggregated size and number of orders."""

    price: str
    size: str
    orders: int


class BookView(msgspec.Struct, kw_only=True):
    """L2 book: bids highest first, asks lowest first."""

    venue: str
    symbol: str
    bids: list[LevelView]
    asks: list[LevelView]


class DepthQuery(QueryParams):
    """Levels per side."""

    depth: Annotated[int, Meta(ge=1, le=MAX_DEPTH)] = 10


def _amount(raw: int) -> str:
    return str(format_raw(raw))


def order_view(order: OrderStatus) -> OrderView:
    """API view of an order."""
    return OrderView(**_order_fields(order))


def _order_fields(order: OrderStatus) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "user_id": order.user_id,
        "account_id": order.account_id,
        "symbol": order.symbol,
        "side": order.side,
        "order_type": order.order_type,
        "time_in_force": order.time_in_force,
        "post_only": order.post_only,
        "price": _amount(order.price) if order.price else None,
        "quantity": _amount(order.quantity),
        "filled_quantity": _amount(order.filled_quantity),
        "leaves_quantity": _amount(order.leaves_quantity),
        "status": order.status,
        "reason": order.reason,
        "ts_last": order.ts_last,
    }


def fill_view(fill: OrderFill) -> FillView:
    """API view of a fill."""
    return FillView(
        trade_id=fill.trade_id,
        price=_amount(fill.price),
        quantity=_amount(fill.quantity),
        leaves_quantity=_amount(fill.leaves_quantity),
        aggressor=fill.aggressor,
        ts_event=fill.ts_event,
    )


def execution_view(execution: Execution) -> ExecutionView:
    """API view of a command's outcome (the command's refusal, if any, is the ``reason``)."""
    fields = _order_fields(execution.order)
    if execution.reject_reason is not None:
        fields["reason"] = execution.reject_reason
    return ExecutionView(**fields, fills=[fill_view(f) for f in execution.fills])


def book_view(book: BookSnapshot) -> BookView:
    """API view of an L2 snapshot."""
    return BookView(
        venue=book.venue,
        symbol=book.symbol,
        bids=[
            LevelView(price=_amount(x.price), size=_amount(x.size), orders=x.orders)
            for x in book.bids
        ],
        asks=[
            LevelView(price=_amount(x.price), size=_amount(x.size), orders=x.orders)
            for x in book.asks
        ],
    )


def _user_of(principal: Principal, requested: str | None) -> str:
    """The user an order is entered for: the trader themself, or named by a service/admin."""
    if principal.has_any(ON_BEHALF):
        if requested is None:
            raise invalid("$.user_id", "required when a service or admin enters an order")
        return requested
    if requested is not None and requested != principal.subject:
        raise Forbidden("a trader may only enter orders for their own user")
    return principal.subject


def _reader_of(principal: Principal, requested: str | None) -> str:
    """Whose orders a list shows: one's own, or any named user's for the readers of all."""
    if requested is None:
        return principal.subject
    if requested != principal.subject and not principal.has_any(ALL_ORDERS_READERS):
        raise Forbidden("a trader may only list their own orders")
    return requested


def _visible(req: falcon.asgi.Request, service: MatchingService, order_id: str) -> OrderStatus:
    """The order if the caller may see it; another trader's order is 404 (not even revealed)."""
    principal = principal_of(req)
    order = service.order(order_id)
    if order.user_id != principal.subject and not principal.has_any(ALL_ORDERS_READERS):
        raise NotFound(f"unknown order {order_id!r}")
    return order


def _unavailable(exc: ServiceUnavailable) -> HTTPProblem:
    headers = {"Retry-After": "1"}
    if isinstance(exc, NotAcknowledged):
        headers["Location"] = f"/orders/{exc.order_id}"
    return HTTPProblem(503, str(exc), headers=headers)


class OrdersResource:
    """``/orders``: submit."""

    def __init__(self, service: MatchingService) -> None:
        self._service = service

    @endpoint(roles=ENTRY, body=NewOrder, response=ExecutionView, status=201, tags=["orders"])
    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, *, body: NewOrder
    ) -> None:
        """Submit an order; answers after its events are on the broker."""
        user_id = _user_of(principal_of(req), body.user_id)
        if body.order_type == "LIMIT" and body.price is None:
            raise invalid("$.price", "a LIMIT order needs a price")
        command = SubmitOrder(
            order_id=body.order_id or "",
            user_id=user_id,
            account_id=body.account_id or user_id,
            symbol=body.symbol,
            side=body.side,
            quantity=body.quantity,
            ts_event=0,
            order_type=body.order_type,
            time_in_force=body.time_in_force,
            price=body.price if body.price is not None else 0,
            post_only=body.post_only,
            stp=body.stp,
            client_order_id=body.client_order_id,
        )
        try:
            execution = await self._service.submit(command)
        except ServiceUnavailable as exc:
            raise _unavailable(exc) from None
        if execution.order.status == "REJECTED":
            resp.status = falcon.HTTP_200
        else:
            resp.status = falcon.HTTP_201
            resp.location = f"/orders/{execution.order.order_id}"
        resp.media = execution_view(execution)

    @endpoint(roles=READERS, query=OpenOrdersQuery, response=list[OrderView], tags=["orders"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """The open orders of a user (a trader sees only their own), oldest first."""
        query = read_query(req, OpenOrdersQuery)
        user_id = _reader_of(principal_of(req), query.user_id)
        resp.media = [order_view(o) for o in self._service.open_orders(user_id, query.symbol)]

    @endpoint(roles=ENTRY, query=OpenOrdersQuery, response=list[ExecutionView], tags=["orders"])
    async def on_delete(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Cancel every open order of a user (of one symbol, if given); answers what it did."""
        query = read_query(req, OpenOrdersQuery)
        user_id = _user_of(principal_of(req), query.user_id)
        try:
            executions = await self._service.cancel_all(user_id, query.symbol)
        except ServiceUnavailable as exc:
            raise _unavailable(exc) from None
        resp.media = [execution_view(e) for e in executions]


class OrderResource:
    """``/orders/{order_id}``: status (GET), amend (PATCH), cancel (DELETE)."""

    def __init__(self, service: MatchingService) -> None:
        self._service = service

    @endpoint(roles=READERS, response=OrderView, tags=["orders"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, order_id: str
    ) -> None:
        """An order's status (a trader sees only their own)."""
        resp.media = order_view(_visible(req, self._service, order_id))

    @endpoint(roles=ENTRY, body=AmendRequest, response=ExecutionView, tags=["orders"])
    async def on_patch(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        order_id: str,
        *,
        body: AmendRequest,
    ) -> None:
        """Amend: a pure size decrease keeps queue priority, anything else loses it."""
        await self.amend(req, resp, order_id, body)

    async def amend(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        order_id: str,
        body: AmendRequest,
    ) -> None:
        """Amend ``order_id`` as ``body`` asks (shared by PATCH and ``POST .../amend``)."""
        _visible(req, self._service, order_id)
        if body.price is None and body.quantity is None:
            raise invalid("$.price", "an amend needs a new price or quantity")
        try:
            execution = await self._service.amend(
                order_id,
                price=None if body.price is None else int(body.price.raw),
                quantity=None if body.quantity is None else int(body.quantity.raw),
            )
        except ServiceUnavailable as exc:
            raise _unavailable(exc) from None
        resp.media = execution_view(execution)

    @endpoint(roles=ENTRY, response=ExecutionView, tags=["orders"])
    async def on_delete(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, order_id: str
    ) -> None:
        """Cancel the order's open quantity; 409 if it no longer rests."""
        _visible(req, self._service, order_id)
        try:
            execution = await self._service.cancel(order_id)
        except ServiceUnavailable as exc:
            raise _unavailable(exc) from None
        resp.media = execution_view(execution)


class AmendResource:
    """``/orders/{order_id}/amend``: the same amend as ``PATCH /orders/{order_id}``."""

    def __init__(self, order: OrderResource) -> None:
        self._order = order

    @endpoint(roles=ENTRY, body=AmendRequest, response=ExecutionView, tags=["orders"])
    async def on_post(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        order_id: str,
        *,
        body: AmendRequest,
    ) -> None:
        """Amend price and/or open quantity."""
        await self._order.amend(req, resp, order_id, body)


class BookResource:
    """``/books/{symbol}``: L2 snapshot."""

    def __init__(self, service: MatchingService) -> None:
        self._service = service

    @endpoint(roles=READERS, query=DepthQuery, response=BookView, tags=["books"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, symbol: str
    ) -> None:
        """Up to ``depth`` levels a side (default 10, at most 1000); empty for an unknown symbol."""
        query = read_query(req, DepthQuery)
        try:
            checked: str = msgspec.convert(symbol, Symbol)
        except msgspec.ValidationError:
            raise invalid("symbol", f"not a symbol: {symbol!r}", "path") from None
        resp.media = book_view(self._service.book(checked, query.depth))


def routes(service: MatchingService) -> list[tuple[str, object]]:
    """The matching service's routes."""
    order = OrderResource(service)
    return [
        ("/orders", OrdersResource(service)),
        ("/orders/{order_id}", order),
        ("/orders/{order_id}/amend", AmendResource(order)),
        ("/books/{symbol}", BookResource(service)),
    ]
