"""Monte Carlo VaR and ES: multivariate normal (Cholesky) and multivariate Student-t.

Model: daily asset returns ``X = mu + A Z`` (normal) or ``X = mu + sqrt(nu / W) * A_s Z``
(Student-t, ``W ~ chi2(nu)`` shared by all assets of a path, ``A_s A_s' = cov (nu - 2) / nu`` so
that ``cov`` stays the covariance). ``A`` is the Cholesky factor of ``cov`` (an eigenvalue
factor if ``cov`` is only semi-definite). The horizon scales draws by sqrt(h) and the mean by h
(exact for the normal; for Student-t it keeps the 1-day tail shape, a documented approximation).

Two paths:

* **full** (``full=True``): every path simulates all N asset returns (``paths x N`` matrix, in
  chunks), then P&L is ``X @ exposures``. Needed for component ES and non-linear books.
* **linear fast path** (``full=False``): for a linear book the P&L of an elliptical vector is
  itself univariate, ``mu_p + sigma_p * Y`` with ``sigma_p = sqrt(w' cov w)`` and ``Y`` the
  standardised normal or Student-t. The same distribution, N times fewer draws.

Antithetic pairs (``Z``, ``-Z``; the Student-t mixing draw ``W`` is shared by the pair) halve
the draws. Standard errors use the i.i.d. formulas of :mod:`.var`; for tail quantiles they are
conservative under antithetic pairing (a pair never has both members below the median).

Samplers: ``"pseudo"`` (default) draws PCG64 normals (numpy's ziggurat); ``"sobol"`` takes
scrambled Sobol points (``scipy.stats.qmc.Sobol``, seeded, one dimension per asset) through the
normal inverse CDF, chunk after chunk of the same sequence. Both are reproducible from the seed.
Sobol points cost more per path (the inverse CDF), so which gives the smaller error per
millisecond is measured, not assumed (docs/bench/analytics.md). At least
``MIN_TAIL_OBSERVATIONS`` simulated losses must fall in the tail.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from scipy.linalg.blas import dtrmm
from scipy.special import ndtri
from scipy.stats import qmc

from nexus.errors import ValidationError

from . import kernels
from .types import VaREstimate, VaRMethod
from .validation import (
    FloatArray,
    as_covariance,
    as_vector,
    check_confidence,
    check_horizon,
    check_int,
)
from .var import QUANTILE_RULE, Z_CI, _tail_standard_error, check_tail_count, checked_variance

# Paths per chunk: small enough that a chunk's draws and returns stay in cache.
CHUNK_PATHS = 2_048
MAX_PATHS = 10_000_000
SAMPLERS = ("pseudo", "sobol")


def covariance_factor(cov: FloatArray) -> FloatArray:
    """A lower-triangular ``A`` with ``A A' = cov`` (eigen factor if not positive definite)."""
    return _factor(cov)[0]


def _factor(cov: FloatArray) -> tuple[FloatArray, bool]:
    """``(A, triangular)``: the Cholesky factor, or an eigenvalue factor for a singular PSD."""
    try:
        factor: FloatArray = np.asarray(np.linalg.cholesky(cov), dtype=np.float64)
        return factor, True
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(cov)
        if values.min() < -1e-10 * max(values.max(), 1e-300):
            raise ValidationError(
                "covariance is not positive semi-definite", "covariance"
            ) from None
        eig_factor: FloatArray = vectors * np.sqrt(np.clip(values, 0.0, None))
        return eig_factor, False


class _AssetMap:
    """``Z -> scale * Z A'`` for a chunk of standard draws (rows = paths).

    With a Cholesky factor this is a triangular product (BLAS ``dtrmm``, half the flops of a
    general product), done in place on the draws: ``(Z A')' = A Z'`` and ``Z'`` of a
    C-ordered ``Z`` is an F-ordered view.
    """

    def __init__(self, cov: FloatArray, scale: float) -> None:
        self.factor, self.triangular = _factor(cov)
        self.scale = scale
        self.width = cov.shape[0]
        self.factor_t = np.ascontiguousarray(self.factor.T) * scale

    def __call__(self, z: FloatArray) -> FloatArray:
        if self.triangular:
            out: FloatArray = dtrmm(self.scale, self.factor, z.T, side=0, lower=1, overwrite_b=1).T
            return out
        general: FloatArray = z @ self.factor_t
        return general


