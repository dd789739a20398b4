"""The routing service's quote archiver on the real broker and PostgreSQL: venue quotes of two
reachable venues become sampled NBBO rows in ``routing_quote_archive``, and the recorded
market (``ReportsStore.tape``) has the mid at every Rule 605 horizon after an execution."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from nexus.bus import KafkaBus, OutgoingMessage
from nexus.config import load_settings
from nexus.events import QUOTE_CODEC, TOPIC_QUOTES, QuoteL1, partition_key
from nexus.infra import Stack
from nexus.store import create_pool
from nexus.web import running_server
from services.routing.core.types import ChildOrder, ChildReport, VenueProfile
from services.routing.core.venue import ExecutionVenue
from services.routing.main import RoutingOptions, build
from services.routing.reports.rule605 import HORIZONS
from services.routing.reports_store import ReportsStore

S = 10**9
MS = 1_000_000
SEC = 1_000 * MS


class QuotingOnly(ExecutionVenue):
    """A venue the router can reach; this test only needs its quotes."""

    def __init__(self, venue_id: str, protected: bool = True) -> None:
        self._profile = VenueProfile(venue_id=venue_id, protected=protected)

    @property
    def profile(self) -> VenueProfile:
        return self._profile

    async def submit(self, child: ChildOrder) -> ChildReport:
        raise NotImplementedError("no orders in this test")

    async def cancel(self, child: ChildOrder) -> ChildReport:
        raise NotImplementedError("no orders in this test")


def raw(price: str) -> int:
    return int(Decimal(price) * S)


async def test_archiver_writes_sampled_nbbo_rows_and_the_tape_has_the_horizon_mids(
    stack: Stack, fresh_database: Callable[[str], Awaitable[str]], tmp_path: Path
) -> None:
    token = uuid.uuid4().hex[:6].upper()
    symbol, a, b, outside = f"QA{token}", f"QAA{token}", f"QAB{token}", f"QAX{token}"
    dsn = await fresh_database("rqa")
    settings = replace(
        load_settings({}).with_infra(
            kafka_bootstrap=stack.kafka_bootstrap, pg_dsn=stack.pg_dsn, redis_url=stack.redis_url
        ),
        service_pg_dsns={"routing": dsn},
    )
    built = build(
        settings,
        RoutingOptions(
            internal_venue=False, data_dir=tmp_path, quote_archive_group=f"qa-test-{token}"
        ),
    )
    built.router.register_venue(QuotingOnly(a))
    built.router.register_venue(QuotingOnly(b))
    t0 = time.time_ns()
    seq = iter(range(1_000))

    def quote(ms: int, venue: str, bid: str, ask: str) -> QuoteL1:
        return QuoteL1(
            event_id=f"qa-{token}-{next(seq)}",
            ts_event=t0 + ms * MS,
            symbol=symbol,
            venue=venue,
            bid_price=raw(bid),
            bid_size=100 * S,
            ask_price=raw(ask),
            ask_size=100 * S,
        )

    # event time in ms from t0; the view's quote age (5 s) is the archiver's warm-up
    quotes = [
        quote(0, a, "10.00", "10.10"),  # warm-up: nothing written
        quote(1_000, b, "10.01", "10.12"),
        quote(2_000, outside, "10.04", "10.05"),  # a venue the router cannot reach: ignored
        quote(5_000, a, "10.00", "10.10"),  # warm-up over: 10.01 / 10.10 written at 5 s
        quote(5_050, b, "10.02", "10.12"),  # 50 ms later: held
        quote(5_080, b, "10.03", "10.12"),  # held (replaces the one before)
        quote(5_300, a, "10.00", "10.09"),  # held 10.03 / 10.10 at 5.1 s, 10.03 / 10.09 at 5.3 s
        quote(6_300, b, "10.04", "10.08"),  # 10.04 / 10.08
        quote(20_000, a, "10.05", "10.09"),  # B's quote is 13.7 s old (stale): A alone
    ]
    want = [
        (5_000, "10.01", "10.10"),
        (5_100, "10.03", "10.10"),
        (5_300, "10.03", "10.09"),
        (6_300, "10.04", "10.08"),
        (20_000, "10.05", "10.09"),
    ]
    async with running_server(built.app):
        bus = KafkaBus(settings.kafka_bootstrap or "")
        producer = bus.producer()
        try:
            await producer.publish_batch(
                [
                    OutgoingMessage(TOPIC_QUOTES, QUOTE_CODEC.encode(q), partition_key(q))
                    for q in quotes
                ]
            )
        finally:
            await producer.close()
            await bus.close()
        pool = await create_pool(dsn, min_size=1, max_size=2)
        try:
            query = (
                "SELECT ts_event, bid_price, ask_price FROM routing_quote_archive"
                " WHERE symbol = $1 ORDER BY ts_event"
            )
            async with asyncio.timeout(60):
                while len(rows := await pool.fetch(query, symbol)) < len(want):
                    await asyncio.sleep(0.1)
            got = [(r["ts_event"], r["bid_price"], r["ask_price"]) for r in rows]
            assert got == [(t0 + ms * MS, raw(bid), raw(ask)) for ms, bid, ask in want]
            assert built.archiver.quotes_ignored >= 1

            store = ReportsStore(pool)
            # a repeat (a redelivered batch) changes nothing
            await store.archive_quotes([(symbol, t0 + 5_000 * MS, raw("9.00"), raw("11.00"))])
            assert len(await pool.fetch(query, symbol)) == len(want)

            # an execution at 5 s: the tape has the mid in force at each Rule 605 horizon
            tape = await store.tape(t0, t0 + 60 * SEC)
            fill_ns = t0 + 5_000 * MS
            at = np.asarray([fill_ns + h for _, h in HORIZONS], dtype=np.int64)
            mids = tape.mid_at(np.full(at.shape[0], symbol), at)
            # 50 ms: 10.01/10.10; 1 s (6 s): 10.03/10.09; 15 s, 60 s, 5 min: 10.05/10.09
            assert mids == pytest.approx([10.055, 10.06, 10.07, 10.07, 10.07])

            # retention: rows older than the cutoff go, the rest stay
            old = t0 - 100 * 86_400 * S
            await store.archive_quotes([(symbol, old, raw("9.00"), raw("9.10"))])
            assert await store.prune_quote_archive(t0 - 93 * 86_400 * S) == 1
            assert len(await pool.fetch(query, symbol)) == len(want)
        finally:
            await pool.close()
