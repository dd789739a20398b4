"""The market-data service's use cases: seed and import history, serve prices and returns,
publish venue quotes (store + bus + core).

Prices are raw fixed point throughout (:mod:`nexus.money`); returns are float64 statistics
computed by the core (:func:`~services.marketdata.core.compute_returns`) from stored closes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

import msgspec
import numpy as np

from nexus.bus import OutgoingMessage, Publisher
from nexus.errors import ConfigError
from nexus.events import QUOTE_CODEC, TOPIC_QUOTES, QuoteDepth, QuoteL1, Trade, partition_key
from nexus.money import to_raw
from services.marketdata.core import (
    HistoryConfig,
    InvalidRangeError,
    MissingPolicy,
    PriceTable,
    ReturnKind,
    ReturnsTable,
    SyntheticHistory,
    UnknownSymbolError,
    VenueProfile,
    compute_returns,
    generate_history,
    iter_close_rows,
    market_quotes,
)
from services.marketdata.core.returns import returns_from_closes
from services.marketdata.store import (
    BarRow,
    BarStore,
    LatestClose,
    PriceStore,
    Series,
    SymbolInfo,
)

log = logging.getLogger(__name__)

#: Venues of the live quote feed: the core's defaults at a modest update rate.
LIVE_VENUES: tuple[VenueProfile, ...] = (
    VenueProfile("NYSE", 1.0, 2.0),
    VenueProfile("NASDAQ", 1.0, 2.0),
    VenueProfile("ARCA", 1.5, 1.0),
    VenueProfile("BATS", 2.0, 1.0, mean_lots=3.0),
)


@dataclass(frozen=True, slots=True)
class MarketDataOptions:
    """What the service seeds and how it quotes.

    ``seed_symbols`` x ``seed_days`` closes of ``<symbol_prefix>0000``, ``...0001``, ... are
    generated on start when no close is stored (0 symbols: never seed); the history ends on ``seed_end`` (default: the last weekday before
    today). Quotes: every ``quote_interval_s`` seconds a window of quotes for the first
    ``quote_symbols`` stored symbols (0: no quotes), mids starting at their latest closes.
    With ``bars``, trades from ``trades.*`` are aggregated into ``bar_seconds`` OHLCV bars.
    """

    seed_symbols: int = 20
    symbol_prefix: str = "S"
    seed_days: int = 504
    seed: int = 7
    seed_end: dt.date | None = None
    quote_symbols: int = 8
    quote_interval_s: float = 1.0
    quote_step_ms: float = 250.0
    quote_tick: str = "0.01"
    quote_depth: bool = True
    venues: tuple[VenueProfile, ...] = field(default=LIVE_VENUES)
    bars: bool = True
    bar_seconds: int = 60


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What a CSV import stored."""

    rows: int
    symbols: tuple[str, ...]
    first_date: dt.date | None
    last_date: dt.date | None
    source: str


def symbol_major_rows(history: SyntheticHistory) -> Iterator[tuple[str, dt.date, int]]:
    """``(symbol, trade_date, close_raw)`` rows symbol by symbol: the primary key's order, which
    makes a bulk load append to its index instead of touching every leaf."""
    days = history.trade_dates
    for i, symbol in enumerate(history.symbols):
        yield from zip(repeat(symbol), days, history.closes[:, i].tolist())


def last_weekday_before(day: dt.date) -> dt.date:
    """The latest Monday-to-Friday date strictly before ``day``."""
    day -= dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def history_start(end: dt.date, n_days: int) -> dt.date:
    """The first of ``n_days`` consecutive weekdays ending on ``end`` (a weekday)."""
    first = np.busday_offset(np.datetime64(end, "D"), -(n_days - 1), roll="backward")
    start: dt.date = first.astype("datetime64[D]").item()
    return start


