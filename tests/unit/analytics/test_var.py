"""VaR and ES: historical, age-weighted, parametric normal, Cornish-Fisher, Monte Carlo."""

from __future__ import annotations

import math
from decimal import Decimal

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from nexus.errors import ValidationError
from nexus.money import Rounding
from services.analytics.core import var
from services.analytics.core.correlation import IncrementalCovariance
from services.analytics.core.types import HorizonScaling, VaREstimate, VaRMethod

from . import reference
from .conftest import market_returns

RTOL = 1e-9
CONFIDENCES = [0.9, 0.95, 0.975, 0.99, 0.995]


def _pnl(seed: int = 1, n: int = 1000) -> np.ndarray:
    return market_returns(seed, days=n, assets=5) @ np.array([3e4, -1e4, 2e4, 5e4, 1e4])


# -- historical ----------------------------------------------------------------------------


@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_historical_var_matches_sorted_reference(confidence: float) -> None:
    pnl = _pnl()
    got = var.historical_var(pnl, confidence)
    ref = reference.historical_tail(pnl, confidence, var.Z_CI)
    assert got.var == pytest.approx(ref[0], rel=RTOL)
    assert got.expected_shortfall == pytest.approx(ref[1], rel=RTOL)


@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_historical_var_equals_numpy_inverted_cdf_when_tail_not_integer(confidence) -> None:
    pnl = _pnl(2, 997)  # n(1-c) never an integer: type-1 quantile of losses agrees
    got = var.historical_var(pnl, confidence)
    expected = np.quantile(-pnl, confidence, method="inverted_cdf")
    assert got.var == pytest.approx(expected, rel=RTOL)


def test_historical_var_sign_convention_loss_is_positive() -> None:
    pnl = np.linspace(-100.0, 100.0, 201)
    got = var.historical_var(pnl, 0.95)
    assert got.var > 0
    assert got.expected_shortfall >= got.var


def test_historical_var_all_gains_gives_negative_var() -> None:
    got = var.historical_var(np.linspace(1.0, 10.0, 50), 0.95)
    assert got.var < 0  # the 95% worst outcome is still a gain


@pytest.mark.parametrize("horizon", [1, 4, 10, 250])
def test_historical_var_sqrt_time_scales_var_es_and_se(horizon: int) -> None:
    pnl = _pnl()
    one = var.historical_var(pnl, 0.99)
    h = var.historical_var(pnl, 0.99, horizon)
    f = math.sqrt(horizon)
    assert h.var == pytest.approx(one.var * f, rel=RTOL)
    assert h.expected_shortfall == pytest.approx(one.expected_shortfall * f, rel=RTOL)
    assert h.var_standard_error == pytest.approx(one.var_standard_error * f, rel=RTOL)
    assert h.horizon_days == horizon


def test_historical_var_overlapping_uses_rolling_sums() -> None:
    pnl = _pnl()
    got = var.historical_var(pnl, 0.95, 10, scaling=HorizonScaling.OVERLAPPING)
    sums = np.convolve(pnl, np.ones(10), mode="valid")
    ref = reference.historical_tail(sums, 0.95, var.Z_CI)
    assert got.var == pytest.approx(ref[0], rel=RTOL)
    assert got.horizon_scaling is HorizonScaling.OVERLAPPING
    assert got.var_ci_lower <= got.var <= got.var_ci_upper


def test_historical_var_overlapping_horizon_longer_than_history_raises() -> None:
    with pytest.raises(ValidationError) as err:
        var.historical_var(np.ones(10), 0.95, 10, scaling=HorizonScaling.OVERLAPPING)
    assert err.value.field == "pnl"


def test_historical_var_overlapping_one_day_equals_plain() -> None:
    pnl = _pnl()
    a = var.historical_var(pnl, 0.95, 1, scaling=HorizonScaling.OVERLAPPING)
    b = var.historical_var(pnl, 0.95, 1)
    assert a.var == b.var


def test_historical_var_ci_contains_estimate_and_se_positive() -> None:
    got = var.historical_var(_pnl(), 0.99)
    assert got.var_ci_lower <= got.var <= got.var_ci_upper
    assert got.var_standard_error > 0
    assert got.es_standard_error > 0


