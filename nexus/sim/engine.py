"""Drives one symbol's actions through the compiled order book, in event-time order.

Background actions are applied in large batches (``Book.apply_batch``: the matching loop
stays in C); an episode step splits the batch at its time, reads the live top of book and adds
its own actions. Book results and fills become event rows through a Numba kernel that follows
the matching engine's emission rule (:mod:`nexus.matching.emission`), so no Python object is
made per event.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from nexus._ext.book import Book
from nexus.sim import kernels
from nexus.sim.episodes import Episode
from nexus.sim.flow import MidPath
from nexus.sim.layout import (
    A_ACCOUNT,
    A_HANDLE,
    A_OP,
    A_ORDER,
    A_PRICE,
    A_QTY,
    A_SIDE,
    A_STP,
    A_TIF,
    A_TS,
    ACTION_COLUMNS,
    EVENT_COLUMNS,
    OP_CANCEL,
    OP_SUBMIT,
)

I64 = npt.NDArray[np.int64]
#: Episode actions sort after background actions sent at the same nanosecond.
EPISODE_ORDER_BASE = 1 << 60


class OrderRegistry:
    """Per-handle arrays shared by every symbol: account, side, live price, open quantity."""

    def __init__(self, capacity: int = 1024) -> None:
        self.size = 0
        self.account_of = np.zeros(capacity, dtype=np.int64)
        self.side_of = np.zeros(capacity, dtype=np.int64)
        self.price_of = np.zeros(capacity, dtype=np.int64)
        self.open_of = np.zeros(capacity, dtype=np.int64)

    def _reserve(self, n: int) -> None:
        need = self.size + n
        if need > len(self.account_of):
            cap = max(need, 2 * len(self.account_of))
            for name in ("account_of", "side_of", "price_of", "open_of"):
                old = getattr(self, name)
                new = np.zeros(cap, dtype=np.int64)
                new[: self.size] = old[: self.size]
                setattr(self, name, new)

    def allocate(self, accounts: I64, sides: I64) -> int:
        """Register a block of orders; returns the first handle."""
        n = len(accounts)
        self._reserve(n)
        first = self.size
        self.account_of[first : first + n] = accounts
        self.side_of[first : first + n] = sides
        self.size += n
        return first

    def allocate_one(self, account: int, side: int) -> int:
        """Register one order; returns its handle."""
        self._reserve(1)
        handle = self.size
        self.account_of[handle] = account
        self.side_of[handle] = side
        self.size += 1
        return handle


class EventBuffer:
    """One growing table of event rows shared by every symbol's driver (drivers run in turn)."""

    def __init__(self, capacity: int) -> None:
        self.rows = np.empty((max(capacity, 16), EVENT_COLUMNS), dtype=np.int64)
        self.size = 0

    def reserve(self, n: int) -> None:
        """Make room for ``n`` more rows."""
        if self.size + n > len(self.rows):
            grown = np.empty((max(self.size + n, 2 * len(self.rows)), EVENT_COLUMNS), np.int64)
            grown[: self.size] = self.rows[: self.size]
            self.rows = grown

    @property
    def table(self) -> I64:
        """The rows written so far (a view)."""
        return self.rows[: self.size]


