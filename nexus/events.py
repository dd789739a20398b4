"""Typed, versioned event schemas for every Kafka topic, and their codecs.

Every event carries ``schema_version``, a deterministic ``event_id``, ``ts_event`` (event time,
integer nanoseconds since the Unix epoch, UTC) and the partition key of its topic (``symbol``
for orders, trades and quotes; the halt target for halts). Prices and quantities travel as raw
fixed-point integers (``value * 10**9``, see :mod:`nexus.money`) on Kafka; REST speaks decimal
strings. Decoding validates: constraints are part of the types, and a failure raises
:class:`EventDecodeError` naming the offending path (``$.quantity``).

Unknown fields are ignored, so an old consumer survives a newer producer; new fields get
defaults. Kafka payloads are msgpack, REST payloads JSON, both through msgspec with codecs
created once per process.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

from nexus.errors import ValidationError, split_error_path

SCHEMA_VERSION: Final = 1
INT64_MAX: Final = 2**63 - 1

# -- topics (DESIGN.md topic table) ------------------------------------------------------------
TOPIC_ORDERS: Final = "orders.events"
TOPIC_TRADES: Final = "trades.executed"
TOPIC_QUOTES: Final = "marketdata.quotes"
TOPIC_ALERTS: Final = "surveillance.alerts"
TOPIC_ROUTING_DECISIONS: Final = "routing.decisions"
TOPIC_ROUTING_EXECUTIONS: Final = "routing.executions"
TOPIC_HALTS: Final = "risk.halts"
DLQ_SUFFIX: Final = ".dlq"


def dlq_topic(topic: str) -> str:
    """The dead-letter topic of ``topic``."""
    return topic + DLQ_SUFFIX


# -- constrained field types -------------------------------------------------------------------
#: The one spelling of a ticker symbol (1-16 characters: a capital, then capitals, digits, . or -).
SYMBOL_PATTERN = r"^[A-Z][A-Z0-9.\-]{0,15}$"
SYMBOL_RE = re.compile(SYMBOL_PATTERN)
Symbol = Annotated[str, Meta(pattern=SYMBOL_PATTERN, description="Ticker symbol")]
Identifier = Annotated[str, Meta(min_length=1, max_length=64, description="Identifier")]
TimestampNs = Annotated[int, Meta(ge=0, le=INT64_MAX, description="UTC nanoseconds")]
RawPrice = Annotated[int, Meta(gt=0, le=INT64_MAX, description="Price raw fixed-point (1e-9)")]
RawQuantity = Annotated[int, Meta(gt=0, le=INT64_MAX, description="Quantity raw fixed-point")]
RawQuantityOrZero = Annotated[int, Meta(ge=0, le=INT64_MAX, description="Quantity raw, >= 0")]
RawPriceOrZero = Annotated[int, Meta(ge=0, le=INT64_MAX, description="Price raw; 0 = none")]
Side = Literal["BUY", "SELL"]
OrderType = Literal["LIMIT", "MARKET"]
TimeInForce = Literal["GTC", "DAY", "IOC", "FOK"]
Reason = Annotated[str, Meta(max_length=512)]


class EventDecodeError(ValidationError):
    """Bytes that are not a valid event; ``field`` names the bad path when known."""


class Event(Struct, frozen=True, kw_only=True, forbid_unknown_fields=False):
    """Fields every event carries."""

    event_id: Identifier
    ts_event: TimestampNs
    schema_version: int = SCHEMA_VERSION


# -- orders.events ----------------------------------------------------------------------------
class OrderEventBase(Event, frozen=True, kw_only=True):
    symbol: Symbol
    order_id: Identifier
    user_id: Identifier
    account_id: Identifier
    venue: Identifier = "NEXUS"


class OrderNew(OrderEventBase, frozen=True, kw_only=True, tag="new"):
    """An order accepted into the book (or about to match)."""

    side: Side
    order_type: OrderType
    time_in_force: TimeInForce = "GTC"
    price: RawPriceOrZero = 0
    quantity: RawQuantity
    post_only: bool = False
    client_order_id: Identifier | None = None

    def __post_init__(self) -> None:
        if self.order_type == "LIMIT" and self.price == 0:
            raise ValueError("a LIMIT order needs a price > 0 - at `$.price`")
        if self.order_type == "MARKET" and self.post_only:
            raise ValueError("a MARKET order cannot be post-only - at `$.post_only`")


class OrderAmend(OrderEventBase, frozen=True, kw_only=True, tag="amend"):
    """Price and/or quantity changed; ``keeps_priority`` is True for pure size decreases."""

    side: Side
    price: RawPriceOrZero
    quantity: RawQuantity
    old_price: RawPriceOrZero
    old_quantity: RawQuantity
    keeps_priority: bool


class OrderCancel(OrderEventBase, frozen=True, kw_only=True, tag="cancel"):
    """The resting remainder was cancelled (by the user, STP or an IOC remainder)."""

    side: Side
    price: RawPriceOrZero
    cancelled_quantity: RawQuantity
    reason: Reason = "user"


class OrderReject(OrderEventBase, frozen=True, kw_only=True, tag="reject"):
    """The order was refused; ``reason`` says why (halt, invalid, post-only would cross...)."""

    side: Side | None = None
    price: RawPriceOrZero = 0
    quantity: RawQuantityOrZero = 0
    reason: Reason


class OrderExpire(OrderEventBase, frozen=True, kw_only=True, tag="expire"):
    """A time-in-force ran out (DAY at close, IOC/FOK unfilled remainder)."""

    side: Side
    price: RawPriceOrZero
    expired_quantity: RawQuantity


class OrderFill(OrderEventBase, frozen=True, kw_only=True, tag="fill"):
    """One side's view of a match; ``leaves_quantity`` is what still rests."""

    side: Side
    trade_id: Identifier
    price: RawPrice
    quantity: RawQuantity
    leaves_quantity: RawQuantityOrZero
    aggressor: bool


