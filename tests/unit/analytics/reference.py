"""Pure-numpy reference implementations of every Numba kernel (used only in tests).

Written independently of the kernels (sorting instead of partitioning, batch formulas
instead of running updates) so that agreement means something.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from services.analytics.core import kernels

FloatArray = npt.NDArray[np.float64]


def sample_covariance(returns: FloatArray, ddof: int) -> FloatArray:
    t, n = returns.shape
    if t - ddof <= 0:
        return np.full((n, n), np.nan)
    return np.atleast_2d(np.cov(returns, rowvar=False, ddof=ddof))


def pairwise_covariance(returns: FloatArray, ddof: int) -> FloatArray:
    n = returns.shape[1]
    out = np.empty((n, n))
    for j in range(n):
        for k in range(n):
            ok = ~(np.isnan(returns[:, j]) | np.isnan(returns[:, k]))
            a, b = returns[ok, j], returns[ok, k]
            out[j, k] = np.nan if ok.sum() - ddof <= 0 else np.cov(a, b, ddof=ddof)[0, 1]
    return out


def ewma_covariance(returns: FloatArray, lam: float) -> FloatArray:
    t = returns.shape[0]
    ages = np.arange(t - 1, -1, -1)
    w = (1.0 - lam) * lam**ages
    w /= w.sum()
    return np.einsum("t,ti,tj->ij", w, returns, returns)


def ledoit_wolf(returns: FloatArray) -> tuple[FloatArray, float]:
    """Ledoit & Wolf (2004), Lemma 3.2-3.4 notation (m, d2, b2) on 1/T covariance."""
    t, n = returns.shape
    x = returns - returns.mean(axis=0)
    s = x.T @ x / t
    m = np.trace(s) / n
    d2 = np.sum((s - m * np.eye(n)) ** 2) / n
    b_bar2 = sum(np.sum((np.outer(row, row) - s) ** 2) / n for row in x) / t**2
    b2 = min(b_bar2, d2)
    shrink = 0.0 if b2 == 0 else b2 / d2
    return shrink * m * np.eye(n) + (1.0 - shrink) * s, shrink


def quadratic_form(cov: FloatArray, w: FloatArray) -> tuple[float, FloatArray]:
    cw = cov @ w
    return float(w @ cw), cw


def historical_tail(pnl: FloatArray, confidence: float, z_ci: float) -> FloatArray:
    out = np.full(kernels.TAIL_WIDTH, np.nan)
    n = pnl.shape[0]
    if n == 0:
        return out
    losses = np.sort(-pnl)[::-1]  # largest loss first
    m = n * (1.0 - confidence)
    k = min(max(math.ceil(round(m, 9)), 1), n)
    out[kernels.TAIL_VAR] = losses[k - 1]
    out[kernels.TAIL_ES] = (losses[: k - 1].sum() + (m - (k - 1)) * losses[k - 1]) / m
    out[kernels.TAIL_COUNT] = k
    half = z_ci * math.sqrt(n * confidence * (1.0 - confidence))
    k_worse = max(1, min(k, math.floor(round(m - half, 9))))
    k_better = max(k, min(n, math.ceil(round(m + half, 9))))
    out[kernels.TAIL_CI_UPPER] = losses[k_worse - 1]
    out[kernels.TAIL_CI_LOWER] = losses[k_better - 1]
    out[kernels.TAIL_LOSS_VARIANCE] = float(np.var(losses[:k], ddof=1)) if k >= 2 else 0.0
    return out


def _weighted_index(losses: FloatArray, w: FloatArray, alpha: float) -> int:
    cum = np.cumsum(w)
    hit = np.nonzero(cum >= alpha * (1.0 - 1e-9))[0]
    return int(hit[0]) if hit.size else len(losses) - 1


def weighted_tail(
    pnl: FloatArray, weights: FloatArray, confidence: float, z_ci: float
) -> FloatArray:
    out = np.full(kernels.TAIL_WIDTH, np.nan)
    if pnl.shape[0] == 0:
        return out
    order = np.lexsort((np.arange(pnl.shape[0]), pnl))  # ascending P&L, ties by position
    losses, w = -pnl[order], weights[order]
    alpha = 1.0 - confidence
    i = _weighted_index(losses, w, alpha)
    tail_w = np.append(w[:i], alpha - w[:i].sum())
    tail_l = losses[: i + 1]
    es = float(tail_w @ tail_l / alpha)
    out[kernels.TAIL_VAR] = losses[i]
    out[kernels.TAIL_ES] = es
    out[kernels.TAIL_COUNT] = i + 1
    out[kernels.TAIL_LOSS_VARIANCE] = max(float(tail_w @ tail_l**2 / alpha) - es * es, 0.0)
    n_eff = 1.0 / np.sum(weights**2)
    half = z_ci * math.sqrt(alpha * confidence / n_eff)
    out[kernels.TAIL_CI_UPPER] = losses[_weighted_index(losses, w, max(alpha - half, 1e-12))]
    out[kernels.TAIL_CI_LOWER] = losses[_weighted_index(losses, w, min(alpha + half, 1.0))]
    return out


def welford_update(mean: FloatArray, m2: FloatArray, count: int, row: FloatArray) -> int:
    """Batch recomputation from the implied history is impossible; use the textbook update."""
    new_count = count + 1
    new_mean = mean + (row - mean) / new_count
    m2 += np.outer(row - mean, row - new_mean)
    mean[:] = new_mean
    return new_count


def drawdown(returns: FloatArray) -> tuple[float, npt.NDArray[np.int64]]:
    wealth = np.concatenate(([1.0], np.cumprod(1.0 + returns)))
    peaks = np.maximum.accumulate(wealth)
    dd = wealth / peaks - 1.0
    idx = np.full(kernels.DD_WIDTH, -1, dtype=np.int64)
    trough = int(np.argmin(dd))
    if dd[trough] >= 0.0:
        return 0.0, idx
    peak = int(np.argmax(wealth[: trough + 1]))
    idx[kernels.DD_PEAK] = peak
    idx[kernels.DD_TROUGH] = trough
    after = np.nonzero(wealth[trough + 1 :] >= wealth[peak])[0]
    if after.size:
        idx[kernels.DD_RECOVERY] = trough + 1 + int(after[0])
    return float(dd[trough]), idx


def welford_remove(mean: FloatArray, m2: FloatArray, count: int, row: FloatArray) -> int:
    """Inverse update written from the batch identity M2 = sum (x - mean)(x - mean)'."""
    if count <= 0:
        return -1
    if count == 1:
        mean[:] = 0.0
        m2[:] = 0.0
        return 0
    old_mean = mean.copy()
    new_mean = (count * old_mean - row) / (count - 1)
    m2 -= np.outer(row - new_mean, row - old_mean)
    mean[:] = new_mean
    return count - 1
