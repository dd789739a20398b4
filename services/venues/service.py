"""A venue process's asyncio side: latency, the exchange core, quotes out, fundamental in.

Inbound commands (from the FIX acceptor, already on the loop) are executed after a latency
drawn from the venue's profile; a session's commands keep their order (a cancel never
overtakes its order). Participants requote every ``requote_ms``. After any change of a book
the venue publishes its top of book (``QuoteL1``) and depth (``QuoteDepth``) on
``marketdata.quotes``, coalesced per symbol and stamped with the venue's clock (the venue is
the source of the event). The fundamental follows the shared market's last sale on the
internal venue (``trades.executed`` from ``NEXUS``), so every venue quotes the same price level.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from nexus.bus import Bus, ConsumerRunner, Delivery, OutgoingMessage, Producer
from nexus.events import QUOTE_CODEC, TOPIC_QUOTES, TOPIC_TRADES, Trade, partition_key
from services.venues.core import Exchange, VenueReject, VenueReport
from services.venues.fix import FixAcceptor, VenueCommand, cancel_reject, execution_report

log = logging.getLogger(__name__)

#: The internal venue, whose last sale is the shared market's price.
INTERNAL_VENUE = "NEXUS"
DEPTH_LEVELS = 10


@dataclass(slots=True)
class VenueCounters:
    """What the venue did (for logs and tests)."""

    commands: int = 0
    reports: int = 0
    quotes: int = 0
    logons: int = 0


class VenueService:
    """Runs one :class:`Exchange` behind a FIX acceptor, publishing its quotes on ``bus``."""

    def __init__(
        self,
        exchange: Exchange,
        bus: Bus,
        *,
        clock_ns: Callable[[], int] = time.time_ns,
        session_tag: str | None = None,
    ) -> None:
        self.exchange = exchange
        self.profile = exchange.profile
        self._bus = bus
        self._clock = clock_ns
        self._session_tag = session_tag or str(clock_ns())
        self._acceptor: FixAcceptor | None = None
        self._producer: Producer | None = None
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._due: dict[str, float] = {}
        self._quote_seq = 0
        self._latency_rng = random.Random(self.profile.seed * 7919)
        self.counters = VenueCounters()
        self.sessions: set[str] = set()

    # -- wiring ---------------------------------------------------------------------------------
    def attach(self, acceptor: FixAcceptor) -> None:
        """The acceptor the reports go out through."""
        self._acceptor = acceptor

    async def start(self) -> None:
        """Open the producer and publish the first quotes."""
        await self._bus.create_topics([TOPIC_QUOTES])
        self._producer = self._bus.producer()
        for symbol in self.exchange.symbols:
            self._reports(self.exchange.requote(symbol, self._clock()))
            self._dirty.add(symbol)
        await self._flush_quotes()

    async def stop(self) -> None:
        """Close the producer."""
        if self._producer is not None:
            await self._producer.close()
            self._producer = None

    # -- FIX callbacks (on the loop) ----------------------------------------------------------------
    def on_session(self, client: str, up: bool) -> None:
        """A client session logged on (``up``) or off."""
        if up:
            self.sessions.add(client)
            self.counters.logons += 1
        else:
            self.sessions.discard(client)
        log.info("FIX session %s %s", client, "logged on" if up else "logged out")

    def on_command(self, command: VenueCommand) -> None:
        """Schedule ``command`` after the venue's latency, in order per session."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        due = max(
            now + self.profile.latency.draw_ms(self._latency_rng) / 1000.0,
            self._due.get(command.session, 0.0),
        )
        self._due[command.session] = due
        if due <= now:
            self._execute(command)
        else:
            loop.call_at(due, self._execute, command)

    def _execute(self, command: VenueCommand) -> None:
        self.counters.commands += 1
        ts = self._clock()
        ex = self.exchange
        try:
            if command.kind == "new":
                reports = ex.submit(
                    command.session,
                    command.cl_ord_id,
                    command.symbol,
                    command.side,
                    command.quantity,
                    command.price,
                    command.tif,
                    ts,
                    iso=command.iso,
                )
            elif command.kind == "cancel":
                reports = ex.cancel(command.session, command.cl_ord_id, command.orig_cl_ord_id, ts)
            elif command.kind == "replace":
                reports = ex.replace(
                    command.session,
                    command.cl_ord_id,
                    command.orig_cl_ord_id,
                    command.quantity,
                    command.price,
                    ts,
                )
            else:
                reports = ex.submit(command.session, command.cl_ord_id, "", "BUY", 0, 0, "DAY", ts)
                reports = [_with_text(r, command.text) for r in reports]
        except VenueReject as exc:
            if self._acceptor is not None:
                self._acceptor.send(cancel_reject(command, str(exc)), command.session_id)
            return
        self._send(command, reports)
        for report in reports:
            if report.last_qty:
                self._dirty.add(report.symbol)
        if command.kind in ("new", "replace", "cancel") and command.symbol in ex.symbols:
            self._dirty.add(command.symbol)
        self._wake.set()

    def _send(self, command: VenueCommand, reports: Sequence[VenueReport]) -> None:
        """Each report to its own order's session (a fill may hit another client's order)."""
        if self._acceptor is None:
            return
        for report in reports:
            self.counters.reports += 1
            session_id = (
                command.session_id
                if report.session == command.session
                else self._acceptor.session_of(report)
            )
            self._acceptor.send(execution_report(report), session_id)

    def _reports(self, reports: Sequence[VenueReport]) -> None:
        """Reports not caused by a client command (a participant hit a resting client order)."""
        if self._acceptor is None:
            return
        for report in reports:
            self.counters.reports += 1
            self._acceptor.send(execution_report(report), self._acceptor.session_of(report))

    # -- background tasks ------------------------------------------------------------------------
    async def requote_forever(self) -> None:
        """Participants refresh their ladders every ``requote_ms``."""
        interval = self.profile.requote_ms / 1000.0
        while True:
            await asyncio.sleep(interval)
            for symbol in self.exchange.symbols:
                self._reports(self.exchange.requote(symbol, self._clock()))
                self._dirty.add(symbol)
            self._wake.set()

    async def publish_forever(self) -> None:
        """Publish the quotes of every changed book, coalesced, as soon as they change."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._flush_quotes()
            except Exception:  # the broker may be down for a while: quotes are retried
                log.exception("quote publish failed; retrying")
                await asyncio.sleep(0.5)

    async def _flush_quotes(self) -> None:
        if not self._dirty or self._producer is None:
            return
        symbols, self._dirty = self._dirty, set()
        messages = []
        ts = self._clock()
        for symbol in sorted(symbols):
            for event in (
                self.exchange.l1(symbol, ts, self._quote_id(symbol)),
                self.exchange.depth(symbol, ts, self._quote_id(symbol), DEPTH_LEVELS),
            ):
                messages.append(
                    OutgoingMessage(TOPIC_QUOTES, QUOTE_CODEC.encode(event), partition_key(event))
                )
        try:
            await self._producer.publish_batch(messages)
        except Exception:
            self._dirty |= symbols
            raise
        self.counters.quotes += len(messages)

    def _quote_id(self, symbol: str) -> str:
        self._quote_seq += 1
        return f"{self.exchange.name}:{self._session_tag}:{symbol}:{self._quote_seq}"

    def follow_trades(self, bus: Bus, group_id: str) -> ConsumerRunner:
        """The fundamental follows the internal venue's last sale of each listed symbol."""

        async def handle(batch: list[Delivery[Trade]]) -> None:
            for delivery in batch:
                trade = delivery.event
                if trade.venue == INTERNAL_VENUE:
                    self.exchange.set_fundamental(trade.symbol, trade.price)

        return ConsumerRunner(bus, group_id, handle, topics=[TOPIC_TRADES], poll_timeout_s=0.2)


def _with_text(report: VenueReport, text: str) -> VenueReport:
    return replace(report, text=text[:200])
