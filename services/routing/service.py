"""The routing service's use cases around the pure router: halts, storage, evidence, relay.

``route`` asks the core for a decision only (stored and published on ``routing.decisions``);
``execute`` claims the parent order id (a retried or concurrent request with the same id
executes once and answers the stored outcome), refuses a halted user or symbol *before any
venue is touched*, runs ``route_and_execute``, learns venue statistics from the report, and
stores decisions, children, fills and the parent's end with their events in one
transaction, with their outbox entries (:mod:`nexus.outbox`). The outbox dispatcher (the relay)
publishes those events in order and marks them once the broker acknowledged, so nothing is
lost if the broker is down for a while.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Container, Iterable
from typing import Any, Protocol

from nexus.bus import Publisher
from nexus.events import Halt, Quote
from nexus.halts import HaltBook
from nexus.instruments import InstrumentTable, simulated_instruments, utc_date
from nexus.outbox import BUS, BusSink, OutboxDispatcher
from services.routing.core import (
    ExecutionReport,
    ExecutionVenue,
    RoutingDecision,
    RoutingError,
    Strategy,
    TradingHalted,
)
from services.routing.evidence import decision_event, execution_events, refused_event
from services.routing.store import RoutingStore, StoredOrder

log = logging.getLogger(__name__)

RELAY_BATCH = 500
RELAY_IDLE_S = 0.5


class Router(Protocol):
    """What the service needs of the core's :class:`SmartOrderRouter`."""

    async def route_order(
        self,
        order_id: str,
        user_id: str,
        symbol: str,
        side: str,
        quantity: int,
        price: int,
        strategy: Strategy,
    ) -> RoutingDecision: ...

    async def route_and_execute(
        self,
        order_id: str,
        user_id: str,
        symbol: str,
        side: str,
        quantity: int,
        price: int,
        strategy: Strategy = ...,
    ) -> ExecutionReport: ...

    async def get_nbbo(self, symbol: str) -> dict[str, Any]: ...

    async def get_venue_rankings(
        self, symbol: str, side: str, quantity: int
    ) -> list[dict[str, Any]]: ...

    def register_venue(self, venue: ExecutionVenue) -> None: ...

    async def update_venue_stats(self, execution_report: ExecutionReport) -> None: ...


class OrderIdInUse(ValueError):
    """The parent order id was used before by another user (or with other terms)."""


