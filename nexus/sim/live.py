"""Continuous simulation for a running system (``nexus up``): window after window, paced.

Each window is an independent simulated session of ``config.seconds`` (fresh books), with its
own seed (derived from the base seed and the window index), order-id prefix ``W<n>-`` and
simulated start time right after the previous window; event sequences continue per symbol, so
event ids never repeat. Pacing sleeps on the wall clock so simulated time advances at
``speed`` x real time; timestamps always come from simulated time, never from the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec
import numpy as np

from nexus.sim.config import SimConfig
from nexus.sim.labels import LabelFile
from nexus.sim.layout import E_SYMBOL, E_TS
from nexus.sim.runner import Publisher, SimResult, simulate

PACE_EVERY = 512


def window_config(base: SimConfig, window: int) -> SimConfig:
    """The config of window ``window`` (0-based) of a continuous run."""
    span = int(base.seconds * 1_000_000_000)
    return msgspec.structs.replace(
        base,
        seed=base.seed * 1_000_003 + window,
        start_ns=base.start_ns + window * span,
        id_prefix=f"{base.id_prefix}W{window}-",
    )


def publish_paced(
    result: SimResult,
    publisher: Publisher,
    speed: float | None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> int:
    """Publish a window's events; with ``speed`` set, no faster than ``speed`` x real time."""
    if speed is None:
        return result.publish(publisher)
    t0_sim = result.config.start_ns
    t0_wall = monotonic()
    sent = 0

    def paced(topic: str, key: bytes, payload: bytes) -> None:
        nonlocal sent
        if sent % PACE_EVERY == 0:
            ts = int(result.events[result.order[sent], E_TS])
            due = (ts - t0_sim) / 1e9 / speed
            ahead = due - (monotonic() - t0_wall)
            if ahead > 0:
                sleep(ahead)
        publisher(topic, key, payload)
        sent += 1

    return result.publish(paced)


def run_continuous(
    config: SimConfig,
    publisher: Publisher,
    windows: int | None = None,
    speed: float | None = 1.0,
    on_labels: Callable[[LabelFile], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Simulate and publish window after window (forever if ``windows`` is None).

    Returns the number of events published. ``on_labels`` receives each window's ground truth.
    """
    seq_base = np.zeros(config.symbols, dtype=np.int64)
    total = 0
    window = 0
    while (windows is None or window < windows) and not should_stop():
        result = simulate(window_config(config, window))
        result.seq_base = seq_base.copy()
        if on_labels is not None:
            on_labels(result.labels())
        total += publish_paced(result, publisher, speed)
        seq_base += np.bincount(result.events[:, E_SYMBOL], minlength=config.symbols)
        window += 1
    return total
