"""Numba kernels of the analytics core: plain float64 arrays in, arrays or scalars out.

Conventions shared by every kernel:

* ``returns`` is a C-contiguous ``(T, N)`` float64 matrix, one row per day (oldest first), one
  column per asset; returns are simple (``p_t / p_{t-1} - 1``).
* ``pnl`` is a 1-D float64 vector of portfolio profit and loss in money (profit positive).
* Private kernels never raise: on impossible input they return sentinels (``NaN`` or ``-1``)
  and the public wrappers in ``var.py``, ``correlation.py``... validate and raise
  :class:`nexus.errors.ValidationError` before calling them.

Every kernel has a pure-numpy reference in ``tests/unit/analytics/reference.py`` and the unit
tests run the same assertions against both ("one test, two implementations").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

F = TypeVar("F", bound=Callable[..., Any])
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _njit(fn: F) -> F:
    """``numba.njit(cache=True)`` with the signature kept visible to mypy."""
    return cast(F, numba.njit(cache=True, nogil=True)(fn))


# Columns of the int64 vector returned by :func:`drawdown_kernel`.
DD_PEAK = 0
DD_TROUGH = 1
DD_RECOVERY = 2
DD_WIDTH = 3

# Columns of the float64 vector returned by the tail kernels.
TAIL_VAR = 0
TAIL_ES = 1
TAIL_COUNT = 2
TAIL_CI_LOWER = 3
TAIL_CI_UPPER = 4
TAIL_LOSS_VARIANCE = 5
TAIL_WIDTH = 6

# Tails up to this many order statistics are selected by one insertion pass
# (:func:`small_tail_kernel`), longer ones by numpy's introselect.
SMALL_TAIL = 96
# Samples of at least this size take the threshold pass (:func:`threshold_tail_kernel`).
THRESHOLD_TAIL_MIN = 20_000

# Columns of the float64 vector returned by :func:`pnl_moments_kernel`.
MOM_FINITE = 0
MOM_MEAN = 1
MOM_M2 = 2
MOM_M3 = 3
MOM_M4 = 4
MOM_MIN = 5
MOM_MAX = 6
MOMENTS_WIDTH = 7

# Codes of :func:`covariance_check_kernel`.
COV_NOT_FINITE = 1
COV_ASYMMETRIC = 2
COV_NEGATIVE_DIAG = 3

# Rows of the matrix returned by :func:`euler_kernel`.
EULER_MARGINAL = 0
EULER_COMPONENT = 1
EULER_INCREMENTAL = 2
EULER_COMPONENT_ES = 3
EULER_WIDTH = 4

# Slack that keeps ``n * (1 - c)`` from flipping across an integer through float rounding
# (1000 * (1 - 0.95) is 49.99999999999996 in float64).
TAIL_EPS = 1e-9


@_njit
def sample_covariance_kernel(returns: FloatArray, ddof: int) -> FloatArray:
    """Two-pass sample covariance (means first, then centred cross products)."""
    t, n = returns.shape
    if t - ddof <= 0:
        return np.full((n, n), np.nan)
    means = np.zeros(n)
    for i in range(t):
        for j in range(n):
            means[j] += returns[i, j]
    means /= t
    centred = returns - means
    cov = centred.T @ centred
    cov /= t - ddof
    for j in range(n):
        for k in range(j + 1, n):
            avg = 0.5 * (cov[j, k] + cov[k, j])
            cov[j, k] = avg
            cov[k, j] = avg
    return cov


@_njit
def pairwise_covariance_kernel(returns: FloatArray, ddof: int) -> FloatArray:
    """Pairwise-complete covariance: each pair uses the days where both are not NaN.

    A pair with ``count - ddof <= 0`` overlapping days gets NaN.
    """
    t, n = returns.shape
    cov = np.empty((n, n))
    for j in range(n):
        for k in range(j, n):
            count = 0
            mj = 0.0
            mk = 0.0
            for i in range(t):
                a = returns[i, j]
                b = returns[i, k]
                if not (math.isnan(a) or math.isnan(b)):
                    count += 1
                    mj += a
                    mk += b
            if count - ddof <= 0:
                cov[j, k] = np.nan
                cov[k, j] = np.nan
                continue
            mj /= count
            mk /= count
            acc = 0.0
            for i in range(t):
                a = returns[i, j]
                b = returns[i, k]
                if not (math.isnan(a) or math.isnan(b)):
                    acc += (a - mj) * (b - mk)
            cov[j, k] = acc / (count - ddof)
            cov[k, j] = cov[j, k]
    return cov


@_njit
def ewma_covariance_kernel(returns: FloatArray, lam: float) -> FloatArray:
    """RiskMetrics EWMA covariance with zero mean and normalised finite-sample weights.

    ``cov = sum_k w_k r_{T-1-k} r_{T-1-k}'`` with ``w_k = (1 - lam) lam^k / (1 - lam^T)``;
    the most recent row has weight ``w_0``.
    """
    t, n = returns.shape
    weights = np.empty(t)
    total = 0.0
    w = 1.0 - lam
    for k in range(t):
        weights[t - 1 - k] = w
        total += w
        w *= lam
    scaled = returns * np.sqrt(weights / total).reshape((t, 1))
    cov = scaled.T @ scaled
    for j in range(n):
        for k in range(j + 1, n):
            avg = 0.5 * (cov[j, k] + cov[k, j])
            cov[j, k] = avg
            cov[k, j] = avg
    return cov


@_njit
def ledoit_wolf_kernel(returns: FloatArray) -> tuple[FloatArray, float]:
    """Ledoit-Wolf (2004) shrinkage towards ``mu * I`` (the same estimator as sklearn).

    Data are centred and the sample covariance uses ``1/T``; returns the shrunk covariance and
    the shrinkage intensity in [0, 1].
    """
    t, n = returns.shape
    means = np.zeros(n)
    for i in range(t):
        for j in range(n):
            means[j] += returns[i, j]
    means /= t
    x = returns - means
    emp = (x.T @ x) / t
    trace = 0.0
    for j in range(n):
        trace += emp[j, j]
    mu = trace / n
    # sum over i, j of (X2' X2)_ij equals sum over rows of (row sum of squares)^2: O(T N).
    beta_raw = 0.0
    for i in range(t):
        s = 0.0
        for j in range(n):
            s += x[i, j] * x[i, j]
        beta_raw += s * s
    delta_raw = 0.0
    for j in range(n):
        for k in range(n):
            delta_raw += emp[j, k] * emp[j, k]
    beta = (beta_raw / t - delta_raw) / (n * t)
    delta = (delta_raw - 2.0 * mu * trace + n * mu * mu) / n
    beta = min(beta, delta)
    shrinkage = 0.0 if beta == 0.0 else beta / delta
    shrunk = (1.0 - shrinkage) * emp
    for j in range(n):
        shrunk[j, j] += shrinkage * mu
    for j in range(n):
        for k in range(j + 1, n):
            avg = 0.5 * (shrunk[j, k] + shrunk[k, j])
            shrunk[j, k] = avg
            shrunk[k, j] = avg
    return shrunk, shrinkage


@_njit
def centre_kernel(returns: FloatArray) -> FloatArray:
    """``returns`` minus its column means (a new C-contiguous array), means in one pass."""
    t, n = returns.shape
    means = np.zeros(n)
    for i in range(t):
        for j in range(n):
            means[j] += returns[i, j]
    means /= t
    out = np.empty((t, n))
    for i in range(t):
        for j in range(n):
            out[i, j] = returns[i, j] - means[j]
    return out


@_njit
def ewma_scale_kernel(returns: FloatArray, lam: float) -> FloatArray:
    """Rows of ``returns`` times ``sqrt(w_row)`` (the EWMA weights of
    :func:`ewma_covariance_kernel`), so that the covariance is ``X'X``."""
    t, n = returns.shape
    root = np.empty(t)
    total = 0.0
    w = 1.0 - lam
    for k in range(t):
        root[t - 1 - k] = w
        total += w
        w *= lam
    out = np.empty((t, n))
    for i in range(t):
        f = math.sqrt(root[i] / total)
        for j in range(n):
            out[i, j] = returns[i, j] * f
    return out


