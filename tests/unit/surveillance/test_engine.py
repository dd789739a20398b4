"""The engine's contract: async entry points, versions, profiles, scans, event time."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec
import pytest

from nexus.events import OrderCancel, OrderFill, OrderNew, OrderReject, Trade
from services.surveillance.core.engine import SurveillanceEngine, to_ns
from services.surveillance.core.normalise import normalise
from services.surveillance.core.types import ThresholdError
from tests.unit.surveillance.conftest import EPISODE_AT, detect, layers, of_type, spoof
from tests.unit.surveillance.market import MS, T0, Market, S, background


@pytest.fixture
def episodes() -> list[dict[str, Any]]:
    m = Market()
    background(m, seconds=45)
    spoof(m, EPISODE_AT)
    layers(m, EPISODE_AT + 3 * S, side="SELL")
    return m.run()


def _final(alerts: Sequence[Any]) -> dict[str, Any]:
    latest: dict[str, Any] = {}
    for a in alerts:
        if a.alert_id not in latest or a.version > latest[a.alert_id].version:
            latest[a.alert_id] = a
    return {k: msgspec.structs.replace(v, version=1, detected_ns=0) for k, v in latest.items()}


async def test_async_entry_points_return_alerts(episodes):
    engine = SurveillanceEngine()
    out = []
    for e in episodes:
        if e["kind"] == "trade":
            out += await engine.process_trade_event(e)
        else:
            out += await engine.process_order_event(e)
    assert {a.type for a in out} == {"SPOOFING", "LAYERING"}


def test_live_one_by_one_equals_one_batch(episodes):
    live = SurveillanceEngine()
    issued = []
    for e in episodes:
        issued += live.process_events([e])
    batch = detect(episodes)
    assert _final(issued) == _final(batch)


def test_bounded_out_of_order_arrival_gives_the_same_alerts(episodes):
    rng = random.Random(3)
    # Each event arrives up to 50 ms late (orders and trades on different topics).
    jittered = sorted(episodes, key=lambda e: e["ts_ns"] + rng.randrange(50 * MS))
    late = SurveillanceEngine(lateness_ns=100 * MS)
    issued = []
    for e in jittered:
        issued += late.process_events([e])
    issued += late.flush()
    assert _final(issued) == _final(detect(episodes))


async def test_historical_scan_equals_the_live_path(episodes):
    class Source:
        def read(self, start_ns: int, end_ns: int, symbols: Sequence[str] | None):
            rows = [e for e in episodes if start_ns <= e["ts_ns"] < end_ns]
            return [rows[i : i + 500] for i in range(0, len(rows), 500)]

    engine = SurveillanceEngine(Source())
    scanned = await engine.run_historical_scan(T0, T0 + 100 * S, ["XYZ"], None)
    assert _final(scanned) == _final(detect(episodes))


async def test_historical_scan_reads_an_async_source_and_filters_users(episodes):
    class Source:
        async def _gen(self) -> AsyncIterator[list[dict[str, Any]]]:
            for i in range(0, len(episodes), 1000):
                yield episodes[i : i + 1000]

        def read(self, start_ns: int, end_ns: int, symbols: Sequence[str] | None):
            return self._gen()

    engine = SurveillanceEngine(Source())
    only_lay = await engine.run_historical_scan(T0, T0 + 100 * S, None, ["LAY"])
    assert {a.user_id for a in only_lay} == {"LAY"}


async def test_scan_without_a_source_is_refused():
    with pytest.raises(ThresholdError):
        await SurveillanceEngine().run_historical_scan(0, 1, None, None)


def test_versions_go_up_by_one_per_batch_that_changes_an_alert(episodes):
    engine = SurveillanceEngine()
    seen: dict[str, list[int]] = {}
    for i in range(0, len(episodes), 7):
        for a in engine.process_events(episodes[i : i + 7]):
            seen.setdefault(a.alert_id, []).append(a.version)
    assert seen
    for versions in seen.values():
        assert versions == list(range(1, len(versions) + 1))


def test_platform_events_and_audit_records_give_the_same_alerts(episodes):
    scale = 10**9

    def raw(price: str) -> int:
        return round(float(price) * 100) * scale // 100

    platform: list[Any] = []
    for i, e in enumerate(episodes):
        common = {"event_id": f"E{i}", "ts_event": e["ts_ns"], "symbol": e["symbol"]}
        if e["kind"] == "trade":
            platform.append(
                Trade(
                    **{**common, "event_id": e["trade_id"]},
                    price=raw(e["price"]),
                    quantity=int(e["quantity"]) * scale,
                    aggressor_side=e["aggressor_side"],
                    buy_order_id=e["buy_order_id"],
                    sell_order_id=e["sell_order_id"],
                    buyer_user_id=e["buy_user_id"],
                    buyer_account_id=e["buy_account_id"],
                    seller_user_id=e["sell_user_id"],
                    seller_account_id=e["sell_account_id"],
                )
            )
            continue
        ids = {"order_id": e["order_id"], "user_id": e["user_id"], "account_id": e["account_id"]}
        if e["kind"] == "order_new":
            platform.append(
                OrderNew(
                    **common,
                    **ids,
                    side=e["side"],
                    order_type="MARKET" if e["order_type"] == "MARKET" else "LIMIT",
                    time_in_force="IOC" if e["order_type"] == "IOC" else "GTC",
                    price=raw(e["price"]),
                    quantity=int(e["quantity"]) * scale,
                )
            )
        elif e["kind"] == "order_cancel":
            platform.append(
                OrderCancel(
                    **common,
                    **ids,
                    side=e["side"],
                    price=raw(e["price"]),
                    cancelled_quantity=int(e["remaining"]) * scale,
                )
            )
    platform.append(
        OrderReject(
            event_id="R",
            ts_event=T0,
            symbol="XYZ",
            order_id="X",
            user_id="U",
            account_id="A",
            reason="halted",
        )
    )
    assert _final(detect(platform)).keys() == _final(detect(episodes)).keys()


def test_fills_and_rejects_are_ignored():
    fill = OrderFill(
        event_id="F",
        ts_event=1,
        symbol="XYZ",
        order_id="O",
        user_id="U",
        account_id="A",
        side="BUY",
        trade_id="T",
        price=10**9,
        quantity=10**9,
        leaves_quantity=0,
        aggressor=True,
    )
    assert normalise(fill) is None


def test_update_thresholds_validates_and_versions():
    engine = SurveillanceEngine()
    engine.update_thresholds("SPOOFING", {"min_score": 70.0})
    t = engine.get_thresholds("SPOOFING")
    assert t.min_score == 70.0 and t.version == 2
    with pytest.raises(ThresholdError):
        engine.update_thresholds("SPOOFING", {"min_score": 170.0})
    with pytest.raises(ThresholdError):
        engine.update_thresholds("NOPE", {})
    with pytest.raises(ThresholdError):
        engine.get_thresholds("NOPE")
    assert engine.get_thresholds("SPOOFING").version == 2


def test_thresholds_change_applies_to_later_events(episodes):
    engine = SurveillanceEngine()
    engine.update_thresholds("SPOOFING", {"min_size_vs_symbol_median": 1e5})
    engine.update_thresholds("LAYERING", {"min_layers": 50})
    assert engine.process_events(episodes) == []
    assert engine.thresholds["SPOOFING"].version == 2


def test_unknown_detector_type_is_refused():
    with pytest.raises(ThresholdError):
        SurveillanceEngine(detector_types=["NOPE"])


async def test_user_profile_counts_orders_cancels_and_executions(episodes):
    engine = SurveillanceEngine()
    engine.process_events(episodes)
    prof = await engine.get_user_profile("LAY", 1)
    p = prof["profile"]
    assert p["orders"] >= 5 and p["cancels"] == 4 and p["executions"] >= 1
    assert p["cancel_ratio"] > 0.5
    assert "XYZ" in prof["symbols"]
    bg = (await engine.get_user_profile("BG001", 30))["profile"]
    assert bg["orders"] > 10 and 0 <= bg["aggressiveness"] <= 1
    assert bg["median_lifetime_ms"] > 0 and bg["size_median"] >= 100


async def test_unknown_user_has_an_empty_profile():
    prof = await SurveillanceEngine().get_user_profile("GHOST", 7)
    assert prof["profile"]["orders"] == 0 and prof["symbols"] == {}


def test_fork_keeps_configuration_not_state(episodes):
    engine = SurveillanceEngine(account_owners={"A": "B"}, lateness_ns=5)
    engine.update_thresholds("WASH_TRADING", {"min_trades": 3})
    engine.process_events(episodes)
    fresh = engine.fork()
    assert fresh.events_processed == 0 and fresh.lateness_ns == 5
    assert fresh.get_thresholds("WASH_TRADING").min_trades == 3
    assert fresh.owner_of("A", "U") == "B"


def test_to_ns_accepts_aware_datetimes_only():
    from datetime import UTC, datetime

    assert to_ns(datetime(2026, 1, 1, tzinfo=UTC)) == 1_767_225_600 * S
    with pytest.raises(ThresholdError):
        to_ns(datetime(2026, 1, 1))


def test_event_time_only_wall_clock_irrelevant(episodes, monkeypatch):
    import time

    monkeypatch.setattr(time, "time", lambda: 0.0)
    monkeypatch.setattr(time, "time_ns", lambda: 0)
    assert _final(detect(episodes)) == _final(detect(episodes))


def test_state_per_symbol_is_bounded_by_windows(episodes):
    engine = SurveillanceEngine()
    engine.process_events(episodes)
    sym = engine._symbols["XYZ"]
    assert len(sym.book.orders) < 200
    assert len(sym.trades) <= 4096
    assert of_type(engine.final_alerts(), "SPOOFING")


def test_run_in_event_loop_concurrently(episodes):
    async def main() -> int:
        engine = SurveillanceEngine()
        results = await asyncio.gather(*(engine.process_order_event(e) for e in episodes[:50]))
        return len(results)

    assert asyncio.run(main()) == 50


def test_two_streams_read_at_different_speeds_give_the_in_order_alerts(episodes):
    # orders and trades on two topics; the trades are read far behind the orders
    orders = [e for e in episodes if e["kind"] != "trade"]
    trades = [e for e in episodes if e["kind"] == "trade"]
    engine = SurveillanceEngine()
    issued: list[Any] = []
    latest = {"orders": -1, "trades": -1}
    o = t = 0
    while o < len(orders) or t < len(trades):
        chunk: list[dict[str, Any]] = []
        if o < len(orders):
            chunk += orders[o : o + 40]
            o += 40
            latest["orders"] = chunk[-1]["ts_ns"]
        if t < len(trades):
            chunk += trades[t : t + 2]
            t += 2
            latest["trades"] = trades[t - 1]["ts_ns"] if t <= len(trades) else latest["trades"]
        ended = [k for k, n, s in (("orders", o, orders), ("trades", t, trades)) if n >= len(s)]
        marks = [v for k, v in latest.items() if k not in ended]
        issued += engine.process_events(chunk, source_watermark=min(marks) if marks else None)
    issued += engine.flush()
    assert engine.late_events == 0
    assert _final(issued) == _final(detect(episodes))
    in_arrival_order = SurveillanceEngine()
    arrival = in_arrival_order.process_events(orders) + in_arrival_order.process_events(trades)
    assert _final(arrival) != _final(detect(episodes))  # the order does matter


def test_a_full_reorder_buffer_applies_its_oldest_and_counts_them(episodes):
    engine = SurveillanceEngine(max_held=100)
    engine.process_events(episodes[:500], source_watermark=-1)  # nothing may go yet
    assert engine.held == 100 and engine.forced_releases == 400
    engine.release_until(2**62)
    engine.process_events(episodes[500:501], source_watermark=-1)  # older than released
    assert engine.late_events == 1
    engine.flush()
    assert engine.held == 0


def test_an_episode_that_reached_min_score_mid_batch_is_alerted_whatever_the_cut(monkeypatch):
    """A finding that reaches min_score and is then weakened by later evidence is an alert
    whether the two events arrive in one batch or in two (live or scan, any block size)."""
    from services.surveillance.core.detectors.base import Finding
    from services.surveillance.core.detectors.resting import SpoofingDetector

    scores = iter((60.0, 30.0))

    def handle_new(self, ev, sym, order):  # type: ignore[no-untyped-def]
        self.ctx.report(
            Finding(
                alert_type="SPOOFING",
                symbol=ev.symbol,
                anchor="A1",
                user_id=ev.user_id,
                owner_id=ev.user_id,
                account_ids=[ev.account_id],
                start_ns=T0,
                end_ns=ev.ts,
                score=next(scores),
                order_ids=[order.order_id],
                trade_ids=[],
                evidence={},
                explanation="",
            ),
            ev.ts,
        )

    monkeypatch.setattr(SpoofingDetector, "handle_new", handle_new)
    m = Market()
    m.submit(T0, "U", "BUY", 9_990, 100)
    m.submit(T0 + MS, "U", "BUY", 9_989, 100)
    events = m.run()
    whole = SurveillanceEngine(detector_types=["SPOOFING"])
    whole.process_events(events)
    scores = iter((60.0, 30.0))
    split = SurveillanceEngine(detector_types=["SPOOFING"])
    for e in events:
        split.process_events([e])
    assert [a.score for a in whole.final_alerts()] == [30.0]
    assert _final(whole.final_alerts()) == _final(split.final_alerts())
