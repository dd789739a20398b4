"""Simulated customer flow through the smart order router: parent orders over REST.

``python -m nexus.sim.routed --routing-url http://127.0.0.1:8107 --rate 2`` sends parent orders
to the router's ``POST /orders`` as the ``simulator`` service principal, on behalf of a small
set of simulated customers, at ``--rate`` parents per second on average (Poisson arrivals, at
most ``--in-flight`` awaiting their answer at once). Each parent is drawn against the router's
current NBBO of its symbol:

* order type: market, marketable limit (through the far touch) or non-marketable limit (behind
  the near touch), in the shares of :data:`ORDER_TYPES`;
* size: odd lot, round lots or a block (:data:`SIZES`), so Rule 605's lot and notional classes
  and Rule 606's order types all occur;
* strategy: mostly ``SMART``, the rest spread over the other five (:data:`STRATEGIES`).

The router routes, executes over FIX and records decisions, children, fills and NBBO
snapshots: the raw material of the 606/605 reports and venue analytics. A refused parent (a
halt, an unknown symbol, no quote yet) is counted by its answer status, never retried. Every
second the counters go to ``--status-file`` (JSON); SIGINT/SIGTERM stop it with a summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import signal
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from nexus.config import load_settings
from nexus.instruments import symbol_name
from nexus.web.auth import SERVICE, Authenticator

log = logging.getLogger(__name__)

#: (order type, share of parents)
ORDER_TYPES = (("market", 0.3), ("marketable_limit", 0.4), ("non_marketable_limit", 0.3))
#: (lowest, highest shares, share of parents): odd lot, round lots, block
SIZES = ((1, 99, 0.2), (100, 900, 0.6), (1_000, 5_000, 0.2))
#: (strategy, share of parents)
STRATEGIES = (
    ("SMART", 0.6),
    ("BEST_PRICE", 0.1),
    ("LOWEST_COST", 0.1),
    ("FASTEST", 0.1),
    ("INTERNALIZE_FIRST", 0.05),
    ("EXTERNAL_ONLY", 0.05),
)
CENT = Decimal("0.01")


class NoQuote(Exception):
    """The router has no two-sided NBBO for the symbol yet."""


@dataclass
class RoutedStats:
    """What the flow sent and how the router answered."""

    started: float = field(default_factory=time.monotonic)
    sent: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    no_quote: int = 0
    errors: int = 0

    def as_dict(self, final: bool = False) -> dict[str, Any]:
        """The counters as JSON-ready values."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return {
            "final": final,
            "sent": self.sent,
            "rate": round(self.sent / elapsed, 3),
            "by_status": dict(self.by_status),
            "by_type": dict(self.by_type),
            "no_quote": self.no_quote,
            "errors": self.errors,
        }


