"""The quote archiver: NBBO changes sampled per symbol, reachable venues only, warm-up,
rows kept for the retry of a failed write, the retention task."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from nexus.bus import MemoryBus, TopicPartition
from nexus.events import QUOTE_CODEC, TOPIC_QUOTES, QuoteL1
from services.routing.quote_archive import (
    DAY_NS,
    MIN_INTERVAL_NS,
    QuoteArchiver,
    Row,
    prune_forever,
    quote_archive_consumer,
)
from tests.support.runner import run_until
from tests.unit.routing_reports.support import MS, SEC, raw

VENUES = {"A": True, "B": True, "DARK": False}
_ids = iter(range(10**9))


def q(ms: float, venue: str, bid: str, ask: str, symbol: str = "XYZ") -> QuoteL1:
    """A top of book at ``ms`` milliseconds of event time (100 shares a side; "0" = empty)."""
    return QuoteL1(
        event_id=f"q{next(_ids)}",
        ts_event=int(ms * MS),
        symbol=symbol,
        venue=venue,
        bid_price=raw(bid),
        bid_size=raw(100) if raw(bid) else 0,
        ask_price=raw(ask),
        ask_size=raw(100) if raw(ask) else 0,
    )


def row(ms: float, bid: str, ask: str, symbol: str = "XYZ") -> Row:
    return (symbol, int(ms * MS), raw(bid), raw(ask))


def archiver(warmup_ns: int = 0) -> QuoteArchiver:
    return QuoteArchiver(lambda: VENUES, max_age_ns=5 * SEC, warmup_ns=warmup_ns)


def drain(arch: QuoteArchiver, *quotes: QuoteL1) -> list[Row]:
    rows = arch.observe(quotes)
    arch.written(rows)
    return rows


def test_the_default_interval_is_100_ms() -> None:
    assert MIN_INTERVAL_NS == 100 * MS
    assert archiver().min_interval_ns == 100 * MS


def test_changes_are_sampled_once_per_interval_and_a_held_change_is_stamped_at_its_end() -> None:
    arch = archiver()
    # t=0: the first NBBO is written at once
    assert drain(arch, q(0, "A", "10.00", "10.10")) == [row(0, "10.00", "10.10")]
    # 1 ms and 50 ms: B improves the NBBO twice inside the interval: held, nothing written
    assert drain(arch, q(1, "B", "10.01", "10.09"), q(50, "B", "10.02", "10.09")) == []
    # 150 ms: A re-quotes the same prices; the held NBBO (10.02 / 10.09) was in force at
    # 100 ms, the interval's end, and nothing changed since: one row stamped 100 ms
    assert drain(arch, q(150, "A", "10.00", "10.10")) == [row(100, "10.02", "10.09")]
    # 180 ms: a change 80 ms after the last row is held; 310 ms: B's next change writes the
    # held one at 200 ms, and itself at once (110 ms after that row)
    assert drain(arch, q(180, "B", "10.03", "10.09")) == []
    assert drain(arch, q(310, "B", "10.04", "10.08")) == [
        row(200, "10.03", "10.09"),
        row(310, "10.04", "10.08"),
    ]


def test_a_change_undone_inside_the_interval_writes_nothing() -> None:
    arch = archiver()
    drain(arch, q(0, "A", "10.00", "10.10"))
    # B betters the bid at 10 ms and leaves at 20 ms (an empty quote): back to A's NBBO
    assert drain(arch, q(10, "B", "10.05", "10.10"), q(20, "B", "0", "0")) == []
    assert drain(arch, q(500, "A", "10.00", "10.10")) == []


def test_unreachable_venues_are_ignored_and_unprotected_ones_do_not_make_the_nbbo() -> None:
    arch = archiver()
    rows = drain(
        arch,
        q(0, "A", "10.00", "10.10"),
        q(200, "ELSEWHERE", "10.04", "10.06"),  # not a venue the router reaches
        q(400, "DARK", "10.04", "10.06"),  # reachable but unprotected
    )
    assert rows == [row(0, "10.00", "10.10")]
    assert (arch.quotes_applied, arch.quotes_ignored) == (2, 1)


def test_symbols_are_sampled_independently_and_the_event_time_never_goes_back() -> None:
    arch = archiver()
    rows = drain(
        arch,
        q(0, "A", "10.00", "10.10", "XYZ"),
        q(10, "A", "20.00", "20.20", "ABC"),  # another symbol: its own interval
        q(90, "B", "10.01", "10.09", "XYZ"),  # held
        q(120, "B", "10.02", "10.09", "XYZ"),  # the held one written at 100 ms; this one held
        q(100, "A", "10.00", "10.08", "XYZ"),  # venue clock behind: taken at XYZ's 120 ms
    )
    assert rows == [
        row(0, "10.00", "10.10"),
        row(10, "20.00", "20.20", "ABC"),
        row(100, "10.01", "10.09"),
    ]
    # ABC's clock does not release XYZ's held NBBO; XYZ's next quote (230 ms) does, at 200 ms
    assert drain(arch, q(400, "A", "20.00", "20.20", "ABC")) == []
    assert drain(arch, q(230, "A", "10.00", "10.08", "XYZ")) == [row(200, "10.02", "10.08")]


def test_nothing_is_written_during_the_warm_up_then_the_market_in_force() -> None:
    arch = archiver(warmup_ns=1 * SEC)
    assert drain(arch, q(0, "A", "10.00", "10.10"), q(500, "B", "10.02", "10.08")) == []
    assert drain(arch, q(1_000, "A", "10.01", "10.10")) == [row(1_000, "10.02", "10.08")]


def test_rows_of_a_failed_write_stay_queued_until_written() -> None:
    arch = archiver()
    first = arch.observe([q(0, "A", "10.00", "10.10")])
    # the write failed: the same batch again (redelivered) changes no state, the row is still due
    again = arch.observe([q(0, "A", "10.00", "10.10")])
    assert first == again == [row(0, "10.00", "10.10")]
    arch.written(again)
    assert arch.observe([]) == [] and arch.rows_written == 1


class FlakySink:
    """Fails the first write with a connection error, then stores (idempotent on the key)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, int], Row] = {}
        self.calls = 0

    async def archive_quotes(self, quotes: Sequence[Row]) -> None:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionResetError("database went away")
        for r in quotes:
            self.rows.setdefault((r[0], r[1]), r)


