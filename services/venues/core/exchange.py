"""One simulated exchange as a pure domain core: books, participants, client orders, fees.

No I/O and no clock: every call takes the event time (UTC ns) and returns plain values, so the
FIX acceptor, the tests and the benchmarks drive the same code. Each symbol has its own
compiled price-time book (:class:`nexus._ext.book.Book`); the venue's *participants* rest a
ladder of orders around the fundamental price and refresh it on :meth:`Exchange.requote`;
*clients* (the router's FIX sessions) send limit orders, day or immediate-or-cancel, cancel
them or replace them. Every client-visible change is a :class:`VenueReport` (the FIX
ExecutionReport's content); every report of a fill carries the fee or rebate of that fill.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from nexus._ext.book import (
    CANCELLED,
    EXPIRED,
    FILL_MATCH,
    FILLED,
    REJECT_INVALID,
    RESTED,
    SIDE_BUY,
    SIDE_SELL,
    TIF_DAY,
    TIF_GTC,
    TIF_IOC,
    Book,
)
from nexus.events import Level, QuoteDepth, QuoteL1
from services.venues.core.profile import SCALE, VenueProfile

ExecType = Literal["NEW", "PARTIAL", "FILL", "CANCELED", "REPLACED", "REJECTED"]
Side = Literal["BUY", "SELL"]
Tif = Literal["DAY", "GTC", "IOC"]

PARTICIPANT: Final = 1
CLIENT: Final = 2
_SIDE: Final = {"BUY": SIDE_BUY, "SELL": SIDE_SELL}
_TIF: Final = {"DAY": TIF_DAY, "GTC": TIF_GTC, "IOC": TIF_IOC}
#: book results that leave nothing resting
_DONE: Final = {FILLED, EXPIRED, CANCELLED}
TAKER_PROBABILITY: Final = 0.15
#: chance per requote that a side's top level steps back (or returns) one tick
WIDEN_TOGGLE_PROBABILITY: Final = 0.1


class VenueReject(ValueError):
    """An order or cancel the venue refuses; the message is the FIX ``Text``."""


@dataclass(frozen=True, slots=True)
class VenueReport:
    """One execution report to a client: what happened to its order, with quantities raw."""

    exec_type: ExecType
    exec_id: str
    session: str
    cl_ord_id: str
    order_id: str
    symbol: str
    side: str
    price: int
    quantity: int
    cum_qty: int
    leaves_qty: int
    avg_px: int
    ts: int
    last_px: int = 0
    last_qty: int = 0
    fee: int = 0
    liquidity: Literal["", "ADDED", "REMOVED"] = ""
    orig_cl_ord_id: str = ""
    text: str = ""
    iso: bool = False

    @property
    def terminal(self) -> bool:
        """Whether the order is done (nothing open any more)."""
        return self.leaves_qty == 0 or self.exec_type in ("CANCELED", "REJECTED")


@dataclass(slots=True)
class _ClientOrder:
    cl_ord_id: str
    order_id: str
    session: str
    symbol: str
    side: str
    price: int
    quantity: int
    tif: str
    iso: bool
    handle: int
    cum_qty: int = 0
    notional: int = 0
    open: bool = True


@dataclass(slots=True)
class _SymbolState:
    book: Book
    fundamental: int
    participant_handles: list[int] = field(default_factory=list)
    widen_bid: int = 0
    widen_ask: int = 0


class Exchange:
    """A venue's books, participants and client orders (see the module docstring).

    ``fundamentals`` maps each listed symbol to its starting fundamental price (raw).
    Client order ids are unique per FIX session (``session``); the venue numbers its own
    order ids ``<prefix>-<n>`` and execution ids ``<prefix>-E<n>``, where ``id_prefix``
    (default: the venue name) names the process run, so ids stay unique across restarts.
    """

    def __init__(
        self, profile: VenueProfile, fundamentals: Mapping[str, int], *, id_prefix: str = ""
    ) -> None:
        self.profile = profile
        self.name = profile.name
        self._prefix = id_prefix or profile.name
        self._rng = random.Random(profile.seed)
        self._tick = profile.tick_raw
        self._symbols: dict[str, _SymbolState] = {
            s: _SymbolState(Book(), int(p)) for s, p in fundamentals.items()
        }
        self._next_handle = 1
        self._orders: dict[tuple[str, str], _ClientOrder] = {}
        self._by_handle: dict[int, _ClientOrder] = {}
        self._order_seq = 0
        self._exec_seq = 0
        self.fills = 0
        self.rejects = 0

    # -- market -------------------------------------------------------------------------------
    @property
    def symbols(self) -> list[str]:
        """Listed symbols."""
        return list(self._symbols)

    def fundamental(self, symbol: str) -> int:
        """The fundamental price (raw) participants quote around."""
        return self._state(symbol).fundamental

    def set_fundamental(self, symbol: str, price: int) -> None:
        """Move the fundamental (from the shared market's last sale); takes effect at requote."""
        if price > 0 and symbol in self._symbols:
            self._symbols[symbol].fundamental = price

    def requote(self, symbol: str, ts: int) -> list[VenueReport]:
        """Participants replace their ladder around the fundamental (and sometimes take).

        Returns the reports of client orders that a participant's marketable order filled.
        """
        st = self._state(symbol)
        book = st.book
        for handle in st.participant_handles:
            book.cancel(handle)
        st.participant_handles.clear()
        p = self.profile
        tick = self._tick
        # each side is sometimes a tick less aggressive, so venues differ at the top of book
        # but never lock or cross each other (all quote the same fundamental)
        base = st.fundamental // tick - (p.spread_ticks - 1) // 2 - p.offset_ticks
        if self._rng.random() < WIDEN_TOGGLE_PROBABILITY:
            st.widen_bid ^= 1
        if self._rng.random() < WIDEN_TOGGLE_PROBABILITY:
            st.widen_ask ^= 1
        bid0 = (base - st.widen_bid) * tick
        ask0 = (base + p.spread_ticks + 2 * p.offset_ticks + st.widen_ask) * tick
        for level in range(p.levels):
            for side, px in ((SIDE_BUY, bid0 - level * tick), (SIDE_SELL, ask0 + level * tick)):
                if px <= 0:
                    continue
                for _ in range(p.orders_per_level):
                    qty = self._rng.randint(1, p.max_lots) * p.lot_raw
                    handle = self._handle()
                    if book.submit(handle, side, px, qty, PARTICIPANT, TIF_DAY, True) == RESTED:
                        st.participant_handles.append(handle)
        reports: list[VenueReport] = []
        if self._rng.random() < TAKER_PROBABILITY:
            side = self._rng.choice((SIDE_BUY, SIDE_SELL))
            handle = self._handle()
            book.submit(handle, side, 0, p.lot_raw, PARTICIPANT, TIF_IOC)
            reports.extend(self._maker_reports(book, ts))
        return reports

    def l1(self, symbol: str, ts: int, event_id: str) -> QuoteL1:
        """Top of book as a ``marketdata.quotes`` event."""
        book = self._state(symbol).book
        bids = book.depth(SIDE_BUY, 1)
        asks = book.depth(SIDE_SELL, 1)
        return QuoteL1(
            event_id=event_id,
            ts_event=ts,
            symbol=symbol,
            venue=self.name,
            bid_price=bids[0][0] if bids else 0,
            bid_size=bids[0][1] if bids else 0,
            ask_price=asks[0][0] if asks else 0,
            ask_size=asks[0][1] if asks else 0,
        )

    def depth(self, symbol: str, ts: int, event_id: str, levels: int = 10) -> QuoteDepth:
        """Depth snapshot as a ``marketdata.quotes`` event."""
        book = self._state(symbol).book
        return QuoteDepth(
            event_id=event_id,
            ts_event=ts,
            symbol=symbol,
            venue=self.name,
            bids=[Level(px, sz, n) for px, sz, n in book.depth(SIDE_BUY, levels)],
            asks=[Level(px, sz, n) for px, sz, n in book.depth(SIDE_SELL, levels)],
        )

    # -- client orders ------------------------------------------------------------------------
    def submit(
        self,
        session: str,
        cl_ord_id: str,
        symbol: str,
        side: str,
        quantity: int,
        price: int,
        tif: str,
        ts: int,
        *,
        iso: bool = False,
    ) -> list[VenueReport]:
        """A new limit order: NEW, then its fills, then the IOC remainder CANCELED.

        A malformed order (unknown symbol, non-whole shares, price off the tick, reused
        ``cl_ord_id``) or one refused at random (the profile's reject rate) is one REJECTED.
        """
        key = (session, cl_ord_id)
        reason = self._invalid(symbol, side, quantity, price, tif)
        if reason is None and key in self._orders:
            reason = f"duplicate ClOrdID {cl_ord_id}"
        if reason is None and self._rng.random() < self.profile.reject_probability:
            reason = "venue busy: order not accepted"
        if reason is not None:
            self.rejects += 1
            return [
                self._rejected(session, cl_ord_id, symbol, side, price, quantity, ts, reason, iso)
            ]
        order = _ClientOrder(
            cl_ord_id,
            self._next_order_id(),
            session,
            symbol,
            side,
            price,
            quantity,
            tif,
            iso,
            self._handle(),
        )
        self._orders[key] = order
        self._by_handle[order.handle] = order
        return self._enter(order, ts, "NEW")

    def cancel(
        self, session: str, cl_ord_id: str, orig_cl_ord_id: str, ts: int
    ) -> list[VenueReport]:
        """Cancel the open quantity of a resting order; raises :class:`VenueReject` if none."""
        order = self._open_order(session, orig_cl_ord_id)
        st = self._state(order.symbol)
        cancelled = st.book.cancel(order.handle)
        if cancelled == 0:
            raise VenueReject(f"order {orig_cl_ord_id} is not open")
        order.open = False
        self._orders[(session, cl_ord_id)] = order
        return [self._report(order, "CANCELED", ts, leaves=0, orig=orig_cl_ord_id, cl=cl_ord_id)]

    def replace(
        self,
        session: str,
        cl_ord_id: str,
        orig_cl_ord_id: str,
        quantity: int,
        price: int,
        ts: int,
    ) -> list[VenueReport]:
        """Cancel/replace: new total quantity and price; the order loses its queue priority.

        ``quantity`` is the new *total* (FIX OrderQty), so the new open quantity is
        ``quantity - cum_qty``; a quantity at or below what already filled is refused.
        """
        order = self._open_order(session, orig_cl_ord_id)
        if (session, cl_ord_id) in self._orders:
            raise VenueReject(f"duplicate ClOrdID {cl_ord_id}")
        reason = self._invalid(order.symbol, order.side, quantity, price, order.tif)
        if reason is None and quantity <= order.cum_qty:
            reason = "replace quantity at or below the filled quantity"
        if reason is not None:
            raise VenueReject(reason)
        st = self._state(order.symbol)
        if st.book.cancel(order.handle) == 0:
            raise VenueReject(f"order {orig_cl_ord_id} is not open")
        del self._by_handle[order.handle]
        order.handle = self._handle()
        order.quantity = quantity
        order.price = price
        order.cl_ord_id = cl_ord_id
        self._orders[(session, cl_ord_id)] = order
        self._by_handle[order.handle] = order
        return self._enter(order, ts, "REPLACED", orig=orig_cl_ord_id)

    def order_state(self, session: str, cl_ord_id: str) -> VenueReport | None:
        """The current state of a client order as a report (for status requests), or None."""
        order = self._orders.get((session, cl_ord_id))
        if order is None:
            return None
        leaves = order.quantity - order.cum_qty if order.open else 0
        return self._report(order, "NEW", 0, leaves=leaves, record=False)

    # -- internals ----------------------------------------------------------------------------
    def _enter(
        self, order: _ClientOrder, ts: int, first: ExecType, orig: str = ""
    ) -> list[VenueReport]:
        st = self._state(order.symbol)
        book = st.book
        open_qty = order.quantity - order.cum_qty
        reports = [self._report(order, first, ts, leaves=open_qty, orig=orig)]
        if self._rng.random() < self.profile.fade_probability:
            self._fade(st, order)
        result = book.submit(
            order.handle, _SIDE[order.side], order.price, open_qty, CLIENT, _TIF[order.tif]
        )
        if result >= REJECT_INVALID:  # pragma: no cover - validated above; the book agrees
            order.open = False
            return [
                self._rejected(
                    order.session,
                    order.cl_ord_id,
                    order.symbol,
                    order.side,
                    order.price,
                    order.quantity,
                    ts,
                    f"book refused ({result})",
                    order.iso,
                )
            ]
        fills = book.fills()
        for kind, maker, _taker, px, qty, maker_leaves in fills:
            if kind != FILL_MATCH:
                continue
            order.cum_qty += qty
            order.notional += px * qty
            leaves = order.quantity - order.cum_qty
            reports.append(self._fill(order, px, qty, leaves, ts, maker=False))
            resting = self._by_handle.get(maker)
            if resting is not None:
                resting.cum_qty += qty
                resting.notional += px * qty
                if maker_leaves == 0:
                    resting.open = False
                reports.append(self._fill(resting, px, qty, maker_leaves, ts, maker=True))
        if result in _DONE and order.cum_qty < order.quantity:
            order.open = False
            reports.append(self._report(order, "CANCELED", ts, leaves=0, text="IOC remainder"))
        elif result in _DONE:
            order.open = False
        return reports

    def _maker_reports(self, book: Book, ts: int) -> list[VenueReport]:
        reports = []
        for kind, maker, _taker, px, qty, maker_leaves in book.fills():
            resting = self._by_handle.get(maker)
            if kind != FILL_MATCH or resting is None:
                continue
            resting.cum_qty += qty
            resting.notional += px * qty
            if maker_leaves == 0:
                resting.open = False
            reports.append(self._fill(resting, px, qty, maker_leaves, ts, maker=True))
        return reports

    def _fade(self, st: _SymbolState, order: _ClientOrder) -> None:
        """The best opposite participant order leaves just before a marketable order lands."""
        opposite = SIDE_SELL if order.side == "BUY" else SIDE_BUY
        best = st.book.best_ask() if order.side == "BUY" else st.book.best_bid()
        marketable = best > 0 and (
            order.price >= best if order.side == "BUY" else order.price <= best
        )
        if not marketable:
            return
        for handle in st.participant_handles:
            resting = st.book.order(handle)
            if resting is not None and resting[0] == opposite and resting[1] == best:
                st.book.cancel(handle)
                return

    def _invalid(self, symbol: str, side: str, quantity: int, price: int, tif: str) -> str | None:
        if symbol not in self._symbols:
            return f"unknown symbol {symbol}"
        if side not in _SIDE:
            return f"unsupported side {side}"
        if tif not in _TIF:
            return f"unsupported time in force {tif}"
        if quantity <= 0 or quantity % SCALE:
            return "quantity must be a positive whole number of shares"
        if price <= 0 or price % self._tick:
            return f"price must be a positive multiple of the tick {self.profile.tick}"
        return None

    def _open_order(self, session: str, cl_ord_id: str) -> _ClientOrder:
        order = self._orders.get((session, cl_ord_id))
        if order is None:
            raise VenueReject(f"unknown order {cl_ord_id}")
        if not order.open:
            raise VenueReject(f"order {cl_ord_id} is not open")
        return order

    def _state(self, symbol: str) -> _SymbolState:
        try:
            return self._symbols[symbol]
        except KeyError:
            raise VenueReject(f"unknown symbol {symbol}") from None

    def _handle(self) -> int:
        h = self._next_handle
        self._next_handle += 1
        return h

    def _next_order_id(self) -> str:
        self._order_seq += 1
        return f"{self._prefix}-{self._order_seq}"

    def _next_exec_id(self) -> str:
        self._exec_seq += 1
        return f"{self._prefix}-E{self._exec_seq}"

    def _fill(
        self, order: _ClientOrder, px: int, qty: int, leaves: int, ts: int, *, maker: bool
    ) -> VenueReport:
        self.fills += 1
        return self._report(
            order,
            "PARTIAL" if leaves else "FILL",
            ts,
            leaves=leaves,
            last_px=px,
            last_qty=qty,
            fee=self.profile.fees.fee(qty, maker=maker),
            liquidity="ADDED" if maker else "REMOVED",
        )

    def _report(
        self,
        order: _ClientOrder,
        exec_type: ExecType,
        ts: int,
        *,
        leaves: int,
        last_px: int = 0,
        last_qty: int = 0,
        fee: int = 0,
        liquidity: Literal["", "ADDED", "REMOVED"] = "",
        orig: str = "",
        cl: str | None = None,
        text: str = "",
        record: bool = True,
    ) -> VenueReport:
        return VenueReport(
            exec_type=exec_type,
            exec_id=self._next_exec_id() if record else "",
            session=order.session,
            cl_ord_id=order.cl_ord_id if cl is None else cl,
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            price=order.price,
            quantity=order.quantity,
            cum_qty=order.cum_qty,
            leaves_qty=leaves,
            avg_px=order.notional // order.cum_qty if order.cum_qty else 0,
            ts=ts,
            last_px=last_px,
            last_qty=last_qty,
            fee=fee,
            liquidity=liquidity,
            orig_cl_ord_id=orig,
            text=text,
            iso=order.iso,
        )

    def _rejected(
        self,
        session: str,
        cl_ord_id: str,
        symbol: str,
        side: str,
        price: int,
        quantity: int,
        ts: int,
        reason: str,
        iso: bool,
    ) -> VenueReport:
        return VenueReport(
            exec_type="REJECTED",
            exec_id=self._next_exec_id(),
            session=session,
            cl_ord_id=cl_ord_id,
            order_id="NONE",
            symbol=symbol,
            side=side if side in _SIDE else "BUY",
            price=max(price, 0),
            quantity=max(quantity, 0),
            cum_qty=0,
            leaves_qty=0,
            avg_px=0,
            ts=ts,
            text=reason[:200],
            iso=iso,
        )
