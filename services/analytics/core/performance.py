"""Performance metrics of a periodic simple-return series.

Conventions (also carried by :class:`PerformanceMetrics`):

* One period is one trading day by default, ``periods_per_year`` P = 252.
* ``total_return = prod(1 + r) - 1``; ``annualised_return = (1 + total) ** (P / n) - 1``
  (geometric compounding).
* ``volatility = std(r, ddof=1) * sqrt(P)``.
* The risk-free rate ``rf`` is **annual** and converted geometrically per period,
  ``rf_p = (1 + rf) ** (1 / P) - 1``; likewise the Sortino ``target_return``.
* ``sharpe = mean(r - rf_p) / std(r - rf_p, ddof=1) * sqrt(P)``; its standard error follows
  Mertens (2002) (Lo 2002 under normality when skew = 0 and kurtosis = 3), per period then
  times sqrt(P).
* ``sortino = mean(r - t_p) / DD * sqrt(P)`` with the full-sample downside deviation
  ``DD = sqrt(mean(min(r - t_p, 0) ** 2))`` over *all* n periods.
* ``max_drawdown`` (<= 0) on the wealth index starting at 1 before the first return;
  ``calmar = annualised_return / |max_drawdown|`` (``inf`` without a drawdown).
* Against a benchmark ``b``: ``beta = cov(r, b) / var(b)`` (ddof=1),
  ``alpha = (mean(r - rf_p) - beta * mean(b - rf_p)) * P`` (Jensen, arithmetic),
  ``tracking_error = std(r - b, ddof=1) * sqrt(P)``, ``information_ratio = mean(r - b) * P /
  tracking_error``.
* ``hit_rate`` = share of periods with ``r > 0``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nexus.errors import ValidationError

from . import kernels
from .types import PerformanceMetrics
from .validation import FloatArray, as_vector, check_finite_number


def per_period_rate(annual_rate: float, periods_per_year: int) -> float:
    """Geometric conversion of an annual rate to one period."""
    if annual_rate <= -1.0:
        raise ValidationError("an annual rate must be > -100%", "risk_free_rate")
    return float((1.0 + annual_rate) ** (1.0 / periods_per_year) - 1.0)


def sharpe_standard_error(excess: FloatArray, sharpe_per_period: float) -> float:
    """Mertens (2002) standard error of the per-period Sharpe ratio (i.i.d. returns)."""
    n = excess.shape[0]
    d = excess - excess.mean()
    m2 = float(np.mean(d * d))
    if m2 <= 0.0:
        return 0.0
    skew = float(np.mean(d**3)) / m2**1.5
    kurt = float(np.mean(d**4)) / (m2 * m2)
    sr = sharpe_per_period
    variance = 1.0 + 0.5 * sr * sr - skew * sr + (kurt - 3.0) / 4.0 * sr * sr
    return math.sqrt(max(variance, 0.0) / n)


def zero_variance_tolerance(x: FloatArray) -> float:
    """Largest variance that float rounding alone can produce for a constant series.

    The mean of n copies of ``c`` is off by up to about ``n eps |c|``, so a constant series
    shows a variance of order ``(n eps |c|)^2`` (``np.var`` of ten 0.01 is 4.7e-38, not 0):
    a variance at or below this is zero.
    """
    n = x.shape[0]
    scale = float(np.max(np.abs(x))) if n else 0.0
    return float((4.0 * n * float(np.finfo(np.float64).eps) * scale) ** 2)


def _std(x: FloatArray) -> float:
    """Sample standard deviation (ddof=1); exactly 0 for a constant series."""
    if float(np.ptp(x)) == 0.0:
        return 0.0
    return float(np.std(x, ddof=1))


def _ratio(num: float, den: float) -> float:
    if den > 0.0:
        return num / den
    if num == 0.0:
        return 0.0
    return math.copysign(math.inf, num)


def _date_at(dates: Sequence[dt.date] | None, index: int) -> dt.date | None:
    if dates is None or index < 0:
        return None
    return dates[index]


def performance_metrics(
    returns: Any,
    *,
    dates: Sequence[dt.date] | None = None,
    benchmark: Any | None = None,
    risk_free_rate: float = 0.0,
    target_return: float = 0.0,
    periods_per_year: int = 252,
) -> PerformanceMetrics:
    """Performance of simple periodic ``returns`` (oldest first); see the module conventions.

    ``dates``, if given, has ``len(returns) + 1`` entries: ``dates[0]`` is the valuation date
    before the first return and ``dates[i]`` the end of period ``i``; drawdown dates use it.
    """
    r = as_vector(returns, "returns", min_length=2)
    if (r <= -1.0).any():
        raise ValidationError("a simple return must be > -100%", "returns")
    if isinstance(periods_per_year, bool) or not isinstance(periods_per_year, int):
        raise ValidationError("periods_per_year must be an integer", "periods_per_year")
    if not 1 <= periods_per_year <= 366 * 24:
        raise ValidationError("periods_per_year out of range", "periods_per_year")
    if dates is not None and len(dates) != r.shape[0] + 1:
        raise ValidationError("dates must have len(returns) + 1 entries", "dates")
    p = periods_per_year
    rf_annual = check_finite_number(risk_free_rate, "risk_free_rate")
    target_annual = check_finite_number(target_return, "target_return")
    rf = per_period_rate(rf_annual, p)
    if target_annual <= -1.0:
        raise ValidationError("target_return must be > -100%", "target_return")
    target = per_period_rate(target_annual, p)
    n = r.shape[0]
    root_p = math.sqrt(p)

    total = float(np.prod(1.0 + r) - 1.0)
    annualised = float((1.0 + total) ** (p / n) - 1.0)
    volatility = _std(r) * root_p

    excess = r - rf
    ex_sd = _std(excess)
    sharpe_pp = _ratio(float(excess.mean()), ex_sd)
    sharpe_se = sharpe_standard_error(excess, sharpe_pp) if math.isfinite(sharpe_pp) else 0.0

    shortfall = np.minimum(r - target, 0.0)
    downside = math.sqrt(float(np.mean(shortfall * shortfall)))
    sortino = _ratio(float((r - target).mean()), downside) * root_p

    mdd, idx = kernels.drawdown_kernel(r)
    calmar = _ratio(annualised, -mdd)

    beta = alpha = te = ir = None
    if benchmark is not None:
        b = as_vector(benchmark, "benchmark", length=n)
        b_var = float(np.var(b, ddof=1))
        if b_var <= zero_variance_tolerance(b):
            raise ValidationError("benchmark returns have zero variance", "benchmark")
        beta = float(np.cov(r, b, ddof=1)[0, 1]) / b_var
        alpha = (float(excess.mean()) - beta * float((b - rf).mean())) * p
        active = r - b
        te = _std(active) * root_p
        ir = _ratio(float(active.mean()) * p, te)

    return PerformanceMetrics(
        n_periods=n,
        start_date=_date_at(dates, 0),
        end_date=_date_at(dates, n),
        total_return=total,
        annualised_return=annualised,
        volatility=volatility,
        sharpe_ratio=sharpe_pp * root_p,
        sharpe_standard_error=sharpe_se * root_p,
        sortino_ratio=sortino,
        downside_deviation=downside * root_p,
        calmar_ratio=calmar,
        max_drawdown=float(mdd),
        drawdown_peak_index=int(idx[kernels.DD_PEAK]),
        drawdown_trough_index=int(idx[kernels.DD_TROUGH]),
        drawdown_recovery_index=int(idx[kernels.DD_RECOVERY]),
        drawdown_peak_date=_date_at(dates, int(idx[kernels.DD_PEAK])),
        drawdown_trough_date=_date_at(dates, int(idx[kernels.DD_TROUGH])),
        drawdown_recovery_date=_date_at(dates, int(idx[kernels.DD_RECOVERY])),
        hit_rate=float(np.mean(r > 0.0)),
        beta=beta,
        alpha=alpha,
        tracking_error=te,
        information_ratio=ir,
        periods_per_year=p,
        risk_free_rate=rf_annual,
        sortino_target=target_annual,
    )
