"""The price store on PostgreSQL: bulk loads, CSV imports, the symbols summary."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from nexus.config import Settings
from nexus.money import to_raw
from nexus.runtime import ServiceRuntime
from services.marketdata.core import CsvFormatError
from services.marketdata.main import MIGRATIONS, NAME, import_csv
from services.marketdata.service import MarketDataOptions, MarketDataService
from services.marketdata.store import PriceStore
from tests.integration.platform.conftest import SettingsFactory

pytestmark = pytest.mark.integration
D = dt.date


@pytest.fixture
async def settings(service_settings: SettingsFactory) -> Settings:
    return await service_settings(NAME)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[ServiceRuntime]:
    rt = ServiceRuntime(NAME, settings, migrations=MIGRATIONS)
    await rt.start()
    yield rt
    await rt.stop()


async def test_csv_import_stores_exact_closes_and_reimport_replaces_them(
    runtime: ServiceRuntime, tmp_path: Path
) -> None:
    store = PriceStore(runtime)
    service = MarketDataService(store, runtime, MarketDataOptions(seed_symbols=0))
    first = tmp_path / "first.csv"
    first.write_text("date,symbol,close\n2024-01-02,ABC,101.123456789\n2024-01-03,ABC,102\n")
    result = await service.import_csv(first)
    assert (result.rows, result.symbols, result.source) == (2, ("ABC",), "csv:first.csv")
    assert (result.first_date, result.last_date) == (D(2024, 1, 2), D(2024, 1, 3))

    second = tmp_path / "second.csv"
    second.write_text("date,ABC,XYZ\n2024-01-03,102.5,7\n2024-01-04,103,7.25\n")
    await service.import_csv(second)
    [abc] = await store.series(["ABC"], D(2024, 1, 1), D(2024, 12, 31))
    assert abc.dates == (D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 4))
    assert abc.closes_raw == (to_raw("101.123456789"), to_raw("102.5"), to_raw("103"))
    summary = {s.symbol: s for s in await store.symbols()}
    assert summary["ABC"].closes == 3 and summary["ABC"].source == "csv:second.csv"
    assert summary["XYZ"].first_date == D(2024, 1, 3) and summary["XYZ"].sector is None
    rows = await runtime.pool.fetch("SELECT source FROM daily_closes WHERE symbol = 'ABC'")
    assert sorted(r["source"] for r in rows) == [
        "csv:first.csv",
        "csv:second.csv",
        "csv:second.csv",
    ]


async def test_malformed_csv_names_the_line_and_stores_nothing(
    runtime: ServiceRuntime, tmp_path: Path
) -> None:
    store = PriceStore(runtime)
    service = MarketDataService(store, runtime, MarketDataOptions(seed_symbols=0))
    bad = tmp_path / "bad.csv"
    bad.write_text("date,symbol,close\n2024-01-02,ABC,10\n2024-01-03,ABC,ten\n")
    with pytest.raises(CsvFormatError, match="line 3"):
        await service.import_csv(bad)
    assert not await store.has_closes()


async def test_fresh_load_of_a_stored_close_fails_whole(runtime: ServiceRuntime) -> None:
    store = PriceStore(runtime)
    rows = [("DUP", D(2024, 1, 2), to_raw("1")), ("DUP", D(2024, 1, 3), to_raw("2"))]
    assert await store.load_closes(rows, "test", fresh=True) == 2
    with pytest.raises(asyncpg.UniqueViolationError):
        await store.load_closes([("NEW", D(2024, 1, 2), 1), rows[0]], "test", fresh=True)
    assert await store.unknown(["NEW", "DUP"]) == ["NEW"]
    assert await store.load_closes(rows, "again") == 2  # the merging load replaces
    assert [s.source for s in await store.symbols()] == ["again"]


async def test_latest_and_bounds_follow_the_stored_closes(runtime: ServiceRuntime) -> None:
    store = PriceStore(runtime)
    await store.load_closes(
        [("ONE", D(2024, 1, 2), 5), ("TWO", D(2023, 6, 1), 9), ("TWO", D(2024, 2, 1), 8)], "t"
    )
    latest = await store.latest(["TWO", "ONE", "NONE"])
    assert [(c.symbol, c.trade_date, c.close_raw, c.previous_raw) for c in latest] == [
        ("TWO", D(2024, 2, 1), 8, 9),
        ("ONE", D(2024, 1, 2), 5, None),
    ]
    assert await store.bounds(["ONE", "TWO"]) == (D(2023, 6, 1), D(2024, 2, 1))
    assert await store.bounds(["NONE"]) is None


async def test_seeding_stores_history_and_benchmark_once(runtime: ServiceRuntime) -> None:
    store = PriceStore(runtime)
    options = MarketDataOptions(seed_symbols=3, seed_days=10, seed_end=D(2024, 5, 31))
    service = MarketDataService(store, runtime, options)
    assert await service.seed_if_empty() == 30
    assert await service.seed_if_empty() == 0
    levels = await store.benchmark("SYNTH_EW", D(2024, 1, 1), D(2024, 12, 31))
    assert len(levels) == 10 and levels[-1][0] == D(2024, 5, 31)
    assert levels[0][1] == to_raw("1000")


async def test_import_command_loads_a_file_into_the_service_database(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cli.csv"
    path.write_text("date,symbol,close\n2024-01-02,CLI,1.5\n")
    assert await import_csv(settings, path) == 0
    assert "stored 1 closes of 1 symbols" in capsys.readouterr().out


async def test_replicas_seeding_at_once_store_one_history(runtime: ServiceRuntime) -> None:
    options = MarketDataOptions(seed_symbols=4, seed_days=50, seed_end=D(2024, 5, 31))
    services = [MarketDataService(PriceStore(runtime), runtime, options) for _ in range(3)]
    loaded = await asyncio.gather(*(s.seed_if_empty() for s in services))
    assert sorted(loaded) == [0, 0, 200]
    assert await runtime.pool.fetchval("SELECT count(*) FROM daily_closes") == 200
    assert await runtime.pool.fetchval("SELECT count(*) FROM benchmark_levels") == 50
