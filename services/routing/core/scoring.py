"""Per-share scores of the six strategies (raw price units; lower is better).

For a level at price ``p`` of venue ``v`` an order of side ``s`` (+1 BUY, -1 SELL) costs
``key = s * p + adj(v, p)`` per share, where (docs/routing.md):

* BEST_PRICE        ``adj = 0``
* LOWEST_COST       ``adj = fee + slippage``
* SMART             ``adj = fee + slippage + latency + reject - improvement``
* INTERNALIZE_FIRST SMART, minus ``INTERNAL_PRIORITY`` for internal levels at or better than the NBBO
* EXTERNAL_ONLY     SMART over external venues only
* FASTEST           price only, within the smallest set of fastest venues that fills the order

with ``fee`` the venue's take fee capped by Rule 610 at that price (a rebate stays negative),
``slippage = (1 - fill_rate) * spread_ref`` (the expected cost of missing and taking the next
price), ``latency = urgency * latency_cost_per_ms * p50_ms``, ``reject = reject_rate *
spread_ref``, ``improvement`` the venue's mean price improvement per share, and
``spread_ref = max(NBBO spread, tick)``. SMART's ``urgency`` grows with the order's size
relative to the displayed protected size at the NBBO: ``min(1, base_urgency * (1 + size /
displayed))``. FASTEST ranks venues by ``p50 / max(fill_rate, 0.05)``, the expected time to a
fill.
"""

from __future__ import annotations

from dataclasses import dataclass

from nexus.regulation import RuleSet
from services.routing.core.types import Side, Strategy, VenueKind, VenueStats

#: Priority given to internal liquidity at or better than the NBBO (raw per share, far beyond
#: any price difference): INTERNALIZE_FIRST fills there before anything else.
INTERNAL_PRIORITY = 10**15


@dataclass(frozen=True, slots=True)
class ScoreParams:
    """Inputs shared by every venue of one decision."""

    strategy: Strategy
    side: Side
    spread_ref: int
    urgency: float
    latency_cost_per_ms: int
    far_price: int  # the NBBO price the order takes (offer for BUY), 0 = none
    rules: RuleSet


@dataclass(frozen=True, slots=True)
class Terms:
    """One venue's per-share terms at one price, and the parts of its score."""

    fee: int
    slippage: int
    latency: int
    reject: int
    improvement: int
    priority: int

    @property
    def adjustment(self) -> int:
        """The strategy's per-share adjustment added to the side-signed price."""
        return (
            self.fee + self.slippage + self.latency + self.reject - self.improvement - self.priority
        )


def terms(
    params: ScoreParams,
    stats: VenueStats,
    taker_fee: int,
    kind: VenueKind,
    price: int,
) -> Terms:
    """The per-share terms of taking ``price`` at a venue under ``params.strategy``."""
    strategy = params.strategy
    fee = params.rules.capped_fee(taker_fee, price)
    if strategy in (Strategy.BEST_PRICE, Strategy.FASTEST):
        return Terms(fee, 0, 0, 0, 0, 0)
    slippage = round((1.0 - stats.fill_rate) * params.spread_ref)
    if strategy == Strategy.LOWEST_COST:
        return Terms(fee, slippage, 0, 0, 0, 0)
    latency = round(params.urgency * params.latency_cost_per_ms * stats.latency_p50_ns / 1_000_000)
    reject = round(stats.reject_rate * params.spread_ref)
    improvement = round(stats.price_improvement)
    priority = 0
    if (
        strategy == Strategy.INTERNALIZE_FIRST
        and kind == "INTERNAL"
        and params.far_price > 0
        and ((price <= params.far_price) if params.side == "BUY" else (price >= params.far_price))
    ):
        priority = INTERNAL_PRIORITY
    return Terms(fee, slippage, latency, reject, improvement, priority)


def venue_terms(params: ScoreParams, stats: VenueStats) -> Terms:
    """The price-independent part of :func:`terms` (fee and priority left at 0), once per venue."""
    strategy = params.strategy
    if strategy in (Strategy.BEST_PRICE, Strategy.FASTEST):
        return Terms(0, 0, 0, 0, 0, 0)
    slippage = round((1.0 - stats.fill_rate) * params.spread_ref)
    if strategy == Strategy.LOWEST_COST:
        return Terms(0, slippage, 0, 0, 0, 0)
    latency = round(params.urgency * params.latency_cost_per_ms * stats.latency_p50_ns / 1_000_000)
    reject = round(stats.reject_rate * params.spread_ref)
    return Terms(0, slippage, latency, reject, round(stats.price_improvement), 0)


def at_price(
    params: ScoreParams, base: Terms, taker_fee: int, kind: VenueKind, price: int
) -> Terms:
    """A venue's :func:`venue_terms` completed for one price: the capped fee and the priority."""
    priority = 0
    if (
        params.strategy == Strategy.INTERNALIZE_FIRST
        and kind == "INTERNAL"
        and params.far_price > 0
        and ((price <= params.far_price) if params.side == "BUY" else (price >= params.far_price))
    ):
        priority = INTERNAL_PRIORITY
    return Terms(
        params.rules.capped_fee(taker_fee, price),
        base.slippage,
        base.latency,
        base.reject,
        base.improvement,
        priority,
    )


def level_key(params: ScoreParams, t: Terms, price: int) -> int:
    """Per-share cost of a level: side-signed price plus the adjustment."""
    return (price if params.side == "BUY" else -price) + t.adjustment


def speed_score(stats: VenueStats) -> float:
    """FASTEST's venue score: expected time to a fill (ns), lower is better."""
    return stats.latency_p50_ns / max(stats.fill_rate, 0.05)


def urgency(base: float, quantity: int, displayed: int) -> float:
    """SMART's urgency in [0, 1] from the order size relative to displayed protected size."""
    ratio = quantity / displayed if displayed > 0 else 4.0
    return min(1.0, base * (1.0 + ratio))
