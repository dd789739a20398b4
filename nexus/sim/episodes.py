"""Injected manipulation episodes: spoofing, layering, wash trading, momentum ignition.

Each episode is a short script of steps at simulated times. A step reads the live book of its
symbol (best bid and ask, after every earlier action has been matched) and sends orders through
the same compiled book as the background flow, so its orders queue, fill and cancel for real.
Every order an episode sends is recorded with its role, for the ground-truth labels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from nexus.sim.config import EpisodeConfig, Range
from nexus.sim.layout import BUY, SELL, TIF_GTC, TIF_IOC

MS = 1_000_000
WASH_RETRY_NS = 25 * MS
WASH_MAX_RETRIES = 200

SPOOFING = "SPOOFING"
LAYERING = "LAYERING"
WASH_TRADING = "WASH_TRADING"
MOMENTUM_IGNITION = "MOMENTUM_IGNITION"
EPISODE_TYPES = (SPOOFING, LAYERING, WASH_TRADING, MOMENTUM_IGNITION)


class Market(Protocol):
    """What a step may do: read the book of its symbol and send orders (see engine)."""

    tick_raw: int
    lot_raw: int

    def top(self, ts: int) -> tuple[int, int]:
        """(best bid, best ask) raw; a side with no order is replaced by mid -/+ one tick."""
        ...

    def submit(
        self,
        ts: int,
        account: int,
        side: int,
        price: int,
        qty: int,
        tif: int,
        ep: Episode,
        role: str,
    ) -> int:
        """Send a limit order; returns its handle."""
        ...

    def cancel(self, ts: int, handle: int, ep: Episode) -> None:
        """Cancel an order (a no-op in the book if it is no longer resting)."""
        ...

    def open_quantity(self, handle: int) -> int:
        """Open quantity of a resting order (0 if it is not resting)."""
        ...

    def depth_at(self, side: int, price: int) -> int:
        """Displayed quantity at ``price`` on ``side``."""
        ...

    def at_front(self, handle: int) -> bool:
        """Is this resting order the oldest at the best level of its side?"""
        ...

    def schedule(self, ts: int, step: Callable[[int], None]) -> None:
        """Run ``step(ts)`` once every action before ``ts`` has been matched."""
        ...


@dataclass(slots=True)
class Episode:
    """One injected episode and what it sent (filled in as its steps run)."""

    episode_id: str
    kind: str
    symbol: int
    user: int
    accounts: list[int]
    users: list[int]
    start_ns: int
    rng: np.random.Generator
    config: EpisodeConfig
    handles: list[int] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    times: list[int] = field(default_factory=list)


def draw(rng: np.random.Generator, r: Range) -> float:
    """A uniform draw from ``r``."""
    return float(rng.uniform(r.low, r.high)) if r.high > r.low else float(r.low)


def draw_int(rng: np.random.Generator, r: Range) -> int:
    """A uniform integer draw from ``[round(low), round(high)]``."""
    return int(rng.integers(round(r.low), round(r.high) + 1))


def _ms(rng: np.random.Generator, r: Range) -> int:
    return max(1, int(draw(rng, r) * MS))


def spoofing_or_layering(ep: Episode, m: Market, median_lots: float) -> None:
    """Non-bona-fide size one tick (or more) behind the best on one side, a small genuine order
    on the other side, then the big orders cancelled within ``cancel_after_ms``."""
    rng, cfg = ep.rng, ep.config
    side = BUY if rng.random() < 0.5 else SELL
    sign = 1 if side == BUY else -1
    layers = 1 if ep.kind == SPOOFING else max(2, draw_int(rng, cfg.orders))
    total_lots = max(2, round(draw(rng, cfg.size_multiple) * median_lots))
    lots = max(1, total_lots // layers)
    account = ep.accounts[0]
    placed: list[int] = []

    def placed_best() -> int | None:
        if not prices_sent:
            return None
        return max(prices_sent) if side == BUY else min(prices_sent)

    prices_sent: list[int] = []

    def place(ts: int) -> None:
        bid, ask = m.top(ts)
        ref = bid if side == BUY else ask
        for k in range(layers):
            price = ref - sign * (k + 1) * m.tick_raw
            if price <= 0:
                break
            role = "spoof" if ep.kind == SPOOFING else "layer"
            qty = lots * m.lot_raw
            if cfg.depth_multiple is not None:
                level = m.depth_at(side, price)
                qty = max(qty, round(draw(rng, cfg.depth_multiple) * level / m.lot_raw) * m.lot_raw)
            placed.append(m.submit(ts, account, side, price, qty, TIF_GTC, ep, role))
            prices_sent.append(price)
        m.schedule(ts + _ms(rng, cfg.gap_ms), genuine)

    def genuine(ts: int) -> None:
        bid, ask = m.top(ts)
        # Sell into the supported bid (or buy from the depressed ask) with a small IOC order,
        # priced at the touch so it never reaches the manipulator's own orders behind it.
        touch = bid if side == BUY else ask
        own_best = placed_best()
        qty = int(rng.integers(1, 4)) * m.lot_raw
        if own_best is not None and sign * (touch - own_best) <= 0:
            # Our own orders are the touch: rest the genuine order on the far side instead.
            far = ask if side == BUY else bid
            placed.append(m.submit(ts, account, 1 - side, far, qty, TIF_GTC, ep, "genuine"))
        else:
            m.submit(ts, account, 1 - side, touch, qty, TIF_IOC, ep, "genuine")
        m.schedule(ts + _ms(rng, cfg.cancel_after_ms), cancel_all)

    def cancel_all(ts: int) -> None:
        for handle in placed:
            m.cancel(ts, handle, ep)
            ts += int(rng.integers(100_000, 2 * MS))

    m.schedule(ep.start_ns, place)


def wash_trading(ep: Episode, m: Market) -> None:
    """Pairs of crossing orders between two accounts of one beneficial owner that trade with
    each other and nobody else.

    With a price free inside the spread both orders go there at once. With a one-tick spread
    (the usual case in a liquid book) the seller joins the best ask and the buyer lifts exactly
    the seller's open quantity once the seller's order reaches the front of the queue.
    """
    rng, cfg = ep.rng, ep.config
    pairs = draw_int(rng, cfg.orders)
    state = {"done": 0, "polls": 0, "sell": -1, "price": 0}

    def accounts() -> tuple[int, int]:
        k = state["done"]
        return ep.accounts[k % 2], ep.accounts[(k + 1) % 2]

    def next_pair(ts: int) -> None:
        state["done"] += 1
        state["sell"] = -1
        state["polls"] = 0
        if state["done"] < pairs:
            m.schedule(ts + _ms(rng, cfg.gap_ms), trade)

    def trade(ts: int) -> None:
        bid, ask = m.top(ts)
        qty = max(1, round(draw(rng, cfg.size_multiple) * 2)) * m.lot_raw
        seller, buyer = accounts()
        if ask - bid >= 2 * m.tick_raw:
            inside = (ask - bid) // m.tick_raw - 1
            price = bid + (1 + int(rng.integers(0, inside))) * m.tick_raw
            m.submit(ts, seller, SELL, price, qty, TIF_GTC, ep, "wash_sell")
            m.submit(ts, buyer, BUY, price, qty, TIF_IOC, ep, "wash_buy")
            next_pair(ts)
            return
        state["sell"] = m.submit(ts, seller, SELL, ask, qty, TIF_GTC, ep, "wash_sell")
        state["price"] = ask
        m.schedule(ts + WASH_RETRY_NS, lift)

    def lift(ts: int) -> None:
        handle = state["sell"]
        open_qty = m.open_quantity(handle)
        if open_qty == 0:  # taken by someone else meanwhile
            next_pair(ts)
            return
        if m.at_front(handle):
            _, buyer = accounts()
            m.submit(ts, buyer, BUY, state["price"], open_qty, TIF_IOC, ep, "wash_buy")
            next_pair(ts)
            return
        state["polls"] += 1
        if state["polls"] >= WASH_MAX_RETRIES:
            m.cancel(ts, handle, ep)
            next_pair(ts)
            return
        m.schedule(ts + WASH_RETRY_NS, lift)

    m.schedule(ep.start_ns, trade)


def momentum_ignition(ep: Episode, m: Market, median_lots: float) -> None:
    """A burst of aggressive IOC orders sweeping one side, then passive orders on the other side
    at the moved price to unwind into the followers, cancelled if unfilled."""
    rng, cfg = ep.rng, ep.config
    side = BUY if rng.random() < 0.5 else SELL
    sign = 1 if side == BUY else -1
    burst = draw_int(rng, cfg.orders)
    lots = max(1, round(draw(rng, cfg.size_multiple) * median_lots))
    account = ep.accounts[0]
    state = {"sent": 0, "sent_qty": 0}
    exits: list[int] = []

    def aggress(ts: int) -> None:
        bid, ask = m.top(ts)
        far = ask if side == BUY else bid
        price = max(m.tick_raw, far + sign * int(rng.integers(0, 3)) * m.tick_raw)
        qty = lots * m.lot_raw
        if cfg.depth_multiple is not None:
            # Sized against the far touch and priced through it, so each order clears it.
            price = (
                max(price, far + sign * m.tick_raw) if side == BUY else min(price, far - m.tick_raw)
            )
            price = max(m.tick_raw, price)
            level = m.depth_at(1 - side, far)
            qty = max(
                m.lot_raw, round(draw(rng, cfg.depth_multiple) * level / m.lot_raw) * m.lot_raw
            )
            state["sent_qty"] += qty
        m.submit(ts, account, side, price, qty, TIF_IOC, ep, "ignition")
        state["sent"] += 1
        nxt = ts + _ms(rng, cfg.gap_ms)
        m.schedule(nxt, aggress if state["sent"] < burst else unwind)

    def unwind(ts: int) -> None:
        bid, ask = m.top(ts)
        near = ask if side == BUY else bid
        for k in range(3):
            price = near + sign * k * m.tick_raw
            if price > 0:
                qty = max(1, lots * burst // 3) * m.lot_raw
                if cfg.depth_multiple is not None:
                    qty = max(m.lot_raw, state["sent_qty"] // 3 // m.lot_raw * m.lot_raw)
                exits.append(m.submit(ts, account, 1 - side, price, qty, TIF_GTC, ep, "unwind"))
        m.schedule(ts + _ms(rng, cfg.cancel_after_ms), cancel_exits)

    def cancel_exits(ts: int) -> None:
        for handle in exits:
            m.cancel(ts, handle, ep)

    m.schedule(ep.start_ns, aggress)
