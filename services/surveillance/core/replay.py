"""The market around an alert, replayed from archived events: best bid/ask and trades over
time, and the alerted user's orders from placement to cancel or fill (the dashboard's chart).

Pure: takes normalised events (:class:`~.normalise.Ev`) in event-time order, starting early
enough to rebuild the book resting at the window's start, and returns plain values with
decimal prices (floats for drawing only; the exact prices stay in the alert's evidence).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from services.surveillance.core.normalise import AMEND, BUY, CANCEL, NEW, SCALE, TRADE, Ev

#: Replayed before the window (to rebuild the resting book) and shown around it.
REBUILD_NS = 300 * 1_000_000_000
PAD_NS = 2 * 1_000_000_000


@dataclass(slots=True)
class _Resting:
    side: int
    price: int
    remaining: int


@dataclass(slots=True)
class _Drawn:
    order_id: str
    side: int
    price: int
    quantity: int
    placed_ns: int
    ended_ns: int | None = None
    outcome: str = "open"


@dataclass(slots=True)
class _Levels:
    """Displayed quantity per price on one side."""

    qty: dict[int, int] = field(default_factory=dict)

    def add(self, price: int, qty: int) -> None:
        left = self.qty.get(price, 0) + qty
        if left > 0:
            self.qty[price] = left
        else:
            self.qty.pop(price, None)


def _px(raw: int) -> float:
    return raw / SCALE


def replay_window(
    events: Iterable[Ev],
    *,
    start_ns: int,
    end_ns: int,
    user_ids: Iterable[str],
    account_ids: Iterable[str] = (),
    pad_ns: int = PAD_NS,
) -> dict[str, Any]:
    """Best bid/ask changes, trades and the user's orders within ``start - pad .. end + pad``.

    ``bbo`` rows are ``[ts_ns, bid, ask]`` (None for an empty side), ``trades`` rows
    ``[ts_ns, price, quantity]``; ``orders`` are those of ``user_ids`` / ``account_ids`` alive
    in the window, with their outcome (``filled``, ``cancelled`` or ``open``).
    """
    users = set(user_ids)
    accounts = set(account_ids)
    lo, hi = start_ns - pad_ns, end_ns + pad_ns
    resting: dict[str, _Resting] = {}
    bids, asks = _Levels(), _Levels()
    drawn: dict[str, _Drawn] = {}
    bbo: list[list[Any]] = []
    trades: list[list[Any]] = []
    last: tuple[int | None, int | None] = (None, None)
    at_open: tuple[int | None, int | None] = (None, None)

    def levels(side: int) -> _Levels:
        return bids if side == BUY else asks

    def take(order_id: str, qty: int) -> None:
        order = resting.get(order_id)
        if order is None:
            return
        cut = min(qty, order.remaining)
        order.remaining -= cut
        levels(order.side).add(order.price, -cut)
        if order.remaining <= 0:
            del resting[order_id]

    pending: int | None = None  # the event time whose book is not recorded yet

    def record(ts: int) -> None:
        # once per event time: an incoming order and the trades it makes share their time
        nonlocal last, at_open
        now = (max(bids.qty, default=None), min(asks.qty, default=None))
        if ts < lo:
            at_open = now
        elif now != last:
            bbo.append([ts, *(None if p is None else _px(p) for p in now)])
        last = now

    for ev in events:
        if ev.ts > hi:
            break
        if pending is not None and ev.ts != pending:
            record(pending)
        pending = ev.ts
        if ev.kind == NEW:
            if ev.price > 0 and ev.remaining > 0:
                resting[ev.order_id] = _Resting(ev.side, ev.price, ev.remaining)
                levels(ev.side).add(ev.price, ev.remaining)
            if (ev.user_id in users or ev.account_id in accounts) and ev.ts >= lo - REBUILD_NS:
                drawn[ev.order_id] = _Drawn(
                    ev.order_id, ev.side, ev.price, ev.quantity or ev.remaining, ev.ts
                )
        elif ev.kind == AMEND:
            order = resting.get(ev.order_id)
            if order is not None:
                levels(order.side).add(order.price, -order.remaining)
                order.price, order.remaining = ev.price or order.price, ev.remaining
                levels(order.side).add(order.price, order.remaining)
            if ev.order_id in drawn and ev.price:
                drawn[ev.order_id].price = ev.price
        elif ev.kind == CANCEL:
            order = resting.pop(ev.order_id, None)
            if order is not None:
                levels(order.side).add(order.price, -order.remaining)
            if ev.order_id in drawn:
                drawn[ev.order_id].ended_ns = ev.ts
                drawn[ev.order_id].outcome = "cancelled"
        elif ev.kind == TRADE:
            take(ev.buy_order_id, ev.quantity)
            take(ev.sell_order_id, ev.quantity)
            for oid in (ev.buy_order_id, ev.sell_order_id):
                if oid in drawn and oid not in resting and drawn[oid].ended_ns is None:
                    drawn[oid].ended_ns = ev.ts
                    drawn[oid].outcome = "filled"
            if ev.ts >= lo:
                trades.append([ev.ts, _px(ev.price), _px(ev.quantity)])
    if pending is not None:
        record(pending)
    # the book as it stood when the window opened
    bbo.insert(0, [lo, *(None if p is None else _px(p) for p in at_open)])
    orders = [
        {
            "order_id": d.order_id,
            "side": "BUY" if d.side == BUY else "SELL",
            "price": _px(d.price),
            "quantity": _px(d.quantity),
            "placed_ns": d.placed_ns,
            "ended_ns": d.ended_ns,
            "outcome": d.outcome,
            "own": True,
        }
        for d in drawn.values()
        if d.price > 0 and d.placed_ns <= hi and (d.ended_ns is None or d.ended_ns >= lo)
    ]
    return {"start_ns": lo, "end_ns": hi, "bbo": bbo, "trades": trades, "orders": orders}