async def test_the_consumer_commits_only_after_the_rows_are_stored() -> None:
    bus = MemoryBus(default_partitions=1)
    producer = bus.producer()
    # the third quote changes the NBBO 50 ms after the second row: held, not yet written
    quotes = [
        q(0, "A", "10.00", "10.10"),
        q(200, "B", "10.02", "10.08"),
        q(250, "A", "10.03", "10.1"),
    ]
    for quote in quotes:
        await producer.publish(TOPIC_QUOTES, QUOTE_CODEC.encode(quote), key=b"XYZ")
    sink = FlakySink()
    runner = quote_archive_consumer(bus, archiver(), sink, group="archive-test")
    runner._retry_base_s = runner._retry_max_s = 0.0005
    await run_until(
        runner, lambda: runner.stats.committed.get(TopicPartition(TOPIC_QUOTES, 0)) == 3
    )
    assert sink.calls >= 2
    assert sorted(sink.rows.values()) == [row(0, "10.00", "10.10"), row(200, "10.02", "10.08")]


class RecordingPruner:
    def __init__(self) -> None:
        self.cutoffs: list[int] = []

    async def prune_quote_archive(self, before_ns: int) -> int:
        self.cutoffs.append(before_ns)
        return 3


async def test_prune_forever_deletes_rows_older_than_the_retention_each_round() -> None:
    pruner = RecordingPruner()
    task = asyncio.create_task(
        prune_forever(
            lambda: pruner, retention_days=30, interval_s=0.01, clock=lambda: 100 * DAY_NS
        )
    )
    while len(pruner.cutoffs) < 2:
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pruner.cutoffs[:2] == [70 * DAY_NS, 70 * DAY_NS]
    with pytest.raises(ValueError):
        await prune_forever(lambda: pruner, retention_days=0)
