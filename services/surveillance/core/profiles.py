"""Trading profiles per user and per user-symbol, in UTC-day buckets of event time.

Each bucket counts orders, cancels, executions, aggressive orders and traded quantity, and keeps
bounded samples of order sizes and lifetimes. A profile sums the buckets of the lookback; its
anomaly scores are robust z-scores (median / MAD) of the latest day's cancel ratio and
order-to-trade ratio against the user's own earlier days and against every user's same day.
Buckets older than ``retention_days`` before the latest event are dropped (bounded memory).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

from services.surveillance.core.book import OrderState
from services.surveillance.core.normalise import Ev
from services.surveillance.core.types import TradingProfile

DAY_NS: Final = 86_400 * 1_000_000_000
SAMPLE: Final = 256
SCALE: Final = 1e9


class DayBucket:
    """One user's (or user-symbol's) activity on one UTC day."""

    __slots__ = ("aggressive", "cancels", "executions", "lifetimes", "orders", "sizes", "traded")

    def __init__(self) -> None:
        self.orders = 0
        self.cancels = 0
        self.executions = 0
        self.aggressive = 0
        self.traded = 0
        self.sizes: deque[int] = deque(maxlen=SAMPLE)
        self.lifetimes: deque[int] = deque(maxlen=SAMPLE)


def _median(values: list[float]) -> float:
    if not values:
        return 0.0
    data = sorted(values)
    n = len(data)
    return data[n // 2] if n % 2 else (data[n // 2 - 1] + data[n // 2]) / 2


def robust_z(value: float, population: list[float]) -> float:
    """(value - median) / (1.4826 * MAD) of ``population``; 0.0 with fewer than 3 values."""
    if len(population) < 3:
        return 0.0
    med = _median(population)
    mad = _median([abs(x - med) for x in population]) * 1.4826
    if mad <= 1e-12:
        return 0.0 if abs(value - med) <= 1e-12 else math.copysign(10.0, value - med)
    return (value - med) / mad


def _otr(b: DayBucket) -> float:
    return b.orders / b.executions if b.executions else float(b.orders)


def _cancel_ratio(b: DayBucket) -> float:
    return b.cancels / b.orders if b.orders else 0.0


class ProfileBook:
    """Profiles of every user seen, fed by the engine."""

    def __init__(self, retention_days: int = 90) -> None:
        self.retention_days = retention_days
        self._user: dict[tuple[str, int], DayBucket] = {}
        self._user_symbol: dict[tuple[str, str, int], DayBucket] = {}
        self._symbol_volume: dict[tuple[str, int], int] = {}
        self._latest_day = 0

    def _buckets(self, user: str, symbol: str, ts: int) -> tuple[DayBucket, DayBucket]:
        day = ts // DAY_NS
        if day > self._latest_day:
            self._latest_day = day
        b = self._user.get((user, day))
        if b is None:
            b = self._user[(user, day)] = DayBucket()
        s = self._user_symbol.get((user, symbol, day))
        if s is None:
            s = self._user_symbol[(user, symbol, day)] = DayBucket()
        return b, s

    def on_new(self, ev: Ev, order: OrderState) -> None:
        """Count a new order."""
        for b in self._buckets(ev.user_id, ev.symbol, ev.ts):
            b.orders += 1
            b.sizes.append(order.quantity)
            if order.aggressive:
                b.aggressive += 1

    def on_cancel(self, ev: Ev, order: OrderState) -> None:
        """Count a cancel (an IOC or market remainder does not count as a cancel)."""
        if order.aggressive and order.order_type != 0:
            return
        for b in self._buckets(order.user_id, ev.symbol, ev.ts):
            b.cancels += 1
            b.lifetimes.append(ev.ts - order.ts_new)

    def on_trade(self, ev: Ev, buy: OrderState | None, sell: OrderState | None) -> None:
        """Count one execution for each side's user."""
        day = ev.ts // DAY_NS
        key = (ev.symbol, day)
        self._symbol_volume[key] = self._symbol_volume.get(key, 0) + ev.quantity
        for user, order in ((ev.buy_user, buy), (ev.sell_user, sell)):
            for b in self._buckets(user, ev.symbol, ev.ts):
                b.executions += 1
                b.traded += ev.quantity
                if order is not None and order.remaining <= 0:
                    b.lifetimes.append(ev.ts - order.ts_new)

    def trim(self, now_ns: int) -> None:
        """Drop buckets older than the retention."""
        oldest = now_ns // DAY_NS - self.retention_days
        for k1 in [k for k in self._user if k[-1] < oldest]:
            del self._user[k1]
        for k2 in [k for k in self._user_symbol if k[-1] < oldest]:
            del self._user_symbol[k2]
        for k3 in [k for k in self._symbol_volume if k[-1] < oldest]:
            del self._symbol_volume[k3]

    def symbols_of(self, user: str, lookback_days: int) -> list[str]:
        """Symbols the user was active in during the lookback."""
        first = self._latest_day - max(1, lookback_days) + 1
        return sorted({s for (u, s, d) in self._user_symbol if u == user and d >= first})

    def profile(self, user: str, symbol: str | None, lookback_days: int) -> TradingProfile:
        """The user's profile over the ``lookback_days`` days ending at the latest event."""
        days = max(1, lookback_days)
        first = self._latest_day - days + 1
        if symbol is None:
            mine = {d: b for (u, d), b in self._user.items() if u == user and d >= first}
        else:
            mine = {
                d: b
                for (u, s, d), b in self._user_symbol.items()
                if u == user and s == symbol and d >= first
            }
        orders = sum(b.orders for b in mine.values())
        cancels = sum(b.cancels for b in mine.values())
        execs = sum(b.executions for b in mine.values())
        aggressive = sum(b.aggressive for b in mine.values())
        traded = sum(b.traded for b in mine.values())
        sizes = sorted(x for b in mine.values() for x in b.sizes)
        lifetimes = [float(x) for b in mine.values() for x in b.lifetimes]
        if symbol is None:
            volume = sum(
                v
                for (s, d), v in self._symbol_volume.items()
                if d >= first and s in set(self.symbols_of(user, days))
            )
        else:
            volume = sum(
                v for (s, d), v in self._symbol_volume.items() if s == symbol and d >= first
            )
        anomaly_self = anomaly_peers = 0.0
        if mine:
            latest = mine[max(mine)]
            earlier = [b for d, b in mine.items() if d != max(mine)]
            anomaly_self = max(
                abs(robust_z(_cancel_ratio(latest), [_cancel_ratio(b) for b in earlier])),
                abs(robust_z(_otr(latest), [_otr(b) for b in earlier])),
            )
            peers = [b for (u, d), b in self._user.items() if d == max(mine)]
            anomaly_peers = max(
                abs(robust_z(_cancel_ratio(latest), [_cancel_ratio(b) for b in peers])),
                abs(robust_z(_otr(latest), [_otr(b) for b in peers])),
            )
        return TradingProfile(
            user_id=user,
            symbol=symbol,
            lookback_days=days,
            orders=orders,
            cancels=cancels,
            executions=execs,
            traded_quantity=traded / SCALE,
            order_to_trade=orders / execs if execs else math.inf if orders else 0.0,
            cancel_ratio=cancels / orders if orders else 0.0,
            median_lifetime_ms=_median(lifetimes) / 1e6,
            size_median=_median([float(x) for x in sizes]) / SCALE,
            size_p90=(sizes[min(len(sizes) - 1, int(0.9 * len(sizes)))] / SCALE) if sizes else 0.0,
            size_max=(sizes[-1] / SCALE) if sizes else 0.0,
            aggressiveness=aggressive / orders if orders else 0.0,
            participation=min(1.0, (traded / volume)) if volume else 0.0,
            anomaly_self=round(anomaly_self, 4),
            anomaly_peers=round(anomaly_peers, 4),
            days=len(mine),
        )
