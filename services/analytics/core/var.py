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
* **Minimum tail**: historical and simulated estimates need at least
  ``MIN_TAIL_OBSERVATIONS`` (2) observations in the tail, ``n (1 - c) >= 2`` (``n_eff`` for
  age weights): with one, the tail's spread and so the ES standard error cannot be estimated
  (e.g. 99% needs 200 days). Fewer raise :class:`ValidationError` on ``confidence``.
* **Cornish-Fisher domain**: the expansion is a valid quantile function over the tail only
  where it is increasing in ``z`` over the tail (checked down to the tail's outermost 0.1%,
  :func:`cornish_fisher_is_monotone`) and its ES is not below its VaR; outside (large skewness against
  the kurtosis) VaR can turn negative, fall as confidence rises and ES fall below VaR, so
  :class:`CornishFisherDomainError` (a ``ValidationError`` naming the skewness and excess
  kurtosis) is raised instead of an estimate: use historical VaR for such a P&L.
* **Degenerate input**: a covariance that is not PSD for the exposures (``w'Sw < 0``) and a
  P&L that overflows float64 raise instead of returning a zero VaR.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from nexus.errors import ValidationError
from nexus.money import Rounding

from . import kernels
from .types import HorizonScaling, VaREstimate, VaRMethod, VaRResult, money_text
from .validation import (
    FloatArray,
    as_covariance,
    as_matrix,
    as_numeric_matrix,
    as_vector,
    check_confidence,
    check_horizon,
    check_int,
    check_unit_interval,
)

CI_LEVEL = 0.95
MIN_TAIL_OBSERVATIONS = 2
CF_TAIL_FRACTION = 1e-3
LARGE_MATRIX = 250_000  # returns matrices of this many values take numpy's BLAS for R w
Z_CI = 1.959963984540054
QUANTILE_RULE = "upper-tail inverted CDF: k = ceil(n(1-c))-th largest loss; ES Acerbi-Tasche"
NORMAL_SQRT_2PI = math.sqrt(2.0 * math.pi)


class CornishFisherDomainError(ValidationError):
    """The Cornish-Fisher expansion is not a quantile function over the tail (not monotone)
    for these moments; carries them as ``skewness`` and ``excess_kurtosis``."""

    def __init__(self, skewness: float, excess_kurtosis: float, confidence: float) -> None:
        super().__init__(
            f"Cornish-Fisher expansion is not monotone over the {confidence:g} tail for "
            f"skewness {skewness:.6g} and excess kurtosis {excess_kurtosis:.6g} "
            "(VaR and ES would be meaningless); use historical VaR",
            "method",
        )
        self.skewness = skewness
        self.excess_kurtosis = excess_kurtosis


@functools.lru_cache(maxsize=256)
def normal_constants(confidence: float) -> tuple[float, float]:
    """``(z, phi(z) / (1 - c))``: the normal quantile of a loss at ``confidence`` and the
    normal ES multiplier (cached: a service asks for the same few confidences)."""
    alpha = 1.0 - confidence
    z = -float(ndtri(alpha))
    return z, normal_pdf(z) / alpha


def normal_pdf(x: float) -> float:
    """Standard normal density."""
    return math.exp(-0.5 * x * x) / NORMAL_SQRT_2PI


def age_weights(n: int, decay: float) -> FloatArray:
    """Boudoukh age weights of ``n`` days, oldest first, summing to one."""
    lam = check_unit_interval(decay, "age_decay")
    ages = np.arange(n - 1, -1, -1, dtype=np.float64)
    w: FloatArray = lam**ages * (1.0 - lam) / (1.0 - lam**n)
    return w


def check_tail_count(n_eff: float, confidence: float, field: str = "confidence") -> None:
    """Raise unless ``n_eff (1 - c) >= MIN_TAIL_OBSERVATIONS`` (see the module docstring)."""
    if n_eff * (1.0 - confidence) < MIN_TAIL_OBSERVATIONS - kernels.TAIL_EPS:
        need = math.ceil(MIN_TAIL_OBSERVATIONS / (1.0 - confidence) - 1e-6)
        raise ValidationError(
            f"{n_eff:g} observations leave fewer than {MIN_TAIL_OBSERVATIONS} in the "
            f"{confidence:g} tail; need at least {need}",
            field,
        )


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
    return _historical(x, c, h, check_scaling(scaling), age_decay)


def _historical(
    x: FloatArray, c: float, h: int, scaling: HorizonScaling, age_decay: float | None
) -> VaREstimate:
    """:func:`historical_var` of a validated finite P&L vector."""
    n_observations = x.shape[0]
    factor = math.sqrt(h)
    if age_decay is not None:
        if scaling is HorizonScaling.OVERLAPPING:
            raise ValidationError("age weighting supports sqrt_time scaling only", "scaling")
        check_tail_count(float(x.shape[0]), c)
        w = age_weights(x.shape[0], age_decay)
        n_eff = 1.0 / float(np.sum(w * w))
        tail = kernels.weighted_tail_kernel(x, w, c, Z_CI)
        method = VaRMethod.HISTORICAL_AGE_WEIGHTED
        estimator = f"Boudoukh age weights, decay {age_decay}"
    else:
        if scaling is HorizonScaling.OVERLAPPING and h > 1:
            if x.shape[0] - h + 1 < 2:
                raise ValidationError("history shorter than the horizon", "pnl")
            csum = np.concatenate(([0.0], np.cumsum(x)))
            x = np.ascontiguousarray(csum[h:] - csum[:-h])
            factor = 1.0
        check_tail_count(float(x.shape[0]), c)
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
    if tail[kernels.TAIL_COUNT] < MIN_TAIL_OBSERVATIONS:
        # age weights can put the whole tail on one day: its spread is then unknown, and ES
        # (= VaR there) is at least as uncertain as VaR
        se_es = max(se_es, se_var)
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
        n_observations=n_observations,
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


def cornish_fisher_is_monotone(z_alpha: float, skewness: float, excess_kurtosis: float) -> bool:
    """Whether the Cornish-Fisher map ``g(z)`` increases over the tail ``[z_lo, z_alpha]``.

    ``z_lo = Phi^-1(Phi(z_alpha) * CF_TAIL_FRACTION)``: the check covers all of the tail but
    its outermost 0.1% of probability (with any skewness and no excess kurtosis ``g`` turns
    down somewhere far out, e.g. below z = -4.7 for skewness -0.8, which no tail statistic
    at these confidences feels). ``g'(z) = a z^2 + b z + c`` with ``a = k/8 - s^2/6``,
    ``b = s/3``, ``c = 1 - k/8 + 5 s^2/36``; a quadratic is positive on an interval iff it
    is at both ends and, when its vertex lies inside and ``a > 0``, at the vertex.
    """
    s, k = skewness, excess_kurtosis
    a = k / 8.0 - s * s / 6.0
    b = s / 3.0
    c0 = 1.0 - k / 8.0 + 5.0 * s * s / 36.0
    z_lo = float(ndtri(float(ndtr(z_alpha)) * CF_TAIL_FRACTION))

    def slope(z: float) -> float:
        return a * z * z + b * z + c0

    if slope(z_lo) <= 0.0 or slope(z_alpha) <= 0.0:
        return False
    if a > 0.0 and z_lo < -b / (2.0 * a) < z_alpha:
        return c0 - b * b / (4.0 * a) > 0.0
    return True


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
    return mu, math.sqrt(checked_variance(variance, sigma, w)), w


def checked_variance(variance: float, cov: FloatArray, w: FloatArray) -> float:
    """``w'Sw`` clipped at 0 within rounding; raises if clearly negative (``cov`` is not
    PSD) or not finite (overflow), instead of a silent zero VaR."""
    if not math.isfinite(variance):
        raise ValidationError("portfolio variance overflows float64", "exposures")
    if variance < 0.0:
        # rounding of w'Sw is at most ~N eps sum |w_j S_jk w_k| <= N eps (|w|' diag(S)^.5)^2
        scale = float(np.abs(w) @ np.sqrt(np.abs(np.diagonal(cov)))) ** 2
        if variance < -64.0 * w.shape[0] * float(np.finfo(np.float64).eps) * scale:
            raise ValidationError(
                "covariance is not positive semi-definite: w'Sw < 0 for these exposures",
                "covariance",
            )
        return 0.0
    return variance


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
    n_observations = check_int(n_observations, "n_observations", 2)
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
    n_observations = check_int(n_observations, "n_observations", 2)
    return normal_estimate(sigma, c, h, n_observations)


def normal_estimate(sigma: float, c: float, h: int, n: int) -> VaREstimate:
    """Normal VaR/ES (zero drift) of validated inputs: the hot path of the incremental VaR.

    The figures of :func:`_parametric_estimate` without drift or moments, in fewer steps:
    ``SE = q sd / sqrt(2 (n - 1))`` for ``q`` the VaR and ES multipliers.
    """
    z, tail = normal_constants(c)
    sd = sigma * math.sqrt(h)
    unit = sd / math.sqrt(2.0 * (n - 1))
    var = z * sd
    se_var = z * unit
    return VaREstimate(
        method=VaRMethod.PARAMETRIC_NORMAL,
        confidence=c,
        horizon_days=h,
        var=var,
        expected_shortfall=tail * sd,
        var_standard_error=se_var,
        es_standard_error=tail * unit,
        var_ci_lower=var - Z_CI * se_var,
        var_ci_upper=var + Z_CI * se_var,
        n_observations=n,
        quantile_rule="normal quantile",
        uncertainty_method="delta method, normal 95% CI",
        estimator="covariance as given",
    )


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
    z, normal_tail = normal_constants(c)
    cf = skewness is not None or excess_kurtosis is not None
    if cf:
        s = float(skewness or 0.0) / math.sqrt(h)
        k = float(excess_kurtosis or 0.0) / h
        if not (math.isfinite(s) and math.isfinite(k)):
            raise ValidationError("skewness and excess_kurtosis must be finite", "skewness")
        if not cornish_fisher_is_monotone(-z, s, k):
            raise CornishFisherDomainError(s, k, c)
        q = -cornish_fisher_quantile(-z, s, k)
        tail = -cornish_fisher_tail_mean(alpha, s, k)
        if tail < q:  # never ES < VaR, whatever the far tail does
            raise CornishFisherDomainError(s, k, c)
    else:
        q = z
        tail = normal_tail
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
    return _shape(kernels.pnl_moments_kernel(np.ascontiguousarray(pnl, dtype=np.float64)))


def _shape(mom: FloatArray) -> tuple[float, float]:
    m2 = float(mom[kernels.MOM_M2])
    if m2 <= 0.0 or mom[kernels.MOM_MIN] == mom[kernels.MOM_MAX]:
        return 0.0, 0.0
    m3, m4 = float(mom[kernels.MOM_M3]), float(mom[kernels.MOM_M4])
    return m3 / m2**1.5, m4 / (m2 * m2) - 3.0


def check_scaling(scaling: Any) -> HorizonScaling:
    """A :class:`HorizonScaling` or its documented name (``"sqrt_time"``, ``"overlapping"``)."""
    if type(scaling) is HorizonScaling:
        return scaling
    try:
        return HorizonScaling(scaling)
    except ValueError as exc:
        raise ValidationError(f"unknown horizon scaling {scaling!r}", "scaling") from exc


def linear_pnl(r: FloatArray, w: FloatArray) -> FloatArray:
    """``r @ w`` for a matrix whose values were not scanned (:func:`as_numeric_matrix`).

    A NaN or inf in a column with a non-zero exposure reaches its day's P&L, so only the
    columns of zero exposure (which a BLAS may skip) are scanned
    (:func:`kernels.linear_pnl_kernel`); the caller tests the P&L and raises on a
    non-finite one, naming bad returns or an overflow (never a silent zero VaR).
    """
    if r.size >= LARGE_MATRIX:
        # memory-bound: numpy's OpenBLAS dgemv ran 5-17% faster here than the scipy build
        # Numba calls; numpy's FP-error check is negligible at this size
        with np.errstate(over="ignore", invalid="ignore"):
            pnl: FloatArray = r @ w
        zero = w == 0.0
        ok = not zero.any() or bool(np.isfinite(r[:, zero]).all())
    else:
        pnl, ok = kernels.linear_pnl_kernel(r, w)
    if not ok:
        raise ValidationError("returns must be finite", "returns")
    return pnl


def _nonfinite_pnl(r: FloatArray) -> ValidationError:
    if not np.isfinite(r).all():
        return ValidationError("returns must be finite", "returns")
    return ValidationError("P&L overflows float64 (returns x exposures too large)", "exposures")


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
    scaling: HorizonScaling | str = HorizonScaling.SQRT_TIME,
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
        m = method if type(method) is VaRMethod else VaRMethod(method)
    except ValueError as exc:
        raise ValidationError(f"unknown VaR method {method!r}", "method") from exc
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    scaling = check_scaling(scaling)
    ddof = check_int(ddof, "ddof", 0, 1)
    r = as_numeric_matrix(returns, "returns", min_rows=2)
    w = as_vector(exposures, "exposures", length=r.shape[1])
    if m in (VaRMethod.HISTORICAL, VaRMethod.HISTORICAL_AGE_WEIGHTED):
        pnl = linear_pnl(r, w)
        if not kernels.all_finite_kernel(pnl):
            raise _nonfinite_pnl(r)
        decay = age_decay if m is VaRMethod.HISTORICAL_AGE_WEIGHTED else None
        return _historical(pnl, c, h, scaling, decay)
    if scaling is not HorizonScaling.SQRT_TIME:
        raise ValidationError("overlapping scaling applies to historical VaR only", "scaling")
    n = r.shape[0]
    if m in (VaRMethod.PARAMETRIC_NORMAL, VaRMethod.CORNISH_FISHER):
        # Linear book: w'Sw equals the sample variance of the P&L series R w (same ddof),
        # so no N x N covariance is formed: O(T N) instead of O(T N^2).
        mom = kernels.pnl_moments_kernel(linear_pnl(r, w))
        if mom[kernels.MOM_FINITE] == 0.0:
            raise _nonfinite_pnl(r)
        mu = float(mom[kernels.MOM_MEAN]) if include_mean else 0.0
        constant = mom[kernels.MOM_MIN] == mom[kernels.MOM_MAX]
        sigma = 0.0 if constant else math.sqrt(float(mom[kernels.MOM_M2]) * n / (n - ddof))
        s = k = None
        if m is VaRMethod.CORNISH_FISHER:
            s, k = _shape(mom)
        label = f"sample variance (ddof={ddof}) of the P&L series R w (= w'Sw)"
        return _parametric_estimate(mu, sigma, c, h, n, include_mean, s, k, label)
    r = as_matrix(r, "returns", min_rows=2)
    cov = kernels.sample_covariance(r, ddof)
    mean = r.mean(axis=0) if include_mean else None
    from .montecarlo import monte_carlo_var

    return monte_carlo_var(
        cov,
        w,
        c,
        h,
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
