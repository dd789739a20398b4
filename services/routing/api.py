"""Falcon resources of the routing service: route, route and execute, orders, NBBO, rankings.

Prices and quantities are exact decimal strings at this boundary, raw fixed point inside.

* ``POST /route`` - a routing decision only (nothing sent): chosen children, rationale in words
  and numbers, alternatives with scores, rule set applied.
* ``POST /orders`` - route and execute (201; 200 with the stored outcome when the same
  ``order_id`` was executed before: a retry never executes twice). A halted user or symbol
  answers 201 with ``status: "REFUSED"`` and the reason, no venue touched.
* Both refuse what the instrument reference data refuses (:mod:`nexus.instruments`: an unknown
  symbol, a limit off its band's tick, a quantity that is not a whole number of lots) with 422
  naming the field, before the parent id is claimed or anything stored.
* ``GET /orders`` and ``GET /orders/{order_id}`` - parents with their children and fills.
* ``GET /nbbo/{symbol}``, ``GET /rankings/{symbol}?side=&quantity=``, ``GET /venues``.

Who: traders route for themselves and see only their own orders (another trader's order is
404); ``service`` and ``admin`` callers name the ``user_id``; ``compliance`` and ``admin``
read every order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import falcon.asgi
import msgspec
from msgspec import Meta

from nexus.events import Symbol
from nexus.money import Fixed, format_raw
from nexus.web import (
    ADMIN,
    COMPLIANCE,
    RISK,
    SERVICE,
    TRADER,
    Conflict,
    Forbidden,
    NotFound,
    Principal,
    QueryParams,
    RequestBody,
    endpoint,
    invalid,
    principal_of,
    read_query,
)
from services.routing.core import InvalidOrder, RoutingDecision, Strategy, TradingHalted
from services.routing.service import OrderIdInUse, RoutingService
from services.routing.store import StoredOrder

ENTRY = {TRADER, SERVICE, ADMIN}
ON_BEHALF = {SERVICE, ADMIN}
READERS = {TRADER, SERVICE, ADMIN, RISK, COMPLIANCE}
ALL_ORDERS_READERS = {SERVICE, ADMIN, COMPLIANCE}

OrderId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.\-]{1,48}$")]
UserId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.:\-]{1,64}$")]
StrategyName = Literal[
    "BEST_PRICE", "FASTEST", "LOWEST_COST", "SMART", "INTERNALIZE_FIRST", "EXTERNAL_ONLY"
]

#: keys whose integer values are raw fixed-point amounts (shown as decimal strings)
AMOUNT_KEYS = frozenset(
    {
        "quantity",
        "limit_price",
        "price",
        "available",
        "fee",
        "fees",
        "slippage",
        "expected_notional",
        "expected_fee",
        "bid_price",
        "bid_size",
        "ask_price",
        "ask_size",
        "filled_quantity",
        "leaves_quantity",
        "in_doubt_quantity",
        "average_price",
        "notional",
        "taker_fee",
        "maker_rebate",
        "price_improvement",
        "price_improvement_per_share",
        "effective_spread",
        "size",
        "routed_quantity",
    }
)


class RouteRequest(RequestBody):
    """A parent order: ``price`` is the limit (omit for a marketable order bounded by the book)."""

    symbol: Symbol
    side: Literal["BUY", "SELL"]
    quantity: Fixed
    price: Fixed | None = None
    strategy: StrategyName = "SMART"
    order_id: OrderId | None = None
    user_id: UserId | None = None


class RankingQuery(QueryParams):
    """Side and size to rank venues for."""

    side: Literal["BUY", "SELL"] = "BUY"
    quantity: Annotated[str, Meta(pattern=r"^[0-9]{1,12}(\.[0-9]{1,9})?$")] = "100"


class OrdersQuery(QueryParams):
    """Filters of the order list."""

    user_id: UserId | None = None
    limit: Annotated[int, Meta(ge=1, le=1000)] = 100


def decimalize(value: Any, key: str = "") -> Any:
    """``value`` with every raw amount under an :data:`AMOUNT_KEYS` key as a decimal string."""
    if isinstance(value, dict):
        return {k: decimalize(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [decimalize(v, key) for v in value]
    if key in AMOUNT_KEYS and isinstance(value, int) and not isinstance(value, bool):
        return str(format_raw(value))
    return value


def decision_view(decision: RoutingDecision) -> dict[str, Any]:
    """API view of a decision."""
    body = decimalize(msgspec.to_builtins(decision))
    body["routed_quantity"] = str(format_raw(decision.routed_quantity))
    return dict(body)


def order_view(stored: StoredOrder) -> dict[str, Any]:
    """API view of a parent with its children, fills and decisions."""
    view = decimalize(dict(stored.parent))
    view["children"] = [decimalize(c) for c in stored.children]
    view["fills"] = [decimalize(f) for f in stored.fills]
    view["decisions"] = [decimalize(d) for d in stored.decisions]
    return dict(view)


def _user_of(principal: Principal, requested: str | None) -> str:
    if principal.has_any(ON_BEHALF):
        if requested is None:
            raise invalid("$.user_id", "required when a service or admin routes an order")
        return requested
    if requested is not None and requested != principal.subject:
        raise Forbidden("a trader may only route orders for their own user")
    return principal.subject


def _order_id(body: RouteRequest, make_id: Callable[[], str]) -> str:
    return body.order_id or make_id()


def _terms(body: RouteRequest) -> tuple[int, int]:
    quantity = int(body.quantity.raw)
    if quantity <= 0:
        raise invalid("$.quantity", "must be > 0")
    price = 0 if body.price is None else int(body.price.raw)
    if price < 0:
        raise invalid("$.price", "must be >= 0")
    return quantity, price


class RouteResource:
    """``/route``: a decision only."""

    def __init__(self, service: RoutingService, make_id: Callable[[], str]) -> None:
        self._service = service
        self._make_id = make_id

    @endpoint(roles=ENTRY, body=RouteRequest, tags=["routing"])
    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, *, body: RouteRequest
    ) -> None:
        """Where the order would go and why; nothing is sent to any venue."""
        user_id = _user_of(principal_of(req), body.user_id)
        quantity, price = _terms(body)
        try:
            decision = await self._service.route(
                _order_id(body, self._make_id),
                user_id,
                body.symbol,
                body.side,
                quantity,
                price,
                Strategy(body.strategy),
            )
        except TradingHalted as exc:
            raise Conflict(f"trading halted: {exc.reason}") from None
        except InvalidOrder as exc:
            raise invalid("$", str(exc)) from None
        resp.media = decision_view(decision)


class OrdersResource:
    """``/orders``: route and execute (POST), list (GET)."""

    def __init__(self, service: RoutingService, make_id: Callable[[], str]) -> None:
        self._service = service
        self._make_id = make_id

    @endpoint(roles=ENTRY, body=RouteRequest, status=201, tags=["orders"])
    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, *, body: RouteRequest
    ) -> None:
        """Route and execute; answers with the parent, its children and fills."""
        user_id = _user_of(principal_of(req), body.user_id)
        quantity, price = _terms(body)
        order_id = _order_id(body, self._make_id)
        try:
            stored, now = await self._service.execute(
                order_id,
                user_id,
                body.symbol,
                body.side,
                quantity,
                price,
                Strategy(body.strategy),
            )
        except OrderIdInUse as exc:
            raise Conflict(str(exc)) from None
        except InvalidOrder as exc:
            raise invalid("$", str(exc)) from None
        except TradingHalted as exc:
            raise Conflict(f"trading halted: {exc.reason}") from None
        resp.status = falcon.HTTP_201 if now else falcon.HTTP_200
        resp.location = f"/orders/{order_id}"
        resp.media = order_view(stored)

    @endpoint(roles=READERS, query=OrdersQuery, tags=["orders"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Recent parents, newest first: a trader's own, or anyone's for compliance/admin."""
        query = read_query(req, OrdersQuery)
        principal = principal_of(req)
        user = query.user_id
        if not principal.has_any(ALL_ORDERS_READERS):
            if user is not None and user != principal.subject:
                raise Forbidden("a trader may only list their own orders")
            user = principal.subject
        rows = await self._service.store.orders(user, query.limit)
        resp.media = [decimalize(r) for r in rows]