OrderEvent = OrderNew | OrderAmend | OrderCancel | OrderReject | OrderExpire | OrderFill


# -- trades.executed ----------------------------------------------------------------------------
class Trade(Event, frozen=True, kw_only=True, tag="trade"):
    """A match between a buyer and a seller (``event_id`` is the trade id)."""

    symbol: Symbol
    venue: Identifier = "NEXUS"
    price: RawPrice
    quantity: RawQuantity
    aggressor_side: Side
    buy_order_id: Identifier
    sell_order_id: Identifier
    buyer_user_id: Identifier
    buyer_account_id: Identifier
    seller_user_id: Identifier
    seller_account_id: Identifier


# -- marketdata.quotes --------------------------------------------------------------------------
class QuoteL1(Event, frozen=True, kw_only=True, tag="l1"):
    """Top of book at one venue; a zero price and size means that side is empty."""

    symbol: Symbol
    venue: Identifier
    bid_price: RawPriceOrZero
    bid_size: RawQuantityOrZero
    ask_price: RawPriceOrZero
    ask_size: RawQuantityOrZero

    def __post_init__(self) -> None:
        if self.bid_price and self.ask_price and self.bid_price >= self.ask_price:
            raise ValueError("crossed or locked quote: bid >= ask - at `$.bid_price`")


class Level(Struct, frozen=True, array_like=True):
    """One price level: (price raw, size raw, order count)."""

    price: RawPrice
    size: RawQuantity
    orders: Annotated[int, Meta(ge=0)] = 0


