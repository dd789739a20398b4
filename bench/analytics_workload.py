"""Synthetic market data for benchmarks, performance gates and demos (deterministic by seed).

Daily simple returns from a 3-factor model with GARCH(1,1)-like factor volatility and
Student-t shocks: fat tails and volatility clustering like real equity returns.
"""

from __future__ import annotations

import numpy as np

from services.analytics.core.validation import FloatArray


def synthetic_returns(seed: int, days: int, assets: int, *, nu: float = 4.0) -> FloatArray:
    """A ``(days, assets)`` C-contiguous matrix of daily simple returns."""
    rng = np.random.default_rng(seed)
    loadings = rng.normal(0.8, 0.3, (assets, 3)) * np.array([1.0, 0.5, 0.3])
    shocks = rng.standard_normal(days)
    vol = np.empty(days)
    v = 0.01
    for t in range(days):
        v = float(np.sqrt(0.000002 + 0.9 * v * v + 0.08 * (shocks[t] * v) ** 2))
        vol[t] = v
    t_scale = np.sqrt((nu - 2.0) / nu)
    factors = rng.standard_t(nu, (days, 3)) * t_scale * vol[:, None]
    specific = rng.standard_t(nu, (days, assets)) * 0.008 * t_scale
    out = 0.0003 + factors @ loadings.T + specific
    return np.ascontiguousarray(np.clip(out, -0.5, 0.5))


def synthetic_exposures(seed: int, assets: int) -> FloatArray:
    """Money exposures of a mostly-long book (about 50k per position, some shorts)."""
    out: FloatArray = np.random.default_rng(seed).normal(50_000.0, 40_000.0, assets)
    return out
