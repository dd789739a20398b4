"""Order book reconstruction of one symbol from order and trade events.

Surveillance never sees the venue's book, so it rebuilds it: every open order with its state
and the displayed depth at each price. ``new`` adds a resting limit order (market and IOC
orders take liquidity and never display), ``amend`` moves it, a trade fills both sides, a cancel
removes the remainder. Best prices come from lazily cleaned heaps. The number of tracked orders
is bounded (the oldest are dropped first), so a feed that never sends cancels cannot grow the
state without limit.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from typing import Final

from services.surveillance.core.normalise import BUY, IOC, LIMIT, MARKET

MAX_ORDERS: Final = 200_000


class OrderState:
    """What surveillance knows of one order (raw fixed-point prices and quantities).

    ``level_depth_before`` is the displayed depth at its price (other orders) when it was
    placed; ``distance_ticks`` its distance behind the same side's best then (0 at or better
    than the touch), in the symbol's price unit (the tick, or the typical spacing of the
    displayed levels where the book is quoted coarser than its tick: ``SymbolState.level_unit``); ``aggressive`` whether it took (or could take) liquidity on arrival.
    """

    __slots__ = (
        "account_id",
        "aggressive",
        "amends",
        "best_opp_at_new",
        "best_same_at_new",
        "cancelled",
        "distance_ticks",
        "filled",
        "level_depth_before",
        "order_id",
        "order_type",
        "owner_id",
        "price",
        "quantity",
        "remaining",
        "replaced_ts",
        "resting",
        "side",
        "side_depth_before",
        "symbol",
        "ts_cancel",
        "ts_last",
        "ts_new",
        "user_id",
    )

    def __init__(
        self,
        order_id: str,
        symbol: str,
        user_id: str,
        account_id: str,
        owner_id: str,
        side: int,
        order_type: int,
        price: int,
        quantity: int,
        ts: int,
    ) -> None:
        self.order_id = order_id
        self.symbol = symbol
        self.user_id = user_id
        self.account_id = account_id
        self.owner_id = owner_id
        self.side = side
        self.order_type = order_type
        self.price = price
        self.quantity = quantity
        self.remaining = quantity
        self.filled = 0
        self.cancelled = 0
        self.amends = 0
        self.ts_new = ts
        self.ts_last = ts
        self.ts_cancel = 0
        #: event time of the last amend that re-placed it (new price or more size)
        self.replaced_ts = 0
        self.aggressive = order_type != LIMIT
        self.resting = False
        self.level_depth_before = 0
        self.side_depth_before = 0
        self.distance_ticks = 0
        self.best_same_at_new = 0
        self.best_opp_at_new = 0

    @property
    def fill_ratio(self) -> float:
        """Filled quantity over the order's total quantity."""
        return self.filled / self.quantity if self.quantity else 0.0