def test_historical_es_standard_error_matches_asymptotic_formula() -> None:
    pnl = _pnl()
    got = var.historical_var(pnl, 0.95)
    ref = reference.historical_tail(pnl, 0.95, var.Z_CI)
    expected = math.sqrt((ref[5] + 0.95 * (ref[1] - ref[0]) ** 2) / (1000 * 0.05))
    assert got.es_standard_error == pytest.approx(expected, rel=RTOL)


def test_historical_var_ci_covers_true_quantile_on_normal_data() -> None:
    covered = 0
    for seed in range(40):
        pnl = np.random.default_rng(seed).normal(0, 1, 1000)
        got = var.historical_var(pnl, 0.95)
        covered += got.var_ci_lower <= stats.norm.ppf(0.95) <= got.var_ci_upper
    assert covered >= 34  # nominal 95% of 40 = 38


@pytest.mark.parametrize("decay", [0.94, 0.97, 0.99])
def test_age_weighted_var_matches_reference(decay: float) -> None:
    pnl = _pnl()
    got = var.historical_var(pnl, 0.95, age_decay=decay)
    w = var.age_weights(pnl.shape[0], decay)
    ref = reference.weighted_tail(pnl, w, 0.95, var.Z_CI)
    assert got.var == pytest.approx(ref[0], rel=RTOL)
    assert got.expected_shortfall == pytest.approx(ref[1], rel=RTOL)
    assert got.method is VaRMethod.HISTORICAL_AGE_WEIGHTED


def test_age_weights_sum_to_one_and_newest_heaviest() -> None:
    w = var.age_weights(500, 0.98)
    assert w.sum() == pytest.approx(1.0, rel=1e-12)
    assert w[-1] == w.max()
    assert w[-1] == pytest.approx(0.02 / (1 - 0.98**500), rel=RTOL)


def test_age_weighted_reacts_to_recent_crash() -> None:
    pnl = np.random.default_rng(1).normal(0, 100, 500)
    pnl[-5:] = -1000
    plain = var.historical_var(pnl, 0.99)
    aged = var.historical_var(pnl, 0.99, age_decay=0.97)
    assert aged.var >= plain.var


def test_age_weighted_with_overlapping_raises() -> None:
    with pytest.raises(ValidationError) as err:
        var.historical_var(_pnl(), 0.95, 5, scaling=HorizonScaling.OVERLAPPING, age_decay=0.98)
    assert err.value.field == "scaling"


# -- parametric normal and Cornish-Fisher -------------------------------------------------


@pytest.mark.parametrize("confidence", CONFIDENCES)
@pytest.mark.parametrize("horizon", [1, 10])
def test_parametric_normal_matches_scipy(confidence: float, horizon: int) -> None:
    r = market_returns(3)
    w = np.linspace(-2e4, 8e4, 12)
    cov = np.cov(r.T)
    got = var.parametric_var(cov, w, confidence, horizon, n_observations=750)
    sigma = math.sqrt(w @ cov @ w) * math.sqrt(horizon)
    dist = stats.norm(0.0, sigma)
    assert got.var == pytest.approx(-dist.ppf(1 - confidence), rel=RTOL)
    tail = integrate.quad(lambda x: x * dist.pdf(x), -np.inf, dist.ppf(1 - confidence))[0]
    assert got.expected_shortfall == pytest.approx(-tail / (1 - confidence), rel=1e-7)
    assert got.expected_shortfall == pytest.approx(
        sigma * stats.norm.pdf(stats.norm.ppf(confidence)) / (1 - confidence), rel=RTOL
    )


def test_parametric_normal_with_mean_subtracts_drift() -> None:
    cov = np.diag([0.0001, 0.0004])
    w = np.array([1e5, 5e4])
    mu = np.array([0.001, 0.002])
    got = var.parametric_var(cov, w, 0.99, 5, n_observations=500, mean=mu)
    sigma = math.sqrt(w @ cov @ w)
    expected = -5 * (mu @ w) + stats.norm.ppf(0.99) * sigma * math.sqrt(5)
    assert got.var == pytest.approx(expected, rel=RTOL)


