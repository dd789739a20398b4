"""Falcon resources of the orders service: a user's positions and fills."""

from __future__ import annotations

import falcon.asgi
import msgspec

from nexus.events import Identifier, Symbol
from nexus.web import (
    ADMIN,
    COMPLIANCE,
    RISK,
    SERVICE,
    TRADER,
    Page,
    authorize_user,
    endpoint,
    make_page,
    page_request,
    read_query,
)
from services.orders.core import Fill, Position
from services.orders.store import PositionStore

READERS = {TRADER, RISK, COMPLIANCE, ADMIN, SERVICE}


class PositionView(msgspec.Struct, kw_only=True):
    """A position; amounts are exact decimal strings."""

    user_id: str
    symbol: str
    quantity: str
    avg_cost: str
    cost_basis: str
    realized_pnl: str
    last_trade_id: str | None
    last_ts_event: int


class FillView(msgspec.Struct, kw_only=True):
    """One fill; amounts are exact decimal strings."""

    trade_id: str
    side: str
    symbol: str
    price: str
    quantity: str
    notional: str
    order_id: str
    account_id: str
    venue: str
    ts_event: int


class FillsQuery(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Filter fills by symbol; ``limit`` and ``cursor`` page through them."""

    symbol: Symbol | None = None
    limit: int | None = None
    cursor: str | None = None


def position_view(p: Position) -> PositionView:
    """API view of a position."""
    return PositionView(
        user_id=p.user_id,
        symbol=p.symbol,
        quantity=str(p.quantity),
        avg_cost=str(p.avg_cost),
        cost_basis=str(p.cost_basis),
        realized_pnl=str(p.realized_pnl),
        last_trade_id=p.last_trade_id,
        last_ts_event=p.last_ts_event,
    )


def fill_view(f: Fill) -> FillView:
    """API view of a fill."""
    return FillView(
        trade_id=f.trade_id,
        side=f.side,
        symbol=f.symbol,
        price=str(f.price),
        quantity=str(f.quantity),
        notional=str(f.price.notional(f.quantity)),
        order_id=f.order_id,
        account_id=f.account_id,
        venue=f.venue,
        ts_event=f.ts_event,
    )


class PositionsResource:
    """``/users/{user_id}/positions``."""

    def __init__(self, store: PositionStore) -> None:
        self._store = store

    @endpoint(roles=READERS, response=list[PositionView], tags=["positions"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: Identifier
    ) -> None:
        """A user's positions (a trader sees only their own)."""
        authorize_user(req, user_id)
        resp.media = [position_view(p) for p in await self._store.positions(user_id)]


class FillsResource:
    """``/users/{user_id}/fills``."""

    def __init__(self, store: PositionStore) -> None:
        self._store = store

    @endpoint(
        roles=READERS, query=FillsQuery, response=Page[FillView], paginated=True, tags=["positions"]
    )
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: Identifier
    ) -> None:
        """A user's fills in event-time order (a trader sees only their own)."""
        authorize_user(req, user_id)
        query = read_query(req, FillsQuery)
        page = page_request(req, tuple)
        after = tuple(page.after) if page.after is not None else None
        fills = await self._store.fills(user_id, query.symbol, after, page.limit + 1)
        views = [fill_view(f) for f in fills]
        resp.media = make_page(views, page.limit, lambda v: [v.ts_event, v.trade_id, v.side])


def routes(store: PositionStore) -> list[tuple[str, object]]:
    """The orders service's routes."""
    return [
        ("/users/{user_id}/positions", PositionsResource(store)),
        ("/users/{user_id}/fills", FillsResource(store)),
    ]
