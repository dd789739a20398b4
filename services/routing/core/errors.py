"""Errors of the routing core; each subclasses the built-in that fits."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nexus.errors import NexusError, ValidationError

if TYPE_CHECKING:
    from services.routing.core.types import Fill


class RoutingError(NexusError):
    """Base of every routing error."""


class InvalidOrder(RoutingError, ValidationError):
    """The parent order is malformed (side, quantity, price, strategy)."""


class TradingHalted(RoutingError, PermissionError):
    """The user or the symbol is halted: refused before any venue is touched."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownVenue(RoutingError, LookupError):
    """A venue id that was never registered."""


class VenueUnavailable(RoutingError, ConnectionError):
    """A venue cannot take or confirm an order now (session down, venue process gone).

    ``order_sent`` says whether the order may have reached the venue: if False nothing is
    working there and the whole quantity may be routed elsewhere; if True the router must first
    learn the child's fate (``ExecutionVenue.cancel``) before it re-routes any of it.
    """

    def __init__(
        self,
        venue_id: str,
        reason: str,
        *,
        order_sent: bool = False,
        fills: tuple[Fill, ...] = (),
    ) -> None:
        super().__init__(f"venue {venue_id} unavailable: {reason}")
        self.venue_id = venue_id
        self.reason = reason
        self.order_sent = order_sent
        self.fills = fills