class MarketDataService:
    """Price history in PostgreSQL, returns from it, and a venue quote feed on the bus."""

    def __init__(
        self,
        store: PriceStore,
        publisher: Publisher,
        options: MarketDataOptions | None = None,
        *,
        bars: BarStore | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._store = store
        self._bars = bars
        self._publisher = publisher
        self.options = options or MarketDataOptions()
        self._clock_ns = clock_ns
        self.quotes_published = 0
        #: ``{symbol: (price_raw, ts_event)}``: the newest trade seen on ``trades.executed``
        self.last_sale: dict[str, tuple[int, int]] = {}

    # -- history -----------------------------------------------------------------------------
    async def seed_if_empty(self) -> int:
        """Store synthetic history when no close is stored; returns the closes stored."""
        opts = self.options
        if opts.seed_symbols <= 0 or await self._store.has_closes():
            return 0
        end = opts.seed_end or last_weekday_before(dt.date.today())
        config = HistoryConfig(
            n_symbols=opts.seed_symbols,
            n_days=opts.seed_days,
            start=history_start(end, opts.seed_days),
            symbols=tuple(f"{opts.symbol_prefix}{i:04d}" for i in range(opts.seed_symbols)),
        )
        history = await asyncio.to_thread(generate_history, config, opts.seed)
        loaded = await self._store.load_closes(
            symbol_major_rows(history),
            "synthetic",
            fresh=True,
            only_if_empty=True,
            sectors=dict(zip(history.symbols, history.sectors, strict=True)),
        )
        if loaded == 0:
            return 0  # another replica seeded first
        await self._store.load_benchmark(list(history.iter_benchmark_rows()))
        log.info(
            "seeded synthetic history",
            extra={"symbols": config.n_symbols, "days": config.n_days, "closes": loaded},
        )
        return loaded

    async def import_csv(self, path: Path, source: str | None = None) -> ImportResult:
        """Load a price CSV (long or wide layout, see the core's loader) into the store.

        Parsing is exact (raises :class:`~services.marketdata.core.CsvFormatError` naming the
        line, and nothing is stored); closes already stored for a symbol and date are replaced.
        """
        rows = await asyncio.to_thread(lambda: list(iter_close_rows(path)))
        label = source or f"csv:{path.name}"
        loaded = await self._store.load_closes(rows, label)
        dates = [r.trade_date for r in rows]
        return ImportResult(
            rows=loaded,
            symbols=tuple(sorted({r.symbol for r in rows})),
            first_date=min(dates) if dates else None,
            last_date=max(dates) if dates else None,
            source=label,
        )

    async def symbols(self) -> list[SymbolInfo]:
        """Every symbol with stored history."""
        return await self._store.symbols()

    async def _check_known(self, symbols: Sequence[str]) -> None:
        unknown = await self._store.unknown(symbols)
        if unknown:
            raise UnknownSymbolError(unknown)

    async def resolve_range(
        self, symbols: Sequence[str], start: dt.date | None, end: dt.date | None
    ) -> tuple[dt.date, dt.date]:
        """``[start, end]`` with open ends filled from the stored span of ``symbols`` (an open
        end beyond the given one moves with it, so the range is empty rather than reversed).

        Raises :class:`UnknownSymbolError` naming every symbol without history and
        :class:`InvalidRangeError` if ``start`` is after ``end``.
        """
        await self._check_known(symbols)
        if start is None or end is None:
            bounds = await self._store.bounds(symbols)
            first, last = bounds if bounds is not None else (dt.date.min, dt.date.max)
            # An open end never turns a range beyond the stored data into an error: it is empty.
            if start is None:
                start = first if end is None else min(first, end)
            if end is None:
                end = max(last, start)
        if start > end:
            raise InvalidRangeError(
                f"start {start.isoformat()} is after end {end.isoformat()}", field="start"
            )
        return start, end

    async def prices(
        self, symbols: Sequence[str], start: dt.date | None, end: dt.date | None
    ) -> tuple[dt.date, dt.date, list[Series]]:
        """Stored closes per symbol in the range (trading days with a close only)."""
        lo, hi = await self.resolve_range(symbols, start, end)
        return lo, hi, await self._store.series(symbols, lo, hi)

    async def returns(
        self,
        symbols: Sequence[str],
        start: dt.date | None,
        end: dt.date | None,
        kind: ReturnKind = ReturnKind.SIMPLE,
        missing: MissingPolicy = MissingPolicy.RAISE,
    ) -> tuple[dt.date, dt.date, ReturnsTable]:
        """``(start, end, returns)``: returns between consecutive stored closes in the range
        (open ends filled as :meth:`resolve_range` does), aligned across symbols.

        The calendar is the union of the symbols' close dates in the range; a symbol without a
        close on a calendar day is handled by ``missing`` (see the core's ``MissingPolicy``).
        """
        lo, hi = await self.resolve_range(symbols, start, end)
        series = await self._store.series(symbols, lo, hi)
        returns = await asyncio.to_thread(_returns_of, series, lo, hi, kind, missing)
        return lo, hi, returns

    async def latest(self, symbols: Sequence[str] | None) -> list[LatestClose]:
        """Latest close per symbol (every stored symbol when ``symbols`` is None)."""
        if symbols is None:
            symbols = [s.symbol for s in await self._store.symbols()]
        else:
            await self._check_known(symbols)
        return await self._store.latest(symbols)

    # -- intraday bars -----------------------------------------------------------------------
    async def on_trades(self, trades: list[Trade]) -> None:
        """Add trades to their intraday bars (a trade already counted changes nothing)."""
        if self._bars is None:
            raise ConfigError("this market-data service was built without a bar store")
        await self._bars.apply_trades(trades, self.options.bar_seconds)
        for trade in trades:
            held = self.last_sale.get(trade.symbol)
            if held is None or held[1] <= trade.ts_event:
                self.last_sale[trade.symbol] = (trade.price, trade.ts_event)

    async def bars(
        self, symbol: str, start_ns: int | None, end_ns: int | None, limit: int
    ) -> list[BarRow]:
        """The latest ``limit`` bars of ``symbol`` starting in ``[start_ns, end_ns)``."""
        if self._bars is None:
            return []
        lo = start_ns if start_ns is not None else 0
        hi = end_ns if end_ns is not None else 2**63 - 1
        if lo >= hi:
            raise InvalidRangeError("start must be before end", field="start")
        return await self._bars.bars(symbol, self.options.bar_seconds, lo, hi, limit)

    # -- quotes ------------------------------------------------------------------------------
    async def quote_universe(self) -> list[tuple[str, int]]:
        """``(symbol, mark raw)`` of the symbols the feed quotes: the last sale on the venues
        when the symbol traded, else its latest close."""
        if self.options.quote_symbols <= 0:
            return []
        chosen = [s.symbol for s in await self._store.symbols()][: self.options.quote_symbols]
        latest = await self._store.latest(chosen)
        for c in latest:
            if c.last_sale_raw is not None and c.last_sale_ts is not None:
                held = self.last_sale.get(c.symbol)
                if held is None or held[1] < c.last_sale_ts:
                    self.last_sale[c.symbol] = (c.last_sale_raw, c.last_sale_ts)
        return [(c.symbol, c.mark_raw) for c in latest]

    def anchored_mids(self, mids: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
        """Each quoted symbol's starting mid for the next window: its last sale on the venues
        (on the tick) when it traded, else the carried mid. This is how the venue quotes follow
        the fundamental the simulated flow trades around: the trades reveal it, and a window's
        random walk never strays further than one window from it."""
        tick_raw = to_raw(self.options.quote_tick)
        out = []
        for symbol, mid in mids:
            sale = self.last_sale.get(symbol)
            if sale is not None:
                mid = max(tick_raw, round(sale[0] / tick_raw) * tick_raw)
            out.append((symbol, mid))
        return out

    def quote_window(
        self, mids: Sequence[tuple[str, int]], start_ns: int, window: int
    ) -> list[QuoteL1 | QuoteDepth]:
        """One window of venue quotes around random-walk mids starting at ``mids``.

        Event ids are the core's ``q-``/``d-<venue>-<symbol>-<n>`` plus ``@<start_ns>``.
        """
        opts = self.options
        quotes = market_quotes(
            mids,
            start_ns,
            opts.quote_interval_s,
            to_raw(opts.quote_tick),
            step_ms=opts.quote_step_ms,
            venues=opts.venues,
            depth=opts.quote_depth,
            seed=opts.seed * 1_000_003 + window,
        )
        # The core numbers events per window; the window's start makes ids unique across
        # windows and restarts.
        return [msgspec.structs.replace(q, event_id=f"{q.event_id}@{start_ns}") for q in quotes]

    async def publish_quotes(self, quotes: Sequence[QuoteL1 | QuoteDepth]) -> None:
        """Publish quotes keyed by symbol and wait for the broker's acknowledgement."""
        if not quotes:
            return
        await self._publisher.publish(
            [OutgoingMessage(TOPIC_QUOTES, QUOTE_CODEC.encode(q), partition_key(q)) for q in quotes]
        )
        self.quotes_published += len(quotes)

    async def quote_forever(self) -> None:
        """Generate and publish quotes window after window, mids carried across windows.

        A window covering ``[t, t + interval)`` is published once ``t + interval`` has passed,
        so no event time lies in the future; a failed publish is logged and retried with the
        next window.
        """
        interval = self.options.quote_interval_s
        mids: list[tuple[str, int]] = []
        window = 0
        start_ns = self._clock_ns()
        while True:
            try:
                if not mids:
                    mids = await self.quote_universe()
                    if not mids:
                        await asyncio.sleep(max(interval, 1.0))
                        start_ns = self._clock_ns()
                        continue
                mids = self.anchored_mids(mids)
                quotes = await asyncio.to_thread(self.quote_window, mids, start_ns, window)
                window += 1
                start_ns += int(interval * 1e9)
                delay = (start_ns - self._clock_ns()) / 1e9
                if delay > 0:
                    await asyncio.sleep(delay)
                await self.publish_quotes(quotes)
                mids = _closing_mids(mids, quotes, to_raw(self.options.quote_tick))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("publishing quotes failed; will retry")
                await asyncio.sleep(interval)
                start_ns = self._clock_ns()


def _returns_of(
    series: Sequence[Series],
    start: dt.date,
    end: dt.date,
    kind: ReturnKind,
    missing: MissingPolicy,
) -> ReturnsTable:
    """The core's returns of stored series; when every series has the same dates (no gap, the
    usual case) the aligned matrix is built directly instead of through a ``PriceTable``."""
    dates = series[0].dates if series else ()
    if len(dates) >= 2 and all(s.dates == dates for s in series):
        closes = np.array([s.closes_raw for s in series], dtype=np.int64).T
        return ReturnsTable(
            dates=dates,
            symbols=tuple(s.symbol for s in series),
            values=returns_from_closes(np.ascontiguousarray(closes), kind),
            kind=kind,
        )
    table = PriceTable({s.symbol: dict(zip(s.dates, s.closes_raw, strict=True)) for s in series})
    return compute_returns(table, [s.symbol for s in series], start, end, kind, missing)


def _closing_mids(
    mids: Sequence[tuple[str, int]], quotes: Sequence[QuoteL1 | QuoteDepth], tick_raw: int
) -> list[tuple[str, int]]:
    """Each symbol's mid at the end of a window: the middle of its last L1 quote, on the tick."""
    last: dict[str, int] = {}
    for q in quotes:
        if isinstance(q, QuoteL1) and q.bid_price and q.ask_price:
            last[q.symbol] = (q.bid_price + q.ask_price) // 2 // tick_raw * tick_raw
    return [(symbol, last.get(symbol, mid)) for symbol, mid in mids]
