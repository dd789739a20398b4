"""Numba kernels of the synthetic history generator: plain arrays in, plain arrays out.

The Python layer (:mod:`.generator`) validates parameters and prepares the arrays; these
kernels hold the sequential recursions that numpy cannot vectorise. Each has a pure-Python
reference in the tests (``tests/unit/marketdata/test_md_kernels.py``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@njit(cache=True)
def garch_log_returns(shocks: F64, omega: F64, alpha: F64, beta: F64, mu: F64) -> F64:
    """Log returns ``r[t, i] = mu[i] + sqrt(h[t, i]) * shocks[t, i]`` with GARCH(1,1) variance.

    ``shocks`` is (days, symbols) of unit-variance innovations; the variance starts at its
    unconditional level ``omega / (1 - alpha - beta)`` and follows
    ``h[t+1] = omega + alpha * eps[t]**2 + beta * h[t]``.
    """
    n_days, n_sym = shocks.shape
    out = np.empty((n_days, n_sym), dtype=np.float64)
    h = np.empty(n_sym, dtype=np.float64)
    for i in range(n_sym):
        h[i] = omega[i] / (1.0 - alpha[i] - beta[i])
    for t in range(n_days):
        for i in range(n_sym):
            eps = np.sqrt(h[i]) * shocks[t, i]
            out[t, i] = mu[i] + eps
            h[i] = omega[i] + alpha[i] * eps * eps + beta[i] * h[i]
    return out


@njit(cache=True)
def closes_to_ticks(start_price: F64, log_returns: F64, tick: float) -> I64:
    """Closes in whole ticks: ``start * exp(cumsum(r))`` rounded half-even, at least one tick.

    Row 0 is the start price itself; row ``t`` applies returns ``0..t-1``.
    """
    n_days, n_sym = log_returns.shape
    out = np.empty((n_days + 1, n_sym), dtype=np.int64)
    for i in range(n_sym):
        log_p = np.log(start_price[i])
        for t in range(n_days + 1):
            if t > 0:
                log_p += log_returns[t - 1, i]
            ticks = np.rint(np.exp(log_p) / tick)
            out[t, i] = max(np.int64(ticks), np.int64(1))
    return out


@njit(cache=True)
def equal_weight_index(closes: I64, base: float) -> F64:
    """Daily-rebalanced equal-weight index level from closes (any common unit), from ``base``."""
    n_days, n_sym = closes.shape
    out = np.empty(n_days, dtype=np.float64)
    level = base
    out[0] = level
    for t in range(1, n_days):
        acc = 0.0
        for i in range(n_sym):
            acc += closes[t, i] / closes[t - 1, i] - 1.0
        level *= 1.0 + acc / n_sym
        out[t] = level
    return out


def warm_up() -> None:
    """Compile (or load from cache) every kernel, so the first real call is not a compile."""
    z = np.zeros((2, 1), dtype=np.float64)
    p = np.full(1, 0.5, dtype=np.float64)
    r = garch_log_returns(z, p * 1e-4, p * 0.1, p, p * 0.0)
    c = closes_to_ticks(np.ones(1), r, 0.01)
    equal_weight_index(c, 100.0)
