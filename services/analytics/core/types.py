"""Result and input types of portfolio analytics (frozen ``msgspec.Struct``).

Every result carries the conventions it was computed under, because these are where published
libraries disagree:

* **Sign**: VaR and Expected Shortfall are *positive losses in money* (a VaR of ``"1250.00"``
  means a loss of 1,250 is not exceeded with probability ``confidence`` over the horizon).
* **Money** fields are decimal strings (``Decimal(text)`` is exact) produced by
  :func:`nexus.money.float_to_money` with the rounding named in the result.
* **Returns** are simple daily returns (fractions, not percent); one period is one trading day.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import msgspec

from nexus.errors import ValidationError
from nexus.money import Fixed, FixedPointError, Money, Rounding

SIGN_CONVENTION = "VaR and ES are positive losses in money; P&L is positive for a gain"


def float_decimal(value: float) -> Decimal:
    """The decimal a float statistic stands for: its shortest round-trip text (``repr``).

    ``Decimal(0.29)`` is the binary expansion ``0.28999999999999998...``, which FLOOR or DOWN
    would round to ``0.28``; ``repr`` gives ``0.29``, the value the computation meant.
    """
    if not math.isfinite(value):
        raise ValidationError(f"not a finite money amount: {value!r}", "value")
    return Decimal(repr(float(value)))


def money_text(value: float, places: int, rounding: Rounding) -> str:
    """A float money statistic as a decimal string with exactly ``places`` decimals.

    The float is read as its shortest round-trip decimal (:func:`float_decimal`) and then
    rounded once by ``rounding``; exact amounts should use :func:`exact_money_text`.
    """
    exact = float_decimal(value).quantize(
        Decimal(1).scaleb(-places), rounding=rounding.decimal_mode
    )
    return f"{exact:.{places}f}"


def exact_money_text(value: Money | Fixed | Decimal, places: int, rounding: Rounding) -> str:
    """An exact amount rounded once to ``places`` decimals (no float on the way)."""
    exact = value if isinstance(value, Decimal) else value.to_decimal()
    rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=rounding.decimal_mode)
    return f"{rounded:.{places}f}"


def exact_decimal_text(value: Any, field: str) -> str:
    """A decimal string of ``value`` (``str``, ``int`` or ``Decimal``) that fits a Fixed.

    Raises :class:`ValidationError` naming ``field`` for anything else, for an inexact
    value (more than 9 decimals) and for an overflow of the fixed-point range.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValidationError(
            f"{field} must be a decimal string, got {type(value).__name__}", field
        )
    text = value if isinstance(value, str) else str(value)
    try:
        Fixed.from_str(text)
    except (ValueError, TypeError, InvalidOperation, FixedPointError) as exc:
        raise ValidationError(f"{field} is not an exact decimal in range: {text!r}", field) from exc
    return text


class VaRMethod(StrEnum):
    """How the loss distribution is obtained."""

    HISTORICAL = "historical"
    HISTORICAL_AGE_WEIGHTED = "historical_age_weighted"
    PARAMETRIC_NORMAL = "parametric_normal"
    CORNISH_FISHER = "cornish_fisher"
    MONTE_CARLO_NORMAL = "monte_carlo_normal"
    MONTE_CARLO_STUDENT_T = "monte_carlo_student_t"


class HorizonScaling(StrEnum):
    """How a 1-day distribution becomes an h-day one."""

    SQRT_TIME = "sqrt_time"
    """i.i.d. returns: mean times h, volatility (and a historical VaR) times sqrt(h)."""
    OVERLAPPING = "overlapping"
    """Historical only: sums of h consecutive daily P&L (overlapping windows)."""


class VaREstimate(msgspec.Struct, frozen=True, kw_only=True):
    """VaR and ES in float money, with their uncertainty and conventions (calculator output)."""

    method: VaRMethod
    confidence: float
    horizon_days: int
    var: float
    expected_shortfall: float
    var_standard_error: float
    es_standard_error: float
    var_ci_lower: float
    var_ci_upper: float
    n_observations: int
    n_simulations: int = 0
    seed: int | None = None
    degrees_of_freedom: float | None = None
    horizon_scaling: HorizonScaling = HorizonScaling.SQRT_TIME
    quantile_rule: str = ""
    uncertainty_method: str = ""
    estimator: str = ""
    sign_convention: str = SIGN_CONVENTION


