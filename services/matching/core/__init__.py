"""Matching service domain core: the engine itself is :mod:`nexus.matching` (shared with the
simulator); the book and its codes are :mod:`nexus.book` (re-exported here as ``codes``).
"""

from nexus import book as codes
from nexus.matching import (
    AmendOrder,
    BookSnapshot,
    CancelOrder,
    Command,
    DuplicateOrderId,
    EngineEvent,
    HaltChecker,
    HaltSource,
    InvalidOrder,
    MatchingEngine,
    OrderBook,
    OrderNotOpen,
    OrderStatus,
    SubmitOrder,
    TimedHaltChecker,
    UnknownOrder,
    event_topic,
)

__all__ = [
    "AmendOrder",
    "BookSnapshot",
    "CancelOrder",
    "Command",
    "DuplicateOrderId",
    "EngineEvent",
    "HaltChecker",
    "HaltSource",
    "InvalidOrder",
    "MatchingEngine",
    "OrderBook",
    "OrderNotOpen",
    "OrderStatus",
    "SubmitOrder",
    "TimedHaltChecker",
    "UnknownOrder",
    "codes",
    "event_topic",
]
