"""Shared simulations (session-scoped: a run takes a fraction of a second)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest

from nexus.events import ANY_CODEC
from nexus.sim import SimConfig, SimResult, simulate
from nexus.sim.config import EpisodeConfig, Range
from nexus.sim.wire import iter_frames

SMALL = SimConfig(
    seed=7,
    symbols=4,
    users=120,
    seconds=20.0,
    orders_per_second=150.0,
    spoofing=EpisodeConfig(count=4),
    layering=EpisodeConfig(count=3, orders=Range(3, 5)),
    wash_trading=EpisodeConfig(
        count=3, size_multiple=Range(2, 4), orders=Range(2, 4), gap_ms=Range(100, 500)
    ),
    momentum_ignition=EpisodeConfig(
        count=3, size_multiple=Range(3, 6), orders=Range(5, 8), gap_ms=Range(2, 10)
    ),
)


@dataclass
class Run:
    result: SimResult
    stream: bytes
    events: list[object]


def run(cfg: SimConfig) -> Run:
    result = simulate(cfg)
    buf = io.BytesIO()
    result.write(buf)
    data = buf.getvalue()
    return Run(result, data, [ANY_CODEC.decode(bytes(f)) for f in iter_frames(data)])


@pytest.fixture(scope="session")
def small() -> Run:
    return run(SMALL)


@pytest.fixture(scope="session")
def market() -> Run:
    """A longer background-dominated run for flow statistics (60 s, 6 symbols)."""
    return run(SimConfig(seed=11, symbols=6, users=300, seconds=60.0, orders_per_second=250.0))
