"""Property-based: the compiled book and the reference agree after any sequence of operations.

Same result codes, same fills (in order), same book (every level, FIFO and open quantity),
never crossed, and quantity conserved: what rests = what came in - fills - cancels - expiries.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from nexus import book as codes
from nexus._ext.book import Book
from tests.support.reference_book import ReferenceBook

TICK = 10_000_000  # 0.01 at the fixed-point scale
BASE = 100 * 1_000_000_000

Op = tuple[str, int, int, int, int, int, int, bool, int]

prices = st.integers(-5, 5).map(lambda k: BASE + k * TICK)
quantities = st.one_of(st.integers(1, 4), st.integers(5, 20)).map(lambda q: q * 1_000_000_000)
# ``pick`` chooses the order: a fresh id, a resting one (amend, cancel, duplicate) or an unknown
picks = st.integers(0, 99)

submits = st.tuples(
    st.just("submit"),
    picks,
    st.sampled_from([codes.SIDE_BUY, codes.SIDE_SELL]),
    st.one_of(prices, prices, prices, st.just(0)),
    quantities,
    st.integers(0, 2),  # account
    st.sampled_from([codes.TIF_GTC, codes.TIF_GTC, codes.TIF_DAY, codes.TIF_IOC, codes.TIF_FOK]),
    st.sampled_from([False, False, False, True]),
    st.sampled_from([codes.STP_OFF, codes.STP_CANCEL_NEWEST, codes.STP_CANCEL_OLDEST]),
)
amends = st.tuples(
    st.just("amend"),
    picks,
    st.just(0),
    prices,
    quantities,
    st.just(0),
    st.just(0),
    st.just(False),
    st.just(0),
)
cancels = st.tuples(
    st.just("cancel"),
    picks,
    st.just(0),
    st.just(0),
    st.just(0),
    st.just(0),
    st.just(0),
    st.just(False),
    st.just(0),
)
op_sequences = st.lists(st.one_of(submits, submits, amends, cancels), min_size=20, max_size=150)


def resolve(ops: list[Op]) -> list[Op]:
    """Turn each ``pick`` into a concrete order id, replaying the ops on a reference book."""
    book, fresh, out = ReferenceBook(), 0, []
    for op in ops:
        pick = op[1]
        resting = sorted(oid for side in (0, 1) for _, q in book.levels(side) for oid, _ in q)
        if op[0] == "submit" and (pick < 90 or not resting):
            fresh += 1
            oid = fresh
        elif (resting and pick < 95) or op[0] == "submit":
            oid = resting[pick % len(resting)]
        else:
            oid = 1_000_000 + pick
        price = op[3]
        if op[0] == "submit" and price:
            # bids lean low and asks high, so books build depth and only some orders cross
            price += -2 * TICK if op[2] == codes.SIDE_BUY else 2 * TICK
        concrete = (op[0], oid, op[2], price, *op[4:])
        apply(book, concrete)
        out.append(concrete)
    return out


def apply(book: Any, op: Op) -> int:
    kind, oid, side, price, qty, account, tif, post_only, stp = op
    if kind == "submit":
        return int(book.submit(oid, side, price, qty, account, tif, post_only, stp))
    if kind == "amend":
        return int(book.amend(oid, price, qty))
    return int(book.cancel(oid))


def state(book: Any) -> tuple[object, ...]:
    return (book.levels(codes.SIDE_BUY), book.levels(codes.SIDE_SELL), len(book))


def resting_quantity(book: Any) -> int:
    return sum(q for side in (0, 1) for _, queue in book.levels(side) for _, q in queue)


@settings(max_examples=400, deadline=None)
@given(op_sequences)
def test_compiled_book_matches_reference_after_every_operation(ops: list[Op]) -> None:
    check_against_reference(resolve(ops))


huge = st.sampled_from([1, 2**61, 2**62 - 1, 2**62, 2**63 - 1])


@settings(max_examples=150, deadline=None)
@given(st.lists(huge, min_size=5, max_size=60), op_sequences)
def test_compiled_book_matches_reference_at_int64_limits(sizes: list[int], ops: list[Op]) -> None:
    """Quantities near 2**63: level totals and FOK sums must neither wrap nor diverge."""
    big: list[Op] = [(*op[:4], sizes[i % len(sizes)], *op[5:]) for i, op in enumerate(ops)]
    check_against_reference(resolve(big))


def check_against_reference(ops: list[Op]) -> None:
    fast, ref = Book(capacity=16), ReferenceBook()
    for op in ops:
        before = resting_quantity(ref)
        open_before = ref.order(op[1])
        got, want = apply(fast, op), apply(ref, op)
        assert got == want, op
        event(f"{op[0]} -> {want if op[0] != 'cancel' else bool(want)}")
        event(f"fill records: {min(len(ref.fills()), 3)}")
        assert fast.fills() == ref.fills(), op
        assert (fast.last_filled, fast.last_remaining) == (ref.last_filled, ref.last_remaining)
        assert state(fast) == state(ref), op
        assert fast.check()
        assert ref.check()
        # quantity conservation
        fills = ref.fills()
        traded = sum(f[4] for f in fills if f[0] == codes.FILL_MATCH)
        stp_cancelled = sum(f[4] for f in fills if f[0] == codes.FILL_STP_CANCEL)
        after = resting_quantity(ref)
        if op[0] == "cancel":
            assert after == before - got
        elif op[0] == "submit" and want in (
            codes.RESTED,
            codes.FILLED,
            codes.EXPIRED,
            codes.STP_CANCELLED,
        ):
            rested = ref.last_remaining if want == codes.RESTED else 0
            assert ref.last_filled == traded
            assert after == before + rested - traded - stp_cancelled
        elif op[0] == "amend" and want not in (
            codes.REJECT_UNKNOWN,
            codes.REJECT_INVALID,
            codes.REJECT_POST_ONLY,
        ):
            assert open_before is not None
            rested = ref.last_remaining if want in (codes.RESTED, codes.AMENDED) else 0
            assert after == before - open_before[2] + rested - traded - stp_cancelled
        else:
            assert after == before


@settings(max_examples=150, deadline=None)
@given(op_sequences)
def test_batch_gives_same_results_and_fills_as_reference(ops: list[Op]) -> None:
    ops = resolve(ops)
    kinds = {"submit": codes.OP_SUBMIT, "amend": codes.OP_AMEND, "cancel": codes.OP_CANCEL}
    rows = [[kinds[o[0]], *o[1:7], int(o[7]), o[8]] for o in ops]
    fast, ref = Book(capacity=16), ReferenceBook()
    got = fast.apply_batch(np.array(rows, dtype=np.int64).reshape(-1, codes.BATCH_COLUMNS))
    want = ref.apply_batch(rows)
    assert [int(v) for v in got] == want
    assert [tuple(int(v) for v in f) for f in fast.fills_array()] == ref.fills_array()
    assert state(fast) == state(ref)


@settings(max_examples=100, deadline=None)
@given(op_sequences, st.sampled_from([codes.TIF_DAY, codes.TIF_GTC]))
def test_expire_matches_reference(ops: list[Op], tif: int) -> None:
    ops = resolve(ops)
    fast, ref = Book(capacity=16), ReferenceBook()
    for op in ops:
        apply(fast, op)
        apply(ref, op)
    assert fast.expire(tif) == ref.expire(tif)
    assert state(fast) == state(ref)
    assert fast.check()


def random_ops(seed: int, n: int) -> list[Op]:
    """A long, busy stream: books several levels deep, frequent sweeps, amends and cancels."""
    rng = random.Random(seed)
    ops: list[Op] = []
    for _ in range(n):
        roll = rng.random()
        pick = rng.randrange(100)
        if roll < 0.55:
            side = rng.randrange(2)
            price = 0 if rng.random() < 0.05 else BASE + rng.randint(-6, 6) * TICK
            qty = rng.choice((rng.randint(1, 5), rng.randint(5, 30))) * 1_000_000_000
            tif = rng.choice(
                (codes.TIF_GTC, codes.TIF_GTC, codes.TIF_DAY, codes.TIF_IOC, codes.TIF_FOK)
            )
            post_only = tif in (codes.TIF_GTC, codes.TIF_DAY) and price and rng.random() < 0.1
            stp = rng.choice((codes.STP_OFF, codes.STP_CANCEL_NEWEST, codes.STP_CANCEL_OLDEST))
            ops.append(
                ("submit", pick, side, price, qty, rng.randrange(4), tif, bool(post_only), stp)
            )
        elif roll < 0.75:
            price = BASE + rng.randint(-6, 6) * TICK
            qty = rng.randint(1, 20) * 1_000_000_000
            ops.append(("amend", pick, 0, price, qty, 0, 0, False, 0))
        else:
            ops.append(("cancel", pick, 0, 0, 0, 0, 0, False, 0))
    return ops


@pytest.mark.parametrize("seed", range(12))
def test_long_random_stream_matches_reference(seed: int) -> None:
    ops = resolve(random_ops(seed, 1500))
    fast, ref = Book(capacity=16), ReferenceBook()
    fills = 0
    for op in ops:
        assert apply(fast, op) == apply(ref, op), op
        assert fast.fills() == ref.fills(), op
        assert (fast.last_filled, fast.last_remaining) == (ref.last_filled, ref.last_remaining)
        fills += len(ref.fills())
    assert state(fast) == state(ref)
    assert fast.depth(codes.SIDE_BUY, 5) == ref.depth(codes.SIDE_BUY, 5)
    assert fast.depth(codes.SIDE_SELL, 5) == ref.depth(codes.SIDE_SELL, 5)
    assert fast.check()
    assert fills > 100
