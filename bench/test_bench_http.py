"""HTTP throughput and latency of the web chassis through a real uvicorn + uvloop server.

The server (one worker, full chassis middleware: correlation ids, metrics, auth lookup,
problem+json) runs in its own process; the load comes from another process (``wrk`` when
installed, else ``bench/loadgen.py load``). Each scenario runs 1 s of warm-up, then 5 s of
load on 32 keep-alive connections. Figures land in ``extra_info`` and docs/bench/http.md.
Floor from the issue: 5,000 requests/s on one worker.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.loadgen import measure

FLOOR_RPS = 5_000


@pytest.mark.parametrize(
    ("scenario", "access_log"),
    [("get", False), ("post", False), ("get", True), ("post", True)],
    ids=["get-json", "post-1kb-json", "get-json-access-log", "post-1kb-json-access-log"],
)
def test_http_throughput_and_latency(benchmark: Any, scenario: str, access_log: bool) -> None:
    figures: dict[str, Any] = {}

    def run() -> None:
        figures.update(
            measure(scenario, duration=5.0, connections=32, access_log=access_log, warmup=1.0)
        )

    benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(figures)
    print(
        f"\n{scenario} access_log={access_log}: {figures['rps']:.0f} req/s, "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms ({figures['tool']})"
    )
    assert figures["errors"] == 0
    if not access_log:
        assert figures["rps"] >= FLOOR_RPS
