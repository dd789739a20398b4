"""Each kernel and its pure reference pass the same assertions ("one test, two implementations")."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
from sklearn.covariance import LedoitWolf

from services.analytics.core import kernels

from . import reference
from .conftest import market_returns

RTOL = 1e-9


def test_sample_covariance_matches_numpy_cov(impl: types.SimpleNamespace, random_returns) -> None:
    for ddof in (0, 1):
        got = impl.sample_covariance(random_returns, ddof)
        np.testing.assert_allclose(got, np.cov(random_returns.T, ddof=ddof), rtol=RTOL)


def test_sample_covariance_too_few_rows_returns_nan_sentinel(impl) -> None:
    got = impl.sample_covariance(np.ones((1, 3)), 1)
    assert np.isnan(got).all()


def test_sample_covariance_is_exactly_symmetric(impl, generated_returns) -> None:
    got = impl.sample_covariance(generated_returns, 1)
    assert np.array_equal(got, got.T)


def test_pairwise_covariance_without_nan_equals_sample(impl, random_returns) -> None:
    got = impl.pairwise_covariance(random_returns, 1)
    np.testing.assert_allclose(got, np.cov(random_returns.T), rtol=RTOL)


def test_pairwise_covariance_with_gaps_uses_shared_days(impl, random_returns) -> None:
    r = random_returns.copy()
    r[:40, 0] = np.nan
    r[100:130, 2] = np.nan
    got = impl.pairwise_covariance(r, 1)
    ok = ~(np.isnan(r[:, 0]) | np.isnan(r[:, 2]))
    expected = np.cov(r[ok, 0], r[ok, 2])[0, 1]
    assert got[0, 2] == pytest.approx(expected, rel=RTOL)
    assert got[1, 1] == pytest.approx(np.var(r[:, 1], ddof=1), rel=RTOL)


def test_pairwise_covariance_disjoint_pair_returns_nan_sentinel(impl) -> None:
    r = np.array([[0.01, np.nan], [0.02, np.nan], [np.nan, 0.01], [np.nan, 0.03]])
    got = impl.pairwise_covariance(r, 1)
    assert np.isnan(got[0, 1])
    assert not np.isnan(got[0, 0])


@pytest.mark.parametrize("lam", [0.5, 0.94, 0.97, 0.995])
def test_ewma_covariance_matches_weighted_outer_products(impl, random_returns, lam) -> None:
    got = impl.ewma_covariance(random_returns, lam)
    t = random_returns.shape[0]
    w = np.array([(1 - lam) * lam ** (t - 1 - i) for i in range(t)])
    w /= w.sum()
    expected = sum(w[i] * np.outer(random_returns[i], random_returns[i]) for i in range(t))
    np.testing.assert_allclose(got, expected, rtol=RTOL)


def test_ewma_covariance_recursion_with_normalised_start_matches(impl, random_returns) -> None:
    lam = 0.94
    r = random_returns
    cov = np.zeros((r.shape[1], r.shape[1]))
    for row in r:
        cov = lam * cov + (1 - lam) * np.outer(row, row)
    cov /= 1 - lam ** r.shape[0]
    np.testing.assert_allclose(impl.ewma_covariance(r, lam), cov, rtol=RTOL)


def test_ledoit_wolf_matches_sklearn(impl, generated_returns) -> None:
    cov, shrink = impl.ledoit_wolf(generated_returns)
    model = LedoitWolf().fit(generated_returns)
    np.testing.assert_allclose(cov, model.covariance_, rtol=RTOL)
    assert shrink == pytest.approx(model.shrinkage_, rel=RTOL)


def test_ledoit_wolf_many_assets_few_days_matches_sklearn(impl) -> None:
    r = market_returns(5, days=60, assets=40)
    cov, shrink = impl.ledoit_wolf(r)
    model = LedoitWolf().fit(r)
    np.testing.assert_allclose(cov, model.covariance_, rtol=RTOL)
    assert 0.0 < shrink <= 1.0


def test_quadratic_form_matches_matrix_product(impl, random_returns) -> None:
    cov = np.cov(random_returns.T)
    w = np.linspace(-1e5, 2e5, cov.shape[0])
    var, cw = impl.quadratic_form(cov, w)
    assert var == pytest.approx(float(w @ cov @ w), rel=RTOL)
    np.testing.assert_allclose(cw, cov @ w, rtol=RTOL)


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.975, 0.99, 0.999])
def test_historical_tail_var_is_kth_largest_loss(impl, confidence) -> None:
    pnl = np.random.default_rng(3).normal(0, 1000, 1000)
    out = impl.historical_tail(pnl, confidence, 1.96)
    k = math.ceil(round(1000 * (1 - confidence), 9))
    losses = np.sort(-pnl)[::-1]
    assert out[kernels.TAIL_VAR] == pytest.approx(losses[k - 1], rel=RTOL)
    assert out[kernels.TAIL_COUNT] == k


def test_historical_tail_integer_tail_es_is_plain_mean(impl) -> None:
    pnl = np.arange(1.0, 101.0) - 50.0  # 100 observations, 5% tail is exactly 5 points
    out = impl.historical_tail(pnl, 0.95, 1.96)
    assert out[kernels.TAIL_VAR] == 45.0
    assert out[kernels.TAIL_ES] == pytest.approx(np.mean([49, 48, 47, 46, 45]), rel=RTOL)


def test_historical_tail_fractional_tail_weights_boundary(impl) -> None:
    pnl = -np.arange(1.0, 11.0)  # losses 1..10; c = 0.85 -> m = 1.5
    out = impl.historical_tail(pnl, 0.85, 1.96)
    assert out[kernels.TAIL_VAR] == 9.0
    assert out[kernels.TAIL_ES] == pytest.approx((10.0 + 0.5 * 9.0) / 1.5, rel=RTOL)


def test_historical_tail_ci_brackets_var(impl) -> None:
    pnl = np.random.default_rng(4).standard_t(4, 2000) * 100
    out = impl.historical_tail(pnl, 0.99, 1.96)
    assert out[kernels.TAIL_CI_LOWER] <= out[kernels.TAIL_VAR] <= out[kernels.TAIL_CI_UPPER]
    assert out[kernels.TAIL_CI_LOWER] < out[kernels.TAIL_CI_UPPER]


def test_historical_tail_empty_returns_nan_sentinel(impl) -> None:
    assert np.isnan(impl.historical_tail(np.empty(0), 0.95, 1.96)).all()


def test_historical_tail_kernel_equals_reference_on_generated_pnl() -> None:
    pnl = market_returns(8) @ np.linspace(1e4, 5e4, 12)
    for c in (0.9, 0.95, 0.99):
        np.testing.assert_allclose(
            kernels.historical_tail_kernel(pnl, c, 1.96),
            reference.historical_tail(pnl, c, 1.96),
            rtol=RTOL,
        )


def test_weighted_tail_equal_weights_matches_equal_weight_var(impl) -> None:
    pnl = np.random.default_rng(5).normal(0, 1, 400)
    w = np.full(400, 1 / 400)
    got = impl.weighted_tail(pnl, w, 0.95, 1.96)
    flat = reference.historical_tail(pnl, 0.95, 1.96)
    assert got[kernels.TAIL_VAR] == pytest.approx(flat[kernels.TAIL_VAR], rel=RTOL)
    assert got[kernels.TAIL_ES] == pytest.approx(flat[kernels.TAIL_ES], rel=RTOL)


def test_weighted_tail_heavy_recent_loss_dominates(impl) -> None:
    pnl = np.zeros(100)
    pnl[-1] = -50.0
    w = np.full(100, 0.001)
    w[-1] = 1.0 - 0.099
    got = impl.weighted_tail(pnl, w, 0.95, 1.96)
    assert got[kernels.TAIL_VAR] == 50.0
    assert got[kernels.TAIL_ES] == 50.0


def test_weighted_tail_kernel_equals_reference_on_age_weights() -> None:
    pnl = market_returns(9)[:, 0] * 1e6
    lam = 0.98
    ages = np.arange(pnl.shape[0] - 1, -1, -1)
    w = lam**ages * (1 - lam) / (1 - lam ** pnl.shape[0])
    for c in (0.9, 0.95, 0.99):
        np.testing.assert_allclose(
            kernels.weighted_tail_kernel(pnl, w, c, 1.96),
            reference.weighted_tail(pnl, w, c, 1.96),
            rtol=RTOL,
        )


def test_weighted_tail_empty_returns_nan_sentinel(impl) -> None:
    assert np.isnan(impl.weighted_tail(np.empty(0), np.empty(0), 0.95, 1.96)).all()


def test_welford_update_matches_batch_covariance(impl, generated_returns) -> None:
    n = generated_returns.shape[1]
    mean, m2, count = np.zeros(n), np.zeros((n, n)), 0
    for row in generated_returns:
        count = impl.welford_update(mean, m2, count, row.copy())
    np.testing.assert_allclose(mean, generated_returns.mean(axis=0), rtol=RTOL)
    np.testing.assert_allclose(m2 / (count - 1), np.cov(generated_returns.T), rtol=1e-8)


def test_welford_update_large_offset_keeps_precision(impl) -> None:
    rng = np.random.default_rng(6)
    rows = 1e6 + rng.normal(0, 1e-3, (500, 2))
    mean, m2, count = np.zeros(2), np.zeros((2, 2)), 0
    for row in rows:
        count = impl.welford_update(mean, m2, count, row.copy())
    np.testing.assert_allclose(m2 / (count - 1), np.cov(rows.T), rtol=1e-6)


def test_drawdown_matches_cummax_formula(impl, generated_returns) -> None:
    r = generated_returns[:, 0]
    mdd, idx = impl.drawdown(r)
    wealth = np.concatenate(([1.0], np.cumprod(1 + r)))
    dd = wealth / np.maximum.accumulate(wealth) - 1
    assert mdd == pytest.approx(dd.min(), rel=RTOL)
    assert idx[kernels.DD_TROUGH] == int(np.argmin(dd))


def test_drawdown_known_path_dates_peak_trough_recovery(impl) -> None:
    r = np.array([0.10, -0.20, 0.05, 0.20, 0.01])
    mdd, idx = impl.drawdown(r)
    assert mdd == pytest.approx(-0.20, rel=RTOL)
    assert list(idx) == [1, 2, 4]


def test_drawdown_never_recovered_reports_minus_one(impl) -> None:
    _mdd, idx = impl.drawdown(np.array([0.05, -0.10, 0.01]))
    assert idx[kernels.DD_RECOVERY] == -1
    assert idx[kernels.DD_PEAK] == 1


def test_drawdown_from_inception_peak(impl) -> None:
    mdd, idx = impl.drawdown(np.array([-0.10, 0.05, 0.10]))
    assert list(idx) == [0, 1, 3]
    assert mdd == pytest.approx(-0.10)


def test_drawdown_rising_series_has_none(impl) -> None:
    mdd, idx = impl.drawdown(np.array([0.01, 0.02, 0.0]))
    assert mdd == 0.0
    assert list(idx) == [-1, -1, -1]


def test_warm_up_compiles_every_kernel() -> None:
    kernels.warm_up()
    for name in ("sample_covariance_kernel", "ledoit_wolf_kernel", "tail_from_partition_kernel"):
        assert getattr(kernels, name).signatures


def test_welford_remove_rolls_the_window(impl, generated_returns) -> None:
    n = generated_returns.shape[1]
    mean, m2, count = np.zeros(n), np.zeros((n, n)), 0
    for row in generated_returns[:300]:
        count = impl.welford_update(mean, m2, count, row.copy())
    for row in generated_returns[:100]:
        count = impl.welford_remove(mean, m2, count, row.copy())
    window = generated_returns[100:300]
    assert count == 200
    np.testing.assert_allclose(mean, window.mean(axis=0), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(m2 / (count - 1), np.cov(window.T), rtol=1e-8, atol=1e-15)


def test_welford_remove_last_row_resets_and_empty_returns_sentinel(impl) -> None:
    mean, m2 = np.zeros(2), np.zeros((2, 2))
    count = impl.welford_update(mean, m2, 0, np.array([0.01, 0.02]))
    count = impl.welford_remove(mean, m2, count, np.array([0.01, 0.02]))
    assert count == 0
    assert not mean.any() and not m2.any()
    assert impl.welford_remove(mean, m2, 0, np.array([0.01, 0.02])) == -1


@pytest.mark.parametrize("confidence", [0.9, 0.99, 0.999])
def test_tail_from_partition_interpreted_equals_compiled(confidence: float) -> None:
    pnl = np.random.default_rng(12).standard_t(3, 3000)
    compiled = kernels.historical_tail_kernel(pnl, confidence, 1.96)
    k = int(compiled[kernels.TAIL_COUNT])
    m = 3000 * (1 - confidence)
    part = np.sort(pnl)
    k_worse = int(np.searchsorted(part, -compiled[kernels.TAIL_CI_UPPER])) + 1
    k_better = int(np.searchsorted(part, -compiled[kernels.TAIL_CI_LOWER])) + 1
    interpreted = kernels.tail_from_partition_kernel.py_func(part, m, k, k_worse, k_better)
    np.testing.assert_allclose(interpreted, compiled, rtol=1e-12)
    single = kernels.tail_from_partition_kernel.py_func(part, 0.5, 1, 1, 1)
    assert single[kernels.TAIL_LOSS_VARIANCE] == 0.0


def test_weighted_quantile_index_interpreted_equals_compiled() -> None:
    w = np.full(10, 0.1)
    pnl = np.arange(10.0)
    for alpha in (0.05, 0.1, 0.25, 0.999, 2.0):
        assert kernels._weighted_quantile_loss.py_func(
            pnl, w, alpha
        ) == kernels._weighted_quantile_loss(pnl, w, alpha)
