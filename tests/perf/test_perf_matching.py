"""CI perf gates of the matching engine: far below the measured figures, so they never flake.

Measured (docs/bench/matching.md): ~5M ops/s one at a time, ~15M+ through the batch, cancel
flat in queue depth. The gates catch an order-of-magnitude regression (a lost O(1), a Python
fallback), not noise on a shared machine.
"""

from __future__ import annotations

import time

import numpy as np

from nexus._ext.book import Book
from services.matching.core.workload import Op, call_shaped, deep_levels, realistic_mix

FLOOR_OPS_PER_S = 100_000
MAX_DEPTH_RATIO = 4.0


def prefilled(prefill: list[Op]) -> Book:
    book = Book(capacity=65536)
    for op in prefill:
        book.submit(op[1], op[2], op[3], op[4], op[5], op[6])
    return book


def best_of(runs: int, fn: object) -> float:
    assert callable(fn)
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def test_mix_one_at_a_time_beats_floor() -> None:
    prefill, ops = realistic_mix(50_000)
    shaped = call_shaped(ops)
    books = [prefilled(prefill) for _ in range(3)]

    def run() -> None:
        book = books.pop()
        submit, amend, cancel = book.submit, book.amend, book.cancel
        for op in shaped:
            kind = op[0]
            if kind == 0:
                submit(op[1], op[2], op[3], op[4], op[5], op[6])
            elif kind == 2:
                cancel(op[1])
            else:
                amend(op[1], op[2], op[3])

    ops_per_s = len(shaped) / best_of(3, run)
    assert ops_per_s > FLOOR_OPS_PER_S, f"{ops_per_s:,.0f} ops/s"


def test_mix_batch_beats_floor() -> None:
    prefill, ops = realistic_mix(50_000)
    rows = np.array(ops, dtype=np.int64)
    books = [prefilled(prefill) for _ in range(3)]
    ops_per_s = len(ops) / best_of(3, lambda: books.pop().apply_batch(rows))
    assert ops_per_s > 2 * FLOOR_OPS_PER_S, f"{ops_per_s:,.0f} ops/s"


def test_cancel_cost_is_flat_in_queue_depth() -> None:
    costs = {}
    for depth in (50, 5000):
        adds, doomed = deep_levels(depth, total=20_000, cancels=2_000)
        books = []
        for _ in range(5):
            book = Book(capacity=len(adds) + 16)
            for op in adds:
                book.submit(op[1], op[2], op[3], op[4])
            books.append(book)

        def run(books: list[Book] = books, doomed: list[int] = doomed) -> None:
            cancel = books.pop().cancel
            for oid in doomed:
                cancel(oid)

        costs[depth] = best_of(5, run) / len(doomed)
    assert costs[5000] < MAX_DEPTH_RATIO * costs[50], costs
