"""Each Numba kernel against its own Python source (``py_func``): same stream, byte for byte.

The pure run also makes the kernels' lines visible to coverage.
"""

from __future__ import annotations

import io

import pytest

from nexus.sim import SimConfig, framing, kernels, simulate

TINY = SimConfig(seed=9, symbols=2, users=20, seconds=3.0, orders_per_second=60.0)


def _stream() -> bytes:
    buf = io.BytesIO()
    simulate(TINY).write(buf)
    return buf.getvalue()


def test_kernels_pure_python_twins_produce_the_same_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compiled = _stream()
    for module, names in (
        (kernels, ("fill_actions", "emit_events", "_row", "operation_events", "fill_events")),
        (framing, ("encode_frames", "_put_uint", "_put_blob", "_put_id", "_put_event_id")),
    ):
        for name in names:
            monkeypatch.setattr(module, name, getattr(module, name).py_func)
    assert _stream() == compiled


def test_put_uint_covers_every_msgpack_width() -> None:
    import msgspec
    import numpy as np

    buf = np.zeros(16, dtype=np.uint8)
    for value in (0, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1):
        n = framing._put_uint.py_func(buf, 0, value)
        assert bytes(buf[:n]) == msgspec.msgpack.encode(value)


def test_put_id_long_identifier_uses_str8() -> None:
    import msgspec
    import numpy as np

    prefix = np.frombuffer(b"a-rather-long-prefix-", dtype=np.uint8)
    buf = np.zeros(64, dtype=np.uint8)
    n = framing._put_id.py_func(buf, 0, prefix, ord("O"), 1234567890123)
    assert bytes(buf[:n]) == msgspec.msgpack.encode("a-rather-long-prefix-O1234567890123")