class VaRResult(msgspec.Struct, frozen=True, kw_only=True):
    """VaR and ES of a portfolio in money (decimal strings) with the full set of conventions."""

    method: VaRMethod
    confidence: float
    horizon_days: int
    var: str
    expected_shortfall: str
    var_standard_error: str
    es_standard_error: str
    var_ci_lower: str
    var_ci_upper: str
    ci_level: float
    portfolio_value: str
    n_observations: int
    n_simulations: int
    seed: int | None
    degrees_of_freedom: float | None
    horizon_scaling: HorizonScaling
    quantile_rule: str
    uncertainty_method: str
    estimator: str
    rounding: str
    sign_convention: str = SIGN_CONVENTION


class PerformanceMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """Return and risk-adjusted performance of a return series.

    Ratios are annualised with ``periods_per_year`` (arithmetic means times P, deviations times
    sqrt(P)); ``annualised_return`` is geometric. The risk-free rate is an *annual* rate turned
    into a per-period one geometrically: ``(1 + rf) ** (1 / P) - 1``. ``max_drawdown`` is <= 0.
    Benchmark fields are ``None`` without a benchmark; date fields are ``None`` without dates.
    A ratio whose denominator is zero is ``+-inf`` (``0.0`` if its numerator is zero too), e.g.
    Calmar without a drawdown; JSON encodes ``inf`` as ``null``.
    """

    n_periods: int
    start_date: dt.date | None
    end_date: dt.date | None
    total_return: float
    annualised_return: float
    volatility: float
    sharpe_ratio: float
    sharpe_standard_error: float
    sortino_ratio: float
    downside_deviation: float
    calmar_ratio: float
    max_drawdown: float
    drawdown_peak_index: int
    drawdown_trough_index: int
    drawdown_recovery_index: int
    drawdown_peak_date: dt.date | None
    drawdown_trough_date: dt.date | None
    drawdown_recovery_date: dt.date | None
    hit_rate: float
    beta: float | None = None
    alpha: float | None = None
    tracking_error: float | None = None
    information_ratio: float | None = None
    periods_per_year: int = 252
    risk_free_rate: float = 0.0
    risk_free_unit: str = "annual, converted per period as (1 + rf) ** (1 / P) - 1"
    sortino_target: float = 0.0
    compounding: str = "geometric for total/annualised return; arithmetic for ratios"
    volatility_ddof: int = 1
    sharpe_se_method: str = "Mertens (2002): sqrt((1 + SR^2/2 - skew*SR + (kurt-3)/4*SR^2) / n)"
    downside_rule: str = "full-sample: sqrt(mean(min(r - target, 0)^2)) over all periods"
    alpha_rule: str = "Jensen alpha on excess returns, arithmetic, annualised x P"
    hit_rate_rule: str = "share of periods with a return > 0"


class VaRDecomposition(msgspec.Struct, frozen=True, kw_only=True):
    """Euler decomposition of parametric-normal VaR over positions (float money).

    ``marginal[i]`` is dVaR/dexposure_i (money of VaR per unit of money exposure);
    ``component[i] = exposure[i] * marginal[i]`` and the components sum to ``total``;
    ``incremental[i] = total - VaR(portfolio without position i)``. The normal ES is
    homogeneous too: ``component_es`` sums to ``expected_shortfall``.
    """

    total: float
    marginal: list[float]
    component: list[float]
    incremental: list[float]
    expected_shortfall: float
    component_es: list[float]
    confidence: float
    horizon_days: int


class FactorRisk(msgspec.Struct, frozen=True, kw_only=True):
    """Linear factor model of a portfolio (OLS with intercept per asset).

    Variances are per period in money squared; ``factor_variance + specific_variance`` is the
    model variance of the portfolio P&L (residuals assumed uncorrelated across assets).
    """

    factor_names: list[str]
    betas: list[list[float]]
    exposures: list[float]
    factor_variance: float
    specific_variance: float
    r_squared: list[float]
    residual_ddof: int


class RiskDecomposition(msgspec.Struct, frozen=True, kw_only=True):
    """Per-position VaR contributions (money strings) and the factor/specific split."""

    symbols: list[str]
    exposures: list[str]
    total_var: str
    marginal_var: list[float]
    component_var: list[str]
    incremental_var: list[str]
    expected_shortfall: str
    component_es: list[str]
    confidence: float
    horizon_days: int
    factor_names: list[str]
    factor_exposures: list[str]
    factor_betas: list[list[float]]
    factor_volatility: str
    specific_volatility: str
    factor_share: float
    method: str = "parametric normal, Euler allocation; components rounded to sum exactly"
    rounding: str = "HALF_EVEN"
    sign_convention: str = SIGN_CONVENTION


