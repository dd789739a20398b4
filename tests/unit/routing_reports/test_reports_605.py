"""Rule 605 (2024) metrics on hand-made orders with known answers (worked out in comments)."""

from __future__ import annotations

import csv
import io
import math

import pytest

from services.routing.reports.export import csv_605, to_builtins
from services.routing.reports.model import Fills, Orders, QuoteTape
from services.routing.reports.rule605 import Line605, Report605, compute_605, parse_month
from tests.unit.routing_reports.support import MS, SEC, raw, ts

T0 = ts(2026, 12, 7)
BID, ASK = raw("10.00"), raw("10.02")  # mid 10.01, quoted spread 0.02

# (id, symbol, side, qty, limit, ioc, stop, badp_ask, ask_size, bid_size, received)
ORDERS = [
    ("A", "AAA", 1, "100", "0", False, False, "10.01", "50", "50", T0),  # market, BADP 10.01
    ("A2", "BBB", 1, "100", "0", False, False, "10.02", "500", "500", T0),  # market, no quotes
    ("B", "AAA", -1, "50", "9.99", True, False, "10.02", "30", "30", T0),  # marketable IOC
    ("C", "AAA", 1, "100", "10.015", False, False, "10.02", "0", "0", T0),  # beyond midpoint
    ("D", "AAA", 1, "100", "10.00", False, False, "10.02", "0", "0", T0),  # executable NML
    ("E", "AAA", 1, "100", "9.95", False, False, "10.02", "0", "0", T0),  # never executes
    ("F", "AAA", 1, "100", "0", False, True, "10.02", "0", "0", T0),  # stop, no fill
    ("G", "AAA", 1, "0.5", "0", False, False, "10.02", "100", "100", T0),  # fractional
    ("H", "AAA", 1, "100", "0", False, False, "10.02", "100", "100", ts(2027, 1, 4)),  # January
]
# (order row, price, shares, time after receipt)
FILLS = [
    (0, "10.02", "60", 2 * MS),
    (0, "10.01", "40", 4 * MS),
    (1, "10.02", "100", 1 * MS),
    (2, "10.00", "20", 10 * MS),
    (3, "10.015", "100", 100 * MS),
    (4, "10.00", "100", SEC),
    (7, "10.02", "0.5", 3 * MS),
    (8, "10.02", "100", 1 * MS),
]


def _report() -> Report605:
    orders = Orders.build(
        order_id=[o[0] for o in ORDERS],
        symbol=[o[1] for o in ORDERS],
        side=[o[2] for o in ORDERS],
        quantity=[raw(o[3]) for o in ORDERS],
        limit_price=[raw(o[4]) for o in ORDERS],
        ioc=[o[5] for o in ORDERS],
        stop=[o[6] for o in ORDERS],
        badp_ask=[raw(o[7]) for o in ORDERS],
        ask_size=[raw(o[8]) for o in ORDERS],
        bid_size=[raw(o[9]) for o in ORDERS],
        ts_received=[o[10] for o in ORDERS],
        bid=[BID] * len(ORDERS),
        ask=[ASK] * len(ORDERS),
    )
    fills = Fills.build(
        order=[f[0] for f in FILLS],
        venue=["V"] * len(FILLS),
        price=[raw(f[1]) for f in FILLS],
        quantity=[raw(f[2]) for f in FILLS],
        ts=[ORDERS[f[0]][10] + f[3] for f in FILLS],
    )
    # AAA: mid 10.01 until T0 + 1 s, then 10.05; BBB never quoted
    tape = QuoteTape.from_quotes(
        ["AAA", "AAA"], [T0 - SEC, T0 + SEC], [BID, raw("10.04")], [ASK, raw("10.06")]
    )
    return compute_605("2026-12", orders, fills, tape, fixed_round_lot=raw(100))


def _line(lines: list[Line605], symbol: str, order_type: str, lot: str = "round_lot") -> Line605:
    (found,) = [x for x in lines if (x.symbol, x.order_type, x.lot) == (symbol, order_type, lot)]
    return found


def test_market_order_time_to_execution_effective_spread_and_e_over_q() -> None:
    a = _line(_report().lines, "AAA", "market")
    assert a.notional == "1k_to_lt_5k"  # 100 x 10.01
    assert (a.orders, a.covered_shares, a.executed_shares, a.fill_rate_pct) == (1, 100, 100, 100)
    assert a.avg_time_to_execution_ms == pytest.approx(2.8)  # (60 x 2 + 40 x 4) / 100
    # 60 at 2 x (10.02 - 10.01) = 0.02 and 40 at 0: 0.012; over the quoted 0.02: 60%
    assert a.avg_effective_spread == pytest.approx(0.012)
    assert a.avg_quoted_spread == pytest.approx(0.02)
    assert a.effective_over_quoted_pct == pytest.approx(60.0)
    assert a.avg_effective_spread_bps == pytest.approx(0.6 * 0.02 / 10.01 * 1e4)


