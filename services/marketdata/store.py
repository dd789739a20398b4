"""PostgreSQL access of the market-data service: daily closes, benchmark levels, symbols,
intraday bars.

Prices stay raw fixed point (``value * 10**9``, :mod:`nexus.money`) in ``BIGINT`` columns.
Bulk loads go through ``COPY`` (binary, via asyncpg): straight into ``daily_closes`` when the
caller knows the rows are new (seeding an empty table), else into a temporary staging table
merged with ``ON CONFLICT DO UPDATE`` (a re-import replaces closes, never duplicates them).
After every load the ``symbols`` summary of the loaded symbols is refreshed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import asyncpg
import numpy as np

from nexus.events import Trade
from nexus.store import Database
from services.marketdata.core import trade_bars

CloseRecord = tuple[str, dt.date, int]

CLOSE_COLUMNS = ("symbol", "trade_date", "close_raw", "source")
BENCHMARK_COLUMNS = ("benchmark", "trade_date", "level_raw")

HAS_CLOSES = "SELECT EXISTS (SELECT 1 FROM daily_closes)"
# Bulk loading into an empty table: build the secondary index once afterwards rather than
# maintaining it row by row (PostgreSQL's "Populating a Database" advice; the definition is the
# one of migrations/001_prices.sql). DDL is transactional: a failed load restores the index.
LOCK_CLOSES = "LOCK TABLE daily_closes IN SHARE ROW EXCLUSIVE MODE"
DROP_DATE_INDEX = "DROP INDEX IF EXISTS daily_closes_date_idx"
CREATE_DATE_INDEX = """
CREATE INDEX IF NOT EXISTS daily_closes_date_idx ON daily_closes (trade_date, symbol)
"""
CREATE_STAGING = """
CREATE TEMPORARY TABLE closes_staging (LIKE daily_closes INCLUDING DEFAULTS) ON COMMIT DROP
"""
MERGE_STAGING = """
INSERT INTO daily_closes (symbol, trade_date, close_raw, source)
SELECT symbol, trade_date, close_raw, source FROM closes_staging
ON CONFLICT (symbol, trade_date) DO UPDATE
    SET close_raw = EXCLUDED.close_raw, source = EXCLUDED.source
"""
MERGE_BENCHMARK = """
INSERT INTO benchmark_levels (benchmark, trade_date, level_raw)
SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[])
ON CONFLICT (benchmark, trade_date) DO UPDATE SET level_raw = EXCLUDED.level_raw
"""
REFRESH_SYMBOLS = """
INSERT INTO symbols (symbol, sector, first_date, last_date, closes, source)
SELECT u.symbol, s.sector, f.trade_date, l.trade_date, n.closes, l.source
FROM unnest($1::text[]) AS u (symbol)
LEFT JOIN unnest($2::text[], $3::text[]) AS s (symbol, sector) USING (symbol)
CROSS JOIN LATERAL (
    SELECT trade_date FROM daily_closes WHERE symbol = u.symbol ORDER BY trade_date LIMIT 1
) AS f
CROSS JOIN LATERAL (
    SELECT trade_date, source FROM daily_closes
    WHERE symbol = u.symbol ORDER BY trade_date DESC LIMIT 1
) AS l
CROSS JOIN LATERAL (SELECT count(*) AS closes FROM daily_closes WHERE symbol = u.symbol) AS n
ON CONFLICT (symbol) DO UPDATE SET
    sector = COALESCE(EXCLUDED.sector, symbols.sector),
    first_date = EXCLUDED.first_date, last_date = EXCLUDED.last_date,
    closes = EXCLUDED.closes, source = EXCLUDED.source, updated_at = now()
"""
SELECT_UNKNOWN = """
SELECT s.symbol FROM unnest($1::text[]) AS s (symbol)
WHERE NOT EXISTS (SELECT 1 FROM daily_closes AS d WHERE d.symbol = s.symbol)
"""
# One row per symbol with the series as arrays: asyncpg decodes arrays in C, far fewer records.
SELECT_SERIES = """
SELECT symbol,
       array_agg(trade_date ORDER BY trade_date) AS dates,
       array_agg(close_raw ORDER BY trade_date) AS closes
FROM daily_closes
WHERE symbol = ANY($1::text[]) AND trade_date BETWEEN $2 AND $3
GROUP BY symbol
"""
SELECT_LATEST = """
SELECT s.symbol, d.trade_date, d.close_raw, p.close_raw AS previous_raw,
       ls.price_raw AS last_sale_raw, ls.ts_event AS last_sale_ts
