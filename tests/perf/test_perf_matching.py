"""Perf gates of the matching kernel that fail when the compiled path is not what runs.

* the compiled book is at least :data:`MIN_SPEEDUP` times the pure ``ReferenceBook`` on the
  same realistic stream, measured in the same run (a Python fallback, or the reference
  swapped in, is 1x);
* what is timed is checked: every result code of the timed run equals the reference's, and the
  stream really rests, fills, expires and cancels (a run of rejects would be fast and wrong);
* ``nexus._ext`` modules are the compiled extensions (``.so`` files, C types).

Figures (docs/BENCHMARKS.md, matching): ~5M ops/s one at a time on the compiled book, the
reference 154k-220k ops/s, so the measured ratio is ~20-30x; the 5x gate leaves room for a
loaded machine and still fails on any fallback.
"""

from __future__ import annotations

import importlib.machinery
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

import nexus._ext.book
import nexus._ext.fixed
from bench.matching_workload import Op, call_shaped, deep_levels, realistic_mix
from nexus.book import Book, Result
from tests.support.reference_book import ReferenceBook

MIN_SPEEDUP = 5.0
MAX_DEPTH_RATIO = 4.0


def prefilled(factory: Callable[..., Any], prefill: list[Op]) -> Any:
    book = factory()
    for op in prefill:
        book.submit(op[1], op[2], op[3], op[4], op[5], op[6])
    return book


def run_stream(book: Any, shaped: list[tuple[int, ...]]) -> list[int]:
    submit, amend, cancel = book.submit, book.amend, book.cancel
    out = []
    append = out.append
    for op in shaped:
        kind = op[0]
        if kind == 0:
            append(submit(op[1], op[2], op[3], op[4], op[5], op[6]))
        elif kind == 2:
            append(cancel(op[1]))
        else:
            append(amend(op[1], op[2], op[3]))
    return out


def best_time(
    factory: Callable[..., Any], prefill: list[Op], shaped: list[tuple[int, ...]], runs: int
) -> tuple[float, list[int]]:
    best, results = float("inf"), []
    for _ in range(runs):
        book = prefilled(factory, prefill)
        t0 = time.perf_counter()
        results = run_stream(book, shaped)
        best = min(best, time.perf_counter() - t0)
    return best, results


def test_compiled_extensions_are_loaded() -> None:
    for module in (nexus._ext.book, nexus._ext.fixed):
        assert module.__file__ is not None
        assert module.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)), module
    assert Book is nexus._ext.book.Book
    # Cython's compiled function type, not a Python function (whose code is bytecode)
    assert type(Book.submit).__name__ == "cython_function_or_method"
    assert not isinstance(Book.submit, type(run_stream))


def test_compiled_book_is_5x_the_reference_on_the_same_stream() -> None:
    prefill, ops = realistic_mix(20_000)
    shaped = call_shaped(ops)
    compiled_s, compiled_results = best_time(lambda: Book(capacity=65536), prefill, shaped, 5)
    reference_s, reference_results = best_time(ReferenceBook, prefill, shaped, 2)
    assert compiled_results == reference_results  # every result code and cancelled quantity
    submits = [r for op, r in zip(shaped, compiled_results, strict=True) if op[0] == 0]
    codes = Counter(Result(r) for r in submits)
    for expected in (Result.RESTED, Result.FILLED, Result.EXPIRED):
        assert codes[expected] > 0.02 * len(submits), codes
    assert sum(n for code, n in codes.items() if code.is_reject) < 0.05 * len(submits), codes
    cancels = [r for op, r in zip(shaped, compiled_results, strict=True) if op[0] == 2]
    assert sum(1 for r in cancels if r > 0) > 0.5 * len(cancels)
    speedup = reference_s / compiled_s
    print(
        f"compiled {len(shaped) / compiled_s:,.0f} ops/s, reference "
        f"{len(shaped) / reference_s:,.0f} ops/s, speedup {speedup:.1f}x"
    )
    assert speedup >= MIN_SPEEDUP, f"compiled only {speedup:.1f}x the reference"


def test_batch_is_5x_the_reference_and_gives_its_results() -> None:
    prefill, ops = realistic_mix(20_000)
    rows = np.array(ops, dtype=np.int64)
    best = float("inf")
    out = None
    for _ in range(5):
        book = prefilled(lambda: Book(capacity=65536), prefill)
        t0 = time.perf_counter()
        out = book.apply_batch(rows)
        best = min(best, time.perf_counter() - t0)
    ref = prefilled(ReferenceBook, prefill)
    t0 = time.perf_counter()
    want = ref.apply_batch([list(r) for r in ops])
    reference_s = time.perf_counter() - t0
    assert out is not None and [int(v) for v in out] == want
    assert reference_s / best >= MIN_SPEEDUP, f"batch only {reference_s / best:.1f}x the reference"


def test_cancel_cost_is_flat_in_queue_depth() -> None:
    costs = {}
    for depth in (50, 5000):
        adds, doomed = deep_levels(depth, total=20_000, cancels=2_000)
        books = []
        for _ in range(5):
            book = Book(capacity=len(adds) + 16)
            for op in adds:
                assert book.submit(op[1], op[2], op[3], op[4]) == Result.RESTED
            books.append(book)

        def run(books: list[Book] = books, doomed: list[int] = doomed) -> None:
            cancel = books.pop().cancel
            for oid in doomed:
                assert cancel(oid) > 0

        best = float("inf")
        for _ in range(5):
            t0 = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - t0)
        costs[depth] = best / len(doomed)
    assert costs[5000] < MAX_DEPTH_RATIO * costs[50], costs
