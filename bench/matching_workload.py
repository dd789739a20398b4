"""Deterministic synthetic order flow for the matching benchmarks and perf gates.

A realistic mix at one book: passive adds near the touch, cancels and amends of live orders
(at any queue position), and aggressive IOC orders that sweep a few levels. Every operation is
a 9-int row in the compiled book's batch layout (``codes.COL_*``), so the same stream feeds
the one-at-a-time API and :meth:`Book.apply_batch`. Prices are raw fixed-point around 100.00
with a 0.01 tick; quantities are whole lots.
"""

from __future__ import annotations

import random
from typing import Final

from nexus._ext.book import Book
from services.matching.core import codes

Op = tuple[int, int, int, int, int, int, int, int, int]

LOT: Final = 1_000_000_000
TICK: Final = 10_000_000
MID: Final = 100 * LOT

#: share of each operation in :func:`realistic_mix` (the rest are aggressive IOC orders)
ADD_SHARE: Final = 0.40
CANCEL_SHARE: Final = 0.35
AMEND_SHARE: Final = 0.15


def _submit(oid: int, side: int, price: int, qty: int, tif: int = codes.TIF_GTC) -> Op:
    return (codes.OP_SUBMIT, oid, side, price, qty, 0, tif, 0, 0)


def _passive_price(rng: random.Random, side: int) -> int:
    ticks = rng.randint(1, 20)
    return MID - ticks * TICK if side == codes.SIDE_BUY else MID + ticks * TICK


def realistic_mix(n: int, seed: int = 7, resting: int = 2000) -> tuple[list[Op], list[Op]]:
    """``(prefill, stream)``: ``resting`` passive orders, then ``n`` mixed operations."""
    rng = random.Random(seed)
    book = Book(capacity=4 * resting)
    live: list[int] = []
    where: dict[int, int] = {}
    next_id = 1

    def forget(oid: int) -> None:
        i = where.pop(oid)
        last = live.pop()
        if last != oid:
            live[i] = last
            where[last] = i

    def run(op: Op) -> None:
        if op[0] == codes.OP_SUBMIT:
            book.submit(*op[1:7])
        elif op[0] == codes.OP_AMEND:
            book.amend(op[1], op[3], op[4])
        else:
            book.cancel(op[1])
        for _kind, maker, _taker, _price, _qty, leaves in book.fills():
            if leaves == 0:
                forget(maker)
        if op[0] != codes.OP_CANCEL and book.order(op[1]) is not None and op[1] not in where:
            where[op[1]] = len(live)
            live.append(op[1])
        elif op[0] != codes.OP_SUBMIT and book.order(op[1]) is None and op[1] in where:
            forget(op[1])

    prefill: list[Op] = []
    for _ in range(resting):
        side = rng.randrange(2)
        op = _submit(next_id, side, _passive_price(rng, side), rng.randint(1, 10) * LOT)
        next_id += 1
        run(op)
        prefill.append(op)

    stream: list[Op] = []
    for _ in range(n):
        roll = rng.random()
        if roll < ADD_SHARE or not live:
            side = rng.randrange(2)
            op = _submit(next_id, side, _passive_price(rng, side), rng.randint(1, 10) * LOT)
            next_id += 1
        elif roll < ADD_SHARE + CANCEL_SHARE:
            op = (codes.OP_CANCEL, live[rng.randrange(len(live))], 0, 0, 0, 0, 0, 0, 0)
        elif roll < ADD_SHARE + CANCEL_SHARE + AMEND_SHARE:
            oid = live[rng.randrange(len(live))]
            found = book.order(oid)
            assert found is not None, "live ids are kept in step with the book"
            side, price, qty, _account = found
            if rng.random() < 0.5 and qty > LOT:
                op = (codes.OP_AMEND, oid, side, price, qty - LOT, 0, 0, 0, 0)
            else:
                op = (codes.OP_AMEND, oid, side, _passive_price(rng, side), qty, 0, 0, 0, 0)
        else:
            side = rng.randrange(2)
            through = rng.randint(1, 3) * TICK
            price = MID + through if side == codes.SIDE_BUY else MID - through
            op = _submit(next_id, side, price, rng.randint(1, 20) * LOT, codes.TIF_IOC)
            next_id += 1
        run(op)
        stream.append(op)
    return prefill, stream


def deep_levels(
    depth: int, total: int = 100_000, cancels: int = 2_000, seed: int = 3
) -> tuple[list[Op], list[int]]:
    """``total`` one-lot asks queued ``depth`` per level, and ``cancels`` ids to cancel.

    The number of orders is the same at every depth (only the queue length changes), so a
    comparison across depths measures the queue, not the cache footprint. The ids to cancel
    are drawn uniformly, so they sit anywhere in their queues.
    """
    levels = max(1, total // depth)
    adds = [
        _submit(lvl * depth + k + 1, codes.SIDE_SELL, MID + (lvl + 1) * TICK, LOT)
        for lvl in range(levels)
        for k in range(depth)
    ]
    doomed = random.Random(seed).sample([op[1] for op in adds], min(cancels, len(adds) // 2))
    return adds, doomed


def call_shaped(ops: list[Op]) -> list[tuple[int, ...]]:
    """``ops`` reshaped for a cheap one-at-a-time dispatch loop (see the benchmarks).

    Submit ``(0, id, side, price, qty, account, tif)``, amend ``(1, id, price, qty)``,
    cancel ``(2, id)``: unpacking the 9-column rows in the loop would cost more than the book.
    """
    out: list[tuple[int, ...]] = []
    for op in ops:
        if op[0] == codes.OP_SUBMIT:
            out.append(op[:7])
        elif op[0] == codes.OP_AMEND:
            out.append((codes.OP_AMEND, op[1], op[3], op[4]))
        else:
            out.append((codes.OP_CANCEL, op[1]))
    return out
