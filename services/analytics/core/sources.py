"""Collaborator protocols of the analytics service and their in-memory implementations.

Adapters (HTTP market-data client, orders-service client, Redis cache) implement these
protocols outside the core; the in-memory versions serve unit tests and embedding.

Prices are exact: a :class:`PriceHistory` holds raw fixed-point closes (``value * 10**9``,
int64, see :mod:`nexus.money`); ``MISSING_PRICE_RAW`` (-1, never a valid price) marks a
missing close, so a close of exactly ``0`` (a holding that became worthless) is a real price:
its return is -100%, and a return *from* a zero close is undefined (NaN, treated as missing).
Returns derived from them are float64 statistics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from nexus.errors import NotFoundError, ValidationError
from nexus.money import Fixed

from .types import PortfolioPosition

T = TypeVar("T")
MISSING_PRICE_RAW = -1


@dataclass(frozen=True, slots=True)
class PriceHistory:
    """Daily closes: ``closes_raw[t, j]`` is the raw fixed-point close of ``symbols[j]`` on
    ``dates[t]`` (ascending dates; ``MISSING_PRICE_RAW`` where there is no close)."""

    symbols: tuple[str, ...]
    dates: tuple[dt.date, ...]
    closes_raw: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        shape = (len(self.dates), len(self.symbols))
        if self.closes_raw.shape != shape:
            raise ValidationError(f"closes_raw must have shape {shape}", "closes_raw")
        if any(b <= a for a, b in zip(self.dates, self.dates[1:], strict=False)):
            raise ValidationError("dates must be strictly increasing", "dates")
        if ((self.closes_raw < 0) & (self.closes_raw != MISSING_PRICE_RAW)).any():
            raise ValidationError("closes must be >= 0", "closes_raw")

    @property
    def present(self) -> npt.NDArray[np.bool_]:
        """``True`` where a close exists (a zero close is present)."""
        out: npt.NDArray[np.bool_] = self.closes_raw != MISSING_PRICE_RAW
        return out

    def returns(self) -> npt.NDArray[np.float64]:
        """Simple returns ``(T - 1, N)``; NaN where either close is missing or the previous
        close is zero (no return is defined from a worthless price)."""
        closes = self.closes_raw.astype(np.float64)
        closes[self.closes_raw == MISSING_PRICE_RAW] = np.nan
        before = closes[:-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            out: npt.NDArray[np.float64] = closes[1:] / before - 1.0
        out[before == 0.0] = np.nan
        return np.ascontiguousarray(out)

    def column(self, symbol: str) -> int:
        """Index of ``symbol``."""
        try:
            return self.symbols.index(symbol)
        except ValueError as exc:
            raise NotFoundError(f"no price history for {symbol}") from exc


class PositionSource(Protocol):
    """Current positions of a user."""

    async def positions(self, user_id: str) -> list[PortfolioPosition]:
        """Positions of ``user_id`` (empty list if none)."""
        ...


class PriceSource(Protocol):
    """Market data: daily close history and the latest prices."""

    async def price_history(
        self, symbols: Sequence[str], start: dt.date, end: dt.date
    ) -> PriceHistory:
        """Daily closes of ``symbols`` for ``start <= date <= end``."""
        ...

    async def latest_prices(self, symbols: Sequence[str]) -> dict[str, Fixed]:
        """The latest price of each symbol."""
        ...


class ResultCache(Protocol):
    """A cache of computed results keyed by strings (Redis in production)."""

    async def get_or_compute(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        """The cached value of ``key`` or the awaited result of ``compute`` (then cached)."""
        ...

    async def invalidate(self, prefix: str) -> int:
        """Drop every key starting with ``prefix``; returns how many were dropped."""
        ...


class InMemoryPositions:
    """A :class:`PositionSource` over a dict (user id -> positions)."""

    def __init__(self, positions: Mapping[str, list[PortfolioPosition]] | None = None) -> None:
        self._positions: dict[str, list[PortfolioPosition]] = dict(positions or {})

    def set_positions(self, user_id: str, positions: list[PortfolioPosition]) -> None:
        """Replace the positions of ``user_id``."""
        self._positions[user_id] = list(positions)

    async def positions(self, user_id: str) -> list[PortfolioPosition]:
        return list(self._positions.get(user_id, []))


class InMemoryPrices:
    """A :class:`PriceSource` over per-symbol ``{date: decimal close}`` tables."""

    def __init__(self, closes: Mapping[str, Mapping[dt.date, str]] | None = None) -> None:
        self._closes: dict[str, dict[dt.date, int]] = {}
        for symbol, table in (closes or {}).items():
            self.set_closes(symbol, table)

    def set_closes(self, symbol: str, table: Mapping[dt.date, str]) -> None:
        """Replace the close history of ``symbol`` (decimal strings)."""
        self._closes[symbol] = {d: Fixed.from_str(p).raw for d, p in table.items()}

    def add_close(self, symbol: str, date: dt.date, price: str) -> None:
        """Add or replace one close."""
        self._closes.setdefault(symbol, {})[date] = Fixed.from_str(price).raw

    def _table(self, symbol: str) -> dict[dt.date, int]:
        try:
            return self._closes[symbol]
        except KeyError as exc:
            raise NotFoundError(f"no price history for {symbol}") from exc

    async def price_history(
        self, symbols: Sequence[str], start: dt.date, end: dt.date
    ) -> PriceHistory:
        tables = [self._table(s) for s in symbols]
        days = sorted({d for table in tables for d in table if start <= d <= end})
        columns = [[table.get(day, MISSING_PRICE_RAW) for day in days] for table in tables]
        raw = np.array(columns, dtype=np.int64).reshape(len(symbols), len(days)).T
        return PriceHistory(tuple(symbols), tuple(days), np.ascontiguousarray(raw))

    async def latest_prices(self, symbols: Sequence[str]) -> dict[str, Fixed]:
        out: dict[str, Fixed] = {}
        for symbol in symbols:
            table = self._table(symbol)
            if not table:
                raise NotFoundError(f"no price for {symbol}")
            out[symbol] = Fixed.from_raw(table[max(table)])
        return out


class InMemoryCache:
    """A :class:`ResultCache` in a dict (no expiry; invalidation by key prefix)."""

    def __init__(self) -> None:
        self._values: dict[str, object] = {}
        self.hits = 0
        self.misses = 0

    async def get_or_compute(self, key: str, compute: Callable[[], Awaitable[T]]) -> T:
        if key in self._values:
            self.hits += 1
            value: T = self._values[key]  # type: ignore[assignment]
            return value
        self.misses += 1
        result = await compute()
        self._values[key] = result
        return result

    async def invalidate(self, prefix: str) -> int:
        keys = [k for k in self._values if k.startswith(prefix)]
        for key in keys:
            del self._values[key]
        return len(keys)