@_njit
def ledoit_wolf_shrink_kernel(x: FloatArray, emp: FloatArray) -> tuple[FloatArray, float]:
    """The shrinkage step of :func:`ledoit_wolf_kernel` from centred data ``x`` and its
    ``1/T`` covariance ``emp`` (symmetric); returns the shrunk matrix (new) and intensity."""
    t, n = x.shape
    trace = 0.0
    for j in range(n):
        trace += emp[j, j]
    mu = trace / n
    beta_raw = 0.0
    for i in range(t):
        s = 0.0
        for j in range(n):
            s += x[i, j] * x[i, j]
        beta_raw += s * s
    delta_raw = 0.0
    for j in range(n):
        for k in range(n):
            delta_raw += emp[j, k] * emp[j, k]
    beta = (beta_raw / t - delta_raw) / (n * t)
    delta = (delta_raw - 2.0 * mu * trace + n * mu * mu) / n
    beta = min(beta, delta)
    shrinkage = 0.0 if beta == 0.0 else beta / delta
    shrunk = (1.0 - shrinkage) * emp
    for j in range(n):
        shrunk[j, j] += shrinkage * mu
    return shrunk, shrinkage


def gram(x: FloatArray) -> FloatArray:
    """``x' x`` through numpy, which calls BLAS ``syrk`` for a product with its own
    transpose (half the flops of the general product Numba's ``@`` calls) and returns an
    exactly symmetric matrix."""
    with np.errstate(over="ignore", invalid="ignore"):  # overflow shows in the result
        out: FloatArray = x.T @ x
    return out


