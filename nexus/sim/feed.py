"""Feed the simulator's order flow into a running matching service over REST.

``python -m nexus.sim.feed --matching-url http://127.0.0.1:8101 --rate 300`` simulates window
after window (:func:`nexus.sim.live.window_config`) and sends every participant action -
submit, amend, cancel - to the matching service as the ``simulator`` service principal, at
most ``--rate`` actions per second. The matching service is the truth: it matches, applies
halts and publishes ``orders.events`` / ``trades.executed``, so everything downstream
(positions, analytics, surveillance) sees a live market. An action the service refuses (a
cancel of an order that already traded, an order of a halted user) is counted, never retried.

**One market.** With ``--marketdata-url`` each symbol's fundamental starts at market data's
latest mark (last sale, else the seeded history's last close), and every window starts where
the previous one ended, so the simulated market continues the history analytics values
positions on.

**Rate.** Each order's actions go out in order on one lane (lanes are keep-alive
connections, chosen by order id, ``--lanes`` of them); lanes run concurrently, so a command
waiting for the broker's acknowledgement does not hold the others, and thousands of actions
per second are possible. Orders of different lanes may reach the book in a slightly different
order than simulated (as network jitter does); the matching service decides. Simulated time
runs near real time: the per-symbol order rate of the simulation is derived from ``--rate``.

Every second the feed writes its counters to ``--status-file`` (JSON, read by ``nexus up``'s
status line); the labels of the episodes it injected go to ``--labels`` (one JSON label file
per window and line). Ctrl-C (SIGINT) or SIGTERM stops it and prints a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import time
import zlib
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec

from nexus.config import load_settings
from nexus.instruments import symbol_name
from nexus.money import format_raw
from nexus.sim.config import SimConfig
from nexus.sim.labels import LabelFile, encode_labels
from nexus.sim.live import window_config
from nexus.sim.runner import SimResult, simulate
from nexus.sim.sink import Action
from nexus.web.auth import SERVICE, Authenticator

log = logging.getLogger(__name__)

#: Actions a lane may hold before the dispatcher waits (keeps pacing honest under backlog).
LANE_BACKLOG = 64
#: Concurrent keep-alive connections to the matching service.
DEFAULT_LANES = 32
#: Actions per order in the background flow (submit plus its cancel or amend, roughly).
ACTIONS_PER_ORDER = 2.0


def request_of(action: Action) -> tuple[str, str, dict[str, Any] | None]:
    """The HTTP method, path and JSON body that perform ``action`` on the matching service."""
    if action.op == "submit":
        body: dict[str, Any] = {
            "symbol": action.symbol,
            "side": action.side,
            "quantity": format_raw(action.quantity),
            "order_type": "LIMIT" if action.price else "MARKET",
            "time_in_force": action.time_in_force,
            "order_id": action.order_id,
            "user_id": action.user_id,
            "account_id": action.account_id,
        }
        if action.price:
            body["price"] = format_raw(action.price)
        return "POST", "/orders", body
    if action.op == "amend":
        return (
            "PATCH",
            f"/orders/{action.order_id}",
            {
                "price": format_raw(action.price),
                "quantity": format_raw(action.quantity),
            },
        )
    return "DELETE", f"/orders/{action.order_id}", None


@dataclass
class FeedStats:
    """What the feed did so far (written to the status file, printed at the end)."""

    started: float = field(default_factory=time.time)
    outcome: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    trades: int = 0
    windows: int = 0
    episodes: Counter[str] = field(default_factory=Counter)
    labels_path: str | None = None
    start_prices: dict[str, str] = field(default_factory=dict)
    rate_target: float = 0.0
    _recent: deque[float] = field(default_factory=deque)

    def record(self, status: str, trades: int) -> None:
        """Count one answered (or unreachable) action."""
        self.sent += 1
        self.outcome[status] += 1
        self.trades += trades
        now = time.monotonic()
        self._recent.append(now)
        while self._recent and self._recent[0] < now - 5.0:
            self._recent.popleft()

    def rate(self) -> float:
        """Actions answered per second over the last five seconds."""
        if len(self._recent) < 2:
            return 0.0
        span = max(time.monotonic() - self._recent[0], 1e-3)
        return len(self._recent) / span

    def as_dict(self, final: bool = False) -> dict[str, Any]:
        """The status file's content."""
        elapsed = max(time.time() - self.started, 1e-9)
        return {
            "pid": os.getpid(),
            "final": final,
            "elapsed_s": round(elapsed, 1),
            "rate_target": self.rate_target,
            "orders_per_s": round(self.rate(), 1),
            "mean_orders_per_s": round(self.sent / elapsed, 1),
            "sent": self.sent,
            "trades": self.trades,
            "outcome": dict(self.outcome),
            "windows": self.windows,
            "episodes": dict(self.episodes),
            "labels": self.labels_path,
            "start_prices": self.start_prices,
        }


