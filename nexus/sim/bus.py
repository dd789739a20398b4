"""Publish simulated streams on the event bus (:mod:`nexus.bus`), paced by simulated time.

``run_on_bus`` is what a running system (``nexus up`` with ``NEXUS_SIMULATE=1``) starts: window
after window (see :mod:`nexus.sim.live`), each simulated in a worker thread so the event loop
stays responsive, published in batches (``Producer.publish_batch``) keyed by symbol, with
``Trade`` on ``trades.executed`` and the order events on ``orders.events``. Timestamps are
simulated time; the clock is only used to pace publication at ``speed`` x real time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import msgspec
import numpy as np

from nexus.bus.base import OutgoingMessage, Producer
from nexus.events import TOPIC_ORDERS, TOPIC_TRADES
from nexus.sim.config import SimConfig
from nexus.sim.labels import LabelFile
from nexus.sim.layout import E_KIND, E_SYMBOL, E_TS, K_TRADE
from nexus.sim.live import window_config
from nexus.sim.runner import SimResult, simulate

BATCH = 2048


async def publish_to_bus(
    result: SimResult,
    producer: Producer,
    batch: int = BATCH,
    speed: float | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> int:
    """Publish every event of ``result`` in stream order; returns the number published."""
    keys = [s.encode() for s in result.symbols]
    t0_sim = result.config.start_ns
    t0 = monotonic()
    sent = 0
    for data, starts, rows in result.iter_chunks():
        kinds = result.events[rows, E_KIND].tolist()
        syms = result.events[rows, E_SYMBOL].tolist()
        times = result.events[rows, E_TS].tolist()
        bounds = starts.tolist()
        for lo in range(0, len(kinds), batch):
            if speed is not None:
                ahead = (times[lo] - t0_sim) / 1e9 / speed - (monotonic() - t0)
                if ahead > 0:
                    await sleep(ahead)
            hi = min(lo + batch, len(kinds))
            messages = [
                OutgoingMessage(
                    topic=TOPIC_TRADES if kinds[i] == K_TRADE else TOPIC_ORDERS,
                    value=bytes(data[bounds[i] + 4 : bounds[i + 1]]),
                    key=keys[syms[i]],
                )
                for i in range(lo, hi)
            ]
            await producer.publish_batch(messages)
            sent += len(messages)
    return sent


async def run_on_bus(
    config: SimConfig,
    producer: Producer,
    windows: int | None = None,
    speed: float | None = 1.0,
    on_labels: Callable[[LabelFile], None] | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Simulate and publish window after window until ``stop`` is set (or ``windows`` ran)."""
    seq_base = np.zeros(config.symbols, dtype=np.int64)
    total = 0
    window = 0
    prices = config.start_prices
    while (windows is None or window < windows) and not (stop is not None and stop.is_set()):
        # each window's fundamental starts where the previous one ended: one continuous market
        cfg = msgspec.structs.replace(window_config(config, window), start_prices=prices)
        result = await asyncio.to_thread(simulate, cfg)
        prices = result.end_prices
        result.seq_base = seq_base.copy()
        if on_labels is not None:
            on_labels(result.labels())
        total += await publish_to_bus(result, producer, speed=speed)
        seq_base += np.bincount(result.events[:, E_SYMBOL], minlength=config.symbols)
        window += 1
    return total
