"""GET /users/{id}/var/backtest over in-memory positions and prices: series and Basel zone.

The history is hand-made: a close that alternates 100 / 100.1 (every small loss the same),
with two crashes of 5% inside the tested days. A 99% historical VaR on 250 days is the third
largest loss in its window, so with at most two crashes in any window it stays the small loss
and exactly the two crash days are exceptions (a loss equal to the VaR is not one).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import falcon.testing
import pytest

from nexus.web import TRADER, create_app
from services.analytics.api import routes
from services.analytics.core import (
    InMemoryCache,
    InMemoryPositions,
    InMemoryPrices,
    PortfolioAnalyticsService,
    PortfolioPosition,
)
from services.analytics.service import AnalyticsService

START = dt.date(2025, 1, 1)
N_CLOSES = 521  # 520 returns: 250 for the first forecast, 270 tested days
CRASHES = (300, 420)  # close indices where the price falls 5% (then recovers next day)
END = START + dt.timedelta(days=N_CLOSES - 1)


def _closes() -> dict[dt.date, str]:
    out: dict[dt.date, str] = {}
    for i in range(N_CLOSES):
        price = "95" if i in CRASHES else ("100.1" if i % 2 else "100")
        out[START + dt.timedelta(days=i)] = price
    return out


def _service(cache: InMemoryCache | None = None) -> AnalyticsService:
    positions = InMemoryPositions(
        {"alice": [PortfolioPosition(symbol="AAA", quantity="10", price="100")]}
    )
    prices = InMemoryPrices({"AAA": _closes()})
    core = PortfolioAnalyticsService(positions, prices)
    return AnalyticsService(
        core,
        None,  # type: ignore[arg-type]  # the backtest reads neither store
        None,  # type: ignore[arg-type]
        prices,
        cache,  # type: ignore[arg-type]
        clock=lambda: END,
    )


def _client(service: AnalyticsService) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(create_app("analytics", routes(service)))


def _get(client: falcon.testing.TestClient, **params: str) -> falcon.testing.Result:
    token = client.app.authenticator.issue_token("alice", [TRADER])  # type: ignore[attr-defined]
    return client.simulate_get(
        "/users/alice/var/backtest",
        params=params,
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture
def client() -> falcon.testing.TestClient:
    return _client(_service())


def test_series_holds_every_tested_day_with_the_two_crashes_as_exceptions(
    client: falcon.testing.TestClient,
) -> None:
    got = _get(client, series="true")
    assert got.status_code == 200, got.text
    body = got.json
    assert (body["n_observations"], body["n_exceptions"]) == (270, 2)
    series = body["series"]
    assert len(series) == 270
    first = START + dt.timedelta(days=251)  # the day of return 251 (close 251 over close 250)
    assert series[0]["date"] == first.isoformat()
    assert series[-1]["date"] == END.isoformat()
    breaks = [d["date"] for d in series if d["exception"]]
    assert breaks == [(START + dt.timedelta(days=i)).isoformat() for i in CRASHES]
    # money strings with exactly two decimals; the position is 10 x the latest close (100)
    for day in series:
        assert Decimal(day["pnl"]).as_tuple().exponent == -2
        assert Decimal(day["var"]).as_tuple().exponent == -2
    crash = next(d for d in series if d["exception"])
    assert crash["pnl"] == "-50.95"  # (95 / 100.1 - 1) x 1000 = -50.949..
    assert crash["var"] == "1.00"  # the small loss: (1 - 100 / 100.1) x 1000 = 0.999..
    assert body["rounding"] == "HALF_EVEN to 2 decimal places"
    # the last 250 days hold both crashes: green
    assert (body["basel_zone"], body["basel_exceptions"], body["basel_observations"]) == (
        "green",
        2,
        250,
    )


def test_without_series_the_statistics_and_zone_come_alone(
    client: falcon.testing.TestClient,
) -> None:
    body = _get(client).json
    assert body["series"] is None
    assert body["basel_zone"] == "green" and body["n_exceptions"] == 2


def test_zone_is_null_off_the_basel_table(client: falcon.testing.TestClient) -> None:
    at_95 = _get(client, confidence="0.95").json
    assert at_95["basel_zone"] is None and at_95["basel_exceptions"] is None
    assert "99%" in at_95["basel_rule"]
    short = _get(client, window="300").json  # 220 tested days
    assert short["n_observations"] == 220
    assert short["basel_zone"] is None and "250 observations" in short["basel_rule"]


def test_not_enough_history_and_a_bad_flag_are_422_naming_the_parameter(
    client: falcon.testing.TestClient,
) -> None:
    too_long = _get(client, window="600")
    assert too_long.status_code == 422
    assert "window" in too_long.text
    bad = _get(client, series="maybe")
    assert bad.status_code == 422
    assert "series" in bad.text


def test_cached_statistics_never_answer_a_series_request() -> None:
    cache = InMemoryCache()
    client = _client(_service(cache))
    assert _get(client).json["series"] is None
    assert len(_get(client, series="true").json["series"]) == 270
    assert _get(client).json["series"] is None
    assert (cache.misses, cache.hits) == (2, 1)
