"""Euler (marginal/component), incremental VaR and factor risk against direct computation."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from nexus.errors import ValidationError
from nexus.money import Rounding
from services.analytics.core import decomposition as dec
from services.analytics.core import var

from .conftest import market_returns

RTOL = 1e-9


def _book(seed: int = 1, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    r = market_returns(seed, days=500, assets=n)
    w = np.random.default_rng(seed).normal(4e4, 3e4, n)
    return np.cov(r.T), w


def _normal_var(cov, w, c, h=1, mu=None) -> float:
    drift = 0.0 if mu is None else float(mu @ w)
    return -h * drift + stats.norm.ppf(c) * math.sqrt(h * (w @ cov @ w))


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("confidence", [0.95, 0.99])
def test_total_equals_parametric_var(seed: int, confidence: float) -> None:
    cov, w = _book(seed)
    got = dec.var_decomposition(cov, w, confidence)
    assert got.total == pytest.approx(_normal_var(cov, w, confidence), rel=RTOL)
    ref = var.parametric_var(cov, w, confidence, n_observations=500)
    assert got.total == pytest.approx(ref.var, rel=RTOL)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_components_sum_to_total(seed: int) -> None:
    cov, w = _book(seed)
    got = dec.var_decomposition(cov, w, 0.99, 10)
    assert sum(got.component) == pytest.approx(got.total, rel=RTOL)


@pytest.mark.parametrize("seed", [1, 2])
def test_marginal_matches_finite_difference(seed: int) -> None:
    cov, w = _book(seed)
    got = dec.var_decomposition(cov, w, 0.99)
    for i in range(len(w)):
        step = 1e-3 * max(abs(w[i]), 1.0)
        up, down = w.copy(), w.copy()
        up[i] += step
        down[i] -= step
        fd = (_normal_var(cov, up, 0.99) - _normal_var(cov, down, 0.99)) / (2 * step)
        assert got.marginal[i] == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_equals_var_without_the_position(seed: int) -> None:
    cov, w = _book(seed)
    mu = np.full(len(w), 0.0003)
    got = dec.var_decomposition(cov, w, 0.975, 5, mean=mu)
    total = _normal_var(cov, w, 0.975, 5, mu)
    for i in range(len(w)):
        without = w.copy()
        without[i] = 0.0
        expected = total - _normal_var(cov, without, 0.975, 5, mu)
        assert got.incremental[i] == pytest.approx(expected, rel=1e-8, abs=1e-6)


def test_components_with_mean_still_sum_to_total() -> None:
    cov, w = _book(4)
    got = dec.var_decomposition(cov, w, 0.99, 3, mean=np.full(len(w), 0.001))
    assert sum(got.component) == pytest.approx(got.total, rel=RTOL)


def test_hedge_position_has_negative_component() -> None:
    cov = np.array([[1e-4, 0.9e-4], [0.9e-4, 1e-4]])
    got = dec.var_decomposition(cov, np.array([1e6, -3e5]), 0.99)
    assert got.component[1] < 0
    assert got.incremental[1] < 0


def test_zero_exposure_portfolio_raises() -> None:
    with pytest.raises(ValidationError) as err:
        dec.var_decomposition(np.eye(2), np.zeros(2), 0.99)
    assert err.value.field == "exposures"


@settings(deadline=None, max_examples=50)
@given(seed=st.integers(0, 100_000), n=st.integers(2, 15), c=st.floats(0.51, 0.999))
def test_euler_property_components_sum_to_total(seed: int, n: int, c: float) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 0.01, (n, n))
    cov = a @ a.T + np.eye(n) * 1e-6
    w = rng.normal(0, 1e5, n)
    got = dec.var_decomposition(cov, w, c)
    assert math.fsum(got.component) == pytest.approx(got.total, rel=1e-9, abs=1e-6)


# -- rounding allocation -------------------------------------------------------------------


@settings(deadline=None, max_examples=80)
@given(
    parts=st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30),
    places=st.integers(0, 4),
)
def test_allocate_rounded_sums_exactly_to_rounded_total(parts, places) -> None:
    arr = np.array(parts)
    total = float(arr.sum())
    out = dec.allocate_rounded(total, arr, places, Rounding.HALF_EVEN)
    # the float total read as its shortest decimal (issue 17.4), then rounded once
    expected = Decimal(repr(total)).quantize(Decimal(1).scaleb(-places), rounding="ROUND_HALF_EVEN")
    assert sum(Decimal(x) for x in out) == expected
    unit = Decimal(1).scaleb(-places)
    for x, p in zip(out, parts, strict=True):
        assert abs(Decimal(x) - Decimal(p)) <= unit * 2


# -- factor model --------------------------------------------------------------------------


def _factor_data(seed: int = 3):
    rng = np.random.default_rng(seed)
    f = rng.normal(0, 0.01, (400, 2))
    betas = rng.normal(1.0, 0.4, (6, 2))
    resid = rng.normal(0, 0.005, (400, 6))
    r = 0.0002 + f @ betas.T + resid
    w = rng.normal(5e4, 2e4, 6)
    return r, f, w, betas


def test_factor_betas_match_ols_reference() -> None:
    r, f, w, _ = _factor_data()
    got = dec.factor_risk(r, f, w, ["mkt", "rates"])
    x = np.column_stack((np.ones(len(f)), f))
    for i in range(r.shape[1]):
        coef = np.linalg.solve(x.T @ x, x.T @ r[:, i])
        np.testing.assert_allclose(got.betas[i], coef[1:], rtol=1e-9)


def test_factor_variance_split_matches_reference() -> None:
    r, f, w, _ = _factor_data()
    got = dec.factor_risk(r, f, w, ["mkt", "rates"])
    x = np.column_stack((np.ones(len(f)), f))
    coef = np.linalg.solve(x.T @ x, x.T @ r)
    b = coef[1:].T
    resid = r - x @ coef
    e = b.T @ w
    fv = e @ np.cov(f.T) @ e
    sv = np.sum(w**2 * (resid**2).sum(axis=0) / (len(f) - 3))
    assert got.factor_variance == pytest.approx(fv, rel=RTOL)
    assert got.specific_variance == pytest.approx(sv, rel=RTOL)
    np.testing.assert_allclose(got.exposures, e, rtol=RTOL)
    assert got.residual_ddof == 3


def test_factor_model_recovers_true_betas() -> None:
    r, f, w, betas = _factor_data(5)
    got = dec.factor_risk(r, f, w, ["a", "b"])
    np.testing.assert_allclose(np.array(got.betas), betas, atol=0.1)
    assert min(got.r_squared) > 0.5


def test_factor_model_variance_close_to_total_when_fully_specified() -> None:
    r, f, w, _ = _factor_data(6)
    got = dec.factor_risk(r, f, w, ["mkt", "rates"])
    total = w @ np.cov(r.T) @ w
    assert got.factor_variance + got.specific_variance == pytest.approx(total, rel=0.15)


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("rows", "factors"),
        ("names", "factor_names"),
        ("short", "asset_returns"),
        ("collinear", "factors"),
    ],
)
def test_factor_risk_bad_inputs_raise_with_field(kind: str, field: str) -> None:
    r, f, w, _ = _factor_data()
    names = ["a", "b"]
    if kind == "rows":
        f = f[:-1]
    elif kind == "names":
        names = ["a"]
    elif kind == "short":
        r, f = r[:4], f[:4]
    else:
        f = np.column_stack((f[:, 0], 2 * f[:, 0]))
    with pytest.raises(ValidationError) as err:
        dec.factor_risk(r, f, w, names)
    assert err.value.field == field


def test_risk_decomposition_money_form_components_sum_exactly() -> None:
    cov, w = _book(2, 6)
    r, f, _, _ = _factor_data()
    d = dec.var_decomposition(cov, w, 0.99)
    fr = dec.factor_risk(r, f, w, ["mkt", "rates"])
    out = dec.risk_decomposition([f"S{i}" for i in range(6)], w, d, fr)
    assert sum(Decimal(x) for x in out.component_var) == Decimal(out.total_var)
    assert sum(Decimal(x) for x in out.component_es) == Decimal(out.expected_shortfall)
    assert 0.0 <= out.factor_share <= 1.0
    assert out.factor_names == ["mkt", "rates"]
    assert len(out.incremental_var) == 6
    assert Decimal(out.factor_volatility) > 0


@pytest.mark.parametrize("seed", [1, 2])
def test_component_es_sums_to_parametric_es(seed: int) -> None:
    cov, w = _book(seed)
    mu = np.full(len(w), 0.0002)
    got = dec.var_decomposition(cov, w, 0.975, 3, mean=mu)
    ref = var.parametric_var(cov, w, 0.975, 3, n_observations=500, mean=mu)
    assert got.expected_shortfall == pytest.approx(ref.expected_shortfall, rel=RTOL)
    assert math.fsum(got.component_es) == pytest.approx(got.expected_shortfall, rel=RTOL)


def test_component_es_agrees_with_simulated_component_es() -> None:
    from services.analytics.core.montecarlo import component_expected_shortfall

    cov, w = _book(3, 6)
    got = dec.var_decomposition(cov, w, 0.975)
    _, simulated = component_expected_shortfall(cov, w, 0.975, n_paths=200_000, seed=4)
    np.testing.assert_allclose(
        got.component_es, simulated, rtol=0.05, atol=0.02 * got.expected_shortfall
    )
