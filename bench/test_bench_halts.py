"""Halt accepted -> first rejection: how long a risk halt takes to bite at the venue.

Risk and matching run as they do in production, on the real broker and PostgreSQL (in this
process, on loopback). For each of ``HALTS`` halts of a fresh user, the clock starts when
risk answers ``201`` to ``POST /halts`` and stops when matching answers the first order of that
user with ``REJECTED``; orders are sent back to back in between. Goal: p99 < 50 ms.

    .venv/bin/python -m pytest bench/test_bench_halts.py -q -s -p no:randomly
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import uvloop

from nexus.config import load_settings
from nexus.infra import Stack, drop_database, ensure_database
from nexus.web import Authenticator
from tests.integration.platform.matching_stack import matching_and_risk

HALTS = 60
GOAL_P99_MS = 50.0


def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    index = min(len(sorted_ms) - 1, max(0, round(q / 100 * len(sorted_ms)) - 1))
    return sorted_ms[index]


async def measure(stack: Stack, halts: int) -> dict[str, Any]:
    """Latencies (ms) of ``halts`` halts, each from risk's 201 to matching's first REJECTED."""
    names = {s: f"nexus_bench_{s}_{uuid.uuid4().hex[:8]}" for s in ("matching", "risk")}
    dsns = {s: await ensure_database(stack.pg_dsn, n) for s, n in names.items()}
    settings = replace(
        load_settings({}).with_infra(
            kafka_bootstrap=stack.kafka_bootstrap, pg_dsn=stack.pg_dsn, redis_url=stack.redis_url
        ),
        service_pg_dsns=dsns,
        log_level="WARNING",
    )
    auth = Authenticator(settings)
    token: Callable[[str, str], dict[str, str]] = lambda subject, role: {  # noqa: E731
        "Authorization": "Bearer " + auth.issue_token(subject, [role])
    }
    officer = token("officer", "risk")
    latencies: list[float] = []
    orders_between = 0
    try:
        async with (
            matching_and_risk(settings) as (url, _, risk_url),
            httpx.AsyncClient(base_url=url) as venue,
            httpx.AsyncClient(base_url=risk_url) as risk,
        ):
            body = {"symbol": "AAPL", "side": "BUY", "quantity": "1", "price": "10"}
            for i in range(halts):
                user = f"halted{uuid.uuid4().hex[:8]}"
                trader = token(user, "trader")
                assert (await venue.post("/orders", json=body, headers=trader)).status_code == 201
                answer = await risk.post(
                    "/halts",
                    json={"scope": "USER", "target": user, "reason": f"bench {i}"},
                    headers=officer,
                )
                accepted = time.perf_counter()
                assert answer.status_code == 201, answer.text
                while True:
                    got = await venue.post("/orders", json=body, headers=trader)
                    if got.status_code == 200 and got.json()["status"] == "REJECTED":
                        break
                    orders_between += 1
                latencies.append((time.perf_counter() - accepted) * 1000)
    finally:
        for name in names.values():
            await drop_database(stack.pg_dsn, name)
    ordered = sorted(latencies)
    return {
        "halts": halts,
        "p50_ms": round(percentile(ordered, 50), 2),
        "p99_ms": round(percentile(ordered, 99), 2),
        "max_ms": round(ordered[-1], 2),
        "orders_between": orders_between,
    }


def test_halt_accepted_to_first_rejection_latency(benchmark: Any, stack: Stack) -> None:
    figures: dict[str, Any] = {}

    def run() -> None:
        figures.update(uvloop.run(measure(stack, HALTS)))

    benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(figures)
    print(
        f"\nhalt accepted -> first rejection over {figures['halts']} halts: "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms, "
        f"{figures['orders_between']} orders answered otherwise in between"
    )
    assert figures["p99_ms"] < GOAL_P99_MS
