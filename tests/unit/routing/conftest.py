"""Fixtures of the routing core tests: markets (compiled and reference), routers, venues."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nexus._ext.nbbo import MarketView
from services.routing.core import RouterConfig, SmartOrderRouter
from tests.support.nbbo_reference import ReferenceMarketView
from tests.support.routing_fakes import BookVenue, NoHalts

#: 2027-01-15 00:00 UTC: after the 2024 Reg NMS amendment took effect.
T_NOW = 1_799_971_200 * 10**9
#: 2024-06-03 00:00 UTC: before it.
T_BEFORE = 1_717_372_800 * 10**9

MARKETS: dict[str, Callable[..., Any]] = {
    "compiled": MarketView,
    "reference": ReferenceMarketView,
}


@pytest.fixture(params=sorted(MARKETS))
def market_factory(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """One test, two implementations of the market view."""
    return MARKETS[request.param]


class Clock:
    """A settable event-time clock."""

    def __init__(self, now: int = T_NOW) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def build_router(
    *venues: BookVenue,
    symbol: str = "XYZ",
    now: int = T_NOW,
    market: Any = None,
    halts: Any = None,
    config: RouterConfig | None = None,
    **kwargs: Any,
) -> tuple[SmartOrderRouter, Any, Clock]:
    """A router over ``venues`` whose books are published into a fresh compiled view."""
    clock = Clock(now)
    market = market if market is not None else MarketView(max_age_ns=5 * 10**9)
    router = SmartOrderRouter(
        market, halts or NoHalts(), clock=clock, config=config or RouterConfig(), **kwargs
    )
    for v in venues:
        router.register_venue(v)
        v.publish(market, symbol, now - 1_000)
        v.market, v.symbol, v.clock = market, symbol, clock
    return router, market, clock
