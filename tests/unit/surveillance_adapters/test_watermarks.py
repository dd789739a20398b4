"""The event-time watermark over input partitions, and the service holding events by it."""

from __future__ import annotations

import pytest

from nexus.bus import TopicPartition
from services.surveillance.service import SurveillanceService
from services.surveillance.watermarks import LagReport, StreamWatermarks
from tests.support.surveillance import make_service, self_trade
from tests.support.surveillance_fakes import FakeAlertStore, delivery

pytestmark = pytest.mark.usefixtures("self_trade_detector")

ORDERS = TopicPartition("orders.events", 0)
TRADES = TopicPartition("trades.executed", 0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_watermark_is_the_least_latest_time_of_the_active_partitions() -> None:
    clock = Clock()
    marks = StreamWatermarks(idle_s=1.0, clock=clock)
    assert marks.current() is None  # nothing assigned, nothing heard
    marks.observe(ORDERS, 50)
    marks.observe(ORDERS, 40)  # a partition's latest time never goes back
    marks.observe(TRADES, 30)
    assert marks.current() == 30
    clock.now += 0.5
    marks.observe(ORDERS, 60)
    clock.now += 0.6  # trades quiet for 1.1 s: it no longer holds the others back
    assert marks.current() == 60
    clock.now += 2.0
    assert marks.current() is None  # everything quiet: release it all


def test_an_assigned_partition_holds_until_heard_or_idle_and_a_revoked_one_is_forgotten() -> None:
    clock = Clock()
    marks = StreamWatermarks(idle_s=1.0, clock=clock)
    marks.observe(ORDERS, 50)
    marks.assigned([ORDERS, TRADES])
    assert marks.current() == -1  # trades may still bring something older
    marks.observe(TRADES, 45)
    assert marks.current() == 45
    marks.assigned([ORDERS])  # trades revoked
    assert marks.current() == 50
    marks.assigned([ORDERS, TRADES])  # back, unheard: holds again, for idle_s only
    assert marks.current() == -1
    for ts in (70, 71, 72):  # orders keeps delivering; trades stays silent within the flow
        clock.now += 0.6
        marks.observe(ORDERS, ts)
    assert marks.current() == 72


def test_partitions_silent_through_a_quiet_spell_get_their_grace_when_a_burst_starts() -> None:
    clock = Clock()
    marks = StreamWatermarks(idle_s=1.0, clock=clock)
    marks.assigned([ORDERS, TRADES])
    clock.now += 60.0  # nothing at all for a minute
    marks.observe(TRADES, 30)  # the burst: trades read first
    assert marks.current() == -1  # the orders partition may hold older events of this burst
    marks.observe(ORDERS, 20)
    assert marks.current() == 20
    clock.now += 0.5
    marks.observe(TRADES, 40)
    clock.now += 0.6  # within the burst, orders quiet for 1.1 s: idle
    marks.observe(TRADES, 50)
    assert marks.current() == 50


def test_a_partition_with_a_backlog_is_never_idle() -> None:
    clock = Clock()
    marks = StreamWatermarks(idle_s=1.0, clock=clock)
    marks.observe(ORDERS, 50)
    marks.observe(TRADES, 30)
    for ts in range(60, 100, 10):  # 2 s of orders; the consumer has not reached trades again
        clock.now += 0.5
        marks.observe(ORDERS, ts)
    assert marks.current() == 90  # trades looks quiet...
    marks.measured({ORDERS: 0, TRADES: 7}, at=clock.now)
    assert marks.current() == 30  # ...but records wait there: it holds


def test_with_lag_reports_a_quiet_partition_whose_lag_is_unknown_holds() -> None:
    clock = Clock()
    marks = StreamWatermarks(idle_s=1.0, clock=clock, lags_reported=True)
    marks.assigned([ORDERS, TRADES])
    marks.observe(ORDERS, 50)
    clock.now += 5.0  # both quiet, but never measured: trades may hold anything
    assert marks.current() == -1
    marks.measured({ORDERS: 0}, at=clock.now)  # it does not cover trades (assigned later)
    assert marks.current() == -1
    marks.measured({ORDERS: 0, TRADES: 0}, at=clock.now)
    assert marks.current() == 50


def test_a_drained_partition_is_passed_over_up_to_what_was_seen_idle_s_before_it_was() -> None:
    clock = Clock()
    marks = StreamWatermarks(idle_s=1.0, clock=clock, lags_reported=True)
    marks.observe(TRADES, 30)
    marks.observe(ORDERS, 50)
    # measured at once: records published with 50 on trades may not be appended yet
    marks.measured({ORDERS: 0, TRADES: 0}, at=clock.now)
    assert marks.current() == 30
    clock.now += 0.6
    marks.observe(ORDERS, 60)
    marks.measured({ORDERS: 0, TRADES: 0}, at=clock.now)
    assert marks.current() == 30  # 0.6 s after 50 was seen: not yet
    clock.now += 0.6
    marks.observe(ORDERS, 70)
    marks.measured({ORDERS: 0, TRADES: 0}, at=clock.now)
    assert marks.current() == 50  # 50 was seen 1.2 s before; 60 and 70 too recently
    clock.now += 2.0
    marks.measured({ORDERS: 0, TRADES: 0}, at=clock.now)
    assert marks.current() == 70
    marks.measured({ORDERS: 0, TRADES: 3}, at=clock.now)  # records on trades: holds at 30
    assert marks.current() == 30


def make(clock: Clock) -> tuple[SurveillanceService, FakeAlertStore]:
    parts = make_service(idle_s=1.0, clock=clock)
    return parts.service, parts.store


async def test_events_wait_for_a_silent_assigned_partition_then_the_idle_release() -> None:
    clock = Clock()
    service, store = make(clock)
    service.track_assignment(lambda: [ORDERS, TRADES])
    await service.on_batch([delivery(self_trade("t0", "u", "AAPL", 10), offset=0)])
    assert service.engine.held == 1 and not service.settled and store.versions == []
    assert await service.release_idle() == 1  # the orders partition may still speak
    clock.now += 1.5
    assert await service.release_idle() == 0
    assert service.settled
    assert [v.payload["trade_ids"] for v in store.versions] == [["AAPL-t0"]]


async def test_a_partition_read_behind_releases_in_event_time_as_it_catches_up() -> None:
    clock = Clock()
    service, store = make(clock)
    service.track_assignment(lambda: [TopicPartition("trades.executed", p) for p in (0, 1)])
    late = [delivery(self_trade(f"t{i}", "u", "AAPL", 10 + i), offset=i) for i in (0, 1)]
    ahead = [
        delivery(self_trade(f"t{i}", "u", "AAPL", 10 + i), offset=i, partition=1) for i in (2, 3)
    ]
    await service.on_batch(ahead)  # partition 1 read first: nothing before 10 is known yet
    assert service.engine.held == 2
    await service.on_batch(late)  # partition 0 catches up to 11: events up to 11 go
    assert service.engine.held == 2
    assert store.versions[-1].payload["trade_ids"] == ["AAPL-t0", "AAPL-t1"]
    clock.now += 1.5
    await service.release_idle()
    assert store.versions[-1].payload["trade_ids"] == [f"AAPL-t{i}" for i in range(4)]


class Lags:
    """The consumer's lag measurements, as the runner reports them (None while unknown)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.report: LagReport | None = None

    def measure(self, **lags: int) -> None:
        at = self.clock.now if self.report is None else max(self.clock.now, self.report[0] + 1e-6)
        parts = {"orders": ORDERS, "trades": TRADES}
        self.report = LagReport(at, {parts[name]: n for name, n in lags.items()})

    def __call__(self) -> LagReport | None:
        return self.report


async def test_the_service_holds_for_a_lagging_partition_it_has_not_read_lately() -> None:
    clock = Clock()
    service, store = make(clock)
    lags = Lags(clock)
    lags.measure(orders=0, trades=0)
    service.track_assignment(lambda: [ORDERS, TRADES], lags)
    await service.on_batch([delivery(self_trade("t0", "u", "AAPL", 10), offset=0)])
    lags.measure(orders=500, trades=0)  # orders has a backlog the consumer has not reached
    clock.now += 3.0
    assert await service.release_idle() == 1  # quiet for 3 s, but behind: still held
    lags.measure(orders=0, trades=0)
    assert await service.release_idle() == 0
    assert len(store.versions) == 1


async def test_the_service_holds_while_the_consumer_lag_is_unknown() -> None:
    clock = Clock()
    service, store = make(clock)
    service.track_assignment(lambda: [ORDERS, TRADES], lambda: None)
    await service.on_batch([delivery(self_trade("t0", "u", "AAPL", 10), offset=0)])
    clock.now += 3.0
    assert await service.release_idle() == 1  # quiet, but nothing says orders is drained
    assert store.versions == []


async def test_an_idle_release_waits_for_a_lag_measured_after_the_last_batch() -> None:
    clock = Clock()
    service, store = make(clock)
    lags = Lags(clock)
    lags.measure(orders=0, trades=0)  # before the burst: everything drained
    service.track_assignment(lambda: [ORDERS, TRADES], lags)
    await service.on_batch([delivery(self_trade("t0", "u", "AAPL", 10), offset=0)])
    clock.now += 1.5  # a slow batch: orders quiet past its grace, not measured since
    assert await service.release_idle() == 1  # the old measurement does not cover t0
    lags.measure(orders=0, trades=0)
    assert await service.release_idle() == 0
    assert [v.payload["trade_ids"] for v in store.versions] == [["AAPL-t0"]]


async def test_an_idle_release_whose_store_fails_is_stored_on_the_next_tick() -> None:
    clock = Clock()
    service, store = make(clock)
    service.track_assignment(lambda: [ORDERS, TRADES])
    await service.on_batch([delivery(self_trade("t0", "u", "AAPL", 10), offset=0)])
    clock.now += 1.5
    store.fail_saves = 1
    with pytest.raises(ConnectionError):
        await service.release_idle()
    assert service.engine.held == 0 and not service.settled  # applied, not yet stored
    await service.release_idle()
    assert service.settled and len(store.versions) == 1