def write_status(path: Path | None, stats: FeedStats, final: bool = False) -> None:
    """Replace the status file atomically (readers never see half a file)."""
    if path is None:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(stats.as_dict(final)))
    tmp.replace(path)


async def reference_prices(
    marketdata_url: str, symbols: Sequence[str], token: str, timeout_s: float = 30.0
) -> list[str] | None:
    """Market data's mark per symbol (last sale, else last close), or None if it has none.

    Retried until ``timeout_s`` (market data may still be seeding).
    """
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(
        base_url=marketdata_url, headers={"Authorization": f"Bearer {token}"}, timeout=5
    ) as http:
        while True:
            try:
                answer = await http.get("/prices/latest", params={"symbols": ",".join(symbols)})
                if answer.status_code == 200:
                    marks = {
                        row["symbol"]: row.get("mark") or row["close"] for row in answer.json()
                    }
                    if all(s in marks for s in symbols):
                        return [str(Decimal(marks[s])) for s in symbols]
                log.warning("market data has no price for every symbol: %s", answer.text[:200])
                if answer.status_code == 404:
                    return None
            except httpx.HTTPError as exc:
                log.info("market data not reachable yet: %r", exc)
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.5)


class _FillSide(msgspec.Struct):
    aggressor: bool = False


class _Execution(msgspec.Struct):
    fills: list[_FillSide] = []


_EXECUTION = msgspec.json.Decoder(_Execution)
_JSON = msgspec.json.Encoder()


def trades_of(status: int, body: bytes) -> int:
    """Trades a command caused: its order is the aggressor of each of them."""
    if status >= 300 or not body:
        return 0
    try:
        return sum(1 for f in _EXECUTION.decode(body).fills if f.aggressor)
    except msgspec.DecodeError:
        return 0


class Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its whole answer, and again.

    The feed's own client: profiled at 32 connections, ``httpx``'s connection pool took most
    of the feed's CPU. Requests are bytes on an asyncio stream, answers framed by
    ``Content-Length`` (or chunked); nothing else of HTTP is needed here.
    """

    def __init__(self, base_url: str, token: str) -> None:
        match = re.match(r"http://([^:/]+):(\d+)/?$", base_url)
        if match is None:
            raise ValueError(f"expected http://host:port, got {base_url!r}")
        self._host, self._port = match.group(1), int(match.group(2))
        self._head = (
            f"Host: {self._host}:{self._port}\r\nAuthorization: Bearer {token}\r\n"
        ).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, bytes]:
        """``(status, body)``; raises :class:`OSError` when the service cannot be reached."""
        if self._writer is None or self._reader is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        payload = _JSON.encode(body) if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self._head
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n".encode()
        try:
            self._writer.write(head + b"\r\n" + payload)
            return await self._answer(self._reader)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            await self.close()
            raise OSError(f"{method} {path}: {exc!r}") from exc

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[int, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        if b"transfer-encoding: chunked" in lower:
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                chunks.append(chunk[:-2])
            return status, b"".join(chunks)
        match = re.search(rb"content-length:\s*(\d+)", lower)
        length = int(match.group(1)) if match else 0
        return status, await reader.readexactly(length) if length else b""

    async def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _lane(conn: Connection, queue: asyncio.Queue[Action | None], stats: FeedStats) -> None:
    try:
        while True:
            action = await queue.get()
            if action is None:
                return
            method, path, body = request_of(action)
            try:
                status, answer = await conn.request(method, path, body)
                stats.record(f"{status // 100}xx", trades_of(status, answer))
            except OSError as exc:
                stats.record("unreachable", 0)
                log.warning("matching service unreachable: %r", exc)
                await asyncio.sleep(1.0)
    finally:
        await conn.close()


def _episodes_started(labels: LabelFile, until_ns: int) -> LabelFile:
    return msgspec.structs.replace(
        labels, episodes=[e for e in labels.episodes if e.window_start_ns <= until_ns]
    )


async def feed(
    matching_url: str,
    config: SimConfig,
    *,
    rate: float,
    windows: int | None = None,
    stop: asyncio.Event | None = None,
    token: str | None = None,
    stats: FeedStats | None = None,
    status_file: Path | None = None,
    labels_file: Path | None = None,
    lanes: int = DEFAULT_LANES,
) -> Counter[str]:
    """Send the simulated actions to the matching service; returns answers by status class."""
    token = token or Authenticator(load_settings()).issue_token(
        "simulator", [SERVICE], ttl_seconds=30 * 86_400
    )
    stats = stats if stats is not None else FeedStats()
    stats.rate_target = rate
    stats.labels_path = str(labels_file) if labels_file is not None else None
    stop = stop or asyncio.Event()
    interval = 1.0 / rate
    prices = config.start_prices
    window = 0
    labels_out = labels_file.open("ab") if labels_file is not None else None

    async def report() -> None:
        while True:
            write_status(status_file, stats)
            await asyncio.sleep(1.0)

    reporter = asyncio.create_task(report())
    try:
        queues = [asyncio.Queue[Action | None](LANE_BACKLOG) for _ in range(lanes)]
        workers = [
            asyncio.create_task(_lane(Connection(matching_url, token), q, stats)) for q in queues
        ]
        try:
            # the next window is simulated (in a thread) while this one is sent
            upcoming = asyncio.create_task(_window(config, window, prices))
            while (windows is None or window < windows) and not stop.is_set():
                result, actions = await upcoming
                if windows is None or window + 1 < windows:
                    upcoming = asyncio.create_task(_window(config, window + 1, result.end_prices))
                labels = result.labels()
                last_ts = await _send_window(result, actions, queues, interval, stop)
                sent = _episodes_started(labels, last_ts)
                for ep in sent.episodes:
                    stats.episodes[ep.type] += 1
                if labels_out is not None:
                    labels_out.write(encode_labels(sent) + b"\n")
                    labels_out.flush()
                window += 1
                stats.windows = window
                log.info("simulator window %d done: %s", window, dict(stats.outcome))
        finally:
            upcoming.cancel()
            for q in queues:
                if stop.is_set():  # stopping: what is queued is not sent
                    while not q.empty():
                        q.get_nowait()
                await q.put(None)
            _, pending = await asyncio.wait(workers, timeout=30.0)
            for task in pending:
                task.cancel()
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
        if labels_out is not None:
            labels_out.close()
        write_status(status_file, stats, final=True)
    return stats.outcome


async def _window(
    config: SimConfig, window: int, prices: list[str] | None
) -> tuple[SimResult, list[Action]]:
    """Window ``window`` of a continuous run starting at ``prices``, and its actions."""

    def work() -> tuple[SimResult, list[Action]]:
        cfg = msgspec.structs.replace(window_config(config, window), start_prices=prices)
        result = simulate(cfg)
        return result, list(result.iter_actions())

    return await asyncio.to_thread(work)


async def _send_window(
    result: SimResult,
    actions: list[Action],
    queues: list[asyncio.Queue[Action | None]],
    interval: float,
    stop: asyncio.Event,
) -> int:
    """Dispatch a window's actions to their symbol's lane at the pace; returns the event time
    of the last action dispatched."""
    next_at = time.monotonic()
    last_ts = result.config.start_ns
    for action in actions:
        if stop.is_set():
            break
        await queues[zlib.crc32(action.order_id.encode()) % len(queues)].put(action)
        last_ts = action.ts_event
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1.0:
            next_at = time.monotonic()  # fell behind (backlog): do not burst to catch up
    return last_ts


def run_prefix(now_ns: int | None = None) -> str:
    """An order-id prefix unique to this run: the start time in base 36 (``R<time>-``)."""
    n = (now_ns if now_ns is not None else time.time_ns()) // 1_000_000
    digits = ""
    while n:
        n, d = divmod(n, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[d] + digits
    return f"R{digits or '0'}-"


def summary_lines(stats: FeedStats) -> list[str]:
    """The human summary printed when the feed stops."""
    d = stats.as_dict(final=True)
    episodes = ", ".join(f"{k.lower()} {v}" for k, v in sorted(stats.episodes.items())) or "none"
    return [
        f"simulator: {d['sent']} actions in {d['elapsed_s']} s "
        f"({d['mean_orders_per_s']}/s, target {d['rate_target']}/s), {d['trades']} trades, "
        f"answers {d['outcome']}",
        f"simulator: {sum(stats.episodes.values())} episodes injected ({episodes}) in "
        f"{d['windows']} windows; labels: {d['labels'] or 'not written'}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m nexus.sim.feed``."""
    parser = argparse.ArgumentParser(prog="nexus.sim.feed", description=__doc__)
    parser.add_argument("--matching-url", required=True)
    parser.add_argument("--marketdata-url", default=None, help="start prices from market data")
    parser.add_argument("--rate", type=float, default=300.0, help="actions per second at most")
    parser.add_argument("--lanes", type=int, default=DEFAULT_LANES, help="concurrent connections")
    parser.add_argument(
        "--id-prefix",
        default=None,
        help="order id prefix (default: one per run, so a restarted feed never reuses an id)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--symbols", type=int, default=8)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0, help="simulated seconds per window")
    parser.add_argument("--windows", type=int, default=None, help="stop after N windows")
    parser.add_argument("--status-file", type=Path, default=None)
    parser.add_argument("--labels", type=Path, default=None, help="labels file (JSON lines)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per order is noise
    settings = load_settings()
    token = Authenticator(settings).issue_token("simulator", [SERVICE], ttl_seconds=30 * 86_400)
    stats = FeedStats()
    stop = asyncio.Event()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        symbols = [symbol_name(i) for i in range(args.symbols)]
        prices = None
        if args.marketdata_url:
            prices = await reference_prices(args.marketdata_url, symbols, token)
            if prices is None:
                log.warning("no reference prices from market data: drawing start prices")
        if prices is not None:
            stats.start_prices = dict(zip(symbols, prices, strict=True))
        config = SimConfig(
            seed=args.seed,
            symbols=args.symbols,
            users=args.users,
            seconds=args.seconds,
            orders_per_second=max(1.0, args.rate / args.symbols / ACTIONS_PER_ORDER),
            start_prices=prices,
            id_prefix=args.id_prefix if args.id_prefix is not None else run_prefix(),
        )
        await feed(
            args.matching_url,
            config,
            rate=args.rate,
            windows=args.windows,
            stop=stop,
            token=token,
            stats=stats,
            status_file=args.status_file,
            labels_file=args.labels,
            lanes=max(1, args.lanes),
        )

    asyncio.run(run())
    for line in summary_lines(stats):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
