"""Prices, latest prices and symbols over REST, from history stored in PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from nexus.money import Fixed
from nexus.web import running_server
from services.marketdata.core import HistoryConfig, generate_history
from services.marketdata.main import build, parse_options
from services.marketdata.service import history_start, last_weekday_before
from tests.integration.marketdata.conftest import SEEDED, Running
from tests.integration.platform.conftest import SettingsFactory

pytestmark = pytest.mark.integration


def seeded_history() -> Any:
    assert SEEDED.seed_end is not None
    config = HistoryConfig(
        n_symbols=SEEDED.seed_symbols,
        n_days=SEEDED.seed_days,
        start=history_start(SEEDED.seed_end, SEEDED.seed_days),
    )
    return generate_history(config, SEEDED.seed)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_seeded_closes_are_served_exactly_as_decimal_strings(marketdata: Running) -> None:
    history = seeded_history()
    days = history.trade_dates
    response = await marketdata.http.get(
        "/prices",
        params={"symbols": "S0000,S0003", "start": days[3].isoformat(), "end": "2024-03-28"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["start"] == days[3].isoformat() and body["end"] == "2024-03-28"
    assert "trading days only" in body["missing_days"]
    assert body["count"] == 2 * (len(days) - 3)
    s0, s3 = body["series"]
    assert [s0["symbol"], s3["symbol"]] == ["S0000", "S0003"]
    assert s0["dates"] == [d.isoformat() for d in days[3:]]
    assert s0["closes"] == [str(Fixed.from_raw(int(c))) for c in history.closes[3:, 0]]
    assert s3["closes"] == [str(Fixed.from_raw(int(c))) for c in history.closes[3:, 3]]
    assert s0["missing_dates"] == []
    assert all(Decimal(c) > 0 for c in s0["closes"])


async def test_open_range_spans_the_stored_history(marketdata: Running) -> None:
    days = seeded_history().trade_dates
    body = (await marketdata.http.get("/prices", params={"symbols": "S0001"})).json()
    assert (body["start"], body["end"]) == (days[0].isoformat(), days[-1].isoformat())
    assert len(body["series"][0]["dates"]) == len(days)


async def test_missing_days_are_named_per_symbol_not_filled(
    marketdata: Running, tmp_path: Any
) -> None:
    csv = tmp_path / "gappy.csv"
    csv.write_text(
        "date,symbol,close\n"
        "2024-01-02,GAPA,10.00\n2024-01-03,GAPA,10.50\n2024-01-04,GAPA,10.25\n"
        "2024-01-02,GAPB,20\n2024-01-04,GAPB,21\n"
    )
    await marketdata.service.import_csv(csv)
    body = (
        await marketdata.http.get(
            "/prices", params={"symbols": "GAPA,GAPB", "start": "2024-01-01", "end": "2024-01-31"}
        )
    ).json()
    a, b = body["series"]
    assert a["dates"] == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert a["closes"] == ["10", "10.5", "10.25"]
    assert b["dates"] == ["2024-01-02", "2024-01-04"]
    assert b["closes"] == ["20", "21"]
    assert (a["missing_dates"], b["missing_dates"]) == ([], ["2024-01-03"])
    assert body["count"] == 5


async def test_range_without_closes_answers_empty_series(marketdata: Running) -> None:
    response = await marketdata.http.get(
        "/prices", params={"symbols": "S0000,S0001", "start": "1999-01-01", "end": "1999-12-31"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 0
    assert [(s["symbol"], s["dates"], s["closes"]) for s in body["series"]] == [
        ("S0000", [], []),
        ("S0001", [], []),
    ]


async def test_unknown_symbols_are_404_naming_each_of_them(marketdata: Running) -> None:
    body = assert_problem(
        await marketdata.http.get("/prices", params={"symbols": "S0000,NOPE,ZZZ9"}), 404
    )
    assert "NOPE" in body["detail"] and "ZZZ9" in body["detail"]
    assert "S0000" not in body["detail"]
    assert body["errors"] == [
        {"field": "symbols", "message": "unknown symbol NOPE", "in": "query"},
        {"field": "symbols", "message": "unknown symbol ZZZ9", "in": "query"},
    ]
    latest = assert_problem(
        await marketdata.http.get("/prices/latest", params={"symbols": "NOPE"}), 404
    )
    assert "NOPE" in latest["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"symbols": "S0000", "start": "2024-13-01"}, "$.start"),
        ({"symbols": "S0000", "end": "yesterday"}, "$.end"),
        ({"symbols": "S0000", "start": "2024-03-01", "end": "2024-02-01"}, "start"),
        ({"symbols": "S0000,aapl"}, "symbols"),
        ({"symbols": ""}, "$.symbols"),
        ({"start": "2024-01-01"}, "$"),
        ({"symbols": "S0000", "colour": "red"}, "$"),
    ],
)
async def test_bad_query_is_422_naming_the_field(
    marketdata: Running, params: dict[str, str], field: str
) -> None:
    body = assert_problem(await marketdata.http.get("/prices", params=params), 422)
    [error] = body["errors"]
    assert error["in"] == "query"
    assert error["field"] == field, error


async def test_latest_prices_and_changes(marketdata: Running) -> None:
    history = seeded_history()
    body = (await marketdata.http.get("/prices/latest", params={"symbols": "S0002,S0000"})).json()
    assert [x["symbol"] for x in body] == ["S0002", "S0000"]
    for item, j in zip(body, (2, 0), strict=True):
        last, prev = int(history.closes[-1, j]), int(history.closes[-2, j])
        assert item["date"] == "2024-03-28"
        assert item["close"] == str(Fixed.from_raw(last))
        assert item["previous_close"] == str(Fixed.from_raw(prev))
        assert Decimal(item["change"]) == Decimal(item["close"]) - Decimal(item["previous_close"])
    everything = (await marketdata.http.get("/prices/latest")).json()
    assert [x["symbol"] for x in everything] == [f"S000{i}" for i in range(5)]


async def test_symbols_list_spans_sectors_and_sources(marketdata: Running) -> None:
    body = (await marketdata.http.get("/symbols")).json()
    assert [s["symbol"] for s in body] == [f"S000{i}" for i in range(5)]
    first = body[0]
    assert first["closes"] == SEEDED.seed_days
    assert first["last_date"] == "2024-03-28"
    assert first["source"] == "synthetic"
    assert first["sector"] == "ENERGY"


async def test_every_role_reads_and_anonymous_or_roleless_callers_do_not(
    marketdata: Running, tokens: Callable[[str, str], dict[str, str]]
) -> None:
    for role in ("trader", "risk", "compliance", "admin", "service"):
        ok = await marketdata.http.get("/symbols", headers=tokens("x", role))
        assert ok.status_code == 200, (role, ok.text)
    anonymous = await marketdata.http.get(
        "/prices", params={"symbols": "S0000"}, headers={"Authorization": ""}
    )
    assert_problem(anonymous, 401)
    assert_problem(await marketdata.http.get("/returns", headers=tokens("x", "guest")), 403)


async def test_first_start_seeds_once_and_a_restart_keeps_the_history(
    marketdata: Running,
) -> None:
    assert await marketdata.service.seed_if_empty() == 0
    rows = await marketdata.runtime.pool.fetchval("SELECT count(*) FROM daily_closes")
    assert rows == SEEDED.seed_symbols * SEEDED.seed_days
    assert dt.date(2024, 3, 28) == await marketdata.runtime.pool.fetchval(
        "SELECT max(trade_date) FROM daily_closes"
    )
    levels = await marketdata.runtime.pool.fetchval("SELECT count(*) FROM benchmark_levels")
    assert levels == SEEDED.seed_days


def test_default_history_ends_on_the_last_weekday_before_today() -> None:
    assert last_weekday_before(dt.date(2024, 3, 25)) == dt.date(2024, 3, 22)  # Monday -> Friday
    assert last_weekday_before(dt.date(2024, 3, 28)) == dt.date(2024, 3, 27)
    assert history_start(dt.date(2024, 3, 22), 5) == dt.date(2024, 3, 18)


async def test_openapi_documents_every_query_parameter(marketdata: Running) -> None:
    doc = (await marketdata.http.get("/openapi.json")).json()
    params = {
        path: [p["name"] for p in doc["paths"][path]["get"].get("parameters", [])]
        for path in ("/symbols", "/prices", "/prices/latest", "/returns", "/bars")
    }
    assert params == {
        "/symbols": [],
        "/prices": ["symbols", "start", "end"],
        "/prices/latest": ["symbols"],
        "/returns": ["symbols", "start", "end", "kind", "missing"],
        "/bars": ["symbol", "start", "end", "limit"],
    }


async def test_one_sided_range_beyond_the_data_is_empty_not_reversed(marketdata: Running) -> None:
    later = (
        await marketdata.http.get("/prices", params={"symbols": "S0000", "start": "2030-01-02"})
    ).json()
    assert (later["start"], later["end"], later["count"]) == ("2030-01-02", "2030-01-02", 0)
    earlier = (
        await marketdata.http.get("/prices", params={"symbols": "S0000", "end": "1990-01-02"})
    ).json()
    assert (earlier["start"], earlier["end"], earlier["count"]) == ("1990-01-02", "1990-01-02", 0)


async def test_seeded_tickers_follow_the_symbol_prefix(service_settings: SettingsFactory) -> None:
    options = replace(SEEDED, symbol_prefix="SIM", seed_symbols=3)
    app, runtime, service = build(await service_settings("marketdata"), options)
    async with running_server(app):
        symbols = await runtime.pool.fetch("SELECT DISTINCT symbol FROM daily_closes ORDER BY 1")
    assert [r["symbol"] for r in symbols] == ["SIM0000", "SIM0001", "SIM0002"]
    assert service.options.symbol_prefix == "SIM"


def test_command_line_defaults_to_the_simulator_tickers() -> None:
    options, csv_path = parse_options([])
    assert options.symbol_prefix == "SIM"
    assert csv_path is None
