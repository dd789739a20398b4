"""The quote archive: the NBBO over time into ``routing_quote_archive`` for the reports.

Rule 605 realized spreads and venue markouts need the mid at instants after each fill
(``reports_store.MARKET``). The router records the NBBO only when it decides or executes, so
this consumer records the market between those instants:

* its own consumer group on ``marketdata.quotes`` and its own market view (the compiled
  ``MarketView``, fed by :func:`~services.routing.core.market.apply_quote`), judged at each
  quote's event time; only quotes of venues the router can reach count, with their protected
  flag (the rule of ``RoutingService.apply_quotes``);
* per symbol, a row ``(symbol, ts_event, bid, ask)`` is written when the NBBO prices differ
  from the symbol's last archived row, at most one row per :data:`MIN_INTERVAL_NS` of the
  symbol's event time. A change inside the interval is held; when the symbol's next quote
  shows the interval has passed, the held NBBO is written stamped at the interval's end (the
  instant it was in force), so the tape is the market sampled, never later than one interval;
* a symbol's first :attr:`QuoteArchiver.warmup_ns` of event time (the view's quote age) write
  nothing: after a restart the group resumes at its committed offsets with an empty view, and
  only once every quote from before the restart is stale is the view the market's;
* rows are written by the handler, so the runner commits the offsets only after they are
  stored; rows whose write failed stay queued for the retry of the batch. Writes are
  idempotent (primary key ``(symbol, ts_event)``, ``ON CONFLICT DO NOTHING``).

:func:`prune_forever` bounds the table: rows older than the retention are deleted hourly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from nexus._ext.nbbo import MarketView
from nexus.bus import Bus, ConsumerRunner, Delivery, is_transient
from nexus.events import TOPIC_QUOTES, Quote
from services.routing.core.market import MarketSource, apply_quote

log = logging.getLogger(__name__)

#: At most one archived row per symbol per this much event time (100 ms).
MIN_INTERVAL_NS = 100_000_000
#: The archive's consumer group (shared by routing processes: quotes are keyed by symbol).
ARCHIVE_GROUP = "routing.quote-archive"
#: Days of archived quotes kept: a quarter, enough to recompute last month's 605 and markouts.
RETENTION_DAYS = 93
#: Seconds between deletions of expired rows.
PRUNE_INTERVAL_S = 3_600.0
DAY_NS = 86_400 * 10**9

#: ``(symbol, ts_event, bid_price, ask_price)``, raw fixed point.
Row = tuple[str, int, int, int]


class ArchiveSink(Protocol):
    """Where archived rows go (``ReportsStore``)."""

    async def archive_quotes(self, quotes: Sequence[Row]) -> None: ...


class ArchivePruner(Protocol):
    """What deletes expired rows (``ReportsStore``)."""

    async def prune_quote_archive(self, before_ns: int) -> int: ...


@dataclass(slots=True)
class _SymbolState:
    first_ns: int
    clock_ns: int
    last: Row | None = None
    held: tuple[int, int] | None = None


class QuoteArchiver:
    """Aggregates venue quotes into the NBBO and samples its changes into archive rows.

    ``venues()`` names the venues the router can reach, each with whether its quotes are
    protected (only protected quotes make the NBBO).
    """

    def __init__(
        self,
        venues: Callable[[], Mapping[str, bool]],
        *,
        max_age_ns: int,
        min_interval_ns: int = MIN_INTERVAL_NS,
        warmup_ns: int | None = None,
    ) -> None:
        if min_interval_ns < 0:
            raise ValueError("min_interval_ns must be >= 0")
        self._venues = venues
        self.market = cast(MarketSource, MarketView(max_age_ns=max_age_ns))
        self.min_interval_ns = min_interval_ns
        self.warmup_ns = max_age_ns if warmup_ns is None else warmup_ns
        self._added: set[str] = set()
        self._symbols: dict[str, _SymbolState] = {}
        self._unwritten: list[Row] = []
        self.quotes_applied = 0
        self.quotes_ignored = 0
        self.rows_written = 0

    def observe(self, quotes: Iterable[Quote]) -> list[Row]:
        """Apply ``quotes``; the rows to write (with any a failed write left queued)."""
        known = self._venues()
        for quote in quotes:
            protected = known.get(quote.venue)
            if protected is None:
                self.quotes_ignored += 1
                continue
            if quote.venue not in self._added:
                self.market.add_venue(quote.venue, protected)
                self._added.add(quote.venue)
            self._observe(quote)
            self.quotes_applied += 1
        return list(self._unwritten)

    def written(self, rows: Sequence[Row]) -> None:
        """``rows`` (from :meth:`observe`) are stored: drop them from the queue."""
        del self._unwritten[: len(rows)]
        self.rows_written += len(rows)

    def _observe(self, quote: Quote) -> None:
        symbol = quote.symbol
        state = self._symbols.get(symbol)
        if state is None:
            state = self._symbols[symbol] = _SymbolState(quote.ts_event, quote.ts_event)
        now = max(quote.ts_event, state.clock_ns)  # the symbol's event time never goes back
        state.clock_ns = now
        if state.held is not None and state.last is not None:
            due = state.last[1] + self.min_interval_ns
            if now >= due:
                self._archive(state, (symbol, due, *state.held))
        apply_quote(self.market, quote)
        if now < state.first_ns + self.warmup_ns:
            return
        nbbo = self.market.nbbo(symbol, now)
        prices = (nbbo.bid_price, nbbo.ask_price)
        last = state.last
        if prices == ((last[2], last[3]) if last is not None else (0, 0)):
            state.held = None
        elif last is None or now >= last[1] + self.min_interval_ns:
            self._archive(state, (symbol, now, *prices))
        else:
            state.held = prices

    def _archive(self, state: _SymbolState, row: Row) -> None:
        state.last = row
        state.held = None
        self._unwritten.append(row)


def quote_archive_consumer(
    bus: Bus, archiver: QuoteArchiver, sink: ArchiveSink, group: str = ARCHIVE_GROUP
) -> ConsumerRunner:
    """Archive each batch's NBBO changes; the runner commits only after the write returned."""

    async def handle(batch: list[Delivery[Quote]]) -> None:
        rows = archiver.observe(d.event for d in batch)
        if rows:
            await sink.archive_quotes(rows)
            archiver.written(rows)

    return ConsumerRunner(bus, group, handle, topics=[TOPIC_QUOTES], max_batch=5_000)


async def prune_forever(
    pruner: Callable[[], ArchivePruner],
    retention_days: int = RETENTION_DAYS,
    interval_s: float = PRUNE_INTERVAL_S,
    clock: Callable[[], int] = time.time_ns,
) -> None:
    """Delete archived rows older than ``retention_days`` now and every ``interval_s``."""
    if retention_days < 1:
        raise ValueError("retention_days must be >= 1")
    while True:
        try:
            deleted = await pruner().prune_quote_archive(clock() - retention_days * DAY_NS)
            if deleted:
                log.info("quote archive pruned", extra={"rows": deleted})
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("quote archive prune failed (database away), next round: %s", exc)
        await asyncio.sleep(interval_s)