class CorrelationMatrix(msgspec.Struct, frozen=True, kw_only=True):
    """A correlation matrix (symmetric, unit diagonal, PSD) and how it was estimated."""

    symbols: list[str]
    matrix: list[list[float]]
    volatilities: list[float]
    estimator: str
    n_observations: int
    missing_policy: str
    ddof: int | None = None
    ewma_lambda: float | None = None
    shrinkage_target: str | None = None
    shrinkage_intensity: float | None = None
    psd_repaired: bool = False
    repair_method: str | None = None
    min_eigenvalue: float = 0.0
    volatility_unit: str = "per period (daily), not annualised"


class PortfolioPosition(msgspec.Struct, frozen=True, kw_only=True):
    """A holding: exact quantity and price as decimal strings (signed quantity; short < 0)."""

    symbol: str
    quantity: str
    price: str
    asset_class: str = "equity"
    sector: str = ""
    currency: str = "USD"

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol:
            raise ValidationError("symbol must not be empty", "symbol")
        for name in ("quantity", "price"):
            text = exact_decimal_text(getattr(self, name), name)
            msgspec.structs.force_setattr(self, name, text)  # Decimal("10") -> "10"
        if Decimal(self.price) < 0:
            raise ValidationError("price must be >= 0", "price")

    @property
    def quantity_fixed(self) -> Fixed:
        """Quantity as exact fixed point."""
        return Fixed.from_str(self.quantity)

    @property
    def price_fixed(self) -> Fixed:
        """Price as exact fixed point."""
        return Fixed.from_str(self.price)

    @property
    def market_value(self) -> Money:
        """``price * quantity`` exactly."""
        value: Money = self.price_fixed.notional(self.quantity_fixed)
        return value


class PositionStress(msgspec.Struct, frozen=True, kw_only=True):
    """One position under a scenario: shock as a return, prices and P&L as decimal strings."""

    symbol: str
    shock: str
    price: str
    stressed_price: str
    pnl: str
    shock_source: str


class StressResult(msgspec.Struct, frozen=True, kw_only=True):
    """Exact fixed-point P&L of a scenario; P&L positive for a gain."""

    scenario: str
    description: str
    total_pnl: str
    positions: list[PositionStress]
    volatility_multiplier: str
    stressed_var: str | None = None
    price_rounding: str = "stressed price = price * (1 + shock), HALF_EVEN to 1e-9"
    pnl_rule: str = "(stressed price - price) * quantity, exact (never rounded)"


class BacktestResult(msgspec.Struct, frozen=True, kw_only=True):
    """Kupiec POF, Christoffersen independence and conditional-coverage tests.

    An exception is a day whose loss ``-pnl`` exceeds the VaR forecast (strictly).
    LR statistics are chi-square with 1, 1 and 2 degrees of freedom. ``basel_zone`` is the
    Basel traffic light (``"green"``, ``"yellow"``, ``"red"``) of the last 250 days at 99%, or
    ``None`` where the Basel table does not apply (``basel_rule`` says why); ``series`` holds
    the tested days when asked for.
    """

    n_observations: int
    n_exceptions: int
    expected_rate: float
    observed_rate: float
    lr_pof: float
    p_value_pof: float
    lr_independence: float
    p_value_independence: float
    lr_conditional_coverage: float
    p_value_conditional_coverage: float
    transitions: list[int]
    transitions_order: str = "n00, n01, n10, n11 (state 1 = exception)"
    basel_zone: str | None = None
    basel_exceptions: int | None = None
    basel_observations: int | None = None
    basel_rule: str = ""
    series: list[BacktestDay] | None = None
    rounding: str = ""


class BacktestDay(msgspec.Struct, frozen=True, kw_only=True):
    """One day of a VaR backtest: realised P&L, the VaR forecast for it, whether it broke.

    ``pnl`` and ``var`` are money decimal strings (rounded as the result's ``rounding`` says);
    ``exception`` is decided on the unrounded values (``-pnl > var``), so a loss that rounds to
    the VaR can still be an exception.
    """

    date: dt.date
    pnl: str
    var: str
    exception: bool
