"""A tiny price-time matching market that writes audit-trail records, for detector tests.

Scenarios are scripted as actions at simulated times on top of a deterministic background
(passive orders from many small users around a mid, cancelled after a lifetime, and a few
marketable IOCs), so every test runs the detectors on a consistent book: trades happen only
when orders cross, IOC remainders are cancelled, amends re-queue.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MS = 1_000_000
S = 1_000_000_000
T0 = 1_767_623_400_000_000_000
TICK = Decimal("0.01")


@dataclass
class Order:
    oid: str
    user: str
    account: str
    side: str
    price: int  # ticks
    qty: int
    otype: str
    remaining: int
    ts: int


@dataclass
class Market:
    """One symbol's matching book writing audit dicts to ``events``."""

    symbol: str = "XYZ"
    #: Price of one tick (prices in the scripts are integers of ticks).
    tick: Decimal = TICK
    events: list[dict[str, Any]] = field(default_factory=list)
    orders: dict[str, Order] = field(default_factory=dict)
    _seq: int = 0
    _trade_seq: int = 0
    _actions: list[tuple[int, int, Callable[[int], None]]] = field(default_factory=list)

    # -- book ------------------------------------------------------------------------------
    def _resting(self, side: str) -> list[Order]:
        book = [o for o in self.orders.values() if o.side == side and o.otype == "LIMIT"]
        if side == "BUY":
            return sorted(book, key=lambda o: (-o.price, o.ts, o.oid))
        return sorted(book, key=lambda o: (o.price, o.ts, o.oid))

    def best(self, side: str) -> int:
        """Best resting price (ticks) of ``side``, 0 when empty."""
        r = self._resting(side)
        return r[0].price if r else 0

    def _px(self, ticks: int) -> str:
        return str(self.tick * ticks) if ticks else "0"

    def _order_line(self, kind: str, ts: int, o: Order, remaining: int) -> None:
        self.events.append(
            {
                "kind": kind,
                "ts_ns": ts,
                "order_id": o.oid,
                "user_id": o.user,
                "account_id": o.account,
                "symbol": self.symbol,
                "side": o.side,
                "order_type": o.otype,
                "price": self._px(o.price) if o.otype != "MARKET" else "0",
                "quantity": str(o.qty),
                "remaining": str(remaining),
            }
        )

    def submit(
        self,
        ts: int,
        user: str,
        side: str,
        price: int,
        qty: int,
        otype: str = "LIMIT",
        account: str | None = None,
        oid: str | None = None,
    ) -> str:
        """Send an order (price in ticks; 0 for MARKET); returns its id."""
        self._seq += 1
        oid = oid or f"O{self._seq}"
        o = Order(oid, user, account or f"{user}-A", side, price, qty, otype, qty, ts)
        self._order_line("order_new", ts, o, qty)
        self._match(ts, o)
        if o.remaining > 0:
            if otype == "LIMIT":
                self.orders[oid] = o
            else:
                self._order_line("order_cancel", ts, o, o.remaining)
        return oid

    def _match(self, ts: int, o: Order) -> None:
        opp = "SELL" if o.side == "BUY" else "BUY"
        for m in self._resting(opp):
            if o.remaining <= 0:
                break
            if o.otype != "MARKET" and (
                (o.side == "BUY" and m.price > o.price) or (o.side == "SELL" and m.price < o.price)
            ):
                break
            q = min(o.remaining, m.remaining)
            o.remaining -= q
            m.remaining -= q
            self._trade_seq += 1
            buy, sell = (o, m) if o.side == "BUY" else (m, o)
            self.events.append(
                {
                    "kind": "trade",
                    "ts_ns": ts,
                    "trade_id": f"T{self._trade_seq}",
                    "symbol": self.symbol,
                    "price": self._px(m.price),
                    "quantity": str(q),
                    "buy_order_id": buy.oid,
                    "sell_order_id": sell.oid,
                    "buy_user_id": buy.user,
                    "sell_user_id": sell.user,
                    "buy_account_id": buy.account,
                    "sell_account_id": sell.account,
                    "aggressor_side": o.side,
                }
            )
            if m.remaining == 0:
                del self.orders[m.oid]

    def cancel(self, ts: int, oid: str) -> None:
        """Cancel a resting order (a no-op when it is gone)."""
        o = self.orders.pop(oid, None)
        if o is not None:
            self._order_line("order_cancel", ts, o, o.remaining)

    def amend(self, ts: int, oid: str, price: int, remaining: int | None = None) -> None:
        """Move a resting order to ``price`` (and size); it loses priority."""
        o = self.orders.get(oid)
        if o is None:
            return
        left = o.remaining if remaining is None else remaining
        o.qty += left - o.remaining
        o.remaining = left
        o.price = price
        o.ts = ts
        self._order_line("order_amend", ts, o, left)
        del self.orders[oid]
        self._match(ts, o)
        if o.remaining > 0:
            self.orders[oid] = o

    # -- scheduling --------------------------------------------------------------------------
    def at(self, ts: int, action: Callable[[int], None]) -> None:
        """Run ``action(ts)`` at simulated time ``ts``."""
        self._seq += 1
        heapq.heappush(self._actions, (ts, self._seq, action))

    def run(self) -> list[dict[str, Any]]:
        """Run every scheduled action in time order; returns the audit records."""
        while self._actions:
            ts, _, action = heapq.heappop(self._actions)
            action(ts)
        return self.events


def background(
    m: Market,
    seconds: float = 60.0,
    mid: int = 10_000,
    rate: float = 40.0,
    users: int = 40,
    seed: int = 7,
    start: int = T0,
    ioc_fraction: float = 0.04,
    lot: int = 100,
    level_step: int = 1,
    life_scale: float = 1.0,
    drift_prob: float = 0.02,
) -> None:
    """Deterministic background flow: many small users quote 1-5 levels (``level_step`` ticks
    each) behind a mid that moves a tick with ``drift_prob`` per order and cancel after ~``life_scale`` s; a few send small
    marketable IOCs. Sizes are 1-3 lots of ``lot``."""
    rng = random.Random(seed)
    t = start
    end = start + int(seconds * S)
    drift = 0
    while t < end:
        t += int(rng.expovariate(rate) * S) + 1
        if rng.random() < drift_prob:
            drift += rng.choice((-1, 1))
        user = f"BG{rng.randrange(users):03d}"
        side = rng.choice(("BUY", "SELL"))
        qty = lot * rng.choice((1, 1, 1, 2, 2, 3))
        if rng.random() < ioc_fraction:

            def take(ts: int, user: str = user, side: str = side, qty: int = qty) -> None:
                far = m.best("SELL" if side == "BUY" else "BUY")
                if far:
                    m.submit(ts, user, side, far, qty, "IOC")

            m.at(t, take)
            continue
        behind = (1 + min(4, int(rng.expovariate(0.8)))) * level_step
        life = int(rng.expovariate(1.0) * life_scale * S) + MS

        def place(
            ts: int,
            user: str = user,
            side: str = side,
            qty: int = qty,
            behind: int = behind,
            life: int = life,
            drift: int = drift,
        ) -> None:
            centre = mid + drift
            price = centre - behind if side == "BUY" else centre + behind
            oid = m.submit(ts, user, side, price, qty)
            m.at(ts + life, lambda t2, oid=oid: m.cancel(t2, oid))

        m.at(t, place)
