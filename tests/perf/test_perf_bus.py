"""CI gate of the event path: events consumed and decoded per second by one process.

The seed's floor is 10,000 events/s; measured figures (docs/BENCHMARKS.md) are roughly ten
times that, so the gate catches a collapse, not noise.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from nexus.bus import ConsumerRunner, KafkaBus, MemoryBus, OutgoingMessage
from nexus.events import TRADE_CODEC
from tests.support.events import make_trade

FLOOR_EVENTS_PER_S = 10_000
EVENTS = 20_000

pytestmark = pytest.mark.integration


def _consume_rate(bus: Any, topic: str) -> float:
    async def run() -> float:
        await bus.create_topics([topic], partitions=4)
        producer = bus.producer()
        messages = [
            OutgoingMessage(
                topic, TRADE_CODEC.encode(make_trade(i, f"S{i % 20}")), f"S{i % 20}".encode()
            )
            for i in range(EVENTS)
        ]
        for i in range(0, EVENTS, 5_000):
            await producer.publish_batch(messages[i : i + 5_000])
        await producer.close()
        seen = 0
        first_at = 0.0

        async def handle(batch: list[Any]) -> None:
            nonlocal seen, first_at
            if not seen:
                first_at = time.perf_counter()  # the group join is not event processing
            seen += len(batch)

        runner = ConsumerRunner(
            bus,
            f"perf-{topic}",
            handle,
            topics=[topic],
            max_batch=5_000,
            decoder=lambda _t, v: TRADE_CODEC.decode(v),
        )
        task = asyncio.create_task(runner.run())
        async with asyncio.timeout(60):
            while seen < EVENTS:
                await asyncio.sleep(0.001)
        elapsed = time.perf_counter() - first_at
        runner.request_stop()
        await task
        return EVENTS / elapsed

    return asyncio.run(run())


def test_kafka_consume_and_decode_beats_floor(benchmark: Any, kafka_bootstrap: str) -> None:
    rates: list[float] = []
    benchmark.pedantic(
        lambda: rates.append(
            _consume_rate(KafkaBus(kafka_bootstrap), f"perf.bus.{time.time_ns()}")
        ),
        rounds=1,
        iterations=1,
    )
    assert max(rates) > FLOOR_EVENTS_PER_S


def test_memory_bus_consume_and_decode_beats_floor(benchmark: Any) -> None:
    rates: list[float] = []
    benchmark.pedantic(
        lambda: rates.append(_consume_rate(MemoryBus(), "perf.mem")), rounds=1, iterations=1
    )
    assert max(rates) > FLOOR_EVENTS_PER_S
