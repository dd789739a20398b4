"""The audit-trail JSON-lines format of a simulated stream (what a compliance export looks like).

One line per event, sorted by ``ts_ns``::

    {"kind":"order_new"|"order_amend"|"order_cancel","ts_ns":..,"order_id":..,"user_id":..,
     "account_id":..,"symbol":..,"side":"BUY"|"SELL","order_type":"LIMIT"|"MARKET"|"IOC",
     "price":"decimal","quantity":"int","remaining":"int"}
    {"kind":"trade","ts_ns":..,"trade_id":..,"symbol":..,"price":"decimal","quantity":"int",
     "buy_order_id":..,"sell_order_id":..,"buy_user_id":..,"sell_user_id":..,
     "buy_account_id":..,"sell_account_id":..,"aggressor_side":"BUY"|"SELL"}

Quantities are whole shares; an amend carries the new price, the new total quantity and the
open remainder; a cancel (or an IOC remainder's expiry) the open remainder cancelled. Per-side
fills and rejects are not part of the format (the trade line carries the match). The accounts
file maps ``account_id`` to its beneficial owner.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any, Literal

import msgspec

from nexus.events import OrderAmend, OrderCancel, OrderExpire, OrderNew, Trade
from nexus.money import format_raw
from nexus.sim.users import UserRecord
from nexus.sim.wire import read_events

SCALE = 1_000_000_000


class AuditOrderLine(msgspec.Struct, kw_only=True):
    """An order line."""

    kind: Literal["order_new", "order_amend", "order_cancel"]
    ts_ns: int
    order_id: str
    user_id: str
    account_id: str
    symbol: str
    side: str
    order_type: Literal["LIMIT", "MARKET", "IOC"]
    price: str
    quantity: str
    remaining: str


class AuditTradeLine(msgspec.Struct, kw_only=True):
    """A trade line."""

    kind: Literal["trade"]
    ts_ns: int
    trade_id: str
    symbol: str
    price: str
    quantity: str
    buy_order_id: str
    sell_order_id: str
    buy_user_id: str
    sell_user_id: str
    buy_account_id: str
    sell_account_id: str
    aggressor_side: str


def _qty(raw: int) -> str:
    return str(raw // SCALE) if raw % SCALE == 0 else format_raw(raw)


class AuditConverter:
    """Turns platform events into audit lines, tracking each order's type and total."""

    def __init__(self) -> None:
        self._orders: dict[str, tuple[str, int, int]] = {}  # id -> (type, total, open)

    def convert(self, event: Any) -> AuditOrderLine | AuditTradeLine | None:
        """The audit line of one event (``None`` for fills and rejects)."""
        if isinstance(event, OrderNew):
            otype = (
                "MARKET"
                if event.order_type == "MARKET"
                else "IOC"
                if event.time_in_force in ("IOC", "FOK")
                else "LIMIT"
            )
            self._orders[event.order_id] = (otype, event.quantity, event.quantity)
            return AuditOrderLine(
                kind="order_new",
                ts_ns=event.ts_event,
                order_id=event.order_id,
                user_id=event.user_id,
                account_id=event.account_id,
                symbol=event.symbol,
                side=event.side,
                order_type=otype,  # type: ignore[arg-type]
                price=format_raw(event.price) if otype != "MARKET" else "0",
                quantity=_qty(event.quantity),
                remaining=_qty(event.quantity),
            )
        if isinstance(event, Trade):
            for oid in (event.buy_order_id, event.sell_order_id):
                known = self._orders.get(oid)
                if known is not None:
                    left = known[2] - event.quantity
                    if left <= 0:
                        del self._orders[oid]
                    else:
                        self._orders[oid] = (known[0], known[1], left)
            return AuditTradeLine(
                kind="trade",
                ts_ns=event.ts_event,
                trade_id=event.event_id,
                symbol=event.symbol,
                price=format_raw(event.price),
                quantity=_qty(event.quantity),
                buy_order_id=event.buy_order_id,
                sell_order_id=event.sell_order_id,
                buy_user_id=event.buyer_user_id,
                sell_user_id=event.seller_user_id,
                buy_account_id=event.buyer_account_id,
                sell_account_id=event.seller_account_id,
                aggressor_side=event.aggressor_side,
            )
        if isinstance(event, OrderAmend):
            otype, total, open_qty = self._orders.get(
                event.order_id, ("LIMIT", event.old_quantity, event.old_quantity)
            )
            total += event.quantity - open_qty
            self._orders[event.order_id] = (otype, total, event.quantity)
            return AuditOrderLine(
                kind="order_amend",
                ts_ns=event.ts_event,
                order_id=event.order_id,
                user_id=event.user_id,
                account_id=event.account_id,
                symbol=event.symbol,
                side=event.side,
                order_type=otype,  # type: ignore[arg-type]
                price=format_raw(event.price),
                quantity=_qty(total),
                remaining=_qty(event.quantity),
            )
        if isinstance(event, OrderCancel | OrderExpire):
            otype, total, _ = self._orders.pop(event.order_id, ("LIMIT", 0, 0))
            left = (
                event.cancelled_quantity
                if isinstance(event, OrderCancel)
                else event.expired_quantity
            )
            return AuditOrderLine(
                kind="order_cancel",
                ts_ns=event.ts_event,
                order_id=event.order_id,
                user_id=event.user_id,
                account_id=event.account_id,
                symbol=event.symbol,
                side=event.side,
                order_type=otype,  # type: ignore[arg-type]
                price=format_raw(event.price) if otype != "MARKET" else "0",
                quantity=_qty(max(total, left)),
                remaining=_qty(left),
            )
        return None


_ENCODER = msgspec.json.Encoder()


def iter_audit_lines(chunks: Iterator[tuple[memoryview, Any, Any]]) -> Iterator[bytes]:
    """Audit JSON lines (with newline) of a stream given as ``SimResult.iter_chunks()``."""
    conv = AuditConverter()
    for data, _, _ in chunks:
        buf = bytearray()
        for event in read_events(data):
            line = conv.convert(event)
            if line is not None:
                buf += _ENCODER.encode(line)
                buf += b"\n"
        yield bytes(buf)


def write_audit_jsonl(chunks: Iterator[tuple[memoryview, Any, Any]], out: IO[bytes]) -> int:
    """Write the audit JSON lines of a stream; returns the number of lines."""
    lines = 0
    for block in iter_audit_lines(chunks):
        out.write(block)
        lines += block.count(b"\n")
    return lines


def audit_accounts(users: list[UserRecord]) -> bytes:
    """The accounts file: ``{"account_id": "beneficial_owner_id", ...}``."""
    return _ENCODER.encode({a: u.beneficial_owner for u in users for a in u.accounts})
