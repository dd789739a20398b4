"""The running service's toxicity refresh: recorded markouts -> SMART penalties, fail safe."""

from __future__ import annotations

import asyncio
import logging

import pytest

from services.routing.reports.feedback import ToxicityAdjustedStats
from services.routing.reports.model import Fills, Orders, QuoteTape, Routes
from services.routing.reports.venues import VenueMarkout
from services.routing.reports_store import RecordedFlow
from services.routing.toxicity import MIN_FILLS, ToxicityRefresher, penalties
from tests.unit.routing_reports.support import SEC, raw, ts

NOW = ts(2026, 12, 7) + 3_600 * SEC


def _row(venue: str, fills: int, vs_price_10s: float) -> VenueMarkout:
    return VenueMarkout(
        venue=venue,
        fills=fills,
        shares=100.0 * fills,
        markout_bps={"10s": 0.0},
        markout_vs_price={"10s": vs_price_10s},
        toxicity_bps=0.0,
    )


def test_a_venue_needs_min_fills_for_a_penalty() -> None:
    rows = [
        _row("THIN", MIN_FILLS - 1, -0.05),
        _row("TOXIC", MIN_FILLS, -0.004),
        _row("GOOD", 500, 0.003),
    ]
    assert penalties(rows) == {"TOXIC": raw("0.004")}
    assert penalties(rows, min_fills=1) == {"THIN": raw("0.05"), "TOXIC": raw("0.004")}
    assert penalties([]) == {}


def _flow(
    venues: dict[str, tuple[int, str]], ago_s: float = 600.0, step_ns: int = SEC
) -> RecordedFlow:
    """``n`` buys of 100 at 10.02 per venue ``step_ns`` apart from ``ago_s`` before NOW, each
    on its own symbol whose mid (10.01 at the fill) moves by ``move`` dollars 5 s later."""
    ids, syms, times = [], [], []
    f_order, f_venue = [], []
    q_sym, q_ts, q_bid, q_ask = [], [], [], []
    for venue, (n, move) in venues.items():
        for i in range(n):
            sym, t = f"{venue}{i}", NOW - int(ago_s * SEC) + i * step_ns
            f_order.append(len(ids))
            ids.append(f"{venue}-{i}")
            syms.append(sym)
            times.append(t)
            f_venue.append(venue)
            for at, mid in ((t - SEC, raw("10.01")), (t + 5 * SEC, raw("10.01") + raw(move))):
                q_sym.append(sym)
                q_ts.append(at)
                q_bid.append(mid - raw("0.01"))
                q_ask.append(mid + raw("0.01"))
    n = len(ids)
    orders = Orders.build(
        order_id=ids,
        symbol=syms,
        side=[1] * n,
        quantity=[raw(100)] * n,
        limit_price=[0] * n,
        ts_received=times,
        bid=[raw("10.00")] * n,
        ask=[raw("10.02")] * n,
    )
    fills = Fills.build(
        order=f_order,
        venue=f_venue,
        price=[raw("10.02")] * n,
        quantity=[raw(100)] * n,
        ts=times,
        maker=[False] * n,
    )
    routes = Routes.build(order=f_order, venue=f_venue, quantity=[raw(100)] * n)
    return RecordedFlow(orders, routes, fills, QuoteTape.from_quotes(q_sym, q_ts, q_bid, q_ask))


class FakeStore:
    """Answers ``flow`` with the next of ``answers`` (an exception is raised)."""

    def __init__(self, *answers: RecordedFlow | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[int, int]] = []

    async def flow(self, start_ns: int, end_ns: int) -> RecordedFlow:
        self.calls.append((start_ns, end_ns))
        answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


def _refresher(store: FakeStore, stats: ToxicityAdjustedStats) -> ToxicityRefresher:
    return ToxicityRefresher(lambda: store, stats, window_s=3_600, clock=lambda: NOW)


async def test_refresh_penalises_the_venue_whose_fills_see_adverse_moves() -> None:
    # TOXIC: bought at 10.02, mid 10.01 -> 9.98 (markout vs price -0.04 per share);
    # GOOD: mid -> 10.05 (+0.03); THIN: adverse but too few fills
    store = FakeStore(_flow({"TOXIC": (25, "-0.03"), "GOOD": (25, "0.04"), "THIN": (5, "-0.50")}))
    stats = ToxicityAdjustedStats()
    assert await _refresher(store, stats).refresh() == {"TOXIC": raw("0.04")}
    assert stats.penalty("TOXIC") == raw("0.04")
    assert stats.penalty("GOOD") == stats.penalty("THIN") == 0
    assert store.calls == [(NOW - 3_600 * SEC, NOW)]  # the last window_s, read once


async def test_fills_younger_than_the_horizon_are_not_judged_yet() -> None:
    store = FakeStore(
        _flow({"TOXIC": (25, "-0.03")}, ago_s=5.0, step_ns=SEC // 10)
    )  # their 10 s have not elapsed
    stats = ToxicityAdjustedStats()
    assert await _refresher(store, stats).refresh() == {}  # under MIN_FILLS measured


async def test_a_failing_refresh_keeps_the_previous_penalties(
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = _flow({"TOXIC": (25, "-0.03")})
    store = FakeStore(good, ConnectionRefusedError("database away"), ValueError("bad rows"), good)
    stats = ToxicityAdjustedStats()
    refresher = _refresher(store, stats)
    assert await refresher.refresh_safely() is True
    with caplog.at_level(logging.ERROR, logger="services.routing.toxicity"):
        assert await refresher.refresh_safely() is False
        assert await refresher.refresh_safely() is False
    assert stats.penalty("TOXIC") == raw("0.04") and refresher.current == {"TOXIC": raw("0.04")}
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [
        ConnectionRefusedError,
        ValueError,
    ]


async def test_the_loop_survives_a_failing_store_and_keeps_refreshing() -> None:
    toxic, clean = _flow({"TOXIC": (25, "-0.03")}), _flow({"TOXIC": (25, "0.01")})
    store = FakeStore(toxic, OSError("down"), OSError("down"), clean)
    stats = ToxicityAdjustedStats()
    task = asyncio.create_task(_refresher(store, stats).run_forever(0.001))
    try:
        async with asyncio.timeout(5):
            while len(store.calls) < 3:
                await asyncio.sleep(0.001)
            assert stats.penalty("TOXIC") == raw("0.04")  # kept through the failures
            while len(store.calls) < 4:
                await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)
        assert not task.done()
        assert stats.penalty("TOXIC") == 0  # a later good refresh replaces them
    finally:
        task.cancel()


async def test_a_zero_interval_disables_the_loop() -> None:
    store = FakeStore(_flow({"TOXIC": (25, "-0.03")}))
    stats = ToxicityAdjustedStats()
    await asyncio.wait_for(_refresher(store, stats).run_forever(0), 1)
    assert store.calls == [] and stats.penalty("TOXIC") == 0