class OrderResource:
    """``/orders/{order_id}``: status with children and fills."""

    def __init__(self, service: RoutingService) -> None:
        self._service = service

    @endpoint(roles=READERS, tags=["orders"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, order_id: str
    ) -> None:
        """A parent (a trader sees only their own: another's is 404)."""
        stored = await self._service.store.order(order_id)
        principal = principal_of(req)
        if stored is None or (
            stored.parent["user_id"] != principal.subject
            and not principal.has_any(ALL_ORDERS_READERS)
        ):
            raise NotFound(f"unknown order {order_id!r}")
        resp.media = order_view(stored)


def _symbol(symbol: str) -> str:
    try:
        checked: str = msgspec.convert(symbol, Symbol)
    except msgspec.ValidationError:
        raise invalid("symbol", f"not a symbol: {symbol!r}", "path") from None
    return checked


class NbboResource:
    """``/nbbo/{symbol}``: the consolidated protected best bid and offer."""

    def __init__(self, service: RoutingService) -> None:
        self._service = service

    @endpoint(roles=READERS, tags=["market"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, symbol: str
    ) -> None:
        """Best bid and offer across venues with venues and sizes; locked/crossed reported."""
        resp.media = decimalize(
            msgspec.to_builtins(await self._service.router.get_nbbo(_symbol(symbol)))
        )


class RankingsResource:
    """``/rankings/{symbol}``: venues ranked for a side and size, each with its reasons."""

    def __init__(self, service: RoutingService) -> None:
        self._service = service

    @endpoint(roles=READERS, query=RankingQuery, tags=["market"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, symbol: str
    ) -> None:
        """Venue ranking (explained) for ``side`` and ``quantity``."""
        query = read_query(req, RankingQuery)
        quantity = int(Fixed(query.quantity).raw)
        if quantity <= 0:
            raise invalid("quantity", "must be > 0", "query")
        rankings = await self._service.router.get_venue_rankings(
            _symbol(symbol), query.side, quantity
        )
        resp.media = decimalize(msgspec.to_builtins(rankings))


class VenuesResource:
    """``/venues``: every registered venue, its session state and learned statistics."""

    def __init__(self, venues: Callable[[], list[dict[str, Any]]]) -> None:
        self._venues = venues

    @endpoint(roles=READERS, tags=["venues"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Venues with availability, fees, latency and statistics (p50/p99, fill/reject rate)."""
        resp.media = decimalize(msgspec.to_builtins(self._venues()))


def routes(
    service: RoutingService,
    venues: Callable[[], list[dict[str, Any]]],
    make_id: Callable[[], str],
) -> list[tuple[str, object]]:
    """The routing service's routes."""
    return [
        ("/route", RouteResource(service, make_id)),
        ("/orders", OrdersResource(service, make_id)),
        ("/orders/{order_id}", OrderResource(service)),
        ("/nbbo/{symbol}", NbboResource(service)),
        ("/rankings/{symbol}", RankingsResource(service)),
        ("/venues", VenuesResource(venues)),
    ]
