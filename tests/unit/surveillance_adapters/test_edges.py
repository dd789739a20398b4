"""The service's edge translations: topics, alert views, bus events, halt requests, fields."""

from __future__ import annotations

import msgspec
import pytest

from nexus.bus.base import exclude_dead_letters
from nexus.errors import ValidationError
from nexus.events import ALERT_CODEC, ORDER_CODEC, TRADE_CODEC, Identifier
from services.risk.core import halt_id_for_alert
from services.surveillance.alerts import (
    HALT_SUBJECT,
    alert_from_view,
    alert_view,
    event_of,
    halt_of,
    record_of,
)
from services.surveillance.api import threshold_field
from services.surveillance.consumer import EVENTS_PATTERN, decode_event
from services.surveillance.core import ThresholdError
from services.surveillance.core.types import alert_id_for
from services.surveillance.store import TRANSITIONS, content_key
from tests.support.surveillance import new_order, self_trade
from tests.support.surveillance_fakes import alert


@pytest.mark.parametrize(
    ("topic", "matched"),
    [
        ("orders.events", True),
        ("trades.executed", True),
        ("orders.venue2.events", True),
        ("orders.events.dlq", False),
        ("marketdata.quotes", False),
        ("surveillance.alerts", False),
        ("xorders.events", False),
    ],
)
def test_events_pattern_takes_every_order_and_trade_topic_but_no_dead_letters(
    topic: str, matched: bool
) -> None:
    assert bool(exclude_dead_letters(EVENTS_PATTERN).match(topic)) is matched


def test_decode_picks_the_schema_by_topic_prefix() -> None:
    trade = self_trade("t1", "u", "AAPL", 1)
    order = new_order("o1", "u", "AAPL", "BUY", 100, 1, 1)
    assert decode_event("trades.executed", TRADE_CODEC.encode(trade)) == trade
    assert decode_event("orders.venue2.events", ORDER_CODEC.encode(order)) == order


def test_decode_rejects_a_foreign_topic_and_a_trade_on_the_orders_topic() -> None:
    trade = self_trade("t1", "u", "AAPL", 1)
    with pytest.raises(ValidationError):
        decode_event("quotes.l1", TRADE_CODEC.encode(trade))
    with pytest.raises(ValidationError):
        decode_event("orders.events", TRADE_CODEC.encode(trade))


def test_alert_view_round_trips_and_the_record_keeps_its_columns() -> None:
    a = alert(evidence={"ratio": 0.30000000000000004, "ids": ["x"]})
    assert alert_from_view(alert_view(a)) == a
    r = record_of(a)
    assert (r.alert_id, r.alert_type, r.severity, r.owner_id) == (
        "SV-WA-1",
        "WASH_TRADING",
        "HIGH",
        "o1",
    )
    assert r.payload == alert_view(a)


def test_bus_event_keeps_the_alert_id_for_every_version_and_scales_the_score() -> None:
    event = event_of(alert(version=3, score=85.0, severity="CRITICAL", explanation="x" * 2_000))
    assert event.event_id == "SV-WA-1"
    assert event.version == 3
    assert event.score == pytest.approx(0.85)
    assert len(event.description) == 512
    assert ALERT_CODEC.decode(ALERT_CODEC.encode(event)) == event


def test_bus_event_of_an_alert_without_owner_has_none() -> None:
    assert event_of(alert(owner_id="")).owner_id is None


def test_only_critical_alerts_request_a_halt() -> None:
    assert halt_of(alert(severity="HIGH")) is None
    halt = halt_of(alert(severity="CRITICAL", score=90.0))
    assert halt is not None
    assert halt.entry_id == "SV-WA-1"
    assert halt.path == "/halts"
    assert halt.body["scope"] == "USER"
    assert halt.body["target"] == "u1"
    assert halt.body["source_alert_id"] == "SV-WA-1"


def test_the_http_halt_id_risk_derives_is_the_one_of_its_alert_consumer() -> None:
    alert_id = alert_id_for("MOMENTUM_IGNITION", "BRK.B", "owner-" + "x" * 60, "order-" * 10)
    # risk names an HTTP halt halt:<subject>:<Idempotency-Key>, cut at 64 characters
    http_halt_id = f"halt:{HALT_SUBJECT}:{alert_id}"[:64]
    assert http_halt_id == halt_id_for_alert(alert_id)
    msgspec.convert(http_halt_id, Identifier)


def test_content_key_ignores_version_and_detection_time_only() -> None:
    a = alert_view(alert())
    assert content_key({**a, "version": 7, "detected_ns": 99}) == content_key(a)
    assert content_key({**a, "score": 71.0}) != content_key(a)
    assert content_key(dict(reversed(list(a.items())))) == content_key(a)


def test_workflow_ends_at_confirmed_and_every_move_is_to_a_known_status() -> None:
    assert TRANSITIONS["CONFIRMED"] == frozenset()
    assert "CONFIRMED" not in TRANSITIONS["OPEN"]
    for targets in TRANSITIONS.values():
        assert targets <= set(TRANSITIONS)


@pytest.mark.parametrize(
    ("error", "field"),
    [
        (ThresholdError("bad", field="$.min_trades"), "$.thresholds.min_trades"),
        (ThresholdError("Object contains unknown field `colour`"), "$.thresholds.colour"),
        (ThresholdError("bad", field="detector_type"), "$.thresholds.detector_type"),
        (ThresholdError("bad"), "$.thresholds"),
    ],
)
def test_threshold_errors_name_the_body_field(error: ThresholdError, field: str) -> None:
    assert threshold_field(error) == field
