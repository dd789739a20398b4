"""A trade that overflows a position (FixedPointOverflowError) is dead-lettered; the rest apply."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from nexus.bus import MemoryBus, TopicPartition
from nexus.events import DEAD_LETTER_CODEC, TOPIC_TRADES, TRADE_CODEC
from services.orders.consumer import trades_consumer
from services.orders.core import Fill, Position, apply_fill
from tests.support.events import make_trade
from tests.support.runner import run_until


class MemoryPositions:
    """The store's contract in memory: a batch applies whole or not at all."""

    def __init__(self) -> None:
        self.positions: dict[tuple[str, str], Position] = {}
        self.trades: set[tuple[str, str]] = set()

    async def apply_fills(self, fills: Sequence[Fill]) -> int:
        positions, seen = dict(self.positions), set(self.trades)
        new = 0
        for fill in fills:
            if (fill.trade_id, fill.side) in seen:
                continue
            seen.add((fill.trade_id, fill.side))
            key = (fill.user_id, fill.symbol)
            positions[key] = apply_fill(positions.get(key) or Position(*key), fill)
            new += 1
        self.positions, self.trades = positions, seen
        return new


async def test_a_trade_overflowing_the_position_is_dead_lettered_and_the_partition_goes_on() -> (
    None
):
    bus = MemoryBus(default_partitions=1)
    producer = bus.producer()
    trades = [make_trade(i) for i in range(6)]
    # the largest quantity a trade can carry: added to the positions, it overflows Fixed's int64
    trades[3] = msgspec.structs.replace(make_trade(100), quantity=2**63 - 1)
    for trade in trades:
        await producer.publish(TOPIC_TRADES, TRADE_CODEC.encode(trade), key=b"AAPL")
    store = MemoryPositions()
    runner = trades_consumer(bus, store)  # type: ignore[arg-type]
    runner._retry_base_s = runner._retry_max_s = 0.0005
    await run_until(
        runner, lambda: runner.stats.committed.get(TopicPartition(TOPIC_TRADES, 0)) == 6
    )
    [dead] = [DEAD_LETTER_CODEC.decode(m.value) for m in bus.messages(TOPIC_TRADES + ".dlq")]
    assert dead.offset == 3 and dead.error_type == "FixedPointOverflowError"
    assert runner.stats.poisoned == 1
    # the five other trades of 10 each are in the positions
    assert str(store.positions[("u1", "AAPL")].quantity) == "50"
    assert str(store.positions[("u2", "AAPL")].quantity) == "-50"
