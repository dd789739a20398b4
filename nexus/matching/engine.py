"""The matching engine: one compiled order book per symbol, typed commands in, events out.

Pure domain core (no I/O, no clock): each command returns the events it caused, in order,
ready for ``orders.events`` (OrderNew, OrderAmend, OrderCancel, OrderReject, OrderExpire,
OrderFill) and ``trades.executed`` (Trade). Event ids are deterministic -
``f"{venue}:{symbol}:{seq}"`` with one sequence per symbol - and ``ts_event`` is the
command's, so replaying the same commands gives the same events byte for byte. Which events a
book operation causes, in which order and with which quantities, is the emission rule of
:mod:`nexus.matching.emission`, which the simulator's batch kernel follows too.

String order ids map to integer handles (one per accepted order, never reused) and account
ids to integer account handles, which is all the compiled book sees.

Memory is bounded by what is open, not by what was ever sent: a finished order (filled,
cancelled, expired, rejected) leaves the open tables at once and is kept only among the last
``finished_orders_kept`` finished orders (for status queries and as the duplicate-id guard);
an account handle is dropped with its last open order.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, runtime_checkable

from nexus import book as codes
from nexus.book import Book
from nexus.events import (
    INT64_MAX,
    SYMBOL_RE,
    TOPIC_ORDERS,
    TOPIC_TRADES,
    Level,
    OrderAmend,
    OrderCancel,
    OrderExpire,
    OrderFill,
    OrderNew,
    OrderReject,
    Trade,
)
from nexus.matching.commands import (
    AmendOrder,
    BookSnapshot,
    CancelOrder,
    Command,
    OrderState,
    OrderStatus,
    OrderType,
    RawOrFixed,
    Side,
    StpMode,
    SubmitOrder,
    TimeInForce,
)
from nexus.matching.emission import (
    AMEND,
    CANCEL,
    CAUSE_STP,
    CAUSE_USER,
    EXPIRE,
    FILL,
    NEW,
    TRADE,
    fill_events,
    operation_events,
    operation_table,
)
from nexus.matching.errors import (
    DuplicateOrderId,
    InvalidOrder,
    OrderNotOpen,
    UnknownOrder,
)
from nexus.money import Fixed, format_raw

EngineEvent = OrderNew | OrderAmend | OrderCancel | OrderReject | OrderExpire | OrderFill | Trade

STP_REASON = "self-trade prevention"
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_SIDES: dict[str, int] = {"BUY": codes.SIDE_BUY, "SELL": codes.SIDE_SELL}
_TIFS: dict[str, int] = {
    "GTC": codes.TIF_GTC,
    "DAY": codes.TIF_DAY,
    "IOC": codes.TIF_IOC,
    "FOK": codes.TIF_FOK,
}
_STPS: dict[str, int] = {
    "OFF": codes.STP_OFF,
    "CANCEL_NEWEST": codes.STP_CANCEL_NEWEST,
    "CANCEL_OLDEST": codes.STP_CANCEL_OLDEST,
}
_REJECT_REASONS: dict[int, str] = {
    codes.REJECT_POST_ONLY: "post-only order would cross",
    codes.REJECT_FOK: "fill-or-kill quantity not available",
    codes.REJECT_INVALID: "price level size limit (2**63-1 raw) exceeded",
    codes.REJECT_DUPLICATE: "duplicate order id",
}
#: the emission rule's plan per result code, looked up per operation
_SUBMIT_PLANS = operation_table(codes.OP_SUBMIT, list(codes.Result))
_AMEND_PLANS = operation_table(codes.OP_AMEND, list(codes.Result))
_CANCEL_PLAN = operation_events(codes.OP_CANCEL, 1)
_CAUSES = {CAUSE_STP: STP_REASON, CAUSE_USER: "user"}
#: finished orders remembered by default (status queries, duplicate-id guard)
FINISHED_ORDERS_KEPT = 100_000


def event_topic(event: EngineEvent) -> str:
    """The topic an engine event is published on (keyed by its ``symbol``)."""
    return TOPIC_TRADES if isinstance(event, Trade) else TOPIC_ORDERS


@runtime_checkable
class HaltChecker(Protocol):
    """Answers whether trading is halted for a user or a symbol (e.g. from ``risk.halts``)."""

    def is_halted(self, user_id: str, symbol: str) -> str | None:
        """The halt reason, or None when ``user_id`` may trade ``symbol``."""
        ...


@runtime_checkable
class TimedHaltChecker(Protocol):
    """A halt checker that judges expiry at the order's event time (``nexus.halts.HaltBook``)."""

    def check(self, user_id: str, symbol: str, ts_ns: int) -> str | None:
        """The halt reason at ``ts_ns`` (UTC ns, event time), or None."""
        ...