class QuoteDepth(Event, frozen=True, kw_only=True, tag="depth"):
    """A depth snapshot: bids best (highest) first, asks best (lowest) first."""

    symbol: Symbol
    venue: Identifier
    bids: Annotated[list[Level], Meta(max_length=1000)]
    asks: Annotated[list[Level], Meta(max_length=1000)]

    def __post_init__(self) -> None:
        for name, levels, descending in (("bids", self.bids, True), ("asks", self.asks, False)):
            for i in range(1, len(levels)):
                prev, cur = levels[i - 1].price, levels[i].price
                if (cur >= prev) if descending else (cur <= prev):
                    raise ValueError(f"{name} not strictly ordered best first - at `$.{name}[{i}]`")
        if self.bids and self.asks and self.bids[0].price >= self.asks[0].price:
            raise ValueError("crossed or locked depth: best bid >= best ask - at `$.bids[0]`")


Quote = QuoteL1 | QuoteDepth


# -- risk.halts ---------------------------------------------------------------------------------
class Halt(Event, frozen=True, kw_only=True, tag="halt"):
    """Trading halted (``action`` HALT) or resumed for a user or a symbol."""

    scope: Literal["USER", "SYMBOL"]
    target: Identifier
    action: Literal["HALT", "RESUME"]
    reason: Reason
    source_alert_id: Identifier | None = None
    expires_at_ns: TimestampNs | None = None
    requested_by: Identifier = "system"

    @property
    def key(self) -> str:
        """Partition key: the halted user or symbol."""
        return self.target


# -- surveillance.alerts (schema owned by surveillance; carried here for every consumer) --------
class SurveillanceAlert(Event, frozen=True, kw_only=True, tag="alert"):
    """A suspected manipulation episode."""

    symbol: Symbol
    user_id: Identifier
    alert_type: Literal["SPOOFING", "LAYERING", "WASH_TRADING", "MOMENTUM_IGNITION"]
    severity: Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
    score: Annotated[float, Meta(ge=0.0, le=1.0)]
    window_start_ns: TimestampNs
    window_end_ns: TimestampNs
    order_ids: list[Identifier] = []
    description: Reason = ""
    #: One episode keeps its ``event_id`` (the alert id) across versions; ``version`` counts
    #: the updates (1 = first raised), so consumers deduplicate on ``(event_id, version)``.
    version: Annotated[int, Meta(ge=1)] = 1
    account_ids: list[Identifier] = []
    owner_id: Identifier | None = None
    trade_ids: list[Identifier] = []


# -- routing.decisions, routing.executions -------------------------------------------------------
RoutingStatus = Literal[
    "FILLED", "PARTIALLY_FILLED", "CANCELED", "REJECTED", "WORKING", "UNKNOWN", "UNFILLED"
]


class NbboAt(Struct, frozen=True, kw_only=True):
    """The consolidated protected best bid and offer at one instant (0 = that side empty)."""

    bid_price: RawPriceOrZero = 0
    bid_size: RawQuantityOrZero = 0
    bid_venues: list[Identifier] = []
    ask_price: RawPriceOrZero = 0
    ask_size: RawQuantityOrZero = 0
    ask_venues: list[Identifier] = []
    state: Literal["NORMAL", "LOCKED", "CROSSED", "ONE_SIDED", "EMPTY"] = "EMPTY"
    ts_event: TimestampNs = 0


class RoutedChild(Struct, frozen=True, kw_only=True):
    """A child the decision sends: venue, quantity, limit, and why (SWEEP, ISO, RESIDUAL)."""

    venue: Identifier
    quantity: RawQuantity
    limit_price: RawPriceOrZero
    kind: Literal["SWEEP", "ISO", "RESIDUAL"] = "SWEEP"
    iso: bool = False


class RoutingAlternative(Struct, frozen=True, kw_only=True):
    """One venue the strategy considered, with its score (lower is better) and whether chosen."""

    venue: Identifier
    rank: int
    score: float
    price: RawPriceOrZero = 0
    available: RawQuantityOrZero = 0
    chosen: bool = False
    reason: Reason = ""


