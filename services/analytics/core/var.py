"""Value at Risk and Expected Shortfall: historical, parametric normal and Cornish-Fisher.

Conventions (also carried by every :class:`VaREstimate`):

* **Sign**: VaR and ES are positive losses in money; P&L is ``returns @ exposures`` where an
  exposure is the signed money value of a position (short < 0) and returns are simple daily.
* **Quantile rule (historical / simulated)**: upper-tail inverted CDF: with ``m = n (1 - c)``,
  VaR is the ``ceil(m)``-th largest loss and ES the Acerbi-Tasche mean of the ``m`` worst
  losses. Age weighting (Boudoukh, Richardson, Whitelaw 1998) gives day ``a`` days old the weight
  ``lam^a (1 - lam) / (1 - lam^n)`` and applies the same rule to weighted probabilities.
* **Horizon**: ``SQRT_TIME`` scales the 1-day mean by h and volatility (or a historical VaR)
  by sqrt(h), which assumes i.i.d. returns; ``OVERLAPPING`` (historical only) takes the quantile
  of sums of h consecutive daily P&L. Cornish-Fisher scales skewness by 1/sqrt(h) and excess
  kurtosis by 1/h (cumulants of an i.i.d. sum).
* **Uncertainty**: a 95% CI (``CI_LEVEL``). Historical: order-statistic (binomial) bounds and
  the asymptotic ES standard error ``sqrt((Var(L | tail) + c (ES - VaR)^2) / (n (1 - c)))``.
  Parametric: delta method with ``Var(sigma_hat) = sigma^2 / (2 (n - 1))`` and, when the mean is
  estimated, ``Var(mu_hat) = sigma^2 / n``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtri

from nexus.errors import ValidationError
from nexus.money import Rounding

from . import kernels
from .types import HorizonScaling, VaREstimate, VaRMethod, VaRResult, money_text
from .validation import (
    FloatArray,
    as_covariance,
    as_matrix,
    as_vector,
    check_confidence,
    check_horizon,
    check_unit_interval,
)

CI_LEVEL = 0.95
Z_CI = 1.959963984540054
QUANTILE_RULE = "upper-tail inverted CDF: k = ceil(n(1-c))-th largest loss; ES Acerbi-Tasche"
NORMAL_SQRT_2PI = math.sqrt(2.0 * math.pi)


def normal_pdf(x: float) -> float:
    """Standard normal density."""
    return math.exp(-0.5 * x * x) / NORMAL_SQRT_2PI


def portfolio_pnl(returns: Any, exposures: Any) -> FloatArray:
    """Daily P&L in money of fixed money exposures: ``returns @ exposures``."""
    r = as_matrix(returns, "returns")
    w = as_vector(exposures, "exposures", length=r.shape[1])
    pnl: FloatArray = r @ w
    return pnl


def age_weights(n: int, decay: float) -> FloatArray:
    """Boudoukh age weights of ``n`` days, oldest first, summing to one."""
    lam = check_unit_interval(decay, "age_decay")
    ages = np.arange(n - 1, -1, -1, dtype=np.float64)
    w: FloatArray = lam**ages * (1.0 - lam) / (1.0 - lam**n)
    return w


def _tail_standard_error(tail: FloatArray, confidence: float, n_eff: float) -> float:
    var = tail[kernels.TAIL_VAR]
    es = tail[kernels.TAIL_ES]
    spread = tail[kernels.TAIL_LOSS_VARIANCE] + confidence * (es - var) ** 2
    return float(math.sqrt(spread / (n_eff * (1.0 - confidence))))


def historical_var(
    pnl: Any,
    confidence: float,
    horizon_days: int = 1,
    *,
    scaling: HorizonScaling = HorizonScaling.SQRT_TIME,
    age_decay: float | None = None,
) -> VaREstimate:
    """Historical-simulation VaR and ES of a daily P&L series (money, oldest first).

    ``age_decay`` (e.g. 0.98) switches to Boudoukh age weighting (with 1-day data and
    sqrt-of-time scaling only).
    """
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    x = as_vector(pnl, "pnl", min_length=2)
    if not isinstance(scaling, HorizonScaling):
        raise ValidationError(f"unknown horizon scaling {scaling!r}", "scaling")
    factor = math.sqrt(h)
    if age_decay is not None:
        if scaling is HorizonScaling.OVERLAPPING:
            raise ValidationError("age weighting supports sqrt_time scaling only", "scaling")
        w = age_weights(x.shape[0], age_decay)
        tail = kernels.weighted_tail_kernel(x, w, c, Z_CI)
        n_eff = 1.0 / float(np.sum(w * w))
        method = VaRMethod.HISTORICAL_AGE_WEIGHTED
        estimator = f"Boudoukh age weights, decay {age_decay}"
    else:
        if scaling is HorizonScaling.OVERLAPPING and h > 1:
            if x.shape[0] - h + 1 < 2:
                raise ValidationError("history shorter than the horizon", "pnl")
            csum = np.concatenate(([0.0], np.cumsum(x)))
            x = np.ascontiguousarray(csum[h:] - csum[:-h])
            factor = 1.0
        tail = kernels.historical_tail_kernel(x, c, Z_CI)
        n_eff = float(x.shape[0])
        if scaling is HorizonScaling.OVERLAPPING and h > 1:
            n_eff /= h
        method = VaRMethod.HISTORICAL
        estimator = "empirical distribution, equal weights"
    var = float(tail[kernels.TAIL_VAR])
    es = float(tail[kernels.TAIL_ES])
    se_es = _tail_standard_error(tail, c, n_eff)
    ci_lo, ci_hi = float(tail[kernels.TAIL_CI_LOWER]), float(tail[kernels.TAIL_CI_UPPER])
    if scaling is HorizonScaling.OVERLAPPING and h > 1:
        # overlapping windows hold about n/h independent observations: widen the CI to match
        ci_lo = var - (var - ci_lo) * math.sqrt(h)
        ci_hi = var + (ci_hi - var) * math.sqrt(h)
    se_var = (ci_hi - ci_lo) / (2.0 * Z_CI)
    return VaREstimate(
        method=method,
        confidence=c,
        horizon_days=h,
        var=factor * var,
        expected_shortfall=factor * es,
        var_standard_error=factor * se_var,
        es_standard_error=factor * se_es,
        var_ci_lower=factor * ci_lo,
        var_ci_upper=factor * ci_hi,
        n_observations=int(np.asarray(pnl).shape[0]),
        horizon_scaling=scaling,
        quantile_rule=QUANTILE_RULE,
        uncertainty_method="order-statistic 95% CI for VaR (SE = width / 3.92); asymptotic ES SE",
        estimator=estimator,
    )


def cornish_fisher_quantile(z: float, skewness: float, excess_kurtosis: float) -> float:
    """Cornish-Fisher expansion of the standard normal quantile ``z``."""
    s, k = skewness, excess_kurtosis
    return (
        z
        + (z * z - 1.0) * s / 6.0
        + (z**3 - 3.0 * z) * k / 24.0
        - (2.0 * z**3 - 5.0 * z) * s * s / 36.0
    )


def cornish_fisher_tail_mean(alpha: float, skewness: float, excess_kurtosis: float) -> float:
    """``E[g(Z) | Z < z_alpha]`` for the Cornish-Fisher transform ``g`` of a standard normal.

    Exact, from the partial moments of the normal below ``z``:
    ``P0 = alpha``, ``P1 = -phi``, ``P2 = alpha - z phi``, ``P3 = -(z^2 + 2) phi``.
    """
    z = float(ndtri(alpha))
    phi = normal_pdf(z)
    p0, p1 = alpha, -phi
    p2, p3 = alpha - z * phi, -(z * z + 2.0) * phi
    a, b, d = skewness / 6.0, excess_kurtosis / 24.0, skewness * skewness / 36.0
    integral = p1 + a * (p2 - p0) + b * (p3 - 3.0 * p1) - d * (2.0 * p3 - 5.0 * p1)
    return integral / alpha


def _portfolio_moments(
    cov: Any, exposures: Any, mean: Any | None
) -> tuple[float, float, FloatArray]:
    sigma = as_covariance(cov)
    w = as_vector(exposures, "exposures", length=sigma.shape[0])
    variance, _ = kernels.quadratic_form_kernel(sigma, w)
    mu = 0.0
    if mean is not None:
        mu = float(as_vector(mean, "mean", length=sigma.shape[0]) @ w)
    return mu, math.sqrt(max(variance, 0.0)), w


def parametric_var(
    cov: Any,
    exposures: Any,
    confidence: float,
    horizon_days: int = 1,
    *,
    n_observations: int,
    mean: Any | None = None,
    skewness: float | None = None,
    excess_kurtosis: float | None = None,
) -> VaREstimate:
    """Parametric VaR and ES from a daily covariance matrix of returns.

    Normal by default; passing ``skewness`` and ``excess_kurtosis`` of the daily portfolio P&L
    gives Cornish-Fisher VaR and the ES of the Cornish-Fisher distribution
    (:func:`cornish_fisher_tail_mean`). ``mean`` (daily mean returns) is optional: without it
    the drift is taken as zero (RiskMetrics). ``n_observations`` is the sample size the
    covariance came from (for the standard errors).
    """
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    if isinstance(n_observations, bool) or not isinstance(n_observations, int):
        raise ValidationError("n_observations must be an integer", "n_observations")
    if n_observations < 2:
        raise ValidationError("n_observations must be >= 2", "n_observations")
    mu, sigma, _ = _portfolio_moments(cov, exposures, mean)
    return _parametric_estimate(
        mu, sigma, c, h, n_observations, mean is not None, skewness, excess_kurtosis
    )


def normal_var_from_volatility(
    sigma: float, confidence: float, horizon_days: int, n_observations: int
) -> VaREstimate:
    """Normal VaR/ES (zero drift) of a P&L with daily standard deviation ``sigma`` (money)."""
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    if not (math.isfinite(sigma) and sigma >= 0.0):
        raise ValidationError("sigma must be a finite non-negative number", "sigma")
    if n_observations < 2:
        raise ValidationError("n_observations must be >= 2", "n_observations")
    return _parametric_estimate(0.0, sigma, c, h, n_observations, False, None, None)


def _parametric_estimate(
    mu: float,
    sigma: float,
    c: float,
    h: int,
    n: int,
    mean_estimated: bool,
    skewness: float | None,
    excess_kurtosis: float | None,
    estimator: str = "covariance as given",
) -> VaREstimate:
    alpha = 1.0 - c
    z = -float(ndtri(alpha))
    cf = skewness is not None or excess_kurtosis is not None
    if cf:
        s = float(skewness or 0.0) / math.sqrt(h)
        k = float(excess_kurtosis or 0.0) / h
        if not (math.isfinite(s) and math.isfinite(k)):
            raise ValidationError("skewness and excess_kurtosis must be finite", "skewness")
        q = -cornish_fisher_quantile(-z, s, k)
        tail = -cornish_fisher_tail_mean(alpha, s, k)
    else:
        q = z
        tail = normal_pdf(z) / alpha
    sd = sigma * math.sqrt(h)
    var = -h * mu + q * sd
    es = -h * mu + tail * sd
    mean_term = (h * sigma) ** 2 / n if mean_estimated else 0.0
    se_var = math.sqrt(mean_term + q * q * sd * sd / (2.0 * (n - 1)))
    se_es = math.sqrt(mean_term + tail * tail * sd * sd / (2.0 * (n - 1)))
    return VaREstimate(
        method=VaRMethod.CORNISH_FISHER if cf else VaRMethod.PARAMETRIC_NORMAL,
        confidence=c,
        horizon_days=h,
        var=var,
        expected_shortfall=es,
        var_standard_error=se_var,
        es_standard_error=se_es,
        var_ci_lower=var - Z_CI * se_var,
        var_ci_upper=var + Z_CI * se_var,
        n_observations=n,
        quantile_rule="Cornish-Fisher quantile" if cf else "normal quantile",
        uncertainty_method="delta method, normal 95% CI",
        estimator=estimator + ("; mean estimated" if mean_estimated else ""),
    )


def sample_moments(pnl: FloatArray) -> tuple[float, float]:
    """Skewness and excess kurtosis (biased moment estimators g1, g2) of a sample."""
    d = pnl - pnl.mean()
    m2 = float(np.mean(d * d))
    if m2 <= 0.0:
        return 0.0, 0.0
    m3 = float(np.mean(d**3))
    m4 = float(np.mean(d**4))
    return m3 / m2**1.5, m4 / (m2 * m2) - 3.0


def var_from_returns(
    returns: Any,
    exposures: Any,
    confidence: float,
    horizon_days: int,
    method: VaRMethod | str,
    *,
    ddof: int = 1,
    age_decay: float = 0.98,
    include_mean: bool = False,
    scaling: HorizonScaling = HorizonScaling.SQRT_TIME,
    n_paths: int = 100_000,
    seed: int | None = None,
    degrees_of_freedom: float = 5.0,
    full_simulation: bool = False,
) -> VaREstimate:
    """VaR and ES of money exposures from a ``(T, N)`` daily return matrix by ``method``.

    Monte Carlo uses the exact linear fast path unless ``full_simulation`` asks for the
    asset-level simulation (same distribution for a linear book; see :mod:`.montecarlo`).
    """
    try:
        m = VaRMethod(method)
    except ValueError as exc:
        raise ValidationError(f"unknown VaR method {method!r}", "method") from exc
    r = as_matrix(returns, "returns", min_rows=2)
    w = as_vector(exposures, "exposures", length=r.shape[1])
    if isinstance(ddof, bool) or ddof not in (0, 1):
        raise ValidationError("ddof must be 0 or 1", "ddof")
    if m in (VaRMethod.HISTORICAL, VaRMethod.HISTORICAL_AGE_WEIGHTED):
        pnl = r @ w
        decay = age_decay if m is VaRMethod.HISTORICAL_AGE_WEIGHTED else None
        return historical_var(pnl, confidence, horizon_days, scaling=scaling, age_decay=decay)
    if scaling is not HorizonScaling.SQRT_TIME:
        raise ValidationError("overlapping scaling applies to historical VaR only", "scaling")
    n = r.shape[0]
    if m in (VaRMethod.PARAMETRIC_NORMAL, VaRMethod.CORNISH_FISHER):
        # Linear book: w'Sw equals the sample variance of the P&L series R w (same ddof),
        # so no N x N covariance is formed: O(T N) instead of O(T N^2).
        pnl = r @ w
        mu = float(pnl.mean()) if include_mean else 0.0
        sigma = float(np.std(pnl, ddof=ddof)) if float(np.ptp(pnl)) > 0.0 else 0.0
        s = k = None
        if m is VaRMethod.CORNISH_FISHER:
            s, k = sample_moments(pnl)
        c = check_confidence(confidence)
        h = check_horizon(horizon_days)
        label = f"sample variance (ddof={ddof}) of the P&L series R w (= w'Sw)"
        return _parametric_estimate(mu, sigma, c, h, n, include_mean, s, k, label)
    cov = kernels.sample_covariance_kernel(r, ddof)
    mean = r.mean(axis=0) if include_mean else None
    from .montecarlo import monte_carlo_var

    return monte_carlo_var(
        cov,
        w,
        confidence,
        horizon_days,
        n_paths=n_paths,
        seed=seed,
        student_t=m is VaRMethod.MONTE_CARLO_STUDENT_T,
        degrees_of_freedom=degrees_of_freedom,
        mean=mean,
        full=full_simulation,
    )


def to_var_result(
    estimate: VaREstimate,
    portfolio_value: str,
    *,
    places: int = 2,
    rounding: Rounding = Rounding.HALF_EVEN,
) -> VaRResult:
    """Money form of an estimate: every amount rounded to ``places`` decimals by ``rounding``."""

    def money(x: float) -> str:
        return money_text(x, places, rounding)

    return VaRResult(
        method=estimate.method,
        confidence=estimate.confidence,
        horizon_days=estimate.horizon_days,
        var=money(estimate.var),
        expected_shortfall=money(estimate.expected_shortfall),
        var_standard_error=money(estimate.var_standard_error),
        es_standard_error=money(estimate.es_standard_error),
        var_ci_lower=money(estimate.var_ci_lower),
        var_ci_upper=money(estimate.var_ci_upper),
        ci_level=CI_LEVEL,
        portfolio_value=portfolio_value,
        n_observations=estimate.n_observations,
        n_simulations=estimate.n_simulations,
        seed=estimate.seed,
        degrees_of_freedom=estimate.degrees_of_freedom,
        horizon_scaling=estimate.horizon_scaling,
        quantile_rule=estimate.quantile_rule,
        uncertainty_method=estimate.uncertainty_method,
        estimator=estimate.estimator,
        rounding=f"{rounding.name} to {places} decimal places",
        sign_convention=estimate.sign_convention,
    )
