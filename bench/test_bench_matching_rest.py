"""Order entry through REST to the event on the broker: requests/s and latency percentiles.

The matching service runs as its own process (``python -m services.matching.main``, one
uvicorn worker, uvloop) against the session's real broker and PostgreSQL; the load comes from
another process (this file run as a script, ``load``), on loopback, over keep-alive
connections, bounded by a request count and a duration. The service answers ``201`` only
after the broker acknowledged the order's events (``acks=all``), so a request's latency *is*
order entry -> events on ``orders.events`` / ``trades.executed``. Afterwards the benchmark
reads the topic back and checks that every acknowledged order's ``OrderNew`` is there.

The flow per connection alternates a resting GTC sell and a crossing IOC buy of one share
(so half the orders trade: OrderNew, Trade and two OrderFills), each connection its own user,
entered by a ``service`` principal on the users' behalf. Figures: docs/bench/matching_rest.md.

By hand (against a running service)::

    python bench/test_bench_matching_rest.py load --url http://127.0.0.1:8101 \
        --token "$TOKEN" --connections 32 --duration 5 --count 50000 --user-prefix bench
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.httpload import (  # noqa: E402
    RequestSource,
    SourceFactory,
    drive,
    parse_url,
    request_bytes,
    wait_ready,
)
from nexus.infra import free_port  # noqa: E402

CONNECTIONS = 32
DURATION_S = 5.0
WARMUP_S = 1.0
MAX_REQUESTS = 100_000


# --- the load generator (child process) ---------------------------------------------------------


def _order_flows(token: str, user_prefix: str) -> SourceFactory:
    """Connection ``i`` alternates a resting sell and a crossing IOC buy of its own user."""

    def factory(index: int, host: str, port: int) -> RequestSource:
        headers = f"Authorization: Bearer {token}\r\n"
        user = f"{user_prefix}-{index}"
        # a listed symbol: matching refuses symbols its reference data does not know (422)
        sell = {
            "symbol": "SIM0000",
            "side": "SELL",
            "quantity": "1",
            "price": "100",
            "user_id": user,
        }
        buy = {**sell, "side": "BUY", "time_in_force": "IOC"}
        flow = [
            request_bytes(
                "POST",
                "/orders",
                host,
                port,
                headers,
                json.dumps(o, separators=(",", ":")).encode(),
            )
            for o in (sell, buy)
        ]
        sent = [0]

        def next_request() -> bytes:
            sent[0] += 1
            return flow[(sent[0] - 1) % 2]

        return next_request

    return factory


async def run_load(
    url: str, token: str, connections: int, duration: float, count: int, user_prefix: str
) -> dict[str, Any]:
    """Drive ``POST /orders`` on ``connections`` keep-alive connections; return the figures."""
    return await drive(
        url,
        _order_flows(token, user_prefix),
        connections=connections,
        duration=duration,
        ok_prefix=b"HTTP/1.1 201",
        max_requests=count,
    )


def _load_in_child(
    url: str, token: str, connections: int, duration: float, count: int, prefix: str
) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "load",
            "--url",
            url,
            "--token",
            token,
            "--connections",
            str(connections),
            "--duration",
            str(duration),
            "--count",
            str(count),
            "--user-prefix",
            prefix,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 120,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


# --- the benchmark (pytest) ---------------------------------------------------------------------


def _wait_ready(url: str, proc: subprocess.Popen[bytes], *, readyz: bool = False) -> None:
    host, port, _ = parse_url(url)
    wait_ready(host, port, proc)
    if readyz:  # matching takes orders only once it loaded the halts in force from risk
        import time
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise SystemExit(f"{url} not ready within 60 s")


def _orders_on_broker(bootstrap: str, prefix: str, expected: int) -> int:
    """Count the ``OrderNew`` events of the benchmark's users on ``orders.events``."""
    from nexus.bus import ConsumerRunner, KafkaBus
    from nexus.events import TOPIC_ORDERS, OrderNew
    from tests.support.runner import run_until

    found = [0]

    async def handle(batch: list[Any]) -> None:
        found[0] += sum(
            1
            for d in batch
            if isinstance(d.event, OrderNew) and d.event.user_id.startswith(prefix + "-")
        )

    runner = ConsumerRunner(
        KafkaBus(bootstrap), f"bench-reader-{uuid.uuid4().hex[:8]}", handle, topics=[TOPIC_ORDERS]
    )
    asyncio.run(run_until(runner, lambda: found[0] >= expected, timeout_s=120))
    return found[0]


def measure(stack: Any, *, connections: int, duration: float, warmup: float) -> dict[str, Any]:
    """Start the service process, warm it, load it from another process, check the broker."""
    from nexus.config import load_settings
    from nexus.web import Authenticator

    port, risk_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "NEXUS_KAFKA_BOOTSTRAP": stack.kafka_bootstrap,
        "NEXUS_PG_DSN": stack.pg_dsn,
        "NEXUS_REDIS_URL": stack.redis_url,
        "NEXUS_MATCHING_PORT": str(port),
        "NEXUS_RISK_PORT": str(risk_port),
        "NEXUS_LOG_LEVEL": "WARNING",
    }
    token = Authenticator(load_settings({})).issue_token("bench-router", ["service"])
    # matching refuses orders until it has loaded the halts in force from the risk service
    risk = subprocess.Popen(
        [sys.executable, "-m", "services.risk.main"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "services.matching.main"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_ready(url, server, readyz=True)
        if warmup > 0:
            _load_in_child(url, token, connections, warmup, MAX_REQUESTS, "warm")
        prefix = f"bench{uuid.uuid4().hex[:8]}"
        result = _load_in_child(url, token, connections, duration, MAX_REQUESTS, prefix)
    finally:
        server.terminate()
        server.wait(30)
        risk.terminate()
        risk.wait(30)
    acknowledged = result["requests"] - result["errors"]
    result["orders_on_broker"] = _orders_on_broker(stack.kafka_bootstrap, prefix, acknowledged)
    return {"connections": connections, **result}


def test_order_entry_rest_to_broker_throughput_and_latency(benchmark: Any, stack: Any) -> None:
    figures: dict[str, Any] = {}

    def run() -> None:
        figures.update(
            measure(stack, connections=CONNECTIONS, duration=DURATION_S, warmup=WARMUP_S)
        )

    benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(figures)
    print(
        f"\norder entry REST -> broker: {figures['rps']:.0f} req/s, p50 {figures['p50_ms']} ms, "
        f"p99 {figures['p99_ms']} ms, {figures['requests']} requests, "
        f"{figures['orders_on_broker']} OrderNew on the broker"
    )
    assert figures["errors"] == 0, figures["first_error"]
    assert figures["orders_on_broker"] >= figures["requests"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load", help="drive POST /orders of a running matching service")
    load.add_argument("--url", required=True)
    load.add_argument("--token", required=True)
    load.add_argument("--connections", type=int, default=CONNECTIONS)
    load.add_argument("--duration", type=float, default=DURATION_S)
    load.add_argument("--count", type=int, default=MAX_REQUESTS)
    load.add_argument("--user-prefix", default="bench")
    args = parser.parse_args(argv)
    import uvloop

    result = uvloop.run(
        run_load(
            args.url, args.token, args.connections, args.duration, args.count, args.user_prefix
        )
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
