"""A seeded quarter of routed flow, written through part 1's RoutingStore, kept in memory.

Each parent gets a round-0 decision with its NBBO, one or two children and fills with fees
(+ paid, - rebate) and NBBO snapshots; quotes are archived around every fill. The same
records are kept as plain Python rows so tests can compute the reports directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import asyncpg
import numpy as np

from nexus.events import ChildExecuted, NbboAt, ParentExecuted, RoutedFill, RoutingDecisionEvent
from services.routing.reports_store import ReportsStore
from services.routing.store import RoutingStore

S = 10**9
MS = 1_000_000
CENT = S // 100
SYMBOLS = ("SIM0001", "SIM0012", "AAPL")  # S&P 500, other, S&P 500
VENUES = ("ALPHA", "BRAVO", "CHARLIE", "NEXUS")
FEES = {"ALPHA": 3 * S // 1000, "BRAVO": -2 * S // 1000, "CHARLIE": S // 1000, "NEXUS": 0}


@dataclass
class Parent:
    order_id: str
    symbol: str
    side: int
    quantity: int
    limit: int
    ts: int
    bid: int
    ask: int
    refused: bool = False


@dataclass
class Fill:
    order: int  # index into parents
    venue: str
    price: int
    quantity: int
    fee: int
    ts: int
    maker: bool


@dataclass
class Flow:
    parents: list[Parent] = field(default_factory=list)
    routes: list[tuple[int, str, int]] = field(default_factory=list)  # (order, venue, qty)
    fills: list[Fill] = field(default_factory=list)
    quotes: list[tuple[str, int, int, int]] = field(default_factory=list)  # symbol ts bid ask


class _Pool:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool


def _ts(day: dt.date, seconds: int) -> int:
    base = int(dt.datetime(day.year, day.month, day.day, 14, tzinfo=dt.UTC).timestamp())
    return (base + seconds) * S


def generate(n: int = 160, seed: int = 7) -> Flow:
    """Parents over 2026-09-25 .. 2026-12-31 (a few before the quarter, a few refused)."""
    rng = np.random.default_rng(seed)
    flow = Flow()
    first = dt.date(2026, 9, 25)
    for i in range(n):
        day = first + dt.timedelta(days=int(rng.integers(0, 98)))
        t = _ts(day, int(rng.integers(0, 20_000)))
        sym = SYMBOLS[int(rng.integers(0, 3))]
        mid = (50 + int(rng.integers(0, 5))) * S
        bid, ask = mid - CENT, mid + CENT
        side = 1 if rng.random() < 0.5 else -1
        qty = int(rng.choice([37, 100, 300, 1000])) * S
        kind = int(rng.integers(0, 3))  # market, marketable limit, non-marketable limit
        far, near = (ask, bid) if side > 0 else (bid, ask)
        limit = 0 if kind == 0 else (far + side * 2 * CENT if kind == 1 else near - side * 5 * CENT)
        parent = Parent(f"P{i:04d}", sym, side, qty, limit, t, bid, ask, refused=i % 40 == 39)
        flow.parents.append(parent)
        flow.quotes.append((sym, t - MS, bid, ask))
        if parent.refused:
            continue
        venues = list(rng.choice(VENUES, size=int(rng.integers(1, 3)), replace=False))
        split = [qty // len(venues)] * len(venues)
        split[0] += qty - sum(split)
        for venue, part in zip(venues, split, strict=True):
            flow.routes.append((i, str(venue), part))
            if kind == 2:
                continue
            done = part if rng.random() < 0.8 else part // 2
            if done == 0:
                continue
            improve = int(rng.integers(0, 2)) * CENT // 2
            price = far - side * improve
            ft = t + int(rng.integers(1, 50)) * MS
            fee = FEES[str(venue)] * done // S
            flow.fills.append(Fill(i, str(venue), price, done, fee, ft, improve > 0))
            drift = int(rng.integers(-3, 4)) * CENT
            for h in (100 * MS, 1_000 * MS, 10_000 * MS, 60_000 * MS):
                flow.quotes.append((sym, ft + h, bid + drift, ask + drift))
                drift += int(rng.integers(-2, 3)) * CENT
    return flow


def _nbbo(bid: int, ask: int, ts: int) -> NbboAt:
    return NbboAt(
        bid_price=bid,
        bid_size=500 * S,
        ask_price=ask,
        ask_size=500 * S,
        state="NORMAL",
        ts_event=ts,
    )


async def write(pool: asyncpg.Pool, flow: Flow) -> None:
    """Store the flow through RoutingStore (as the router does) and archive the quotes."""
    store = RoutingStore(_Pool(pool))
    await store.prepare()
    for i, p in enumerate(flow.parents):
        side: Literal["BUY", "SELL"] = "BUY" if p.side > 0 else "SELL"
        await store.claim_parent(
            p.order_id, "u1", p.symbol, side, p.quantity, p.limit, "SMART", p.ts
        )
        decision = RoutingDecisionEvent(
            event_id=f"{p.order_id}-d0",
            ts_event=p.ts,
            symbol=p.symbol,
            order_id=p.order_id,
            user_id="u1",
            side=side,
            quantity=p.quantity,
            limit_price=p.limit,
            strategy="SMART",
            rule_set="REG_NMS_2024_AMENDMENT",
            nbbo=_nbbo(p.bid, p.ask, p.ts - MS),
        )
        events: list[ChildExecuted | RoutedFill | ParentExecuted] = []
        filled = 0
        for k, (o, venue, qty) in enumerate(r for r in flow.routes if r[0] == i):
            child_id = f"{p.order_id}-c{k}"
            fills = [f for f in flow.fills if f.order == o and f.venue == venue]
            done = sum(f.quantity for f in fills)
            filled += done
            events.append(
                ChildExecuted(
                    event_id=f"{child_id}-x",
                    ts_event=p.ts + 60 * MS,
                    symbol=p.symbol,
                    order_id=p.order_id,
                    child_id=child_id,
                    decision_id=decision.event_id,
                    user_id="u1",
                    venue=venue,
                    side=side,
                    quantity=qty,
                    limit_price=p.limit,
                    status="FILLED"
                    if done == qty
                    else ("UNFILLED" if done == 0 else "PARTIALLY_FILLED"),
                    filled_quantity=done,
                    leaves_quantity=0,
                    sent_ns=p.ts,
                    done_ns=p.ts + 60 * MS,
                    nbbo_at_decision=_nbbo(p.bid, p.ask, p.ts - MS),
                    nbbo_at_execution=_nbbo(p.bid, p.ask, p.ts - MS),
                )
            )
            for j, f in enumerate(fills):
                events.append(
                    RoutedFill(
                        event_id=f"{child_id}-f{j}",
                        ts_event=f.ts,
                        symbol=p.symbol,
                        order_id=p.order_id,
                        child_id=child_id,
                        user_id="u1",
                        venue=venue,
                        side=side,
                        price=f.price,
                        quantity=f.quantity,
                        fee=f.fee,
                        liquidity="MAKER" if f.maker else "TAKER",
                        nbbo_at_execution=_nbbo(p.bid, p.ask, p.ts - MS),
                    )
                )
        status: Literal["FILLED", "PARTIALLY_FILLED", "UNFILLED", "REFUSED"] = "UNFILLED"
        if p.refused:
            status = "REFUSED"
        elif filled == p.quantity:
            status = "FILLED"
        elif filled:
            status = "PARTIALLY_FILLED"
        events.append(
            ParentExecuted(
                event_id=f"{p.order_id}-p",
                ts_event=p.ts + 100 * MS,
                symbol=p.symbol,
                order_id=p.order_id,
                user_id="u1",
                side=side,
                strategy="SMART",
                quantity=p.quantity,
                limit_price=p.limit,
                status=status,
                filled_quantity=filled,
                leaves_quantity=0,
                ts_start=p.ts,
            )
        )
        await store.record_outcome([] if p.refused else [decision], events)
    await ReportsStore(pool).archive_quotes(flow.quotes)