def _pick(rng: random.Random, table: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    """A row of ``table`` drawn by the share in its last column."""
    x = rng.random() * sum(row[-1] for row in table)
    for row in table:
        x -= row[-1]
        if x <= 0:
            return row
    return table[-1]


def draw_parent(
    rng: random.Random, symbol: str, bid: Decimal, ask: Decimal, user_id: str
) -> tuple[str, dict[str, Any]]:
    """``(order type, request body)`` of one parent against the NBBO ``bid``/``ask``."""
    if bid <= 0 or ask <= 0 or ask < bid:
        raise NoQuote(symbol)
    kind = str(_pick(rng, ORDER_TYPES)[0])
    low, high, _ = _pick(rng, SIZES)
    quantity = rng.randint(int(low), int(high))
    if quantity >= 100:
        quantity -= quantity % 100  # round lots stay round
    side = "BUY" if rng.random() < 0.5 else "SELL"
    body: dict[str, Any] = {
        "symbol": symbol,
        "side": side,
        "quantity": str(quantity),
        "strategy": str(_pick(rng, STRATEGIES)[0]),
        "user_id": user_id,
    }
    ticks = CENT * rng.randint(1, 5)
    if kind == "marketable_limit":
        body["price"] = str(ask + ticks if side == "BUY" else bid - ticks)
    elif kind == "non_marketable_limit":
        price = bid - ticks if side == "BUY" else ask + ticks
        body["price"] = str(max(price, CENT))
    return kind, body


async def _nbbo(http: httpx.AsyncClient, symbol: str) -> tuple[Decimal, Decimal]:
    answer = await http.get(f"/nbbo/{symbol}")
    answer.raise_for_status()
    data = answer.json()
    return Decimal(str(data.get("bid_price") or 0)), Decimal(str(data.get("ask_price") or 0))


async def send_one(
    http: httpx.AsyncClient,
    rng: random.Random,
    symbols: Sequence[str],
    users: Sequence[str],
    stats: RoutedStats,
) -> None:
    """Draw one parent against the current NBBO and route it; count the answer."""
    symbol = rng.choice(symbols)
    try:
        bid, ask = await _nbbo(http, symbol)
        kind, body = draw_parent(rng, symbol, bid, ask, rng.choice(users))
    except NoQuote:
        stats.no_quote += 1
        return
    except (httpx.HTTPError, ValueError, ArithmeticError) as exc:
        stats.errors += 1
        log.warning("NBBO of %s not read: %s", symbol, exc)
        return
    stats.sent += 1
    stats.by_type[kind] += 1
    try:
        answer = await http.post("/orders", json=body)
    except httpx.HTTPError as exc:
        stats.errors += 1
        log.warning("parent not answered: %s", exc)
        return
    stats.by_status[str(answer.status_code)] += 1
    if answer.status_code >= 500:
        log.warning("router answered %s: %s", answer.status_code, answer.text[:300])


def write_status(path: Path | None, stats: RoutedStats, final: bool = False) -> None:
    """Write the counters to ``path`` (atomically), if given."""
    if path is None:
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stats.as_dict(final)))
    tmp.replace(path)


async def run_flow(
    routing_url: str,
    token: str,
    *,
    rate: float,
    symbols: Sequence[str],
    users: Sequence[str],
    stop: asyncio.Event,
    stats: RoutedStats,
    seed: int = 1,
    in_flight: int = 4,
    limit: int | None = None,
    status_file: Path | None = None,
) -> None:
    """Send parents until ``stop`` is set (or ``limit`` parents were drawn)."""
    rng = random.Random(seed)
    slots = asyncio.Semaphore(max(1, in_flight))
    tasks: set[asyncio.Task[None]] = set()
    headers = {"Authorization": f"Bearer {token}"}
    last_status = 0.0
    drawn = 0
    async with httpx.AsyncClient(base_url=routing_url, headers=headers, timeout=30.0) as http:

        async def one() -> None:
            try:
                await send_one(http, rng, symbols, users, stats)
            finally:
                slots.release()

        while not stop.is_set() and (limit is None or drawn < limit):
            try:
                await asyncio.wait_for(stop.wait(), timeout=rng.expovariate(rate))
                break
            except TimeoutError:
                pass
            await slots.acquire()
            drawn += 1
            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            now = time.monotonic()
            if now - last_status >= 1.0:
                write_status(status_file, stats)
                last_status = now
        if tasks:
            await asyncio.wait(tasks, timeout=60.0)
    write_status(status_file, stats, final=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m nexus.sim.routed``."""
    parser = argparse.ArgumentParser(prog="nexus.sim.routed", description=__doc__)
    parser.add_argument("--routing-url", required=True)
    parser.add_argument("--rate", type=float, default=1.0, help="parents per second on average")
    parser.add_argument("--in-flight", type=int, default=4, help="parents awaiting an answer")
    parser.add_argument("--symbols", type=int, default=8)
    parser.add_argument("--customers", type=int, default=20, help="simulated customers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=int, default=None, help="stop after N parents")
    parser.add_argument("--status-file", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.rate <= 0:
        parser.error("--rate must be positive")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = load_settings()
    token = Authenticator(settings).issue_token("simulator", [SERVICE], ttl_seconds=30 * 86_400)
    stats = RoutedStats()
    stop = asyncio.Event()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_flow(
            args.routing_url,
            token,
            rate=args.rate,
            symbols=[symbol_name(i) for i in range(args.symbols)],
            users=[f"C{i:05d}" for i in range(1, args.customers + 1)],
            stop=stop,
            stats=stats,
            seed=args.seed,
            in_flight=args.in_flight,
            limit=args.limit,
            status_file=args.status_file,
        )

    asyncio.run(run())
    print(f"routed flow: {json.dumps(stats.as_dict(final=True))}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
