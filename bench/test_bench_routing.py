"""Routing benchmarks: the market view side by side with a plain-Python scan and NautilusTrader.

* NBBO query over a 10-venue market: the compiled view, its pure-Python twin (a plain scan over
  dicts and lists) and ten ``nautilus_trader.model.book.OrderBook``s (L2_MBP) asked for their
  best bid/ask and reduced to a consolidated best (skipped only when nautilus_trader is absent);
* quote update (L1): the same three;
* a routing decision (SMART, 2,500 shares, 10 venues x 5 levels): latency median and p99.

Figures are printed and stored in ``extra_info``; docs/BENCHMARKS.md (section 'Routing') keeps
the recorded results and the command.
"""

from __future__ import annotations

import gc
import importlib.util
import time
from typing import Any

import pytest

from nexus._ext.nbbo import MarketView
from services.routing.core import Strategy
from tests.support.nbbo_reference import ReferenceMarketView
from tests.support.routing_workload import NOW, SYMBOL, decide, quote_stream, router, venues

HAS_NAUTILUS = importlib.util.find_spec("nautilus_trader") is not None
N_QUOTES = 20_000
PEERS = [
    "compiled",
    "python",
    pytest.param(
        "nautilus",
        marks=pytest.mark.skipif(not HAS_NAUTILUS, reason="nautilus_trader not installed"),
    ),
]


def _report(benchmark: Any, name: str, n_ops: int) -> None:
    ns = benchmark.stats.stats.median / n_ops * 1e9
    benchmark.extra_info.update(ns_per_op=round(ns, 1), ops_per_s=round(1e9 / ns))
    print(f"\n[routing] {name}: {ns:,.1f} ns/op ({1e9 / ns:,.0f} ops/s)")


class _NautilusMarket:
    """Ten Nautilus L2 books, one per venue; the NBBO is the best over their best prices."""

    def __init__(self) -> None:
        from nautilus_trader.model.book import OrderBook
        from nautilus_trader.model.data import QuoteTick
        from nautilus_trader.model.enums import BookType
        from nautilus_trader.model.identifiers import InstrumentId
        from nautilus_trader.model.objects import Price, Quantity

        self._tick = QuoteTick
        self._price, self._qty = Price, Quantity
        self.books = {}
        self.ids = {}
        for i in range(10):
            iid = InstrumentId.from_str(f"{SYMBOL}.V{i}")
            self.ids[f"V{i}"] = iid
            self.books[f"V{i}"] = OrderBook(iid, BookType.L1_MBP)

    def ticks(self, stream: list[tuple[str, int, int, int, int, int]]) -> list[tuple[Any, Any]]:
        out = []
        for venue, bid, bs, ask, as_, ts in stream:
            tick = self._tick(
                self.ids[venue],
                self._price.from_str(f"{bid / 1e9:.2f}"),
                self._price.from_str(f"{ask / 1e9:.2f}"),
                self._qty.from_int(bs // 10**9),
                self._qty.from_int(as_ // 10**9),
                ts,
                ts,
            )
            out.append((self.books[venue], tick))
        return out

    def nbbo(self) -> tuple[Any, Any]:
        bid = ask = None
        for book in self.books.values():
            b = book.best_bid_price()
            a = book.best_ask_price()
            if b is not None and (bid is None or b > bid):
                bid = b
            if a is not None and (ask is None or a < ask):
                ask = a
        return bid, ask


def _market(kind: str) -> Any:
    if kind == "compiled":
        m: Any = MarketView(max_age_ns=10**12)
    elif kind == "python":
        m = ReferenceMarketView(max_age_ns=10**12)
    else:
        nm = _NautilusMarket()
        for book, tick in nm.ticks(quote_stream(50)):
            book.update_quote_tick(tick)
        return nm
    for v in venues():
        v.publish(m, SYMBOL, NOW - 1_000)
    return m


@pytest.mark.parametrize("kind", PEERS)
def test_bench_nbbo_query(benchmark: Any, kind: str) -> None:
    m = _market(kind)
    n = 10_000
    if kind == "nautilus":

        def run() -> None:
            for _ in range(n):
                m.nbbo()
    else:
        nbbo = m.nbbo

        def run() -> None:
            for _ in range(n):
                nbbo(SYMBOL, NOW)

    gc.disable()
    try:
        benchmark.pedantic(run, rounds=7, warmup_rounds=1)
    finally:
        gc.enable()
    _report(benchmark, f"NBBO query, 10 venues ({kind})", n)


@pytest.mark.parametrize("kind", PEERS)
def test_bench_quote_update(benchmark: Any, kind: str) -> None:
    m = _market(kind)
    stream = quote_stream(N_QUOTES)
    if kind == "nautilus":
        ticks = m.ticks(stream)

        def run() -> None:
            for book, tick in ticks:
                book.update_quote_tick(tick)
    else:
        update = m.update_l1

        def run() -> None:
            for v, b, bs, a, as_, ts in stream:
                update(SYMBOL, v, b, bs, a, as_, ts)

    gc.disable()
    try:
        benchmark.pedantic(run, rounds=7, warmup_rounds=1)
    finally:
        gc.enable()
    _report(benchmark, f"L1 quote update ({kind})", N_QUOTES)


@pytest.mark.parametrize("strategy", [Strategy.SMART, Strategy.BEST_PRICE, Strategy.FASTEST])
@pytest.mark.parametrize("kind", ["compiled", "python"])
def test_bench_decision_10_venues(benchmark: Any, kind: str, strategy: Strategy) -> None:
    r = router(
        MarketView(max_age_ns=10**12)
        if kind == "compiled"
        else ReferenceMarketView(max_age_ns=10**12)
    )
    samples: list[int] = []

    def run() -> None:
        t0 = time.perf_counter_ns()
        decide(r, strategy=strategy)
        samples.append(time.perf_counter_ns() - t0)

    gc.disable()
    try:
        benchmark.pedantic(run, rounds=2000, warmup_rounds=50)
    finally:
        gc.enable()
    samples.sort()
    p50 = samples[len(samples) // 2] / 1e3
    p99 = samples[int(len(samples) * 0.99)] / 1e3
    benchmark.extra_info.update(p50_us=round(p50, 1), p99_us=round(p99, 1))
    print(
        f"\n[routing] decision {strategy.value}, 10 venues x 5 levels ({kind} view): p50 {p50:,.1f} us, p99 {p99:,.1f} us"
    )
