"""Risk decomposition: Euler (marginal/component) and incremental VaR; factor risk.

Parametric normal VaR of money exposures ``w`` with daily covariance ``S`` and optional daily
mean ``mu`` over h days: ``VaR(w) = -h mu'w + z sqrt(h) sigma(w)``, ``sigma(w) = sqrt(w'Sw)``.
It is homogeneous of degree one in ``w``, so by Euler's theorem
``VaR = sum_i w_i dVaR/dw_i``:

* marginal ``dVaR/dw_i = -h mu_i + z sqrt(h) (S w)_i / sigma`` (VaR per unit of money exposure);
* component ``w_i * marginal_i`` (sums to VaR to rounding);
* incremental ``VaR(w) - VaR(w with w_i = 0)``, exact (not the marginal approximation):
  ``sigma_-i^2 = sigma^2 - 2 w_i (S w)_i + w_i^2 S_ii``;
* component ES, the same Euler split of the normal ES ``-h mu'w + phi(z)/(1-c) sqrt(h) sigma``.

Factor model: each asset's returns regressed by OLS (with intercept) on the K factor return
series; exposures ``e = B'w`` (money per unit factor return), factor variance ``e' F e`` with
``F`` the sample factor covariance (ddof=1), specific variance ``sum_i w_i^2 s_i^2`` with
``s_i^2`` the residual variance (ddof ``K + 1``).
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
from scipy.special import ndtri

from nexus.errors import ValidationError
from nexus.money import Rounding, float_to_money

from . import kernels
from .types import FactorRisk, RiskDecomposition, VaRDecomposition, money_text
from .validation import (
    FloatArray,
    as_covariance,
    as_matrix,
    as_vector,
    check_confidence,
    check_horizon,
)


def var_decomposition(
    cov: Any,
    exposures: Any,
    confidence: float,
    horizon_days: int = 1,
    *,
    mean: Any | None = None,
) -> VaRDecomposition:
    """Marginal, component and incremental parametric-normal VaR of each position (money)."""
    c = check_confidence(confidence)
    h = check_horizon(horizon_days)
    sigma_m = as_covariance(cov)
    w = as_vector(exposures, "exposures", length=sigma_m.shape[0])
    mu = np.zeros_like(w) if mean is None else as_vector(mean, "mean", length=w.shape[0])
    variance, cov_w = kernels.quadratic_form_kernel(sigma_m, w)
    sigma = math.sqrt(max(variance, 0.0))
    if sigma == 0.0:
        raise ValidationError("portfolio variance is zero; VaR has no decomposition", "exposures")
    z = -float(ndtri(1.0 - c))
    root_h = math.sqrt(h)
    total = -h * float(mu @ w) + z * root_h * sigma
    marginal = -h * mu + z * root_h * cov_w / sigma
    component = w * marginal
    es_scale = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) / (1.0 - c)
    es_total = -h * float(mu @ w) + es_scale * root_h * sigma
    component_es = w * (-h * mu + es_scale * root_h * cov_w / sigma)
    reduced = variance - 2.0 * w * cov_w + w * w * np.diag(sigma_m)
    reduced_var = -h * (float(mu @ w) - mu * w) + z * root_h * np.sqrt(np.clip(reduced, 0.0, None))
    return VaRDecomposition(
        total=total,
        marginal=marginal.tolist(),
        component=component.tolist(),
        incremental=(total - reduced_var).tolist(),
        expected_shortfall=es_total,
        component_es=component_es.tolist(),
        confidence=c,
        horizon_days=h,
    )


def factor_risk(
    asset_returns: Any, factor_returns: Any, exposures: Any, factor_names: list[str]
) -> FactorRisk:
    """OLS factor betas per asset and the factor/specific split of portfolio variance."""
    r = as_matrix(asset_returns, "asset_returns")
    f = as_matrix(factor_returns, "factor_returns")
    t, n = r.shape
    k = f.shape[1]
    if f.shape[0] != t:
        raise ValidationError("factor and asset histories must cover the same days", "factors")
    if len(factor_names) != k:
        raise ValidationError("one name per factor column is required", "factor_names")
    if t <= k + 2:
        raise ValidationError(f"need more than {k + 2} days for {k} factors", "asset_returns")
    w = as_vector(exposures, "exposures", length=n)
    design = np.column_stack((np.ones(t), f))
    coef, _, rank, _ = np.linalg.lstsq(design, r, rcond=None)
    if rank < k + 1:
        raise ValidationError("factor returns are collinear", "factors")
    betas = coef[1:].T
    resid = r - design @ coef
    dof = k + 1
    resid_var = (resid * resid).sum(axis=0) / (t - dof)
    centred = r - r.mean(axis=0)
    total_ss = (centred * centred).sum(axis=0)
    r2 = np.where(total_ss > 0.0, 1.0 - (resid * resid).sum(axis=0) / total_ss, 0.0)
    exposure = betas.T @ w
    f_cov = np.atleast_2d(np.cov(f, rowvar=False, ddof=1))
    factor_var = float(exposure @ f_cov @ exposure)
    specific_var = float((w * w) @ resid_var)
    return FactorRisk(
        factor_names=list(factor_names),
        betas=betas.tolist(),
        exposures=exposure.tolist(),
        factor_variance=factor_var,
        specific_variance=specific_var,
        r_squared=r2.tolist(),
        residual_ddof=dof,
    )


def allocate_rounded(total: float, parts: FloatArray, places: int, rounding: Rounding) -> list[str]:
    """Round ``parts`` to ``places`` so that they sum exactly to the rounded ``total``.

    Largest-remainder allocation: parts are rounded down, then the units still missing to
    reach the rounded total go to the parts with the largest remainders.
    """
    unit = Decimal(1).scaleb(-places)
    target = float_to_money(total, places, rounding).to_decimal()
    exact = [Decimal(float(x)) for x in parts]
    floors = [x.quantize(unit, rounding="ROUND_FLOOR") for x in exact]
    missing = int(((target - sum(floors, Decimal(0))) / unit).to_integral_value())
    order = sorted(range(len(exact)), key=lambda i: exact[i] - floors[i], reverse=True)
    if missing >= 0:
        for i in order[: min(missing, len(order))]:
            floors[i] += unit
        if missing > len(order):
            floors[order[0]] += unit * (missing - len(order))
    else:
        floors[order[-1]] += unit * missing
    return [str(x) for x in floors]


def risk_decomposition(
    symbols: list[str],
    exposures: FloatArray,
    decomposition: VaRDecomposition,
    factors: FactorRisk,
    *,
    places: int = 2,
    rounding: Rounding = Rounding.HALF_EVEN,
) -> RiskDecomposition:
    """Money form of a decomposition; rounded components sum exactly to the rounded total."""

    def money(x: float) -> str:
        return money_text(x, places, rounding)

    model_var = factors.factor_variance + factors.specific_variance
    return RiskDecomposition(
        symbols=list(symbols),
        exposures=[money(float(x)) for x in exposures],
        total_var=money(decomposition.total),
        marginal_var=decomposition.marginal,
        component_var=allocate_rounded(
            decomposition.total, np.asarray(decomposition.component), places, rounding
        ),
        incremental_var=[money(x) for x in decomposition.incremental],
        expected_shortfall=money(decomposition.expected_shortfall),
        component_es=allocate_rounded(
            decomposition.expected_shortfall,
            np.asarray(decomposition.component_es),
            places,
            rounding,
        ),
        confidence=decomposition.confidence,
        horizon_days=decomposition.horizon_days,
        factor_names=factors.factor_names,
        factor_exposures=[money(x) for x in factors.exposures],
        factor_betas=factors.betas,
        factor_volatility=money(math.sqrt(factors.factor_variance)),
        specific_volatility=money(math.sqrt(factors.specific_variance)),
        factor_share=factors.factor_variance / model_var if model_var > 0.0 else 0.0,
        rounding=rounding.name,
    )
