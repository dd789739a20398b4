"""CI perf gate of the web chassis: far below the measured figures, so it never flakes.

Measured (docs/bench/http.md): ~18k req/s trivial GET and ~14k req/s 1 KB POST on one
uvicorn worker with wrk on loopback. The gate (1,000 req/s, 2 s of load from a separate
process) catches an order-of-magnitude regression (h11 instead of httptools, a per-request
encoder, blocking I/O in middleware), not noise on a shared machine.
"""

from __future__ import annotations

import pytest

from bench.loadgen import measure

GATE_RPS = 1_000


@pytest.mark.parametrize("scenario", ["get", "post"])
def test_http_server_throughput_stays_above_gate(scenario: str) -> None:
    figures = measure(scenario, duration=2.0, connections=16, warmup=0.5)
    assert figures["errors"] == 0, figures
    assert figures["rps"] >= GATE_RPS, figures