class RoutingDecisionEvent(Event, frozen=True, kw_only=True, tag="routing_decision"):
    """A routing decision for a parent order (or, ``round`` > 0, for its remainder).

    ``event_id`` is the decision id. The NBBO is the one the decision saw; ``rule_set`` and
    ``rule_set_effective`` name the regulatory parameters applied (SEC 606 and 605 inputs).
    """

    symbol: Symbol
    order_id: Identifier
    user_id: Identifier
    side: Side
    quantity: RawQuantity
    limit_price: RawPriceOrZero
    strategy: Identifier
    round: Annotated[int, Meta(ge=0)] = 0
    children: list[RoutedChild] = []
    alternatives: list[RoutingAlternative] = []
    rationale: Annotated[str, Meta(max_length=4096)] = ""
    rule_set: Identifier = "unknown"
    rule_set_effective: Annotated[str, Meta(max_length=32)] = ""
    protection: Annotated[str, Meta(max_length=64)] = ""
    protection_exceptions: list[Reason] = []
    nbbo: NbboAt = NbboAt()


class ChildExecuted(Event, frozen=True, kw_only=True, tag="routing_child"):
    """How one child ended at its venue (``event_id`` = ``<child_id>:end``)."""

    symbol: Symbol
    order_id: Identifier
    child_id: Identifier
    decision_id: Identifier
    user_id: Identifier
    venue: Identifier
    side: Side
    quantity: RawQuantity
    limit_price: RawPriceOrZero
    iso: bool = False
    time_in_force: Literal["IOC", "DAY"] = "IOC"
    round: Annotated[int, Meta(ge=0)] = 0
    status: RoutingStatus
    filled_quantity: RawQuantityOrZero = 0
    leaves_quantity: RawQuantityOrZero = 0
    reason: Reason = ""
    sent_ns: TimestampNs = 0
    done_ns: TimestampNs = 0
    timed_out: bool = False
    nbbo_at_decision: NbboAt = NbboAt()
    nbbo_at_execution: NbboAt = NbboAt()


class RoutedFill(Event, frozen=True, kw_only=True, tag="routing_fill"):
    """One fill of a child (``event_id`` = the venue's fill id), with both NBBO snapshots.

    ``fee`` is raw money, positive paid, negative a rebate received.
    """

    symbol: Symbol
    order_id: Identifier
    child_id: Identifier
    user_id: Identifier
    venue: Identifier
    side: Side
    price: RawPrice
    quantity: RawQuantity
    fee: int = 0
    liquidity: Literal["TAKER", "MAKER"] = "TAKER"
    iso: bool = False
    nbbo_at_decision: NbboAt = NbboAt()
    nbbo_at_execution: NbboAt = NbboAt()


class ParentExecuted(Event, frozen=True, kw_only=True, tag="routing_parent"):
    """A parent order's outcome: exact quantities (filled + leaves + in doubt = quantity)."""

    symbol: Symbol
    order_id: Identifier
    user_id: Identifier
    side: Side
    strategy: Identifier
    quantity: RawQuantity
    limit_price: RawPriceOrZero
    status: Literal["FILLED", "PARTIALLY_FILLED", "UNFILLED", "REFUSED"]
    filled_quantity: RawQuantityOrZero = 0
    leaves_quantity: RawQuantityOrZero = 0
    in_doubt_quantity: RawQuantityOrZero = 0
    average_price: RawPriceOrZero = 0
    fees: int = 0
    children: Annotated[int, Meta(ge=0)] = 0
    reason: Reason = ""
    ts_start: TimestampNs = 0


RoutingExecution = ChildExecuted | RoutedFill | ParentExecuted


# -- *.dlq ---------------------------------------------------------------------------------------
class DeadLetter(Struct, frozen=True, kw_only=True, tag="dead_letter"):
    """A message a consumer could not decode or validate, with the reason, for operators."""

    source_topic: str
    partition: int
    offset: int
    key: bytes | None
    payload: bytes
    reason: Reason
    error_type: str
    consumer_group: str
    ts_dead_lettered: TimestampNs
    schema_version: int = SCHEMA_VERSION


AnyEvent = OrderEvent | Trade | Quote | Halt | SurveillanceAlert

