"""One internal event form for every input: platform events and audit-trail JSON lines.

The detectors see only :class:`Ev`. :func:`normalise` turns a ``nexus.events`` order or trade
struct, an audit record (:class:`AuditOrder` / :class:`AuditTrade`, or their JSON ``dict``) into
one, or ``None`` for events surveillance does not need (rejects; per-side fills, because the
trade carries the same match). Audit lines are decoded by one reused msgspec decoder
(:func:`decode_audit_line`); prices become raw fixed point (``value * 10**9``), audit integer
quantities are shares and become raw fixed point too.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec

from nexus.errors import ValidationError, split_error_path
from nexus.events import (
    OrderAmend,
    OrderCancel,
    OrderExpire,
    OrderFill,
    OrderNew,
    OrderReject,
    Trade,
)

SCALE: Final = 1_000_000_000

NEW: Final = 0
AMEND: Final = 1
CANCEL: Final = 2
TRADE: Final = 3
KIND_NAMES: Final = ("order_new", "order_amend", "order_cancel", "trade")
#: Same-timestamp ordering: a new order before its trades, trades before the remainder's cancel.
KIND_RANK: Final = (0, 1, 3, 2)

BUY: Final = 1
SELL: Final = -1

LIMIT: Final = 0
MARKET: Final = 1
IOC: Final = 2
ORDER_TYPE_NAMES: Final = ("LIMIT", "MARKET", "IOC")


class InputError(ValidationError):
    """An input record surveillance cannot read (bad JSON, bad field, unknown kind)."""


class Ev:
    """One normalised event. ``side`` is +1 buy / -1 sell (a trade's aggressor side);
    ``price``, ``quantity``, ``remaining`` are raw fixed point (``quantity`` 0 on an amend of a
    platform event means "total unknown": the book derives it)."""

    __slots__ = (
        "account_id",
        "buy_account",
        "buy_order_id",
        "buy_user",
        "kind",
        "order_id",
        "order_type",
        "price",
        "quantity",
        "remaining",
        "sell_account",
        "sell_order_id",
        "sell_user",
        "seq",
        "side",
        "symbol",
        "trade_id",
        "ts",
        "user_id",
    )

    def __init__(
        self,
        kind: int,
        ts: int,
        symbol: str,
        *,
        order_id: str = "",
        user_id: str = "",
        account_id: str = "",
        side: int = BUY,
        order_type: int = LIMIT,
        price: int = 0,
        quantity: int = 0,
        remaining: int = 0,
        trade_id: str = "",
        buy_order_id: str = "",
        sell_order_id: str = "",
        buy_user: str = "",
        sell_user: str = "",
        buy_account: str = "",
        sell_account: str = "",
    ) -> None:
        self.kind = kind
        self.ts = ts
        self.symbol = symbol
        self.order_id = order_id
        self.user_id = user_id
        self.account_id = account_id
        self.side = side
        self.order_type = order_type
        self.price = price
        self.quantity = quantity
        self.remaining = remaining
        self.trade_id = trade_id
        self.buy_order_id = buy_order_id
        self.sell_order_id = sell_order_id
        self.buy_user = buy_user
        self.sell_user = sell_user
        self.buy_account = buy_account
        self.sell_account = sell_account
        self.seq = 0

    def sort_key(self) -> tuple[int, int, int]:
        """(event time, kind rank, arrival sequence): the engine's processing order."""
        return (self.ts, KIND_RANK[self.kind], self.seq)

    def __repr__(self) -> str:
        ident = self.trade_id if self.kind == TRADE else self.order_id
        return f"Ev({KIND_NAMES[self.kind]} {self.symbol} {ident} ts={self.ts})"


# -- audit-trail records -------------------------------------------------------------------------
SideName = Literal["BUY", "SELL"]
Number = str | int
TsNs = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class AuditOrder(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """An ``order_new`` / ``order_amend`` / ``order_cancel`` line (fields as in the issue)."""

    kind: Literal["order_new", "order_amend", "order_cancel"]
    ts_ns: TsNs
    order_id: str
    user_id: str
    account_id: str
    symbol: str
    side: SideName
    order_type: Literal["LIMIT", "MARKET", "IOC"] = "LIMIT"
    price: Number = "0"
    quantity: Number = "0"
    remaining: Number = "0"


class AuditTrade(msgspec.Struct, kw_only=True, forbid_unknown_fields=False):
    """A ``trade`` line (the order, user and account ids of either side may be missing)."""

    kind: Literal["trade"]
    ts_ns: TsNs
    trade_id: str
    symbol: str
    price: Number
    quantity: Number
    aggressor_side: SideName
    #: A venue may report only one side's (or no) ids; the engine fills them from the book.
    buy_order_id: str = ""
    sell_order_id: str = ""
    buy_user_id: str = ""
    sell_user_id: str = ""
    buy_account_id: str = ""
    sell_account_id: str = ""


class _Kind(msgspec.Struct, forbid_unknown_fields=False):
    kind: str


_KIND_DECODER: Final = msgspec.json.Decoder(_Kind)
_ORDER_DECODER: Final = msgspec.json.Decoder(AuditOrder)
_TRADE_DECODER: Final = msgspec.json.Decoder(AuditTrade)
_ORDER_KINDS: Final = {"order_new": NEW, "order_amend": AMEND, "order_cancel": CANCEL}
_TYPES: Final = {"LIMIT": LIMIT, "MARKET": MARKET, "IOC": IOC}


_CACHE_MAX: Final = 65_536
_price_cache: dict[str, int] = {}
_qty_cache: dict[str, int] = {}


def price_raw(value: Number) -> int:
    """Raw fixed point of a decimal string (or int) price; raises :class:`InputError`."""
    if isinstance(value, int):
        return value * SCALE
    cached = _price_cache.get(value)
    if cached is not None:
        return cached
    raw = _parse_decimal(value)
    if len(_price_cache) >= _CACHE_MAX:
        _price_cache.clear()
    _price_cache[value] = raw
    return raw


def _parse_decimal(value: str) -> int:
    s = value.strip()
    neg = s.startswith("-")
    if neg or s.startswith("+"):
        s = s[1:]
    whole, _, frac = s.partition(".")
    if not (whole or frac) or not (whole.isdigit() or not whole) or (frac and not frac.isdigit()):
        raise InputError(f"not a decimal number: {value!r}", field="$.price")
    if len(frac) > 9:
        if frac[9:].strip("0"):
            raise InputError(f"more than 9 decimal places: {value!r}", field="$.price")
        frac = frac[:9]
    raw = int(whole or "0") * SCALE + (int(frac.ljust(9, "0")) if frac else 0)
    return -raw if neg else raw


def quantity_raw(value: Number, field: str = "$.quantity") -> int:
    """Raw fixed point of an audit quantity (whole shares; a decimal string is accepted)."""
    if isinstance(value, int):
        return value * SCALE
    cached = _qty_cache.get(value)
    if cached is not None:
        return cached
    s = value.strip()
    if s.isdigit():
        raw = int(s) * SCALE
    else:
        try:
            raw = _parse_decimal(s)
        except InputError:
            raise InputError(f"not a quantity: {value!r}", field=field) from None
    if len(_qty_cache) >= _CACHE_MAX:
        _qty_cache.clear()
    _qty_cache[value] = raw
    return raw


def decode_audit_line(line: bytes | str) -> AuditOrder | AuditTrade:
    """Decode and validate one audit JSON line; raises :class:`InputError` naming the field."""
    try:
        kind = _KIND_DECODER.decode(line).kind
        if kind == "trade":
            return _TRADE_DECODER.decode(line)
        if kind in _ORDER_KINDS:
            return _ORDER_DECODER.decode(line)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        message = str(exc)
        field = split_error_path(message)[1]
        raise InputError(message, field=field) from exc
    raise InputError(f"unknown kind {kind!r}", field="$.kind")


def from_audit(rec: AuditOrder | AuditTrade) -> Ev:
    """The internal form of a decoded audit record."""
    if isinstance(rec, AuditTrade):
        return Ev(
            TRADE,
            rec.ts_ns,
            rec.symbol,
            side=BUY if rec.aggressor_side == "BUY" else SELL,
            price=price_raw(rec.price),
            quantity=quantity_raw(rec.quantity),
            trade_id=rec.trade_id,
            buy_order_id=rec.buy_order_id,
            sell_order_id=rec.sell_order_id,
            buy_user=rec.buy_user_id,
            sell_user=rec.sell_user_id,
            buy_account=rec.buy_account_id,
            sell_account=rec.sell_account_id,
        )
    return Ev(
        _ORDER_KINDS[rec.kind],
        rec.ts_ns,
        rec.symbol,
        order_id=rec.order_id,
        user_id=rec.user_id,
        account_id=rec.account_id,
        side=BUY if rec.side == "BUY" else SELL,
        order_type=_TYPES[rec.order_type],
        price=price_raw(rec.price),
        quantity=quantity_raw(rec.quantity),
        remaining=quantity_raw(rec.remaining, "$.remaining"),
    )


def _side(name: str) -> int:
    return BUY if name == "BUY" else SELL


def from_platform(event: Any) -> Ev | None:
    """The internal form of a ``nexus.events`` order or trade struct (``None``: not needed)."""
    if isinstance(event, OrderNew):
        if event.order_type == "MARKET":
            otype = MARKET
        elif event.time_in_force in ("IOC", "FOK"):
            otype = IOC
        else:
            otype = LIMIT
        return Ev(
            NEW,
            event.ts_event,
            event.symbol,
            order_id=event.order_id,
            user_id=event.user_id,
            account_id=event.account_id,
            side=_side(event.side),
            order_type=otype,
            price=event.price,
            quantity=event.quantity,
            remaining=event.quantity,
        )
    if isinstance(event, Trade):
        return Ev(
            TRADE,
            event.ts_event,
            event.symbol,
            side=_side(event.aggressor_side),
            price=event.price,
            quantity=event.quantity,
            trade_id=event.event_id,
            buy_order_id=event.buy_order_id,
            sell_order_id=event.sell_order_id,
            buy_user=event.buyer_user_id,
            sell_user=event.seller_user_id,
            buy_account=event.buyer_account_id,
            sell_account=event.seller_account_id,
        )
    if isinstance(event, OrderCancel | OrderExpire | OrderAmend):
        if isinstance(event, OrderAmend):
            kind, remaining, qty = AMEND, event.quantity, 0
        else:
            kind, qty = CANCEL, 0
            remaining = (
                event.cancelled_quantity
                if isinstance(event, OrderCancel)
                else event.expired_quantity
            )
        return Ev(
            kind,
            event.ts_event,
            event.symbol,
            order_id=event.order_id,
            user_id=event.user_id,
            account_id=event.account_id,
            side=_side(event.side),
            price=event.price,
            quantity=qty,
            remaining=remaining,
        )
    if isinstance(event, OrderFill | OrderReject):
        return None
    raise InputError(f"not a surveillance input: {type(event).__name__}", field="$")


def normalise(event: Any) -> Ev | None:
    """Any accepted input as an :class:`Ev` (``None`` for events surveillance ignores).

    Accepts an :class:`Ev`, a ``nexus.events`` struct, an audit record struct, an audit
    ``dict`` (decoded JSON) or one audit JSON line (``bytes``/``str``).
    """
    if isinstance(event, Ev):
        return event
    if isinstance(event, AuditOrder | AuditTrade):
        return from_audit(event)
    if isinstance(event, bytes | str):
        line: AuditOrder | AuditTrade = decode_audit_line(event)
        return from_audit(line)
    if isinstance(event, dict):
        kind = event.get("kind")
        try:
            rec: AuditOrder | AuditTrade = (
                msgspec.convert(event, type=AuditTrade)
                if kind == "trade"
                else msgspec.convert(event, type=AuditOrder)
            )
        except msgspec.ValidationError as exc:
            raise InputError(str(exc)) from exc
        return from_audit(rec)
    return from_platform(event)