FROM unnest($1::text[]) AS s (symbol)
LEFT JOIN last_sales AS ls ON ls.symbol = s.symbol
CROSS JOIN LATERAL (
    SELECT trade_date, close_raw FROM daily_closes
    WHERE symbol = s.symbol ORDER BY trade_date DESC LIMIT 1
) AS d
LEFT JOIN LATERAL (
    SELECT close_raw FROM daily_closes
    WHERE symbol = s.symbol AND trade_date < d.trade_date ORDER BY trade_date DESC LIMIT 1
) AS p ON TRUE
"""
SELECT_SYMBOLS = "SELECT * FROM symbols ORDER BY symbol"
UPSERT_LAST_SALES = """
INSERT INTO last_sales AS l (symbol, price_raw, quantity_raw, ts_event, trade_id)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[])
ON CONFLICT (symbol) DO UPDATE SET
    price_raw = EXCLUDED.price_raw, quantity_raw = EXCLUDED.quantity_raw,
    ts_event = EXCLUDED.ts_event, trade_id = EXCLUDED.trade_id
WHERE (l.ts_event, l.trade_id) < (EXCLUDED.ts_event, EXCLUDED.trade_id)
"""
SELECT_LAST_SALES = "SELECT symbol, price_raw, ts_event FROM last_sales"
SELECT_BOUNDS = """
SELECT min(first_date) AS first_date, max(last_date) AS last_date
FROM symbols WHERE symbol = ANY($1::text[])
"""
SELECT_BENCHMARK = """
SELECT trade_date, level_raw FROM benchmark_levels
WHERE benchmark = $1 AND trade_date BETWEEN $2 AND $3 ORDER BY trade_date
"""


INSERT_BAR_TRADES = """
INSERT INTO bar_trades (trade_id, symbol, ts_event)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
ON CONFLICT (trade_id) DO NOTHING
RETURNING trade_id
"""
MERGE_BARS = """
INSERT INTO intraday_bars AS b (symbol, bar_start_ns, bar_seconds, open_raw, high_raw, low_raw,
                                close_raw, volume_raw, open_ts_ns, close_ts_ns, trades)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::int[], $4::bigint[], $5::bigint[],
                     $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[],
                     $11::int[])
ON CONFLICT (symbol, bar_seconds, bar_start_ns) DO UPDATE SET
    open_raw = CASE WHEN EXCLUDED.open_ts_ns < b.open_ts_ns THEN EXCLUDED.open_raw
                    ELSE b.open_raw END,
    open_ts_ns = LEAST(b.open_ts_ns, EXCLUDED.open_ts_ns),
    close_raw = CASE WHEN EXCLUDED.close_ts_ns >= b.close_ts_ns THEN EXCLUDED.close_raw
                     ELSE b.close_raw END,
    close_ts_ns = GREATEST(b.close_ts_ns, EXCLUDED.close_ts_ns),
    high_raw = GREATEST(b.high_raw, EXCLUDED.high_raw),
    low_raw = LEAST(b.low_raw, EXCLUDED.low_raw),
    volume_raw = b.volume_raw + EXCLUDED.volume_raw,
    trades = b.trades + EXCLUDED.trades
"""
SELECT_BARS = """
SELECT * FROM (
    SELECT bar_start_ns, open_raw, high_raw, low_raw, close_raw, volume_raw, trades
    FROM intraday_bars
    WHERE symbol = $1 AND bar_seconds = $2 AND bar_start_ns >= $3 AND bar_start_ns < $4
    ORDER BY bar_start_ns DESC LIMIT $5
) AS latest ORDER BY bar_start_ns
"""


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """A symbol with stored history: its date span, number of closes and origin."""

    symbol: str
    sector: str | None
    first_date: dt.date
    last_date: dt.date
    closes: int
    source: str


@dataclass(frozen=True, slots=True)
class LatestClose:
    """The most recent stored close of a symbol (raw) and the one before it, if any, with the
    last sale on the venues (from ``trades.executed``) when the symbol traded."""

    symbol: str
    trade_date: dt.date
    close_raw: int
    previous_raw: int | None
    last_sale_raw: int | None = None
    last_sale_ts: int | None = None

    @property
    def mark_raw(self) -> int:
        """The symbol's mark: its last sale when it traded, else its latest close."""
        return self.last_sale_raw if self.last_sale_raw is not None else self.close_raw


@dataclass(frozen=True, slots=True)
class Series:
    """One symbol's closes in a range: ``closes_raw[k]`` is the close on ``dates[k]``."""

    symbol: str
    dates: tuple[dt.date, ...]
    closes_raw: tuple[int, ...]


def _with_source(
    rows: Iterable[CloseRecord], source: str, seen: set[str]
) -> Iterable[tuple[str, dt.date, int, str]]:
    last = ""
    for symbol, day, raw in rows:
        if symbol != last:
            seen.add(symbol)
            last = symbol
        yield symbol, day, raw, source


