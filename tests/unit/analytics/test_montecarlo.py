"""Monte Carlo VaR/ES agree with the analytic values within 4 standard errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from nexus.errors import ValidationError
from services.analytics.core import montecarlo
from services.analytics.core.types import VaRMethod

from .conftest import market_returns


def _book() -> tuple[np.ndarray, np.ndarray]:
    r = market_returns(21, days=600, assets=8)
    return np.cov(r.T), np.linspace(-2e4, 9e4, 8)


def _normal_truth(cov, w, c, h=1, mu=0.0):
    sigma = math.sqrt(w @ cov @ w) * math.sqrt(h)
    z = stats.norm.ppf(c)
    return -h * mu + z * sigma, -h * mu + sigma * stats.norm.pdf(z) / (1 - c)


def _t_truth(cov, w, c, nu, h=1):
    scale = math.sqrt(w @ cov @ w) * math.sqrt((nu - 2) / nu) * math.sqrt(h)
    q = stats.t.ppf(c, nu)
    es = scale * stats.t.pdf(q, nu) / (1 - c) * (nu + q * q) / (nu - 1)
    return scale * q, es


@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("confidence", [0.95, 0.99])
@pytest.mark.parametrize("seed", [1, 2])
def test_monte_carlo_normal_within_four_standard_errors(full, confidence, seed) -> None:
    cov, w = _book()
    got = montecarlo.monte_carlo_var(cov, w, confidence, n_paths=50_000, seed=seed, full=full)
    v, es = _normal_truth(cov, w, confidence)
    assert abs(got.var - v) <= 4 * got.var_standard_error
    assert abs(got.expected_shortfall - es) <= 4 * got.es_standard_error
    assert got.method is VaRMethod.MONTE_CARLO_NORMAL


@pytest.mark.parametrize("full", [True, False])
@pytest.mark.parametrize("nu", [4.0, 8.0])
def test_monte_carlo_student_t_within_four_standard_errors(full, nu) -> None:
    cov, w = _book()
    got = montecarlo.monte_carlo_var(
        cov, w, 0.99, n_paths=60_000, seed=3, full=full, student_t=True, degrees_of_freedom=nu
    )
    v, es = _t_truth(cov, w, 0.99, nu)
    assert abs(got.var - v) <= 4 * got.var_standard_error
    assert abs(got.expected_shortfall - es) <= 4 * got.es_standard_error
    assert got.degrees_of_freedom == nu


def test_monte_carlo_horizon_and_mean_within_four_standard_errors() -> None:
    cov, w = _book()
    mu = np.full(8, 0.0004)
    got = montecarlo.monte_carlo_var(cov, w, 0.99, 10, n_paths=50_000, seed=4, mean=mu)
    v, _ = _normal_truth(cov, w, 0.99, 10, float(mu @ w))
    assert abs(got.var - v) <= 4 * got.var_standard_error


def test_monte_carlo_without_antithetic_within_four_standard_errors() -> None:
    cov, w = _book()
    got = montecarlo.monte_carlo_var(cov, w, 0.975, n_paths=40_001, seed=5, antithetic=False)
    v, _ = _normal_truth(cov, w, 0.975)
    assert abs(got.var - v) <= 4 * got.var_standard_error
    assert got.n_simulations == 40_001


def test_monte_carlo_same_seed_is_reproducible() -> None:
    cov, w = _book()
    a = montecarlo.monte_carlo_var(cov, w, 0.99, n_paths=5_000, seed=9)
    b = montecarlo.monte_carlo_var(cov, w, 0.99, n_paths=5_000, seed=9)
    assert a == b


def test_monte_carlo_no_seed_reports_the_seed_it_drew() -> None:
    cov, w = _book()
    a = montecarlo.monte_carlo_var(cov, w, 0.99, n_paths=2_000)
    assert a.seed is not None
    b = montecarlo.monte_carlo_var(cov, w, 0.99, n_paths=2_000, seed=a.seed)
    assert a.var == b.var


def test_monte_carlo_standard_error_shrinks_with_paths() -> None:
    cov, w = _book()
    small = montecarlo.monte_carlo_var(cov, w, 0.99, n_paths=5_000, seed=1)
    big = montecarlo.monte_carlo_var(cov, w, 0.99, n_paths=80_000, seed=1)
    assert big.var_standard_error < small.var_standard_error


def test_simulated_pnl_of_full_path_has_the_portfolio_variance() -> None:
    cov, w = _book()
    pnl = montecarlo.simulate_pnl(cov, w, n_paths=100_000, seed=2)
    sigma2 = w @ cov @ w
    # sample variance of 1e5 normal draws has relative SE sqrt(2/1e5) ~ 0.45%
    assert pnl.var() == pytest.approx(sigma2, rel=0.02)


def test_covariance_factor_reproduces_covariance() -> None:
    cov, _ = _book()
    a = montecarlo.covariance_factor(cov)
    np.testing.assert_allclose(a @ a.T, cov, rtol=1e-9, atol=1e-16)


def test_covariance_factor_singular_uses_eigen_factor() -> None:
    v = np.array([1.0, 2.0, 3.0])
    cov = np.outer(v, v) * 1e-4
    a = montecarlo.covariance_factor(cov)
    np.testing.assert_allclose(a @ a.T, cov, atol=1e-15)


def test_covariance_factor_indefinite_raises() -> None:
    with pytest.raises(ValidationError) as err:
        montecarlo.covariance_factor(np.array([[1.0, 2.0], [2.0, 1.0]]))
    assert err.value.field == "covariance"


def test_component_es_sums_to_es_and_matches_simulated_es() -> None:
    cov, w = _book()
    es, parts = montecarlo.component_expected_shortfall(cov, w, 0.975, n_paths=40_000, seed=3)
    assert parts.sum() == pytest.approx(es, rel=1e-9)
    full = montecarlo.monte_carlo_var(cov, w, 0.975, n_paths=40_000, seed=3)
    assert es == pytest.approx(full.expected_shortfall, rel=1e-9)


def test_component_es_student_t_sums_to_es() -> None:
    cov, w = _book()
    es, parts = montecarlo.component_expected_shortfall(
        cov, w, 0.99, 2, n_paths=20_000, seed=3, student_t=True
    )
    assert parts.sum() == pytest.approx(es, rel=1e-9)
    assert es > 0


def test_component_es_is_close_to_analytic_euler_es() -> None:
    cov, w = _book()
    _, parts = montecarlo.component_expected_shortfall(cov, w, 0.975, n_paths=200_000, seed=8)
    sigma = math.sqrt(w @ cov @ w)
    k = stats.norm.pdf(stats.norm.ppf(0.975)) / 0.025
    analytic = k * w * (cov @ w) / sigma
    np.testing.assert_allclose(parts, analytic, rtol=0.05, atol=0.02 * analytic.sum())


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_paths": 10}, "n_paths"),
        ({"n_paths": 1.5}, "n_paths"),
        ({"seed": -1}, "seed"),
        ({"seed": "x"}, "seed"),
        ({"student_t": True, "degrees_of_freedom": 2.0}, "degrees_of_freedom"),
        ({"student_t": True, "degrees_of_freedom": float("inf")}, "degrees_of_freedom"),
    ],
)
def test_monte_carlo_bad_inputs_raise_with_field(kwargs, field) -> None:
    cov, w = _book()
    with pytest.raises(ValidationError) as err:
        montecarlo.monte_carlo_var(cov, w, 0.99, **kwargs)
    assert err.value.field == field


@pytest.mark.parametrize("student_t", [False, True])
def test_monte_carlo_full_with_singular_covariance_matches_analytic(student_t: bool) -> None:
    v = np.array([0.01, 0.02, -0.015])
    cov = np.outer(v, v) + np.diag([0.0, 0.0, 0.0])
    w = np.array([1e5, 5e4, 2e4])
    got = montecarlo.monte_carlo_var(
        cov, w, 0.99, n_paths=40_000, seed=6, full=True, student_t=student_t
    )
    truth = _t_truth(cov, w, 0.99, 5.0)[0] if student_t else _normal_truth(cov, w, 0.99)[0]
    assert abs(got.var - truth) <= 4 * got.var_standard_error


def test_full_and_fast_paths_simulate_the_same_distribution() -> None:
    cov, w = _book()
    full = montecarlo.simulate_pnl(cov, w, n_paths=60_000, seed=1, full=True)
    fast = montecarlo.simulate_pnl(cov, w, n_paths=60_000, seed=2, full=False)
    ks = stats.ks_2samp(full, fast)
    assert ks.pvalue > 1e-4