def sample_covariance(returns: FloatArray, ddof: int) -> FloatArray:
    """:func:`sample_covariance_kernel` with the cross products by ``syrk`` (same estimator)."""
    t, n = returns.shape
    if t - ddof <= 0:
        return np.full((n, n), np.nan)
    cov = gram(centre_kernel(returns))
    cov /= t - ddof
    return cov


def ewma_covariance(returns: FloatArray, lam: float) -> FloatArray:
    """:func:`ewma_covariance_kernel` with the cross products by ``syrk`` (same estimator)."""
    return gram(ewma_scale_kernel(returns, lam))


def ledoit_wolf(returns: FloatArray) -> tuple[FloatArray, float]:
    """:func:`ledoit_wolf_kernel` with the cross products by ``syrk`` (same estimator)."""
    x = centre_kernel(returns)
    emp = gram(x)
    emp /= returns.shape[0]
    return ledoit_wolf_shrink_kernel(x, emp)


@_njit
def quadratic_form_kernel(cov: FloatArray, weights: FloatArray) -> tuple[float, FloatArray]:
    """``(w' cov w, cov w)``: portfolio variance and the covariance-times-exposure vector.

    ``cov w`` is one BLAS ``dgemv`` (Numba's ``np.dot``): a scalar loop would run the N^2
    additions as one dependent chain, several times slower at N = 100.
    """
    cov_w = np.dot(cov, weights)
    return float(np.dot(weights, cov_w)), cov_w


@_njit
def quadratic_value_kernel(cov: FloatArray, weights: FloatArray) -> float:
    """``w' cov w`` alone (one ``dgemv`` and a dot; nothing else boxed)."""
    return float(np.dot(weights, np.dot(cov, weights)))


@_njit
def linear_pnl_kernel(returns: FloatArray, weights: FloatArray) -> tuple[FloatArray, bool]:
    """``(returns @ weights, ok)`` by BLAS ``dgemv``, without numpy's floating-point error
    checks (an overflow shows as a non-finite P&L, which the caller tests).

    ``ok`` is False when a column of zero weight holds a NaN or inf: such a value does not
    reach the P&L (a BLAS may skip zero weights), so those columns alone are scanned.
    """
    t, n = returns.shape
    pnl = np.dot(returns, weights)
    for j in range(n):
        if weights[j] == 0.0:
            for i in range(t):
                if not math.isfinite(returns[i, j]):
                    return pnl, False
    return pnl, True


@_njit
def all_finite_kernel(values: FloatArray) -> bool:
    """Whether every value of a 1-D array is finite (no temporary, stops at the first)."""
    for i in range(values.shape[0]):  # noqa: SIM110 - a generator does not compile in Numba
        if not math.isfinite(values[i]):
            return False
    return True


