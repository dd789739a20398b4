"""HTTP load benchmark of the web chassis: a server process and a separate load process.

Commands (run from the project root)::

    python bench/loadgen.py serve --port 8999 [--access-log]
    python bench/loadgen.py load --url http://127.0.0.1:8999/ping --duration 3
    python bench/loadgen.py measure --scenario get --duration 5 --connections 32 --tool auto

``measure`` starts ``serve`` as a child process on a free loopback port (one uvicorn worker,
uvloop, httptools), waits for ``/healthz``, runs the load generator as another child process
(``wrk`` if installed, else this file's asyncio generator) and prints one JSON line:
``{"scenario", "tool", "requests", "seconds", "rps", "p50_ms", "p99_ms", "errors"}``.
Scenarios: ``get`` (trivial JSON GET) and ``post`` (1 KB JSON body decoded into a Struct).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import falcon.asgi  # noqa: E402
import msgspec  # noqa: E402

from bench.httpload import drive, parse_url, request_bytes, wait_ready  # noqa: E402
from nexus.infra import free_port  # noqa: E402
from nexus.money import Fixed  # noqa: E402
from nexus.web import RequestBody, configure_logging, create_app, endpoint, serve  # noqa: E402


def _order_body() -> bytes:
    """A JSON order of exactly 1024 bytes."""
    body: dict[str, Any] = {
        "client_order_id": "bench-000001",
        "user_id": "trader-42",
        "symbol": "AAPL",
        "side": "BUY",
        "quantity": 100,
        "price": "101.25",
        "tags": ["bench", "http", "chassis"],
        "note": "",
    }
    base = len(json.dumps(body, separators=(",", ":")).encode())
    body["note"] = "x" * (1024 - base)
    data = json.dumps(body, separators=(",", ":")).encode()
    assert len(data) == 1024, len(data)
    return data


ORDER_BODY = _order_body()


class NewOrder(RequestBody):
    """The 1 KB order the POST scenario decodes."""

    client_order_id: str
    user_id: str
    symbol: str
    side: str
    quantity: int
    price: Fixed
    tags: list[str]
    note: str


class Ack(msgspec.Struct):
    """The POST scenario's answer."""

    client_order_id: str
    accepted: bool
    notional: str


class PingResource:
    """``GET /ping``: the trivial JSON endpoint."""

    @endpoint(public=True, response=dict[str, bool])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = {"ok": True}


class OrdersResource:
    """``POST /orders``: decode and validate a 1 KB body, answer 201."""

    @endpoint(public=True, body=NewOrder, response=Ack, status=201)
    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, *, body: NewOrder
    ) -> None:
        notional = body.price.notional(Fixed(body.quantity))
        resp.status = 201
        resp.media = Ack(body.client_order_id, True, str(notional))


def build_app() -> Any:
    """The benchmark service: ``GET /ping`` and ``POST /orders`` (public, full middleware)."""
    return create_app("bench", [("/ping", PingResource()), ("/orders", OrdersResource())])


def cmd_serve(args: argparse.Namespace) -> None:
    if args.access_log:
        configure_logging("INFO", stream=open(os.devnull, "w"))  # noqa: SIM115
    serve(build_app(), "127.0.0.1", args.port, log_level="warning")


# --- the asyncio load generator ----------------------------------------------------------


async def _load(
    url: str, method: str, body: bytes, connections: int, duration: float
) -> dict[str, Any]:
    host, port, path = parse_url(url)
    request = request_bytes(method, path, host, port, body=body)
    return await drive(
        url, lambda _i, _h, _p: lambda: request, connections=connections, duration=duration
    )


def cmd_load(args: argparse.Namespace) -> None:
    import uvloop

    body = ORDER_BODY if args.method == "POST" else b""
    result = uvloop.run(_load(args.url, args.method, body, args.connections, args.duration))
    print(json.dumps(result))


# --- wrk -------------------------------------------------------------------------------


def _ms(text: str) -> float:
    value = float(re.sub(r"[a-z]+$", "", text))
    unit = re.sub(r"^[0-9.]+", "", text)
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[unit]


def run_wrk(
    url: str, method: str, connections: int, duration: float, threads: int
) -> dict[str, Any]:
    """Run wrk against ``url`` and parse its report."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if method == "POST":
            script.write(
                'wrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                f"wrk.body = {json.dumps(ORDER_BODY.decode())}\n"
            )
    try:
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(int(duration), 1)}s",
                "--latency",
                "-s",
                script.name,
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration + 30,
        ).stdout
    finally:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    assert total and p50 and p99, out
    return {
        "requests": int(total.group(1)),
        "seconds": round(_ms(total.group(2)) / 1000.0, 3),
        "rps": rps,
        "p50_ms": round(_ms(p50.group(1)), 3),
        "p99_ms": round(_ms(p99.group(1)), 3),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


# --- measure -----------------------------------------------------------------------------


def measure(
    scenario: str,
    *,
    duration: float,
    connections: int,
    tool: str = "auto",
    access_log: bool = False,
    warmup: float = 1.0,
    threads: int = 1,
) -> dict[str, Any]:
    """Start the server process, load it from another process, return the figures."""
    port = free_port()
    serve_cmd = [sys.executable, __file__, "serve", "--port", str(port)]
    if access_log:
        serve_cmd.append("--access-log")
    server = subprocess.Popen(
        serve_cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_ready("127.0.0.1", port, server, timeout_s=30.0)
        path, method = ("/ping", "GET") if scenario == "get" else ("/orders", "POST")
        url = f"http://127.0.0.1:{port}{path}"
        use_wrk = tool == "wrk" or (tool == "auto" and shutil.which("wrk") is not None)

        def once(seconds: float) -> dict[str, Any]:
            if use_wrk:
                return run_wrk(url, method, connections, seconds, threads)
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "load",
                    "--url",
                    url,
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
                timeout=seconds + 60,
            ).stdout
            result: dict[str, Any] = json.loads(out)
            return result

        if warmup > 0:
            once(warmup)
        result = once(duration)
    finally:
        server.terminate()
        server.wait(10)
    return {
        "scenario": scenario,
        "tool": "wrk" if use_wrk else "python-asyncio",
        "connections": connections,
        "access_log": access_log,
        **result,
    }


def cmd_measure(args: argparse.Namespace) -> None:
    result = measure(
        args.scenario,
        duration=args.duration,
        connections=args.connections,
        tool=args.tool,
        access_log=args.access_log,
        warmup=args.warmup,
        threads=args.threads,
    )
    print(json.dumps(result))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve_p = sub.add_parser("serve")
    serve_p.add_argument("--port", type=int, required=True)
    serve_p.add_argument("--access-log", action="store_true")
    serve_p.set_defaults(func=cmd_serve)
    load_p = sub.add_parser("load")
    load_p.add_argument("--url", required=True)
    load_p.add_argument("--method", choices=["GET", "POST"], default="GET")
    load_p.add_argument("--connections", type=int, default=32)
    load_p.add_argument("--duration", type=float, default=3.0)
    load_p.set_defaults(func=cmd_load)
    measure_p = sub.add_parser("measure")
    measure_p.add_argument("--scenario", choices=["get", "post"], default="get")
    measure_p.add_argument("--duration", type=float, default=5.0)
    measure_p.add_argument("--connections", type=int, default=32)
    measure_p.add_argument("--threads", type=int, default=1)
    measure_p.add_argument("--warmup", type=float, default=1.0)
    measure_p.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    measure_p.add_argument("--access-log", action="store_true")
    measure_p.set_defaults(func=cmd_measure)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
