"""Shared per-symbol and per-user state every detector reads, computed once per event.

* :class:`SymbolState`: the reconstructed book, the tick size inferred from observed prices
  (the greatest common divisor of the prices seen), the typical spacing of the displayed price
  levels (a sub-dollar symbol on a 0.0001 tick is often quoted several ticks apart), the
  symbol's typical order size (median of a bounded window of recent orders) and its recent
  trades.
* :class:`UserSizes`: each user's recent order sizes, for "large against the user's own
  typical size".

Everything is bounded: windows are fixed-size rings, the trade tape is trimmed by event time.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from typing import Any, Final

from services.surveillance.core.book import Book
from services.surveillance.core.stats import DecayedRates

SIZE_WINDOW: Final = 1024
SIZE_REFRESH: Final = 256
USER_SIZE_WINDOW: Final = 256
USER_REFRESH: Final = 32
#: Time constant of the per-owner activity rates (executions, orders, cancels).
ACTIVITY_TAU_S: Final = 120.0
#: Time constant of each owner's recent aggressive quantity (a position just built).
AGGRESSIVE_TAU_S: Final = 10.0
#: Level spacing: sampled every this many new orders, over the best this many levels per side.
LEVEL_SAMPLE_EVERY: Final = 32
LEVEL_SAMPLE_DEPTH: Final = 5
LEVEL_GAP_WINDOW: Final = 256
#: Every owner is assumed to act at least this often (a floor on the activity rates).
RATE_FLOOR_PER_S: Final = 1.0 / 300.0


class RollingMedian:
    """Median of the last ``window`` values, recomputed every ``refresh`` additions."""

    __slots__ = ("_dirty", "_median", "_refresh", "_ring", "_sorted", "count")

    def __init__(self, window: int, refresh: int) -> None:
        self._ring: deque[int] = deque(maxlen=window)
        self._refresh = refresh
        self._dirty = 0
        self._median = 0.0
        self._sorted: list[int] = []
        self.count = 0

    def add(self, value: int) -> None:
        """Record one value."""
        self._ring.append(value)
        self.count += 1
        self._dirty += 1

    @property
    def median(self) -> float:
        """The (cached) median; 0.0 before any value."""
        if self._dirty and (self._dirty >= self._refresh or self.count < 2 * self._dirty + 16):
            data = self._sorted = sorted(self._ring)
            n = len(data)
            self._median = float(data[n // 2]) if n % 2 else (data[n // 2 - 1] + data[n // 2]) / 2
            self._dirty = 0
        return self._median

    def sorted_window(self) -> list[int]:
        """The window sorted (the snapshot of the last median refresh)."""
        _ = self.median
        return self._sorted

    def quantile(self, q: float) -> float:
        """The ``q`` quantile of the window (not cached)."""
        if not self._ring:
            return 0.0
        data = sorted(self._ring)
        return float(data[min(len(data) - 1, int(q * len(data)))])


class SymbolState:
    """Everything detectors share about one symbol."""

    __slots__ = (
        "_typical_exec",
        "_typical_order",
        "aggressive_flow",
        "book",
        "cancel_rate",
        "detector_state",
        "events",
        "exec_rate",
        "last_trade_price",
        "last_ts",
        "level_gaps",
        "order_rate",
        "sizes",
        "symbol",
        "tick",
        "trade_sizes",
        "trades",
    )

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.book = Book()
        self.tick = 0
        #: gaps (raw) between adjacent displayed levels near the touch, sampled
        self.level_gaps = RollingMedian(LEVEL_GAP_WINDOW, 16)
        self.sizes = RollingMedian(SIZE_WINDOW, SIZE_REFRESH)
        self.trade_sizes = RollingMedian(SIZE_WINDOW, SIZE_REFRESH)
        self.last_trade_price = 0
        self.last_ts = 0
        self.events = 0
        self.trades: deque[tuple[int, int, int, int, str]] = deque(maxlen=4096)
        self.detector_state: dict[str, Any] = {}
        #: per owner: executions; per (owner, side): new orders; per owner: cancels
        self.exec_rate = DecayedRates(ACTIVITY_TAU_S)
        self.order_rate = DecayedRates(ACTIVITY_TAU_S)
        self.cancel_rate = DecayedRates(ACTIVITY_TAU_S)
        self._typical_exec = -1.0
        #: per (owner, side): decayed quantity the owner recently took as the aggressor
        self.aggressive_flow = DecayedRates(AGGRESSIVE_TAU_S)
        self._typical_order = -1.0

    def observe_price(self, price: int) -> None:
        """Refine the tick size: the gcd of every positive price seen."""
        if price > 0:
            self.tick = math.gcd(self.tick, price) if self.tick else price

    def ticks(self, distance: int) -> float:
        """A raw price distance in price units (:attr:`level_unit`; 0.0 before any tick is
        known)."""
        unit = self.level_unit
        return distance / unit if unit else 0.0

    def sample_levels(self) -> None:
        """Every ``LEVEL_SAMPLE_EVERY`` calls (new orders), record the gaps between adjacent
        displayed levels among the best few of each side."""
        if self.sizes.count % LEVEL_SAMPLE_EVERY:
            return
        for levels, top in (
            (self.book.bid_levels, heapq.nlargest),
            (self.book.ask_levels, heapq.nsmallest),
        ):
            if len(levels) < 2:
                continue
            prices = top(LEVEL_SAMPLE_DEPTH, levels)
            for a, b in itertools.pairwise(prices):
                self.level_gaps.add(abs(a - b))

    @property
    def level_unit(self) -> int:
        """The unit price distances are judged in: the tick, or the typical spacing of the
        displayed levels when the book is quoted coarser than its tick (0 before any price)."""
        if not self.tick:
            return 0
        if self.level_gaps.count < 16:
            return self.tick
        gap = int(self.level_gaps.median)
        return max(self.tick, gap - gap % self.tick)

    @property
    def median_size(self) -> float:
        """Median order size of the symbol's recent orders (raw); 0.0 before any."""
        return self.sizes.median

    def typical_exec_rate(self, ts: int) -> float:
        """Executions per second of the median active owner of this symbol: the prior every
        owner's own rate is floored at, so a newcomer is judged as a typical participant."""
        if self._typical_exec < 0:
            owners = max(1, len(self.exec_rate) - 1)
            return max(RATE_FLOOR_PER_S, 2.0 * self.exec_rate.rate("*", ts) / owners)
        return self._typical_exec

    def typical_order_rate(self, ts: int) -> float:
        """New orders per second and side of the median active owner of this symbol."""
        if self._typical_order < 0:
            keys = max(1, len(self.order_rate) - 1)
            return max(RATE_FLOOR_PER_S, self.order_rate.rate("*", ts) / keys)
        return self._typical_order

    def refresh_typical(self, ts: int) -> None:
        """Recompute the median owner rates (called every few hundred events)."""
        self._typical_exec = max(RATE_FLOOR_PER_S, self.exec_rate.median_rate(ts))
        self._typical_order = max(RATE_FLOOR_PER_S, self.order_rate.median_rate(ts))

    def trim(self, now_ns: int) -> None:
        """Drop idle activity keys and refresh the typical rates."""
        self.refresh_typical(now_ns)
        self.exec_rate.trim(now_ns)
        self.aggressive_flow.trim(now_ns)
        self.order_rate.trim(now_ns)
        self.cancel_rate.trim(now_ns)


class UserSizes:
    """Recent order sizes per user (bounded per user)."""

    __slots__ = ("_users",)

    def __init__(self) -> None:
        self._users: dict[str, RollingMedian] = {}

    def add(self, user_id: str, size: int) -> None:
        """Record one order of ``user_id``."""
        r = self._users.get(user_id)
        if r is None:
            r = self._users[user_id] = RollingMedian(USER_SIZE_WINDOW, USER_REFRESH)
        r.add(size)

    def median(self, user_id: str) -> tuple[float, int]:
        """(median size, number of orders seen) of ``user_id``; (0.0, 0) if unknown."""
        r = self._users.get(user_id)
        return (r.median, r.count) if r is not None else (0.0, 0)

    def window(self, user_id: str) -> RollingMedian | None:
        """The user's size window, if any."""
        return self._users.get(user_id)