HaltSource = HaltChecker | TimedHaltChecker | Callable[[str, str], str | None]


def _halt_function(halts: HaltSource | None) -> Callable[[str, str, int], str | None]:
    """One calling convention, ``(user_id, symbol, ts_ns) -> reason | None``, for any source."""
    if halts is None:
        return lambda user_id, symbol, ts_ns: None
    if isinstance(halts, TimedHaltChecker):
        return halts.check
    if isinstance(halts, HaltChecker):
        checker = halts
        return lambda user_id, symbol, ts_ns: checker.is_halted(user_id, symbol)
    check = halts
    return lambda user_id, symbol, ts_ns: check(user_id, symbol)


class OrderBook(Protocol):
    """What the engine needs of a book: the compiled Book and the ReferenceBook both fit."""

    @property
    def last_filled(self) -> int: ...
    @property
    def last_remaining(self) -> int: ...
    def submit(
        self,
        order_id: int,
        side: int,
        price: int,
        qty: int,
        account: int = 0,
        tif: int = 0,
        post_only: bool = False,
        stp: int = 0,
    ) -> int: ...
    def amend(self, order_id: int, price: int, qty: int) -> int: ...
    def cancel(self, order_id: int) -> int: ...
    def fills(self) -> list[tuple[int, int, int, int, int, int]]: ...
    def depth(self, side: int, n: int = 10) -> list[tuple[int, int, int]]: ...
    def best_bid(self) -> int: ...
    def best_ask(self) -> int: ...
    def expire(self, tif: int = 1) -> list[tuple[int, int]]: ...
    def __len__(self) -> int: ...


class _Order:
    """The engine's record of one accepted (or rejected) order."""

    __slots__ = (
        "account",
        "account_id",
        "client_order_id",
        "filled",
        "handle",
        "leaves",
        "order_id",
        "order_type",
        "post_only",
        "price",
        "quantity",
        "reason",
        "side",
        "status",
        "symbol",
        "tif",
        "ts_last",
        "user_id",
    )

    def __init__(self, cmd: SubmitOrder, handle: int, price: int, qty: int, tif: str) -> None:
        self.order_id = cmd.order_id
        self.handle = handle
        self.symbol = cmd.symbol
        self.user_id = cmd.user_id
        self.account_id = cmd.account_id
        self.account = 0  # the book's account handle once the order reaches a book
        self.side: Side = cmd.side
        self.order_type: OrderType = cmd.order_type
        self.tif: TimeInForce = tif  # type: ignore[assignment]
        self.price = price
        self.quantity = qty
        self.post_only = cmd.post_only
        self.client_order_id = cmd.client_order_id
        self.filled = 0
        self.leaves = qty
        self.status: OrderState = "NEW"
        self.reason: str | None = None
        self.ts_last = cmd.ts_event


def _check_ts(ts_event: int) -> None:
    if (
        isinstance(ts_event, bool)
        or not isinstance(ts_event, int)
        or not 0 <= ts_event <= INT64_MAX
    ):
        shown = (
            f"{ts_event.bit_length()} bits"
            if isinstance(ts_event, int) and ts_event.bit_length() > 64
            else repr(ts_event)
        )
        raise InvalidOrder(f"ts_event must be UTC ns in [0, 2**63), got {shown}", "$.ts_event")


_MAX_TEXT = format_raw(INT64_MAX)


def _shown(raw: int) -> str:
    """The decimal a raw fixed-point int stands for (what the user sent), for messages."""
    if not -(2**127) <= raw < 2**127:
        return f"a value of {raw.bit_length()} bits"
    return format_raw(raw)


def _raw(value: RawOrFixed, field: str) -> int:
    if isinstance(value, Fixed):
        raw: int = value.raw
        return raw
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidOrder(f"{field} must be a raw int or a Fixed, got {value!r}", field=f"$.{field}")


