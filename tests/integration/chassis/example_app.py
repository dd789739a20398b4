"""A throwaway example service exercising every chassis feature (tests only)."""

from __future__ import annotations

import itertools
from typing import Annotated, Literal

import falcon.asgi
import msgspec

from nexus.config import ApiKey, Settings
from nexus.errors import ConflictError, NotFoundError
from nexus.money import Fixed
from nexus.web import (
    ADMIN,
    COMPLIANCE,
    TRADER,
    Page,
    QueryParams,
    RequestBody,
    ServiceApp,
    authorize_user,
    create_app,
    endpoint,
    matches,
    page_request,
    paginate,
    read_query,
    scoped_user_filter,
)

SECRET = "example-secret-for-tests-0123456789abcdef"
SETTINGS = Settings(
    jwt_secret=SECRET,
    api_keys=(ApiKey("key-compliance-1", "auditor", frozenset({COMPLIANCE})),),
)

Symbol = Annotated[str, msgspec.Meta(pattern="^[A-Z]{1,8}$")]
Quantity = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]


class NewOrder(RequestBody):
    """An order to create."""

    client_order_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    user_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    symbol: Symbol
    side: Literal["BUY", "SELL"]
    quantity: Quantity
    price: Fixed


class OrderView(msgspec.Struct):
    """A stored order."""

    id: int
    client_order_id: str
    user_id: str
    symbol: str
    side: str
    quantity: int
    price: Fixed


class ListOrders(QueryParams):
    """Filters of the order listing."""

    user_id: str | None = None
    symbol: Symbol | None = None


class Store:
    """In-memory order store."""

    def __init__(self) -> None:
        self.orders: dict[int, OrderView] = {}
        self._ids = itertools.count(1)

    def add(self, new: NewOrder) -> OrderView:
        if any(o.client_order_id == new.client_order_id for o in self.orders.values()):
            raise ConflictError(f"client_order_id {new.client_order_id} already used")
        order = OrderView(
            id=next(self._ids),
            client_order_id=new.client_order_id,
            user_id=new.user_id,
            symbol=new.symbol,
            side=new.side,
            quantity=new.quantity,
            price=new.price,
        )
        self.orders[order.id] = order
        return order


class OrdersResource:
    """``/orders``."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @endpoint(roles={TRADER}, body=NewOrder, response=OrderView, status=201)
    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, *, body: NewOrder
    ) -> None:
        """Create an order."""
        authorize_user(req, body.user_id)
        resp.status = 201
        resp.media = self._store.add(body)

    @endpoint(
        roles={TRADER, COMPLIANCE}, query=ListOrders, response=Page[OrderView], paginated=True
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """List orders, oldest first."""
        query = read_query(req, ListOrders)
        page = page_request(req, int)
        user_id = scoped_user_filter(req, query.user_id)
        rows = [
            o
            for o in self._store.orders.values()
            if matches(o, {"user_id": user_id, "symbol": query.symbol})
        ]
        resp.media = paginate(rows, page, lambda o: o.id)


class OrderResource:
    """``/orders/{order_id}``."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @endpoint(roles={TRADER, COMPLIANCE}, response=OrderView)
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, order_id: int
    ) -> None:
        """One order."""
        order = self._store.orders.get(order_id)
        if order is None:
            raise NotFoundError(f"order {order_id} not found")
        authorize_user(req, order.user_id)
        resp.media = order


class AuditResource:
    """``/audit``: compliance only."""

    @endpoint(roles={COMPLIANCE}, response=dict[str, str])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Audit summary."""
        resp.media = {"status": "clean"}


class BoomResource:
    """``/boom``: an unexpected exception."""

    @endpoint(roles={ADMIN}, response=dict[str, str], in_schema=False)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Fail unexpectedly."""
        raise RuntimeError("secret internal detail: db password is hunter2")


def build_app(store: Store | None = None) -> ServiceApp:
    """The example app over ``store``."""
    store = store or Store()
    return create_app(
        "example",
        [
            ("/orders", OrdersResource(store)),
            ("/orders/{order_id:int}", OrderResource(store)),
            ("/audit", AuditResource()),
            ("/boom", BoomResource()),
        ],
        SETTINGS,
    )