def historical_tail_kernel(pnl: FloatArray, confidence: float, z_ci: float) -> FloatArray:
    """Equal-weight VaR and ES of a P&L sample (positive losses) with an order-statistic CI.

    Quantile rule (upper-tail inverted CDF): with ``m = n (1 - c)`` and ``k = ceil(m)``, VaR is
    the k-th largest loss; ES is the Acerbi-Tasche tail mean of the ``m`` worst losses, the
    k-th loss weighted by ``m - (k - 1)``. The CI of VaR is distribution free: the number of
    losses beyond the true quantile is Binomial(n, 1 - c), so the losses of rank
    ``m -+ z_ci * sqrt(n c (1 - c))`` bracket it. ``TAIL_LOSS_VARIANCE`` is the variance
    (ddof=1) of the k worst losses. NaNs if ``n == 0``.

    One selection pass places the three ranks (numpy's introselect, several times faster
    than Numba's ``np.partition`` on 1e5 paths); :func:`tail_from_partition_kernel` does
    the rest.
    """
    n = pnl.shape[0]
    if n == 0:
        return np.full(TAIL_WIDTH, np.nan)
    m = n * (1.0 - confidence)
    k = max(1, min(math.ceil(m - TAIL_EPS), n))
    half = z_ci * math.sqrt(n * confidence * (1.0 - confidence))
    k_worse = max(1, min(k, math.floor(m - half + TAIL_EPS)))
    k_better = max(k, min(n, math.ceil(m + half - TAIL_EPS)))
    if k_better <= SMALL_TAIL:
        return small_tail_kernel(pnl, m, k, k_worse, k_better)
    if n >= THRESHOLD_TAIL_MIN:
        out = threshold_tail_kernel(pnl, m, k, k_worse, k_better)
        if out.shape[0] == TAIL_WIDTH:
            return out
    part = np.partition(pnl, sorted({k_worse - 1, k - 1, k_better - 1}))
    return tail_from_partition_kernel(part, m, k, k_worse, k_better)


