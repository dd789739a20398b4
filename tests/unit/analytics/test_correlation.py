"""Sample, EWMA and Ledoit-Wolf covariance/correlation; missing data; PSD repair; Welford."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.covariance import LedoitWolf

from nexus.errors import ValidationError
from services.analytics.core import correlation as corr

from . import reference
from .conftest import market_returns

RTOL = 1e-9
SYMBOLS = [f"S{i}" for i in range(12)]


def _corr_from_cov(cov: np.ndarray) -> np.ndarray:
    d = np.sqrt(np.diag(cov))
    return cov / np.outer(d, d)


def _is_psd(m: np.ndarray, tol: float = 1e-10) -> bool:
    return bool(np.linalg.eigvalsh(m)[0] >= -tol)


# -- estimators against references ---------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("ddof", [0, 1])
def test_sample_covariance_matches_numpy(seed: int, ddof: int) -> None:
    r = market_returns(seed)
    got = corr.estimate_covariance(r, "sample", ddof=ddof)
    np.testing.assert_allclose(got.covariance, np.cov(r.T, ddof=ddof), rtol=RTOL)
    assert got.ddof == ddof
    assert got.n_observations == r.shape[0]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sample_correlation_matches_numpy_corrcoef(seed: int) -> None:
    r = market_returns(seed)
    got = corr.correlation_matrix(r, SYMBOLS, "sample")
    np.testing.assert_allclose(np.array(got.matrix), np.corrcoef(r.T), rtol=RTOL, atol=1e-15)
    np.testing.assert_allclose(got.volatilities, r.std(axis=0, ddof=1), rtol=RTOL)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("lam", [0.94, 0.97])
def test_ewma_covariance_matches_reference(seed: int, lam: float) -> None:
    r = market_returns(seed)
    got = corr.estimate_covariance(r, "ewma", ewma_lambda=lam)
    np.testing.assert_allclose(got.covariance, reference.ewma_covariance(r, lam), rtol=RTOL)
    assert got.ewma_lambda == lam


def test_ewma_correlation_reports_lambda_and_estimator() -> None:
    got = corr.correlation_matrix(market_returns(1), SYMBOLS, "ewma", ewma_lambda=0.9)
    assert got.estimator == "ewma"
    assert got.ewma_lambda == 0.9
    assert got.ddof is None


def test_ewma_default_lambda_is_riskmetrics() -> None:
    got = corr.estimate_covariance(market_returns(1), "ewma")
    assert got.ewma_lambda == 0.94


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_ledoit_wolf_matches_sklearn(seed: int) -> None:
    r = market_returns(seed)
    got = corr.estimate_covariance(r, corr.Estimator.LEDOIT_WOLF)
    model = LedoitWolf().fit(r)
    np.testing.assert_allclose(got.covariance, model.covariance_, rtol=RTOL)
    assert got.shrinkage_intensity == pytest.approx(model.shrinkage_, rel=RTOL)


def test_ledoit_wolf_matches_paper_formula_reference() -> None:
    r = market_returns(5, days=120, assets=30)
    cov, shrink = reference.ledoit_wolf(r)
    got = corr.estimate_covariance(r, "ledoit_wolf")
    np.testing.assert_allclose(got.covariance, cov, rtol=RTOL)
    assert got.shrinkage_intensity == pytest.approx(shrink, rel=RTOL)


def test_ledoit_wolf_correlation_reports_target_and_intensity() -> None:
    got = corr.correlation_matrix(market_returns(1), SYMBOLS, "ledoit_wolf")
    assert got.shrinkage_target == "scaled identity (average variance)"
    assert 0.0 <= got.shrinkage_intensity <= 1.0
    lw = LedoitWolf().fit(market_returns(1)).covariance_
    np.testing.assert_allclose(np.array(got.matrix), _corr_from_cov(lw), rtol=RTOL, atol=1e-15)


def test_ledoit_wolf_shrinks_more_with_fewer_days() -> None:
    few = corr.estimate_covariance(market_returns(1, days=40, assets=12), "ledoit_wolf")
    many = corr.estimate_covariance(market_returns(1, days=2000, assets=12), "ledoit_wolf")
    assert few.shrinkage_intensity > many.shrinkage_intensity


def test_ledoit_wolf_more_assets_than_days_is_positive_definite() -> None:
    r = market_returns(2, days=30, assets=60)
    got = corr.estimate_covariance(r, "ledoit_wolf")
    assert np.linalg.eigvalsh(got.covariance)[0] > 0


# -- missing data --------------------------------------------------------------------------


def _with_gaps(seed: int = 1) -> np.ndarray:
    r = market_returns(seed, days=300, assets=4).copy()
    r[:60, 1] = np.nan  # a history that starts later
    r[[100, 150, 151], 2] = np.nan  # holidays
    return r


def test_common_window_drops_rows_with_any_nan() -> None:
    r = _with_gaps()
    got = corr.estimate_covariance(r, "sample")
    clean = r[~np.isnan(r).any(axis=1)]
    np.testing.assert_allclose(got.covariance, np.cov(clean.T), rtol=RTOL)
    assert got.n_observations == 300 - 60 - 3
    assert got.missing_policy is corr.MissingPolicy.COMMON_WINDOW


@pytest.mark.parametrize("estimator", ["ewma", "ledoit_wolf"])
def test_common_window_applies_to_every_estimator(estimator: str) -> None:
    r = _with_gaps()
    clean = np.ascontiguousarray(r[~np.isnan(r).any(axis=1)])
    a = corr.estimate_covariance(r, estimator)
    b = corr.estimate_covariance(clean, estimator)
    np.testing.assert_allclose(a.covariance, b.covariance, rtol=RTOL)


def test_pairwise_policy_uses_shared_days_per_pair() -> None:
    r = _with_gaps()
    got = corr.estimate_covariance(r, "sample", missing="pairwise")
    np.testing.assert_allclose(got.covariance, reference.pairwise_covariance(r, 1), rtol=RTOL)
    assert got.n_observations == 300


def test_pairwise_correlation_is_psd_after_repair() -> None:
    rng = np.random.default_rng(0)
    r = rng.normal(0, 0.01, (30, 3))
    r[:, 1] = r[:, 0] + rng.normal(0, 0.001, 30)
    r[10:, 0] = np.nan  # 0 and 1 agree early, 0 and 2 only early, 1 and 2 late
    r[:, 2] = -r[:, 1] + rng.normal(0, 0.001, 30)
    r[:10, 2] = r[:10, 0]
    got = corr.correlation_matrix(r, ["A", "B", "C"], "sample", missing="pairwise")
    m = np.array(got.matrix)
    assert got.psd_repaired
    assert got.repair_method == "Higham 2002 nearest correlation"
    assert _is_psd(m)
    np.testing.assert_array_equal(np.diag(m), 1.0)


def test_pairwise_with_non_sample_estimator_raises() -> None:
    with pytest.raises(ValidationError) as err:
        corr.estimate_covariance(_with_gaps(), "ewma", missing="pairwise")
    assert err.value.field == "missing"


def test_pairwise_disjoint_histories_raise() -> None:
    r = np.full((6, 2), np.nan)
    r[:3, 0] = [0.01, 0.02, 0.03]
    r[3:, 1] = [0.01, 0.02, 0.03]
    with pytest.raises(ValidationError) as err:
        corr.estimate_covariance(r, "sample", missing="pairwise")
    assert err.value.field == "returns"


def test_common_window_too_short_raises() -> None:
    r = np.array([[0.01, np.nan], [np.nan, 0.02], [0.01, 0.03]])
    with pytest.raises(ValidationError) as err:
        corr.estimate_covariance(r, "sample")
    assert err.value.field == "returns"


def test_common_window_without_nan_returns_same_array() -> None:
    r = market_returns(1, days=10, assets=2)
    assert corr.common_window(r) is r


# -- invariants and repair -----------------------------------------------------------------


@pytest.mark.parametrize("estimator", ["sample", "ewma", "ledoit_wolf"])
def test_correlation_is_symmetric_unit_diagonal_psd(estimator: str) -> None:
    got = corr.correlation_matrix(market_returns(7), SYMBOLS, estimator)
    m = np.array(got.matrix)
    np.testing.assert_array_equal(m, m.T)
    np.testing.assert_array_equal(np.diag(m), 1.0)
    assert _is_psd(m)
    assert not got.psd_repaired
    assert got.min_eigenvalue >= -1e-12


def test_zero_variance_asset_gets_zero_correlation() -> None:
    r = market_returns(1, days=100, assets=3).copy()
    r[:, 1] = 0.0
    got = corr.correlation_matrix(r, ["A", "B", "C"])
    m = np.array(got.matrix)
    assert m[0, 1] == 0.0
    assert m[1, 1] == 1.0
    assert got.volatilities[1] == 0.0


def test_nearest_correlation_of_valid_matrix_is_unchanged() -> None:
    m = np.corrcoef(market_returns(3).T)
    np.testing.assert_allclose(corr.nearest_correlation(m), m, atol=1e-10)


def test_nearest_correlation_repairs_indefinite_matrix() -> None:
    bad = np.array([[1.0, 0.9, 0.7], [0.9, 1.0, -0.4], [0.7, -0.4, 1.0]])
    assert np.linalg.eigvalsh(bad)[0] < 0
    fixed = corr.nearest_correlation(bad)
    assert _is_psd(fixed)
    np.testing.assert_array_equal(np.diag(fixed), 1.0)
    np.testing.assert_array_equal(fixed, fixed.T)
    assert np.abs(fixed - bad).max() < 0.25


def test_nearest_correlation_reproduces_higham_2002_example() -> None:
    a = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    expected = np.array(
        [
            [1.0, 0.76068985, 0.15729811],
            [0.76068985, 1.0, 0.76068985],
            [0.15729811, 0.76068985, 1.0],
        ]
    )
    np.testing.assert_allclose(corr.nearest_correlation(a), expected, atol=1e-6)


def test_nearest_correlation_is_closer_than_eigenvalue_clipping() -> None:
    bad = np.array([[1.0, 0.9, 0.7], [0.9, 1.0, -0.4], [0.7, -0.4, 1.0]])
    values, vectors = np.linalg.eigh(bad)
    clipped = (vectors * np.clip(values, 0, None)) @ vectors.T
    d = np.sqrt(np.diag(clipped))
    clipped = clipped / np.outer(d, d)
    fixed = corr.nearest_correlation(bad)
    assert np.linalg.norm(fixed - bad) <= np.linalg.norm(clipped - bad) + 1e-9


@settings(deadline=None, max_examples=40)
@given(
    seed=st.integers(0, 100_000),
    days=st.integers(5, 60),
    assets=st.integers(2, 8),
    estimator=st.sampled_from(["sample", "ewma", "ledoit_wolf"]),
)
def test_correlation_invariants_hold_on_random_data(seed, days, assets, estimator) -> None:
    r = np.random.default_rng(seed).normal(0, 0.01, (days, assets))
    got = corr.correlation_matrix(r, [f"X{i}" for i in range(assets)], estimator)
    m = np.array(got.matrix)
    np.testing.assert_array_equal(m, m.T)
    np.testing.assert_array_equal(np.diag(m), 1.0)
    assert (np.abs(m) <= 1.0).all()
    assert _is_psd(m, 1e-9)


@settings(deadline=None, max_examples=30)
@given(seed=st.integers(0, 100_000), frac=st.floats(0.05, 0.4))
def test_pairwise_correlation_with_random_gaps_is_psd(seed: int, frac: float) -> None:
    rng = np.random.default_rng(seed)
    r = rng.normal(0, 0.01, (40, 5))
    r[rng.random((40, 5)) < frac] = np.nan
    try:
        got = corr.correlation_matrix(r, list("ABCDE"), "sample", missing="pairwise")
    except ValidationError:
        return  # a pair without two shared days is refused, never crashes
    m = np.array(got.matrix)
    assert _is_psd(m, 1e-9)
    np.testing.assert_array_equal(np.diag(m), 1.0)


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"estimator": "garch"}, "estimator"),
        ({"missing": "fill_forward"}, "missing"),
        ({"ddof": 2}, "ddof"),
        ({"ddof": True}, "ddof"),
        ({"estimator": "ewma", "ewma_lambda": 1.0}, "ewma_lambda"),
        ({"estimator": "ewma", "ewma_lambda": 0.0}, "ewma_lambda"),
    ],
)
def test_estimate_covariance_bad_options_raise_with_field(kwargs, field) -> None:
    with pytest.raises(ValidationError) as err:
        corr.estimate_covariance(market_returns(1, days=20, assets=2), **kwargs)
    assert err.value.field == field


@pytest.mark.parametrize(
    "returns", [[1.0, 2.0], [[np.inf, 1.0], [1.0, 2.0]], "abc", np.zeros((0, 2))]
)
def test_estimate_covariance_bad_returns_raise(returns) -> None:
    with pytest.raises(ValidationError) as err:
        corr.estimate_covariance(returns)
    assert err.value.field == "returns"


def test_correlation_symbols_must_match_columns() -> None:
    with pytest.raises(ValidationError) as err:
        corr.correlation_matrix(market_returns(1, days=20, assets=3), ["A", "B"])
    assert err.value.field == "symbols"


def test_correlation_symbols_must_be_unique() -> None:
    with pytest.raises(ValidationError) as err:
        corr.correlation_matrix(market_returns(1, days=20, assets=2), ["A", "A"])
    assert err.value.field == "symbols"


# -- incremental (Welford) -----------------------------------------------------------------


@pytest.mark.parametrize("ddof", [0, 1])
def test_incremental_covariance_matches_batch(ddof: int) -> None:
    r = market_returns(2)
    inc = corr.IncrementalCovariance(12, ddof=ddof)
    inc.extend(r)
    np.testing.assert_allclose(inc.covariance, np.cov(r.T, ddof=ddof), rtol=1e-9)
    np.testing.assert_allclose(inc.mean, r.mean(axis=0), rtol=1e-9)
    assert inc.count == r.shape[0]


def test_incremental_covariance_push_one_row_at_a_time_stays_exact() -> None:
    r = market_returns(3, days=50, assets=4)
    inc = corr.IncrementalCovariance(4)
    for t, row in enumerate(r, start=1):
        inc.push(row)
        if t >= 2:
            np.testing.assert_allclose(inc.covariance, np.cov(r[:t].T), rtol=1e-9, atol=1e-18)


def test_incremental_covariance_is_symmetric() -> None:
    inc = corr.IncrementalCovariance(5)
    inc.extend(market_returns(4, days=30, assets=5))
    cov = inc.covariance
    np.testing.assert_array_equal(cov, cov.T)


def test_incremental_covariance_before_two_rows_is_nan() -> None:
    inc = corr.IncrementalCovariance(2)
    inc.push([0.01, 0.02])
    assert np.isnan(inc.covariance).all()


def test_incremental_covariance_stable_with_large_offset() -> None:
    rng = np.random.default_rng(1)
    rows = 1e4 + rng.normal(0, 1e-4, (2000, 2))
    inc = corr.IncrementalCovariance(2)
    inc.extend(rows)
    np.testing.assert_allclose(inc.covariance, np.cov(rows.T), rtol=1e-6)


@pytest.mark.parametrize(
    ("n", "ddof", "field"), [(0, 1, "n_assets"), (True, 1, "n_assets"), (2, 3, "ddof")]
)
def test_incremental_covariance_bad_construction_raises(n, ddof, field) -> None:
    with pytest.raises(ValidationError) as err:
        corr.IncrementalCovariance(n, ddof=ddof)
    assert err.value.field == field


@pytest.mark.parametrize("row", [[0.1], [0.1, np.nan], [0.1, 0.2, 0.3]])
def test_incremental_covariance_bad_row_raises(row) -> None:
    inc = corr.IncrementalCovariance(2)
    with pytest.raises(ValidationError) as err:
        inc.push(row)
    assert err.value.field == "row"


def test_incremental_parametric_var_requires_history_and_matching_exposures() -> None:
    inc = corr.IncrementalCovariance(2)
    inc.push([0.01, 0.02])
    with pytest.raises(ValidationError) as err:
        inc.parametric_var(np.ones(2), 0.99)
    assert err.value.field == "count"
    inc.extend(market_returns(1, days=10, assets=2))
    with pytest.raises(ValidationError) as err:
        inc.parametric_var(np.ones(3), 0.99)
    assert err.value.field == "exposures"


def test_incremental_covariance_rolling_window_matches_batch() -> None:
    r = market_returns(8, days=600, assets=6)
    inc = corr.IncrementalCovariance(6)
    inc.extend(r[:250])
    for t in range(250, 600):
        inc.push(r[t])
        inc.remove(r[t - 250])
    np.testing.assert_allclose(inc.covariance, np.cov(r[350:].T), rtol=1e-8)
    assert inc.count == 250


def test_incremental_covariance_remove_bad_row_or_empty_raises() -> None:
    inc = corr.IncrementalCovariance(2)
    with pytest.raises(ValidationError) as err:
        inc.remove([0.01, 0.02])
    assert err.value.field == "count"
    inc.push([0.01, 0.02])
    with pytest.raises(ValidationError) as err:
        inc.remove([0.01])
    assert err.value.field == "row"
