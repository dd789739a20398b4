"""RiskService: an event is durable before it is applied, published at once, re-published at start."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import pytest

from nexus.bus import OutgoingMessage
from nexus.events import HALT_CODEC, Halt
from nexus.outbox import OutboxEntry
from services.risk.core import HaltCommand, HaltRegistry, NotHalted, ResumeCommand
from services.risk.service import RiskService
from services.risk.store import halt_message


class FakeOutbox:
    """``nexus_outbox`` of one process in memory, without a clock: every pending entry is due."""

    def __init__(self) -> None:
        self.pending: list[OutboxEntry] = []

    def add(self, entry_id: str, message: OutgoingMessage) -> None:
        self.pending.append(
            OutboxEntry(entry_id, "bus", message.topic, message.key, message.value, 0)
        )

    async def claim(
        self, sink: str, limit: int, lease_seconds: float, *, ordered: bool
    ) -> list[OutboxEntry]:
        return [e for e in self.pending if e.sink == sink][:limit]

    async def mark_delivered(self, entry_ids: Sequence[str]) -> None:
        self.pending = [e for e in self.pending if e.id not in entry_ids]

    async def reschedule(self, entry_ids: Sequence[str], delay_s: float, error: str) -> None:
        pass

    async def reject(self, entry_id: str, error: str) -> None:
        raise AssertionError("the bus sink never rejects")


class FakeStore:
    """``halt_events`` in memory; ``fail_writes`` makes the next writes fail like a dead server."""

    def __init__(self) -> None:
        self.events: list[Halt] = []
        self.outbox = FakeOutbox()
        self.fail_writes = 0

    async def record(self, event: Halt) -> bool:
        if self.fail_writes:
            self.fail_writes -= 1
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection lost")
        if any(e.event_id == event.event_id for e in self.events):
            return False
        self.events.append(event)
        self.outbox.add(event.event_id, halt_message(event))
        return True

    async def get(self, event_id: str) -> Halt | None:
        return next((e for e in self.events if e.event_id == event_id), None)

    async def all_events(self) -> list[Halt]:
        return list(self.events)

    async def unpublished(self) -> list[Halt]:
        return [HALT_CODEC.decode(e.body or b"") for e in self.outbox.pending]


class FakeBroker:
    def __init__(self) -> None:
        self.records: list[Halt] = []
        self.down = False

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        if self.down:
            raise ConnectionRefusedError("broker down")
        self.records.extend(HALT_CODEC.decode(m.value) for m in messages)


def halt_cmd(halt_id: str = "h1", target: str = "bob", ts: int = 10) -> HaltCommand:
    return HaltCommand(
        halt_id=halt_id,
        scope="USER",
        target=target,
        reason="spoofing",
        ts_event=ts,
        requested_by="officer",
    )


def resume_cmd(resume_id: str = "r1", target: str = "bob", ts: int = 20) -> ResumeCommand:
    return ResumeCommand(
        resume_id=resume_id,
        scope="USER",
        target=target,
        reason="cleared",
        ts_event=ts,
        requested_by="officer",
    )


def service() -> tuple[RiskService, FakeStore, FakeBroker]:
    store, broker = FakeStore(), FakeBroker()
    return RiskService(HaltRegistry(), store, broker), store, broker  # type: ignore[arg-type]


async def test_halt_whose_write_fails_is_not_applied() -> None:
    risk, store, _ = service()
    store.fail_writes = 1
    with pytest.raises(asyncpg.PostgresConnectionError):
        await risk.halt(halt_cmd())
    assert risk.registry.active() == []


async def test_resume_retried_after_a_failed_write_is_stored_and_published() -> None:
    risk, store, broker = service()
    await risk.halt(halt_cmd())
    store.fail_writes = 1
    with pytest.raises(asyncpg.PostgresConnectionError):
        await risk.resume(resume_cmd())
    assert [h.target for h in risk.registry.active()] == ["bob"]  # still halted: not durable
    event, created = await risk.resume(resume_cmd())
    assert created and event.action == "RESUME"
    assert [e.action for e in store.events] == ["HALT", "RESUME"]
    assert [e.action for e in broker.records] == ["HALT", "RESUME"]
    assert risk.registry.active() == []
    # and a restart (replay of the store) agrees: the halt is not resurrected
    restarted = HaltRegistry()
    restarted.replay(await store.all_events())
    assert restarted.active() == []


async def test_halt_is_published_before_the_command_answers() -> None:
    risk, _, broker = service()
    event, _ = await risk.halt(halt_cmd())
    assert broker.records == [event]


async def test_halt_during_a_broker_outage_is_durable_applied_and_published_later() -> None:
    risk, store, broker = service()
    broker.down = True
    event, created = await risk.halt(halt_cmd())
    assert created
    assert [h.target for h in risk.registry.active()] == ["bob"]
    assert await store.unpublished() == [event]
    broker.down = False
    assert await risk.publish_pending() == 1
    assert broker.records == [event]


async def test_repeated_command_returns_the_stored_event() -> None:
    risk, store, _ = service()
    first, _ = await risk.halt(halt_cmd())
    again, created = await risk.halt(halt_cmd())
    assert (again, created) == (first, False)
    assert len(store.events) == 1


async def test_resume_of_nothing_halted_is_refused_and_stores_nothing() -> None:
    risk, store, _ = service()
    with pytest.raises(NotHalted):
        await risk.resume(resume_cmd())
    assert store.events == []


async def test_start_republishes_every_halt_in_force() -> None:
    risk, store, broker = service()
    await risk.halt(halt_cmd("h1", "bob"))
    await risk.halt(halt_cmd("h2", "eve"))
    await risk.resume(resume_cmd("r2", "eve"))
    restarted = RiskService(HaltRegistry(), store, FakeBroker())  # type: ignore[arg-type]
    await restarted.load()
    assert await restarted.republish_active() == 1
    assert [e.event_id for e in restarted._publisher.records] == ["h1"]  # type: ignore[attr-defined]
    assert broker.records  # the first process had published at once