@_njit
def threshold_tail_kernel(
    pnl: FloatArray, m: float, k: int, k_worse: int, k_better: int
) -> FloatArray:
    """:func:`historical_tail_kernel` of a long sample by a threshold instead of a selection.

    A strided subsample (4,096 values) is sorted to pick a threshold safely above the
    ``k_better``-th smallest value; one pass copies every value at or below it into a small
    buffer, which is sorted: the order statistics are exact. If fewer than ``k_better``
    values fall below the threshold (a sample ordered against the stride) or the buffer
    would overflow, returns an empty array and the caller selects with ``np.partition``.
    """
    n = pnl.shape[0]
    step = max(1, n // 4096)
    sample = np.sort(pnl[::step])
    ns = sample.shape[0]
    expected = k_better * ns / n
    rank = min(ns - 1, int(expected * 1.25 + 4.0 * math.sqrt(expected) + 8.0))
    cut = sample[rank]
    cap = min(n, 4 * (rank + 1) * step + 64)
    buf = np.empty(cap)
    count = 0
    for i in range(n):
        x = pnl[i]
        if x <= cut:
            if count == cap:
                return np.empty(0)
            buf[count] = x
            count += 1
    if count < k_better:
        return np.empty(0)
    tail = np.sort(buf[:count])
    return tail_from_partition_kernel(tail, m, k, k_worse, k_better)


@_njit
def small_tail_kernel(pnl: FloatArray, m: float, k: int, k_worse: int, k_better: int) -> FloatArray:
    """:func:`historical_tail_kernel` for a short tail (``k_better <= SMALL_TAIL``): one pass
    keeps the ``k_better`` smallest P&L values sorted (insertion into a short buffer), so no
    copy and no full selection of the sample."""
    n = pnl.shape[0]
    buf = np.empty(k_better)
    count = 0
    for i in range(n):
        x = pnl[i]
        if count < k_better:
            j = count
            count += 1
        elif x < buf[k_better - 1]:
            j = k_better - 1
        else:
            continue
        while j > 0 and buf[j - 1] > x:
            buf[j] = buf[j - 1]
            j -= 1
        buf[j] = x
    return tail_from_partition_kernel(buf, m, k, k_worse, k_better)


@_njit
def pnl_moments_kernel(pnl: FloatArray) -> FloatArray:
    """``[finite, mean, m2, m3, m4, min, max]`` of a P&L vector in two passes.

    ``m2..m4`` are the central moments ``mean((x - mean)^p)`` (biased, as g1/g2 use);
    ``finite`` is 1.0 when every value is finite (then the rest is meaningful), else 0.0.
    """
    out = np.zeros(MOMENTS_WIDTH)
    n = pnl.shape[0]
    total = 0.0
    lo = np.inf
    hi = -np.inf
    for i in range(n):
        x = pnl[i]
        total += x
        lo = min(lo, x)
        hi = max(hi, x)
    if not (math.isfinite(total) and math.isfinite(lo) and math.isfinite(hi)):
        return out
    mean = total / n
    s2 = 0.0
    s3 = 0.0
    s4 = 0.0
    for i in range(n):
        d = pnl[i] - mean
        d2 = d * d
        s2 += d2
        s3 += d2 * d
        s4 += d2 * d2
    out[MOM_FINITE] = 1.0 if math.isfinite(s4) else 0.0
    out[MOM_MEAN] = mean
    out[MOM_M2] = s2 / n
    out[MOM_M3] = s3 / n
    out[MOM_M4] = s4 / n
    out[MOM_MIN] = lo
    out[MOM_MAX] = hi
    return out


@_njit
def covariance_check_kernel(cov: FloatArray, rel_tol: float) -> int:
    """0 if ``cov`` is finite, symmetric to ``rel_tol`` of its largest entry and has a
    non-negative diagonal; else ``COV_NOT_FINITE``, ``COV_ASYMMETRIC`` or ``COV_NEGATIVE_DIAG``.

    Fast path for the usual exactly symmetric matrix: one comparison per upper-triangle
    entry (``x - x == 0`` is false for NaN and inf), no running sum; anything else takes
    the exact check (:func:`covariance_check_exact_kernel`).
    """
    n = cov.shape[0]
    for j in range(n):
        d = cov[j, j]
        if not (d >= 0.0 and d - d == 0.0):
            return covariance_check_exact_kernel(cov, rel_tol)
        for k in range(j + 1, n):
            a = cov[j, k]
            if a != cov[k, j] or a - a != 0.0:
                return covariance_check_exact_kernel(cov, rel_tol)
    return 0


@_njit
def covariance_check_exact_kernel(cov: FloatArray, rel_tol: float) -> int:
    """:func:`covariance_check_kernel`, every rule checked with the tolerance."""
    n = cov.shape[0]
    scale = 0.0
    for j in range(n):
        for k in range(n):
            x = cov[j, k]
            if not math.isfinite(x):
                return COV_NOT_FINITE
            scale = max(scale, abs(x))
    tol = rel_tol * max(scale, 1e-300)
    for j in range(n):
        if cov[j, j] < 0.0:
            return COV_NEGATIVE_DIAG
        for k in range(j + 1, n):
            if abs(cov[j, k] - cov[k, j]) > tol:
                return COV_ASYMMETRIC
    return 0


@_njit
def euler_kernel(
    cov: FloatArray, w: FloatArray, mu: FloatArray, z: float, es_scale: float, h: int
) -> tuple[float, float, float, FloatArray]:
    """Parametric-normal Euler decomposition in one pass over ``cov``.

    Returns ``(variance, total VaR, total ES, out)`` with ``out`` rows ``EULER_MARGINAL``,
    ``EULER_COMPONENT``, ``EULER_INCREMENTAL``, ``EULER_COMPONENT_ES`` (see
    :mod:`.decomposition`); ``out`` is NaN if the variance is not positive.
    """
    n = w.shape[0]
    cov_w = np.dot(cov, w)
    variance = float(np.dot(w, cov_w))
    drift = float(np.dot(mu, w))
    out = np.full((EULER_WIDTH, n), np.nan)
    if not variance > 0.0:
        return variance, np.nan, np.nan, out
    root_h = math.sqrt(h)
    sigma = math.sqrt(variance)
    total = -h * drift + z * root_h * sigma
    es_total = -h * drift + es_scale * root_h * sigma
    for j in range(n):
        marginal = -h * mu[j] + z * root_h * cov_w[j] / sigma
        out[EULER_MARGINAL, j] = marginal
        out[EULER_COMPONENT, j] = w[j] * marginal
        out[EULER_COMPONENT_ES, j] = w[j] * (-h * mu[j] + es_scale * root_h * cov_w[j] / sigma)
        reduced = variance - 2.0 * w[j] * cov_w[j] + w[j] * w[j] * cov[j, j]
        reduced_var = -h * (drift - mu[j] * w[j]) + z * root_h * math.sqrt(max(reduced, 0.0))
        out[EULER_INCREMENTAL, j] = total - reduced_var
    return variance, total, es_total, out


@_njit
def tail_from_partition_kernel(
    part: FloatArray, m: float, k: int, k_worse: int, k_better: int
) -> FloatArray:
    """Tail statistics of a P&L vector partitioned at ranks ``k_worse <= k <= k_better``
    (1-based, ascending P&L): ``[var, es, k, ci_lower, ci_upper, tail loss variance]``."""
    out = np.full(TAIL_WIDTH, np.nan)
    kth = part[k - 1]
    worse = 0.0
    for i in range(k - 1):
        worse += part[i]
    out[TAIL_VAR] = -kth
    out[TAIL_ES] = -(worse + (m - (k - 1)) * kth) / m
    out[TAIL_COUNT] = k
    out[TAIL_CI_UPPER] = -part[k_worse - 1]
    out[TAIL_CI_LOWER] = -part[k_better - 1]
    if k >= 2:
        mean = (worse + kth) / k
        acc = 0.0
        for i in range(k):
            d = part[i] - mean
            acc += d * d
        out[TAIL_LOSS_VARIANCE] = acc / (k - 1)
    else:
        out[TAIL_LOSS_VARIANCE] = 0.0
    return out


@_njit
def _weighted_quantile_loss(sorted_pnl: FloatArray, sorted_w: FloatArray, alpha: float) -> int:
    """Index (in ascending P&L order) where the upper-tail loss weight first reaches alpha."""
    n = sorted_pnl.shape[0]
    cum = 0.0
    for idx in range(n):
        cum += sorted_w[idx]
        if cum >= alpha - TAIL_EPS * alpha:
            return int(idx)
    return int(n - 1)


@_njit
def weighted_tail_kernel(
    pnl: FloatArray, weights: FloatArray, confidence: float, z_ci: float
) -> FloatArray:
    """Probability-weighted VaR and ES (weights sum to one; e.g. Boudoukh age weights).

    VaR is the smallest loss whose upper-tail weight reaches ``alpha = 1 - c``; ES averages the
    tail with the boundary observation weighted by the share of alpha it completes. The CI
    uses the same rule at ``alpha -+ z_ci * sqrt(alpha c / n_eff)``, ``n_eff = 1 / sum w^2``.
    ``TAIL_LOSS_VARIANCE`` is the weighted variance of the losses in the tail.
    """
    out = np.full(TAIL_WIDTH, np.nan)
    n = pnl.shape[0]
    if n == 0:
        return out
    alpha = 1.0 - confidence
    order = np.argsort(pnl, kind="mergesort")
    sp = pnl[order]
    sw = weights[order]
    idx = _weighted_quantile_loss(sp, sw, alpha)
    cum = 0.0
    acc = 0.0
    acc2 = 0.0
    for i in range(idx):
        cum += sw[i]
        acc += sw[i] * sp[i]
        acc2 += sw[i] * sp[i] * sp[i]
    part = alpha - cum
    acc += part * sp[idx]
    acc2 += part * sp[idx] * sp[idx]
    es = -acc / alpha
    out[TAIL_VAR] = -sp[idx]
    out[TAIL_ES] = es
    out[TAIL_COUNT] = idx + 1
    out[TAIL_LOSS_VARIANCE] = max(acc2 / alpha - es * es, 0.0)
    n_eff = 1.0 / np.sum(weights * weights)
    half = z_ci * math.sqrt(alpha * confidence / n_eff)
    lo_alpha = max(alpha - half, 1e-12)
    hi_alpha = min(alpha + half, 1.0)
    out[TAIL_CI_UPPER] = -sp[_weighted_quantile_loss(sp, sw, lo_alpha)]
    out[TAIL_CI_LOWER] = -sp[_weighted_quantile_loss(sp, sw, hi_alpha)]
    return out


@_njit
def welford_update_kernel(mean: FloatArray, m2: FloatArray, count: int, row: FloatArray) -> int:
    """Add one return row to a running (mean, co-moment) pair in place; returns the new count.

    Welford/Chan update: ``M2 += (x - mean_old)(x - mean_new)'``; O(N^2), no cancellation of
    large sums of squares.
    """
    n = row.shape[0]
    count += 1
    delta = np.empty(n)
    for j in range(n):
        delta[j] = row[j] - mean[j]
        mean[j] += delta[j] / count
    for j in range(n):
        after_j = row[j] - mean[j]
        for k in range(n):
            m2[k, j] += delta[k] * after_j
    return count


@_njit
def welford_remove_kernel(mean: FloatArray, m2: FloatArray, count: int, row: FloatArray) -> int:
    """Remove a row added earlier (the oldest of a rolling window) in place; new count.

    Exact inverse of :func:`welford_update_kernel`: ``mean_new = mean - (x - mean)/(n - 1)``
    and ``M2 -= (x - mean_new)(x - mean)'``. Returns ``-1`` (state untouched) if empty.
    """
    if count <= 0:
        return -1
    n = row.shape[0]
    if count == 1:
        for j in range(n):
            mean[j] = 0.0
            for k in range(n):
                m2[j, k] = 0.0
        return 0
    before = np.empty(n)
    for j in range(n):
        before[j] = row[j] - mean[j]
        mean[j] -= before[j] / (count - 1)
    for j in range(n):
        for k in range(n):
            m2[k, j] -= (row[k] - mean[k]) * before[j]
    return count - 1


@_njit
def drawdown_kernel(returns: FloatArray) -> tuple[float, IntArray]:
    """Maximum drawdown of the wealth index built from simple returns (wealth 1 at index 0).

    Wealth has ``T + 1`` points; indexes in the result refer to that index (0 = inception).
    Returns ``(max_drawdown <= 0, [peak, trough, recovery])``; recovery is ``-1`` if the
    wealth never regains the peak, and all are ``-1`` when there is no drawdown.
    """
    t = returns.shape[0]
    idx = np.full(DD_WIDTH, -1, dtype=np.int64)
    wealth = 1.0
    peak = 1.0
    peak_at = 0
    worst = 0.0
    worst_peak = 1.0
    for i in range(t):
        wealth *= 1.0 + returns[i]
        if wealth > peak:
            peak = wealth
            peak_at = i + 1
        dd = wealth / peak - 1.0
        if dd < worst:
            worst = dd
            worst_peak = peak
            idx[DD_PEAK] = peak_at
            idx[DD_TROUGH] = i + 1
    if idx[DD_TROUGH] >= 0:
        wealth = 1.0
        for i in range(t):
            wealth *= 1.0 + returns[i]
            if i + 1 > idx[DD_TROUGH] and wealth >= worst_peak:
                idx[DD_RECOVERY] = i + 1
                break
    return worst, idx


def warm_up() -> None:
    """Compile (or load from the on-disk cache) every kernel on tiny inputs.

    Call once at service start so that the first request does not pay the compile.
    """
    rng = np.random.default_rng(0)
    r = np.ascontiguousarray(rng.normal(0.0, 0.01, (8, 3)))
    sample_covariance_kernel(r, 1)
    with_nan = r.copy()
    with_nan[0, 0] = np.nan
    pairwise_covariance_kernel(with_nan, 1)
    ewma_covariance_kernel(r, 0.94)
    ledoit_wolf_kernel(r)
    w = np.ones(3)
    quadratic_form_kernel(np.eye(3), w)
    pnl = np.ascontiguousarray(r[:, 0])
    historical_tail_kernel(pnl, 0.95, 1.96)
    weighted_tail_kernel(pnl, np.full(8, 1.0 / 8.0), 0.95, 1.96)
    welford_update_kernel(np.zeros(3), np.zeros((3, 3)), 0, r[0].copy())
    welford_remove_kernel(np.zeros(3), np.zeros((3, 3)), 1, r[0].copy())
    drawdown_kernel(pnl)
    small_tail_kernel(pnl, 0.4, 1, 1, 2)
    threshold_tail_kernel(np.linspace(-1.0, 1.0, 64), 0.64, 1, 1, 2)
    pnl_moments_kernel(pnl)
    covariance_check_kernel(np.eye(3), 1e-12)
    covariance_check_exact_kernel(np.eye(3), 1e-12)
    euler_kernel(np.eye(3), w, np.zeros(3), 2.3, 2.6, 1)
    linear_pnl_kernel(r, w)
    all_finite_kernel(w)
    quadratic_value_kernel(np.eye(3), w)
    tail_from_partition_kernel(np.sort(pnl), 0.4, 1, 1, 2)
    sample_covariance(r, 1)
    ewma_covariance(r, 0.94)
    ledoit_wolf(r)
