"""Routing core: pure decision logic of the smart order router (no I/O, no framework).

Public surface: :class:`SmartOrderRouter` (router.py), :class:`ExecutionVenue` (venue.py) and
the value types (types.py). Prices, quantities and fees are raw fixed-point ints (1e-9).
"""

from services.routing.core.errors import (
    InvalidOrder,
    RoutingError,
    TradingHalted,
    UnknownVenue,
    VenueUnavailable,
)
from services.routing.core.protection import NoOrderProtection, OrderProtection, Rule611
from services.routing.core.router import HaltCheck, RouterConfig, SmartOrderRouter
from services.routing.core.stats import VenueStatsTracker
from services.routing.core.types import (
    ChildExecution,
    ChildOrder,
    ChildReport,
    ChildStatus,
    ExecutionQuality,
    ExecutionReport,
    Fill,
    NbboSnapshot,
    ProtectionException,
    RouteChild,
    RoutingDecision,
    Side,
    Strategy,
    VenueProfile,
    VenueScore,
    VenueStats,
)
from services.routing.core.venue import ExecutionVenue

__all__ = [
    "ChildExecution",
    "ChildOrder",
    "ChildReport",
    "ChildStatus",
    "ExecutionQuality",
    "ExecutionReport",
    "ExecutionVenue",
    "Fill",
    "HaltCheck",
    "InvalidOrder",
    "NbboSnapshot",
    "NoOrderProtection",
    "OrderProtection",
    "ProtectionException",
    "RouteChild",
    "RouterConfig",
    "RoutingDecision",
    "RoutingError",
    "Rule611",
    "Side",
    "SmartOrderRouter",
    "Strategy",
    "TradingHalted",
    "UnknownVenue",
    "VenueProfile",
    "VenueScore",
    "VenueStats",
    "VenueStatsTracker",
    "VenueUnavailable",
]