def test_parametric_standard_error_matches_delta_method() -> None:
    cov = np.array([[0.0004]])
    got = var.parametric_var(cov, [1e6], 0.99, 1, n_observations=501)
    sigma = 0.02 * 1e6
    z = stats.norm.ppf(0.99)
    assert got.var_standard_error == pytest.approx(z * sigma / math.sqrt(1000), rel=RTOL)
    assert got.var_ci_upper - got.var == pytest.approx(var.Z_CI * got.var_standard_error)


def test_parametric_standard_error_shrinks_with_more_data() -> None:
    cov = np.array([[0.0004]])
    small = var.parametric_var(cov, [1e6], 0.99, n_observations=50)
    big = var.parametric_var(cov, [1e6], 0.99, n_observations=5000)
    assert big.var_standard_error < small.var_standard_error


def test_cornish_fisher_zero_moments_equals_normal() -> None:
    cov = np.cov(market_returns(4).T)
    w = np.full(12, 1e4)
    normal = var.parametric_var(cov, w, 0.99, n_observations=750)
    cf = var.parametric_var(cov, w, 0.99, n_observations=750, skewness=0.0, excess_kurtosis=0.0)
    assert cf.var == pytest.approx(normal.var, rel=RTOL)
    assert cf.expected_shortfall == pytest.approx(normal.expected_shortfall, rel=RTOL)
    assert cf.method is VaRMethod.CORNISH_FISHER


@pytest.mark.parametrize(("skew", "kurt"), [(-0.5, 2.0), (0.3, 1.0), (-1.0, 4.0)])
def test_cornish_fisher_matches_textbook_expansion(skew: float, kurt: float) -> None:
    z = stats.norm.ppf(0.01)
    zcf = z + (z**2 - 1) * skew / 6 + (z**3 - 3 * z) * kurt / 24 - (2 * z**3 - 5 * z) * skew**2 / 36
    got = var.parametric_var(
        [[1.0]], [1.0], 0.99, n_observations=100, skewness=skew, excess_kurtosis=kurt
    )
    assert got.var == pytest.approx(-zcf, rel=RTOL)


@pytest.mark.parametrize(("skew", "kurt"), [(-0.5, 2.0), (0.3, 1.0), (-1.0, 4.0), (0.0, 0.0)])
@pytest.mark.parametrize("alpha", [0.01, 0.05])
def test_cornish_fisher_es_matches_numerical_tail_integral(skew, kurt, alpha) -> None:
    got = var.cornish_fisher_tail_mean(alpha, skew, kurt)

    def g(u: float) -> float:
        return var.cornish_fisher_quantile(float(stats.norm.ppf(u)), skew, kurt)

    expected = integrate.quad(g, 0.0, alpha, limit=200, epsabs=1e-13, epsrel=1e-12)[0] / alpha
    assert got == pytest.approx(expected, rel=1e-8)


def test_cornish_fisher_negative_skew_raises_var() -> None:
    base = var.parametric_var(
        [[1.0]], [1.0], 0.99, n_observations=100, skewness=0.0, excess_kurtosis=0.0
    )
    skewed = var.parametric_var(
        [[1.0]], [1.0], 0.99, n_observations=100, skewness=-0.8, excess_kurtosis=0.0
    )
    assert skewed.var > base.var


def test_cornish_fisher_horizon_scales_cumulants() -> None:
    got = var.parametric_var(
        [[1.0]], [1.0], 0.99, 4, n_observations=100, skewness=-1.0, excess_kurtosis=4.0
    )
    one = var.parametric_var(
        [[1.0]], [1.0], 0.99, 1, n_observations=100, skewness=-0.5, excess_kurtosis=1.0
    )
    assert got.var == pytest.approx(2.0 * one.var, rel=RTOL)


def test_sample_moments_match_scipy_biased_estimators() -> None:
    x = _pnl()
    s, k = var.sample_moments(x)
    assert s == pytest.approx(stats.skew(x, bias=True), rel=RTOL)
    assert k == pytest.approx(stats.kurtosis(x, fisher=True, bias=True), rel=RTOL)


def test_sample_moments_constant_series_are_zero() -> None:
    assert var.sample_moments(np.ones(10)) == (0.0, 0.0)


def test_normal_var_from_volatility_equals_parametric() -> None:
    a = var.normal_var_from_volatility(1000.0, 0.99, 10, 250)
    b = var.parametric_var([[1e6]], [1.0], 0.99, 10, n_observations=250)
    assert a.var == pytest.approx(b.var, rel=RTOL)


