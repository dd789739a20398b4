"""Order sinks: where simulated actions go when they are routed one call at a time.

The simulator's fast path matches whole batches in the compiled book and lays out the events
itself by the engine's own emission rule (:mod:`nexus.matching.emission`, compiled): the same
events as :class:`nexus.matching.MatchingEngine`, in the same order, with the same ids. :func:`replay` sends the recorded command stream through any
:class:`OrderSink` - the real engine through :func:`matching_engine_sink` - one call per
action; the tests use it to prove the fast path and the engine agree byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Literal, Protocol

import msgspec

from nexus.matching import (
    AmendOrder,
    CancelOrder,
    MatchingEngine,
    OrderNotOpen,
    SubmitOrder,
    UnknownOrder,
)


class Action(msgspec.Struct, frozen=True, kw_only=True):
    """One participant action (a command to the matching engine); prices/quantities raw."""

    op: Literal["submit", "amend", "cancel"]
    ts_event: int
    symbol: str
    order_id: str
    user_id: str
    account_id: str
    side: Literal["BUY", "SELL"]
    price: int
    quantity: int
    time_in_force: Literal["GTC", "DAY", "IOC", "FOK"] = "GTC"


class OrderSink(Protocol):
    """Anything that takes orders and answers with the events they caused."""

    def submit(self, action: Action) -> Sequence[msgspec.Struct]:
        """A new limit order."""
        ...

    def amend(self, action: Action) -> Sequence[msgspec.Struct]:
        """New price and open quantity of a resting order (no events if it is not open)."""
        ...

    def cancel(self, action: Action) -> Sequence[msgspec.Struct]:
        """Cancel a resting order (no events if it is not open)."""
        ...


class MatchingEngineSink:
    """Adapts :class:`nexus.matching.MatchingEngine` to :class:`OrderSink`.

    An amend or cancel of an order that is no longer open (filled or cancelled meanwhile) is
    what a real participant sees as "too late": it produces no event here.
    """

    def __init__(self, engine: MatchingEngine | None = None) -> None:
        self.engine = engine if engine is not None else MatchingEngine()

    def submit(self, action: Action) -> Sequence[msgspec.Struct]:
        cmd = SubmitOrder(
            order_id=action.order_id,
            user_id=action.user_id,
            account_id=action.account_id,
            symbol=action.symbol,
            side=action.side,
            quantity=action.quantity,
            price=action.price,
            time_in_force=action.time_in_force,
            ts_event=action.ts_event,
        )
        events: Sequence[msgspec.Struct] = self.engine.submit(cmd)
        return events

    def amend(self, action: Action) -> Sequence[msgspec.Struct]:
        cmd = AmendOrder(
            order_id=action.order_id,
            price=action.price,
            quantity=action.quantity,
            ts_event=action.ts_event,
        )
        try:
            events: Sequence[msgspec.Struct] = self.engine.amend(cmd)
        except (UnknownOrder, OrderNotOpen):
            return []
        return events

    def cancel(self, action: Action) -> Sequence[msgspec.Struct]:
        cmd = CancelOrder(order_id=action.order_id, ts_event=action.ts_event)
        try:
            events: Sequence[msgspec.Struct] = self.engine.cancel(cmd)
        except (UnknownOrder, OrderNotOpen):
            return []
        return events


def matching_engine_sink() -> MatchingEngineSink:
    """A sink over a fresh in-process matching engine (compiled books)."""
    return MatchingEngineSink()


def replay(
    actions: Iterable[Action],
    sink: OrderSink,
    emit: Callable[[msgspec.Struct], None],
) -> int:
    """Send every action to ``sink`` in order and pass each resulting event to ``emit``."""
    n = 0
    for action in actions:
        if action.op == "submit":
            events = sink.submit(action)
        elif action.op == "amend":
            events = sink.amend(action)
        else:
            events = sink.cancel(action)
        for event in events:
            emit(event)
            n += 1
    return n