class RoutingService:
    """Halts, storage and evidence around the router (see the module docstring).

    ``instruments`` is the reference data parents are checked against first (the simulated
    universe by default): an unknown symbol, a limit off its band's tick or a quantity that is
    not a whole number of lots raises :class:`~nexus.instruments.InstrumentViolation` (422)
    before anything is claimed, stored, published or routed.
    """

    def __init__(
        self,
        router: Router,
        store: RoutingStore,
        publisher: Publisher,
        *,
        halts: HaltBook | None = None,
        quote_sink: Callable[[Quote], object] | None = None,
        known_venues: Callable[[], Container[str]] | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        instruments: InstrumentTable | None = None,
    ) -> None:
        self.router = router
        self.instruments = instruments if instruments is not None else simulated_instruments()
        self.store = store
        self.halts = halts or HaltBook()
        self._relay = OutboxDispatcher(
            store.outbox, {BUS: BusSink(publisher)}, batch_size=RELAY_BATCH
        )
        self._quote_sink = quote_sink
        self._known_venues = known_venues
        self._clock = clock_ns
        self.quotes_applied = 0
        self.quotes_ignored = 0

    # -- inputs from the bus ----------------------------------------------------------------------
    def apply_halts(self, events: Iterable[Halt]) -> None:
        """Apply ``risk.halts`` events (idempotent)."""
        for event in events:
            self.halts.apply(event)

    def apply_quotes(self, quotes: Iterable[Quote]) -> None:
        """Feed venue quotes into the router's market view.

        With ``known_venues``, only quotes of venues the router can reach enter the view: a
        quote generator's synthetic venues (market data's feed) are not trading centers here.
        """
        sink = self._quote_sink
        if sink is None:
            return
        known = self._known_venues() if self._known_venues is not None else None
        for quote in quotes:
            if known is not None and quote.venue not in known:
                self.quotes_ignored += 1
                continue
            sink(quote)
            self.quotes_applied += 1

    # -- use cases ----------------------------------------------------------------------------------
    def halted(self, user_id: str, symbol: str, ts_ns: int | None = None) -> str | None:
        """Why ``user_id`` may not trade ``symbol`` now, or None."""
        return self.halts.check(user_id, symbol, self._clock() if ts_ns is None else ts_ns)

    def check_instrument(
        self, symbol: str, quantity: int, price: int, ts_ns: int | None = None
    ) -> None:
        """Raise :class:`~nexus.instruments.InstrumentViolation` unless the parent's symbol is
        listed on its date, its limit (0 = none) on tick and its quantity whole lots."""
        day = utc_date(self._clock() if ts_ns is None else ts_ns)
        self.instruments.validate_order(symbol, price or None, quantity, day)

    async def route(
        self,
        order_id: str,
        user_id: str,
        symbol: str,
        side: str,
        quantity: int,
        price: int,
        strategy: Strategy,
    ) -> RoutingDecision:
        """A decision only (nothing is sent); stored and published. Raises ``TradingHalted``."""
        self.check_instrument(symbol, quantity, price)
        reason = self.halted(user_id, symbol)
        if reason is not None:
            raise TradingHalted(reason)
        decision = await self.router.route_order(
            order_id, user_id, symbol, side, quantity, price, strategy
        )
        await self.store.record_decision(decision_event(decision), executed=False)
        self._relay.wake()
        return decision

    async def execute(
        self,
        order_id: str,
        user_id: str,
        symbol: str,
        side: str,
        quantity: int,
        price: int,
        strategy: Strategy,
    ) -> tuple[StoredOrder, bool]:
        """Route and execute once per order id; returns (stored order, executed now).

        A halted user or symbol is stored as REFUSED and published, no venue touched.
        """
        ts = self._clock()
        self.check_instrument(symbol, quantity, price, ts)
        claimed = await self.store.claim_parent(
            order_id, user_id, symbol, side, quantity, price, str(strategy), ts
        )
        if not claimed:
            stored = await self._wait_finished(order_id)
            if stored.parent["user_id"] != user_id:
                raise OrderIdInUse(f"order id {order_id!r} is already used")
            return stored, False
        reason = self.halted(user_id, symbol, ts)
        if reason is not None:
            event = refused_event(
                order_id, user_id, symbol, side, str(strategy), quantity, price, reason, ts
            )
            await self.store.record_outcome([], [event])
        else:
            try:
                report = await self.router.route_and_execute(
                    order_id, user_id, symbol, side, quantity, price, strategy
                )
            except RoutingError as exc:  # refused by the core (invalid order, halted): say so
                event = refused_event(
                    order_id, user_id, symbol, side, str(strategy), quantity, price, str(exc), ts
                )
                await self.store.record_outcome([], [event])
                self._relay.wake()
                raise
            await self.router.update_venue_stats(report)
            await self.store.record_outcome(
                [decision_event(d) for d in report.decisions], execution_events(report)
            )
        self._relay.wake()
        outcome = await self.store.order(order_id)
        assert outcome is not None  # claimed above, in the same database
        return outcome, True

    async def _wait_finished(self, order_id: str, timeout_s: float = 30.0) -> StoredOrder:
        """The stored order once its first execution finished (a concurrent duplicate waits)."""
        async with asyncio.timeout(timeout_s):
            while True:
                stored = await self.store.order(order_id)
                if stored is not None and stored.parent["status"] != "EXECUTING":
                    return stored
                await asyncio.sleep(0.01)

    # -- outbox relay -----------------------------------------------------------------------------
    async def relay_once(self) -> int:
        """Publish one batch of pending events; returns how many the broker acknowledged."""
        return await self._relay.run_once()

    async def relay_forever(self) -> None:
        """Publish the outbox as it fills (woken after each store), retrying on failures."""
        await self._relay.run(asyncio.Event(), poll_seconds=RELAY_IDLE_S)