class _Draws:
    """Chunked standard draws with optional antithetic pairing and Student-t mixing.

    :meth:`half` returns the independent half of a chunk: with antithetic pairing the other
    half is its mirror image, which callers form *after* the linear maps (a matrix product of
    ``-Z`` is minus the product of ``Z``), so pairing halves both the draws and the flops.
    """

    def __init__(
        self, seed: int, antithetic: bool, nu: float | None, sampler: str = "pseudo"
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.antithetic = antithetic
        self.nu = nu
        self.sampler = sampler
        self.seed = seed
        self._sobol: qmc.Sobol | None = None

    def _standard(self, count: int, width: int) -> FloatArray:
        if self.sampler == "pseudo":
            z: FloatArray = self.rng.standard_normal((count, width))
            return z
        if self._sobol is None:
            self._sobol = qmc.Sobol(width, scramble=True, seed=self.seed)
        with warnings.catch_warnings():  # chunks need not be powers of two
            warnings.simplefilter("ignore", UserWarning)
            u = self._sobol.random(count)
        q: FloatArray = ndtri(u)
        return q

    def half(self, paths: int, width: int) -> tuple[FloatArray, FloatArray | None]:
        count = (paths + 1) // 2 if self.antithetic else paths
        z = self._standard(count, width)
        mix: FloatArray | None = None
        if self.nu is not None:
            mix = np.sqrt(self.nu / self.rng.chisquare(self.nu, count))
        return z, mix

    def mirror(self, values: FloatArray, paths: int) -> FloatArray:
        """Append the antithetic mirror (``-values``) and cut to ``paths`` rows."""
        if not self.antithetic:
            return values
        out: FloatArray = np.concatenate((values, -values))[:paths]
        return out

    def assets(self, paths: int, asset_map: _AssetMap) -> FloatArray:
        """Independent-half asset returns ``Z A'`` (times the Student-t mix)."""
        z, mix = self.half(paths, asset_map.width)
        x: FloatArray = asset_map(z)
        if mix is not None:
            x *= mix[:, None]
        return x


def _check_paths(n_paths: Any) -> int:
    return check_int(n_paths, "n_paths", 100, MAX_PATHS)


def _check_sampler(sampler: Any) -> str:
    if sampler not in SAMPLERS:
        raise ValidationError(f"sampler must be one of {SAMPLERS}, got {sampler!r}", "sampler")
    return str(sampler)


def _check_seed(seed: Any) -> int:
    return check_int(seed, "seed", 0, 2**63 - 1)


def _check_dof(student_t: bool, dof: Any) -> float | None:
    if not student_t:
        return None
    if isinstance(dof, bool) or not isinstance(dof, (int, float, np.integer, np.floating)):
        raise ValidationError("degrees_of_freedom must be a finite number", "degrees_of_freedom")
    if not math.isfinite(dof):
        raise ValidationError("degrees_of_freedom must be a finite number", "degrees_of_freedom")
    if dof <= 2.0:
        raise ValidationError("degrees_of_freedom must be > 2", "degrees_of_freedom")
    return float(dof)


def simulate_pnl(
    cov: Any,
    exposures: Any,
    horizon_days: int = 1,
    *,
    n_paths: int = 100_000,
    seed: int = 0,
    student_t: bool = False,
    degrees_of_freedom: float = 5.0,
    mean: Any | None = None,
    full: bool = True,
    antithetic: bool = True,
    sampler: str = "pseudo",
) -> FloatArray:
    """Simulated horizon P&L in money, one value per path (see the module docstring)."""
    sigma = as_covariance(cov)
    w = as_vector(exposures, "exposures", length=sigma.shape[0])
    h = check_horizon(horizon_days)
    paths = _check_paths(n_paths)
    nu = _check_dof(student_t, degrees_of_freedom)
    seed = _check_seed(seed)
    mu = np.zeros(sigma.shape[0]) if mean is None else as_vector(mean, "mean", length=w.shape[0])
    shape_scale = 1.0 if nu is None else math.sqrt((nu - 2.0) / nu)
    draws = _Draws(seed, antithetic, nu, _check_sampler(sampler))
    drift = h * float(mu @ w)
    root_h = math.sqrt(h) * shape_scale
    if not full:
        variance, _ = kernels.quadratic_form_kernel(sigma, w)
        sd = math.sqrt(checked_variance(variance, sigma, w))
        if not (math.isfinite(root_h * sd) and math.isfinite(drift)):
            raise ValidationError("simulated P&L overflows float64", "exposures")
        z, mix = draws.half(paths, 1)
        y = z[:, 0]
        if mix is not None:
            y *= mix
        y *= root_h * sd  # in place: one pass over the half, then the mirror
        fast = np.empty(paths)
        half = y.shape[0]
        if draws.antithetic:
            fast[:half] = y
            np.negative(y[: paths - half], out=fast[half:])
        else:
            fast[:] = y
        if drift != 0.0:
            fast += drift
        return fast
    asset_map = _AssetMap(sigma, root_h)
    out = np.empty(paths)
    start = 0
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow shows in the P&L
        while start < paths:
            size = min(CHUNK_PATHS, paths - start)
            out[start : start + size] = draws.mirror(draws.assets(size, asset_map) @ w, size)
            start += size
    out += drift
    return out


def monte_carlo_var(
    cov: Any,
    exposures: Any,
    confidence: float,
    horizon_days: int = 1,
    *,
    n_paths: int = 100_000,
    seed: int | None = None,
    student_t: bool = False,
    degrees_of_freedom: float = 5.0,
    mean: Any | None = None,
    full: bool = True,
    antithetic: bool = True,
    sampler: str = "pseudo",
) -> VaREstimate:
    """Monte Carlo VaR and ES (positive losses) with their standard errors.

    ``seed=None`` draws a fresh seed and reports it, so every result can be reproduced.
    """
    c = check_confidence(confidence)
    if seed is None:
        seed = int(str(np.random.SeedSequence().entropy)) % (2**63)
    seed = _check_seed(seed)
    check_tail_count(float(_check_paths(n_paths)), c)
    pnl = simulate_pnl(
        cov,
        exposures,
        horizon_days,
        n_paths=n_paths,
        seed=seed,
        student_t=student_t,
        degrees_of_freedom=degrees_of_freedom,
        mean=mean,
        full=full,
        antithetic=antithetic,
        sampler=sampler,
    )
    # the linear path is finite when its scale and drift are (checked in simulate_pnl)
    if full and not kernels.all_finite_kernel(pnl):
        raise ValidationError("simulated P&L overflows float64", "exposures")
    tail = kernels.historical_tail_kernel(pnl, c, Z_CI)
    var = float(tail[kernels.TAIL_VAR])
    ci_lo = float(tail[kernels.TAIL_CI_LOWER])
    ci_hi = float(tail[kernels.TAIL_CI_UPPER])
    path = "full asset-level" if full else "linear fast path (univariate elliptical P&L)"
    return VaREstimate(
        method=VaRMethod.MONTE_CARLO_STUDENT_T if student_t else VaRMethod.MONTE_CARLO_NORMAL,
        confidence=c,
        horizon_days=int(horizon_days),
        var=var,
        expected_shortfall=float(tail[kernels.TAIL_ES]),
        var_standard_error=(ci_hi - ci_lo) / (2.0 * Z_CI),
        es_standard_error=_tail_standard_error(tail, c, float(pnl.shape[0])),
        var_ci_lower=ci_lo,
        var_ci_upper=ci_hi,
        n_observations=0,
        n_simulations=pnl.shape[0],
        seed=seed,
        degrees_of_freedom=float(degrees_of_freedom) if student_t else None,
        quantile_rule=QUANTILE_RULE,
        uncertainty_method="Monte Carlo sampling error: order-statistic 95% CI, "
        "asymptotic ES SE (i.i.d. formulas)",
        estimator=f"{path}; {'PCG64' if sampler == 'pseudo' else 'scrambled Sobol'}; "
        f"antithetic={antithetic}",
    )


def component_expected_shortfall(
    cov: Any,
    exposures: Any,
    confidence: float,
    horizon_days: int = 1,
    *,
    n_paths: int = 100_000,
    seed: int = 0,
    student_t: bool = False,
    degrees_of_freedom: float = 5.0,
    antithetic: bool = True,
) -> tuple[float, FloatArray]:
    """Simulated ES and its per-asset components (they sum to the ES).

    Component i is ``-E[w_i X_i | tail]`` with the tail weighted exactly as the ES rule of
    :func:`kernels.historical_tail_kernel`; paths are re-generated from the seed so that only
    the tail rows are kept.
    """
    c = check_confidence(confidence)
    sigma = as_covariance(cov)
    w = as_vector(exposures, "exposures", length=sigma.shape[0])
    h = check_horizon(horizon_days)
    paths = _check_paths(n_paths)
    check_tail_count(float(paths), c)
    nu = _check_dof(student_t, degrees_of_freedom)
    scale = math.sqrt(h) * (1.0 if nu is None else math.sqrt((nu - 2.0) / nu))
    asset_map = _AssetMap(sigma, scale)
    draws = _Draws(_check_seed(seed), antithetic, nu)
    x_all = np.empty((paths, sigma.shape[0]))
    start = 0
    while start < paths:
        size = min(CHUNK_PATHS, paths - start)
        x_all[start : start + size] = draws.mirror(draws.assets(size, asset_map) * w, size)
        start += size
    pnl = x_all.sum(axis=1)
    m = paths * (1.0 - c)
    k = max(1, min(paths, math.ceil(m - kernels.TAIL_EPS)))
    worst = np.argpartition(pnl, k - 1)[:k]
    worst = worst[np.argsort(pnl[worst], kind="mergesort")]
    weights = np.ones(k)
    weights[-1] = m - (k - 1)
    components: FloatArray = -(weights @ x_all[worst]) / m
    return float(components.sum()), components
