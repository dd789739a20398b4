"""Post-fill markouts per venue and the best-execution review on hand-made fills."""

from __future__ import annotations

import csv
import io
import math

import pytest

from services.routing.reports.export import csv_best_execution, csv_markouts
from services.routing.reports.model import Fills, Orders, QuoteTape, Routes
from services.routing.reports.venues import best_execution, markouts
from tests.unit.routing_reports.support import MS, SEC, raw, ts

T0 = ts(2026, 12, 7)
BP = 0.01 / 10.01 * 1e4  # one cent on a 10.01 mid, in basis points


def _tape() -> QuoteTape:
    # mid 10.01 from T0, 10.02 from +500 ms, 10.00 from +5 s, 10.03 from +30 s
    times = [T0, T0 + 500 * MS, T0 + 5 * SEC, T0 + 30 * SEC]
    mids = ["10.01", "10.02", "10.00", "10.03"]
    bids = [raw(m) - raw("0.01") for m in mids]
    asks = [raw(m) + raw("0.01") for m in mids]
    return QuoteTape.from_quotes(["X"] * 4, times, bids, asks)


def _orders() -> Orders:
    return Orders.build(
        order_id=["buy", "sell", "early"],
        symbol=["X", "X", "X"],
        side=[1, -1, 1],
        quantity=[raw(100), raw(100), raw(100)],
        limit_price=[0, 0, raw("10.02")],
        ts_received=[T0, T0, T0 - 10 * SEC],
        bid=[raw("10.00")] * 3,
        ask=[raw("10.02")] * 3,
    )


def _fills() -> Fills:
    return Fills.build(
        order=[0, 1, 2],
        venue=["XBUY", "YSELL", "ZEARLY"],
        price=[raw("10.02"), raw("10.00"), raw("10.02")],
        quantity=[raw(100), raw(100), raw(100)],
        ts=[T0, T0, T0 - 10 * SEC],  # ZEARLY's fill comes before any quote
        maker=[False, True, False],
    )


def test_markouts_signed_by_side_at_each_horizon() -> None:
    rows = {r.venue: r for r in markouts(_orders(), _fills(), _tape())}
    buy, sell = rows["XBUY"], rows["YSELL"]
    assert buy.markout_bps["100ms"] == pytest.approx(0.0)
    assert buy.markout_bps["1s"] == pytest.approx(BP)  # 10.01 -> 10.02, bought: favourable
    assert buy.markout_bps["10s"] == pytest.approx(-BP)  # 10.00: adverse
    assert buy.markout_bps["60s"] == pytest.approx(2 * BP)
    for h in ("1s", "10s", "60s"):
        assert sell.markout_bps[h] == pytest.approx(-buy.markout_bps[h])
    assert buy.markout_vs_price["1s"] == pytest.approx(0.0)  # mid 10.02 - paid 10.02
    assert sell.markout_vs_price["60s"] == pytest.approx(-0.03)  # sold 10.00, mid 10.03


def test_markouts_rank_the_most_toxic_venue_first_and_unmeasured_last() -> None:
    rows = markouts(_orders(), _fills(), _tape())
    assert [r.venue for r in rows] == ["XBUY", "YSELL", "ZEARLY"]
    assert rows[0].toxicity_bps == pytest.approx(BP)
    assert math.isnan(rows[2].toxicity_bps)


def test_markouts_filter_by_symbol_and_period() -> None:
    assert markouts(_orders(), _fills(), _tape(), symbol="NOPE") == []
    rows = markouts(_orders(), _fills(), _tape(), start_ns=T0 - SEC, end_ns=T0 + 1)
    assert sorted(r.venue for r in rows) == ["XBUY", "YSELL"]
    text = csv_markouts(rows)
    assert text.splitlines()[0].startswith("venue,fills,shares,toxicity_bps")


def test_best_execution_review_per_symbol_and_order_class() -> None:
    orders = Orders.build(
        order_id=["m1", "m2", "l1"],
        symbol=["X", "X", "X"],
        side=[1, 1, 1],
        quantity=[raw(100), raw(100), raw(100)],
        limit_price=[0, 0, raw("10.02")],
        ts_received=[T0, T0, T0],
        bid=[raw("10.00")] * 3,
        ask=[raw("10.02")] * 3,
        directed=[False, True, False],
    )
    routes = Routes.build(
        order=[0, 0, 1, 2],
        venue=["A", "B", "A", "A"],
        quantity=[raw(100), raw(100), raw(50), raw(100)],
    )
    fills = Fills.build(
        order=[0, 0, 1, 2],
        venue=["A", "B", "A", "A"],
        price=[raw("10.02"), raw("10.01"), raw("10.02"), raw("10.02")],
        quantity=[raw(30), raw(70), raw(50), raw(100)],
        ts=[T0 + MS] * 4,
        maker=[False, True, False, False],
    )
    lines = best_execution(orders, routes, fills, _tape())
    assert [(ln.symbol, ln.order_class, ln.orders) for ln in lines] == [
        ("X", "market", 2),
        ("X", "marketable_limit", 1),
    ]
    market = lines[0]
    assert market.executed_shares == 150
    a, b = market.venues  # A has 30 + 50 = 80 shares, B 70: A first
    assert [v.venue for v in market.venues] == ["A", "B"]
    assert a.volume_pct == pytest.approx(80 / 150 * 100)
    assert a.orders_pct == pytest.approx(100.0) and b.orders_pct == pytest.approx(50.0)
    assert (b.passive_pct, b.aggressive_pct) == (100.0, 0.0)
    assert a.directed_pct == pytest.approx(50.0)
    assert a.fill_rate_pct == pytest.approx(80 / 150 * 100)  # 80 filled of 100 + 50 routed
    assert b.fill_rate_pct == pytest.approx(70.0)
    assert b.avg_price_improvement == pytest.approx(0.01)
    assert a.avg_effective_spread_bps == pytest.approx(0.02 / 10.01 * 1e4)
    rows = list(csv.DictReader(io.StringIO(csv_best_execution(lines))))
    assert len(rows) == 3 and rows[0]["venue"] == "A"


def test_best_execution_keeps_only_the_top_venues() -> None:
    lines = best_execution(_orders(), Routes.build(order=[], venue=[]), _fills(), _tape(), top=1)
    assert all(len(ln.venues) == 1 for ln in lines)
    assert math.isnan(lines[0].venues[0].fill_rate_pct)  # nothing routed recorded
