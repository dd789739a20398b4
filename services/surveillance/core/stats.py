"""Small statistics the detectors share: decayed activity rates, tails, the evidence score.

Detectors express evidence as the chance ``p`` that what they saw happened by coincidence given
the participant's *own* activity and the instrument's *own* distributions (an active trader
trades on the other side of a big order all the time; a quiet one does not). The score is
``-10 * log10(p)`` clamped to 0-100 (so p = 1e-5 scores 50, 1e-8 scores 80): one scale for
every detector, documented in docs/surveillance.md.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from typing import Final

NS: Final = 1_000_000_000
#: Chances are floored so one factor cannot make evidence infinite.
P_FLOOR: Final = 1e-12


def evidence_score(p: float) -> float:
    """``-10 log10 p`` clamped to [0, 100]."""
    p = min(1.0, max(P_FLOOR, p))
    return min(100.0, max(0.0, -10.0 * math.log10(p)))


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam)."""
    if k <= 0:
        return 1.0
    if lam <= 0.0:
        return 0.0
    term = math.exp(-lam)
    cdf = term
    for i in range(1, k):
        term *= lam / i
        cdf += term
    return max(0.0, 1.0 - cdf) if cdf < 0.999999 else _poisson_tail_direct(k, lam)


def _poisson_tail_direct(k: int, lam: float) -> float:
    # Sum the upper tail directly when 1 - cdf would lose precision.
    log_term = -lam + k * math.log(lam) - math.lgamma(k + 1)
    total = 0.0
    i = k
    while True:
        t = math.exp(log_term)
        total += t
        if t < total * 1e-12 or i > k + 1000:
            return total
        i += 1
        log_term += math.log(lam / i)


def fisher_combined(p_values: list[float]) -> float:
    """Fisher's combined p-value of independent p-values (1.0 for none).

    ``-2 sum(ln p)`` is chi-squared with ``2k`` degrees of freedom under the null, whose tail
    is the Poisson sum below; a set of ordinary values combines to about 0.5, never to a
    vanishing product.
    """
    k = len(p_values)
    if k == 0:
        return 1.0
    x = -sum(math.log(max(P_FLOOR, min(1.0, p))) for p in p_values)
    return min(1.0, max(0.0, 1.0 - poisson_sf(k, x)))


def chance_within(rate_per_s: float, seconds: float) -> float:
    """P(at least one event of a Poisson process of ``rate_per_s`` within ``seconds``)."""
    return -math.expm1(-max(0.0, rate_per_s) * max(0.0, seconds))


def gaussian_tail(z: float) -> float:
    """P(|N(0,1)| >= z)."""
    return math.erfc(max(0.0, z) / math.sqrt(2.0))


def tail_fraction(sorted_values: list[int], value: int) -> float:
    """Laplace-smoothed fraction of ``sorted_values`` that are >= ``value``."""
    n = len(sorted_values)
    at_least = n - bisect_left(sorted_values, value)
    return (at_least + 1) / (n + 1)


def equal_fraction(sorted_values: list[int], value: int) -> float:
    """Laplace-smoothed fraction of ``sorted_values`` equal to ``value``."""
    n = len(sorted_values)
    equal = bisect_right(sorted_values, value) - bisect_left(sorted_values, value)
    return (equal + 1) / (n + 1)


class DecayedRates:
    """Exponentially decayed event counts per key, read as rates per second.

    ``tau_s`` is the time constant; keys untouched for ``10 * tau_s`` are dropped on
    :meth:`trim` (bounded memory).
    """

    __slots__ = ("_first_ts", "_tau_ns", "_values")

    def __init__(self, tau_s: float) -> None:
        self._tau_ns = tau_s * NS
        self._values: dict[object, tuple[float, int]] = {}
        self._first_ts = -1

    def add(self, key: object, ts: int, amount: float = 1.0) -> None:
        """Count ``amount`` events of ``key`` at ``ts``."""
        if self._first_ts < 0:
            self._first_ts = ts
        v = self._values.get(key)
        if v is None:
            self._values[key] = (amount, ts)
            return
        value, last = v
        if ts > last:
            value *= math.exp(-(ts - last) / self._tau_ns)
            last = ts
        self._values[key] = (value + amount, last)

    def rate(self, key: object, ts: int) -> float:
        """Events per second of ``key`` around ``ts``.

        Early on (less than a few time constants observed) the decayed sum is divided by the
        effective observation time, not the full time constant, so rates are not
        underestimated at the start of a stream.
        """
        v = self._values.get(key)
        if v is None:
            return 0.0
        value, last = v
        if ts > last:
            value *= math.exp(-(ts - last) / self._tau_ns)
        observed = max(ts - self._first_ts, 0)
        effective = -math.expm1(-observed / self._tau_ns) * self._tau_ns
        return value / (max(effective, 0.01 * self._tau_ns) / NS)

    def median_rate(self, ts: int, exclude: object = "*") -> float:
        """Median rate over the keys (``exclude`` left out); 0.0 with none."""
        rates = sorted(self.rate(k, ts) for k in self._values if k != exclude)
        return rates[len(rates) // 2] if rates else 0.0

    def trim(self, ts: int) -> None:
        """Drop keys idle for ten time constants."""
        horizon = ts - 10 * self._tau_ns
        stale = [k for k, (_, last) in self._values.items() if last < horizon]
        for k in stale:
            del self._values[k]

    def __len__(self) -> int:
        return len(self._values)
