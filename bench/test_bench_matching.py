"""Matching engine benchmarks, side by side with NautilusTrader's L3 order book.

* a realistic mix (add, cancel, amend, aggressive IOC) called one operation at a time from
  Python, and the same stream through the batch entry point;
* per-operation latency (median, p99) of that mix;
* add, and cancel at 50 vs 5,000 orders per level (cancel must be flat: O(1) at any depth),
  on the same operation stream for our book and ``nautilus_trader.model.book.OrderBook``
  (L3_MBO); the Nautilus cases skip only when ``nautilus_trader`` is not importable;
* commands through :class:`MatchingEngine` (string ids, typed events).

Figures are printed and stored in ``extra_info`` (ops_per_s, ns_per_op); see
docs/bench/matching.md for the command and the recorded results.
"""

from __future__ import annotations

import gc
import importlib.util
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from bench.matching_workload import (
    LOT,
    MID,
    TICK,
    Op,
    call_shaped,
    deep_levels,
    realistic_mix,
)
from nexus._ext.book import Book
from nexus.money import format_raw
from services.matching.core import MatchingEngine, SubmitOrder, codes

MIX_OPS = 200_000
HAS_NAUTILUS = importlib.util.find_spec("nautilus_trader") is not None
PEERS = [
    "nexus",
    pytest.param(
        "nautilus",
        marks=pytest.mark.skipif(not HAS_NAUTILUS, reason="nautilus_trader not installed"),
    ),
]


def report(benchmark: Any, name: str, n_ops: int) -> None:
    """Record and print throughput from the median round (each round does ``n_ops``)."""
    median = benchmark.stats.stats.median
    ops = n_ops / median
    benchmark.extra_info.update(ops_per_s=round(ops), ns_per_op=round(1e9 / ops, 1))
    print(f"\n[matching] {name}: {ops:,.0f} ops/s ({1e9 / ops:,.1f} ns/op)")


@pytest.fixture(scope="module")
def mix() -> tuple[list[Op], list[Op]]:
    return realistic_mix(MIX_OPS)


def prefilled(prefill: list[Op]) -> Book:
    book = Book(capacity=65536)
    for op in prefill:
        book.submit(op[1], op[2], op[3], op[4], op[5], op[6])
    return book


def run_one_at_a_time(book: Book, ops: list[tuple[int, ...]]) -> None:
    submit, amend, cancel = book.submit, book.amend, book.cancel
    for op in ops:
        kind = op[0]
        if kind == 0:
            submit(op[1], op[2], op[3], op[4], op[5], op[6])
        elif kind == 2:
            cancel(op[1])
        else:
            amend(op[1], op[2], op[3])


def test_mix_one_at_a_time(benchmark: Any, mix: tuple[list[Op], list[Op]]) -> None:
    prefill, ops = mix
    shaped = call_shaped(ops)
    benchmark.pedantic(
        run_one_at_a_time,
        setup=lambda: ((prefilled(prefill), shaped), {}),
        rounds=7,
        warmup_rounds=1,
    )
    report(benchmark, "mix one-at-a-time (add/cancel/amend/IOC)", len(ops))


def test_mix_batch(benchmark: Any, mix: tuple[list[Op], list[Op]]) -> None:
    prefill, ops = mix
    rows = np.array(ops, dtype=np.int64)
    benchmark.pedantic(
        lambda book: book.apply_batch(rows),
        setup=lambda: ((prefilled(prefill),), {}),
        rounds=7,
        warmup_rounds=1,
    )
    report(benchmark, "mix batch (apply_batch)", len(ops))


def test_mix_latency_per_operation(benchmark: Any, mix: tuple[list[Op], list[Op]]) -> None:
    prefill, ops = mix
    shaped = call_shaped(ops)
    clock = time.perf_counter_ns
    samples: list[int] = []

    def measure(book: Book) -> None:
        submit, amend, cancel = book.submit, book.amend, book.cancel
        out = [0] * len(shaped)
        for i, op in enumerate(shaped):
            kind = op[0]
            t0 = clock()
            if kind == 0:
                submit(op[1], op[2], op[3], op[4], op[5], op[6])
            elif kind == 2:
                cancel(op[1])
            else:
                amend(op[1], op[2], op[3])
            out[i] = clock() - t0
        samples[:] = out

    benchmark.pedantic(measure, setup=lambda: ((prefilled(prefill),), {}), rounds=3)
    empty = []
    for _ in range(100_000):
        t0 = clock()
        empty.append(clock() - t0)
    timer = statistics.median(empty)
    ordered = sorted(samples)
    p50, p99 = ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.99)]
    p999 = ordered[int(len(ordered) * 0.999)]
    benchmark.extra_info.update(p50_ns=p50, p99_ns=p99, p999_ns=p999, timer_ns=timer)
    print(
        f"\n[matching] latency per operation (incl. Python call, timer {timer:.0f} ns): "
        f"median {p50} ns, p99 {p99} ns, p99.9 {p999} ns"
    )