class MatchingEngine:
    """Price-time priority matching for many symbols (one book each), as a pure domain core.

    ``halts`` is consulted on every submit and amend (cancels are always allowed, they only
    reduce risk): a :class:`nexus.halts.HaltBook` (or any ``check(user_id, symbol, ts_ns)``,
    asked at the command's event time), an ``is_halted(user_id, symbol)`` object or a plain
    callable ``(user_id, symbol) -> reason | None``; ``default_stp`` is the self-trade prevention mode of accounts without one
    set by :meth:`set_account_stp`, and a submit's own ``stp`` overrides both.
    ``book_factory`` builds a symbol's book (the compiled :class:`Book` by default; tests pass
    the reference book). ``event_id_prefix`` (default: ``venue``) starts every event id; an
    adapter whose engine restarts empty passes one per session so ids are never reused.
    ``finished_orders_kept`` bounds the finished orders remembered (status queries and the
    duplicate-id guard of this session); older ones answer :class:`UnknownOrder`.
    """

    def __init__(
        self,
        venue: str = "NEXUS",
        *,
        halts: HaltSource | None = None,
        default_stp: StpMode = "OFF",
        account_stp: Mapping[str, StpMode] | None = None,
        book_factory: Callable[[], OrderBook] = Book,
        event_id_prefix: str | None = None,
        finished_orders_kept: int = FINISHED_ORDERS_KEPT,
    ) -> None:
        if not _IDENTIFIER.match(venue):
            raise InvalidOrder(f"invalid venue {venue!r}", field="venue")
        if event_id_prefix is not None and not _IDENTIFIER.match(event_id_prefix):
            raise InvalidOrder(
                f"invalid event id prefix {event_id_prefix!r}", field="event_id_prefix"
            )
        if default_stp not in _STPS:
            raise InvalidOrder(f"unknown STP mode {default_stp!r}", field="default_stp")
        if finished_orders_kept < 0:
            raise InvalidOrder("finished_orders_kept must be >= 0", field="finished_orders_kept")
        self.venue = venue
        self._id_prefix = venue if event_id_prefix is None else event_id_prefix
        self._halted = _halt_function(halts)
        self._default_stp = default_stp
        self._account_stp: dict[str, StpMode] = dict(account_stp or {})
        self._book_factory = book_factory
        self._books: dict[str, OrderBook] = {}
        self._seq: dict[str, int] = {}
        self._orders: dict[str, _Order] = {}  # open orders by id
        self._by_handle: dict[int, _Order] = {}  # open orders by book handle
        self._next_handle = 0
        self._finished: OrderedDict[str, _Order] = OrderedDict()  # oldest first
        self._finished_kept = finished_orders_kept
        self._accounts: dict[str, int] = {}  # account id -> handle, while it has open orders
        self._account_open: dict[int, int] = {}  # account handle -> open orders
        self._next_account = 0

    # -- configuration -----------------------------------------------------------------------
    def set_account_stp(self, account_id: str, mode: StpMode) -> None:
        """Self-trade prevention for ``account_id``'s orders that do not name their own."""
        if mode not in _STPS:
            raise InvalidOrder(f"unknown STP mode {mode!r}", field="stp")
        self._account_stp[account_id] = mode

    # -- commands ----------------------------------------------------------------------------
    def handle(self, cmd: Command) -> list[EngineEvent]:
        """Apply any command; see :meth:`submit`, :meth:`amend` and :meth:`cancel`."""
        if isinstance(cmd, SubmitOrder):
            return self.submit(cmd)
        if isinstance(cmd, AmendOrder):
            return self.amend(cmd)
        return self.cancel(cmd)

    def submit(self, cmd: SubmitOrder) -> list[EngineEvent]:
        """Accept, match and maybe rest a new order; returns its events in order.

        Raises :class:`InvalidOrder` for a malformed command and :class:`DuplicateOrderId`
        for a reused id. A halt, a post-only order that would cross and an unfillable FOK
        are answered with an ``OrderReject`` event (the id is then used up).
        """
        price, qty, tif = self._validate_submit(cmd)
        if cmd.order_id in self._orders or cmd.order_id in self._finished:
            raise DuplicateOrderId(f"order id {cmd.order_id!r} already used")
        order = _Order(cmd, self._next_handle, price, qty, tif)
        self._next_handle += 1
        self._orders[cmd.order_id] = order
        self._by_handle[order.handle] = order
        reason = self._halted(cmd.user_id, cmd.symbol, cmd.ts_event)
        if reason is not None:
            return [self._reject(order, reason, cmd.ts_event)]
        book = self._book(cmd.symbol)
        stp = cmd.stp or self._account_stp.get(cmd.account_id, self._default_stp)
        order.account = self._account(cmd.account_id)
        result = book.submit(
            order.handle,
            _SIDES[cmd.side],
            price,
            qty,
            order.account,
            _TIFS[tif],
            cmd.post_only,
            _STPS[stp],
        )
        if result >= codes.REJECT_INVALID:
            return [self._reject(order, _REJECT_REASONS[result], cmd.ts_event)]
        first, _, matched, end, end_cause = _SUBMIT_PLANS[result]
        events: list[EngineEvent] = []
        if first == NEW:
            events.append(
                OrderNew(
                    event_id=self._next_id(order.symbol),
                    ts_event=cmd.ts_event,
                    symbol=order.symbol,
                    order_id=order.order_id,
                    user_id=order.user_id,
                    account_id=order.account_id,
                    venue=self.venue,
                    side=order.side,
                    order_type=order.order_type,
                    time_in_force=order.tif,
                    price=price,
                    quantity=qty,
                    post_only=order.post_only,
                    client_order_id=order.client_order_id,
                )
            )
        if matched:
            self._after_match(book, order, qty, result, end, end_cause, cmd.ts_event, events)
        return events

    def amend(self, cmd: AmendOrder) -> list[EngineEvent]:
        """Change a resting order's price and/or open quantity; returns its events.

        A pure size decrease keeps queue priority; a price change or size increase re-queues
        the order at the back of its (new) level, where it may trade as the aggressor.
        Raises :class:`UnknownOrder`, :class:`OrderNotOpen` or :class:`InvalidOrder`; a halt
        or a post-only order that would cross is answered with an ``OrderReject``.
        """
        _check_ts(cmd.ts_event)
        order = self._open_order(cmd.order_id)
        price = order.price if cmd.price is None else _raw(cmd.price, "price")
        qty = order.leaves if cmd.quantity is None else _raw(cmd.quantity, "quantity")
        if cmd.price is None and cmd.quantity is None:
            raise InvalidOrder("an amend needs a new price or quantity", field="$.price")
        if not 0 < price <= INT64_MAX:
            raise InvalidOrder(
                f"price must be in (0, {_MAX_TEXT}], got {_shown(price)}", field="$.price"
            )
        if not 0 < qty <= INT64_MAX:
            raise InvalidOrder(
                f"quantity must be in (0, {_MAX_TEXT}], got {_shown(qty)}", field="$.quantity"
            )
        reason = self._halted(order.user_id, order.symbol, cmd.ts_event)
        if reason is not None:
            return [self._reject_amend(order, price, qty, reason, cmd.ts_event)]
        book = self._books[order.symbol]
        old_price, old_qty = order.price, order.leaves
        result = book.amend(order.handle, price, qty)
        if result >= codes.REJECT_INVALID:
            reason = _REJECT_REASONS.get(result, "invalid amend")
            return [self._reject_amend(order, price, qty, reason, cmd.ts_event)]
        order.price = price
        order.quantity += qty - old_qty
        order.leaves = qty
        order.ts_last = cmd.ts_event
        first, keeps_priority, matched, end, end_cause = _AMEND_PLANS[result]
        events: list[EngineEvent] = []
        if first == AMEND:
            events.append(
                OrderAmend(
                    event_id=self._next_id(order.symbol),
                    ts_event=cmd.ts_event,
                    symbol=order.symbol,
                    order_id=order.order_id,
                    user_id=order.user_id,
                    account_id=order.account_id,
                    venue=self.venue,
                    side=order.side,
                    price=price,
                    quantity=qty,
                    old_price=old_price,
                    old_quantity=old_qty,
                    keeps_priority=keeps_priority == 1,
                )
            )
        if matched:
            self._after_match(book, order, qty, result, end, end_cause, cmd.ts_event, events)
        return events

    def cancel(self, cmd: CancelOrder) -> list[EngineEvent]:
        """Cancel a resting order's open quantity; raises UnknownOrder or OrderNotOpen."""
        _check_ts(cmd.ts_event)
        order = self._open_order(cmd.order_id)
        book = self._books[order.symbol]
        qty = book.cancel(order.handle)
        # the rule's cancel plan depends only on whether something was cancelled
        plan = _CANCEL_PLAN if qty > 0 else operation_events(codes.OP_CANCEL, qty)
        if plan[0] != CANCEL:
            return []
        order.leaves = 0
        order.status = "CANCELLED"
        order.ts_last = cmd.ts_event
        self._finish(order)
        return [self._cancel_event(order, qty, cmd.reason, cmd.ts_event)]

    def expire_day(self, ts_event: int, symbols: Iterable[str] | None = None) -> list[EngineEvent]:
        """End of the trading day: expire every resting DAY order (all symbols by default)."""
        _check_ts(ts_event)
        events: list[EngineEvent] = []
        for symbol in sorted(self._books if symbols is None else symbols):
            book = self._books.get(symbol)
            if book is None:
                continue
            for handle, qty in book.expire(codes.TIF_DAY):
                order = self._by_handle[handle]
                order.leaves = 0
                order.status = "EXPIRED"
                order.ts_last = ts_event
                self._finish(order)
                events.append(self._expire_event(order, qty, ts_event))
        return events

    # -- queries -----------------------------------------------------------------------------
    def order_status(self, order_id: str) -> OrderStatus:
        """Status of an open or recently finished order; raises :class:`UnknownOrder`."""
        order = self._orders.get(order_id) or self._finished.get(order_id)
        if order is None:
            raise UnknownOrder(f"unknown order {order_id!r}")
        return OrderStatus(
            order_id=order.order_id,
            symbol=order.symbol,
            user_id=order.user_id,
            account_id=order.account_id,
            side=order.side,
            order_type=order.order_type,
            time_in_force=order.tif,
            price=order.price,
            quantity=order.quantity,
            filled_quantity=order.filled,
            leaves_quantity=order.leaves,
            status=order.status,
            post_only=order.post_only,
            client_order_id=order.client_order_id,
            reason=order.reason,
            ts_last=order.ts_last,
        )

    def snapshot(self, symbol: str, depth: int = 10) -> BookSnapshot:
        """L2 book of ``symbol``: up to ``depth`` levels a side (size and order count)."""
        if depth < 0:
            raise InvalidOrder(f"depth must be >= 0, got {depth}", field="depth")
        book = self._books.get(symbol)
        if book is None:
            return BookSnapshot(venue=self.venue, symbol=symbol, bids=[], asks=[])
        return BookSnapshot(
            venue=self.venue,
            symbol=symbol,
            bids=[Level(p, q, n) for p, q, n in book.depth(codes.SIDE_BUY, depth)],
            asks=[Level(p, q, n) for p, q, n in book.depth(codes.SIDE_SELL, depth)],
        )

    def best_bid_ask(self, symbol: str) -> tuple[int, int]:
        """(best bid, best ask) raw prices of ``symbol``; 0 for an empty side."""
        book = self._books.get(symbol)
        return (0, 0) if book is None else (book.best_bid(), book.best_ask())

    @property
    def symbols(self) -> list[str]:
        """Symbols that have a book, sorted."""
        return sorted(self._books)

    # -- internals ---------------------------------------------------------------------------
    def _validate_submit(self, cmd: SubmitOrder) -> tuple[int, int, str]:
        _check_ts(cmd.ts_event)
        for field in ("order_id", "user_id", "account_id"):
            if not _IDENTIFIER.match(getattr(cmd, field)):
                raise InvalidOrder(f"invalid {field} {getattr(cmd, field)!r}", field=f"$.{field}")
        if cmd.client_order_id is not None and not _IDENTIFIER.match(cmd.client_order_id):
            raise InvalidOrder("invalid client_order_id", field="$.client_order_id")
        if not SYMBOL_RE.match(cmd.symbol):
            raise InvalidOrder(f"invalid symbol {cmd.symbol!r}", field="$.symbol")
        if cmd.side not in _SIDES:
            raise InvalidOrder(f"side must be BUY or SELL, got {cmd.side!r}", field="$.side")
        if cmd.time_in_force not in _TIFS:
            raise InvalidOrder(f"unknown time in force {cmd.time_in_force!r}", field="$.tif")
        if cmd.stp is not None and cmd.stp not in _STPS:
            raise InvalidOrder(f"unknown STP mode {cmd.stp!r}", field="$.stp")
        price = _raw(cmd.price, "price")
        qty = _raw(cmd.quantity, "quantity")
        if not 0 < qty <= INT64_MAX:
            raise InvalidOrder(
                f"quantity must be in (0, {_MAX_TEXT}], got {_shown(qty)}", field="$.quantity"
            )
        tif: str = cmd.time_in_force
        if cmd.order_type == "LIMIT":
            if not 0 < price <= INT64_MAX:
                raise InvalidOrder(
                    f"a LIMIT needs a price in (0, {_MAX_TEXT}], got {_shown(price)}",
                    field="$.price",
                )
        elif cmd.order_type == "MARKET":
            if price != 0:
                raise InvalidOrder("a MARKET order has no price", field="$.price")
            if cmd.post_only:
                raise InvalidOrder("a MARKET order cannot be post-only", field="$.post_only")
            if tif != "FOK":
                tif = "IOC"
        else:
            raise InvalidOrder(f"unknown order type {cmd.order_type!r}", field="$.order_type")
        if cmd.post_only and tif in ("IOC", "FOK"):
            raise InvalidOrder("a post-only order must be GTC or DAY", field="$.post_only")
        return price, qty, tif

    def _book(self, symbol: str) -> OrderBook:
        book = self._books.get(symbol)
        if book is None:
            # The symbol's event sequence is NOT reset here: a reject before the book existed
            # (e.g. a halted first order) already used ids of this symbol.
            book = self._books[symbol] = self._book_factory()
        return book

    def _account(self, account_id: str) -> int:
        """The account's book handle (one more open order counted against it)."""
        handle = self._accounts.get(account_id)
        if handle is None:
            self._next_account += 1
            handle = self._accounts[account_id] = self._next_account
        self._account_open[handle] = self._account_open.get(handle, 0) + 1
        return handle

    def _finish(self, order: _Order) -> None:
        """An order left the open state: drop it from the open tables, remember it bounded."""
        del self._orders[order.order_id]
        del self._by_handle[order.handle]
        if order.account:
            left = self._account_open[order.account] - 1
            if left:
                self._account_open[order.account] = left
            else:
                del self._account_open[order.account]
                del self._accounts[order.account_id]
        if self._finished_kept:
            finished = self._finished
            finished[order.order_id] = order
            if len(finished) > self._finished_kept:
                finished.popitem(last=False)  # O(1); dict's next(iter()) is O(deleted slots)

    @property
    def open_order_count(self) -> int:
        """Orders open (resting or being matched) in the engine."""
        return len(self._orders)

    def _next_id(self, symbol: str) -> str:
        seq = self._seq.get(symbol, 0) + 1
        self._seq[symbol] = seq
        return f"{self._id_prefix}:{symbol}:{seq}"

    def _open_order(self, order_id: str) -> _Order:
        order = self._orders.get(order_id)
        if order is None:
            done = self._finished.get(order_id)
            if done is not None:
                raise OrderNotOpen(f"order {order_id!r} is {done.status}")
            raise UnknownOrder(f"unknown order {order_id!r}")
        return order

    def _after_match(
        self,
        book: OrderBook,
        taker: _Order,
        qty: int,
        result: int,
        end: int,
        end_cause: int,
        ts: int,
        events: list[EngineEvent],
    ) -> None:
        """Events of the fill records of the last book operation (:func:`fill_events`), then the
        taker's end event (``end``/``end_cause`` of its :func:`operation_events`); keeps the
        orders' state in step. ``qty`` is what the taker brought to the book.
        """
        fills = book.fills()
        append = events.append
        if fills:  # (no records, no events: skip making the generator)
            by_handle = self._by_handle
            trade_id = ""
            for kind, handle, price, fill_qty, leaves, flag in fill_events(
                fills, 0, 0, len(fills), taker.handle, qty
            ):
                if kind == TRADE:
                    trade_id = self._next_id(taker.symbol)
                    maker = by_handle[handle]
                    buyer, seller = (taker, maker) if taker.side == "BUY" else (maker, taker)
                    append(
                        Trade(
                            event_id=trade_id,
                            ts_event=ts,
                            symbol=taker.symbol,
                            venue=self.venue,
                            price=price,
                            quantity=fill_qty,
                            aggressor_side=taker.side,
                            buy_order_id=buyer.order_id,
                            sell_order_id=seller.order_id,
                            buyer_user_id=buyer.user_id,
                            buyer_account_id=buyer.account_id,
                            seller_user_id=seller.user_id,
                            seller_account_id=seller.account_id,
                        )
                    )
                elif kind == FILL:
                    filled = taker if flag else by_handle[handle]  # flag: the aggressor
                    filled.filled += fill_qty
                    filled.leaves = leaves
                    filled.ts_last = ts
                    if not flag:
                        if leaves:
                            filled.status = "PARTIALLY_FILLED"
                        else:
                            filled.status = "FILLED"
                            self._finish(filled)
                    append(
                        self._fill_event(filled, trade_id, price, fill_qty, leaves, flag == 1, ts)
                    )
                else:  # CANCEL of a resting order (flag: its cause, self-trade prevention)
                    maker = by_handle[handle]
                    self._cancelled(maker, ts)
                    append(self._cancel_event(maker, fill_qty, _CAUSES[flag], ts))
        taker.ts_last = ts
        if end == EXPIRE:
            remaining = book.last_remaining
            taker.leaves = 0
            taker.status = "EXPIRED"
            self._finish(taker)
            append(self._expire_event(taker, remaining, ts))
        elif end == CANCEL:
            remaining = book.last_remaining
            self._cancelled(taker, ts)
            append(self._cancel_event(taker, remaining, _CAUSES[end_cause], ts))
        elif result == codes.FILLED:
            taker.leaves = 0
            taker.status = "FILLED"
            self._finish(taker)
        else:  # rested
            taker.leaves = book.last_remaining
            taker.status = "PARTIALLY_FILLED" if taker.filled else "NEW"

    def _cancelled(self, order: _Order, ts: int) -> None:
        order.leaves = 0
        order.status = "CANCELLED"
        order.ts_last = ts
        self._finish(order)

    def _fill_event(
        self,
        order: _Order,
        trade_id: str,
        price: int,
        qty: int,
        leaves: int,
        aggressor: bool,
        ts: int,
    ) -> OrderFill:
        return OrderFill(
            event_id=self._next_id(order.symbol),
            ts_event=ts,
            symbol=order.symbol,
            order_id=order.order_id,
            user_id=order.user_id,
            account_id=order.account_id,
            venue=self.venue,
            side=order.side,
            trade_id=trade_id,
            price=price,
            quantity=qty,
            leaves_quantity=leaves,
            aggressor=aggressor,
        )

    def _cancel_event(self, order: _Order, qty: int, reason: str, ts: int) -> OrderCancel:
        return OrderCancel(
            event_id=self._next_id(order.symbol),
            ts_event=ts,
            symbol=order.symbol,
            order_id=order.order_id,
            user_id=order.user_id,
            account_id=order.account_id,
            venue=self.venue,
            side=order.side,
            price=order.price,
            cancelled_quantity=qty,
            reason=reason,
        )

    def _expire_event(self, order: _Order, qty: int, ts: int) -> OrderExpire:
        return OrderExpire(
            event_id=self._next_id(order.symbol),
            ts_event=ts,
            symbol=order.symbol,
            order_id=order.order_id,
            user_id=order.user_id,
            account_id=order.account_id,
            venue=self.venue,
            side=order.side,
            price=order.price,
            expired_quantity=qty,
        )

    def _reject(self, order: _Order, reason: str, ts: int) -> OrderReject:
        order.status = "REJECTED"
        order.leaves = 0
        order.reason = reason
        self._finish(order)
        return self._reject_event(order, order.price, order.quantity, reason, ts)

    def _reject_amend(
        self, order: _Order, price: int, qty: int, reason: str, ts: int
    ) -> OrderReject:
        return self._reject_event(order, price, qty, f"amend rejected: {reason}", ts)

    def _reject_event(
        self, order: _Order, price: int, qty: int, reason: str, ts: int
    ) -> OrderReject:
        return OrderReject(
            event_id=self._next_id(order.symbol),
            ts_event=ts,
            symbol=order.symbol,
            order_id=order.order_id,
            user_id=order.user_id,
            account_id=order.account_id,
            venue=self.venue,
            side=order.side,
            price=price,
            quantity=qty,
            reason=reason[:512],
        )
