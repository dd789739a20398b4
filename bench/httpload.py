"""A small HTTP/1.1 keep-alive load generator shared by the REST benchmarks.

Each connection writes one request, reads the whole answer (``Content-Length`` framing) and
records the latency, until the deadline or the shared request budget runs out. It runs in its
own process (the benchmarks start it with ``subprocess``), so the server under test never
shares an event loop or a core's time slice with its client.
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any

RequestSource = Callable[[], bytes]
#: Builds connection ``index``'s request source for ``host:port``.
SourceFactory = Callable[[int, str, int], RequestSource]


def parse_url(url: str) -> tuple[str, int, str]:
    """``(host, port, path)`` of an ``http://host:port[/path]`` URL."""
    match = re.match(r"http://([^:/]+):(\d+)(/.*)?$", url)
    if match is None:
        raise SystemExit(f"bad url {url}")
    return match.group(1), int(match.group(2)), match.group(3) or "/"


def request_bytes(
    method: str, path: str, host: str, port: int, headers: str = "", body: bytes = b""
) -> bytes:
    """A raw HTTP/1.1 request (``headers``: extra ``Name: value\\r\\n`` lines)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{headers}"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def _connection(
    host: str,
    port: int,
    next_request: RequestSource,
    deadline: float,
    budget: list[int],
    ok_prefix: bytes,
    latencies: list[int],
    errors: list[bytes],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline and budget[0] > 0:
            budget[0] -= 1
            request = next_request()
            start = time.perf_counter_ns()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            match = re.search(rb"(?i)content-length:\s*(\d+)", head)
            body = await reader.readexactly(int(match.group(1))) if match else b""
            latencies.append(time.perf_counter_ns() - start)
            if not head.startswith(ok_prefix):
                errors.append(head.split(b"\r\n", 1)[0] + b" " + body[:200])
    finally:
        writer.close()


async def drive(
    url: str,
    sources: SourceFactory,
    *,
    connections: int,
    duration: float,
    ok_prefix: bytes = b"HTTP/1.1 2",
    max_requests: int = 10**12,
) -> dict[str, Any]:
    """Load ``url`` from ``connections`` keep-alive connections; latency and rate figures."""
    host, port, _ = parse_url(url)
    latencies: list[int] = []
    errors: list[bytes] = []
    budget = [max_requests]
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _connection(
                host,
                port,
                sources(i, host, port),
                started + duration,
                budget,
                ok_prefix,
                latencies,
                errors,
            )
            for i in range(connections)
        )
    )
    return summarize(latencies, time.perf_counter() - started, errors)


def summarize(latencies: list[int], seconds: float, errors: list[bytes]) -> dict[str, Any]:
    """Requests, rate and latency percentiles (ms) of one run."""
    latencies.sort()

    def pct(q: float) -> float:
        return (
            latencies[min(int(q * len(latencies)), len(latencies) - 1)] / 1e6 if latencies else 0.0
        )

    return {
        "requests": len(latencies),
        "seconds": round(seconds, 3),
        "rps": round(len(latencies) / seconds, 1) if seconds else 0.0,
        "p50_ms": round(pct(0.50), 3),
        "p90_ms": round(pct(0.90), 3),
        "p99_ms": round(pct(0.99), 3),
        "max_ms": round(latencies[-1] / 1e6, 3) if latencies else 0.0,
        "errors": len(errors),
        "first_error": errors[0].decode(errors="replace") if errors else None,
    }


def wait_ready(
    host: str, port: int, proc: subprocess.Popen[bytes], timeout_s: float = 120.0
) -> None:
    """Block until the server answers ``GET /healthz`` with 200 (or fail if it exits)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("server did not become ready")
