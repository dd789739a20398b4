"""A simple, obviously correct order book with the compiled book's exact semantics.

Used only in tests: every behaviour of :class:`nexus._ext.book.Book` is checked against this.
Each side is a dict ``price -> FIFO list`` of resting orders; the best price is found by
``max``/``min`` over the keys, so nothing here is fast and nothing is clever.

Semantics (shared with the compiled book; prices and quantities are raw fixed-point ints):

* ``submit`` with ``price`` 0 is a market order (time in force IOC unless FOK). A taker sweeps
  the opposite side best price first, oldest order first inside a level; a fill is at the
  maker's price. A GTC/DAY remainder rests at the back of its level; an IOC/market remainder
  expires (``EXPIRED``); FOK fills completely or is rejected untouched (``REJECT_FOK``).
* post-only (GTC/DAY limits only) is rejected if it would trade (lock or cross) on arrival.
* self-trade prevention is the taker's: when it meets a resting order of its own account,
  ``STP_CANCEL_NEWEST`` cancels the taker's remainder (``STP_CANCELLED``) and
  ``STP_CANCEL_OLDEST`` cancels that resting order (a ``FILL_STP_CANCEL`` record) and goes on.
  FOK counts only what it would really fill under its STP mode.
* ``amend`` sets the price and the open quantity: same price and no more quantity keeps the
  queue position (``AMENDED``); anything else re-enters at the back of the new level and may
  trade as a taker (a post-only order is rejected instead, left unchanged).
* ``cancel`` returns the open quantity removed (0 if the order was not resting).
* an order that would rest (or re-queue) where its level's total open quantity would pass
  ``2**63 - 1`` is ``REJECT_INVALID`` before anything happens.
"""

from __future__ import annotations

from collections.abc import Sequence

from nexus.book import (
    AMENDED,
    EXPIRED,
    FILL_MATCH,
    FILL_STP_CANCEL,
    FILLED,
    REJECT_DUPLICATE,
    REJECT_FOK,
    REJECT_INVALID,
    REJECT_POST_ONLY,
    REJECT_UNKNOWN,
    RESTED,
    SIDE_BUY,
    SIDE_SELL,
    STP_CANCEL_NEWEST,
    STP_CANCEL_OLDEST,
    STP_CANCELLED,
    STP_OFF,
    TIF_DAY,
    TIF_FOK,
    TIF_GTC,
    TIF_IOC,
)

Fill = tuple[int, int, int, int, int, int]
INT64_MAX = 2**63 - 1


class _Order:
    __slots__ = ("account", "id", "post_only", "price", "qty", "side", "stp", "tif")

    def __init__(
        self,
        order_id: int,
        side: int,
        price: int,
        qty: int,
        account: int,
        tif: int,
        post_only: bool,
        stp: int,
    ) -> None:
        self.id = order_id
        self.side = side
        self.price = price
        self.qty = qty
        self.account = account
        self.tif = tif
        self.post_only = post_only
        self.stp = stp


def _crosses(side: int, limit: int, opposite: int) -> bool:
    if limit == 0:
        return True
    return opposite <= limit if side == SIDE_BUY else opposite >= limit


