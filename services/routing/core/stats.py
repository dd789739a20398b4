"""Venue statistics learned from execution reports with exponential decay in event time.

Every sum is multiplied by ``0.5 ** (dt / half_life_ns)`` before a new observation is added, so
a venue's figures follow its recent behaviour and an observation half a half-life old counts for
``1/sqrt(2)`` of a fresh one. Latency quantiles come from a decayed histogram over geometric
buckets (each 25% wider than the previous, from 1 microsecond), read at the bucket's geometric
middle: p50/p99 are within about 12% of the exact decayed quantile.

A venue starts from priors (its profile's expected latency, ``prior_fill_rate``) weighted as
one observation, so its first reports move it quickly and its priors never divide by zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from services.routing.core.types import (
    ChildStatus,
    ExecutionReport,
    Fill,
    NbboSnapshot,
    Side,
    VenueProfile,
    VenueStats,
)

_BUCKETS = 120
_BASE_NS = 1_000.0
_GROWTH = 1.25
_LOG_GROWTH = math.log(_GROWTH)


def _bucket(latency_ns: int) -> int:
    if latency_ns <= _BASE_NS:
        return 0
    return min(_BUCKETS - 1, 1 + int(math.log(latency_ns / _BASE_NS) / _LOG_GROWTH))


def _bucket_value(i: int) -> int:
    """Representative latency of bucket ``i`` (geometric middle of its bounds)."""
    if i == 0:
        return int(_BASE_NS)
    return int(_BASE_NS * _GROWTH ** (i - 0.5))


@dataclass(slots=True)
class _VenueState:
    profile: VenueProfile
    sent: float
    filled: float
    children: float
    rejected: float
    pi_weight: float = 0.0
    pi_sum: float = 0.0
    es_sum: float = 0.0
    hist: list[float] = field(default_factory=lambda: [0.0] * _BUCKETS)
    observations: int = 0
    updated_ns: int = 0


class VenueStatsTracker:
    """Per-venue decayed statistics; :meth:`snapshot` gives a :class:`VenueStats`."""

    def __init__(self, *, half_life_ns: int = 60 * 10**9, prior_fill_rate: float = 0.9) -> None:
        if half_life_ns <= 0:
            raise ValueError("half_life_ns must be > 0")
        if not 0.0 <= prior_fill_rate <= 1.0:
            raise ValueError("prior_fill_rate must be within [0, 1]")
        self._half_life = half_life_ns
        self._prior_fill = prior_fill_rate
        self._venues: dict[str, _VenueState] = {}
        self._snapshots: dict[str, VenueStats] = {}  # decay scales every sum alike: exact

    def register(self, profile: VenueProfile) -> None:
        """Start a venue from its priors (a venue registered again keeps what it learned)."""
        self._snapshots.pop(profile.venue_id, None)
        if profile.venue_id in self._venues:
            self._venues[profile.venue_id].profile = profile
            return
        state = _VenueState(
            profile=profile, sent=1.0, filled=self._prior_fill, children=1.0, rejected=0.0
        )
        state.hist[_bucket(profile.expected_latency_ns)] = 1.0
        self._venues[profile.venue_id] = state

    def __contains__(self, venue_id: object) -> bool:
        return venue_id in self._venues

    def _decay(self, state: _VenueState, ts_ns: int) -> None:
        if state.updated_ns and ts_ns > state.updated_ns:
            f = 0.5 ** ((ts_ns - state.updated_ns) / self._half_life)
            state.sent *= f
            state.filled *= f
            state.children *= f
            state.rejected *= f
            state.pi_weight *= f
            state.pi_sum *= f
            state.es_sum *= f
            state.hist = [w * f for w in state.hist]
        state.updated_ns = max(state.updated_ns, ts_ns)

    def observe_child(
        self,
        venue_id: str,
        *,
        ts_ns: int,
        sent: int,
        filled: int,
        rejected: bool,
        latency_ns: int,
        improvement_per_share: float | None = None,
        effective_spread: float | None = None,
    ) -> None:
        """Learn from one child: quantities raw, improvement and spread raw per share."""
        state = self._venues.get(venue_id)
        if state is None:
            return
        self._snapshots.pop(venue_id, None)
        self._decay(state, ts_ns)
        state.children += 1.0
        state.rejected += 1.0 if rejected else 0.0
        if sent > 0:
            # quantities enter as share fractions of the child so big and small children weigh
            # the same: the fill rate is the mean filled share of a child
            state.sent += 1.0
            state.filled += min(filled, sent) / sent
        state.hist[_bucket(max(latency_ns, 0))] += 1.0
        if improvement_per_share is not None and effective_spread is not None and filled > 0:
            state.pi_weight += 1.0
            state.pi_sum += improvement_per_share
            state.es_sum += effective_spread
        state.observations += 1

    def observe(self, report: ExecutionReport) -> None:
        """Learn from every child of an execution report (NBBO of the child's decision round)."""
        nbbo_by_round = {d.round: d.nbbo for d in report.decisions}
        for child in report.children:
            fills = child.report.fills
            filled = sum(f.quantity for f in fills)
            nbbo = nbbo_by_round.get(child.round)
            pi = es = None
            if filled > 0 and nbbo is not None:
                pi, es = _quality_per_share(report.side, nbbo, fills_notional(fills), filled)
            self.observe_child(
                child.order.venue_id,
                ts_ns=report.ts_end,
                sent=child.order.quantity,
                filled=filled,
                rejected=child.report.status == ChildStatus.REJECTED,
                latency_ns=child.latency_ns,
                improvement_per_share=pi,
                effective_spread=es,
            )

    def snapshot(self, venue_id: str) -> VenueStats:
        """The venue's figures now (``KeyError`` for a venue never registered)."""
        cached = self._snapshots.get(venue_id)
        if cached is not None:
            return cached
        s = self._venues[venue_id]
        snap = VenueStats(
            venue_id=venue_id,
            fill_rate=s.filled / s.sent if s.sent > 0 else self._prior_fill,
            reject_rate=s.rejected / s.children if s.children > 0 else 0.0,
            latency_p50_ns=self._quantile(s, 0.50),
            latency_p99_ns=self._quantile(s, 0.99),
            price_improvement=s.pi_sum / s.pi_weight if s.pi_weight > 0 else 0.0,
            effective_spread=s.es_sum / s.pi_weight if s.pi_weight > 0 else 0.0,
            weight=s.children,
            observations=s.observations,
            updated_ns=s.updated_ns,
        )
        self._snapshots[venue_id] = snap
        return snap

    def _quantile(self, s: _VenueState, q: float) -> int:
        total = sum(s.hist)
        if total <= 0:
            return s.profile.expected_latency_ns
        want = q * total
        acc = 0.0
        for i, w in enumerate(s.hist):
            acc += w
            if acc >= want:
                return _bucket_value(i)
        return _bucket_value(_BUCKETS - 1)  # pragma: no cover - float rounding guard


def fills_notional(fills: Iterable[Fill]) -> int:
    """Sum of price x quantity of fills, in raw units squared (exact; divide by SCALE for money)."""
    return sum(f.price * f.quantity for f in fills)


def _quality_per_share(
    side: Side, nbbo: NbboSnapshot, notional_sq: int, filled: int
) -> tuple[float | None, float | None]:
    """Price improvement and effective spread per share (raw) of fills against an NBBO."""
    if nbbo.bid_price <= 0 or nbbo.ask_price <= 0:
        return None, None
    avg = notional_sq / filled
    far = nbbo.ask_price if side == "BUY" else nbbo.bid_price
    improvement = (far - avg) if side == "BUY" else (avg - far)
    mid = (nbbo.bid_price + nbbo.ask_price) / 2
    return improvement, 2.0 * abs(avg - mid)
