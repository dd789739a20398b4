"""HttpPriceSource against a scripted market data API (httpx mock transport, no network)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from nexus.clients import NO_RETRY, ServiceClient
from nexus.errors import NotFoundError, ValidationError
from services.analytics.core.sources import MISSING_PRICE_RAW
from services.analytics.prices import HistoryAnswer, HttpPriceSource
from tests.unit.analytics_adapters.fakes import FakeCache

D = [dt.date(2024, 1, d) for d in (2, 3, 4, 5)]
P = 10**9


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> ServiceClient:
    return ServiceClient(
        "marketdata", "http://md", retry=NO_RETRY, transport=httpx.MockTransport(handler)
    )


def _series(symbol: str, days: list[dt.date], closes: list[str]) -> dict[str, Any]:
    return {"symbol": symbol, "dates": [d.isoformat() for d in days], "closes": closes}


def _prices(*series: dict[str, Any]) -> httpx.Response:
    body = {
        "start": "2024-01-02",
        "end": "2024-01-05",
        "count": 0,
        "missing_days": "",
        "series": list(series),
    }
    return httpx.Response(200, json=body)


def _problem(status: int, detail: str) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps({"type": "x", "title": "t", "status": status, "detail": detail}),
        headers={"content-type": "application/problem+json"},
    )


async def test_history_aligns_series_on_the_union_of_their_days() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return _prices(
            _series("AAA", D, ["10", "11", "12", "13"]),
            _series("BBB", [D[0], D[2], D[3]], ["20", "21", "22.5"]),
        )

    source = HttpPriceSource(_client(handler))
    history = await source.price_history(["BBB", "AAA"], D[0], D[3])
    await source.aclose()
    assert seen[0].url.path == "/prices"
    assert seen[0].url.params["symbols"] == "BBB,AAA"
    assert history.symbols == ("BBB", "AAA")
    assert history.dates == tuple(D)
    assert history.closes_raw[:, 1].tolist() == [10 * P, 11 * P, 12 * P, 13 * P]
    assert history.closes_raw[1, 0] == MISSING_PRICE_RAW
    assert history.closes_raw[3, 0] == 22_500_000_000


async def test_symbol_absent_from_the_answer_is_not_found() -> None:
    source = HttpPriceSource(_client(lambda r: _prices(_series("AAA", D, ["1"] * 4))))
    with pytest.raises(NotFoundError, match="ZZZ"):
        await source.price_history(["AAA", "ZZZ"], D[0], D[3])


async def test_ragged_series_is_a_validation_error() -> None:
    source = HttpPriceSource(_client(lambda r: _prices(_series("AAA", D, ["1"]))))
    with pytest.raises(ValidationError):
        await source.price_history(["AAA"], D[0], D[3])


@pytest.mark.parametrize(("status", "error"), [(404, NotFoundError), (422, ValidationError)])
async def test_client_errors_map_to_domain_errors(status: int, error: type[Exception]) -> None:
    source = HttpPriceSource(_client(lambda r: _problem(status, "unknown symbols: ZZZ")))
    with pytest.raises(error, match="ZZZ"):
        await source.price_history(["ZZZ"], D[0], D[3])
    with pytest.raises(error):
        await source.latest_prices(["ZZZ"])


async def test_latest_prices_by_symbol() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/prices/latest"
        return httpx.Response(
            200,
            json=[
                {"symbol": "AAA", "date": "2024-01-05", "close": "13.25"},
                {"symbol": "BBB", "date": "2024-01-05", "close": "22.5"},
            ],
        )

    source = HttpPriceSource(_client(handler))
    latest = await source.latest_prices(["BBB", "AAA"])
    assert {s: str(p) for s, p in latest.items()} == {"BBB": "22.5", "AAA": "13.25"}
    with pytest.raises(NotFoundError, match="CCC"):
        await source.latest_prices(["AAA", "CCC"])


async def test_history_answers_are_cached_until_invalidated() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return _prices(_series("AAA", D, ["1", "2", "3", "4"]))

    cache = FakeCache()
    source = HttpPriceSource(_client(handler), cache)  # type: ignore[arg-type]
    await source.price_history(["AAA"], D[0], D[3])
    await source.price_history(["AAA"], D[0], D[3])
    assert len(calls) == 1
    assert isinstance(next(iter(cache.values.values())), HistoryAnswer)
    await source.invalidate()
    await source.price_history(["AAA"], D[0], D[3])
    assert len(calls) == 2
    await HttpPriceSource(_client(handler)).invalidate()  # no cache: nothing to do
