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

from nexus.errors import ValidationError
from nexus.money import Money, Rounding

from . import kernels
from .types import (
    FactorRisk,
    RiskDecomposition,
    VaRDecomposition,
    exact_money_text,
    float_decimal,
    money_text,
)
from .validation import (
    FloatArray,
    as_covariance,
    as_matrix,
    as_vector,
    check_confidence,
    check_horizon,
)
from .var import checked_variance, normal_constants


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
    mu = np.zeros(w.shape[0]) if mean is None else as_vector(mean, "mean", length=w.shape[0])
    z, es_scale = normal_constants(c)
    variance, total, es_total, out = kernels.euler_kernel(sigma_m, w, mu, z, es_scale, h)
    checked_variance(variance, sigma_m, w)  # raises on a non-PSD covariance or an overflow
    if not variance > 0.0:
        raise ValidationError("portfolio variance is zero; VaR has no decomposition", "exposures")
    rows = out.tolist()
    return VaRDecomposition(
        total=total,
        marginal=rows[kernels.EULER_MARGINAL],
        component=rows[kernels.EULER_COMPONENT],
        incremental=rows[kernels.EULER_INCREMENTAL],
        expected_shortfall=es_total,
        component_es=rows[kernels.EULER_COMPONENT_ES],
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
    target = Decimal(money_text(total, places, rounding))
    exact = [float_decimal(float(x)) for x in parts]
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
    exposures: FloatArray | list[Money],
    decomposition: VaRDecomposition,
    factors: FactorRisk,
    *,
    places: int = 2,
    rounding: Rounding = Rounding.HALF_EVEN,
) -> RiskDecomposition:
    """Money form of a decomposition; rounded components sum exactly to the rounded total.

    ``exposures`` given as exact :class:`Money` (the service's market values) are rounded
    exactly, once; float exposures are read as their shortest decimal.
    """

    def money(x: float) -> str:
        return money_text(x, places, rounding)

    model_var = factors.factor_variance + factors.specific_variance
    return RiskDecomposition(
        symbols=list(symbols),
        exposures=[
            exact_money_text(x, places, rounding) if isinstance(x, Money) else money(float(x))
            for x in exposures
        ],
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
