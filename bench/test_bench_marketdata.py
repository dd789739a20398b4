"""Market-data service: loading years of daily history into PostgreSQL, and REST latency.

Workload: the synthetic history generator's default, 500 symbols x 2,520 trading days (10 years,
1.26M closes). Cases: binary ``COPY`` straight into ``daily_closes`` (how the service seeds an
empty table), ``COPY`` into a staging table merged with ``ON CONFLICT`` (how CSV imports load),
and ``executemany`` of ``INSERT`` as the peer, timed on 50,000 rows and reported per row. Then
``GET /returns`` and ``GET /prices`` through HTTP on the loaded database (uvicorn in a thread,
a synchronous client): a portfolio-sized request (20 symbols x 1 year) and the whole table
(500 symbols x 10 years). Figures: docs/bench/marketdata.md.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import asyncpg
import httpx
import pytest

from nexus.config import load_settings
from nexus.infra import drop_database, ensure_database
from nexus.store import create_pool, migrate_dsn
from nexus.web import Authenticator, ServerThread
from services.marketdata.core import HistoryConfig, SyntheticHistory, generate_history
from services.marketdata.main import MIGRATIONS, build
from services.marketdata.service import MarketDataOptions, symbol_major_rows
from services.marketdata.store import PriceStore

PEER_ROWS = 50_000


@dataclass
class Pool:
    """The store's view of a database: a pool."""

    pool: asyncpg.Pool


@dataclass
class Bench:
    """A migrated database, its pool on a private event loop, and the history to load."""

    dsn: str
    loop: asyncio.AbstractEventLoop
    db: Pool
    history: SyntheticHistory

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def rows(self) -> Iterator[tuple[str, dt.date, int]]:
        return symbol_major_rows(self.history)

    def empty(self) -> None:
        self.run(self.db.pool.execute("TRUNCATE daily_closes, symbols"))

    def load(self, fresh: bool) -> int:
        sectors = dict(zip(self.history.symbols, self.history.sectors, strict=True))
        store = PriceStore(self.db)
        count: int = self.run(store.load_closes(self.rows(), "bench", fresh=fresh, sectors=sectors))
        return count


@pytest.fixture(scope="module")
def bench(pg_server_dsn: str) -> Iterator[Bench]:
    t0 = time.perf_counter()
    history = generate_history(HistoryConfig())
    print(
        f"\n[history] generated {history.closes.size:,} closes in {time.perf_counter() - t0:.2f} s"
    )
    loop = asyncio.new_event_loop()
    name = f"nexus_bench_marketdata_{uuid.uuid4().hex[:8]}"
    dsn = loop.run_until_complete(ensure_database(pg_server_dsn, name))
    loop.run_until_complete(migrate_dsn(dsn, MIGRATIONS))
    pool = loop.run_until_complete(create_pool(dsn, min_size=1, max_size=2))
    try:
        yield Bench(dsn, loop, Pool(pool), history)
    finally:
        loop.run_until_complete(pool.close())
        loop.run_until_complete(drop_database(pg_server_dsn, name))
        loop.close()


def _report(benchmark: Any, label: str, rows: int) -> None:
    best, median = benchmark.stats.stats.min, benchmark.stats.stats.median
    benchmark.extra_info.update(
        rows=rows, rows_per_s_best=round(rows / best), rows_per_s_median=round(rows / median)
    )
    print(f"\n[load] {label}: {rows:,} rows best {best:.2f} s ({rows / best:,.0f} rows/s)")


def test_history_load_copy_into_empty_table(benchmark: Any, bench: Bench) -> None:
    rows = bench.history.closes.size
    result = benchmark.pedantic(lambda: bench.load(fresh=True), setup=bench.empty, rounds=3)
    assert result == rows
    _report(benchmark, "COPY into daily_closes (seeding)", rows)


def test_history_load_copy_and_merge(benchmark: Any, bench: Bench) -> None:
    rows = bench.history.closes.size
    result = benchmark.pedantic(lambda: bench.load(fresh=False), setup=bench.empty, rounds=2)
    assert result == rows
    _report(benchmark, "COPY into staging + INSERT .. ON CONFLICT (imports)", rows)


def test_history_load_executemany_peer(benchmark: Any, bench: Bench) -> None:
    subset = []
    for row in bench.rows():
        subset.append((row[0], row[1], row[2], "peer"))
        if len(subset) == PEER_ROWS:
            break
    sql = "INSERT INTO daily_closes (symbol, trade_date, close_raw, source) VALUES ($1, $2, $3, $4)"

    def clear() -> None:
        bench.run(bench.db.pool.execute("DELETE FROM daily_closes WHERE source = 'peer'"))
        bench.empty()

    def insert() -> None:
        bench.run(bench.db.pool.executemany(sql, subset))

    benchmark.pedantic(insert, setup=clear, rounds=2)
    _report(benchmark, "executemany INSERT peer", PEER_ROWS)
    full = bench.history.closes.size / (PEER_ROWS / benchmark.stats.stats.min)
    benchmark.extra_info["extrapolated_full_s"] = round(full, 1)
    print(f"[load] executemany extrapolated to {bench.history.closes.size:,} rows: {full:.0f} s")


@pytest.fixture(scope="module")
def server(bench: Bench) -> Iterator[httpx.Client]:
    bench.empty()
    bench.load(fresh=True)
    settings = replace(load_settings({}), service_pg_dsns={"marketdata": bench.dsn})
    app, _, _ = build(settings, MarketDataOptions(seed_symbols=0, quote_symbols=0, bars=False))
    token = Authenticator(settings).issue_token("bench", ["service"])
    with (
        ServerThread(app) as thread,
        httpx.Client(
            base_url=thread.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as client,
    ):
        yield client


def _get(client: httpx.Client, path: str, params: dict[str, str]) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _latency(benchmark: Any, label: str) -> None:
    stats = benchmark.stats.stats
    benchmark.extra_info.update(ms_best=stats.min * 1e3, ms_median=stats.median * 1e3)
    print(f"\n[http] {label}: median {stats.median * 1e3:.1f} ms, best {stats.min * 1e3:.1f} ms")


def _one_year(bench: Bench, n: int) -> dict[str, str]:
    days = bench.history.trade_dates
    return {
        "symbols": ",".join(bench.history.symbols[:n]),
        "start": days[-253].isoformat(),
        "end": days[-1].isoformat(),
    }


def test_returns_20_symbols_1_year(benchmark: Any, bench: Bench, server: httpx.Client) -> None:
    params = _one_year(bench, 20)
    body = benchmark.pedantic(_get, (server, "/returns", params), rounds=50, warmup_rounds=3)
    assert body["observations"] == 252 and len(body["series"]) == 20
    _latency(benchmark, "GET /returns 20 symbols x 1 year")


def test_prices_20_symbols_1_year(benchmark: Any, bench: Bench, server: httpx.Client) -> None:
    params = _one_year(bench, 20)
    body = benchmark.pedantic(_get, (server, "/prices", params), rounds=50, warmup_rounds=3)
    assert body["count"] == 20 * 253
    _latency(benchmark, "GET /prices 20 symbols x 1 year")


def test_returns_500_symbols_10_years(benchmark: Any, bench: Bench, server: httpx.Client) -> None:
    params = {"symbols": ",".join(bench.history.symbols), "kind": "log"}
    body = benchmark.pedantic(_get, (server, "/returns", params), rounds=3, warmup_rounds=1)
    assert body["observations"] == 2519 and len(body["series"]) == 500
    _latency(benchmark, "GET /returns 500 symbols x 10 years (1.26M closes)")
