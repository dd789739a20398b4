"""Foundation benchmarks: fixed point (Cython and Python), event codecs, KafkaBus throughput.

Side by side in one run: ``Fixed`` vs ``decimal.Decimal`` vs plain ints, the C-level loop, and
msgspec msgpack vs JSON. Run with ``make bench``; figures go to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from nexus._ext import fixedbench
from nexus.bus import ConsumerRunner, KafkaBus, OutgoingMessage
from nexus.events import ORDER_CODEC, TRADE_CODEC, OrderNew
from nexus.money import Fixed
from tests.support.events import make_trade

C_LOOP = 1_000_000
A, B = Fixed("101.25"), Fixed("3.5")
DA, DB = Decimal("101.25"), Decimal("3.5")


@pytest.mark.benchmark(group="fixed-add")
def test_fixed_add_python(benchmark) -> None:
    benchmark(A.__add__, B)


@pytest.mark.benchmark(group="fixed-add")
def test_decimal_add_python_peer(benchmark) -> None:
    benchmark(DA.__add__, DB)


@pytest.mark.benchmark(group="fixed-add")
def test_fixed_add_cython_per_million(benchmark) -> None:
    benchmark(fixedbench.add_loop, A.raw, B.raw, C_LOOP)


@pytest.mark.benchmark(group="fixed-mul")
def test_fixed_mul_python(benchmark) -> None:
    benchmark(A.__mul__, B)


@pytest.mark.benchmark(group="fixed-mul")
def test_decimal_mul_quantize_python_peer(benchmark) -> None:
    q = Decimal("1e-9")
    benchmark(lambda: (DA * DB).quantize(q))


@pytest.mark.benchmark(group="fixed-mul")
def test_fixed_mul_cython_per_million(benchmark) -> None:
    benchmark(fixedbench.mul_loop, A.raw, B.raw, C_LOOP)


@pytest.mark.benchmark(group="fixed-cmp")
def test_fixed_compare_python(benchmark) -> None:
    benchmark(A.__lt__, B)


@pytest.mark.benchmark(group="fixed-cmp")
def test_decimal_compare_python_peer(benchmark) -> None:
    benchmark(DA.__lt__, DB)


@pytest.mark.benchmark(group="fixed-cmp")
def test_fixed_compare_cython_per_million(benchmark) -> None:
    benchmark(fixedbench.compare_loop, A.raw, B.raw, C_LOOP)


@pytest.mark.benchmark(group="fixed-parse")
def test_fixed_parse(benchmark) -> None:
    benchmark(Fixed, "101.250000001")


@pytest.mark.benchmark(group="fixed-parse")
def test_decimal_parse_peer(benchmark) -> None:
    benchmark(Decimal, "101.250000001")


ORDER = OrderNew(
    event_id="NEXUS:AAPL:1",
    ts_event=1,
    symbol="AAPL",
    order_id="o1",
    user_id="u1",
    account_id="a1",
    side="BUY",
    order_type="LIMIT",
    price=101_250_000_000,
    quantity=10**11,
)


@pytest.mark.benchmark(group="codec")
def test_order_event_msgpack_encode_decode(benchmark) -> None:
    benchmark(lambda: ORDER_CODEC.decode(ORDER_CODEC.encode(ORDER)))


@pytest.mark.benchmark(group="codec")
def test_order_event_json_encode_decode(benchmark) -> None:
    benchmark(lambda: ORDER_CODEC.decode_json(ORDER_CODEC.encode_json(ORDER)))


EVENTS = 100_000


def _bus_round(bootstrap: str, topic: str) -> dict[str, float]:
    async def run() -> dict[str, float]:
        bus = KafkaBus(bootstrap)
        await bus.create_topics([topic], partitions=6)
        msgs = [
            OutgoingMessage(
                topic, TRADE_CODEC.encode(make_trade(i, f"S{i % 50}")), f"S{i % 50}".encode()
            )
            for i in range(EVENTS)
        ]
        producer = bus.producer()
        start = time.perf_counter()
        for i in range(0, EVENTS, 5_000):
            await producer.publish_batch(msgs[i : i + 5_000])
        produce_s = time.perf_counter() - start
        await producer.close()
        seen = 0

        async def handle(batch: list) -> None:
            nonlocal seen
            seen += len(batch)

        runner = ConsumerRunner(
            bus,
            f"bench-{topic}",
            handle,
            topics=[topic],
            max_batch=5_000,
            decoder=lambda _t, v: TRADE_CODEC.decode(v),
        )
        task = asyncio.create_task(runner.run())
        start = time.perf_counter()
        while seen < EVENTS:
            await asyncio.sleep(0.001)
            if seen == 0:
                start = time.perf_counter()  # exclude the group join from the rate
        consume_s = time.perf_counter() - start
        runner.request_stop()
        await task
        return {"produce_per_s": EVENTS / produce_s, "consume_decode_per_s": EVENTS / consume_s}

    return asyncio.run(run())


@pytest.mark.benchmark(group="kafka-bus")
def test_kafka_bus_produce_and_consume_throughput(benchmark, kafka_bootstrap: str) -> None:
    rounds = iter(range(100))
    results: list[dict[str, float]] = []

    def once() -> None:
        results.append(_bus_round(kafka_bootstrap, f"bench.bus.{time.time_ns()}.{next(rounds)}"))

    benchmark.pedantic(once, rounds=3, iterations=1)
    best = {k: max(r[k] for r in results) for k in results[0]}
    benchmark.extra_info.update(best)
    print(f"\nKafkaBus on loopback: {best}")