def test_incremental_covariance_parametric_var_matches_batch() -> None:
    r = market_returns(6)
    w = np.linspace(1e4, 3e4, 12)
    inc = IncrementalCovariance(12)
    inc.extend(r)
    got = inc.parametric_var(w, 0.99, 1)
    batch = var.parametric_var(np.cov(r.T), w, 0.99, 1, n_observations=750)
    assert got.var == pytest.approx(batch.var, rel=1e-9)


# -- dispatcher ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", list(VaRMethod))
def test_var_from_returns_every_method_gives_positive_var_and_es_above_var(method) -> None:
    r = market_returns(7, days=500)
    w = np.full(12, 1e4)
    got = var.var_from_returns(r, w, 0.99, 1, method, n_paths=20_000, seed=1)
    assert got.var > 0
    assert got.expected_shortfall >= got.var
    assert got.method is method
    assert got.sign_convention.startswith("VaR and ES are positive losses")


def test_var_from_returns_parametric_uses_sample_covariance() -> None:
    r = market_returns(7, days=500)
    w = np.full(12, 1e4)
    got = var.var_from_returns(r, w, 0.95, 1, "parametric_normal")
    expected = stats.norm.ppf(0.95) * math.sqrt(w @ np.cov(r.T) @ w)
    assert got.var == pytest.approx(expected, rel=RTOL)


def test_var_from_returns_include_mean_changes_parametric() -> None:
    r = market_returns(7, days=500)
    w = np.full(12, 1e4)
    a = var.var_from_returns(r, w, 0.95, 1, "parametric_normal")
    b = var.var_from_returns(r, w, 0.95, 1, "parametric_normal", include_mean=True)
    assert b.var == pytest.approx(a.var - float(r.mean(axis=0) @ w), rel=RTOL)


def test_var_from_returns_unknown_method_raises_with_field() -> None:
    with pytest.raises(ValidationError) as err:
        var.var_from_returns(np.zeros((5, 1)), [1.0], 0.95, 1, "magic")
    assert err.value.field == "method"


def test_var_from_returns_overlapping_parametric_raises() -> None:
    with pytest.raises(ValidationError) as err:
        var.var_from_returns(
            market_returns(1, 50, 2),
            [1.0, 1.0],
            0.95,
            2,
            "parametric_normal",
            scaling=HorizonScaling.OVERLAPPING,
        )
    assert err.value.field == "scaling"


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0.5, 1.0, 0.3, 1.5, -0.95, float("nan"), "0.95", True, None])
def test_var_invalid_confidence_raises_validation_error(bad) -> None:
    with pytest.raises(ValidationError) as err:
        var.historical_var(_pnl(), bad)
    assert err.value.field == "confidence"


@pytest.mark.parametrize("bad", [0, 251, -1, 1.5, "10", True])
def test_var_invalid_horizon_raises_validation_error(bad) -> None:
    with pytest.raises(ValidationError) as err:
        var.historical_var(_pnl(), 0.95, bad)
    assert err.value.field == "horizon_days"


@pytest.mark.parametrize(
    ("pnl", "field"),
    [
        ([1.0], "pnl"),
        ([[1.0, 2.0]], "pnl"),
        ([1.0, np.nan], "pnl"),
        (["a", "b"], "pnl"),
        ([1.0, np.inf], "pnl"),
    ],
)
def test_historical_var_bad_pnl_raises(pnl, field) -> None:
    with pytest.raises(ValidationError) as err:
        var.historical_var(pnl, 0.95)
    assert err.value.field == field


def test_historical_var_bad_scaling_raises() -> None:
    with pytest.raises(ValidationError) as err:
        var.historical_var(_pnl(), 0.95, scaling="weekly")  # type: ignore[arg-type]
    assert err.value.field == "scaling"


@pytest.mark.parametrize("decay", [0.0, 1.0, 1.2, "x"])
def test_age_weighted_bad_decay_raises(decay) -> None:
    with pytest.raises(ValidationError) as err:
        var.historical_var(_pnl(), 0.95, age_decay=decay)
    assert err.value.field == "age_decay"