# -- side by side with NautilusTrader (add, delete at depth) ------------------------------------
class NautilusBook:
    """The same op stream on nautilus_trader's L3_MBO OrderBook (orders prebuilt, untimed)."""

    def __init__(self, adds: list[Op]) -> None:
        from nautilus_trader.model.book import OrderBook
        from nautilus_trader.model.data import BookOrder
        from nautilus_trader.model.enums import BookType, OrderSide
        from nautilus_trader.model.identifiers import InstrumentId
        from nautilus_trader.model.objects import Price, Quantity

        self._make: Callable[[], Any] = lambda: OrderBook(
            InstrumentId.from_str("ACME.XNAS"), BookType.L3_MBO
        )
        sides = {codes.SIDE_BUY: OrderSide.BUY, codes.SIDE_SELL: OrderSide.SELL}
        prices: dict[int, Any] = {}
        self.orders = {}
        for _op, oid, side, price, qty, *_ in adds:
            if price not in prices:
                prices[price] = Price.from_str(format_raw(price))
            self.orders[oid] = BookOrder(sides[side], prices[price], Quantity(qty // LOT, 0), oid)

    def empty(self) -> Any:
        return self._make()


def build_adds(peer: str, adds: list[Op]) -> tuple[Callable[[], Any], Callable[[Any], None]]:
    """(fresh book, add every order of ``adds``) for ``peer``."""
    if peer == "nexus":

        def add_nexus(book: Book) -> None:
            submit = book.submit
            for op in adds:
                submit(op[1], op[2], op[3], op[4])

        return (lambda: Book(capacity=len(adds) + 16)), add_nexus
    peer_book = NautilusBook(adds)
    orders = [peer_book.orders[op[1]] for op in adds]

    def add_nautilus(book: Any) -> None:
        add = book.add
        for order in orders:
            add(order, 0)

    return peer_book.empty, add_nautilus


@pytest.mark.parametrize("depth", [50, 5000])
@pytest.mark.parametrize("peer", PEERS)
def test_add_orders(benchmark: Any, peer: str, depth: int) -> None:
    adds, _ = deep_levels(depth)
    empty, add_all = build_adds(peer, adds)
    benchmark.pedantic(add_all, setup=lambda: ((empty(),), {}), rounds=5, warmup_rounds=1)
    report(benchmark, f"{peer} add, {depth} orders/level ({len(adds):,} orders)", len(adds))


@pytest.mark.parametrize("depth", [50, 5000])
@pytest.mark.parametrize("peer", PEERS)
def test_cancel_at_queue_depth(benchmark: Any, peer: str, depth: int) -> None:
    adds, doomed = deep_levels(depth)
    empty, add_all = build_adds(peer, adds)

    def setup() -> tuple[tuple[Any], dict[str, Any]]:
        book = empty()
        add_all(book)
        gc.collect()
        return (book,), {}

    if peer == "nexus":

        def cancel_all(book: Any) -> None:
            cancel = book.cancel
            for oid in doomed:
                cancel(oid)
    else:
        orders = NautilusBook(adds).orders
        doomed_orders = [orders[oid] for oid in doomed]

        def cancel_all(book: Any) -> None:
            delete = book.delete
            for order in doomed_orders:
                delete(order, 0)

    benchmark.pedantic(cancel_all, setup=setup, rounds=15, warmup_rounds=1)
    report(benchmark, f"{peer} cancel at {depth} orders/level ({len(adds):,} orders)", len(doomed))


@pytest.mark.parametrize("depth", [50, 5000])
def test_cancel_at_queue_depth_batch(benchmark: Any, depth: int) -> None:
    """The same cancels through ``apply_batch``: the book's own cost, no Python per call."""
    adds, doomed = deep_levels(depth)
    rows = np.zeros((len(doomed), codes.BATCH_COLUMNS), dtype=np.int64)
    rows[:, codes.COL_OP] = codes.OP_CANCEL
    rows[:, codes.COL_ID] = doomed

    def setup() -> tuple[tuple[Book], dict[str, Any]]:
        book = Book(capacity=len(adds) + 16)
        for op in adds:
            book.submit(op[1], op[2], op[3], op[4])
        return (book,), {}

    benchmark.pedantic(lambda book: book.apply_batch(rows), setup=setup, rounds=15)
    report(benchmark, f"nexus batch cancel at {depth} orders/level", len(doomed))


def test_engine_commands(benchmark: Any) -> None:
    """String ids, validation, halts check and typed events: the service-level cost."""
    n = 20_000
    cmds = [
        SubmitOrder(
            order_id=f"o{i}",
            user_id=f"u{i % 7}",
            account_id=f"a{i % 7}",
            symbol="ACME",
            side="BUY" if i % 2 else "SELL",
            price=MID + ((i * 7919) % 9 - 4) * TICK,
            quantity=(1 + i % 5) * LOT,
            ts_event=i,
        )
        for i in range(n)
    ]

    def run(engine: MatchingEngine) -> None:
        submit = engine.submit
        for cmd in cmds:
            submit(cmd)

    benchmark.pedantic(run, setup=lambda: ((MatchingEngine(),), {}), rounds=5, warmup_rounds=1)
    report(benchmark, "MatchingEngine.submit (events out)", n)
