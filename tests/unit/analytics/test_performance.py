"""Performance metrics against plain-numpy references written from the definitions."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from nexus.errors import ValidationError
from services.analytics.core import performance as perf

from .conftest import market_returns

RTOL = 1e-9
P = 252


def _series(seed: int) -> tuple[np.ndarray, np.ndarray]:
    r = market_returns(seed, days=600, assets=3)
    return np.ascontiguousarray(r[:, 0]), np.ascontiguousarray(r[:, 1:].mean(axis=1))


SEEDS = [1, 2, 3]
RATES = [0.0, 0.03]


@pytest.mark.parametrize("seed", SEEDS)
def test_total_and_annualised_return_are_geometric(seed: int) -> None:
    r, _ = _series(seed)
    got = perf.performance_metrics(r)
    total = np.prod(1 + r) - 1
    assert got.total_return == pytest.approx(total, rel=RTOL)
    assert got.annualised_return == pytest.approx((1 + total) ** (P / len(r)) - 1, rel=RTOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_volatility_is_sample_std_times_sqrt_periods(seed: int) -> None:
    r, _ = _series(seed)
    got = perf.performance_metrics(r)
    assert got.volatility == pytest.approx(np.std(r, ddof=1) * math.sqrt(P), rel=RTOL)
    assert got.volatility_ddof == 1


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rf", RATES)
def test_sharpe_uses_geometric_per_period_risk_free(seed: int, rf: float) -> None:
    r, _ = _series(seed)
    got = perf.performance_metrics(r, risk_free_rate=rf)
    rf_p = (1 + rf) ** (1 / P) - 1
    ex = r - rf_p
    assert got.sharpe_ratio == pytest.approx(ex.mean() / ex.std(ddof=1) * math.sqrt(P), rel=RTOL)
    assert got.risk_free_rate == rf


@pytest.mark.parametrize("seed", SEEDS)
def test_sharpe_standard_error_matches_mertens_formula(seed: int) -> None:
    r, _ = _series(seed)
    got = perf.performance_metrics(r)
    sr = r.mean() / r.std(ddof=1)
    skew = stats.skew(r, bias=True)
    kurt = stats.kurtosis(r, fisher=False, bias=True)
    var = (1 + sr**2 / 2 - skew * sr + (kurt - 3) / 4 * sr**2) / len(r)
    assert got.sharpe_standard_error == pytest.approx(math.sqrt(var * P), rel=RTOL)


def test_sharpe_standard_error_normal_data_close_to_lo_2002() -> None:
    r = np.random.default_rng(0).normal(0.0005, 0.01, 5000)
    got = perf.performance_metrics(r)
    sr = r.mean() / r.std(ddof=1)
    lo = math.sqrt((1 + sr**2 / 2) / len(r)) * math.sqrt(P)
    assert got.sharpe_standard_error == pytest.approx(lo, rel=0.02)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("target", [0.0, 0.05])
def test_sortino_uses_full_sample_downside_deviation(seed: int, target: float) -> None:
    r, _ = _series(seed)
    got = perf.performance_metrics(r, target_return=target)
    t = (1 + target) ** (1 / P) - 1
    dd = math.sqrt(np.mean(np.minimum(r - t, 0.0) ** 2))
    assert got.sortino_ratio == pytest.approx((r - t).mean() / dd * math.sqrt(P), rel=RTOL)
    assert got.downside_deviation == pytest.approx(dd * math.sqrt(P), rel=RTOL)
    # not the std of the negative returns only (the common bug)
    wrong = (r - t).mean() / np.std(r[r < t], ddof=1) * math.sqrt(P)
    assert got.sortino_ratio != pytest.approx(wrong, rel=1e-3)


@pytest.mark.parametrize("seed", SEEDS)
def test_max_drawdown_and_calmar_match_cummax(seed: int) -> None:
    r, _ = _series(seed)
    got = perf.performance_metrics(r)
    wealth = np.concatenate(([1.0], np.cumprod(1 + r)))
    dd = wealth / np.maximum.accumulate(wealth) - 1
    assert got.max_drawdown == pytest.approx(dd.min(), rel=RTOL)
    assert got.calmar_ratio == pytest.approx(got.annualised_return / -dd.min(), rel=RTOL)
    assert got.drawdown_trough_index == int(np.argmin(dd))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("rf", RATES)
def test_beta_alpha_against_benchmark_match_regression(seed: int, rf: float) -> None:
    r, b = _series(seed)
    got = perf.performance_metrics(r, benchmark=b, risk_free_rate=rf)
    rf_p = (1 + rf) ** (1 / P) - 1
    fit = stats.linregress(b - rf_p, r - rf_p)
    assert got.beta == pytest.approx(fit.slope, rel=RTOL)
    assert got.alpha == pytest.approx(fit.intercept * P, rel=1e-8)


@pytest.mark.parametrize("seed", SEEDS)
def test_tracking_error_and_information_ratio(seed: int) -> None:
    r, b = _series(seed)
    got = perf.performance_metrics(r, benchmark=b)
    active = r - b
    te = active.std(ddof=1) * math.sqrt(P)
    assert got.tracking_error == pytest.approx(te, rel=RTOL)
    assert got.information_ratio == pytest.approx(active.mean() * P / te, rel=RTOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_hit_rate_is_share_of_positive_periods(seed: int) -> None:
    r, _ = _series(seed)
    assert perf.performance_metrics(r).hit_rate == pytest.approx(np.mean(r > 0), rel=RTOL)


@pytest.mark.parametrize("periods", [12, 52, 252, 365])
def test_periods_per_year_changes_annualisation(periods: int) -> None:
    r, _ = _series(1)
    got = perf.performance_metrics(r, periods_per_year=periods)
    assert got.periods_per_year == periods
    assert got.volatility == pytest.approx(np.std(r, ddof=1) * math.sqrt(periods), rel=RTOL)


def test_benchmark_equal_to_portfolio_gives_unit_beta_zero_te() -> None:
    r, _ = _series(2)
    got = perf.performance_metrics(r, benchmark=r)
    assert got.beta == pytest.approx(1.0, rel=RTOL)
    assert got.tracking_error == 0.0
    assert got.information_ratio == 0.0
    assert got.alpha == pytest.approx(0.0, abs=1e-12)


def test_without_benchmark_benchmark_fields_are_none() -> None:
    got = perf.performance_metrics(_series(1)[0])
    assert got.beta is None and got.alpha is None
    assert got.tracking_error is None and got.information_ratio is None


def test_drawdown_dates_come_from_the_dates_vector() -> None:
    r = np.array([0.10, -0.20, 0.05, 0.20, 0.01])
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(6)]
    got = perf.performance_metrics(r, dates=dates)
    assert got.drawdown_peak_date == dt.date(2024, 1, 2)
    assert got.drawdown_trough_date == dt.date(2024, 1, 3)
    assert got.drawdown_recovery_date == dt.date(2024, 1, 5)
    assert got.start_date == dt.date(2024, 1, 1)
    assert got.end_date == dt.date(2024, 1, 6)


def test_unrecovered_drawdown_has_no_recovery_date() -> None:
    r = np.array([0.05, -0.10, 0.01])
    dates = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(4)]
    got = perf.performance_metrics(r, dates=dates)
    assert got.drawdown_recovery_date is None
    assert got.drawdown_recovery_index == -1


def test_rising_series_has_zero_drawdown_and_infinite_calmar() -> None:
    got = perf.performance_metrics(np.array([0.01, 0.02, 0.005]))
    assert got.max_drawdown == 0.0
    assert got.calmar_ratio == math.inf
    assert got.drawdown_peak_date is None


def test_constant_returns_have_zero_volatility_and_infinite_sharpe() -> None:
    got = perf.performance_metrics(np.full(10, 0.001))
    assert got.volatility == 0.0
    assert got.sharpe_ratio == math.inf
    assert got.sharpe_standard_error == 0.0
    assert got.sortino_ratio == math.inf


def test_zero_returns_give_zero_ratios() -> None:
    got = perf.performance_metrics(np.zeros(10))
    assert got.sharpe_ratio == 0.0
    assert got.sortino_ratio == 0.0
    assert got.hit_rate == 0.0


def test_per_period_rate_is_geometric() -> None:
    assert perf.per_period_rate(0.05, 12) == pytest.approx(1.05 ** (1 / 12) - 1, rel=RTOL)
    assert (1 + perf.per_period_rate(0.05, 252)) ** 252 == pytest.approx(1.05, rel=1e-12)


def test_metrics_carry_their_conventions() -> None:
    got = perf.performance_metrics(_series(1)[0], risk_free_rate=0.02)
    assert "annual" in got.risk_free_unit
    assert got.sharpe_se_method.startswith("Mertens")
    assert got.downside_rule.startswith("full-sample")
    assert "geometric" in got.compounding


@settings(deadline=None, max_examples=50)
@given(seed=st.integers(0, 100_000), scale=st.floats(0.001, 0.05))
def test_drawdown_is_between_minus_one_and_zero(seed: int, scale: float) -> None:
    r = np.random.default_rng(seed).normal(0, scale, 100)
    got = perf.performance_metrics(r)
    assert -1.0 < got.max_drawdown <= 0.0
    assert 0.0 <= got.hit_rate <= 1.0


@settings(deadline=None, max_examples=50)
@given(seed=st.integers(0, 100_000), k=st.floats(0.1, 10.0))
def test_sharpe_is_invariant_to_leverage_without_risk_free(seed: int, k: float) -> None:
    r = np.random.default_rng(seed).normal(0.0005, 0.005, 100)
    a = perf.performance_metrics(r)
    b = perf.performance_metrics(r * k)
    assert b.sharpe_ratio == pytest.approx(a.sharpe_ratio, rel=1e-9)
    assert b.sortino_ratio == pytest.approx(a.sortino_ratio, rel=1e-9)


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"returns": [0.01]}, "returns"),
        ({"returns": [0.01, -1.0]}, "returns"),
        ({"returns": [0.01, np.nan]}, "returns"),
        ({"returns": [[0.01, 0.02]]}, "returns"),
        ({"periods_per_year": 0}, "periods_per_year"),
        ({"periods_per_year": 252.0}, "periods_per_year"),
        ({"risk_free_rate": float("nan")}, "risk_free_rate"),
        ({"risk_free_rate": -1.0}, "risk_free_rate"),
        ({"target_return": -1.5}, "target_return"),
        ({"target_return": "x"}, "target_return"),
        ({"benchmark": [0.01, 0.02]}, "benchmark"),
        ({"benchmark": [0.01, 0.01, 0.01]}, "benchmark"),
        ({"dates": [dt.date(2024, 1, 1)]}, "dates"),
    ],
)
def test_performance_bad_inputs_raise_with_field(kwargs, field) -> None:
    args = {"returns": [0.01, -0.02, 0.005], **kwargs}
    returns = args.pop("returns")
    with pytest.raises(ValidationError) as err:
        perf.performance_metrics(returns, **args)
    assert err.value.field == field
