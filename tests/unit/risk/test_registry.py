"""HaltRegistry: halt/resume per user and per symbol, expiry, alerts, the trail and its replay."""

from __future__ import annotations

from typing import Literal

import pytest

from nexus.errors import NotFoundError
from nexus.events import Halt, SurveillanceAlert
from services.risk.core import (
    HaltCommand,
    HaltRegistry,
    NotHalted,
    ResumeCommand,
    StaleResume,
    halt_id_for_alert,
)

Scope = Literal["USER", "SYMBOL"]
Severity = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]


def halt_cmd(
    halt_id: str = "h1",
    target: str = "bob",
    ts: int = 10,
    scope: Scope = "USER",
    reason: str = "spoofing",
    expires_at_ns: int | None = None,
) -> HaltCommand:
    return HaltCommand(
        halt_id=halt_id,
        scope=scope,
        target=target,
        reason=reason,
        ts_event=ts,
        requested_by="officer",
        expires_at_ns=expires_at_ns,
    )


def resume_cmd(
    resume_id: str = "r1", target: str = "bob", ts: int = 20, scope: Scope = "USER"
) -> ResumeCommand:
    return ResumeCommand(
        resume_id=resume_id,
        scope=scope,
        target=target,
        reason="cleared",
        ts_event=ts,
        requested_by="supervisor",
    )


def alert(
    alert_id: str = "A-1", severity: Severity = "CRITICAL", user: str = "eve"
) -> SurveillanceAlert:
    return SurveillanceAlert(
        event_id=alert_id,
        ts_event=50,
        symbol="AAPL",
        user_id=user,
        alert_type="SPOOFING",
        severity=severity,
        score=0.97,
        window_start_ns=1,
        window_end_ns=49,
    )


def test_user_halt_stops_that_user_only_and_resume_lifts_it() -> None:
    registry = HaltRegistry()
    event = registry.halt(halt_cmd())
    assert (event.event_id, event.action, event.scope, event.target) == (
        "h1",
        "HALT",
        "USER",
        "bob",
    )
    assert registry.book.check("bob", "AAPL", 11) == "user bob halted: spoofing"
    assert registry.book.check("alice", "AAPL", 11) is None

    resumed = registry.resume(resume_cmd())
    assert (resumed.event_id, resumed.action, resumed.requested_by) == (
        "r1",
        "RESUME",
        "supervisor",
    )
    assert registry.book.check("bob", "AAPL", 21) is None
    assert registry.active() == []


def test_symbol_halt_stops_every_user_on_it_and_is_separate_from_a_user_of_that_name() -> None:
    registry = HaltRegistry()
    registry.halt(halt_cmd("h1", "AAPL", scope="SYMBOL", reason="news pending"))
    assert registry.book.check("anyone", "AAPL", 11) == "symbol AAPL halted: news pending"
    assert registry.book.check("anyone", "MSFT", 11) is None
    # a user called AAPL is not halted by the symbol's halt, so its resume is refused
    with pytest.raises(NotHalted):
        registry.resume(resume_cmd("r1", "AAPL", scope="USER"))
    registry.resume(resume_cmd("r2", "AAPL", scope="SYMBOL"))
    assert registry.book.check("anyone", "AAPL", 21) is None


def test_halt_expires_at_its_time_and_then_cannot_be_resumed() -> None:
    registry = HaltRegistry()
    registry.halt(halt_cmd(expires_at_ns=100))
    assert [h.halt_id for h in registry.active(99)] == ["h1"]
    assert registry.active(100) == []
    assert registry.book.check("bob", "AAPL", 100) is None
    # still recorded (an order stamped before expiry is refused), but nothing to resume after it
    assert len(registry.active()) == 1
    assert registry.book.check("bob", "AAPL", 99) is not None
    with pytest.raises(NotHalted):
        registry.resume(resume_cmd(ts=100))
    # before expiry the resume is accepted
    assert registry.resume(resume_cmd(ts=99)).action == "RESUME"


def test_resume_of_something_not_halted_is_a_not_found_naming_it_and_changes_nothing() -> None:
    registry = HaltRegistry()
    registry.halt(halt_cmd("h1", "bob"))
    with pytest.raises(NotHalted) as raised:
        registry.resume_event(resume_cmd("r1", "alice"))
    assert str(raised.value) == "user alice is not halted"
    assert isinstance(raised.value, NotFoundError)  # a 404 to the client, never a 500
    with pytest.raises(NotHalted) as raised:
        registry.resume(resume_cmd("r2", "MSFT", scope="SYMBOL"))
    assert str(raised.value) == "symbol MSFT is not halted"
    assert [h.target for h in registry.active()] == ["bob"]


def test_resume_twice_the_second_is_refused() -> None:
    registry = HaltRegistry()
    registry.halt(halt_cmd())
    registry.resume(resume_cmd("r1", ts=20))
    with pytest.raises(NotHalted):
        registry.resume(resume_cmd("r2", ts=30))


def test_a_resume_stamped_before_the_halt_is_refused_not_stored_and_ignored() -> None:
    registry = HaltRegistry()
    registry.halt(halt_cmd(ts=100))
    with pytest.raises(StaleResume, match="stamped before the halt"):
        registry.resume_event(resume_cmd(ts=99))  # a clock that went backwards
    assert registry.book.check("bob", "AAPL", 200) == "user bob halted: spoofing"
    registry.resume(resume_cmd(ts=100))  # at the halt's own time it lifts it
    assert registry.book.check("bob", "AAPL", 200) is None


