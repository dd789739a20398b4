"""PostgreSQL access of the analytics service: positions from trades, prices for the maths.

:class:`PositionStore` applies ``trades.executed`` idempotently (a fill's ``(trade_id, side)``
primary key makes a redelivery a no-op) and is the service's
:class:`~services.analytics.core.PositionSource`. :class:`PriceStore` keeps daily closes and
the latest quote mids and is the database-backed
:class:`~services.analytics.core.PriceSource`. Prices and quantities are raw fixed point
(``value * 10**9``) in ``BIGINT`` columns, exactly as :mod:`nexus.money` and the events carry
them.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from nexus.errors import NotFoundError
from nexus.events import Trade
from nexus.instruments import UNCLASSIFIED, InstrumentTable, simulated_instruments, utc_date
from nexus.money import Fixed
from nexus.store import Database
from services.analytics.core import PortfolioPosition, PriceHistory
from services.analytics.core.sources import MISSING_PRICE_RAW

INSERT_FILLS = """
INSERT INTO fills (trade_id, side, user_id, symbol, price_raw, quantity_raw, ts_event)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                     $6::bigint[], $7::bigint[])
ON CONFLICT (trade_id, side) DO NOTHING
RETURNING trade_id, side
"""
UPSERT_POSITION = """
INSERT INTO positions (user_id, symbol, quantity_raw, last_trade_id, last_ts_event)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (user_id, symbol) DO UPDATE SET
    quantity_raw = positions.quantity_raw + EXCLUDED.quantity_raw,
    last_trade_id = EXCLUDED.last_trade_id,
    last_ts_event = GREATEST(positions.last_ts_event, EXCLUDED.last_ts_event),
    updated_at = now()
"""
SELECT_POSITIONS = """
SELECT p.symbol, p.quantity_raw, i.asset_class, i.sector, i.currency
FROM positions p LEFT JOIN instruments i USING (symbol)
WHERE p.user_id = $1 AND p.quantity_raw <> 0
ORDER BY p.symbol
"""
SELECT_HOLDERS = """
SELECT DISTINCT user_id FROM positions WHERE symbol = ANY($1::text[]) AND quantity_raw <> 0
"""
UPSERT_CLOSES = """
INSERT INTO prices (symbol, trade_date, close_raw)
SELECT * FROM unnest($1::text[], $2::date[], $3::bigint[])
ON CONFLICT (symbol, trade_date) DO UPDATE SET close_raw = EXCLUDED.close_raw
WHERE prices.close_raw <> EXCLUDED.close_raw
RETURNING symbol
"""
UPSERT_LATEST = """
INSERT INTO latest_prices (symbol, price_raw, ts_event)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
ON CONFLICT (symbol) DO UPDATE SET price_raw = EXCLUDED.price_raw, ts_event = EXCLUDED.ts_event
WHERE latest_prices.ts_event < EXCLUDED.ts_event
RETURNING symbol
"""
BUMP_VERSIONS = """
INSERT INTO price_versions (symbol, version) SELECT DISTINCT unnest($1::text[]), 1
ON CONFLICT (symbol) DO UPDATE SET version = price_versions.version + 1
"""
SELECT_VERSIONS = "SELECT symbol, version FROM price_versions WHERE symbol = ANY($1::text[])"
SELECT_HISTORY = """
SELECT symbol, trade_date, close_raw FROM prices WHERE symbol = ANY($1::text[])
ORDER BY symbol, trade_date
"""
SELECT_LATEST = """
SELECT s.symbol, COALESCE(l.price_raw, c.close_raw) AS price_raw
FROM unnest($1::text[]) AS s(symbol)
LEFT JOIN latest_prices l ON l.symbol = s.symbol
LEFT JOIN LATERAL (
    SELECT close_raw FROM prices p WHERE p.symbol = s.symbol ORDER BY trade_date DESC LIMIT 1
) c ON true
"""
SELECT_MIDS = "SELECT symbol, price_raw FROM latest_prices WHERE symbol = ANY($1::text[])"
UPSERT_INSTRUMENT = """
INSERT INTO instruments (symbol, asset_class, sector, currency) VALUES ($1, $2, $3, $4)
ON CONFLICT (symbol) DO UPDATE SET asset_class = EXCLUDED.asset_class,
    sector = EXCLUDED.sector, currency = EXCLUDED.currency
