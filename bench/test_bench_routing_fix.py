"""Route and execute through FIX venue processes: parent orders/s and latency percentiles.

Three venue processes (``python -m services.venues.main``: ALPHA maker-taker, BRAVO inverted,
CHARLIE at 0.5 ms median latency here) quote four symbols on the session's real broker and
accept FIX 4.4 sessions. This process runs the core :class:`SmartOrderRouter` over the
compiled market view, fed from ``marketdata.quotes`` by a consumer, with one QuickFIX
initiator per venue (:class:`services.routing.fix.FixVenue`). ``IN_FLIGHT`` parents are kept
outstanding for ``DURATION_S`` seconds: each a 100-share BEST_PRICE parent, buys and sells
alternating, limit 10 cents through the far side. A parent's latency is ``route_and_execute``
from the call to its final report (decision, NewOrderSingle(s) out, ExecutionReports back,
re-routing of misses included). Every report is checked exact (filled + leaves + in doubt =
quantity). Figures: docs/BENCHMARKS.md (section 'Routing through FIX').
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import signal
import statistics
import time
from pathlib import Path
from typing import Any, cast

import uvloop

from nexus._ext.nbbo import MarketView
from nexus.bus import ConsumerRunner, Delivery, KafkaBus
from nexus.events import TOPIC_QUOTES, Quote
from nexus.halts import HaltBook
from nexus.money import to_raw
from services.routing.core import Strategy
from services.routing.core.market import MarketSource
from services.routing.core.router import RouterConfig, SmartOrderRouter
from tests.integration.venues.harness import VenueProcess, connect

SYMBOLS = {"BX0": "50.00", "BX1": "20.00", "BX2": "80.00", "BX3": "35.00"}
IN_FLIGHT = 16
DURATION_S = 5.0
WARMUP_S = 1.0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _run(stack: Any, data_dir: Path) -> dict[str, Any]:
    spec = ",".join(f"{s}={p}" for s, p in SYMBOLS.items())
    common = ["--fade-probability", "0", "--requote-ms", "50"]
    venues = [
        VenueProcess("ALPHA", data_dir, spec, stack.kafka_bootstrap, common),
        VenueProcess("BRAVO", data_dir, spec, stack.kafka_bootstrap, common),
        VenueProcess(
            "CHARLIE",
            data_dir,
            spec,
            stack.kafka_bootstrap,
            [*common, "--latency-ms", "0.5", "--latency-sigma", "0.3"],
        ),
    ]
    await asyncio.gather(*(v.start() for v in venues))
    router = SmartOrderRouter(
        cast(MarketSource, MarketView(max_age_ns=5_000_000_000)),
        HaltBook(),
        config=RouterConfig(child_timeout_s=0.5, cancel_timeout_s=2.0),
    )
    adapters = []
    for v in venues:
        adapter = await connect(v, heartbeat_s=5)
        router.register_venue(adapter)
        adapters.append(adapter)

    async def on_quotes(batch: list[Delivery[Quote]]) -> None:
        for d in batch:
            router.on_quote(d.event)

    bus = KafkaBus(stack.kafka_bootstrap)
    runner = ConsumerRunner(
        bus,
        f"bench-routing-{time.time_ns()}",
        on_quotes,
        topics=[TOPIC_QUOTES],
        poll_timeout_s=0.005,
        max_batch=5000,
    )
    consumer = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(30):
            while not all(router.market.nbbo(s, router.clock()).ask_price for s in SYMBOLS):
                await asyncio.sleep(0.05)
        counter = itertools.count()
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        filled = 0
        errors = 0
        measuring = False

        async def one() -> None:
            nonlocal filled, errors
            i = next(counter)
            symbol = list(SYMBOLS)[i % len(SYMBOLS)]
            side = "BUY" if i % 2 else "SELL"
            nbbo = router.market.nbbo(symbol, router.clock())
            far = nbbo.ask_price if side == "BUY" else nbbo.bid_price
            limit = far + to_raw("0.10") if side == "BUY" else far - to_raw("0.10")
            t0 = time.perf_counter()
            try:
                report = await router.route_and_execute(
                    f"B{i}", "bench", symbol, side, to_raw("100"), limit, Strategy.BEST_PRICE
                )
            except Exception:  # counted: the benchmark asserts there are none
                errors += 1
                return
            dt = time.perf_counter() - t0
            assert (
                report.filled_quantity + report.leaves_quantity + report.in_doubt_quantity
                == report.quantity
            )
            if measuring:
                latencies.append(dt)
                statuses[report.status] = statuses.get(report.status, 0) + 1
                filled += report.filled_quantity

        async def worker(until: float) -> None:
            while time.perf_counter() < until:
                await one()

        gc.collect()
        gc.disable()
        try:
            end = time.perf_counter() + WARMUP_S
            await asyncio.gather(*(worker(end) for _ in range(IN_FLIGHT)))
            measuring = True
            t0 = time.perf_counter()
            end = t0 + DURATION_S
            await asyncio.gather(*(worker(end) for _ in range(IN_FLIGHT)))
            elapsed = time.perf_counter() - t0
        finally:
            gc.enable()
        return {
            "parents": len(latencies),
            "parents_per_s": len(latencies) / elapsed,
            "p50_ms": round(statistics.median(latencies) * 1000, 3),
            "p99_ms": round(_pct(latencies, 0.99) * 1000, 3),
            "max_ms": round(max(latencies) * 1000, 3),
            "statuses": statuses,
            "filled_shares": filled // 10**9,
            "errors": errors,
            "in_flight": IN_FLIGHT,
        }
    finally:
        runner.request_stop()
        await asyncio.wait_for(consumer, 15)
        await bus.close()
        await asyncio.gather(*(a.stop() for a in adapters))
        for v in venues:
            v.kill(signal.SIGKILL)


def test_route_and_execute_through_fix_venues(benchmark: Any, stack: Any, tmp_path: Path) -> None:
    figures: dict[str, Any] = {}

    def run() -> None:
        figures.update(uvloop.run(_run(stack, tmp_path)))

    benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(figures)
    print(
        f"\nroute-and-execute over FIX: {figures['parents_per_s']:.0f} parents/s, "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms, "
        f"{figures['parents']} parents ({figures['statuses']}), {figures['filled_shares']} "
        f"shares filled, {figures['in_flight']} in flight, errors {figures['errors']}"
    )
    assert figures["errors"] == 0
