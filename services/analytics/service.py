"""The analytics service's use cases around the pure core: events in, cache and pushes out.

:class:`AnalyticsService` owns the core :class:`PortfolioAnalyticsService` and the adapters
around it. Trades move positions (stored idempotently), quotes move latest prices, the loader
corrects history; after each of these is durable the affected users' cached results are
dropped (one Redis version bump per user) and the listeners (the WebSocket hub) are told whose
metrics moved. It also runs the VaR backtest, which the core leaves to composition.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec
import numpy as np
import numpy.typing as npt

from nexus.errors import ValidationError
from nexus.events import QuoteDepth, QuoteL1, Trade
from services.analytics.core import (
    BacktestResult,
    PortfolioAnalyticsService,
    PortfolioPosition,
    PriceSource,
    ResultCache,
)
from services.analytics.core.backtest import (
    backtest_series,
    basel_zone,
    rolling_historical_var,
    var_backtest,
)
from services.analytics.core.validation import check_confidence
from services.analytics.store import Close, Instrument, PositionStore, PriceStore

log = logging.getLogger(__name__)

Listener = Callable[[set[str]], None]


class ServiceCache(ResultCache, Protocol):
    """A result cache that also drops every cached result of given users."""

    async def invalidate_users(self, user_ids: set[str]) -> None: ...


def quote_mid(quote: QuoteL1 | QuoteDepth) -> int | None:
    """Raw mid of a two-sided quote, half-even to 1e-9; ``None`` if a side is empty."""
    if isinstance(quote, QuoteL1):
        bid, ask = quote.bid_price, quote.ask_price
    else:
        bid = quote.bids[0].price if quote.bids else 0
        ask = quote.asks[0].price if quote.asks else 0
    if not bid or not ask:
        return None
    mid, odd = divmod(bid + ask, 2)
    return mid + 1 if odd and mid % 2 else mid


def fingerprint(positions: Sequence[PortfolioPosition]) -> str:
    """Short hash of holdings and prices (cache keys change when either does)."""
    text = "|".join(f"{p.symbol}:{p.quantity}:{p.price}" for p in positions)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class AnalyticsService:
    """Applies events, keeps caches honest and notifies listeners; serves the backtest."""

    def __init__(
        self,
        core: PortfolioAnalyticsService,
        positions: PositionStore,
        price_store: PriceStore,
        prices: PriceSource,
        cache: ServiceCache | None = None,
        *,
        clock: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.core = core
        self.positions = positions
        self.price_store = price_store
        self.prices = prices
        self.results = cache
        self._clock = clock
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(user_ids)`` whenever those users' metrics may have moved."""
        self._listeners.append(listener)

    async def _moved(self, user_ids: set[str]) -> None:
        if not user_ids:
            return
        if self.results is not None:
            await self.results.invalidate_users(user_ids)
        for listener in self._listeners:
            listener(user_ids)

    async def on_trades(self, trades: Sequence[Trade]) -> set[str]:
        """Apply trades (idempotently), then drop the traders' cached results and notify.

        Returns the users whose positions moved (a redelivered trade moves nobody).
        """
        users = await self.positions.apply_trades(trades)
        # A trade is the freshest price there is: it marks its symbol (newest by event time).
        marks: dict[str, tuple[int, int]] = {}
        for trade in trades:
            held = marks.get(trade.symbol)
            if held is None or held[1] <= trade.ts_event:
                marks[trade.symbol] = (trade.price, trade.ts_event)
        await self.price_store.update_latest(marks)
        # Every participant, not only the new fills', and every holder of every traded symbol
        # (not only those whose mark moved): if a previous attempt of this batch stored the
        # effects but failed to invalidate, its redelivery must still invalidate.
        participants = {u for t in trades for u in (t.buyer_user_id, t.seller_user_id)}
        holders = await self.positions.holders(sorted(marks))
        await self._moved(users | participants | holders)
        return users

    async def on_quotes(self, quotes: Sequence[QuoteL1 | QuoteDepth]) -> set[str]:
        """Move marks to the quotes' mids (where newer); returns the symbols whose mark moved.

        Every holder of every quoted symbol is invalidated, not only those whose mark moved, so
        a redelivered batch after a failed invalidation leaves no stale result behind.
        """
        mids: dict[str, tuple[int, int]] = {}
        for quote in quotes:
            mid = quote_mid(quote)
            if mid is None:
                continue
            held = mids.get(quote.symbol)
            if held is None or held[1] <= quote.ts_event:
                mids[quote.symbol] = (mid, quote.ts_event)
        moved = await self.price_store.update_latest(mids)
        await self._prices_moved(set(mids))
        return moved

    async def load_closes(
        self, closes: Sequence[Close], instruments: Sequence[Instrument] = ()
    ) -> set[str]:
        """The loader: store closes (and classifications); returns the symbols that changed."""
        if instruments:
            await self.price_store.upsert_instruments(instruments)
        changed = await self.price_store.load_closes(closes)
        changed |= {i.symbol for i in instruments}
        # every symbol sent, so a load retried after a failed invalidation still invalidates
        await self._prices_moved(changed | {c.symbol for c in closes})
        return changed

    async def _prices_moved(self, symbols: set[str]) -> None:
        if symbols:
            await self._moved(await self.positions.holders(sorted(symbols)))

    async def var_backtest(
        self,
        user_id: str,
        confidence: float,
        window: int,
        lookback_days: int,
        *,
        series: bool = False,
    ) -> BacktestResult:
        """Kupiec/Christoffersen tests of rolling 1-day historical VaR on today's holdings.

        The P&L history is that of the current holdings over ``lookback_days`` (constant
        holdings); each day's forecast uses only the ``window`` days before it. The result
        carries the Basel traffic light (:func:`backtest.basel_zone`) and, with ``series``,
        every tested day (date, P&L, VaR, exception) in money strings rounded as configured.
        """
        check_confidence(confidence, "confidence")
        positions = await self.core.get_positions(user_id)
        if not positions:
            raise ValidationError("the portfolio has no positions", "user_id")
        key = (
            f"{user_id}:backtest:{fingerprint(positions)}:{confidence}:{window}:{lookback_days}"
            f":{'series' if series else 'stats'}"
        )

        async def compute() -> BacktestResult:
            end = self._clock()
            start = end - dt.timedelta(days=lookback_days)
            history = await self.prices.price_history([p.symbol for p in positions], start, end)
            all_returns = history.returns()
            keep: npt.NDArray[np.bool_] = np.logical_not(np.isnan(all_returns).any(axis=1))
            returns = np.ascontiguousarray(all_returns[keep])
            days = [d for d, kept in zip(history.dates[1:], keep.tolist(), strict=True) if kept]
            if window + 2 > returns.shape[0]:
                raise ValidationError(
                    f"window needs at least {window + 2} days of common returns, "
                    f"the look-back has {returns.shape[0]}",
                    "window",
                )
            exposures = np.array([p.market_value.as_float() for p in positions])
            pnl = returns @ exposures
            forecasts = rolling_historical_var(pnl, window, confidence)
            tested = pnl[window:]
            result = var_backtest(forecasts, tested, confidence)
            zone = basel_zone(-tested > forecasts, confidence)
            places, rounding = self.core.config.money_places, self.core.config.rounding
            return msgspec.structs.replace(
                result,
                basel_zone=zone.zone,
                basel_exceptions=zone.exceptions,
                basel_observations=zone.observations,
                basel_rule=zone.rule,
                series=(
                    backtest_series(days[window:], forecasts, tested, places, rounding)
                    if series
                    else None
                ),
                rounding=f"{rounding.name} to {places} decimal places",
            )

        if self.results is None:
            return await compute()
        return await self.results.get_or_compute(key, compute)
