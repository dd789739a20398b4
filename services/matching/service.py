"""The matching service's use cases: apply commands to the engine, publish, answer after the ack.

Every command runs under one :class:`asyncio.Lock` per engine: the engine applies it, the
events it returned are appended to an :class:`~nexus.bus.OrderedPublisher` in command order,
and the caller waits until the broker acknowledged them (``acks=all``) before it answers. So an
order the service acknowledged over HTTP is on ``orders.events`` / ``trades.executed`` (keyed by
symbol), while the publisher sends many commands per broker round trip (group commit).

The engine is in memory: a restarted service starts with empty books (resting orders of the
previous run are gone, without cancel events). Each start opens a new *session* (a row in
PostgreSQL) whose number namespaces order ids (``NEXUS:7:42``) and event ids
(``NEXUS.7:AAPL:1``), so a restart never reuses an id that consumers deduplicate on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import msgspec

from nexus.bus import OrderedPublisher, OutgoingMessage, Publisher, PublisherUnavailable
from nexus.bus.ordered import MAX_BACKLOG
from nexus.errors import ConflictError, DependencyUnavailable
from nexus.events import ORDER_CODEC, TRADE_CODEC, Halt, OrderFill, OrderReject, Trade
from nexus.halts import HaltBook
from nexus.instruments import InstrumentTable, simulated_instruments, utc_date
from nexus.money import Fixed
from services.matching.core import (
    AmendOrder,
    BookSnapshot,
    CancelOrder,
    EngineEvent,
    MatchingEngine,
    OrderStatus,
    SubmitOrder,
    UnknownOrder,
    event_topic,
)

if TYPE_CHECKING:
    from nexus.bus import ConsumerRunner

log = logging.getLogger(__name__)

#: How long a request waits for the broker's acknowledgement before answering 503.
ACK_TIMEOUT_S = 30.0
#: Oldest lag measurement of the halts consumer that still counts as "caught up".
HALTS_MAX_AGE_S = 3.0
OPEN_STATES = frozenset({"NEW", "PARTIALLY_FILLED"})


class SessionSource(Protocol):
    """Opens a new engine session and returns its number (the session store)."""

    async def open_session(self, venue: str) -> int: ...


class ServiceUnavailable(DependencyUnavailable):
    """The service cannot take commands now (not started, broker backlog or outage)."""


class HaltsUnavailable(ServiceUnavailable):
    """Orders are refused: the service does not know every halt in force (reason says why)."""


class DuplicateClientOrderId(ConflictError):
    """The user already sent an order with this ``client_order_id``."""


class NotAcknowledged(ServiceUnavailable):
    """The engine applied the command but the broker has not acknowledged its events yet.

    The events stay queued and are published in order as soon as the broker answers; the
    order's state is visible at ``GET /orders/{order_id}``.
    """

    def __init__(self, message: str, order_id: str) -> None:
        super().__init__(message)
        self.order_id = order_id


def message_of(event: EngineEvent) -> OutgoingMessage:
    """The Kafka record of an engine event: its topic, msgpack payload, symbol key."""
    codec = TRADE_CODEC if isinstance(event, Trade) else ORDER_CODEC
    return OutgoingMessage(event_topic(event), codec.encode(event), event.symbol.encode())


@dataclass(frozen=True, slots=True)
class Execution:
    """What one command did to one order: its status right after, its fills, its refusal."""

    order: OrderStatus
    fills: list[OrderFill] = field(default_factory=list)
    reject_reason: str | None = None
    events: list[EngineEvent] = field(default_factory=list)


def _raw(value: int | Fixed) -> int:
    return int(value.raw) if isinstance(value, Fixed) else value


def execution_of(order: OrderStatus, events: list[EngineEvent]) -> Execution:
    """The part of ``events`` that concerns ``order``."""
    fills = [e for e in events if isinstance(e, OrderFill) and e.order_id == order.order_id]
    rejects = [e for e in events if isinstance(e, OrderReject) and e.order_id == order.order_id]
    return Execution(
        order=order,
        fills=fills,
        reject_reason=rejects[-1].reason if rejects else None,
        events=events,
    )


class MatchingService:
    """The engine behind a lock, fed by HTTP commands and ``risk.halts``, published in order.

    ``venue`` names the venue on every event; ``sessions`` numbers each start (see the module
    docstring); ``clock`` gives the event time (UTC ns) stamped on each command at receipt.

    Fail closed: submits and amends are refused (:class:`HaltsUnavailable`, 503) unless the
    halts consumer (:meth:`watch_halts`) runs and is caught up with ``risk.halts`` and the
    halts in force were loaded from the risk service (``risk_snapshot_loaded``). Only an
    embedding without halts at all (unit tests, benchmarks of the engine) passes
    ``require_halts=False``. Cancels always pass: they only reduce risk.

    Reference data: ``instruments`` (the simulated universe by default) decides which symbols
    trade and their ticks and lots; a submit or amend on an unknown symbol, off the tick or not
    a whole number of lots raises :class:`~nexus.instruments.InstrumentViolation` (422) before
    the engine sees it, so nothing is published.
    """

    def __init__(
        self,
        venue: str,
        sessions: SessionSource,
        publisher: Publisher,
        *,
        clock: Callable[[], int] = time.time_ns,
        ack_timeout_s: float = ACK_TIMEOUT_S,
        max_backlog: int = MAX_BACKLOG,
        require_halts: bool = True,
        require_risk_snapshot: bool = True,
        instruments: InstrumentTable | None = None,
    ) -> None:
        self.venue = venue
        self.instruments = instruments if instruments is not None else simulated_instruments()
        self.halts = HaltBook()
        self.events = OrderedPublisher(publisher, max_backlog=max_backlog)
        self._sessions = sessions
        self._clock = clock
        self._ack_timeout_s = ack_timeout_s
        self._lock = asyncio.Lock()
        self._engine: MatchingEngine | None = None
        self._last_ts = 0
        self._order_seq = 0
        self.session: int | None = None
        self.halts_applied = 0
        self.require_halts = require_halts
        self.require_risk_snapshot = require_risk_snapshot
        self.risk_snapshot_loaded = False
        self.halts_runner: ConsumerRunner | None = None
        self._client_order_ids: dict[tuple[str, str], str] = {}
        self._open_by_user: dict[str, dict[str, None]] = {}
        self._owner: dict[str, str] = {}

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Open a new session and an empty engine (startup hook, before consumers start)."""
        self.session = await self._sessions.open_session(self.venue)
        self._engine = MatchingEngine(
            self.venue, halts=self.halts, event_id_prefix=f"{self.venue}.{self.session}"
        )
        log.info("matching session opened", extra={"venue": self.venue, "session": self.session})

    async def publish_forever(self) -> None:
        """The engine events' publishing loop (a background task of the runtime)."""
        await self.events.run()

    async def drain(self) -> None:
        """At shutdown: wait (bounded) until queued events are acknowledged."""
        if not await self.events.drain():
            log.error("shutdown with unpublished engine events", extra={"n": self.events.backlog})

    def _check_publishing(self) -> None:
        """Raise :class:`ServiceUnavailable` while the broker is failing or far behind."""
        try:
            self.events.check_accepting()
        except PublisherUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from exc

    async def ready(self) -> bool:
        """Readiness: a session is open, the broker acknowledges and every halt is known.

        Raises :class:`ServiceUnavailable` with the reason otherwise (checks fail by raising).
        """
        if self._engine is None:
            raise ServiceUnavailable("the matching engine is starting")
        if self.events.failing:
            raise ServiceUnavailable("the event broker is not acknowledging")
        self._check_halts_known()
        return True

    @property
    def engine(self) -> MatchingEngine:
        """The engine of the current session."""
        if self._engine is None:
            raise ServiceUnavailable("the matching engine is starting")
        return self._engine

    # -- halts ------------------------------------------------------------------------------------
    def watch_halts(self, runner: ConsumerRunner) -> None:
        """The consumer of ``risk.halts`` whose health gates every order."""
        self.halts_runner = runner

    def halts_unavailable(self, *, require_snapshot: bool = True) -> str | None:
        """Why orders must be refused now for want of halts, or None when every halt is known."""
        if not self.require_halts:
            return None
        runner = self.halts_runner
        if runner is None:
            return "halts are not followed: no risk.halts consumer"
        if runner.failed is not None:
            return f"the risk.halts consumer stopped: {runner.stats.last_error}"
        if not runner.running:
            return "the risk.halts consumer is not running"
        if not runner.caught_up(HALTS_MAX_AGE_S):
            return "the risk.halts consumer is not caught up with the broker"
        if require_snapshot and self.require_risk_snapshot and not self.risk_snapshot_loaded:
            return "the halts in force are not yet loaded from the risk service"
        return None

    def _check_halts_known(self) -> None:
        reason = self.halts_unavailable()
        if reason is not None:
            raise HaltsUnavailable(f"orders refused: {reason}")

    def apply_halts(self, events: Iterable[Halt]) -> int:
        """Apply ``risk.halts`` events; the next command already obeys them. Returns how many."""
        applied = sum(1 for event in events if self.halts.apply(event))
        self.halts_applied += applied
        return applied

    # -- commands ---------------------------------------------------------------------------------
    def new_order_id(self) -> str:
        """The id the next server-numbered order would get (``venue:session:n``)."""
        return f"{self.venue}:{self.session}:{self._order_seq + 1}"

    async def submit(self, cmd: SubmitOrder) -> Execution:
        """Submit; an empty ``order_id`` is numbered by the service; ``ts_event`` is stamped.

        Raises :class:`~nexus.instruments.InstrumentViolation` and the engine's errors
        (``InvalidOrder``, ``DuplicateOrderId``) before anything is published; a halt, a
        post-only cross or an unfillable FOK is an accepted command whose execution carries
        ``reject_reason``.
        """
        price = _raw(cmd.price) if cmd.order_type == "LIMIT" else None
        self.instruments.validate_order(
            cmd.symbol, price, _raw(cmd.quantity), utc_date(self._clock())
        )
        self._check_publishing()
        async with self._lock:
            engine = self.engine
            self._check_halts_known()
            client_key = (cmd.user_id, cmd.client_order_id) if cmd.client_order_id else None
            if client_key is not None and client_key in self._client_order_ids:
                raise DuplicateClientOrderId(
                    f"client_order_id {cmd.client_order_id!r} was already used by this user "
                    f"(order {self._client_order_ids[client_key]})"
                )
            numbered = not cmd.order_id
            order_id = self.new_order_id() if numbered else cmd.order_id
            cmd = msgspec.structs.replace(cmd, order_id=order_id, ts_event=self._now())
            events = engine.submit(cmd)
            if numbered:
                self._order_seq += 1
            if client_key is not None:
                self._client_order_ids[client_key] = order_id
            execution = execution_of(engine.order_status(order_id), events)
            self._track(events)
            ack = self.events.enqueue(message_of(e) for e in events)
        await self._acknowledged(ack, order_id)
        return execution

    async def amend(
        self, order_id: str, price: int | None = None, quantity: int | None = None
    ) -> Execution:
        """Amend a resting order's price and/or open quantity (raw fixed point).

        The new price and quantity are checked against the order's instrument first
        (:class:`~nexus.instruments.InstrumentViolation`), before anything is published.
        """
        self._check_publishing()
        async with self._lock:
            engine = self.engine
            self._check_halts_known()
            symbol = engine.order_status(order_id).symbol
            self.instruments.validate_order(symbol, price, quantity or 0, utc_date(self._clock()))
            events = engine.amend(
                AmendOrder(order_id=order_id, ts_event=self._now(), price=price, quantity=quantity)
            )
            execution = execution_of(engine.order_status(order_id), events)
            self._track(events)
            ack = self.events.enqueue(message_of(e) for e in events)
        await self._acknowledged(ack, order_id)
        return execution

    async def cancel(self, order_id: str, reason: str = "user") -> Execution:
        """Cancel a resting order's open quantity."""
        self._check_publishing()
        async with self._lock:
            engine = self.engine
            events = engine.cancel(
                CancelOrder(order_id=order_id, ts_event=self._now(), reason=reason)
            )
            execution = execution_of(engine.order_status(order_id), events)
            self._track(events)
            ack = self.events.enqueue(message_of(e) for e in events)
        await self._acknowledged(ack, order_id)
        return execution

    async def cancel_all(
        self, user_id: str, symbol: str | None = None, reason: str = "user cancel-all"
    ) -> list[Execution]:
        """Cancel every open order of ``user_id`` (on ``symbol`` only, if given), in one ack."""
        self._check_publishing()
        async with self._lock:
            engine = self.engine
            executions: list[Execution] = []
            events: list[EngineEvent] = []
            for status in self._open_orders(user_id, symbol):
                cancelled = engine.cancel(
                    CancelOrder(order_id=status.order_id, ts_event=self._now(), reason=reason)
                )
                executions.append(execution_of(engine.order_status(status.order_id), cancelled))
                events.extend(cancelled)
            self._track(events)
            ack = self.events.enqueue(message_of(e) for e in events)
        await self._acknowledged(ack, f"cancel-all of {user_id}")
        return executions

    # -- queries ----------------------------------------------------------------------------------
    def order(self, order_id: str) -> OrderStatus:
        """An order's status; raises ``UnknownOrder``."""
        return self.engine.order_status(order_id)

    def open_orders(self, user_id: str, symbol: str | None = None) -> list[OrderStatus]:
        """The user's resting orders (on ``symbol`` only, if given), oldest first."""
        return self._open_orders(user_id, symbol)

    def _open_orders(self, user_id: str, symbol: str | None) -> list[OrderStatus]:
        out: list[OrderStatus] = []
        for order_id in list(self._open_by_user.get(user_id, ())):
            try:
                status = self.engine.order_status(order_id)
            except UnknownOrder:
                self._forget(order_id)
                continue
            if status.status in OPEN_STATES and (symbol is None or status.symbol == symbol):
                out.append(status)
        return out

    def _track(self, events: Iterable[EngineEvent]) -> None:
        """Keep the per-user index of resting orders in step with what a command did."""
        engine = self.engine
        for order_id in {oid for e in events if (oid := getattr(e, "order_id", None))}:
            try:
                status = engine.order_status(order_id)
            except UnknownOrder:  # the engine already dropped it: finished
                self._forget(order_id)
                continue
            if status.status in OPEN_STATES:
                self._open_by_user.setdefault(status.user_id, {})[order_id] = None
                self._owner[order_id] = status.user_id
            else:
                self._forget(order_id)

    def _forget(self, order_id: str) -> None:
        user = self._owner.pop(order_id, None)
        if user is not None:
            orders = self._open_by_user.get(user)
            if orders is not None:
                orders.pop(order_id, None)
                if not orders:
                    del self._open_by_user[user]

    def book(self, symbol: str, depth: int) -> BookSnapshot:
        """L2 snapshot of ``symbol``."""
        return self.engine.snapshot(symbol, depth)

    # -- internals --------------------------------------------------------------------------------
    def _now(self) -> int:
        # event time never goes backwards within a session, even if the wall clock does
        self._last_ts = max(self._last_ts, self._clock())
        return self._last_ts

    async def _acknowledged(self, ack: asyncio.Future[None], order_id: str) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(ack), self._ack_timeout_s)
        except TimeoutError:
            raise NotAcknowledged(
                f"order {order_id} was applied but its events are not yet acknowledged by the "
                "broker; they will be published in order - see GET /orders/{order_id}",
                order_id,
            ) from None
