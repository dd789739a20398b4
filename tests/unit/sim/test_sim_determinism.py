"""Same seed, same stream (byte for byte) and same labels; another seed, another stream."""

from __future__ import annotations

import io

from nexus.sim import SimConfig, simulate
from nexus.sim.labels import encode_labels

from .conftest import SMALL, Run


def _bytes(cfg: SimConfig) -> tuple[bytes, bytes]:
    result = simulate(cfg)
    buf = io.BytesIO()
    result.write(buf)
    return buf.getvalue(), encode_labels(result.labels())


def test_simulate_same_seed_gives_byte_identical_stream_and_labels(small: Run) -> None:
    stream, labels = _bytes(SMALL)
    assert stream == small.stream
    assert labels == encode_labels(small.result.labels())


def test_simulate_other_seed_gives_different_stream(small: Run) -> None:
    import msgspec

    stream, _ = _bytes(msgspec.structs.replace(SMALL, seed=8))
    assert stream != small.stream


def test_simulate_event_times_are_simulated_and_ordered(small: Run) -> None:
    ts = [e.ts_event for e in small.events]  # type: ignore[attr-defined]
    assert ts == sorted(ts)
    start = SMALL.start_ns
    assert start <= ts[0] and ts[-1] < start + int(SMALL.seconds * 1e9) + 10**10