"""


@dataclass(frozen=True, slots=True)
class Close:
    """One daily close: exact price at the end of ``date`` (the exchange's local date)."""

    symbol: str
    date: dt.date
    close: Fixed


@dataclass(frozen=True, slots=True)
class SymbolHistory:
    """A symbol's whole close history in memory: ascending date ordinals and raw closes."""

    version: int
    ordinals: npt.NDArray[np.int64]
    closes: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Instrument:
    """Classification of a symbol for stress scenarios (lower-case sector and asset class)."""

    symbol: str
    asset_class: str = "equity"
    sector: str = ""
    currency: str = "USD"


@functools.lru_cache(maxsize=100_000)
def _date_of(ordinal: int) -> dt.date:
    return dt.date.fromordinal(ordinal)


def _fills(trades: Iterable[Trade]) -> list[tuple[str, str, str, str, int, int, int]]:
    """Both sides of every trade, each ``(trade_id, side)`` once."""
    seen: dict[tuple[str, str], tuple[str, str, str, str, int, int, int]] = {}
    for t in trades:
        for side, user in (("BUY", t.buyer_user_id), ("SELL", t.seller_user_id)):
            seen.setdefault(
                (t.event_id, side),
                (t.event_id, side, user, t.symbol, t.price, t.quantity, t.ts_event),
            )
    return list(seen.values())


class PositionStore:
    """``fills`` and ``positions``; a :class:`~services.analytics.core.PositionSource`.

    A position's classification is the stored one (``instruments``, set by a loader); a symbol
    without a stored sector takes the sector of the instrument reference data in force today
    (``instruments``, the simulated universe by default, lower case), so sector shocks of a
    stress scenario reach positions in every listed symbol.
    """

    def __init__(
        self,
        db: Database,
        *,
        instruments: InstrumentTable | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._db = db
        self._instruments = instruments if instruments is not None else simulated_instruments()
        self._clock_ns = clock_ns

    async def apply_trades(self, trades: Sequence[Trade]) -> set[str]:
        """Apply a batch of trades in one transaction; returns the users whose positions moved.

        A fill already stored (redelivery) changes nothing and moves nobody.
        """
        fills = _fills(trades)
        if not fills:
            return set()
        columns = list(zip(*fills, strict=True))
        async with self._db.pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetch(INSERT_FILLS, *(list(c) for c in columns))
            new = {(r["trade_id"], r["side"]) for r in inserted}
            deltas: dict[tuple[str, str], int] = {}
            last: dict[tuple[str, str], tuple[int, str]] = {}
            for trade_id, side, user, symbol, _price, qty, ts in fills:
                if (trade_id, side) not in new:
                    continue
                key = (user, symbol)
                deltas[key] = deltas.get(key, 0) + (qty if side == "BUY" else -qty)
                if key not in last or last[key][0] <= ts:
                    last[key] = (ts, trade_id)
            await conn.executemany(
                UPSERT_POSITION,
                [(u, s, q, last[(u, s)][1], last[(u, s)][0]) for (u, s), q in deltas.items()],
            )
        return {user for user, _ in deltas}

    async def positions(self, user_id: str) -> list[PortfolioPosition]:
        """Open positions of ``user_id`` (price ``"0"``: the service revalues them)."""
        rows = await self._db.pool.fetch(SELECT_POSITIONS, user_id)
        today = utc_date(self._clock_ns())
        return [
            PortfolioPosition(
                symbol=r["symbol"],
                quantity=str(Fixed.from_raw(r["quantity_raw"])),
                price="0",
                asset_class=r["asset_class"] or "equity",
                sector=r["sector"] or self._reference_sector(r["symbol"], today),
                currency=r["currency"] or "USD",
            )
            for r in rows
        ]

    def _reference_sector(self, symbol: str, day: dt.date) -> str:
        listed = self._instruments.get(symbol, day)
        return "" if listed is None or listed.sector == UNCLASSIFIED else listed.sector.lower()

    async def holders(self, symbols: Sequence[str]) -> set[str]:
        """Users with an open position in any of ``symbols``."""
        rows = await self._db.pool.fetch(SELECT_HOLDERS, list(symbols))
        return {r["user_id"] for r in rows}


class PriceStore:
    """``prices``, ``latest_prices`` and ``instruments``; a database-backed PriceSource.

    The latest price (the mark) of a symbol is the newest, by event time, of its last trade
    (``trades.executed``) and its latest quote mid (``marketdata.quotes``); before either, its
    last close.
    Close histories are kept in memory per symbol and reloaded only when the symbol's version
    in ``price_versions`` moved (one small query per read), so every instance sees every
    correction while a read does not ship years of closes out of PostgreSQL each time.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._histories: dict[str, SymbolHistory] = {}

    async def load_closes(self, closes: Sequence[Close]) -> set[str]:
        """Insert or correct daily closes; returns the symbols whose history changed."""
        if not closes:
            return set()
        async with self._db.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                UPSERT_CLOSES,
                [c.symbol for c in closes],
                [c.date for c in closes],
                [c.close.raw for c in closes],
            )
            changed = {r["symbol"] for r in rows}
            if changed:
                await conn.execute(BUMP_VERSIONS, sorted(changed))
        return changed

    async def update_latest(self, mids: dict[str, tuple[int, int]]) -> set[str]:
        """Record ``{symbol: (price_raw, ts_event)}`` marks (quote mids or last trades);
        returns the symbols whose mark was replaced.

        Only a newer event (by event time) than the one stored replaces it, so a late quote
        never moves a price back and ``ts_event`` always advances.
        """
        if not mids:
            return set()
        symbols = sorted(mids)
        rows = await self._db.pool.fetch(
            UPSERT_LATEST,
            symbols,
            [mids[s][0] for s in symbols],
            [mids[s][1] for s in symbols],
        )
        return {r["symbol"] for r in rows}

    async def latest_mids(self, symbols: Sequence[str]) -> dict[str, Fixed]:
        """The mark (newest last trade or quote mid) of each of ``symbols`` that has one."""
        rows = await self._db.pool.fetch(SELECT_MIDS, list(dict.fromkeys(symbols)))
        return {r["symbol"]: Fixed.from_raw(r["price_raw"]) for r in rows}

    async def upsert_instruments(self, instruments: Sequence[Instrument]) -> None:
        """Set the classification of symbols."""
        await self._db.pool.executemany(
            UPSERT_INSTRUMENT,
            [(i.symbol, i.asset_class.lower(), i.sector.lower(), i.currency) for i in instruments],
        )

    async def _histories_of(self, symbols: list[str]) -> dict[str, SymbolHistory]:
        versions = {
            r["symbol"]: r["version"] for r in await self._db.pool.fetch(SELECT_VERSIONS, symbols)
        }
        unknown = [s for s in symbols if s not in versions]
        if unknown:
            raise NotFoundError(f"no price history for {', '.join(unknown)}")
        stale = [
            s
            for s in symbols
            if s not in self._histories or self._histories[s].version != versions[s]
        ]
        if stale:
            rows = await self._db.pool.fetch(SELECT_HISTORY, stale)
            by_symbol: dict[str, tuple[list[int], list[int]]] = {s: ([], []) for s in stale}
            for r in rows:
                ordinals, closes = by_symbol[r["symbol"]]
                ordinals.append(r["trade_date"].toordinal())
                closes.append(r["close_raw"])
            for symbol, (ordinals, closes) in by_symbol.items():
                self._histories[symbol] = SymbolHistory(
                    versions[symbol],
                    np.array(ordinals, dtype=np.int64),
                    np.array(closes, dtype=np.int64),
                )
        return {s: self._histories[s] for s in symbols}

    async def price_history(
        self, symbols: Sequence[str], start: dt.date, end: dt.date
    ) -> PriceHistory:
        """Daily closes of ``symbols`` in ``[start, end]``; 404 for a symbol never priced."""
        histories = await self._histories_of(list(dict.fromkeys(symbols)))
        lo, hi = start.toordinal(), end.toordinal()
        windows = []
        for symbol in symbols:
            h = histories[symbol]
            a, b = np.searchsorted(h.ordinals, [lo, hi + 1])
            windows.append((h.ordinals[a:b], h.closes[a:b]))
        calendar: npt.NDArray[np.int64] = (
            np.unique(np.concatenate([w[0] for w in windows]))
            if windows
            else np.zeros(0, dtype=np.int64)
        )
        raw = np.full((len(calendar), len(symbols)), MISSING_PRICE_RAW, dtype=np.int64)
        for j, (ordinals, closes) in enumerate(windows):
            raw[np.searchsorted(calendar, ordinals), j] = closes
        dates = tuple(_date_of(int(d)) for d in calendar.tolist())
        return PriceHistory(tuple(symbols), dates, raw)

    async def latest_prices(self, symbols: Sequence[str]) -> dict[str, Fixed]:
        """The latest price of each symbol; 404 naming the symbols that have none."""
        rows = await self._db.pool.fetch(SELECT_LATEST, list(dict.fromkeys(symbols)))
        out = {r["symbol"]: Fixed.from_raw(r["price_raw"]) for r in rows if r["price_raw"]}
        missing = [s for s in symbols if s not in out]
        if missing:
            raise NotFoundError(f"no price for {', '.join(missing)}")
        return out
