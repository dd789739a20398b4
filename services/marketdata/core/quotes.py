"""Venue quote streams (L1 and depth) around a mid-price path; never crossed or locked.

Each venue quotes at its own Poisson update times with its own half-spread (in ticks) and
size profile. Every bid is rounded *down* from ``mid - half_spread`` and every ask *up* from
``mid + half_spread`` with ``half_spread >= tick / 2``, so each bid is strictly below the mid and
each ask strictly above it: no venue is crossed or locked, and neither is the NBBO across venues.
Prices and sizes are raw fixed point; ``ts_event`` is the simulated time in nanoseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from nexus.events import Level, QuoteDepth, QuoteL1
from nexus.money import SCALE
from services.marketdata.core.errors import InvalidRangeError

NS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True, slots=True)
class VenueProfile:
    """How one venue quotes: half-spread in ticks, updates per second, lot size and depth."""

    venue: str
    half_spread_ticks: float = 1.0
    updates_per_second: float = 20.0
    lot_size: int = 100
    mean_lots: float = 5.0
    depth_levels: int = 5


DEFAULT_VENUES: tuple[VenueProfile, ...] = (
    VenueProfile("NYSE", 1.0, 25.0),
    VenueProfile("NASDAQ", 1.0, 30.0),
    VenueProfile("ARCA", 1.5, 15.0),
    VenueProfile("BATS", 2.0, 10.0, mean_lots=3.0),
)


def mid_path(
    start_raw: int, tick_raw: int, n: int, ticks_per_step: float, seed: int
) -> npt.NDArray[np.int64]:
    """A tick-aligned random-walk mid path of ``n`` steps (raw), never below 10 ticks."""
    if n < 1 or tick_raw <= 0 or start_raw <= 0:
        raise InvalidRangeError("mid_path needs n >= 1, tick > 0 and start > 0")
    rng = np.random.default_rng(seed)
    steps = np.rint(rng.normal(0.0, ticks_per_step, n)).astype(np.int64)
    steps[0] = 0
    start_ticks = start_raw // tick_raw
    ticks = np.maximum(start_ticks + np.cumsum(steps), 10)
    return ticks * np.int64(tick_raw)


def _venue_quote(
    venue: VenueProfile, mid: int, tick_raw: int, rng: np.random.Generator
) -> tuple[int, int, list[int], list[int], list[int], list[int]]:
    half_raw = round(venue.half_spread_ticks * tick_raw)
    bid = ((mid - half_raw) // tick_raw) * tick_raw
    ask = -((-(mid + half_raw)) // tick_raw) * tick_raw
    lots = 1 + rng.geometric(1.0 / venue.mean_lots, (2, venue.depth_levels))
    sizes = (lots * (venue.lot_size * SCALE)).tolist()
    counts = rng.integers(1, 8, (2, venue.depth_levels)).tolist()
    return bid, ask, sizes[0], sizes[1], counts[0], counts[1]


def quote_stream(
    symbol: str,
    ts_ns: npt.NDArray[np.int64],
    mid_raw: npt.NDArray[np.int64],
    tick_raw: int,
    venues: Sequence[VenueProfile] = DEFAULT_VENUES,
    seed: int = 0,
    depth: bool = True,
) -> list[QuoteL1 | QuoteDepth]:
    """Quotes of every venue for ``symbol`` along the mid path, in event-time order.

    ``mid_raw[k]`` is the mid from ``ts_ns[k]`` (ascending) until the next step. Each venue
    quotes at its own Poisson update times, and also re-quotes at once when a mid move would
    leave its bid at or above the mid (or its ask at or below), so every venue's bid stays below
    the mid and every ask above it; while venues re-quote one by one after a step, each new quote
    also stays clear of the others, so the NBBO is never crossed or locked. Each quote is an L1
    event plus, if ``depth``, a depth snapshot with the same timestamp. Event ids are
    ``q-``/``d-<venue>-<symbol>-<n>``; deterministic for a seed.
    """
    if len(ts_ns) != len(mid_raw) or len(ts_ns) == 0:
        raise InvalidRangeError("ts_ns and mid_raw must be non-empty and the same length")
    if np.any(np.diff(ts_ns) < 0):
        raise InvalidRangeError("ts_ns must be ascending")
    if tick_raw <= 0:
        raise InvalidRangeError("tick must be > 0")
    for venue in venues:
        if venue.half_spread_ticks < 0.5 or venue.depth_levels < 1 or venue.lot_size < 1:
            raise InvalidRangeError(f"venue {venue.venue}: half spread >= 0.5 tick, depth >= 1")
    rng = np.random.default_rng(seed)
    t0, t1 = int(ts_ns[0]), int(ts_ns[-1])
    span_s = max(t1 - t0, 1) / NS_PER_SECOND
    # Timeline entries: (ts, order, venue index or -1 for a mid step, mid index).
    timeline: list[tuple[int, int, int, int]] = [
        (int(t), 0, -1, k) for k, t in enumerate(ts_ns.tolist())
    ]
    for v, venue in enumerate(venues):
        n_updates = max(1, int(rng.poisson(venue.updates_per_second * span_s)))
        for t in np.sort(rng.integers(t0, t1 + 1, n_updates)).tolist():
            timeline.append((int(t), 1, v, -1))
    timeline.sort()
    mids = mid_raw.tolist()
    mid = int(mids[0])
    current: list[tuple[int, int] | None] = [None] * len(venues)
    seq = [0] * len(venues)
    out: list[QuoteL1 | QuoteDepth] = []

    def emit(v: int, ts: int) -> None:
        venue = venues[v]
        bid, ask, bid_sizes, ask_sizes, bid_counts, ask_counts = _venue_quote(
            venue, mid, tick_raw, rng
        )
        others = [q for w, q in enumerate(current) if q is not None and w != v]
        if others:
            # A mid step re-quotes venues one by one: stay clear of the ones not yet updated.
            bid = min(bid, min(q[1] for q in others) - tick_raw)
            ask = max(ask, max(q[0] for q in others) + tick_raw)
        current[v] = (bid, ask)
        ident = f"{venue.venue}-{symbol}-{seq[v]}"
        seq[v] += 1
        out.append(
            QuoteL1(
                event_id=f"q-{ident}",
                ts_event=ts,
                symbol=symbol,
                venue=venue.venue,
                bid_price=max(bid, 0),
                bid_size=bid_sizes[0] if bid > 0 else 0,
                ask_price=ask,
                ask_size=ask_sizes[0],
            )
        )
        if depth:
            levels = range(venue.depth_levels)
            out.append(
                QuoteDepth(
                    event_id=f"d-{ident}",
                    ts_event=ts,
                    symbol=symbol,
                    venue=venue.venue,
                    bids=[
                        Level(bid - j * tick_raw, bid_sizes[j], bid_counts[j])
                        for j in levels
                        if bid - j * tick_raw > 0
                    ],
                    asks=[Level(ask + j * tick_raw, ask_sizes[j], ask_counts[j]) for j in levels],
                )
            )

    for ts, _, v, k in timeline:
        if v >= 0:
            emit(v, ts)
            continue
        mid = int(mids[k])
        for w, quote in enumerate(current):
            if quote is not None and not quote[0] < mid < quote[1]:
                emit(w, ts)
    return out


def market_quotes(
    symbols: Sequence[tuple[str, int]],
    start_ns: int,
    seconds: float,
    tick_raw: int,
    step_ms: float = 100.0,
    ticks_per_step: float = 0.7,
    venues: Sequence[VenueProfile] = DEFAULT_VENUES,
    depth: bool = True,
    seed: int = 0,
) -> list[QuoteL1 | QuoteDepth]:
    """Quotes of several symbols (``(symbol, start mid raw)``) over a time window, merged in
    event-time order (ties by symbol order); each symbol has its own random-walk mid with one
    step per ``step_ms``. Deterministic for ``seed``; event time starts at ``start_ns``.
    """
    if seconds <= 0 or step_ms <= 0:
        raise InvalidRangeError("seconds and step_ms must be > 0")
    step_ns = int(step_ms * 1_000_000)
    n = max(2, int(seconds * NS_PER_SECOND // step_ns) + 1)
    ts = start_ns + np.arange(n, dtype=np.int64) * step_ns
    merged: list[tuple[int, int, int, QuoteL1 | QuoteDepth]] = []
    for k, (symbol, start_raw) in enumerate(symbols):
        mids = mid_path(start_raw, tick_raw, n, ticks_per_step, seed * 100_003 + k)
        stream = quote_stream(symbol, ts, mids, tick_raw, venues, seed * 100_003 + k, depth)
        merged.extend((q.ts_event, k, i, q) for i, q in enumerate(stream))
    merged.sort(key=lambda item: item[:3])
    return [q for _, _, _, q in merged]
