"""Typed commands the matching engine accepts, and the results it answers queries with.

Prices and quantities are raw fixed-point ints (``value * 10**9``) or :class:`nexus.money.Fixed`.
``ts_event`` is the command's event time in UTC nanoseconds, given by the caller (the engine
never reads a clock), and is stamped on every event the command produces.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

from msgspec import Struct

from nexus.events import Level
from nexus.money import Fixed

Side = Literal["BUY", "SELL"]
OrderType = Literal["LIMIT", "MARKET"]
TimeInForce = Literal["GTC", "DAY", "IOC", "FOK"]
StpMode = Literal["OFF", "CANCEL_NEWEST", "CANCEL_OLDEST"]
OrderState = Literal["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "EXPIRED", "REJECTED"]
RawOrFixed: TypeAlias = "int | Fixed"


class SubmitOrder(Struct, frozen=True, kw_only=True):
    """A new order. MARKET orders have price 0 and are IOC (or FOK); post-only needs a LIMIT.

    An IOC LIMIT is the router's "fill up to ``quantity`` at ``price`` or better, else
    nothing"; ``stp`` None takes the account's self-trade prevention mode (see the engine).
    """

    order_id: str
    user_id: str
    account_id: str
    symbol: str
    side: Side
    quantity: RawOrFixed
    ts_event: int
    order_type: OrderType = "LIMIT"
    time_in_force: TimeInForce = "GTC"
    price: RawOrFixed = 0
    post_only: bool = False
    stp: StpMode | None = None
    client_order_id: str | None = None


class AmendOrder(Struct, frozen=True, kw_only=True):
    """Change a resting order's price and/or open (unfilled) quantity; None keeps the value.

    Same price and no more quantity keeps queue priority; anything else loses it.
    """

    order_id: str
    ts_event: int
    price: RawOrFixed | None = None
    quantity: RawOrFixed | None = None


class CancelOrder(Struct, frozen=True, kw_only=True):
    """Cancel a resting order's open quantity."""

    order_id: str
    ts_event: int
    reason: str = "user"


Command = SubmitOrder | AmendOrder | CancelOrder


class OrderStatus(Struct, frozen=True, kw_only=True):
    """Where an order stands: quantities raw fixed-point, ``quantity`` = filled + leaves + gone."""

    order_id: str
    symbol: str
    user_id: str
    account_id: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    price: int
    quantity: int
    filled_quantity: int
    leaves_quantity: int
    status: OrderState
    post_only: bool
    client_order_id: str | None
    reason: str | None
    ts_last: int


class BookSnapshot(Struct, frozen=True, kw_only=True):
    """L2 view of one symbol: bids best (highest) first, asks best (lowest) first."""

    venue: str
    symbol: str
    bids: list[Level]
    asks: list[Level]

    @property
    def best_bid(self) -> int:
        """Best bid price raw (0 when there is none)."""
        return self.bids[0].price if self.bids else 0

    @property
    def best_ask(self) -> int:
        """Best ask price raw (0 when there is none)."""
        return self.asks[0].price if self.asks else 0
