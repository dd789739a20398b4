"""Arbitrary inputs either compute or raise ValidationError naming a field; never crash."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexus.errors import ValidationError
from services.analytics.core import backtest, correlation, performance, var

NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
)
ARRAYS = st.one_of(
    st.lists(
        st.one_of(st.floats(-1e3, 1e3), st.sampled_from([np.nan, np.inf, -np.inf])),
        max_size=12,
    ),
    st.lists(st.lists(st.floats(-1.0, 1.0), min_size=1, max_size=3), max_size=12),
    st.lists(st.text(max_size=2), max_size=4),
    NUMBERS,
)
FUZZ = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])


def _call(fn, *args, **kwargs) -> None:
    try:
        fn(*args, **kwargs)
    except ValidationError as err:
        assert err.field


@FUZZ
@given(pnl=ARRAYS, c=NUMBERS, h=NUMBERS)
def test_historical_var_fuzz_never_crashes(pnl, c, h) -> None:
    _call(var.historical_var, pnl, c, h)


@FUZZ
@given(
    returns=ARRAYS,
    w=ARRAYS,
    c=NUMBERS,
    h=NUMBERS,
    method=st.sampled_from(["historical", "parametric_normal", "cornish_fisher", "x"]),
)
def test_var_from_returns_fuzz_never_crashes(returns, w, c, h, method) -> None:
    _call(var.var_from_returns, returns, w, c, h, method)


@FUZZ
@given(returns=ARRAYS, estimator=st.sampled_from(["sample", "ewma", "ledoit_wolf", "?"]))
def test_estimate_covariance_fuzz_never_crashes(returns, estimator) -> None:
    _call(correlation.estimate_covariance, returns, estimator)


@FUZZ
@given(returns=ARRAYS, rf=NUMBERS, periods=NUMBERS)
def test_performance_fuzz_never_crashes(returns, rf, periods) -> None:
    _call(performance.performance_metrics, returns, risk_free_rate=rf, periods_per_year=periods)


@FUZZ
@given(v=ARRAYS, pnl=ARRAYS, c=NUMBERS)
def test_backtest_fuzz_never_crashes(v, pnl, c) -> None:
    _call(backtest.var_backtest, v, pnl, c)


@pytest.mark.parametrize("c", [np.float32(0.99), np.float64(0.95), 0.975])
def test_numpy_scalars_are_accepted_as_confidence(c) -> None:
    got = var.historical_var(np.linspace(-1, 1, 300), c)
    assert got.var > 0
