"""The fast-path kernels (issue 17 speed work), compiled and interpreted (``py_func``), each
against a plain numpy computation of the same quantity; and the paths that use them."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from nexus.errors import ValidationError
from services.analytics.core import correlation as corr
from services.analytics.core import kernels, montecarlo, var

from .conftest import market_returns

FAST = [
    "centre_kernel",
    "ewma_scale_kernel",
    "ledoit_wolf_shrink_kernel",
    "small_tail_kernel",
    "threshold_tail_kernel",
    "pnl_moments_kernel",
    "covariance_check_kernel",
    "covariance_check_exact_kernel",
    "euler_kernel",
    "linear_pnl_kernel",
    "all_finite_kernel",
    "quadratic_value_kernel",
    "quadratic_form_kernel",
]


@pytest.fixture(params=["numba", "interpreted"])
def k(request: pytest.FixtureRequest) -> Any:
    """The kernels by name: compiled, or their Python source (which coverage can see)."""

    class Table:
        def __getattr__(self, name: str) -> Callable[..., Any]:
            fn = getattr(kernels, name)
            return fn if request.param == "numba" else getattr(fn, "py_func", fn)

    return Table()


def test_every_fast_kernel_is_compiled_by_warm_up() -> None:
    kernels.warm_up()
    for name in FAST:
        assert getattr(kernels, name).signatures, name


def test_centre_and_gram_give_the_sample_covariance(k) -> None:
    r = market_returns(3, days=200, assets=7)
    centred = k.centre_kernel(r)
    np.testing.assert_allclose(centred, r - r.mean(axis=0), rtol=0, atol=1e-15)
    cov = kernels.gram(centred) / (r.shape[0] - 1)
    np.testing.assert_allclose(cov, np.cov(r, rowvar=False), rtol=1e-12)
    assert np.array_equal(cov, cov.T)  # syrk: exactly symmetric


def test_sample_covariance_of_too_few_rows_is_nan() -> None:
    assert np.isnan(kernels.sample_covariance(np.ones((1, 3)), 1)).all()


def test_ewma_scale_gives_the_ewma_covariance(k) -> None:
    r = market_returns(4, days=300, assets=5)
    x = k.ewma_scale_kernel(r, 0.94)
    np.testing.assert_allclose(x.T @ x, kernels.ewma_covariance_kernel(r, 0.94), rtol=1e-12)


def test_ledoit_wolf_shrink_matches_the_one_kernel(k) -> None:
    r = market_returns(5, days=250, assets=9)
    x = r - r.mean(axis=0)
    shrunk, intensity = k.ledoit_wolf_shrink_kernel(x, x.T @ x / r.shape[0])
    ref, ref_intensity = kernels.ledoit_wolf_kernel(r)
    np.testing.assert_allclose(shrunk, ref, rtol=1e-12)
    assert intensity == pytest.approx(ref_intensity, rel=1e-12)


@pytest.mark.parametrize("c", [0.9, 0.95, 0.99])
@pytest.mark.parametrize("n", [50, 997, 4000])
def test_small_tail_equals_full_partition(k, n: int, c: float) -> None:
    pnl = np.random.default_rng(n).standard_t(4, n)
    m = n * (1 - c)
    kk = max(1, math.ceil(m - kernels.TAIL_EPS))
    kw, kb = max(1, kk - 3), min(n, kk + 4)
    got = k.small_tail_kernel(pnl, m, kk, kw, kb)
    ref = kernels.tail_from_partition_kernel(np.sort(pnl), m, kk, kw, kb)
    np.testing.assert_allclose(got, ref, rtol=1e-12)


@pytest.mark.parametrize("c", [0.95, 0.99, 0.999])
def test_historical_tail_selects_by_size_with_one_result(c: float) -> None:
    pnl = np.random.default_rng(7).normal(0.0, 1.0, 20_000)  # long tail: numpy's introselect
    got = kernels.historical_tail_kernel(pnl, c, var.Z_CI)
    s = np.sort(pnl)
    m = pnl.shape[0] * (1 - c)
    kk = math.ceil(m - kernels.TAIL_EPS)
    assert got[kernels.TAIL_VAR] == -s[kk - 1]
    assert got[kernels.TAIL_ES] == pytest.approx(
        -(s[: kk - 1].sum() + (m - kk + 1) * s[kk - 1]) / m
    )


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # interpreted: numpy scalars
def test_pnl_moments_match_numpy(k) -> None:
    pnl = np.random.default_rng(2).standard_t(5, 1000) * 1e4
    mom = k.pnl_moments_kernel(pnl)
    d = pnl - pnl.mean()
    assert mom[kernels.MOM_FINITE] == 1.0
    assert mom[kernels.MOM_MEAN] == pytest.approx(pnl.mean(), rel=1e-12)
    for p, col in ((2, kernels.MOM_M2), (3, kernels.MOM_M3), (4, kernels.MOM_M4)):
        assert mom[col] == pytest.approx(np.mean(d**p), rel=1e-10)
    assert (mom[kernels.MOM_MIN], mom[kernels.MOM_MAX]) == (pnl.min(), pnl.max())
    bad = pnl.copy()
    bad[3] = np.nan
    assert k.pnl_moments_kernel(bad)[kernels.MOM_FINITE] == 0.0
    huge = np.array([1e200, -1e200, 3e200])
    assert k.pnl_moments_kernel(huge)[kernels.MOM_FINITE] == 0.0  # d^4 overflows


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # interpreted: numpy scalars
def test_covariance_check_codes(k) -> None:
    cov = np.cov(market_returns(6, days=100, assets=4), rowvar=False)
    assert k.covariance_check_kernel(cov, 1e-12) == 0
    nearly = cov.copy()
    nearly[0, 1] *= 1 + 1e-15  # asymmetric only by rounding: accepted by the exact check
    assert k.covariance_check_kernel(nearly, 1e-12) == 0
    asym = cov.copy()
    asym[0, 1] *= 2.0
    assert k.covariance_check_kernel(asym, 1e-12) == kernels.COV_ASYMMETRIC
    neg = cov.copy()
    neg[2, 2] = -1e-6
    assert k.covariance_check_kernel(neg, 1e-12) == kernels.COV_NEGATIVE_DIAG
    for bad in (np.nan, np.inf):
        m = cov.copy()
        m[1, 3] = m[3, 1] = bad
        assert k.covariance_check_kernel(m, 1e-12) == kernels.COV_NOT_FINITE
        m = cov.copy()
        m[2, 2] = bad
        assert k.covariance_check_kernel(m, 1e-12) == kernels.COV_NOT_FINITE


def test_euler_kernel_matches_numpy(k) -> None:
    r = market_returns(8, days=300, assets=6)
    cov = np.cov(r, rowvar=False)
    w = np.linspace(-2e4, 5e4, 6)
    mu = r.mean(axis=0)
    z, es_scale = var.normal_constants(0.99)
    variance, total, es, out = k.euler_kernel(cov, w, mu, z, es_scale, 5)
    cw = cov @ w
    sigma = math.sqrt(w @ cw)
    assert variance == pytest.approx(w @ cw, rel=1e-12)
    assert total == pytest.approx(-5 * mu @ w + z * math.sqrt(5) * sigma, rel=1e-12)
    assert es == pytest.approx(-5 * mu @ w + es_scale * math.sqrt(5) * sigma, rel=1e-12)
    marginal = -5 * mu + z * math.sqrt(5) * cw / sigma
    np.testing.assert_allclose(out[kernels.EULER_MARGINAL], marginal, rtol=1e-10)
    np.testing.assert_allclose(out[kernels.EULER_COMPONENT].sum(), total, rtol=1e-10)
    np.testing.assert_allclose(out[kernels.EULER_COMPONENT_ES].sum(), es, rtol=1e-10)
    _, _, _, flat = k.euler_kernel(np.zeros((2, 2)), np.ones(2), np.zeros(2), z, es_scale, 1)
    assert np.isnan(flat).all()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # interpreted: numpy scalars
def test_linear_pnl_and_finiteness(k) -> None:
    r = market_returns(9, days=120, assets=5)
    w = np.array([1.0, 0.0, -2.0, 3.0, 0.5])
    pnl, ok = k.linear_pnl_kernel(r, w)
    np.testing.assert_allclose(pnl, r @ w, rtol=1e-12)
    assert ok
    r[7, 1] = np.inf  # under a zero weight: must still be reported
    assert not k.linear_pnl_kernel(r, w)[1]
    assert k.all_finite_kernel(pnl)
    pnl[5] = np.nan
    assert not k.all_finite_kernel(pnl)
    cov = np.cov(market_returns(9, days=120, assets=5), rowvar=False)
    assert k.quadratic_value_kernel(cov, w) == pytest.approx(w @ cov @ w, rel=1e-12)


def test_covariance_optimistic_path_falls_back_for_missing_days() -> None:
    r = market_returns(10, days=200, assets=4)
    holes = r.copy()
    holes[[3, 50], [0, 2]] = np.nan
    for est in ("sample", "ewma", "ledoit_wolf"):
        got = corr.estimate_covariance(holes, est)
        want = corr.estimate_covariance(corr.common_window(holes), est)
        np.testing.assert_allclose(got.covariance, want.covariance, rtol=1e-12)
        assert got.n_observations == 198


def test_covariance_of_overflowing_returns_raises() -> None:
    r = np.full((5, 2), 1e200) * np.array([[1.0], [-1.0], [1.0], [-1.0], [1.0]])
    with pytest.raises(ValidationError, match="overflows"):
        corr.estimate_covariance(r, "sample")
    with pytest.raises(ValidationError, match="overflows"):
        corr.estimate_covariance(r, "sample", missing="pairwise")
    inf = np.ones((5, 2))
    inf[2, 1] = np.inf
    with pytest.raises(ValidationError, match="finite"):
        corr.estimate_covariance(inf, "ewma")
    with pytest.raises(ValidationError, match="fewer than 2"):
        corr.estimate_covariance(np.array([[np.nan, 1.0], [1.0, np.nan], [2.0, 3.0]]))


def test_incremental_var_rejects_bad_exposures_and_accepts_lists() -> None:
    inc = corr.IncrementalCovariance(3)
    inc.extend(market_returns(11, days=50, assets=3))
    a = inc.parametric_var([1e4, 2e4, -1e4], 0.99)
    b = inc.parametric_var(np.array([1e4, 2e4, -1e4]), 0.99)
    assert a.var == b.var
    with pytest.raises(ValidationError):
        inc.parametric_var(np.array([1e4, np.nan, 1.0]), 0.99)


# -- Monte Carlo samplers -------------------------------------------------------------------


@pytest.mark.parametrize("full", [True, False])
def test_sobol_sampler_is_reproducible_and_agrees_with_pseudo(full: bool) -> None:
    cov = np.cov(market_returns(12, days=300, assets=4), rowvar=False)
    w = np.array([3e4, -1e4, 2e4, 1e4])
    kw: dict[str, Any] = {"n_paths": 8_192, "full": full}
    a = montecarlo.monte_carlo_var(cov, w, 0.99, seed=5, sampler="sobol", **kw)
    b = montecarlo.monte_carlo_var(cov, w, 0.99, seed=5, sampler="sobol", **kw)
    c = montecarlo.monte_carlo_var(cov, w, 0.99, seed=6, sampler="sobol", **kw)
    assert a.var == b.var and a.expected_shortfall == b.expected_shortfall
    assert a.var != c.var
    exact = var.parametric_var(cov, w, 0.99, n_observations=300)
    assert a.var == pytest.approx(exact.var, rel=0.03)
    assert "Sobol" in a.estimator


def test_sobol_student_t_and_unknown_sampler() -> None:
    cov = np.eye(2) * 1e-4
    got = montecarlo.monte_carlo_var(
        cov, [1e5, 1e5], 0.99, n_paths=4_096, seed=1, sampler="sobol", student_t=True
    )
    assert got.expected_shortfall >= got.var > 0
    with pytest.raises(ValidationError) as err:
        montecarlo.monte_carlo_var(cov, [1.0, 1.0], 0.99, n_paths=1_000, seed=1, sampler="halton")
    assert err.value.field == "sampler"


def test_monte_carlo_without_antithetic_and_with_drift() -> None:
    cov = np.eye(2) * 1e-4
    a = montecarlo.simulate_pnl(
        cov, [1e5, 1e5], n_paths=1_000, seed=3, full=False, antithetic=False
    )
    b = montecarlo.simulate_pnl(
        cov, [1e5, 1e5], n_paths=1_000, seed=3, full=False, mean=[0.01, 0.0]
    )
    assert a.shape == b.shape == (1_000,)
    assert b.mean() == pytest.approx(1e3, rel=1e-9)  # antithetic pairs cancel around the drift


def test_monte_carlo_overflowing_pnl_raises() -> None:
    with pytest.raises(ValidationError):
        montecarlo.monte_carlo_var(np.eye(2) * 1e300, [1e300, 1e300], 0.95, n_paths=1_000, seed=1)


@pytest.mark.parametrize("method", ["parametric_normal", "historical"])
def test_large_returns_matrix_takes_numpy_blas_with_the_same_checks(method: str) -> None:
    r = np.random.default_rng(13).normal(0.0, 0.01, (400, 700))  # >= LARGE_MATRIX values
    assert r.size >= var.LARGE_MATRIX
    w = np.random.default_rng(14).normal(1e4, 5e3, 700)
    got = var.var_from_returns(r, w, 0.99, 1, method)
    small = var.var_from_returns(r[:, :300], w[:300], 0.99, 1, method)
    assert got.var > 0 and small.var > 0
    w[5] = 0.0
    r[9, 5] = np.nan
    with pytest.raises(ValidationError) as err:
        var.var_from_returns(r, w, 0.99, 1, method)
    assert err.value.field == "returns"
    r[9, 5] = 1e300
    w[5] = 1e300
    with pytest.raises(ValidationError) as err:
        var.var_from_returns(r, w, 0.99, 1, method)
    assert err.value.field == "exposures"


@pytest.mark.parametrize("order", ["random", "ascending", "descending", "ties"])
@pytest.mark.parametrize("c", [0.95, 0.99, 0.999])
def test_threshold_tail_of_long_samples_equals_a_full_sort(order: str, c: float) -> None:
    pnl = np.random.default_rng(21).standard_t(3, 60_000)
    if order == "ascending":
        pnl = np.sort(pnl)
    elif order == "descending":
        pnl = np.sort(pnl)[::-1].copy()
    elif order == "ties":  # every value at the threshold: the buffer overflows, numpy selects
        pnl = np.round(pnl)
    got = kernels.historical_tail_kernel(pnl, c, var.Z_CI)
    n = pnl.shape[0]
    m = n * (1 - c)
    kk = max(1, math.ceil(m - kernels.TAIL_EPS))
    half = var.Z_CI * math.sqrt(n * c * (1 - c))
    kw = max(1, min(kk, math.floor(m - half + kernels.TAIL_EPS)))
    kb = max(kk, min(n, math.ceil(m + half - kernels.TAIL_EPS)))
    want = kernels.tail_from_partition_kernel(np.sort(pnl), m, kk, kw, kb)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_threshold_tail_reports_overflow_as_empty(k) -> None:
    assert k.threshold_tail_kernel(np.zeros(30_000), 300.0, 300, 270, 330).shape == (0,)
    pnl = np.random.default_rng(2).normal(0.0, 1.0, 30_000)
    assert k.threshold_tail_kernel(pnl, 300.0, 300, 270, 330).shape == (kernels.TAIL_WIDTH,)
