"""REST ``calculate_var`` latency of the analytics service on a cache miss, data local.

The analytics service runs in its own process (``serve``: one uvicorn worker, uvloop,
httptools, the whole chassis, PostgreSQL store with prices and positions seeded at start,
Redis result cache on). The load comes from another process (``load``: an asyncio HTTP/1.1
generator over keep-alive loopback connections). Every request asks a confidence level never
asked before, so every request is a cache **miss**: positions, latest prices and the price
history are read from PostgreSQL, VaR is computed, and the result is stored in Redis.
The run is bounded (duration and connection count) and prints one JSON line per scenario.

Commands (from the project root, with the stack's URLs in the environment or started by
pytest)::

    .venv/bin/python -m pytest bench/test_bench_analytics_rest.py --benchmark-only -s
    .venv/bin/python bench/test_bench_analytics_rest.py serve --port 8999   # NEXUS_* set
    .venv/bin/python bench/test_bench_analytics_rest.py load --url http://127.0.0.1:8999 \\
        --token ... --method parametric_normal --connections 1 --duration 5
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
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

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bench.httpload import (  # noqa: E402
    RequestSource,
    SourceFactory,
    drive,
    request_bytes,
    wait_ready,
)
from nexus.config import load_settings  # noqa: E402
from nexus.events import Trade  # noqa: E402
from nexus.infra import free_port  # noqa: E402
from nexus.money import Fixed  # noqa: E402
from nexus.web import Authenticator  # noqa: E402

USER = "bench"
P = 10**9


def bench_symbols(n: int) -> list[str]:
    """Tickers of the benchmark book."""
    return [f"B{i:03d}" for i in range(n)]


def _seed(n_positions: int, n_days: int) -> tuple[list[Any], list[Trade]]:
    from services.analytics.store import Close

    rng = np.random.default_rng(42)
    dates: list[dt.date] = []
    day = dt.date.today()
    while len(dates) < n_days:
        if day.weekday() < 5:
            dates.append(day)
        day -= dt.timedelta(days=1)
    dates.reverse()
    closes = []
    trades = []
    market = rng.normal(0.0003, 0.01, n_days)
    for k, symbol in enumerate(bench_symbols(n_positions)):
        path = 50.0 * np.exp(
            np.cumsum(market * rng.uniform(0.5, 1.5) + rng.normal(0, 0.01, n_days))
        )
        closes += [
            Close(symbol, d, Fixed.from_str(f"{p:.2f}")) for d, p in zip(dates, path, strict=True)
        ]
        qty = int(rng.integers(10, 1000)) * (1 if k % 5 else -1)
        buyer, seller = (USER, "bench-cp") if qty > 0 else ("bench-cp", USER)
        trades.append(
            Trade(
                event_id=f"bench-{symbol}",
                ts_event=1_700_000_000_000_000_000 + k,
                symbol=symbol,
                price=50 * P,
                quantity=abs(qty) * P,
                aggressor_side="BUY",
                buy_order_id=f"b{k}",
                sell_order_id=f"s{k}",
                buyer_user_id=buyer,
                buyer_account_id=buyer,
                seller_user_id=seller,
                seller_account_id=seller,
            )
        )
    return closes, trades


def cmd_serve(args: argparse.Namespace) -> None:
    """Serve the analytics service, seeding prices and the bench user's positions at start."""
    from nexus.web import serve
    from services.analytics.main import AnalyticsOptions, build

    settings = load_settings()
    app, runtime, service = build(settings, AnalyticsOptions(consume_quotes=False))
    closes, trades = _seed(args.positions, args.days)

    async def seed() -> None:
        await service.load_closes(closes)
        await service.positions.apply_trades(trades)

    async def freeze() -> None:
        gc.collect()
        gc.freeze()

    runtime.add_startup(seed)
    runtime.add_startup(freeze)
    serve(app, "127.0.0.1", args.port, log_level="warning")


# --- the load generator (its own process) -------------------------------------------------


def _var_requests(token: str, method: str) -> SourceFactory:
    """Each request asks a confidence never asked before: the result cannot be cached."""

    def factory(index: int, host: str, port: int) -> RequestSource:
        counter = [index * 10**6]
        headers = f"Authorization: Bearer {token}\r\n"

        def next_request() -> bytes:
            counter[0] += 1
            confidence = f"0.9{counter[0]:07d}{os.getpid() % 97:02d}"
            path = f"/users/{USER}/var?confidence={confidence}&horizon=1&method={method}"
            return request_bytes("GET", path, host, port, headers)

        return next_request

    return factory


async def _load(
    url: str, token: str, method: str, connections: int, duration: float
) -> dict[str, Any]:
    return await drive(
        url,
        _var_requests(token, method),
        connections=connections,
        duration=duration,
        ok_prefix=b"HTTP/1.1 200",
    )


