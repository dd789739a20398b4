"""Fixtures of the analytics unit tests: random and generated market data, and the
"one test, two implementations" switch between each Numba kernel and its pure reference."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from services.analytics.core import kernels

from . import reference

FloatArray = npt.NDArray[np.float64]

KERNEL_NAMES = [
    "sample_covariance",
    "pairwise_covariance",
    "ewma_covariance",
    "ledoit_wolf",
    "quadratic_form",
    "historical_tail",
    "weighted_tail",
    "welford_update",
    "drawdown",
]


def market_returns(seed: int, days: int = 750, assets: int = 12, *, nu: float = 4.0) -> FloatArray:
    """Generated daily returns: 3 factors with GARCH-like volatility, Student-t shocks."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(0.8, 0.3, (assets, 3)) * np.array([1.0, 0.5, 0.3])
    vol = np.empty(days)
    v = 0.01
    for t in range(days):
        v = np.sqrt(0.000002 + 0.9 * v * v + 0.08 * (rng.standard_normal() * v) ** 2)
        vol[t] = v
    factors = rng.standard_t(nu, (days, 3)) * np.sqrt((nu - 2) / nu) * vol[:, None]
    specific = rng.standard_t(nu, (days, assets)) * 0.008 * np.sqrt((nu - 2) / nu)
    out = 0.0003 + factors @ loadings.T + specific
    return np.ascontiguousarray(np.clip(out, -0.5, 0.5))


@pytest.fixture(params=["numba", "interpreted", "reference"])
def impl(request: pytest.FixtureRequest) -> types.SimpleNamespace:
    """The kernels under the same names: compiled, the same source run by CPython
    (``py_func``, which also lets coverage see the kernel lines), or the pure reference."""
    if request.param == "numba":
        table: dict[str, Callable[..., Any]] = {
            name: getattr(kernels, f"{name}_kernel") for name in KERNEL_NAMES
        }
    elif request.param == "interpreted":
        table = {name: getattr(kernels, f"{name}_kernel").py_func for name in KERNEL_NAMES}
    else:
        table = {name: getattr(reference, name) for name in KERNEL_NAMES}
    return types.SimpleNamespace(**table)


@pytest.fixture(params=[0, 1, 2])
def random_returns(request: pytest.FixtureRequest) -> FloatArray:
    """Gaussian random returns of 250 days x 6 assets."""
    rng = np.random.default_rng(100 + request.param)
    return np.ascontiguousarray(rng.normal(0.0005, 0.012, (250, 6)))


@pytest.fixture(params=[11, 12])
def generated_returns(request: pytest.FixtureRequest) -> FloatArray:
    """Generated fat-tailed factor-model market returns (750 days x 12 assets)."""
    return market_returns(request.param)


@pytest.fixture
def exposures() -> Callable[[int], FloatArray]:
    """Money exposures (long and short) for ``n`` assets."""

    def make(n: int) -> FloatArray:
        rng = np.random.default_rng(n)
        return rng.normal(50_000.0, 40_000.0, n)

    return make