class ReferenceBook:
    """Pure Python twin of the compiled :class:`~nexus._ext.book.Book` (same API)."""

    def __init__(self, capacity: int = 1024) -> None:
        del capacity
        self._sides: tuple[dict[int, list[_Order]], dict[int, list[_Order]]] = ({}, {})
        self._orders: dict[int, _Order] = {}
        self._fills: list[tuple[int, int, int, int, int, int, int]] = []
        self._op = 0
        self.last_filled = 0
        self.last_remaining = 0

    # -- queries ---------------------------------------------------------------------------
    def _prices(self, side: int) -> list[int]:
        """Prices of ``side``, best first."""
        return sorted(self._sides[side], reverse=side == SIDE_BUY)

    def best_bid(self) -> int:
        return max(self._sides[SIDE_BUY], default=0)

    def best_ask(self) -> int:
        return min(self._sides[SIDE_SELL], default=0)

    def _best(self, side: int) -> int:
        return self.best_bid() if side == SIDE_BUY else self.best_ask()

    def depth(self, side: int, n: int = 10) -> list[tuple[int, int, int]]:
        self._check_side(side)
        book = self._sides[side]
        return [(p, sum(o.qty for o in book[p]), len(book[p])) for p in self._prices(side)[:n]]

    def levels(self, side: int) -> list[tuple[int, list[tuple[int, int]]]]:
        self._check_side(side)
        book = self._sides[side]
        return [(p, [(o.id, o.qty) for o in book[p]]) for p in self._prices(side)]

    def order(self, order_id: int) -> tuple[int, int, int, int] | None:
        o = self._orders.get(order_id)
        return None if o is None else (o.side, o.price, o.qty, o.account)

    def fills(self) -> list[Fill]:
        return [f[1:] for f in self._fills]

    def fills_array(self) -> list[tuple[int, int, int, int, int, int, int]]:
        return list(self._fills)

    @property
    def fill_count(self) -> int:
        return len(self._fills)

    def __len__(self) -> int:
        return len(self._orders)

    @property
    def order_count(self) -> int:
        return len(self._orders)

    def check(self) -> bool:
        bid, ask = self.best_bid(), self.best_ask()
        if bid and ask and bid >= ask:
            raise AssertionError(f"crossed book: bid {bid} >= ask {ask}")
        return True

    # -- mechanics ---------------------------------------------------------------------------
    def _rest(self, o: _Order) -> None:
        self._sides[o.side].setdefault(o.price, []).append(o)
        self._orders[o.id] = o

    def _remove(self, o: _Order) -> None:
        queue = self._sides[o.side][o.price]
        queue.remove(o)
        if not queue:
            del self._sides[o.side][o.price]
        del self._orders[o.id]

    def _level_overflows(self, side: int, price: int, qty: int, exclude: _Order | None) -> bool:
        """Would the level's total open quantity exceed an int64 (the compiled book's limit)?"""
        queue = self._sides[side].get(price, [])
        return sum(o.qty for o in queue if o is not exclude) + qty > INT64_MAX

    def _fillable(self, side: int, price: int, qty: int, account: int, stp: int) -> int:
        opp = 1 - side
        total = 0
        for p in self._prices(opp):
            if not _crosses(side, price, p):
                break
            for maker in self._sides[opp][p]:
                if stp != STP_OFF and maker.account == account:
                    if stp == STP_CANCEL_NEWEST:
                        return min(total, qty)
                    continue
                total += maker.qty
        return min(total, qty)

    def _match(
        self, taker: int, side: int, price: int, qty: int, account: int, stp: int
    ) -> tuple[int, bool]:
        """Sweep the opposite side; returns (unfilled quantity, stopped by STP)."""
        opp = 1 - side
        while qty > 0 and self._sides[opp]:
            best = self._best(opp)
            if not _crosses(side, price, best):
                break
            for maker in list(self._sides[opp][best]):
                if qty == 0:
                    break
                if stp != STP_OFF and maker.account == account:
                    if stp == STP_CANCEL_NEWEST:
                        return qty, True
                    self._fills.append(
                        (self._op, FILL_STP_CANCEL, maker.id, taker, best, maker.qty, 0)
                    )
                    self._remove(maker)
                    continue
                fq = min(qty, maker.qty)
                maker.qty -= fq
                qty -= fq
                self._fills.append((self._op, FILL_MATCH, maker.id, taker, best, fq, maker.qty))
                if maker.qty == 0:
                    self._remove(maker)
        return qty, False

    # -- operations --------------------------------------------------------------------------
    def submit(
        self,
        order_id: int,
        side: int,
        price: int,
        qty: int,
        account: int = 0,
        tif: int = TIF_GTC,
        post_only: bool = False,
        stp: int = STP_OFF,
    ) -> int:
        self._fills = []
        self._op = 0
        return self._submit(order_id, side, price, qty, account, tif, post_only, stp)

    def _submit(
        self,
        order_id: int,
        side: int,
        price: int,
        qty: int,
        account: int,
        tif: int,
        post_only: bool,
        stp: int,
    ) -> int:
        self.last_filled, self.last_remaining = 0, qty
        if (
            order_id < 0
            or qty <= 0
            or price < 0
            or side not in (SIDE_BUY, SIDE_SELL)
            or tif not in (TIF_GTC, TIF_DAY, TIF_IOC, TIF_FOK)
            or stp not in (STP_OFF, STP_CANCEL_NEWEST, STP_CANCEL_OLDEST)
        ):
            return REJECT_INVALID
        if price == 0:
            if post_only:
                return REJECT_INVALID
            if tif != TIF_FOK:
                tif = TIF_IOC
        if post_only and tif in (TIF_IOC, TIF_FOK):
            return REJECT_INVALID
        if order_id in self._orders:
            return REJECT_DUPLICATE
        if price and tif in (TIF_GTC, TIF_DAY) and self._level_overflows(side, price, qty, None):
            return REJECT_INVALID
        order = _Order(order_id, side, price, qty, account, tif, bool(post_only), stp)
        if post_only:
            best = self._best(1 - side)
            if best and _crosses(side, price, best):
                return REJECT_POST_ONLY
            self._rest(order)
            return RESTED
        if tif == TIF_FOK and self._fillable(side, price, qty, account, stp) < qty:
            return REJECT_FOK
        rem, stopped = self._match(order_id, side, price, qty, account, stp)
        self.last_filled, self.last_remaining = qty - rem, rem
        if stopped:
            return STP_CANCELLED
        if rem == 0:
            return FILLED
        if tif in (TIF_IOC, TIF_FOK):
            return EXPIRED
        order.qty = rem
        self._rest(order)
        return RESTED

    def amend(self, order_id: int, price: int, qty: int) -> int:
        self._fills = []
        self._op = 0
        return self._amend(order_id, price, qty)

    def _amend(self, order_id: int, price: int, qty: int) -> int:
        self.last_filled, self.last_remaining = 0, 0
        o = self._orders.get(order_id)
        if o is None:
            return REJECT_UNKNOWN
        self.last_remaining = o.qty
        if price <= 0 or qty <= 0:
            return REJECT_INVALID
        if price == o.price and qty <= o.qty:
            o.qty = qty
            self.last_remaining = qty
            return AMENDED
        if self._level_overflows(o.side, price, qty, o):
            return REJECT_INVALID
        if o.post_only:
            best = self._best(1 - o.side)
            if best and _crosses(o.side, price, best):
                return REJECT_POST_ONLY
        self._remove(o)
        rem, stopped = self._match(order_id, o.side, price, qty, o.account, o.stp)
        self.last_filled, self.last_remaining = qty - rem, rem
        if stopped:
            return STP_CANCELLED
        if rem == 0:
            return FILLED
        o.price, o.qty = price, rem
        self._rest(o)
        return RESTED

    def cancel(self, order_id: int) -> int:
        self._fills = []
        o = self._orders.get(order_id)
        if o is None:
            return 0
        self._remove(o)
        return o.qty

    def apply_batch(self, ops: Sequence[Sequence[int]]) -> list[int]:
        """Same rows and results as the compiled ``apply_batch`` (a list, not an array)."""
        self._fills = []
        out = []
        for i, row in enumerate(ops):
            self._op = i
            op = int(row[0])
            if op == 0:
                oid, side, price, qty, account, tif, post_only, stp = (int(v) for v in row[1:9])
                res = self._submit(oid, side, price, qty, account, tif, bool(post_only), stp)
            elif op == 1:
                res = self._amend(int(row[1]), int(row[3]), int(row[4]))
            elif op == 2:
                o = self._orders.get(int(row[1]))
                res = 0
                if o is not None:
                    self._remove(o)
                    res = o.qty
            else:
                raise ValueError(f"unknown operation {op} in batch row {i}")
            out.append(res)
        self._op = 0
        return out

    def expire(self, tif: int = TIF_DAY) -> list[tuple[int, int]]:
        doomed = [
            (oid, qty)
            for side in (SIDE_BUY, SIDE_SELL)
            for _price, queue in self.levels(side)
            for oid, qty in queue
            if self._orders[oid].tif == tif
        ]
        for oid, _qty in doomed:
            self._remove(self._orders[oid])
        self._fills = []
        return doomed

    @staticmethod
    def _check_side(side: int) -> None:
        if side not in (SIDE_BUY, SIDE_SELL):
            raise ValueError(f"side must be {SIDE_BUY} (BUY) or {SIDE_SELL} (SELL), got {side}")