class SymbolDriver:
    """Runs one symbol: its book, its background actions, its episodes' steps."""

    def __init__(
        self,
        symbol: int,
        background: I64,
        mid: MidPath,
        tick_raw: int,
        lot_raw: int,
        registry: OrderRegistry,
        sink: EventBuffer,
    ) -> None:
        self.symbol = symbol
        self.tick_raw = tick_raw
        self.lot_raw = lot_raw
        self.book = Book(max(1024, len(background) // 4))
        self._bg = background
        self._pos = 0
        self._mid = mid
        self._registry = registry
        self._pending: list[list[int]] = []
        self._steps: list[tuple[int, int, Callable[[int], None]]] = []
        self._counter = 0
        self._seq = 0
        self._sink = sink
        self.applied: list[I64] = []

    def mid_at(self, ts: int) -> int:
        """The symbol's fundamental (latent mid) at ``ts``, in ticks."""
        return self._mid.at(ts)

    # -- Market protocol (used by episode steps) ----------------------------------------------
    def top(self, ts: int) -> tuple[int, int]:
        """Best bid and ask raw; an empty side is replaced by mid -/+ one tick."""
        bid, ask = self.book.best_bid(), self.book.best_ask()
        mid = self._mid.at(ts) * self.tick_raw
        bid = bid or mid - self.tick_raw
        ask = ask or mid + self.tick_raw
        if bid >= ask:
            bid, ask = min(bid, ask - self.tick_raw), max(ask, bid + self.tick_raw)
        return max(bid, self.tick_raw), ask

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
        handle = self._registry.allocate_one(account, side)
        self._push(ts, OP_SUBMIT, handle, side, price, qty, account, tif)
        ep.handles.append(handle)
        ep.roles.append(role)
        ep.times.append(ts)
        return handle

    def cancel(self, ts: int, handle: int, ep: Episode) -> None:
        self._push(ts, OP_CANCEL, handle, 0, 0, 0, 0, 0)
        ep.times.append(ts)

    def depth_at(self, side: int, price: int) -> int:
        """Displayed quantity at ``price`` on ``side`` (0 when there is no level there)."""
        for level_price, qty, _ in self.book.depth(side, 32):
            if level_price == price:
                return int(qty)
        return 0

    def open_quantity(self, handle: int) -> int:
        order = self.book.order(handle)
        return 0 if order is None else order[2]

    def at_front(self, handle: int) -> bool:
        order = self.book.order(handle)
        if order is None:
            return False
        side, price = order[0], order[1]
        top = self.book.depth(side, 1)
        if not top or top[0][0] != price:
            return False
        if top[0][2] == 1:
            return True
        # Only a shared best level needs its FIFO (``levels`` walks the whole side).
        return bool(self.book.levels(side)[0][1][0][0] == handle)

    def schedule(self, ts: int, step: Callable[[int], None]) -> None:
        self._counter += 1
        heapq.heappush(self._steps, (ts, self._counter, step))

    # -- running -------------------------------------------------------------------------------
    def _push(
        self, ts: int, op: int, handle: int, side: int, price: int, qty: int, account: int, tif: int
    ) -> None:
        self._counter += 1
        row = [0] * ACTION_COLUMNS
        row[A_TS], row[A_OP], row[A_HANDLE], row[A_SIDE] = ts, op, handle, side
        row[A_PRICE], row[A_QTY], row[A_ACCOUNT], row[A_TIF] = price, qty, account, tif
        row[A_ORDER] = EPISODE_ORDER_BASE + self._counter
        self._pending.append(row)

    def run(self) -> None:
        """Apply every action and step; event rows are appended to the shared buffer."""
        while self._steps:
            ts, _, step = heapq.heappop(self._steps)
            self._apply_until(ts)
            step(ts)
        self._apply_until(None)

    def _apply_until(self, ts: int | None) -> None:
        bg = self._bg
        end = len(bg) if ts is None else int(np.searchsorted(bg[:, A_TS], ts, side="left"))
        end = max(end, self._pos)
        segment = bg[self._pos : end]
        self._pos = end
        if self._pending:
            due = [r for r in self._pending if ts is None or r[A_TS] < ts]
            if due:
                self._pending = [r for r in self._pending if not (ts is None or r[A_TS] < ts)]
                extra = np.array(due, dtype=np.int64)
                segment = np.concatenate([segment, extra])
                segment = segment[np.lexsort((segment[:, A_ORDER], segment[:, A_TS]))]
        if len(segment):
            self._apply(segment)

    def _apply(self, actions: I64) -> None:
        self.applied.append(actions)
        ops = np.ascontiguousarray(actions[:, A_OP : A_STP + 1])
        results = self.book.apply_batch(ops)
        fills = self.book.fills_array()
        sink = self._sink
        sink.reserve(2 * len(actions) + 3 * len(fills))
        reg = self._registry
        n = kernels.emit_events(
            np.ascontiguousarray(actions),
            results,
            fills,
            reg.side_of,
            reg.price_of,
            reg.open_of,
            self.symbol,
            self._seq,
            sink.rows[sink.size :],
        )
        self._seq += n
        sink.size += n
