"""Stress tests: named historical scenarios and custom shocks, P&L exact in fixed point.

A shock is a simple return written as an exact decimal (``"-0.2047"`` = -20.47%). For each
position the shock is chosen by priority: symbol > factor > sector > asset class > scenario
default. A factor shock is a move of a factor's return (e.g. ``{"SPY": "-0.10"}``) mapped to
a position through its regression betas: ``shock = sum_k beta_k f_k`` (HALF_EVEN to 1e-9).
The stressed price is ``price * (1 + shock)`` rounded HALF_EVEN to the fixed-point scale
(1e-9) and floored at zero; P&L is ``(stressed - price) * quantity`` computed exactly (integer
raw values, up to 18 decimals when the quantity has decimals; never rounded), written with at
``Money``'s text when it has at most 9 decimals (positive for a gain, so a long position loses in a crash).

Historical scenarios (shock sizes documented; moves are of broad indices over the named
window, applied per asset class and, where the episode was sector-specific, per sector):

=================  ===========================  =============================================
scenario           window                       shocks
=================  ===========================  =============================================
black_monday_1987  19 Oct 1987 (one day)        equity -20.47% (S&P 500), fixed income +2%,
                                                commodity -5%, fx 0%, crypto n/a (-20.47%)
gfc_2008           12 Sep - 20 Nov 2008         equity -40% (S&P 500 1252 -> 752), financials
                                                -55%, fixed income +8% (long Treasuries),
                                                commodity -45% (GSCI), crypto -40%, fx -10%
covid_2020         19 Feb - 23 Mar 2020         equity -33.9% (S&P 500), energy -55%,
                                                fixed income +3%, commodity -35%, crypto -50%
rates_2022         3 Jan - 31 Dec 2022          equity -19.4% (S&P 500), technology -28%,
                                                communication -40%, energy +59%, fixed income
                                                -13% (US Aggregate), commodity +16%,
                                                crypto -64% (BTC)
=================  ===========================  =============================================

A scenario may also carry a volatility multiplier: the stressed VaR is the unrounded parametric
VaR times the multiplier, rounded once to the money places (the service supplies the base VaR).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal

import msgspec

from nexus.errors import ValidationError
from nexus.money import PRECISION, Fixed, FixedPointError, Money, Rounding

from .types import (
    PortfolioPosition,
    PositionStress,
    StressResult,
    exact_decimal_text,
    exact_money_text,
    float_decimal,
)

ONE = Fixed(1)
NANO = Decimal("0.000000001")


class StressScenario(msgspec.Struct, frozen=True, kw_only=True):
    """Shocks as decimal return strings keyed by symbol, sector or asset class (lower case)."""

    name: str
    description: str = ""
    default_shock: str = "0"
    asset_class_shocks: dict[str, str] = {}
    sector_shocks: dict[str, str] = {}
    symbol_shocks: dict[str, str] = {}
    factor_shocks: dict[str, str] = {}
    volatility_multiplier: str = "1"

    def __post_init__(self) -> None:
        if not self.name:
            raise ValidationError("scenario name must not be empty", "name")
        checks = [("default_shock", self.default_shock)]
        for field, table in (
            ("asset_class_shocks", self.asset_class_shocks),
            ("sector_shocks", self.sector_shocks),
            ("symbol_shocks", self.symbol_shocks),
            ("factor_shocks", self.factor_shocks),
        ):
            checks.extend((f"{field}.{key}", value) for key, value in table.items())
        for field, value in checks:
            shock = _decimal(value, field)
            if shock < -1 and not field.startswith("factor_shocks"):
                raise ValidationError(f"{field} must be >= -1 (a price cannot go below 0)", field)
        if _decimal(self.volatility_multiplier, "volatility_multiplier") < 0:
            raise ValidationError("volatility_multiplier must be >= 0", "volatility_multiplier")

    def shock_for(
        self, position: PortfolioPosition, betas: Mapping[str, float] | None = None
    ) -> tuple[str, str]:
        """``(shock, source)`` for a position by the documented priority.

        Factor shocks apply when ``betas`` (the position's factor betas) cover at least one
        shocked factor: ``shock = sum_k beta_k * f_k`` rounded HALF_EVEN to 1e-9, floored at
        -1 (a price cannot go below zero).
        """
        if position.symbol in self.symbol_shocks:
            return self.symbol_shocks[position.symbol], "symbol"
        if betas and self.factor_shocks and any(f in betas for f in self.factor_shocks):
            move = sum(
                (
                    Decimal(repr(float(betas[f]))) * Decimal(shock)
                    for f, shock in self.factor_shocks.items()
                    if f in betas
                ),
                Decimal(0),
            )
            move = max(move.quantize(NANO, rounding=ROUND_HALF_EVEN), Decimal(-1))
            return str(move), "factor"
        sector = position.sector.lower()
        if sector and sector in self.sector_shocks:
            return self.sector_shocks[sector], "sector"
        asset_class = position.asset_class.lower()
        if asset_class in self.asset_class_shocks:
            return self.asset_class_shocks[asset_class], "asset_class"
        return self.default_shock, "default"


def _decimal(value: str, field: str) -> Decimal:
    return Decimal(exact_decimal_text(value, field))


HISTORICAL_SCENARIOS: dict[str, StressScenario] = {
    "black_monday_1987": StressScenario(
        name="black_monday_1987",
        description="19 Oct 1987: S&P 500 -20.47% in one day; flight to quality",
        default_shock="-0.2047",
        asset_class_shocks={
            "equity": "-0.2047",
            "fixed_income": "0.02",
            "commodity": "-0.05",
            "fx": "0",
            "cash": "0",
        },
        volatility_multiplier="3",
    ),
    "gfc_2008": StressScenario(
        name="gfc_2008",
        description="12 Sep - 20 Nov 2008: Lehman to the trough of the autumn sell-off",
        default_shock="-0.40",
        asset_class_shocks={
            "equity": "-0.40",
            "fixed_income": "0.08",
            "commodity": "-0.45",
            "fx": "-0.10",
            "crypto": "-0.40",
            "cash": "0",
        },
        sector_shocks={"financials": "-0.55", "real_estate": "-0.50"},
        volatility_multiplier="2.5",
    ),
    "covid_2020": StressScenario(
        name="covid_2020",
        description="19 Feb - 23 Mar 2020: COVID-19 crash",
        default_shock="-0.339",
        asset_class_shocks={
            "equity": "-0.339",
            "fixed_income": "0.03",
            "commodity": "-0.35",
            "fx": "-0.05",
            "crypto": "-0.50",
            "cash": "0",
        },
        sector_shocks={"energy": "-0.55", "airlines": "-0.60", "technology": "-0.28"},
        volatility_multiplier="3",
    ),
    "rates_2022": StressScenario(
        name="rates_2022",
        description="2022 rates shock: Fed hikes, bonds and growth equities fall together",
        default_shock="-0.194",
        asset_class_shocks={
            "equity": "-0.194",
            "fixed_income": "-0.13",
            "commodity": "0.16",
            "fx": "0",
            "crypto": "-0.64",
            "cash": "0",
        },
        sector_shocks={"technology": "-0.28", "communication": "-0.40", "energy": "0.59"},
        volatility_multiplier="1.5",
    ),
}


def stressed_price(price: Fixed, shock: str) -> Fixed:
    """``price * (1 + shock)`` rounded HALF_EVEN to 1e-9, never below zero.

    Raises :class:`ValidationError` if the stressed price leaves the fixed-point range.
    """
    try:
        factor = ONE + Fixed.from_str(shock)
        new: Fixed = price.mul(factor, int(Rounding.HALF_EVEN))
    except FixedPointError as exc:
        raise ValidationError(f"stressed price of {price} by {shock} overflows", "shock") from exc
    return new if new.raw >= 0 else Fixed(0)


def exact_product_text(raw_scaled: int, decimals: int = 2 * PRECISION) -> str:
    """Decimal text of ``raw_scaled * 10**-decimals`` exactly (Money's text when it fits)."""
    unit = 10 ** (decimals - PRECISION)
    if raw_scaled % unit == 0:  # fits the fixed-point scale: Money's own text
        return str(Money.from_raw(raw_scaled // unit))
    return f"{Decimal(raw_scaled).scaleb(-decimals).normalize():f}"


def _stressed_var(
    base: Money | Decimal | float, multiplier: str, places: int, rounding: Rounding
) -> str:
    if isinstance(base, Money):
        amount = base.to_decimal()
    elif isinstance(base, Decimal):
        amount = base
    else:
        amount = float_decimal(base)
    return exact_money_text(amount * Decimal(multiplier), places, rounding)


def apply_scenario(
    positions: list[PortfolioPosition],
    scenario: StressScenario,
    *,
    base_var: Money | Decimal | float | None = None,
    betas: Mapping[str, Mapping[str, float]] | None = None,
    places: int = 2,
    rounding: Rounding = Rounding.HALF_EVEN,
) -> StressResult:
    """Per-position and total P&L of ``scenario`` (exact, see the module docstring).

    ``base_var`` (the *unrounded* 1-day VaR; a float statistic or an exact amount) gives a
    stressed VaR: ``base_var * volatility_multiplier`` rounded once to ``places`` by
    ``rounding``. ``betas`` (symbol -> factor -> beta, e.g. from
    :func:`decomposition.factor_risk`) enables the scenario's factor shocks.
    """
    rows: list[PositionStress] = []
    total = 0
    for position in positions:
        shock, source = scenario.shock_for(position, (betas or {}).get(position.symbol))
        price = position.price_fixed
        new_price = stressed_price(price, shock)
        pnl_raw = (new_price.raw - price.raw) * position.quantity_fixed.raw  # scale 1e-18
        total += pnl_raw
        rows.append(
            PositionStress(
                symbol=position.symbol,
                shock=shock,
                price=str(price),
                stressed_price=str(new_price),
                pnl=exact_product_text(pnl_raw),
                shock_source=source,
            )
        )
    stressed_var = None
    if base_var is not None:
        stressed_var = _stressed_var(base_var, scenario.volatility_multiplier, places, rounding)
    return StressResult(
        scenario=scenario.name,
        description=scenario.description,
        total_pnl=exact_product_text(total),
        positions=rows,
        volatility_multiplier=scenario.volatility_multiplier,
        stressed_var=stressed_var,
    )


def resolve_scenarios(scenarios: list[str | StressScenario]) -> list[StressScenario]:
    """Named scenarios looked up in :data:`HISTORICAL_SCENARIOS`; custom ones passed through."""
    if not scenarios:
        raise ValidationError("at least one scenario is required", "scenarios")
    out: list[StressScenario] = []
    for i, item in enumerate(scenarios):
        if isinstance(item, StressScenario):
            out.append(item)
        elif isinstance(item, str) and item in HISTORICAL_SCENARIOS:
            out.append(HISTORICAL_SCENARIOS[item])
        else:
            raise ValidationError(f"unknown scenario {item!r}", f"scenarios[{i}]")
    return out
