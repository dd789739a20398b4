"""The Numba msgpack frames are exactly what msgspec encodes for the same events."""

from __future__ import annotations

import pytest

from nexus.events import ANY_CODEC, OrderAmend, OrderCancel, OrderExpire, OrderFill, OrderNew, Trade
from nexus.sim.wire import iter_frames

from .conftest import Run


def test_frames_reencoded_by_msgspec_are_byte_identical(small: Run) -> None:
    frames = [bytes(f) for f in iter_frames(small.stream)]
    assert len(frames) == len(small.events) == small.result.stats().events
    for frame, event in zip(frames, small.events, strict=True):
        assert ANY_CODEC.encode(event) == frame  # type: ignore[arg-type]


def test_frames_cover_every_event_kind(small: Run) -> None:
    kinds = {type(e) for e in small.events}
    assert {OrderNew, OrderAmend, OrderCancel, OrderFill, Trade} <= kinds
    assert kinds <= {OrderNew, OrderAmend, OrderCancel, OrderExpire, OrderFill, Trade}


def test_event_ids_are_unique_and_engine_shaped(small: Run) -> None:
    ids = [e.event_id for e in small.events]  # type: ignore[attr-defined]
    assert len(set(ids)) == len(ids)
    first = small.events[0]
    assert first.event_id == f"NEXUS:{first.symbol}:1"  # type: ignore[attr-defined]


def test_iter_frames_truncated_stream_raises(small: Run) -> None:
    with pytest.raises(ValueError, match="truncated"):
        list(iter_frames(small.stream[:-3]))
    with pytest.raises(ValueError, match="truncated frame header"):
        list(iter_frames(small.stream[:2]))