class Book:
    """Displayed depth and open orders of one symbol."""

    __slots__ = ("_asks", "_bids", "ask_levels", "bid_levels", "orders", "owner_open")

    def __init__(self) -> None:
        self.orders: OrderedDict[str, OrderState] = OrderedDict()
        self.bid_levels: dict[int, int] = {}
        self.ask_levels: dict[int, int] = {}
        self._bids: list[int] = []  # max-heap (negated prices)
        self._asks: list[int] = []
        #: (owner, side) -> displayed open quantity of that owner's resting orders
        self.owner_open: dict[tuple[str, int], int] = {}

    # -- queries ----------------------------------------------------------------------------
    def best_bid(self) -> int:
        """Best displayed bid (raw), 0 when the side is empty."""
        heap, levels = self._bids, self.bid_levels
        while heap and -heap[0] not in levels:
            heapq.heappop(heap)
        return -heap[0] if heap else 0

    def best_ask(self) -> int:
        """Best displayed ask (raw), 0 when the side is empty."""
        heap, levels = self._asks, self.ask_levels
        while heap and heap[0] not in levels:
            heapq.heappop(heap)
        return heap[0] if heap else 0

    def best(self, side: int) -> int:
        """Best displayed price of ``side`` (+1 bid, -1 ask)."""
        return self.best_bid() if side == BUY else self.best_ask()

    def depth_at(self, side: int, price: int) -> int:
        """Displayed quantity at ``price`` on ``side``."""
        return (self.bid_levels if side == BUY else self.ask_levels).get(price, 0)

    def side_depth(self, side: int, levels: int) -> int:
        """Displayed quantity of the best ``levels`` price levels of ``side``."""
        book = self.bid_levels if side == BUY else self.ask_levels
        if not book:
            return 0
        prices = heapq.nlargest(levels, book) if side == BUY else heapq.nsmallest(levels, book)
        return sum(book[p] for p in prices)

    def mid(self) -> int:
        """Mid price (raw), or the one side present, or 0."""
        bid, ask = self.best_bid(), self.best_ask()
        if bid and ask:
            return (bid + ask) // 2
        return bid or ask

    # -- updates ----------------------------------------------------------------------------
    def open_of(self, owner: str, side: int) -> int:
        """Displayed open quantity of ``owner``'s resting orders on ``side``."""
        return self.owner_open.get((owner, side), 0)

    def _display(self, order: OrderState, qty: int) -> None:
        if qty <= 0:
            return
        key = (order.owner_id, order.side)
        self.owner_open[key] = self.owner_open.get(key, 0) + qty
        if order.side == BUY:
            levels = self.bid_levels
            if order.price not in levels:
                heapq.heappush(self._bids, -order.price)
                if len(self._bids) > 4 * len(levels) + 64:
                    # Lazily deleted prices pile up below the top: rebuild (bounded memory).
                    self._bids = [-p for p in levels] + [-order.price]
                    heapq.heapify(self._bids)
            levels[order.price] = levels.get(order.price, 0) + qty
        else:
            levels = self.ask_levels
            if order.price not in levels:
                heapq.heappush(self._asks, order.price)
                if len(self._asks) > 4 * len(levels) + 64:
                    self._asks = [*levels, order.price]
                    heapq.heapify(self._asks)
            levels[order.price] = levels.get(order.price, 0) + qty

    def _undisplay(self, order: OrderState, qty: int) -> None:
        if qty <= 0 or not order.resting:
            return
        key = (order.owner_id, order.side)
        own = self.owner_open.get(key, 0) - qty
        if own > 0:
            self.owner_open[key] = own
        else:
            self.owner_open.pop(key, None)
        levels = self.bid_levels if order.side == BUY else self.ask_levels
        left = levels.get(order.price, 0) - qty
        if left > 0:
            levels[order.price] = left
        else:
            levels.pop(order.price, None)

    def add(self, order: OrderState) -> None:
        """Track a new order; a limit order rests and displays its quantity."""
        if order.order_id in self.orders:
            self.remove(order.order_id)
        self.orders[order.order_id] = order
        if order.order_type == LIMIT and order.price > 0:
            order.resting = True
            self._display(order, order.remaining)
        if len(self.orders) > MAX_ORDERS:
            _, oldest = self.orders.popitem(last=False)
            self._undisplay(oldest, oldest.remaining)

    def amend(self, order: OrderState, price: int, remaining: int, quantity: int) -> None:
        """Move an order to ``price`` with ``remaining`` open (``quantity`` 0: total derived)."""
        self._undisplay(order, order.remaining)
        if quantity <= 0:
            quantity = order.quantity + (remaining - order.remaining)
        order.price = price or order.price
        order.remaining = max(0, remaining)
        order.quantity = max(quantity, order.filled + order.remaining)
        order.amends += 1
        if order.resting:
            self._display(order, order.remaining)

    def fill(self, order: OrderState, qty: int) -> None:
        """A trade filled ``qty`` of ``order``; a fully filled order leaves the book."""
        take = min(qty, order.remaining)
        self._undisplay(order, take)
        order.remaining -= take
        order.filled += qty
        if order.remaining <= 0:
            self.orders.pop(order.order_id, None)

    def cancel(self, order: OrderState, remaining: int) -> None:
        """The open remainder (``remaining`` as reported) was cancelled: leave the book."""
        self._undisplay(order, order.remaining)
        order.cancelled += max(order.remaining, remaining)
        order.remaining = 0
        self.orders.pop(order.order_id, None)

    def remove(self, order_id: str) -> None:
        """Forget an order (its display too)."""
        order = self.orders.pop(order_id, None)
        if order is not None:
            self._undisplay(order, order.remaining)

    def get(self, order_id: str) -> OrderState | None:
        """The tracked order, if open."""
        return self.orders.get(order_id)


__all__ = ["IOC", "LIMIT", "MARKET", "Book", "OrderState"]
