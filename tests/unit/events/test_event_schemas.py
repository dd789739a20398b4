"""Every event schema round-trips through both codecs, and every validation error names its field."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from nexus.errors import ValidationError
from nexus.events import (
    ALERT_CODEC,
    ANY_CODEC,
    DEAD_LETTER_CODEC,
    HALT_CODEC,
    ORDER_CODEC,
    QUOTE_CODEC,
    TOPIC_ALERTS,
    TOPIC_HALTS,
    TOPIC_ORDERS,
    TOPIC_QUOTES,
    TOPIC_TRADES,
    TRADE_CODEC,
    DeadLetter,
    EventCodec,
    EventDecodeError,
    Halt,
    Level,
    OrderAmend,
    OrderCancel,
    OrderExpire,
    OrderFill,
    OrderNew,
    OrderReject,
    QuoteDepth,
    QuoteL1,
    SurveillanceAlert,
    codec_for_topic,
    dlq_topic,
    partition_key,
)
from tests.support.events import make_trade

P = 10**9
BASE: dict[str, Any] = {"event_id": "e-1", "ts_event": 1_700_000_000_000_000_000}
ORDER: dict[str, Any] = {
    **BASE,
    "symbol": "AAPL",
    "order_id": "o1",
    "user_id": "u1",
    "account_id": "a1",
}

SAMPLES: list[tuple[EventCodec, Any]] = [
    (ORDER_CODEC, OrderNew(**ORDER, side="BUY", order_type="LIMIT", price=100 * P, quantity=5 * P)),
    (
        ORDER_CODEC,
        OrderNew(**ORDER, side="SELL", order_type="MARKET", time_in_force="IOC", quantity=P),
    ),
    (
        ORDER_CODEC,
        OrderAmend(
            **ORDER,
            side="BUY",
            price=99 * P,
            quantity=4 * P,
            old_price=100 * P,
            old_quantity=5 * P,
            keeps_priority=False,
        ),
    ),
    (ORDER_CODEC, OrderCancel(**ORDER, side="BUY", price=99 * P, cancelled_quantity=4 * P)),
    (ORDER_CODEC, OrderReject(**ORDER, reason="user halted: spoofing alert A-1")),
    (ORDER_CODEC, OrderExpire(**ORDER, side="SELL", price=P, expired_quantity=P)),
    (
        ORDER_CODEC,
        OrderFill(
            **ORDER,
            side="BUY",
            trade_id="t1",
            price=P,
            quantity=P,
            leaves_quantity=0,
            aggressor=True,
        ),
    ),
    (TRADE_CODEC, make_trade(1)),
    (
        QUOTE_CODEC,
        QuoteL1(
            **BASE,
            symbol="AAPL",
            venue="ARCA",
            bid_price=99 * P,
            bid_size=P,
            ask_price=100 * P,
            ask_size=2 * P,
        ),
    ),
    (
        QUOTE_CODEC,
        QuoteDepth(
            **BASE,
            symbol="AAPL",
            venue="ARCA",
            bids=[Level(99 * P, P, 1), Level(98 * P, P, 2)],
            asks=[Level(100 * P, P, 1)],
        ),
    ),
    (
        HALT_CODEC,
        Halt(
            **BASE,
            scope="USER",
            target="u1",
            action="HALT",
            reason="CRITICAL alert",
            source_alert_id="A-1",
            expires_at_ns=2_000_000_000_000_000_000,
        ),
    ),
    (
        ALERT_CODEC,
        SurveillanceAlert(
            **BASE,
            symbol="AAPL",
            user_id="u1",
            alert_type="SPOOFING",
            severity="CRITICAL",
            score=0.97,
            window_start_ns=1,
            window_end_ns=2,
        ),
    ),
    (
        DEAD_LETTER_CODEC,
        DeadLetter(
            source_topic="orders.events",
            partition=1,
            offset=7,
            key=b"AAPL",
            payload=b"\x00",
            reason="bad",
            error_type="EventDecodeError",
            consumer_group="g",
            ts_dead_lettered=1,
        ),
    ),
]


@pytest.mark.parametrize(("codec", "event"), SAMPLES, ids=lambda v: type(v).__name__)
def test_event_round_trips_through_msgpack_and_json(codec: EventCodec, event: Any) -> None:
    assert codec.decode(codec.encode(event)) == event
    assert codec.decode_json(codec.encode_json(event)) == event


@pytest.mark.parametrize(("codec", "event"), SAMPLES[:-1], ids=lambda v: type(v).__name__)
def test_every_event_carries_version_id_time_and_key(codec: EventCodec, event: Any) -> None:
    assert event.schema_version == 1
    assert event.event_id and event.ts_event > 0
    assert partition_key(event) in (b"AAPL", b"u1")
    assert ANY_CODEC.decode(ANY_CODEC.encode(event)) == event


def test_unknown_fields_are_ignored_so_old_consumers_survive_new_producers() -> None:
    fields = msgspec.structs.asdict(make_trade(1))
    data = msgspec.msgpack.encode({"type": "trade", **fields, "new_field_from_v2": [1, 2]})
    assert TRADE_CODEC.decode(data) == make_trade(1)


def _mutated(event: Any, **changes: Any) -> bytes:
    fields = msgspec.structs.asdict(event)
    fields.update(changes)
    return msgspec.json.encode({"type": type(event).__struct_config__.tag, **fields})


ORDER_NEW = SAMPLES[0][1]
INVALID: list[tuple[EventCodec, Any, dict[str, Any], str]] = [
    (ORDER_CODEC, ORDER_NEW, {"quantity": 0}, "$.quantity"),
    (ORDER_CODEC, ORDER_NEW, {"quantity": -5}, "$.quantity"),
    (ORDER_CODEC, ORDER_NEW, {"quantity": 2**63}, "$.quantity"),
    (ORDER_CODEC, ORDER_NEW, {"side": "HOLD"}, "$.side"),
    (ORDER_CODEC, ORDER_NEW, {"order_type": "STOP"}, "$.order_type"),
    (ORDER_CODEC, ORDER_NEW, {"time_in_force": "GTD"}, "$.time_in_force"),
    (ORDER_CODEC, ORDER_NEW, {"symbol": "aapl"}, "$.symbol"),
    (ORDER_CODEC, ORDER_NEW, {"symbol": "TOO-LONG-SYMBOL-NAME"}, "$.symbol"),
    (ORDER_CODEC, ORDER_NEW, {"order_id": "x" * 65}, "$.order_id"),
    (ORDER_CODEC, ORDER_NEW, {"price": "100.5"}, "$.price"),
    (ORDER_CODEC, ORDER_NEW, {"price": 0}, "$.price"),
    (ORDER_CODEC, ORDER_NEW, {"ts_event": -1}, "$.ts_event"),
    (ORDER_CODEC, ORDER_NEW, {"event_id": ""}, "$.event_id"),
    (ORDER_CODEC, SAMPLES[1][1], {"post_only": True}, "$.post_only"),
    (TRADE_CODEC, make_trade(1), {"price": 0}, "$.price"),
    (TRADE_CODEC, make_trade(1), {"aggressor_side": "X"}, "$.aggressor_side"),
    (QUOTE_CODEC, SAMPLES[8][1], {"bid_price": 101 * P}, "$.bid_price"),
    (QUOTE_CODEC, SAMPLES[9][1], {"bids": [[98 * P, P, 1], [99 * P, P, 1]]}, "$.bids[1]"),
    (QUOTE_CODEC, SAMPLES[9][1], {"asks": [[99 * P, P, 1]]}, "$.bids[0]"),
    (QUOTE_CODEC, SAMPLES[9][1], {"bids": [[99 * P, 0, 1]]}, "$.bids[0][1]"),
    (HALT_CODEC, SAMPLES[10][1], {"scope": "ACCOUNT"}, "$.scope"),
    (HALT_CODEC, SAMPLES[10][1], {"action": "PAUSE"}, "$.action"),
    (ALERT_CODEC, SAMPLES[11][1], {"score": 1.5}, "$.score"),
    (ALERT_CODEC, SAMPLES[11][1], {"severity": "URGENT"}, "$.severity"),
]


@pytest.mark.parametrize(
    ("codec", "event", "changes", "field"),
    INVALID,
    ids=[f"{type(e).__name__}-{next(iter(c))}" for _, e, c, _ in INVALID],
)
def test_invalid_event_is_refused_naming_the_field(
    codec: EventCodec, event: Any, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(EventDecodeError) as info:
        codec.decode_json(_mutated(event, **changes))
    assert info.value.field == field
    assert isinstance(info.value, ValidationError)


def test_missing_required_field_is_named() -> None:
    with pytest.raises(EventDecodeError) as info:
        ORDER_CODEC.decode_json(b'{"type":"new","event_id":"e","ts_event":1}')
    assert "symbol" in str(info.value)


def test_unknown_event_kind_is_refused() -> None:
    with pytest.raises(EventDecodeError, match="type"):
        ORDER_CODEC.decode_json(b'{"type":"teleport","event_id":"e","ts_event":1}')


def test_garbage_bytes_are_refused_with_decode_error() -> None:
    with pytest.raises(EventDecodeError):
        TRADE_CODEC.decode(b"\xc1\xc1")
    with pytest.raises(EventDecodeError):
        TRADE_CODEC.decode_json(b"{not json")


def test_topics_map_to_their_schemas_and_dlq() -> None:
    assert codec_for_topic(TOPIC_ORDERS) is ORDER_CODEC
    assert codec_for_topic(TOPIC_TRADES) is TRADE_CODEC
    assert codec_for_topic(TOPIC_QUOTES) is QUOTE_CODEC
    assert codec_for_topic(TOPIC_HALTS) is HALT_CODEC
    assert codec_for_topic(TOPIC_ALERTS) is ALERT_CODEC
    assert codec_for_topic(dlq_topic(TOPIC_ORDERS)) is DEAD_LETTER_CODEC
    with pytest.raises(ValidationError):
        codec_for_topic("nope")


def test_partition_key_is_symbol_or_halt_target() -> None:
    assert partition_key(make_trade(1, "MSFT")) == b"MSFT"
    assert partition_key(SAMPLES[10][1]) == b"u1"
    with pytest.raises(ValidationError):
        partition_key(SAMPLES[-1][1])
