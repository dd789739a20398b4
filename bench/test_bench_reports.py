"""Routing reports benchmark: Rule 606(a)(1) for a quarter of 1M parent orders (goal < 10 s).

A synthetic quarter (seeded): 1,000,000 parents over 500 symbols (250 in the S&P 500 file),
12 venues, 1-3 routes and 0-2 fills per parent, the four 606 order types. Timed: the full
report computation (classification, sections by month and index membership, venue ranking,
net payments) from columnar arrays; and its CSV and XML exports. Rule 605 for one month of
the same flow is timed beside it. Figures go to docs/BENCHMARKS.md, section 'Reports'.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
from typing import Any

import numpy as np

from services.routing.reports.export import csv_606, xml_606
from services.routing.reports.model import Fills, IndexMembership, Orders, QuoteTape, Routes
from services.routing.reports.rule605 import compute_605
from services.routing.reports.rule606 import compute_606

S = 10**9
N_ORDERS = 1_000_000
N_SYMBOLS = 500
VENUES = np.array([f"V{i:02d}" for i in range(12)])
GOAL_S = 10.0


def _quarter(seed: int = 11) -> tuple[Orders, Routes, Fills, IndexMembership, QuoteTape]:
    rng = np.random.default_rng(seed)
    start = int(dt.datetime(2026, 10, 1, tzinfo=dt.UTC).timestamp()) * S
    span = 92 * 86_400 * S
    n = N_ORDERS
    symbols = np.array([f"S{i:04d}" for i in range(N_SYMBOLS)])
    sym = symbols[rng.integers(0, N_SYMBOLS, n)]
    mid = rng.integers(10, 500, n) * S
    bid, ask = mid - S // 100, mid + S // 100
    side = np.where(rng.random(n) < 0.5, 1, -1)
    kind = rng.integers(0, 4, n)
    far = np.where(side > 0, ask, bid)
    limit = np.where(kind == 0, 0, np.where(kind == 1, far + side * S // 50, far - side * S // 10))
    orders = Orders.build(
        order_id=np.char.add("P", np.arange(n).astype(np.str_)),
        symbol=sym,
        side=side,
        quantity=rng.integers(1, 20, n) * 100 * S,
        limit_price=limit,
        ts_received=start + rng.integers(0, span, n),
        bid=bid,
        ask=ask,
        bid_size=np.full(n, 500 * S),
        ask_size=np.full(n, 500 * S),
        directed=rng.random(n) < 0.02,
        stop=kind == 3,
    )
    per = rng.integers(1, 4, n)
    r_order = np.repeat(np.arange(n), per)
    routes = Routes.build(order=r_order, venue=VENUES[rng.integers(0, len(VENUES), r_order.size)])
    f_pick = rng.random(r_order.size) < 0.6
    f_order = r_order[f_pick]
    fills = Fills.build(
        order=f_order,
        venue=routes.venue[f_pick],
        price=far[f_order],
        quantity=np.full(f_order.size, 100 * S),
        fee=rng.integers(-3, 4, f_order.size) * 100 * S // 1000,
        ts=orders.ts_received[f_order] + rng.integers(1, 50, f_order.size) * 1_000_000,
    )
    sp500 = IndexMembership(
        tuple((str(s), dt.date(2000, 1, 1), None) for s in symbols[: N_SYMBOLS // 2])
    )
    q_n = 200_000
    q_sym = symbols[rng.integers(0, N_SYMBOLS, q_n)]
    q_mid = rng.integers(10, 500, q_n) * S
    tape = QuoteTape.from_quotes(
        q_sym, start + rng.integers(0, span, q_n), q_mid - S // 100, q_mid + S // 100
    )
    return orders, routes, fills, sp500, tape


def _timed(fn: Any, rounds: int = 3) -> list[float]:
    fn()  # warm-up
    gc.collect()
    gc.disable()
    try:
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return times
    finally:
        gc.enable()


def test_bench_606_quarter_of_one_million_parents(benchmark: Any) -> None:
    orders, routes, fills, sp500, tape = _quarter()
    report = compute_606("2026Q4", orders, routes, fills, sp500)
    total = sum(s.held_orders for m in report.months for s in m.sections.values())
    assert total == N_ORDERS  # every order lands in one month and one section
    assert all(len(s.venues) == len(VENUES) for m in report.months for s in m.sections.values())

    benchmark.pedantic(
        compute_606, args=("2026Q4", orders, routes, fills, sp500), rounds=3, warmup_rounds=1
    )
    median = benchmark.stats.stats.median
    exports = _timed(lambda: (csv_606(report), xml_606(report)))
    t605 = _timed(lambda: compute_605("2026-12", orders, fills, tape), rounds=1)
    benchmark.extra_info.update(
        {
            "orders": N_ORDERS,
            "routes": int(routes.order.size),
            "fills": len(fills),
            "rule606_s_median": median,
            "exports_s_median": float(np.median(exports)),
            "rule605_month_s": t605[0],
        }
    )
    print(
        f"\n606 over {N_ORDERS:,} parents, {routes.order.size:,} routes, {len(fills):,} fills: "
        f"median {median:.2f} s; CSV+XML {np.median(exports) * 1e3:.1f} ms; "
        f"605 (December, ~1/3 of the flow) {t605[0]:.2f} s"
    )
    assert median < GOAL_S