def test_realized_spread_reads_the_recorded_mid_at_each_horizon() -> None:
    a = _line(_report().lines, "AAA", "market")
    # before T0 + 1 s the mid is 10.01: realized = effective
    assert a.realized_spread["50ms"] == pytest.approx(0.012)
    # after it, 10.05: 60 x 2 x (10.02 - 10.05) + 40 x 2 x (10.01 - 10.05), over 100
    for horizon in ("1s", "15s", "60s", "5min"):
        assert a.realized_spread[horizon] == pytest.approx(-0.068)


def test_price_improvement_against_nbbo_and_best_displayed_price() -> None:
    a = _line(_report().lines, "AAA", "market")
    # against the offer 10.02: 60 at the quote, 40 improved by 0.01
    assert (a.improved_shares, a.at_quote_shares, a.outside_quote_shares) == (40, 60, 0)
    assert a.avg_improvement == pytest.approx(0.01)
    assert math.isnan(a.avg_outside_amount)
    # against an odd-lot offer at 10.01: 40 at it, 60 outside
    assert (a.badp_improved_shares, a.badp_at_quote_shares, a.badp_outside_quote_shares) == (
        0,
        40,
        60,
    )
    assert math.isnan(a.badp_avg_improvement)


def test_size_improvement_beyond_displayed_size() -> None:
    a = _line(_report().lines, "AAA", "market")
    # 100 shares at or better than the offer against 50 displayed
    assert (a.size_improvement_shares, a.size_improvement_benchmark_shares) == (50, 50)
    b = _line(_report().lines, "AAA", "marketable_ioc", "odd_lot")
    assert (b.size_improvement_shares, b.size_improvement_benchmark_shares) == (0, 30)


def test_marketable_ioc_partial_fill_rate_and_cancelled_shares() -> None:
    b = _line(_report().lines, "AAA", "marketable_ioc", "odd_lot")
    assert b.notional == "250_to_lt_1k"  # 50 x 10.01
    assert (b.covered_shares, b.executed_shares, b.cancelled_shares) == (50, 20, 30)
    assert b.fill_rate_pct == pytest.approx(40.0)
    assert b.avg_effective_spread == pytest.approx(0.02)  # sell at the bid: 2 x (10.01 - 10.00)
    assert b.effective_over_quoted_pct == pytest.approx(100.0)
    assert b.avg_time_to_execution_ms == pytest.approx(10.0)
    assert b.at_quote_shares == 20


def test_limit_order_categories_and_uncovered_orders() -> None:
    report = _report()
    c = _line(report.lines, "AAA", "beyond_midpoint_limit")
    assert c.avg_effective_spread == pytest.approx(0.01)  # 2 x (10.015 - 10.01)
    assert c.avg_improvement == pytest.approx(0.005)
    assert c.avg_time_to_execution_ms == pytest.approx(100.0)
    d = _line(report.lines, "AAA", "executable_non_marketable_limit")
    assert d.avg_effective_spread == pytest.approx(-0.02)  # bought at the bid
    assert d.avg_time_to_execution_ms == pytest.approx(1000.0)
    # E never executed and is not beyond the mid: not covered; H is January
    assert sum(x.orders for x in report.lines) == 7


def test_stop_order_without_execution_has_zero_fill_rate_and_no_averages() -> None:
    f = _line(_report().lines, "AAA", "stop")
    assert (f.covered_shares, f.executed_shares, f.fill_rate_pct) == (100, 0, 0)
    assert math.isnan(f.avg_effective_spread) and math.isnan(f.avg_time_to_execution_ms)


def test_fractional_order_category() -> None:
    g = _line(_report().lines, "AAA", "market", "fractional")
    assert (g.notional, g.executed_shares) == ("lt_250", 0.5)


def test_summary_aggregates_symbols_and_skips_missing_mids() -> None:
    s = _line(_report().summary, "*", "market")
    assert (s.orders, s.executed_shares) == (2, 200)
    # (60 x 0.02 + 40 x 0 + 100 x 0.02) / 200
    assert s.avg_effective_spread == pytest.approx(0.016)
    # BBB has no recorded quotes: its fills are left out of realized spreads
    assert s.realized_spread["50ms"] == pytest.approx(0.012)


def test_csv_and_json_exports() -> None:
    report = _report()
    rows = list(csv.DictReader(io.StringIO(csv_605(report))))
    assert {r["part"] for r in rows} == {"detail", "summary"}
    ioc = [r for r in rows if r["part"] == "detail" and r["order_type"] == "marketable_ioc"]
    assert ioc[0]["fill_rate_pct"] == "40.0" and ioc[0]["realized_spread_1s"] != ""
    stop = next(r for r in rows if r["order_type"] == "stop")
    assert stop["avg_effective_spread"] == ""  # NaN -> empty
    data = to_builtins(report)
    assert data["month"] == "2026-12" and data["period_end"] == "2026-12-31"
    assert "2024" in data["rule_set"]


@pytest.mark.parametrize("bad", ["2026-13", "2026", "26-12", "2026-1x", "2026-00"])
def test_parse_month_refuses_malformed(bad: str) -> None:
    with pytest.raises(ValueError, match="month"):
        parse_month(bad)
