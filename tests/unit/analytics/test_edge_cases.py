"""The edge cases of issue 17 (an independent check) and issue 10 part 5 (Cornish-Fisher ES
below VaR), one test (or a small group) per reproduction; each failed before the fix."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from scipy.special import ndtri

from nexus.errors import ValidationError
from nexus.money import Fixed, Money, Rounding
from services.analytics.core import (
    AnalyticsConfig,
    InMemoryPositions,
    InMemoryPrices,
    PortfolioAnalyticsService,
    PortfolioPosition,
    montecarlo,
    performance,
    stress,
    var,
)
from services.analytics.core import correlation as corr
from services.analytics.core.types import money_text

TODAY = dt.date(2025, 6, 30)


def _service(
    closes: dict[str, list[str]], holdings: dict[str, str], **config: object
) -> PortfolioAnalyticsService:
    """Positions ``symbol -> quantity`` and daily closes ending today."""
    prices = InMemoryPrices()
    for symbol, series in closes.items():
        days = [TODAY - dt.timedelta(days=len(series) - 1 - i) for i in range(len(series))]
        prices.set_closes(symbol, dict(zip(days, series, strict=True)))
    positions = [PortfolioPosition(symbol=s, quantity=q, price="1") for s, q in holdings.items()]
    return PortfolioAnalyticsService(
        InMemoryPositions({"u": positions}),
        prices,
        config=AnalyticsConfig(**config),  # type: ignore[arg-type]
        clock=lambda: TODAY,
    )


def _walk(seed: int, n: int, start: float = 100.0) -> list[str]:
    rng = np.random.default_rng(seed)
    levels = start * np.cumprod(1.0 + rng.normal(0.0, 0.01, n))
    return [f"{x:.4f}" for x in levels]


# -- 1. Cornish-Fisher outside its domain (issue 17.1, issue 10.5) ---------------------------


def _raw_cf(pnl: np.ndarray, c: float) -> tuple[float, float]:
    """Standardised (VaR, ES) of the bare expansion, as computed before the domain check."""
    s, k = var.sample_moments(pnl)
    alpha = 1.0 - c
    z = -float(ndtri(alpha))
    return -var.cornish_fisher_quantile(-z, s, k), -var.cornish_fisher_tail_mean(alpha, s, k)


def test_issue_reproduction_cornish_fisher_negative_var_raises_naming_the_moments() -> None:
    """17.1: VaR -50,056 at 99% (and ES -22,033 at 95%) came back as estimates."""
    r = np.array([-0.002, 0.001, -0.001, 0, 0.002, -0.002, 0.001, -0.001, 0, 0.15] * 25)
    r = r.reshape(-1, 1)
    for c in (0.95, 0.99):
        with pytest.raises(var.CornishFisherDomainError) as err:
            var.var_from_returns(r, [1e6], c, 1, "cornish_fisher")
        assert err.value.field == "method"
        assert err.value.skewness == pytest.approx(2.6628, abs=1e-3)
        assert err.value.excess_kurtosis == pytest.approx(5.0992, abs=1e-3)
        assert "skewness" in str(err.value) and "kurtosis" in str(err.value)


def _skewed_book(seed: int, n: int, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Mostly short book on returns with a rare common +15% jump: strongly skewed P&L."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, 0.01, (t, n)) + 0.15 * (rng.random((t, 1)) < 0.01)
    w = -np.abs(rng.normal(1e5, 5e4, n)) * np.where(rng.random(n) < 0.8, 1.0, -1.0)
    return r, w


# (N, T, seed) where the bare expansion gives ES < VaR at 99% (issue 10.5: N in 1, 2, 500;
# T = 30 and 250; short positions; skewed returns)
ES_BELOW_VAR = [(1, 30, 1), (1, 250, 12), (2, 30, 1), (2, 250, 0), (500, 30, 0), (500, 250, 0)]


@pytest.mark.parametrize(("n", "t", "seed"), ES_BELOW_VAR)
def test_cornish_fisher_es_below_var_cases_raise(n: int, t: int, seed: int) -> None:
    r, w = _skewed_book(seed, n, t)
    q, tail = _raw_cf(r @ w, 0.99)
    assert tail < q  # the case the issue describes: the bare expansion has ES < VaR
    with pytest.raises(var.CornishFisherDomainError):
        var.var_from_returns(r, w, 0.99, 1, "cornish_fisher")


@pytest.mark.parametrize("n", [1, 2, 500])
@pytest.mark.parametrize("t", [30, 250])
def test_cornish_fisher_never_returns_es_below_var_nor_falling_var(n: int, t: int) -> None:
    raised = 0
    for seed in range(15):
        r, w = _skewed_book(seed, n, t)
        try:
            lo = var.var_from_returns(r, w, 0.95, 1, "cornish_fisher")
            hi = var.var_from_returns(r, w, 0.99, 1, "cornish_fisher")
        except var.CornishFisherDomainError:
            raised += 1
            continue
        for est in (lo, hi):
            assert est.expected_shortfall >= est.var
        assert hi.var >= lo.var
    assert raised > 0


def test_cornish_fisher_explicit_moments_outside_domain_raise() -> None:
    with pytest.raises(var.CornishFisherDomainError):
        var.parametric_var(
            [[1e-4]], [1e6], 0.99, n_observations=250, skewness=2.66, excess_kurtosis=5.1
        )
    inside = var.parametric_var(
        [[1e-4]], [1e6], 0.99, n_observations=250, skewness=-0.5, excess_kurtosis=3.0
    )
    assert inside.expected_shortfall >= inside.var > 0


@pytest.mark.parametrize(
    ("s", "k", "monotone"),
    [
        (0.0, 0.0, True),
        (-0.8, 0.0, True),
        (-1.0, 6.0, True),
        (2.66, 5.1, False),
        (0.5, -2.0, False),
    ],
)
def test_cornish_fisher_monotonicity_check_agrees_with_a_grid(s: float, k: float, monotone) -> None:
    z_alpha = float(ndtri(0.01))
    z_lo = float(ndtri(0.01 * var.CF_TAIL_FRACTION))
    grid = np.linspace(z_lo, z_alpha, 2001)
    values = np.array([var.cornish_fisher_quantile(z, s, k) for z in grid])
    assert bool(np.all(np.diff(values) > 0)) is monotone
    assert var.cornish_fisher_is_monotone(z_alpha, s, k) is monotone


# -- 2. a close of exactly 0 --------------------------------------------------------------


async def test_a_holding_that_goes_to_zero_stays_in_performance() -> None:
    """17.2: the zero close was read as missing, giving +7.5% instead of about -99%."""
    a = _walk(1, 30, 10.0)
    b = [*_walk(2, 29, 10.0), "0"]
    svc = _service({"A": a, "B": b}, {"A": "1", "B": "100"})
    got = await svc.get_performance_metrics("u", TODAY - dt.timedelta(days=40), TODAY)
    start = Decimal(a[0]) + 100 * Decimal(b[0])
    end = Decimal(a[-1])
    assert got.n_periods == 29
    assert got.total_return == pytest.approx(float(end / start - 1), rel=1e-9)
    assert got.total_return < -0.98


# -- 3. a constant benchmark ---------------------------------------------------------------


def test_constant_benchmark_raises_zero_variance() -> None:
    """17.3: np.var of a constant 0.01 series is 4.7e-38, and beta came out 0.288."""
    r = np.random.default_rng(0).normal(0.0, 0.01, 10)
    b = np.full(10, 0.01)
    assert np.var(b, ddof=1) > 0.0  # float rounding: why an exact-zero test is not enough
    with pytest.raises(ValidationError) as err:
        performance.performance_metrics(r, benchmark=b)
    assert err.value.field == "benchmark"


def test_a_tiny_but_real_benchmark_variance_is_kept() -> None:
    r = np.random.default_rng(1).normal(0.0, 0.01, 50)
    b = 0.01 + np.random.default_rng(2).normal(0.0, 1e-9, 50)
    assert performance.performance_metrics(r, benchmark=b).beta is not None


# -- 4. FLOOR / DOWN after a float round trip ----------------------------------------------


@pytest.mark.parametrize(("x", "mode", "want"), [(0.29, "FLOOR", "0.29"), (1.13, "DOWN", "1.13")])
def test_money_text_rounds_the_decimal_a_float_stands_for(x: float, mode: str, want: str) -> None:
    """17.4: ``money_text(0.29, 2, FLOOR)`` gave "0.28" (Decimal(0.29) = 0.28999...)."""
    assert money_text(x, 2, Rounding[mode]) == want
    assert money_text(-x, 2, Rounding.CEILING) == "-" + want


async def test_decomposition_exposures_are_rounded_exactly() -> None:
    """17.4: a 1.13 x 1 exposure was shown as "1.12" under FLOOR."""
    closes = {"A": [*_walk(3, 60)[:-1], "1.13"], "B": _walk(4, 60), "F": _walk(5, 60)}
    svc = _service(closes, {"A": "1", "B": "3"}, rounding=Rounding.FLOOR)
    got = await svc.get_risk_decomposition("u", ["F"])
    assert got.exposures[0] == "1.13"
    assert got.exposures[1] == f"{3 * Decimal(closes['B'][-1]):.2f}"


# -- 5. constant-return assets -------------------------------------------------------------


@pytest.mark.parametrize("estimator", ["sample", "ledoit_wolf"])
def test_two_constant_assets_have_zero_correlation(estimator: str) -> None:
    """17.5: two constant columns showed correlation 1 (documented: 0 off the diagonal)."""
    got = corr.correlation_matrix(np.tile([[0.01, 0.02]], (10, 1)), ["A", "B"], estimator)
    assert got.matrix == [[1.0, 0.0], [0.0, 1.0]]
    assert got.volatilities == [0.0, 0.0]


@pytest.mark.parametrize("estimator", ["sample", "ledoit_wolf"])
def test_constant_assets_beside_a_moving_one_are_uncorrelated(estimator: str) -> None:
    r = np.tile([[0.01, 0.02, 0.0]], (10, 1))
    r[:, 2] = np.random.default_rng(0).normal(0.0, 0.01, 10)
    m = np.array(corr.correlation_matrix(r, ["A", "B", "C"], estimator).matrix)
    assert np.all(np.abs(m - np.eye(3)) < 1e-12)


# -- 6. stressed VaR rounding and exact stress P&L -----------------------------------------


def test_stressed_var_is_the_unrounded_var_times_the_multiplier_rounded_once() -> None:
    """17.6: stressed VaR was the rounded VaR times 2.5, left at "8.375"."""
    scenario = stress.StressScenario(name="vol", volatility_multiplier="2.5")
    got = stress.apply_scenario([], scenario, base_var=3.3549)
    assert got.stressed_var == "8.39"  # 3.3549 x 2.5 = 8.38725, not 3.35 x 2.5 = 8.375
    half_up = stress.apply_scenario([], scenario, base_var=3.35, rounding=Rounding.HALF_UP)
    assert half_up.stressed_var == "8.38"  # 8.375 rounded once, to the money places


async def test_service_stressed_var_has_money_places() -> None:
    closes = {s: _walk(i, 120) for i, s in enumerate(["A", "B", "C"])}
    svc = _service(closes, {"A": "10", "B": "-7", "C": "13"})
    scenario = stress.StressScenario(name="vol", volatility_multiplier="2.5")
    base = var.var_from_returns(
        corr.common_window(
            (
                await svc._prices.price_history(["A", "B", "C"], TODAY - dt.timedelta(730), TODAY)
            ).returns()
        ),
        svc._exposures(await svc.get_positions("u")),
        0.95,
        1,
        "parametric_normal",
    ).var
    (got,) = await svc.run_stress_test("u", [scenario])
    assert got["stressed_var"] == money_text(base * 2.5, 2, Rounding.HALF_EVEN)


def test_stress_pnl_is_exact_with_fractional_quantities() -> None:
    """17.6: P&L documented exact was rounded at 1e-9 when quantities have decimals."""
    position = PortfolioPosition(symbol="X", quantity="0.123456789", price="100")
    scenario = stress.StressScenario(name="third", default_shock="-0.333333333")
    got = stress.apply_scenario([position], scenario)
    new = Decimal(got.positions[0].stressed_price)
    exact = (new - Decimal("100")) * Decimal("0.123456789")
    assert Decimal(got.positions[0].pnl) == exact
    assert Decimal(got.total_pnl) == exact
    assert exact != exact.quantize(Decimal("1e-9"))  # the case that needs > 9 decimals


# -- 7. a tail of one observation ----------------------------------------------------------


def test_historical_tail_needs_two_observations() -> None:
    """17.7: the ES standard error was 0.0 with one observation in the tail."""
    pnl = np.random.default_rng(1).normal(0.0, 1.0, 100)
    with pytest.raises(ValidationError) as err:
        var.historical_var(pnl, 0.99)
    assert err.value.field == "confidence"
    ok = var.historical_var(np.random.default_rng(1).normal(0.0, 1.0, 200), 0.99)
    assert ok.es_standard_error > 0.0


async def test_service_refuses_two_returns_at_99_percent() -> None:
    """17.7: the service accepted 2 returns at 99%."""
    svc = _service({"A": ["10", "11", "10.5"]}, {"A": "5"})
    with pytest.raises(ValidationError):
        await svc.calculate_var("u", 0.99, 1, "historical")


def test_monte_carlo_tail_needs_two_paths() -> None:
    with pytest.raises(ValidationError) as err:
        montecarlo.monte_carlo_var([[1e-4]], [1e6], 0.99, n_paths=100, seed=1)
    assert err.value.field == "confidence"


def test_age_weighted_one_day_tail_reports_a_nonzero_es_error() -> None:
    pnl = np.random.default_rng(3).normal(0.0, 1.0, 300)
    pnl[-1] = -50.0  # yesterday's crash carries more than 1% of the weight alone
    got = var.historical_var(pnl, 0.99, age_decay=0.98)
    assert got.es_standard_error > 0.0


# -- 8. silent zero VaR --------------------------------------------------------------------


def test_non_psd_covariance_raises_instead_of_zero_var() -> None:
    """17.8: ``parametric_var([[1,2],[2,1]], [1,-1], ...)`` returned VaR 0."""
    with pytest.raises(ValidationError) as err:
        var.parametric_var([[1, 2], [2, 1]], [1, -1], 0.99, n_observations=100)
    assert err.value.field == "covariance"
    with pytest.raises(ValidationError):
        montecarlo.monte_carlo_var([[1, 2], [2, 1]], [1, -1], 0.99, seed=1, full=False)


def test_rounding_level_negative_variance_is_zero_not_an_error() -> None:
    cov = np.array([[1.0, 1.0], [1.0, 1.0]]) * 1e-4
    got = var.parametric_var(cov, [1.0, -1.0 + 1e-17], 0.99, n_observations=100)
    assert got.var == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("method", ["parametric_normal", "cornish_fisher", "historical"])
def test_overflowing_pnl_raises_instead_of_zero_var(method: str) -> None:
    """17.8: a P&L overflowing float64 gave a silent zero VaR (parametric)."""
    r = np.array([[1e300, 1e300], [-1e300, 1e300], [1e300, -1e300]])
    with pytest.raises(ValidationError) as err:
        var.var_from_returns(r, [1e10, 1e10], 0.95, 1, method)
    assert err.value.field == "exposures"


@pytest.mark.parametrize("method", ["parametric_normal", "historical"])
def test_nan_return_under_zero_exposure_still_raises(method: str) -> None:
    r = np.random.default_rng(0).normal(0.0, 0.01, (300, 3))
    r[5, 1] = np.nan
    with pytest.raises(ValidationError) as err:
        var.var_from_returns(r, [1e5, 0.0, 2e5], 0.95, 1, method)
    assert err.value.field == "returns"


# -- 9. validation ------------------------------------------------------------------------


def test_numpy_integer_counts_are_accepted() -> None:
    """17.9: ``np.int64`` counts were refused."""
    a = var.parametric_var([[1e-4]], [1e6], 0.99, np.int64(10), n_observations=np.int64(100))
    assert a.n_observations == 100 and isinstance(a.n_observations, int)
    b = montecarlo.monte_carlo_var(
        [[1e-4]], [1e6], 0.99, n_paths=np.int64(1000), seed=np.int64(3), full=False
    )
    assert b.seed == 3 and b.n_simulations == 1000
    r = np.zeros((20, 1)) + 0.01
    c = var.var_from_returns(r, [1.0], 0.9, np.int64(1), "historical", ddof=np.int64(0))
    assert c.n_observations == 20


def test_decimal_quantities_are_accepted_as_exact_text() -> None:
    """17.9: ``Decimal("10")`` quantities were refused."""
    p = PortfolioPosition(symbol="A", quantity=Decimal("10"), price=Decimal("1.25"))  # type: ignore[arg-type]
    assert p.quantity == "10" and p.price == "1.25"
    assert p.market_value == Money("12.5")
    with pytest.raises(ValidationError):
        PortfolioPosition(symbol="A", quantity=10.5, price="1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mc_paths", 5),
        ("mc_seed", -1),
        ("summary_confidence", 1.5),
        ("decomposition_confidence", 0.2),
        ("ewma_lambda", 1.0),
        ("age_decay", 0.0),
        ("money_places", 12),
        ("var_lookback_days", 1),
        ("student_t_dof", 2.0),
        ("periods_per_year", 0),
        ("risk_free_rate", float("nan")),
        ("rounding", Rounding.EXACT),
        ("estimator", "median"),
        ("benchmark_symbol", ""),
        ("mc_full_simulation", "yes"),
    ],
)
def test_analytics_config_is_validated_at_construction(field: str, value: object) -> None:
    """17.9: a bad setting waited for the first request."""
    with pytest.raises(ValidationError) as err:
        AnalyticsConfig(**{field: value})  # type: ignore[arg-type]
    assert err.value.field == field


@pytest.mark.parametrize("quantity", ["99999999999", "-10000000000"])
def test_fixed_point_overflow_is_a_validation_error(quantity: str) -> None:
    """17.9: ``FixedPointOverflowError`` escaped as a 500."""
    with pytest.raises(ValidationError) as err:
        PortfolioPosition(symbol="A", quantity=quantity, price="1")
    assert err.value.field == "quantity"


def test_stressed_price_overflow_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        stress.stressed_price(Fixed("9000000000"), "5")
    with pytest.raises(ValidationError):
        stress.StressScenario(name="x", default_shock="99999999999")


@pytest.mark.parametrize("scaling", ["sqrt_time", "overlapping"])
def test_every_documented_scaling_name_is_accepted(scaling: str) -> None:
    """17.9: the documented names were refused (only the enum members passed)."""
    pnl = np.random.default_rng(2).normal(0.0, 1.0, 400)
    a = var.historical_var(pnl, 0.95, 5, scaling=scaling)  # type: ignore[arg-type]
    assert a.horizon_scaling.value == scaling
    r = np.random.default_rng(2).normal(0.0, 0.01, (400, 2))
    b = var.var_from_returns(r, [1e5, 1e5], 0.95, 5, "historical", scaling=scaling)
    assert b.horizon_scaling.value == scaling
    if scaling == "sqrt_time":
        assert var.var_from_returns(r, [1e5, 1e5], 0.95, 5, "parametric_normal", scaling=scaling)
    with pytest.raises(ValidationError) as err:
        var.historical_var(pnl, 0.95, 5, scaling="daily")  # type: ignore[arg-type]
    assert err.value.field == "scaling"