@pytest.mark.parametrize(
    ("cov", "w", "field"),
    [
        ([[1.0, 0.5], [0.4, 1.0]], [1.0, 1.0], "covariance"),
        ([[1.0, 0.0]], [1.0], "covariance"),
        ([[-1.0]], [1.0], "covariance"),
        ([[1.0]], [1.0, 2.0], "exposures"),
        ([[1.0]], [np.nan], "exposures"),
    ],
)
def test_parametric_bad_inputs_raise_with_field(cov, w, field) -> None:
    with pytest.raises(ValidationError) as err:
        var.parametric_var(cov, w, 0.95, n_observations=10)
    assert err.value.field == field


@pytest.mark.parametrize("n", [0, 1, 2.5, True])
def test_parametric_bad_n_observations_raises(n) -> None:
    with pytest.raises(ValidationError) as err:
        var.parametric_var([[1.0]], [1.0], 0.95, n_observations=n)
    assert err.value.field == "n_observations"


def test_parametric_non_finite_moments_raise() -> None:
    with pytest.raises(ValidationError) as err:
        var.parametric_var([[1.0]], [1.0], 0.95, n_observations=10, skewness=float("inf"))
    assert err.value.field == "skewness"


@pytest.mark.parametrize(
    ("sigma", "n", "field"),
    [(-1.0, 10, "sigma"), (np.nan, 10, "sigma"), (1.0, 1, "n_observations")],
)
def test_normal_var_from_volatility_bad_inputs_raise(sigma, n, field) -> None:
    with pytest.raises(ValidationError) as err:
        var.normal_var_from_volatility(sigma, 0.95, 1, n)
    assert err.value.field == field


# -- properties ----------------------------------------------------------------------------


@settings(deadline=None, max_examples=60)
@given(
    seed=st.integers(0, 10_000),
    c1=st.floats(0.51, 0.998),
    c2=st.floats(0.51, 0.998),
)
def test_historical_var_is_monotonic_in_confidence(seed: int, c1: float, c2: float) -> None:
    pnl = np.random.default_rng(seed).standard_t(3, 1000)  # >= 2 tail days at 0.998
    lo, hi = sorted((c1, c2))
    a, b = var.historical_var(pnl, lo), var.historical_var(pnl, hi)
    assert a.var <= b.var
    assert a.expected_shortfall <= b.expected_shortfall + 1e-9


@settings(deadline=None, max_examples=60)
@given(seed=st.integers(0, 10_000), c=st.floats(0.51, 0.999))
def test_historical_es_is_at_least_var(seed: int, c: float) -> None:
    pnl = np.random.default_rng(seed).standard_t(3, 2001)  # >= 2 tail days at 0.999
    got = var.historical_var(pnl, c)
    assert got.expected_shortfall >= got.var - 1e-12


@settings(deadline=None, max_examples=60)
@given(c1=st.floats(0.51, 0.999), c2=st.floats(0.51, 0.999), h=st.integers(1, 250))
def test_parametric_var_is_monotonic_in_confidence_and_es_above(c1, c2, h) -> None:
    lo, hi = sorted((c1, c2))
    a = var.parametric_var([[1e-4]], [1e6], lo, h, n_observations=100)
    b = var.parametric_var([[1e-4]], [1e6], hi, h, n_observations=100)
    assert a.var <= b.var + 1e-9
    assert a.expected_shortfall >= a.var


@settings(deadline=None, max_examples=40)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 1000.0))
def test_historical_var_is_positively_homogeneous(seed: int, scale: float) -> None:
    pnl = np.random.default_rng(seed).normal(0, 1, 200)
    a = var.historical_var(pnl, 0.95)
    b = var.historical_var(pnl * scale, 0.95)
    assert b.var == pytest.approx(a.var * scale, rel=1e-9)


# -- money form ----------------------------------------------------------------------------


def test_to_var_result_rounds_explicitly_and_keeps_conventions() -> None:
    est = var.historical_var(_pnl(), 0.99, 10)
    result = var.to_var_result(est, "1000000.00", places=2, rounding=Rounding.HALF_EVEN)
    expected = Decimal(repr(est.var)).quantize(Decimal("0.01"), rounding="ROUND_HALF_EVEN")
    assert result.var == str(expected)
    assert result.rounding == "HALF_EVEN to 2 decimal places"
    assert result.ci_level == 0.95
    assert result.horizon_days == 10
    decoded = msgspec.json.decode(msgspec.json.encode(result), type=type(result))
    assert decoded == result