#: The schema of each topic: what a consumer of that topic decodes.
TOPIC_SCHEMAS: Final[dict[str, Any]] = {
    TOPIC_ORDERS: OrderEvent,
    TOPIC_TRADES: Trade,
    TOPIC_QUOTES: Quote,
    TOPIC_HALTS: Halt,
    TOPIC_ALERTS: SurveillanceAlert,
    TOPIC_ROUTING_DECISIONS: RoutingDecisionEvent,
    TOPIC_ROUTING_EXECUTIONS: RoutingExecution,
}

T = TypeVar("T")


class EventCodec:
    """Reusable msgpack (Kafka) and JSON (REST) codecs for one schema (a Struct or a union)."""

    __slots__ = ("_json_decoder", "_msgpack_decoder", "schema")

    _msgpack_encoder: Final = msgspec.msgpack.Encoder()
    _json_encoder: Final = msgspec.json.Encoder()

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self._msgpack_decoder = msgspec.msgpack.Decoder(schema)
        self._json_decoder = msgspec.json.Decoder(schema)

    def encode(self, event: Struct) -> bytes:
        """msgpack bytes for Kafka."""
        return self._msgpack_encoder.encode(event)

    def decode(self, data: bytes) -> Any:
        """Decode and validate msgpack bytes; raises :class:`EventDecodeError`."""
        try:
            return self._msgpack_decoder.decode(data)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise _decode_error(exc) from exc

    def encode_json(self, event: Struct) -> bytes:
        """JSON bytes (REST, files)."""
        return self._json_encoder.encode(event)

    def decode_json(self, data: bytes | str) -> Any:
        """Decode and validate JSON; raises :class:`EventDecodeError`."""
        try:
            return self._json_decoder.decode(data)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise _decode_error(exc) from exc


def _decode_error(exc: Exception) -> EventDecodeError:
    message = str(exc)
    return EventDecodeError(message, field=split_error_path(message)[1])


ORDER_CODEC: Final = EventCodec(OrderEvent)
TRADE_CODEC: Final = EventCodec(Trade)
QUOTE_CODEC: Final = EventCodec(Quote)
HALT_CODEC: Final = EventCodec(Halt)
ALERT_CODEC: Final = EventCodec(SurveillanceAlert)
DEAD_LETTER_CODEC: Final = EventCodec(DeadLetter)
ROUTING_DECISION_CODEC: Final = EventCodec(RoutingDecisionEvent)
ROUTING_EXECUTION_CODEC: Final = EventCodec(RoutingExecution)
ANY_CODEC: Final = EventCodec(AnyEvent)


def codec_for_topic(topic: str) -> EventCodec:
    """The codec of ``topic``'s schema (a ``*.dlq`` topic carries :class:`DeadLetter`)."""
    if topic.endswith(DLQ_SUFFIX):
        return DEAD_LETTER_CODEC
    try:
        return _TOPIC_CODECS[topic]
    except KeyError:
        raise ValidationError(f"no schema registered for topic {topic!r}", field="topic") from None


_TOPIC_CODECS: Final = {
    TOPIC_ORDERS: ORDER_CODEC,
    TOPIC_TRADES: TRADE_CODEC,
    TOPIC_QUOTES: QUOTE_CODEC,
    TOPIC_HALTS: HALT_CODEC,
    TOPIC_ALERTS: ALERT_CODEC,
    TOPIC_ROUTING_DECISIONS: ROUTING_DECISION_CODEC,
    TOPIC_ROUTING_EXECUTIONS: ROUTING_EXECUTION_CODEC,
}


def partition_key(event: Struct) -> bytes:
    """The Kafka key of an event: its symbol, or the halt target."""
    if isinstance(event, Halt):
        return event.target.encode()
    symbol = getattr(event, "symbol", None)
    if not isinstance(symbol, str):
        raise ValidationError(f"{type(event).__name__} has no partition key", field="symbol")
    return symbol.encode()
