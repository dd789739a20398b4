"""HaltBook: halts and resumes by event, expiry by event time, idempotent replay."""

from __future__ import annotations

from typing import Any

from nexus.events import Halt
from nexus.halts import HaltBook


def halt(
    event_id: str, ts: int, action: str = "HALT", scope: str = "USER", target: str = "u1", **kw: Any
) -> Halt:
    return Halt(
        event_id=event_id,
        ts_event=ts,
        scope=scope,
        target=target,
        action=action,
        reason=kw.pop("reason", "spoofing"),
        **kw,
    )


def test_halted_user_is_refused_with_reason_and_other_users_pass() -> None:
    book = HaltBook()
    book.apply(halt("h1", 10))
    assert book.check("u1", "AAPL", 11) == "user u1 halted: spoofing"
    assert book.check("u2", "AAPL", 11) is None


def test_halted_symbol_refuses_every_user() -> None:
    book = HaltBook()
    book.apply(halt("h1", 10, scope="SYMBOL", target="AAPL", reason="news pending"))
    assert book.check("anyone", "AAPL", 11) == "symbol AAPL halted: news pending"
    assert book.check("anyone", "MSFT", 11) is None


def test_resume_lifts_the_halt() -> None:
    book = HaltBook()
    book.apply(halt("h1", 10))
    book.apply(halt("r1", 20, action="RESUME"))
    assert book.check("u1", "AAPL", 21) is None
    assert book.active() == []


def test_expired_halt_no_longer_applies_at_later_event_time() -> None:
    book = HaltBook()
    book.apply(halt("h1", 10, expires_at_ns=100))
    assert book.check("u1", "AAPL", 99) is not None
    assert book.check("u1", "AAPL", 100) is None
    assert book.active(ts_ns=100) == []
    assert len(book.active()) == 1


def test_redelivered_event_is_applied_once() -> None:
    book = HaltBook()
    assert book.apply(halt("h1", 10))
    book.apply(halt("r1", 20, action="RESUME"))
    assert not book.apply(halt("h1", 10))
    assert book.check("u1", "AAPL", 30) is None


def test_older_event_never_undoes_a_newer_one() -> None:
    book = HaltBook()
    book.apply(halt("h2", 20))
    assert not book.apply(halt("r1", 10, action="RESUME"))
    assert book.check("u1", "AAPL", 30) is not None


def test_active_lists_halts_oldest_first_with_their_sources() -> None:
    book = HaltBook()
    book.apply(halt("h2", 20, target="u2", source_alert_id="A-9"))
    book.apply(halt("h1", 10, target="u1"))
    active = book.active()
    assert [h.target for h in active] == ["u1", "u2"]
    assert active[1].source_alert_id == "A-9"
    assert book.get("USER", "u2") is not None
    assert book.get("USER", "nobody") is None
