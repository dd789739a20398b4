"""The engine over the compiled book and over the reference book emits identical events."""

from __future__ import annotations

import random

import pytest

from nexus._ext.book import Book
from nexus.events import ORDER_CODEC, TRADE_CODEC, OrderFill, Trade
from services.matching.core import (
    AmendOrder,
    CancelOrder,
    Command,
    MatchingEngine,
    OrderNotOpen,
    SubmitOrder,
    UnknownOrder,
)
from tests.support.reference_book import ReferenceBook

P = 1_000_000_000
TICK = P // 100


def random_commands(seed: int, n: int) -> list[Command]:
    rng = random.Random(seed)
    cmds: list[Command] = []
    for i in range(n):
        roll = rng.random()
        ts = 1_000 + i
        if roll < 0.6 or i < 5:
            order_type = "MARKET" if rng.random() < 0.05 else "LIMIT"
            tif = rng.choice(["GTC", "GTC", "DAY", "IOC", "FOK"])
            post_only = order_type == "LIMIT" and tif in ("GTC", "DAY") and rng.random() < 0.1
            cmds.append(
                SubmitOrder(
                    order_id=f"o{i}",
                    user_id=f"u{rng.randrange(3)}",
                    account_id=f"a{rng.randrange(3)}",
                    symbol=rng.choice(["AAA", "BBB"]),
                    side=rng.choice(["BUY", "SELL"]),
                    order_type=order_type,  # type: ignore[arg-type]
                    time_in_force=tif,  # type: ignore[arg-type]
                    price=0 if order_type == "MARKET" else 100 * P + rng.randint(-5, 5) * TICK,
                    quantity=rng.randint(1, 15) * P,
                    post_only=post_only,
                    stp=rng.choice([None, "OFF", "CANCEL_NEWEST", "CANCEL_OLDEST"]),
                    ts_event=ts,
                )
            )
        elif roll < 0.8:
            cmds.append(
                AmendOrder(
                    order_id=f"o{rng.randrange(i)}",
                    price=rng.choice([None, 100 * P + rng.randint(-5, 5) * TICK]),
                    quantity=rng.randint(1, 15) * P,
                    ts_event=ts,
                )
            )
        else:
            cmds.append(CancelOrder(order_id=f"o{rng.randrange(i)}", ts_event=ts))
    return cmds


def run(engine: MatchingEngine, cmds: list[Command]) -> list[bytes]:
    out: list[bytes] = []
    for cmd in cmds:
        try:
            events = engine.handle(cmd)
        except (UnknownOrder, OrderNotOpen) as exc:
            out.append(type(exc).__name__.encode())
            continue
        for e in events:
            codec = TRADE_CODEC if isinstance(e, Trade) else ORDER_CODEC
            out.append(codec.encode(e))
        for symbol in engine.symbols:
            bid, ask = engine.best_bid_ask(symbol)
            assert not (bid and ask and bid >= ask)
    out += [ORDER_CODEC.encode(e) for e in engine.expire_day(ts_event=10**6)]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_engine_events_identical_over_compiled_and_reference_books(seed: int) -> None:
    cmds = random_commands(seed, 800)
    fast = MatchingEngine(book_factory=Book)
    ref = MatchingEngine(book_factory=ReferenceBook)
    assert run(fast, cmds) == run(ref, cmds)
    for symbol in ("AAA", "BBB"):
        assert fast.snapshot(symbol, 50) == ref.snapshot(symbol, 50)


@pytest.mark.parametrize("seed", range(3))
def test_every_order_quantity_is_accounted_for(seed: int) -> None:
    engine = MatchingEngine()
    cmds = random_commands(seed, 600)
    filled: dict[str, int] = {}
    for cmd in cmds:
        try:
            events = engine.handle(cmd)
        except (UnknownOrder, OrderNotOpen):
            continue
        for e in events:
            if isinstance(e, OrderFill):
                filled[e.order_id] = filled.get(e.order_id, 0) + e.quantity
    buys = sells = 0
    for cmd in cmds:
        if isinstance(cmd, SubmitOrder):
            status = engine.order_status(cmd.order_id)
            assert status.filled_quantity == filled.get(cmd.order_id, 0)
            assert 0 <= status.leaves_quantity <= status.quantity - status.filled_quantity
            if status.status in ("NEW", "PARTIALLY_FILLED"):
                assert status.leaves_quantity > 0
            if cmd.side == "BUY":
                buys += status.filled_quantity
            else:
                sells += status.filled_quantity
    assert buys == sells > 0
