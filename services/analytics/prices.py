"""Prices from the market data service over HTTP: a PriceSource on the chassis client.

Every call goes through :class:`nexus.clients.ServiceClient` (deadline, jittered retries of
idempotent GETs, circuit breaker). History answers may be kept briefly in Redis
(:class:`nexus.cache.Cache`, namespace ``analytics:md``) so a burst of reads costs one call.

The market data routes used (``services/marketdata/api.py``; decimal strings at the boundary,
unknown symbols answer 404 problem+json)::

    GET /prices?symbols=AAPL,MSFT&start=2024-01-02&end=2024-12-31
      -> {"start", "end", "count", "missing_days",
          "series": [{"symbol": "AAPL", "dates": [...], "closes": ["185.64", ...]}, ...]}
    GET /prices/latest?symbols=AAPL,MSFT
      -> [{"symbol": "AAPL", "date": "2024-12-31", "close": "250.42", "mark": "251.10", ...}]

A symbol's series lists only its trading days; the history's calendar is the union of the
series' dates and a day a symbol lacks is a missing close (the core's missing-data policy
applies). Errors map onto the domain: 404 -> :class:`~nexus.errors.NotFoundError`, other
4xx -> :class:`~nexus.errors.ValidationError` (``field="symbols"``); an unreachable service or
an open breaker raises :class:`~nexus.clients.ServiceUnavailable` (served as 503).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

import msgspec
import numpy as np

from nexus.cache import Cache
from nexus.clients import ClientError, ServiceClient
from nexus.errors import NotFoundError, ValidationError
from nexus.money import Fixed
from services.analytics.core import PriceHistory
from services.analytics.core.sources import MISSING_PRICE_RAW

HISTORY_PATH = "/prices"
LATEST_PATH = "/prices/latest"
CACHE_NAMESPACE = "analytics:md"


class SeriesAnswer(msgspec.Struct, kw_only=True):
    """One symbol's closes: ``closes[k]`` is the close on ``dates[k]``."""

    symbol: str
    dates: list[dt.date]
    closes: list[str]


class HistoryAnswer(msgspec.Struct, kw_only=True):
    """``GET /prices`` (fields the analytics service does not use are ignored)."""

    series: list[SeriesAnswer]


class LatestAnswer(msgspec.Struct, kw_only=True):
    """One element of ``GET /prices/latest``."""

    symbol: str
    close: str
    mark: str | None = None


def _domain_error(exc: ClientError) -> Exception:
    detail = str((exc.problem or {}).get("detail") or exc)
    if exc.status == 404:
        return NotFoundError(detail)
    return ValidationError(detail, "symbols")


class HttpPriceSource:
    """A :class:`~services.analytics.core.PriceSource` over the market data REST API."""

    def __init__(
        self, client: ServiceClient, cache: Cache | None = None, *, ttl_seconds: float = 30.0
    ) -> None:
        self._client = client
        self._cache = cache
        self._ttl = ttl_seconds

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self._client.aclose()

    async def _history(self, symbols: list[str], start: dt.date, end: dt.date) -> HistoryAnswer:
        params = {"symbols": ",".join(symbols), "start": start.isoformat(), "end": end.isoformat()}
        try:
            return await self._client.get_json(HISTORY_PATH, HistoryAnswer, params=params)
        except ClientError as exc:
            raise _domain_error(exc) from exc

    async def price_history(
        self, symbols: Sequence[str], start: dt.date, end: dt.date
    ) -> PriceHistory:
        wanted = list(dict.fromkeys(symbols))
        if self._cache is None:
            answer = await self._history(wanted, start, end)
        else:
            key = f"{','.join(wanted)}:{start.isoformat()}:{end.isoformat()}"
            answer = await self._cache.get_or_compute(
                CACHE_NAMESPACE,
                key,
                lambda: self._history(wanted, start, end),
                self._ttl,
                type_=HistoryAnswer,
            )
        series = {s.symbol: s for s in answer.series}
        missing = [s for s in wanted if s not in series]
        if missing:
            raise NotFoundError(f"no price history for {', '.join(missing)}")
        for s in series.values():
            if len(s.dates) != len(s.closes):
                raise ValidationError(f"ragged series for {s.symbol}", "closes")
        dates = sorted({d for s in wanted for d in series[s].dates if start <= d <= end})
        row = {d: i for i, d in enumerate(dates)}
        raw = np.full((len(dates), len(symbols)), MISSING_PRICE_RAW, dtype=np.int64)
        for j, symbol in enumerate(symbols):
            s = series[symbol]
            for d, close in zip(s.dates, s.closes, strict=True):
                if d in row:
                    raw[row[d], j] = Fixed.from_str(close).raw
        return PriceHistory(tuple(symbols), tuple(dates), raw)

    async def latest_prices(self, symbols: Sequence[str]) -> dict[str, Fixed]:
        wanted = list(dict.fromkeys(symbols))
        try:
            answers = await self._client.get_json(
                LATEST_PATH, list[LatestAnswer], params={"symbols": ",".join(wanted)}
            )
        except ClientError as exc:
            raise _domain_error(exc) from exc
        # market data's mark: the last sale on the venues when the symbol traded, else the close
        prices = {a.symbol: a.mark or a.close for a in answers}
        missing = [s for s in wanted if s not in prices]
        if missing:
            raise NotFoundError(f"no price for {', '.join(missing)}")
        return {s: Fixed.from_str(prices[s]) for s in wanted}

    async def invalidate(self) -> None:
        """Forget cached history answers (a correction arrived)."""
        if self._cache is not None:
            await self._cache.bump(CACHE_NAMESPACE)


class MidSource(Protocol):
    """Latest quote mids kept by the service (``PriceStore.latest_mids``)."""

    async def latest_mids(self, symbols: Sequence[str]) -> dict[str, Fixed]: ...


class QuotedPrices:
    """History from ``history``; latest prices from the local marks, else ``history``.

    Used with :class:`HttpPriceSource`: the market data service serves closes, while the
    marks this service keeps (the newest of the last trade on ``trades.executed`` and the quote
    mid on ``marketdata.quotes``) move the latest prices between closes.
    """

    def __init__(self, history: HttpPriceSource, mids: MidSource) -> None:
        self._history = history
        self._mids = mids

    async def price_history(
        self, symbols: Sequence[str], start: dt.date, end: dt.date
    ) -> PriceHistory:
        return await self._history.price_history(symbols, start, end)

    async def latest_prices(self, symbols: Sequence[str]) -> dict[str, Fixed]:
        latest = await self._mids.latest_mids(symbols)
        rest = [s for s in symbols if s not in latest]
        if rest:
            latest.update(await self._history.latest_prices(rest))
        return {s: latest[s] for s in symbols}
