"""Stress scenarios: exact fixed-point P&L, shock priority, named scenarios, validation."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from nexus.errors import ValidationError
from nexus.money import Fixed, Money
from services.analytics.core.stress import (
    HISTORICAL_SCENARIOS,
    StressScenario,
    apply_scenario,
    resolve_scenarios,
    stressed_price,
)
from services.analytics.core.types import PortfolioPosition

NANO = Decimal("0.000000001")


def _positions() -> list[PortfolioPosition]:
    return [
        PortfolioPosition(symbol="AAPL", quantity="100", price="189.37", sector="technology"),
        PortfolioPosition(symbol="JPM", quantity="-50", price="151.1", sector="financials"),
        PortfolioPosition(
            symbol="TLT", quantity="200", price="92.123456789", asset_class="fixed_income"
        ),
        PortfolioPosition(symbol="GLD", quantity="10.5", price="185", asset_class="commodity"),
        PortfolioPosition(symbol="BTC", quantity="0.25", price="43000.01", asset_class="crypto"),
    ]


def _expected_pnl(p: PortfolioPosition, shock: str) -> Decimal:
    price = Decimal(p.price)
    new = (price * (1 + Decimal(shock))).quantize(NANO, rounding=ROUND_HALF_EVEN)
    new = max(new, Decimal(0))
    return (new - price) * Decimal(p.quantity)


@pytest.mark.parametrize("name", sorted(HISTORICAL_SCENARIOS))
def test_named_scenario_pnl_is_exact_decimal(name: str) -> None:
    scenario = HISTORICAL_SCENARIOS[name]
    result = apply_scenario(_positions(), scenario)
    total = Decimal(0)
    for p, row in zip(_positions(), result.positions, strict=True):
        expected = _expected_pnl(p, row.shock)
        assert Decimal(row.pnl) == expected
        total += expected
    assert Decimal(result.total_pnl) == total
    assert result.scenario == name


@pytest.mark.parametrize("name", ["black_monday_1987", "gfc_2008", "covid_2020", "rates_2022"])
def test_named_scenarios_exist_with_documented_equity_shock(name: str) -> None:
    scenario = HISTORICAL_SCENARIOS[name]
    assert Decimal(scenario.asset_class_shocks["equity"]) < 0
    assert scenario.description


def test_black_monday_equity_shock_is_sp500_one_day_move() -> None:
    assert HISTORICAL_SCENARIOS["black_monday_1987"].asset_class_shocks["equity"] == "-0.2047"


def test_long_equity_loses_in_a_crash_short_gains() -> None:
    result = apply_scenario(_positions(), HISTORICAL_SCENARIOS["gfc_2008"])
    rows = {r.symbol: r for r in result.positions}
    assert Decimal(rows["AAPL"].pnl) < 0
    assert Decimal(rows["JPM"].pnl) > 0  # short financials
    assert rows["JPM"].shock == "-0.55"
    assert rows["JPM"].shock_source == "sector"
    assert rows["TLT"].shock_source == "asset_class"


def test_shock_priority_symbol_over_sector_over_class_over_default() -> None:
    scenario = StressScenario(
        name="custom",
        default_shock="-0.01",
        asset_class_shocks={"equity": "-0.02"},
        sector_shocks={"technology": "-0.03"},
        symbol_shocks={"AAPL": "-0.04"},
    )
    positions = [
        PortfolioPosition(symbol="AAPL", quantity="1", price="100", sector="technology"),
        PortfolioPosition(symbol="MSFT", quantity="1", price="100", sector="Technology"),
        PortfolioPosition(symbol="XOM", quantity="1", price="100", sector="energy"),
        PortfolioPosition(symbol="EUR", quantity="1", price="1", asset_class="fx"),
    ]
    rows = apply_scenario(positions, scenario).positions
    assert [r.shock for r in rows] == ["-0.04", "-0.03", "-0.02", "-0.01"]
    assert [r.shock_source for r in rows] == ["symbol", "sector", "asset_class", "default"]


def test_stressed_price_rounds_half_even_at_nano_scale() -> None:
    price = Fixed("0.000000003")
    assert stressed_price(price, "-0.5") == Fixed("0.000000002")  # 1.5e-9 -> 2e-9
    assert stressed_price(Fixed("0.000000001"), "-0.5") == Fixed("0")  # 0.5e-9 -> 0


def test_stressed_price_wipeout_is_zero() -> None:
    assert stressed_price(Fixed("123.45"), "-1") == Fixed(0)


def test_volatility_multiplier_scales_base_var_exactly() -> None:
    scenario = StressScenario(name="vol", volatility_multiplier="2.5")
    result = apply_scenario(_positions(), scenario, base_var=Money("1000.10"))
    assert Decimal(result.stressed_var) == Decimal("2500.25")


def test_without_base_var_no_stressed_var() -> None:
    assert apply_scenario(_positions(), StressScenario(name="x")).stressed_var is None


def test_empty_portfolio_has_zero_pnl() -> None:
    result = apply_scenario([], HISTORICAL_SCENARIOS["covid_2020"])
    assert Decimal(result.total_pnl) == 0
    assert result.positions == []


def test_resolve_scenarios_mixes_named_and_custom() -> None:
    custom = StressScenario(name="mine", default_shock="-0.1")
    got = resolve_scenarios(["covid_2020", custom])
    assert got[0] is HISTORICAL_SCENARIOS["covid_2020"]
    assert got[1] is custom


@pytest.mark.parametrize(
    ("items", "field"),
    [([], "scenarios"), (["nope"], "scenarios[0]"), (["gfc_2008", 3], "scenarios[1]")],
)
def test_resolve_scenarios_bad_items_raise(items, field) -> None:
    with pytest.raises(ValidationError) as err:
        resolve_scenarios(items)
    assert err.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x", "default_shock": "abc"}, "default_shock"),
        ({"name": "x", "default_shock": "-1.5"}, "default_shock"),
        ({"name": "x", "symbol_shocks": {"AAPL": "0.1x"}}, "symbol_shocks.AAPL"),
        ({"name": "x", "sector_shocks": {"tech": "-2"}}, "sector_shocks.tech"),
        ({"name": "x", "volatility_multiplier": "-1"}, "volatility_multiplier"),
        ({"name": "x", "default_shock": "0.0000000001"}, "default_shock"),
    ],
)
def test_scenario_bad_shocks_raise_with_field(kwargs, field) -> None:
    with pytest.raises(ValidationError) as err:
        StressScenario(**kwargs)
    assert err.value.field == field


def test_factor_shock_maps_through_betas() -> None:
    scenario = StressScenario(
        name="f",
        factor_shocks={"SPY": "-0.10", "IEF": "0.02"},
        sector_shocks={"technology": "-0.5"},
    )
    betas = {"AAPL": {"SPY": 1.25, "IEF": -0.5}}
    result = apply_scenario(_positions()[:2], scenario, betas=betas)
    aapl, jpm = result.positions
    assert aapl.shock == "-0.135000000"
    assert aapl.shock_source == "factor"
    assert Decimal(aapl.pnl) == _expected_pnl(_positions()[0], "-0.135")
    assert jpm.shock_source == "default"  # no betas for JPM, no sector shock for financials


def test_factor_shock_is_floored_at_minus_one() -> None:
    scenario = StressScenario(name="f", factor_shocks={"SPY": "-0.5"})
    result = apply_scenario(_positions()[:1], scenario, betas={"AAPL": {"SPY": 3.0}})
    assert result.positions[0].shock == "-1"
    assert result.positions[0].stressed_price == "0"


def test_factor_shock_without_matching_factor_falls_back() -> None:
    scenario = StressScenario(
        name="f", factor_shocks={"SPY": "-0.1"}, sector_shocks={"technology": "-0.2"}
    )
    result = apply_scenario(_positions()[:1], scenario, betas={"AAPL": {"QQQ": 1.0}})
    assert result.positions[0].shock_source == "sector"