class PriceStore:
    """``daily_closes``, ``benchmark_levels`` and the ``symbols`` summary."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def _pool(self) -> asyncpg.Pool:
        return self._db.pool

    async def has_closes(self) -> bool:
        """Whether any close is stored."""
        return bool(await self._pool.fetchval(HAS_CLOSES))

    async def load_closes(
        self,
        rows: Iterable[CloseRecord],
        source: str,
        *,
        fresh: bool = False,
        only_if_empty: bool = False,
        sectors: Mapping[str, str] | None = None,
    ) -> int:
        """Store ``(symbol, trade_date, close_raw)`` rows in one transaction; returns the count.

        ``fresh=True`` copies straight into the table (fastest, above all into an empty table
        and with rows in ``(symbol, trade_date)`` order; a row already stored raises
        :class:`asyncpg.UniqueViolationError` and nothing is stored); otherwise existing
        ``(symbol, trade_date)`` closes are replaced. ``only_if_empty`` (with ``fresh``) stores
        nothing and returns 0 unless the table is empty once locked (replicas seeding at once).
        ``sectors`` labels symbols in ``symbols``.
        """
        seen: set[str] = set()
        records = _with_source(rows, source, seen)
        async with self._pool.acquire() as conn, conn.transaction():
            if fresh:
                await conn.execute(LOCK_CLOSES)
                empty = not await conn.fetchval(HAS_CLOSES)
                if only_if_empty and not empty:
                    return 0
                if empty:
                    await conn.execute(DROP_DATE_INDEX)
                result = await conn.copy_records_to_table(
                    "daily_closes", records=records, columns=CLOSE_COLUMNS
                )
                if empty:
                    await conn.execute(CREATE_DATE_INDEX)
            else:
                await conn.execute(CREATE_STAGING)
                result = await conn.copy_records_to_table(
                    "closes_staging", records=records, columns=CLOSE_COLUMNS
                )
                await conn.execute(MERGE_STAGING)
            labels = dict(sectors or {})
            await conn.execute(REFRESH_SYMBOLS, sorted(seen), list(labels), list(labels.values()))
            return _copied(result)

    async def load_benchmark(self, rows: Sequence[CloseRecord]) -> int:
        """Store ``(benchmark, trade_date, level_raw)`` rows (replacing existing levels)."""
        await self._pool.execute(
            MERGE_BENCHMARK,
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] for r in rows],
        )
        return len(rows)

    async def unknown(self, symbols: Sequence[str]) -> list[str]:
        """The requested symbols without any stored close, in request order."""
        rows = await self._pool.fetch(SELECT_UNKNOWN, list(symbols))
        missing = {r["symbol"] for r in rows}
        return [s for s in symbols if s in missing]

    async def series(self, symbols: Sequence[str], start: dt.date, end: dt.date) -> list[Series]:
        """Closes of ``symbols`` dated in ``[start, end]``, in request order (empty if none)."""
        rows = await self._pool.fetch(SELECT_SERIES, list(symbols), start, end)
        found = {r["symbol"]: r for r in rows}
        out = []
        for symbol in symbols:
            row = found.get(symbol)
            if row is None:
                out.append(Series(symbol, (), ()))
            else:
                out.append(Series(symbol, tuple(row["dates"]), tuple(row["closes"])))
        return out

    async def latest(self, symbols: Sequence[str]) -> list[LatestClose]:
        """The latest close of each symbol that has one, in request order."""
        rows = await self._pool.fetch(SELECT_LATEST, list(symbols))
        found = {r["symbol"]: r for r in rows}
        return [
            LatestClose(
                s,
                found[s]["trade_date"],
                found[s]["close_raw"],
                found[s]["previous_raw"],
                found[s]["last_sale_raw"],
                found[s]["last_sale_ts"],
            )
            for s in symbols
            if s in found
        ]

    async def symbols(self) -> list[SymbolInfo]:
        """Every symbol with stored history, by name."""
        return [
            SymbolInfo(
                symbol=r["symbol"],
                sector=r["sector"],
                first_date=r["first_date"],
                last_date=r["last_date"],
                closes=r["closes"],
                source=r["source"],
            )
            for r in await self._pool.fetch(SELECT_SYMBOLS)
        ]

    async def bounds(self, symbols: Sequence[str]) -> tuple[dt.date, dt.date] | None:
        """Earliest and latest stored close date over ``symbols`` (None if none stored)."""
        row = await self._pool.fetchrow(SELECT_BOUNDS, list(symbols))
        if row is None or row["first_date"] is None:
            return None
        return row["first_date"], row["last_date"]

    async def benchmark(self, name: str, start: dt.date, end: dt.date) -> list[tuple[dt.date, int]]:
        """Levels (raw) of a benchmark index in ``[start, end]``."""
        rows = await self._pool.fetch(SELECT_BENCHMARK, name, start, end)
        return [(r["trade_date"], r["level_raw"]) for r in rows]


@dataclass(frozen=True, slots=True)
class BarRow:
    """One intraday OHLCV bar (raw fixed point) starting at ``start_ns`` (UTC ns)."""

    start_ns: int
    open_raw: int
    high_raw: int
    low_raw: int
    close_raw: int
    volume_raw: int
    trades: int


#: ``(symbol, start_ns, seconds, open, high, low, close, volume, open_ts, close_ts, trades)``
BarRecord = tuple[str, int, int, int, int, int, int, int, int, int, int]


def bar_records(trades: Sequence[Trade], bar_seconds: int) -> list[BarRecord]:
    """Bars of a set of trades (any symbols, any order) with their first and last trade times."""
    by_symbol: dict[str, list[Trade]] = {}
    for trade in trades:
        by_symbol.setdefault(trade.symbol, []).append(trade)
    width = bar_seconds * 1_000_000_000
    out: list[BarRecord] = []
    for symbol in sorted(by_symbol):
        group = sorted(by_symbol[symbol], key=lambda t: t.ts_event)
        ts = np.array([t.ts_event for t in group], dtype=np.int64)
        bars = trade_bars(
            ts,
            np.array([t.price for t in group], dtype=np.int64),
            np.array([t.quantity for t in group], dtype=np.int64),
            bar_seconds,
        )
        first = np.searchsorted(ts, bars.start_ns, side="left")
        last = np.searchsorted(ts, bars.start_ns + width, side="left") - 1
        for k in range(len(bars)):
            out.append(
                (
                    symbol,
                    int(bars.start_ns[k]),
                    bar_seconds,
                    int(bars.open[k]),
                    int(bars.high[k]),
                    int(bars.low[k]),
                    int(bars.close[k]),
                    int(bars.volume[k]),
                    int(ts[first[k]]),
                    int(ts[last[k]]),
                    int(last[k] - first[k] + 1),
                )
            )
    return out


LastSale = tuple[str, int, int, int, str]


def last_sales(trades: Sequence[Trade]) -> dict[str, LastSale]:
    """The newest trade of each symbol (by event time, then trade id) as
    ``(symbol, price_raw, quantity_raw, ts_event, trade_id)``."""
    out: dict[str, LastSale] = {}
    for t in trades:
        held = out.get(t.symbol)
        if held is None or (held[3], held[4]) < (t.ts_event, t.event_id):
            out[t.symbol] = (t.symbol, t.price, t.quantity, t.ts_event, t.event_id)
    return out


class BarStore:
    """``intraday_bars`` built from trades, each trade counted once (``bar_trades``)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def apply_trades(self, trades: Sequence[Trade], bar_seconds: int) -> int:
        """Add the trades not seen before to their bars, in one transaction; returns how many
        were new (a redelivered trade changes nothing)."""
        unique = list({t.event_id: t for t in trades}.values())
        if not unique:
            return 0
        async with self._db.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                INSERT_BAR_TRADES,
                [t.event_id for t in unique],
                [t.symbol for t in unique],
                [t.ts_event for t in unique],
            )
            new_ids = {r["trade_id"] for r in rows}
            new = [t for t in unique if t.event_id in new_ids]
            records = bar_records(new, bar_seconds)
            if records:
                await conn.execute(MERGE_BARS, *(list(col) for col in zip(*records, strict=True)))
            # every trade of the batch, not only the new ones: the upsert keeps the newest, so a
            # redelivery cannot move the mark back and a retried batch still records it
            last = last_sales(unique)
            if last:
                await conn.execute(
                    UPSERT_LAST_SALES, *(list(col) for col in zip(*last.values(), strict=True))
                )
            return len(new)

    async def last_sales(self) -> dict[str, tuple[int, int]]:
        """``{symbol: (price_raw, ts_event)}`` of every symbol that traded."""
        rows = await self._db.pool.fetch(SELECT_LAST_SALES)
        return {r["symbol"]: (r["price_raw"], r["ts_event"]) for r in rows}

    async def bars(
        self, symbol: str, bar_seconds: int, start_ns: int, end_ns: int, limit: int
    ) -> list[BarRow]:
        """The latest ``limit`` bars of ``symbol`` starting in ``[start_ns, end_ns)``, oldest
        first."""
        rows = await self._db.pool.fetch(SELECT_BARS, symbol, bar_seconds, start_ns, end_ns, limit)
        return [
            BarRow(
                start_ns=r["bar_start_ns"],
                open_raw=r["open_raw"],
                high_raw=r["high_raw"],
                low_raw=r["low_raw"],
                close_raw=r["close_raw"],
                volume_raw=r["volume_raw"],
                trades=r["trades"],
            )
            for r in rows
        ]


def _copied(status: str) -> int:
    """Row count of a ``COPY n`` command status."""
    parts = status.split()
    return int(parts[-1]) if parts and parts[-1].isdigit() else 0
