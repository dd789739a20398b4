"""Fixtures of the analytics unit tests: random and generated market data, and the
"one test, two implementations" switch between each Numba kernel and its pure reference."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from bench.analytics_workload import synthetic_returns
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
    "welford_remove",
    "drawdown",
]


def market_returns(seed: int, days: int = 750, assets: int = 12) -> FloatArray:
    """Generated daily returns (3 factors, clustered volatility, Student-t shocks)."""
    return synthetic_returns(seed, days, assets)


@pytest.fixture(params=["numba", "interpreted", "reference"])
def impl(request: pytest.FixtureRequest) -> types.SimpleNamespace:
    """The kernels under the same names: compiled, the same source run by CPython
    (``py_func``, which also lets coverage see the kernel lines), or the pure reference."""
    if request.param == "numba":
        table: dict[str, Callable[..., Any]] = {
            name: getattr(kernels, f"{name}_kernel") for name in KERNEL_NAMES
        }
    elif request.param == "interpreted":
        table = {
            name: getattr(getattr(kernels, f"{name}_kernel"), "py_func", None)
            or getattr(kernels, f"{name}_kernel")
            for name in KERNEL_NAMES
        }
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
