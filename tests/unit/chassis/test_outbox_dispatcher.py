"""OutboxDispatcher over an in-memory table: outcomes per sink, order held, leases given back."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from nexus.outbox import Failure, OutboxDispatcher, OutboxEntry, Outcome


class Table:
    """Pending entries in enqueue order, every one due; records what the dispatcher settles."""

    def __init__(self, *ids: str) -> None:
        self.pending = [OutboxEntry(i, "s", "t", None, b"x", 1) for i in ids]
        self.delivered: list[str] = []
        self.rescheduled: list[tuple[list[str], float]] = []
        self.rejected: list[str] = []

    async def claim(
        self, sink: str, limit: int, lease_seconds: float, *, ordered: bool
    ) -> list[OutboxEntry]:
        return self.pending[:limit]

    async def mark_delivered(self, entry_ids: Sequence[str]) -> None:
        self.delivered.extend(entry_ids)
        self.pending = [e for e in self.pending if e.id not in entry_ids]

    async def reschedule(self, entry_ids: Sequence[str], delay_s: float, error: str) -> None:
        self.rescheduled.append((list(entry_ids), delay_s))

    async def reject(self, entry_id: str, error: str) -> None:
        self.rejected.append(entry_id)
        self.pending = [e for e in self.pending if e.id != entry_id]


class Scripted:
    """A sink answering the outcomes it is given, by entry id (delivered when not named)."""

    def __init__(self, ordered: bool, outcomes: dict[str, Outcome]) -> None:
        self.ordered = ordered
        self._outcomes = outcomes

    async def deliver(self, entries: Sequence[OutboxEntry]) -> list[Outcome]:
        return [self._outcomes.get(e.id) for e in entries]


def dispatcher(table: Table, sink: Scripted) -> OutboxDispatcher:
    return OutboxDispatcher(table, {"s": sink}, base_backoff_seconds=1.0, uniform01=lambda: 1.0)


async def test_unordered_sink_delivers_retries_and_rejects_each_entry_on_its_own() -> None:
    table = Table("a", "b", "c")
    sink = Scripted(False, {"b": Failure("503"), "c": Failure("422", final=True)})
    assert await dispatcher(table, sink).run_once() == 1
    assert (table.delivered, table.rescheduled, table.rejected) == (["a"], [(["b"], 1.0)], ["c"])


async def test_ordered_sink_failure_holds_back_every_later_entry() -> None:
    table = Table("a", "b", "c")
    sink = Scripted(True, {"b": Failure("broker down", final=True)})
    assert await dispatcher(table, sink).run_once() == 1
    assert table.delivered == ["a"]
    assert table.rescheduled == [(["b", "c"], 1.0)]
    assert table.rejected == []  # an ordered sink retries; a rejection would skip ahead


async def test_delivery_cut_short_gives_its_lease_back() -> None:
    class Hanging:
        ordered = True

        async def deliver(self, entries: Sequence[OutboxEntry]) -> list[Outcome]:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    table = Table("a")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await OutboxDispatcher(table, {"s": Hanging()}).run_once()
    assert table.rescheduled == [(["a"], 0.0)]


def test_backoff_doubles_up_to_its_cap_with_jitter_in_half_to_full() -> None:
    table = Table()
    low = OutboxDispatcher(table, {}, base_backoff_seconds=0.5, uniform01=lambda: 0.0)
    high = OutboxDispatcher(
        table, {}, base_backoff_seconds=0.5, max_backoff_seconds=3.0, uniform01=lambda: 1.0
    )
    assert [high.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert low.backoff(3) == 1.0
