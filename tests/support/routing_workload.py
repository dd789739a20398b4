"""A 10-venue market for the routing benchmarks and perf gates (same book for both)."""

from __future__ import annotations

import random
from typing import Any

from services.routing.core import SmartOrderRouter, Strategy
from tests.support.routing_fakes import CENT, BookVenue, NoHalts, px, sh

SYMBOL = "XYZ"
NOW = 1_799_971_200 * 10**9


def venues(n: int = 10, depth: int = 5, seed: int = 7) -> list[BookVenue]:
    """``n`` venues quoting ``depth`` levels around $100 with varied fees and latencies."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        bid0 = px("99.99") - rng.randint(0, 3) * CENT
        ask0 = px("100.01") + rng.randint(0, 3) * CENT
        out.append(
            BookVenue(
                f"V{i}",
                bids=[(bid0 - k * CENT, sh(100 * rng.randint(1, 9))) for k in range(depth)],
                asks=[(ask0 + k * CENT, sh(100 * rng.randint(1, 9))) for k in range(depth)],
                taker_fee=rng.choice([-px("0.0015"), px("0.0005"), px("0.003")]),
                latency_ns=rng.choice([200_000, 500_000, 1_000_000, 3_000_000]),
            )
        )
    return out


def router(market: Any, n: int = 10, depth: int = 5) -> SmartOrderRouter:
    """A router over ``n`` venues whose books are mirrored in ``market``."""
    r = SmartOrderRouter(market, NoHalts(), clock=lambda: NOW)
    for v in venues(n, depth):
        r.register_venue(v)
        v.publish(market, SYMBOL, NOW - 1_000)
    return r


def decide(
    r: SmartOrderRouter, quantity: int = sh(2500), strategy: Strategy = Strategy.SMART
) -> Any:
    """One routing decision (BUY, market) at the workload's time."""
    return r.decide("o", "u", SYMBOL, "BUY", quantity, 0, strategy, NOW, r.rules.at(NOW))


def quote_stream(
    n: int, n_venues: int = 10, seed: int = 11
) -> list[tuple[str, int, int, int, int, int]]:
    """L1 quotes (venue, bid, bid size, ask, ask size, ts) around $100, time increasing."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        bid = px("99.95") + rng.randint(0, 5) * CENT
        out.append(
            (
                f"V{rng.randrange(n_venues)}",
                bid,
                sh(100),
                bid + rng.randint(1, 4) * CENT,
                sh(100),
                NOW + i,
            )
        )
    return out
