"""Performance, decomposition, correlation, stress, backtest; validation answers 4xx problems."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.analytics.conftest import Running

pytestmark = pytest.mark.integration


async def _get(analytics: Running, user: str, path: str, **params: Any) -> Any:
    return await analytics.http.get(
        f"/users/{user}/{path}", params=params, headers=analytics.tokens(user, "trader")
    )


def _field(resp: Any) -> str:
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.text
    return str(resp.json()["errors"][0]["field"])


async def test_performance_metrics_over_a_date_range(analytics: Running, holder: str) -> None:
    end = dt.date.today()
    resp = await _get(
        analytics,
        holder,
        "performance",
        start=(end - dt.timedelta(days=200)).isoformat(),
        end=end.isoformat(),
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["n_periods"] > 100
    assert body["max_drawdown"] <= 0
    assert body["periods_per_year"] == 252
    assert "sharpe_standard_error" in body


async def test_risk_decomposition_components_sum_to_total(analytics: Running, holder: str) -> None:
    resp = await _get(analytics, holder, "risk-decomposition", factors="SPY")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert sum(Decimal(c) for c in body["component_var"]) == Decimal(body["total_var"])
    assert body["factor_names"] == ["SPY"]
    assert 0.0 <= body["factor_share"] <= 1.0


async def test_correlation_matrix_of_holdings_is_symmetric_unit_diagonal(
    analytics: Running, holder: str
) -> None:
    resp = await _get(analytics, holder, "correlation", lookback_days="365")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    m = body["matrix"]
    assert body["symbols"] == ["AAPL", "MSFT", "SPY", "XOM"]
    for i in range(4):
        assert m[i][i] == pytest.approx(1.0)
        for j in range(4):
            assert m[i][j] == pytest.approx(m[j][i])
    explicit = await analytics.http.get(
        f"/users/{holder}/correlation",
        params=[("symbols", "AAPL"), ("symbols", "SPY")],
        headers=analytics.tokens(holder, "trader"),
    )
    assert explicit.json()["symbols"] == ["AAPL", "SPY"]


async def test_stress_named_and_custom_scenarios(analytics: Running, holder: str) -> None:
    resp = await analytics.http.post(
        f"/users/{holder}/stress",
        json={
            "scenarios": [
                "gfc_2008",
                {"name": "aapl-halves", "symbol_shocks": {"AAPL": "-0.5"}},
                {"name": "energy", "sector_shocks": {"energy": "0.10"}},
                {"name": "market", "factor_shocks": {"SPY": "-0.10"}},
            ]
        },
        headers=analytics.tokens(holder, "trader"),
    )
    assert resp.status_code == 200, resp.text
    gfc, halves, energy, market = resp.json()
    assert Decimal(gfc["total_pnl"]) < 0
    [aapl] = [p for p in halves["positions"] if p["symbol"] == "AAPL"]
    assert Decimal(halves["total_pnl"]) == Decimal(aapl["pnl"]) < 0
    [xom] = [p for p in energy["positions"] if p["symbol"] == "XOM"]
    assert xom["shock_source"] == "sector" and Decimal(energy["total_pnl"]) > 0
    assert {p["shock_source"] for p in market["positions"]} == {"factor"}
    listed = await analytics.http.get("/stress/scenarios", headers=analytics.tokens("x", "trader"))
    assert {"black_monday_1987", "gfc_2008", "covid_2020", "rates_2022"} <= {
        s["name"] for s in listed.json()
    }


async def test_unknown_stress_scenario_is_422_naming_it(analytics: Running, holder: str) -> None:
    resp = await analytics.http.post(
        f"/users/{holder}/stress",
        json={"scenarios": ["gfc_2008", "martian_invasion"]},
        headers=analytics.tokens(holder, "trader"),
    )
    assert resp.status_code == 422
    assert _field(resp) == "scenarios[1]"


async def test_var_backtest_counts_exceptions(analytics: Running, holder: str) -> None:
    resp = await _get(analytics, holder, "var/backtest", confidence="0.95", window="100")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["n_observations"] > 150
    assert 0 <= body["n_exceptions"] < body["n_observations"]
    assert body["expected_rate"] == pytest.approx(0.05)
    too_long = await _get(analytics, holder, "var/backtest", window="2000")
    assert too_long.status_code == 422
    assert _field(too_long) == "window"


async def test_var_backtest_series_and_basel_zone_survive_the_redis_cache(
    analytics: Running, holder: str
) -> None:
    params = {"confidence": "0.99", "window": "20", "series": "true"}  # > 250 tested days
    first = await _get(analytics, holder, "var/backtest", **params)
    assert first.status_code == 200, first.text
    body = first.json()
    series = body["series"]
    assert len(series) == body["n_observations"] > 250
    dates = [dt.date.fromisoformat(d["date"]) for d in series]
    assert dates == sorted(set(dates))
    assert sum(d["exception"] for d in series) == body["n_exceptions"]
    for day in series:
        assert Decimal(day["pnl"]).as_tuple().exponent == -2
        assert Decimal(day["var"]) > 0
    last = sum(d["exception"] for d in series[-250:])
    zone = "green" if last <= 4 else "yellow" if last <= 9 else "red"
    assert (body["basel_zone"], body["basel_exceptions"]) == (zone, last)
    again = await _get(analytics, holder, "var/backtest", **params)  # from Redis, typed
    assert again.json() == body
    stats = await _get(analytics, holder, "var/backtest", confidence="0.99", window="20")
    assert stats.json()["series"] is None
    assert stats.json()["n_exceptions"] == body["n_exceptions"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"confidence": "1.5"}, "$.confidence"),
        ({"confidence": "0.5"}, "$.confidence"),
        ({"confidence": "abc"}, "$.confidence"),
        ({"horizon": "0"}, "$.horizon"),
        ({"horizon": "251"}, "$.horizon"),
        ({"method": "astrology"}, "$.method"),
        ({"horizon": "1", "extra": "1"}, "$"),
    ],
)
async def test_bad_var_parameters_are_422_naming_the_field(
    analytics: Running, holder: str, params: dict[str, str], field: str
) -> None:
    resp = await _get(analytics, holder, "var", **params)
    assert resp.status_code == 422, resp.text
    assert _field(resp).startswith(field)


async def test_bad_var_body_is_422_and_non_json_is_400(analytics: Running, holder: str) -> None:
    headers = analytics.tokens(holder, "trader")
    resp = await analytics.http.post(f"/users/{holder}/var", json={"horizon": 0}, headers=headers)
    assert resp.status_code == 422 and _field(resp) == "$.horizon"
    raw = await analytics.http.post(
        f"/users/{holder}/var",
        content=b"{nope",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert raw.status_code == 400


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2024-13-01", "end": "2024-12-31"}, "$.start"),
        ({"start": "2024-06-01", "end": "2024-01-01"}, "$.end"),
        ({"start": "2024-06-01"}, "$"),
    ],
)
async def test_bad_performance_dates_are_422(
    analytics: Running, holder: str, params: dict[str, str], field: str
) -> None:
    resp = await _get(analytics, holder, "performance", **params)
    assert resp.status_code == 422, resp.text
    assert _field(resp).startswith(field)


async def test_unknown_symbol_is_404_problem(analytics: Running, holder: str) -> None:
    resp = await analytics.http.get(
        f"/users/{holder}/correlation",
        params=[("symbols", "AAPL"), ("symbols", "NOPE")],
        headers=analytics.tokens(holder, "trader"),
    )
    assert resp.status_code == 404
    assert "NOPE" in resp.json()["detail"]
    factor = await _get(analytics, holder, "risk-decomposition", factors="ZZZ")
    assert factor.status_code == 404


async def test_portfolio_without_positions_is_422_on_user(analytics: Running, user: str) -> None:
    resp = await _get(analytics, user, "var")
    assert resp.status_code == 422
    assert _field(resp) == "user_id"
    summary = await _get(analytics, user, "summary")
    assert summary.status_code == 200 and summary.json()["n_positions"] == 0


async def test_openapi_documents_the_rest_routes(analytics: Running) -> None:
    spec = (await analytics.http.get("/openapi.json")).json()
    assert "/users/{user_id}/var" in spec["paths"]
    assert "/ws/summary" not in spec["paths"]


async def test_too_many_factors_or_symbols_are_422(analytics: Running, holder: str) -> None:
    factors = {"factors": [f"F{i}" for i in range(21)]}
    resp = await analytics.http.get(
        f"/users/{holder}/risk-decomposition",
        params=factors,
        headers=analytics.tokens(holder, "trader"),
    )
    assert resp.status_code == 422 and _field(resp) == "$.factors"
    symbols = {"symbols": [f"S{i}" for i in range(501)]}
    resp = await analytics.http.get(
        f"/users/{holder}/correlation", params=symbols, headers=analytics.tokens(holder, "trader")
    )
    assert resp.status_code == 422 and _field(resp) == "$.symbols"
