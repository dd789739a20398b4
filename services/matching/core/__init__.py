"""Matching engine domain core: pure, no I/O (adapters call it and publish what it returns).

* :class:`MatchingEngine` - commands in (:class:`SubmitOrder`, :class:`AmendOrder`,
  :class:`CancelOrder`), ``nexus.events`` out, one compiled book per symbol.
* halts come from :class:`nexus.halts.HaltBook` (fed by ``risk.halts``) or any checker.
* :mod:`.reference` - the pure Python reference book the compiled one is tested against.
"""

from services.matching.core.commands import (
    AmendOrder,
    BookSnapshot,
    CancelOrder,
    Command,
    OrderStatus,
    SubmitOrder,
)
from services.matching.core.engine import (
    EngineEvent,
    HaltChecker,
    HaltSource,
    MatchingEngine,
    OrderBook,
    TimedHaltChecker,
    event_topic,
)
from services.matching.core.errors import DuplicateOrderId, InvalidOrder, OrderNotOpen, UnknownOrder

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
    "event_topic",
]