def cmd_load(args: argparse.Namespace) -> None:
    import uvloop

    result = uvloop.run(_load(args.url, args.token, args.method, args.connections, args.duration))
    print(json.dumps(result))


# --- measure: server process + load process ------------------------------------------------


def measure(
    env: dict[str, str],
    *,
    scenarios: list[tuple[str, int]],
    duration: float = 5.0,
    warmup: float = 1.0,
    positions: int = 20,
    days: int = 500,
) -> list[dict[str, Any]]:
    """Start the service process, then one load process per ``(method, connections)``."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "serve",
            "--port",
            str(port),
            "--positions",
            str(positions),
            "--days",
            str(days),
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    token = Authenticator(load_settings(env)).issue_token("bench-risk", ["risk"], ttl_seconds=3600)
    url = f"http://127.0.0.1:{port}"
    results = []
    try:
        wait_ready("127.0.0.1", port, server)

        def once(method: str, connections: int, seconds: float) -> dict[str, Any]:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "load",
                    "--url",
                    url,
                    "--token",
                    token,
                    "--method",
                    method,
                    "--connections",
                    str(connections),
                    "--duration",
                    str(seconds),
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=seconds + 120,
                cwd=ROOT,
            ).stdout
            figures: dict[str, Any] = json.loads(out)
            return figures

        for method, connections in scenarios:
            if warmup > 0:
                once(method, connections, warmup)
            figures = once(method, connections, duration)
            results.append(
                {
                    "method": method,
                    "connections": connections,
                    "positions": positions,
                    "days": days,
                    **figures,
                }
            )
    finally:
        server.terminate()
        server.wait(30)
    return results


def stack_env(kafka: str, pg_dsn: str, redis_url: str, analytics_dsn: str) -> dict[str, str]:
    """Environment of the service process on the given stack and database."""
    return {
        "NEXUS_KAFKA_BOOTSTRAP": kafka,
        "NEXUS_PG_DSN": pg_dsn,
        "NEXUS_REDIS_URL": redis_url,
        "NEXUS_ANALYTICS_PG_DSN": analytics_dsn,
        "NEXUS_LOG_LEVEL": "WARNING",
    }


async def fresh_analytics_database(pg_dsn: str) -> tuple[str, str]:
    """Create a database for one run; returns (name, DSN)."""
    from nexus.infra import ensure_database

    name = f"nexus_bench_analytics_{uuid.uuid4().hex[:8]}"
    return name, await ensure_database(pg_dsn, name)


TARGET_P99_MS = 10.0
SCENARIOS = [
    ("parametric_normal", 1),
    ("historical", 1),
    ("monte_carlo_normal", 1),
    ("parametric_normal", 4),
]


@pytest.mark.integration
def test_rest_var_cache_miss_latency(benchmark: Any, stack: Any) -> None:
    from nexus.infra import drop_database

    name, dsn = asyncio.run(fresh_analytics_database(stack.pg_dsn))
    figures: list[dict[str, Any]] = []
    try:

        def run() -> None:
            figures.extend(
                measure(
                    stack_env(stack.kafka_bootstrap, stack.pg_dsn, stack.redis_url, dsn),
                    scenarios=SCENARIOS,
                )
            )

        benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    finally:
        asyncio.run(drop_database(stack.pg_dsn, name))
    benchmark.extra_info["scenarios"] = figures
    for f in figures:
        print(
            f"\n{f['method']} x{f['connections']}: {f['rps']:.0f} req/s, p50 {f['p50_ms']} ms, "
            f"p90 {f['p90_ms']} ms, p99 {f['p99_ms']} ms, errors {f['errors']}"
        )
        assert f["errors"] == 0, f
    # the issue's target: p99 < 10 ms on a cache miss, one client, for the closed-form and
    # historical methods (Monte Carlo draws 100,000 paths per miss; its figure is reported)
    targeted = [
        f
        for f in figures
        if f["connections"] == 1 and f["method"] in ("parametric_normal", "historical")
    ]
    assert all(f["p99_ms"] < TARGET_P99_MS for f in targeted), targeted


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve")
    serve_p.add_argument("--port", type=int, required=True)
    serve_p.add_argument("--positions", type=int, default=20)
    serve_p.add_argument("--days", type=int, default=500)
    serve_p.set_defaults(func=cmd_serve)
    load_p = sub.add_parser("load")
    load_p.add_argument("--url", required=True)
    load_p.add_argument("--token", required=True)
    load_p.add_argument("--method", default="parametric_normal")
    load_p.add_argument("--connections", type=int, default=1)
    load_p.add_argument("--duration", type=float, default=5.0)
    load_p.set_defaults(func=cmd_load)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
