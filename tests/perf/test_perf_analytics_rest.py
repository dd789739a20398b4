"""CI gate of the analytics REST API: VaR on a cache miss, server and load in two processes.

Measured (docs/bench/analytics_rest.md): p50 ~3.3 ms, p99 ~7 ms for parametric VaR on a
cache miss (20 positions x 500 days, one client, loopback). The gate (p99 < 75 ms over 2 s,
no errors: about 10x the measured p99, as issue 11 asks of every gate; the seed's floor is
500 ms) catches an order-of-magnitude regression (history shipped out of PostgreSQL on every
read, kernels compiled per request, a blocking call on the event loop), not noise.
"""

from __future__ import annotations

import asyncio

import pytest

from bench.test_bench_analytics_rest import fresh_analytics_database, measure, stack_env
from nexus.infra import Stack, drop_database

GATE_P99_MS = 75.0

pytestmark = pytest.mark.integration


def test_rest_var_cache_miss_p99_stays_under_gate(stack: Stack) -> None:
    name, dsn = asyncio.run(fresh_analytics_database(stack.pg_dsn))
    try:
        [figures] = measure(
            stack_env(stack.kafka_bootstrap, stack.pg_dsn, stack.redis_url, dsn),
            scenarios=[("parametric_normal", 1)],
            duration=2.0,
            warmup=0.5,
        )
    finally:
        asyncio.run(drop_database(stack.pg_dsn, name))
    assert figures["errors"] == 0, figures
    assert figures["requests"] > 50, figures
    print(f"\nanalytics REST VaR cache miss: {figures}")
    assert figures["p99_ms"] < GATE_P99_MS, figures