@pytest.mark.parametrize(
    ("mode", "want"),
    [
        (Rounding.HALF_EVEN, ["100.12", "100.12", "-100.12"]),
        (Rounding.HALF_UP, ["100.13", "100.12", "-100.13"]),
        (Rounding.HALF_DOWN, ["100.12", "100.12", "-100.12"]),
        (Rounding.FLOOR, ["100.12", "100.12", "-100.13"]),
        (Rounding.CEILING, ["100.13", "100.13", "-100.12"]),
    ],
)
def test_to_var_result_rounding_modes_are_told_apart_on_ties(mode, want) -> None:
    """An exact tie (100.125) and its neighbours: HALF_EVEN and HALF_UP differ on the tie."""
    est = VaREstimate(
        method=VaRMethod.HISTORICAL,
        confidence=0.99,
        horizon_days=1,
        var=100.125,
        expected_shortfall=100.1225,
        var_standard_error=1.0,
        es_standard_error=1.0,
        var_ci_lower=-100.125,
        var_ci_upper=101.0,
        n_observations=10,
    )
    result = var.to_var_result(est, "0", places=2, rounding=mode)
    assert [result.var, result.expected_shortfall, result.var_ci_lower] == want


def test_to_var_result_ceiling_rounding_never_understates() -> None:
    est = VaREstimate(
        method=VaRMethod.HISTORICAL,
        confidence=0.99,
        horizon_days=1,
        var=100.001,
        expected_shortfall=120.004,
        var_standard_error=1.0,
        es_standard_error=1.0,
        var_ci_lower=99.0,
        var_ci_upper=101.0,
        n_observations=10,
    )
    result = var.to_var_result(est, "0", places=2, rounding=Rounding.CEILING)
    assert result.var == "100.01"
    assert result.expected_shortfall == "120.01"


@pytest.mark.parametrize("ddof", [0, 1])
def test_var_from_returns_parametric_fast_path_equals_covariance_path(ddof: int) -> None:
    r = market_returns(9, days=400)
    w = np.linspace(-1e4, 4e4, 12)
    fast = var.var_from_returns(r, w, 0.99, 5, "parametric_normal", ddof=ddof)
    slow = var.parametric_var(np.cov(r.T, ddof=ddof), w, 0.99, 5, n_observations=400)
    assert fast.var == pytest.approx(slow.var, rel=RTOL)
    assert fast.expected_shortfall == pytest.approx(slow.expected_shortfall, rel=RTOL)
    assert "ddof" in fast.estimator


def test_var_from_returns_bad_ddof_raises() -> None:
    with pytest.raises(ValidationError) as err:
        var.var_from_returns(
            market_returns(1, 50, 2), [1.0, 1.0], 0.95, 1, "cornish_fisher", ddof=2
        )
    assert err.value.field == "ddof"


def test_var_from_returns_constant_pnl_has_zero_parametric_var() -> None:
    got = var.var_from_returns(np.zeros((10, 2)), [1.0, 1.0], 0.95, 1, "parametric_normal")
    assert got.var == 0.0


@pytest.mark.parametrize("method", list(VaRMethod))
def test_every_estimate_encodes_to_json_with_plain_floats(method) -> None:
    r = market_returns(2, days=300, assets=3)
    est = var.var_from_returns(r, [1e4, 2e4, 3e4], 0.99, 2, method, n_paths=2_000, seed=1)
    decoded = msgspec.json.decode(msgspec.json.encode(est), type=VaREstimate)
    assert decoded == est
    assert all(type(v) is not np.float64 for v in msgspec.structs.astuple(est))


@pytest.mark.parametrize("full", [True, False])
def test_var_from_returns_monte_carlo_paths_agree_within_four_standard_errors(full) -> None:
    r = market_returns(7, days=500)
    w = np.full(12, 1e4)
    mc = var.var_from_returns(
        r, w, 0.99, 1, "monte_carlo_normal", n_paths=50_000, seed=2, full_simulation=full
    )
    exact = var.var_from_returns(r, w, 0.99, 1, "parametric_normal")
    assert abs(mc.var - exact.var) <= 4 * mc.var_standard_error
    assert ("full asset-level" in mc.estimator) is full