def test_rehalting_a_halted_user_replaces_the_halt_with_the_newer_one() -> None:
    registry = HaltRegistry()
    registry.halt(halt_cmd("h1", ts=10, reason="spoofing", expires_at_ns=50))
    registry.halt(halt_cmd("h2", ts=20, reason="layering"))
    [active] = registry.active()
    assert (active.halt_id, active.reason, active.expires_at_ns) == ("h2", "layering", None)
    assert registry.book.check("bob", "AAPL", 60) == "user bob halted: layering"  # no expiry now


def test_rehalting_after_a_resume_halts_again() -> None:
    registry = HaltRegistry()
    registry.halt(halt_cmd("h1", ts=10))
    registry.resume(resume_cmd("r1", ts=20))
    registry.halt(halt_cmd("h2", ts=30, reason="wash trading"))
    assert registry.book.check("bob", "AAPL", 31) == "user bob halted: wash trading"


def test_repeated_halt_command_builds_the_same_event_and_changes_nothing() -> None:
    registry = HaltRegistry()
    first = registry.halt(halt_cmd("h1", ts=10))
    registry.resume(resume_cmd("r1", ts=20))
    again = registry.halt(halt_cmd("h1", ts=10))
    assert again == first
    assert not registry.apply(again)
    assert registry.active() == []  # the redelivered halt did not undo the resume


def test_building_an_event_does_not_apply_it() -> None:
    registry = HaltRegistry()
    event = registry.halt_event(halt_cmd())
    assert registry.active() == []
    assert registry.apply(event)
    assert [h.halt_id for h in registry.active()] == ["h1"]
    assert registry.alert_halt_event(alert()) is not None
    assert [h.target for h in registry.active()] == ["bob"]


def test_critical_alert_halts_its_user_with_a_deterministic_id_and_its_source() -> None:
    registry = HaltRegistry()
    event = registry.halt_for_alert(alert("A-7", user="eve"))
    assert event is not None
    assert event.event_id == halt_id_for_alert("A-7") == "halt:alert:A-7"
    assert (event.scope, event.target, event.requested_by) == ("USER", "eve", "surveillance")
    assert event.source_alert_id == "A-7"
    assert event.reason == "CRITICAL spoofing alert A-7 on AAPL"
    assert event.ts_event == 50 and event.expires_at_ns is None
    [active] = registry.active()
    assert (active.target, active.source_alert_id) == ("eve", "A-7")
    # the same alert again (a redelivery or a later version) builds the same event: applied once
    assert registry.halt_for_alert(alert("A-7", user="eve")) == event
    assert not registry.apply(event)


@pytest.mark.parametrize("severity", ["LOW", "MEDIUM", "HIGH"])
def test_lower_severity_alerts_halt_nobody(severity: Severity) -> None:
    registry = HaltRegistry()
    assert registry.alert_halt_event(alert(severity=severity)) is None
    assert registry.halt_for_alert(alert(severity=severity)) is None
    assert registry.active() == []


def test_the_events_returned_are_the_audit_trail_in_order_with_who_and_why() -> None:
    registry = HaltRegistry()
    trail: list[Halt] = [
        registry.halt(halt_cmd("h1", "bob", ts=10)),
        registry.halt(halt_cmd("h2", "AAPL", ts=11, scope="SYMBOL", reason="news pending")),
        registry.resume(resume_cmd("r1", "bob", ts=20)),
    ]
    alert_halt = registry.halt_for_alert(alert("A-1", user="eve"))
    assert alert_halt is not None
    trail.append(alert_halt)
    assert [(e.event_id, e.action, e.scope, e.target, e.requested_by) for e in trail] == [
        ("h1", "HALT", "USER", "bob", "officer"),
        ("h2", "HALT", "SYMBOL", "AAPL", "officer"),
        ("r1", "RESUME", "USER", "bob", "supervisor"),
        ("halt:alert:A-1", "HALT", "USER", "eve", "surveillance"),
    ]
    assert [e.reason for e in trail] == [
        "spoofing",
        "news pending",
        "cleared",
        "CRITICAL spoofing alert A-1 on AAPL",
    ]


def test_replaying_the_trail_rebuilds_the_same_state_and_replaces_what_was_there() -> None:
    live = HaltRegistry()
    trail = [
        live.halt(halt_cmd("h1", "bob", ts=10)),
        live.halt(halt_cmd("h2", "AAPL", ts=11, scope="SYMBOL", expires_at_ns=1_000)),
        live.halt(halt_cmd("h3", "carol", ts=12)),
        live.resume(resume_cmd("r1", "bob", ts=20)),
        live.halt(halt_cmd("h4", "carol", ts=30, reason="layering")),
    ]
    rebuilt = HaltRegistry()
    rebuilt.halt(halt_cmd("stale", "dave", ts=1))  # state from before the replay goes
    rebuilt.replay(trail)
    assert rebuilt.active() == live.active()
    assert [(h.target, h.halt_id, h.reason) for h in rebuilt.active()] == [
        ("AAPL", "h2", "spoofing"),
        ("carol", "h4", "layering"),
    ]
    assert rebuilt.active(1_000) == [h for h in live.active() if h.target == "carol"]
    # replayed events are known: delivering them again changes nothing
    assert not any(rebuilt.apply(e) for e in trail)
    with pytest.raises(NotHalted):
        rebuilt.resume(resume_cmd("r2", "bob", ts=40))


def test_replay_of_a_redelivered_or_out_of_order_trail_keeps_the_newest_state() -> None:
    registry = HaltRegistry()
    h1 = registry.halt_event(halt_cmd("h1", ts=10))
    r1 = HaltRegistry()
    r1.apply(h1)
    resume = r1.resume_event(resume_cmd("r1", ts=20))
    registry.replay([h1, resume, h1])
    assert registry.active() == []
    registry.replay([resume, h1])  # an older halt never undoes the newer resume
    assert registry.active() == []
