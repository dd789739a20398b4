"""PortfolioAnalyticsService over in-memory positions, prices and cache."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec
import numpy as np
import pytest

from nexus.errors import NotFoundError, ValidationError
from services.analytics.core import (
    AnalyticsConfig,
    InMemoryCache,
    InMemoryPositions,
    InMemoryPrices,
    PortfolioAnalyticsService,
    PortfolioPosition,
    VaRMethod,
    VaRResult,
)
from services.analytics.core import var as var_mod
from services.analytics.core.correlation import common_window
from services.analytics.core.stress import StressScenario

from .conftest import market_returns

TODAY = dt.date(2025, 6, 30)
SYMBOLS = ["AAPL", "MSFT", "JPM", "XOM", "TLT", "GLD"]
FACTORS = ["SPY", "IEF"]


def _prices() -> InMemoryPrices:
    r = market_returns(42, days=400, assets=len(SYMBOLS) + len(FACTORS))
    days = [TODAY - dt.timedelta(days=400 - i) for i in range(401)]
    prices = InMemoryPrices()
    for j, symbol in enumerate(SYMBOLS + FACTORS):
        level = 100.0 + 10 * j
        table = {days[0]: f"{level:.2f}"}
        for i, ret in enumerate(r[:, j], start=1):
            level *= 1 + ret
            table[days[i]] = f"{level:.4f}"
        prices.set_closes(symbol, table)
    return prices


def _positions() -> InMemoryPositions:
    return InMemoryPositions(
        {
            "alice": [
                PortfolioPosition(symbol="AAPL", quantity="100", price="1", sector="technology"),
                PortfolioPosition(symbol="MSFT", quantity="50", price="1", sector="technology"),
                PortfolioPosition(symbol="JPM", quantity="-30", price="1", sector="financials"),
                PortfolioPosition(symbol="XOM", quantity="80", price="1", sector="energy"),
                PortfolioPosition(
                    symbol="TLT", quantity="120", price="1", asset_class="fixed_income"
                ),
                PortfolioPosition(symbol="GLD", quantity="40", price="1", asset_class="commodity"),
            ]
        }
    )


@pytest.fixture
def cache() -> InMemoryCache:
    return InMemoryCache()


@pytest.fixture
def service(cache: InMemoryCache) -> PortfolioAnalyticsService:
    return PortfolioAnalyticsService(
        _positions(),
        _prices(),
        cache,
        config=AnalyticsConfig(mc_paths=20_000, benchmark_symbol="SPY"),
        clock=lambda: TODAY,
    )


async def test_get_positions_revalues_at_latest_prices(service) -> None:
    positions = await service.get_positions("alice")
    latest = await _prices().latest_prices(SYMBOLS)
    assert [p.price for p in positions] == [str(latest[s]) for s in SYMBOLS]


async def test_get_positions_unknown_user_is_empty(service) -> None:
    assert await service.get_positions("bob") == []


async def test_summary_values_are_exact_sums(service) -> None:
    summary = await service.get_portfolio_summary("alice")
    positions = await service.get_positions("alice")
    total = sum(Decimal(p.price) * Decimal(p.quantity) for p in positions)
    assert Decimal(summary["market_value"]) == total
    assert Decimal(summary["gross_exposure"]) >= Decimal(summary["market_value"])
    assert Decimal(summary["var_1d"]) > 0
    assert summary["n_positions"] == 6
    assert summary["as_of"] == "2025-06-30"


async def test_summary_of_empty_portfolio_has_zero_var(service) -> None:
    summary = await service.get_portfolio_summary("bob")
    assert summary["var_1d"] == "0.00"
    assert summary["n_positions"] == 0


@pytest.mark.parametrize("method", list(VaRMethod))
async def test_calculate_var_every_method(service, method) -> None:
    result = await service.calculate_var("alice", 0.99, 10, method)
    assert isinstance(result, VaRResult)
    assert Decimal(result.var) > 0
    assert Decimal(result.expected_shortfall) >= Decimal(result.var)
    assert result.horizon_days == 10
    assert result.method is method
    msgspec.json.encode(result)


async def test_calculate_var_matches_calculator_on_same_data(service) -> None:
    result = await service.calculate_var("alice", 0.95, 1, "parametric_normal")
    positions = await service.get_positions("alice")
    history = await _prices().price_history(SYMBOLS, TODAY - dt.timedelta(days=730), TODAY)
    r = common_window(history.returns())
    w = np.array([p.market_value.as_float() for p in positions])
    est = var_mod.var_from_returns(r, w, 0.95, 1, "parametric_normal")
    assert Decimal(result.var) == Decimal(f"{est.var:.2f}") or abs(
        Decimal(result.var) - Decimal(est.var)
    ) <= Decimal("0.005")


async def test_calculate_var_is_cached_and_invalidated_on_trade(service, cache) -> None:
    first = await service.calculate_var("alice", 0.99, 1, "historical")
    again = await service.calculate_var("alice", 0.99, 1, "historical")
    assert again is first
    assert cache.hits == 1
    await service.positions_changed("alice")
    assert cache._values == {}


async def test_read_after_trade_never_returns_pre_trade_var(cache) -> None:
    positions = _positions()
    svc = PortfolioAnalyticsService(positions, _prices(), cache, clock=lambda: TODAY)
    before = await svc.calculate_var("alice", 0.99, 1, "historical")
    held = await positions.positions("alice")
    positions.set_positions(
        "alice", [*held[:-1], msgspec.structs.replace(held[-1], quantity="4000")]
    )
    after = await svc.calculate_var("alice", 0.99, 1, "historical")  # no invalidate call
    assert after.var != before.var
    assert after.portfolio_value != before.portfolio_value


async def test_service_without_cache_computes_each_time() -> None:
    svc = PortfolioAnalyticsService(_positions(), _prices(), clock=lambda: TODAY)
    a = await svc.calculate_var("alice", 0.99, 1, "historical")
    b = await svc.calculate_var("alice", 0.99, 1, "historical")
    assert a == b and a is not b
    await svc.positions_changed("alice")


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("alice", 0.99, 1, "bogus"), "method"),
        (("alice", 1.5, 1, "historical"), "confidence_level"),
        (("alice", 0.99, 0, "historical"), "time_horizon"),
        (("alice", 0.99, 251, "historical"), "time_horizon"),
        (("bob", 0.99, 1, "historical"), "user_id"),
        (("", 0.99, 1, "historical"), "user_id"),
    ],
)
async def test_calculate_var_bad_input_raises_with_field(service, args, field) -> None:
    with pytest.raises(ValidationError) as err:
        await service.calculate_var(*args)
    assert err.value.field == field


async def test_performance_metrics_of_holdings(service) -> None:
    got = await service.get_performance_metrics("alice", TODAY - dt.timedelta(days=200), TODAY)
    assert got.n_periods == 200
    assert got.beta is not None
    assert got.end_date == TODAY
    assert got.max_drawdown <= 0


@pytest.mark.parametrize(
    ("user", "start", "end", "field"),
    [
        ("alice", TODAY, TODAY - dt.timedelta(days=5), "end_date"),
        ("alice", "2025-01-01", TODAY, "start_date"),
        ("bob", TODAY - dt.timedelta(days=50), TODAY, "user_id"),
        ("alice", TODAY + dt.timedelta(days=10), TODAY + dt.timedelta(days=20), "start_date"),
    ],
)
async def test_performance_bad_input_raises(service, user, start, end, field) -> None:
    with pytest.raises(ValidationError) as err:
        await service.get_performance_metrics(user, start, end)
    assert err.value.field == field


async def test_risk_decomposition_components_sum_to_total(service) -> None:
    got = await service.get_risk_decomposition("alice", FACTORS)
    assert sum(Decimal(x) for x in got.component_var) == Decimal(got.total_var)
    assert got.factor_names == FACTORS
    assert len(got.factor_betas) == len(SYMBOLS)
    assert 0.0 <= got.factor_share <= 1.0


@pytest.mark.parametrize("factors", [[], [""], None])
async def test_risk_decomposition_bad_factors_raise(service, factors) -> None:
    with pytest.raises(ValidationError) as err:
        await service.get_risk_decomposition("alice", factors)
    assert err.value.field == "factors"


async def test_risk_decomposition_empty_portfolio_raises(service) -> None:
    with pytest.raises(ValidationError) as err:
        await service.get_risk_decomposition("bob", FACTORS)
    assert err.value.field == "user_id"


async def test_correlation_matrix_defaults_to_holdings(service) -> None:
    got = await service.get_correlation_matrix("alice", None, 300)
    assert got.symbols == SYMBOLS
    m = np.array(got.matrix)
    assert np.array_equal(m, m.T)
    assert np.linalg.eigvalsh(m)[0] >= -1e-12


async def test_correlation_matrix_of_given_symbols(service) -> None:
    got = await service.get_correlation_matrix("alice", ["SPY", "IEF"], 100)
    assert got.symbols == ["SPY", "IEF"]


async def test_correlation_matrix_unknown_symbol_raises_not_found(service) -> None:
    with pytest.raises(NotFoundError):
        await service.get_correlation_matrix("alice", ["SPY", "NOPE"], 100)


@pytest.mark.parametrize(
    ("user", "symbols", "days", "field"),
    [
        ("alice", None, 1, "lookback_days"),
        ("alice", None, 10.5, "lookback_days"),
        ("alice", ["SPY"], 100, "symbols"),
        ("", ["SPY", "IEF"], 100, "user_id"),
    ],
)
async def test_correlation_bad_input_raises(service, user, symbols, days, field) -> None:
    with pytest.raises(ValidationError) as err:
        await service.get_correlation_matrix(user, symbols, days)
    assert err.value.field == field


async def test_stress_test_named_and_custom(service) -> None:
    custom = StressScenario(name="tech_crash", sector_shocks={"technology": "-0.3"})
    out = await service.run_stress_test("alice", ["covid_2020", custom])
    assert [o["scenario"] for o in out] == ["covid_2020", "tech_crash"]
    assert all(isinstance(o["total_pnl"], str) for o in out)
    assert Decimal(out[0]["total_pnl"]) < 0
    assert out[0]["stressed_var"] is not None
    total = sum(Decimal(p["pnl"]) for p in out[1]["positions"])
    assert total == Decimal(out[1]["total_pnl"])


async def test_stress_test_empty_portfolio(service) -> None:
    out = await service.run_stress_test("bob", ["gfc_2008"])
    assert out[0]["total_pnl"] == "0"
    assert out[0]["stressed_var"] is None


async def test_stress_test_unknown_scenario_raises(service) -> None:
    with pytest.raises(ValidationError) as err:
        await service.run_stress_test("alice", ["asteroid"])
    assert err.value.field == "scenarios[0]"


async def test_window_without_history_raises_lookback() -> None:
    svc = PortfolioAnalyticsService(
        _positions(), _prices(), clock=lambda: TODAY + dt.timedelta(days=3000)
    )
    with pytest.raises(ValidationError) as err:
        await svc.get_correlation_matrix("alice", ["SPY", "IEF"], 100)
    assert err.value.field == "lookback"


async def test_performance_metrics_match_calculator_on_exact_values(service) -> None:
    from services.analytics.core.performance import performance_metrics

    start = TODAY - dt.timedelta(days=120)
    got = await service.get_performance_metrics("alice", start, TODAY)
    held = await _positions().positions("alice")
    history = await _prices().price_history([*SYMBOLS, "SPY"], start, TODAY)
    raw = history.closes_raw
    values = np.array(
        [
            float(
                sum(
                    Decimal(int(row[j])) / Decimal(10**9) * Decimal(p.quantity)
                    for j, p in enumerate(held)
                )
            )
            for row in raw
        ]
    )
    spy = raw[:, -1].astype(float)
    expected = performance_metrics(
        values[1:] / values[:-1] - 1, dates=list(history.dates), benchmark=spy[1:] / spy[:-1] - 1
    )
    assert got.sharpe_ratio == pytest.approx(expected.sharpe_ratio, rel=1e-9)
    assert got.beta == pytest.approx(expected.beta, rel=1e-9)
    assert got.drawdown_trough_date == expected.drawdown_trough_date


async def test_monte_carlo_full_simulation_is_configurable() -> None:
    svc = PortfolioAnalyticsService(
        _positions(),
        _prices(),
        config=AnalyticsConfig(mc_paths=5_000, mc_full_simulation=True),
        clock=lambda: TODAY,
    )
    result = await svc.calculate_var("alice", 0.99, 1, "monte_carlo_student_t")
    assert "full asset-level" in result.estimator
    assert result.n_simulations == 5_000
    assert result.seed == 7


async def test_stress_test_factor_shock_uses_regression_betas(service) -> None:
    from services.analytics.core.decomposition import factor_risk

    scenario = StressScenario(name="spy_down", factor_shocks={"SPY": "-0.10"})
    out = await service.run_stress_test("alice", [scenario])
    rows = out[0]["positions"]
    assert {r["shock_source"] for r in rows} == {"factor"}
    history = await _prices().price_history(
        [*SYMBOLS, "SPY"], TODAY - dt.timedelta(days=730), TODAY
    )
    window = common_window(history.returns())
    model = factor_risk(window[:, :6], window[:, 6:], np.zeros(6), ["SPY"])
    expected = Decimal(repr(model.betas[0][0])) * Decimal("-0.10")
    assert Decimal(rows[0]["shock"]) == expected.quantize(Decimal("0.000000001"))
