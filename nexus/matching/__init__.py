"""The book-level matching engine: pure, no I/O (adapters call it and publish what it returns).

Shared by the matching service (``services/matching``, which wires it to REST, Kafka and its
store) and the order-flow simulator (``nexus.sim``, whose fast path must produce exactly the
events this engine produces), so it lives in the library both may import.

* :class:`MatchingEngine` - commands in (:class:`SubmitOrder`, :class:`AmendOrder`,
  :class:`CancelOrder`), ``nexus.events`` out, one compiled :class:`nexus.book.Book` per symbol.
* :mod:`nexus.matching.emission` - the emission rule (which events a book operation causes, in
  which order, with which values), plain Python the engine runs and ``nexus.sim`` compiles.
* halts come from :class:`nexus.halts.HaltBook` (fed by ``risk.halts``) or any checker.
"""

from nexus.matching.commands import (
    AmendOrder,
    BookSnapshot,
    CancelOrder,
    Command,
    OrderStatus,
    SubmitOrder,
)
from nexus.matching.engine import (
    EngineEvent,
    HaltChecker,
    HaltSource,
    MatchingEngine,
    OrderBook,
    TimedHaltChecker,
    event_topic,
)
from nexus.matching.errors import DuplicateOrderId, InvalidOrder, OrderNotOpen, UnknownOrder

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
