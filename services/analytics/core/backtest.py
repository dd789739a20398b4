"""VaR backtesting: Kupiec (1995) POF and Christoffersen (1998) independence tests.

Day t is an exception when the realised loss exceeds the forecast: ``-pnl[t] > var[t]``
(VaR positive, P&L positive for a gain, both in money, forecast made before day t).

* POF: ``LR = -2 ln[(1-p)^(T-x) p^x] + 2 ln[(1-x/T)^(T-x) (x/T)^x]`` ~ chi2(1), ``p = 1 - c``.
* Independence: first-order Markov chain of exceptions with transition counts n_ij;
  ``LR = -2 ln[(1-pi)^(n00+n10) pi^(n01+n11)] + 2 ln[(1-pi0)^n00 pi0^n01 (1-pi1)^n10 pi1^n11]``
  ~ chi2(1); ``0 ln 0 = 0``.
* Conditional coverage: ``LR_cc = LR_pof + LR_ind`` ~ chi2(2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import xlogy
from scipy.stats import chi2

from nexus.errors import ValidationError
from nexus.money import Rounding

from . import kernels
from .types import BacktestDay, BacktestResult, money_text
from .validation import FloatArray, as_vector, check_confidence


def _loglik(zeros: float, ones: float, prob: float) -> float:
    return float(xlogy(zeros, 1.0 - prob) + xlogy(ones, prob))


def var_backtest(var_forecasts: Any, pnl: Any, confidence: float) -> BacktestResult:
    """Kupiec POF, Christoffersen independence and conditional coverage of a VaR history."""
    c = check_confidence(confidence)
    v = as_vector(var_forecasts, "var_forecasts", min_length=2)
    x = as_vector(pnl, "pnl", length=v.shape[0])
    hits = (-x > v).astype(np.int64)
    t = int(hits.shape[0])
    n_exc = int(hits.sum())
    p = 1.0 - c
    observed = n_exc / t
    lr_pof = -2.0 * (_loglik(t - n_exc, n_exc, p) - _loglik(t - n_exc, n_exc, observed))

    prev, curr = hits[:-1], hits[1:]
    n00 = int(np.sum((prev == 0) & (curr == 0)))
    n01 = int(np.sum((prev == 0) & (curr == 1)))
    n10 = int(np.sum((prev == 1) & (curr == 0)))
    n11 = int(np.sum((prev == 1) & (curr == 1)))
    pi0 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi1 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (t - 1)
    restricted = _loglik(n00 + n10, n01 + n11, pi)
    unrestricted = _loglik(n00, n01, pi0) + _loglik(n10, n11, pi1)
    lr_ind = max(-2.0 * (restricted - unrestricted), 0.0)
    lr_pof = max(lr_pof, 0.0)
    lr_cc = lr_pof + lr_ind
    if not np.isfinite(lr_cc):  # pragma: no cover - xlogy keeps every term finite
        raise ValidationError("likelihood ratio is not finite", "pnl")
    return BacktestResult(
        n_observations=t,
        n_exceptions=n_exc,
        expected_rate=p,
        observed_rate=observed,
        lr_pof=lr_pof,
        p_value_pof=float(chi2.sf(lr_pof, 1)),
        lr_independence=lr_ind,
        p_value_independence=float(chi2.sf(lr_ind, 1)),
        lr_conditional_coverage=lr_cc,
        p_value_conditional_coverage=float(chi2.sf(lr_cc, 2)),
        transitions=[n00, n01, n10, n11],
    )


def rolling_historical_var(pnl: Any, window: int, confidence: float) -> FloatArray:
    """Out-of-sample 1-day historical VaR forecasts for a backtest (positive losses).

    ``out[i]`` is the VaR for day ``window + i`` from the ``window`` days before it (same
    quantile rule as :func:`var.historical_var`), so ``var_backtest(out, pnl[window:], c)``
    tests the model without look-ahead.
    """
    c = check_confidence(confidence)
    x = as_vector(pnl, "pnl", min_length=3)
    if isinstance(window, bool) or not isinstance(window, int):
        raise ValidationError("window must be an integer number of days", "window")
    if not 2 <= window < x.shape[0]:
        raise ValidationError(f"window must be in 2..{x.shape[0] - 1}", "window")
    out = np.empty(x.shape[0] - window)
    for i in range(out.shape[0]):
        tail = kernels.historical_tail_kernel(np.ascontiguousarray(x[i : i + window]), c, 1.96)
        out[i] = tail[kernels.TAIL_VAR]
    return out


BASEL_CONFIDENCE = 0.99
BASEL_OBSERVATIONS = 250
BASEL_GREEN_MAX = 4
BASEL_YELLOW_MAX = 9


@dataclass(frozen=True, slots=True)
class BaselZone:
    """The Basel traffic light of a backtest, or ``zone=None`` where it is not defined."""

    zone: str | None
    exceptions: int | None
    observations: int | None
    rule: str


def basel_zone(hits: Any, confidence: float) -> BaselZone:
    """Basel (1996) traffic light of a 99% VaR backtest on its last 250 days.

    The table (green 0-4, yellow 5-9, red 10+ exceptions) is defined for 250 observations at
    99%. A longer backtest is judged on its most recent 250 days (as the supervisory test
    is); the count is never rescaled to another length. A shorter backtest or another
    confidence level has no zone: ``zone`` is ``None`` and ``rule`` says why.
    """
    c = check_confidence(confidence)
    h = np.asarray(hits, dtype=bool)
    if h.ndim != 1:
        raise ValidationError("hits must be a vector", "hits")
    if c != BASEL_CONFIDENCE:
        return BaselZone(
            None, None, None, f"not defined: the Basel table is for 99% VaR, not {c:.4g}"
        )
    if h.shape[0] < BASEL_OBSERVATIONS:
        return BaselZone(
            None,
            None,
            None,
            f"not defined: the Basel table needs {BASEL_OBSERVATIONS} observations, "
            f"the backtest has {h.shape[0]}",
        )
    n = int(h[-BASEL_OBSERVATIONS:].sum())
    if n <= BASEL_GREEN_MAX:
        zone = "green"
    elif n <= BASEL_YELLOW_MAX:
        zone = "yellow"
    else:
        zone = "red"
    return BaselZone(
        zone,
        n,
        BASEL_OBSERVATIONS,
        "Basel traffic light on the last 250 days at 99%: green 0-4, yellow 5-9, red 10+",
    )


def backtest_series(
    dates: Sequence[dt.date],
    var_forecasts: Any,
    pnl: Any,
    places: int = 2,
    rounding: Rounding = Rounding.HALF_EVEN,
) -> list[BacktestDay]:
    """The tested days: P&L and VaR as money strings rounded once, the exception flag.

    The flag is decided on the unrounded values, the same rule as :func:`var_backtest`.
    """
    v = as_vector(var_forecasts, "var_forecasts", min_length=1)
    x = as_vector(pnl, "pnl", length=v.shape[0])
    if len(dates) != v.shape[0]:
        raise ValidationError(f"dates must have length {v.shape[0]}", "dates")
    return [
        BacktestDay(
            date=d,
            pnl=money_text(float(p), places, rounding),
            var=money_text(float(f), places, rounding),
            exception=bool(-p > f),
        )
        for d, p, f in zip(dates, x, v, strict=True)
    ]
