"""Covariance and correlation estimators with an explicit missing-data policy and PSD repair.

Estimators (all on simple daily returns, one row per day, oldest first):

* ``sample``: two-pass sample covariance, ``ddof`` configurable (default 1).
* ``ewma``: RiskMetrics exponentially weighted, zero mean, lambda configurable (default 0.94),
  finite-sample weights normalised to sum to one (the newest day weighs ``(1-lam)/(1-lam^T)``).
* ``ledoit_wolf``: Ledoit-Wolf (2004) shrinkage of the ``1/T`` sample covariance of centred
  data towards ``mu * I`` (``mu`` = average variance); the intensity is reported.

Missing data (NaN marks a day without a return: a holiday or a history that starts later):

* ``common_window`` (default, all estimators): keep only the days where every asset has a
  return. The estimate is then PSD by construction and every entry uses the same days.
* ``pairwise`` (sample estimator only): each covariance entry uses the days both assets share.
  Entries then mix windows and the matrix may be indefinite: it is repaired (below).

Correlation = ``D^-1/2 cov D^-1/2``, symmetrised, diagonal set to exactly 1. If its smallest
eigenvalue is below ``-PSD_TOLERANCE``, it is replaced by the nearest correlation matrix
(Higham 2002, alternating projections with Dykstra's correction) and ``psd_repaired`` is set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from nexus.errors import ValidationError

from . import kernels
from .types import CorrelationMatrix, VaREstimate
from .validation import (
    FloatArray,
    as_matrix,
    as_numeric_matrix,
    as_vector,
    check_int,
    check_unit_interval,
)
from .var import checked_variance, normal_var_from_volatility

PSD_TOLERANCE = 1e-12
_FLOAT64 = np.dtype(np.float64)
_UNIT_STRIDE = (8,)
RISKMETRICS_LAMBDA = 0.94


class Estimator(StrEnum):
    """Covariance estimator."""

    SAMPLE = "sample"
    EWMA = "ewma"
    LEDOIT_WOLF = "ledoit_wolf"


class MissingPolicy(StrEnum):
    """What to do with NaN (missing) returns."""

    COMMON_WINDOW = "common_window"
    PAIRWISE = "pairwise"


@dataclass(frozen=True, slots=True)
class CovarianceEstimate:
    """A daily covariance matrix and how it was obtained."""

    covariance: FloatArray
    estimator: Estimator
    n_observations: int
    missing_policy: MissingPolicy
    ddof: int | None = None
    ewma_lambda: float | None = None
    shrinkage_intensity: float | None = None


def common_window(returns: FloatArray) -> FloatArray:
    """The rows of ``returns`` without any NaN."""
    keep = ~np.isnan(returns).any(axis=1)
    if keep.all():
        return returns
    return np.ascontiguousarray(returns[keep])


def estimate_covariance(
    returns: Any,
    estimator: Estimator | str = Estimator.SAMPLE,
    *,
    ddof: int = 1,
    ewma_lambda: float = RISKMETRICS_LAMBDA,
    missing: MissingPolicy | str = MissingPolicy.COMMON_WINDOW,
) -> CovarianceEstimate:
    """Daily covariance of a ``(T, N)`` return matrix (NaN = missing) by ``estimator``."""
    try:
        est = Estimator(estimator)
    except ValueError as exc:
        raise ValidationError(f"unknown estimator {estimator!r}", "estimator") from exc
    try:
        policy = MissingPolicy(missing)
    except ValueError as exc:
        raise ValidationError(f"unknown missing-data policy {missing!r}", "missing") from exc
    ddof = check_int(ddof, "ddof", 0, 1)
    lam = check_unit_interval(ewma_lambda, "ewma_lambda") if est is Estimator.EWMA else None
    if policy is MissingPolicy.PAIRWISE:
        raw = as_matrix(returns, "returns", allow_nan=True)
        if est is not Estimator.SAMPLE:
            raise ValidationError("pairwise policy applies to the sample estimator", "missing")
        cov = kernels.pairwise_covariance_kernel(raw, ddof)
        if np.isnan(cov).any():
            raise ValidationError("some pairs share fewer than 2 days of returns", "returns")
        if not np.isfinite(cov).all():
            raise ValidationError("returns are too large: the covariance overflows", "returns")
        return CovarianceEstimate(cov, est, raw.shape[0], policy, ddof=ddof)
    r = as_numeric_matrix(returns, "returns", min_rows=2)
    # Optimistic: estimate on the data as given. A NaN or inf anywhere in a column makes
    # that column's variance non-finite (every row weighs > 0 and products propagate NaN),
    # so finite diagonals prove the data finite without a separate O(TN) scan.
    intensity = None
    cov, intensity = _estimate(est, r, ddof, lam)
    if not np.isfinite(np.diagonal(cov)).all():
        full = as_matrix(r, "returns", allow_nan=True)  # names an inf
        r = common_window(full)
        if r.shape[0] < 2:
            raise ValidationError("fewer than 2 days where every asset has a return", "returns")
        cov, intensity = _estimate(est, r, ddof, lam)
        if not np.isfinite(cov).all():
            raise ValidationError("returns are too large: the covariance overflows", "returns")
    if est is Estimator.SAMPLE:
        return CovarianceEstimate(cov, est, r.shape[0], policy, ddof=ddof)
    if est is Estimator.EWMA:
        return CovarianceEstimate(cov, est, r.shape[0], policy, ewma_lambda=lam)
    return CovarianceEstimate(cov, est, r.shape[0], policy, ddof=0, shrinkage_intensity=intensity)


def _estimate(
    est: Estimator, r: FloatArray, ddof: int, lam: float | None
) -> tuple[FloatArray, float | None]:
    if est is Estimator.SAMPLE:
        return kernels.sample_covariance(r, ddof), None
    if est is Estimator.EWMA:
        assert lam is not None
        return kernels.ewma_covariance(r, lam), None
    return kernels.ledoit_wolf(r)


def zero_variance_tolerances(returns: FloatArray) -> FloatArray:
    """Per column, the largest variance float rounding alone gives a constant column.

    A two-pass mean of n copies of ``c`` is off by up to about ``n eps |c|``, so a constant
    column shows a variance of order ``(n eps |c|)^2`` (1e-36, not 0, for 0.01): anything at
    or below ``(4 n eps max|r|)^2`` is treated as zero variance (NaNs ignored).
    """
    n = returns.shape[0]
    with np.errstate(invalid="ignore"):
        scale = np.nanmax(np.abs(returns), axis=0) if n else np.zeros(returns.shape[1])
    scale = np.nan_to_num(scale, nan=0.0)
    tol: FloatArray = (4.0 * n * float(np.finfo(np.float64).eps) * scale) ** 2
    return tol


def covariance_to_correlation(
    cov: FloatArray, zero_variance: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """``(correlation, volatilities)``; a zero-variance asset gets correlation 0 off-diagonal.

    ``zero_variance`` gives per asset the variance at or below which it counts as zero
    (:func:`zero_variance_tolerances`); without it only an exact 0 does.
    """
    diag = np.clip(np.diag(cov), 0.0, None)
    if zero_variance is not None:
        diag = np.where(diag <= zero_variance, 0.0, diag)
    vol = np.sqrt(diag)
    inv = np.divide(1.0, vol, out=np.zeros_like(vol), where=vol > 0.0)
    corr = cov * inv[:, None] * inv[None, :]
    corr = 0.5 * (corr + corr.T)
    np.clip(corr, -1.0, 1.0, out=corr)
    np.fill_diagonal(corr, 1.0)
    return corr, vol


def nearest_correlation(
    matrix: FloatArray, *, max_iterations: int = 200, tolerance: float = 1e-12
) -> FloatArray:
    """Higham (2002) nearest correlation matrix in the Frobenius norm.

    Alternates the projection on the PSD cone (eigenvalues clipped at 0) with the projection
    on unit-diagonal matrices, with Dykstra's correction; the result's eigenvalues are then
    clipped at ``+PSD_TOLERANCE`` scale so that it is PSD to rounding.
    """
    y = matrix.copy()
    correction = np.zeros_like(y)
    for _ in range(max_iterations):
        r = y - correction
        values, vectors = np.linalg.eigh(r)
        x = (vectors * np.clip(values, 0.0, None)) @ vectors.T
        correction = x - r
        previous = y
        y = x.copy()
        np.fill_diagonal(y, 1.0)
        if np.linalg.norm(y - previous, "fro") <= tolerance * np.linalg.norm(y, "fro"):
            break
    values, vectors = np.linalg.eigh(0.5 * (y + y.T))
    y = (vectors * np.clip(values, PSD_TOLERANCE, None)) @ vectors.T
    d = 1.0 / np.sqrt(np.diag(y))
    y = y * d[:, None] * d[None, :]
    out: FloatArray = 0.5 * (y + y.T)
    np.fill_diagonal(out, 1.0)
    return out


def correlation_matrix(
    returns: Any,
    symbols: list[str],
    estimator: Estimator | str = Estimator.SAMPLE,
    *,
    ddof: int = 1,
    ewma_lambda: float = RISKMETRICS_LAMBDA,
    missing: MissingPolicy | str = MissingPolicy.COMMON_WINDOW,
) -> CorrelationMatrix:
    """Correlation matrix of ``returns`` columns named by ``symbols``, PSD-repaired if needed."""
    raw = as_matrix(returns, "returns", allow_nan=True)
    if len(symbols) != raw.shape[1]:
        raise ValidationError("one symbol per returns column is required", "symbols")
    if len(set(symbols)) != len(symbols):
        raise ValidationError("symbols must be unique", "symbols")
    est = estimate_covariance(raw, estimator, ddof=ddof, ewma_lambda=ewma_lambda, missing=missing)
    corr, vol = covariance_to_correlation(est.covariance, zero_variance_tolerances(raw))
    min_eig = float(np.linalg.eigvalsh(corr)[0])
    repaired = min_eig < -PSD_TOLERANCE
    if repaired:
        corr = nearest_correlation(corr)
        min_eig = float(np.linalg.eigvalsh(corr)[0])
    return CorrelationMatrix(
        symbols=list(symbols),
        matrix=corr.tolist(),
        volatilities=vol.tolist(),
        estimator=est.estimator.value,
        n_observations=est.n_observations,
        missing_policy=est.missing_policy.value,
        ddof=est.ddof,
        ewma_lambda=est.ewma_lambda,
        shrinkage_target="scaled identity (average variance)"
        if est.estimator is Estimator.LEDOIT_WOLF
        else None,
        shrinkage_intensity=est.shrinkage_intensity,
        psd_repaired=repaired,
        repair_method="Higham 2002 nearest correlation" if repaired else None,
        min_eigenvalue=min_eig,
    )


class IncrementalCovariance:
    """Running mean and covariance of return rows, O(N^2) per new row (Welford/Chan).

    Keep one per portfolio universe and call :meth:`push` as each day's returns arrive; then
    parametric VaR needs only a quadratic form (see :func:`var.parametric_var`).
    """

    def __init__(self, n_assets: int, ddof: int = 1) -> None:
        n_assets = check_int(n_assets, "n_assets", 1)
        ddof = check_int(ddof, "ddof", 0, 1)
        self.n_assets = n_assets
        self._shape = (n_assets,)
        self.ddof = ddof
        self.count = 0
        self._mean = np.zeros(n_assets)
        self._m2 = np.zeros((n_assets, n_assets))

    def push(self, row: Any) -> None:
        """Add one day of returns (finite, length ``n_assets``)."""
        x = np.ascontiguousarray(row, dtype=np.float64)
        if x.shape != (self.n_assets,) or not np.isfinite(x).all():
            raise ValidationError(f"row must be {self.n_assets} finite returns", "row")
        self.count = kernels.welford_update_kernel(self._mean, self._m2, self.count, x)

    def remove(self, row: Any) -> None:
        """Remove a row pushed earlier (roll the window forward: push the new day, remove the
        day that left the look-back). The caller keeps the rows; O(N^2)."""
        x = np.ascontiguousarray(row, dtype=np.float64)
        if x.shape != (self.n_assets,) or not np.isfinite(x).all():
            raise ValidationError(f"row must be {self.n_assets} finite returns", "row")
        if self.count == 0:
            raise ValidationError("nothing to remove", "count")
        self.count = kernels.welford_remove_kernel(self._mean, self._m2, self.count, x)

    def extend(self, rows: Any) -> None:
        """Add several rows, oldest first."""
        for row in as_matrix(rows, "rows"):
            self.push(row)

    @property
    def mean(self) -> FloatArray:
        """Running mean return per asset (a copy)."""
        return self._mean.copy()

    @property
    def covariance(self) -> FloatArray:
        """Current covariance (symmetrised); NaNs until ``count > ddof``."""
        if self.count - self.ddof <= 0:
            return np.full((self.n_assets, self.n_assets), np.nan)
        cov: FloatArray = (self._m2 + self._m2.T) / (2.0 * (self.count - self.ddof))
        return cov

    def parametric_var(
        self, exposures: FloatArray, confidence: float, horizon_days: int = 1
    ) -> VaREstimate:
        """Normal VaR/ES of money ``exposures`` on the running covariance (zero drift).

        The hot path: one O(N^2) quadratic form on the co-moment matrix, no copy.
        """
        if self.count - self.ddof < 2:
            raise ValidationError("not enough rows for a covariance", "count")
        w = exposures
        if not (
            type(w) is np.ndarray
            and w.dtype is _FLOAT64
            and w.shape == self._shape
            and w.strides == _UNIT_STRIDE
        ):
            w = as_vector(exposures, "exposures", length=self.n_assets)
        m2_var, _ = kernels.quadratic_form_kernel(self._m2, w)
        if not math.isfinite(m2_var):
            w = as_vector(exposures, "exposures", length=self.n_assets)  # names a bad value
        variance = checked_variance(m2_var / (self.count - self.ddof), self._m2, w)
        return normal_var_from_volatility(math.sqrt(variance), confidence, horizon_days, self.count)
