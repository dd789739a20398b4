"""Matching engine domain core: pure, no I/O (adapters call it and publish what it returns).

* :class:`MatchingEngine` - commands in (:class:`SubmitOrder`, :class:`AmendOrder`,
  :class:`CancelOrder`), ``nexus.events`` out, one compiled book per symbol.
* :class:`HaltRegistry` - a halt checker fed by ``risk.halts`` events.
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
    MatchingEngine,
    OrderBook,
    event_topic,
)
from services.matching.core.errors import DuplicateOrderId, InvalidOrder, OrderNotOpen, UnknownOrder
from services.matching.core.halts import HaltRegistry

__all__ = [
    "AmendOrder",
    "BookSnapshot",
    "CancelOrder",
    "Command",
    "DuplicateOrderId",
    "EngineEvent",
    "HaltChecker",
    "HaltRegistry",
    "InvalidOrder",
    "MatchingEngine",
    "OrderBook",
    "OrderNotOpen",
    "OrderStatus",
    "SubmitOrder",
    "UnknownOrder",
    "event_topic",
]
