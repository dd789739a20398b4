"""Venue analytics: post-fill markouts (toxicity) and the best-execution review (RTS 28 shape).

Markout of a fill at ``h``: ``s (M(t + h) - M(t)) / M(t)`` in basis points, ``s`` the order's
side (+1 buy, -1 sell) and ``M`` the recorded midpoint; positive = the market moved the way
the order traded (favourable), negative = adverse selection. Also against the fill price:
``s (M(t + h) - P)`` dollars per share. Averages are weighted by filled shares, over the
fills whose mids exist at both instants. ``toxicity_bps`` is minus the 10 s markout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from services.routing.reports.classify import TYPES_606, type_606
from services.routing.reports.groups import group_count, group_sum
from services.routing.reports.model import (
    BOOL,
    NS_PER_MS,
    SCALE,
    Fills,
    Orders,
    QuoteTape,
    Routes,
    distinct_sorted,
    factorize,
)

MARKOUT_HORIZONS: Final = (
    ("100ms", 100 * NS_PER_MS),
    ("1s", 1_000 * NS_PER_MS),
    ("10s", 10_000 * NS_PER_MS),
    ("60s", 60_000 * NS_PER_MS),
)
TOXICITY_HORIZON: Final = "10s"
RTS28_TOP: Final = 5


@dataclass(frozen=True, slots=True)
class VenueMarkout:
    """One venue's markouts (bps and dollars per share by horizon), ranked most toxic first."""

    venue: str
    fills: int
    shares: float
    markout_bps: dict[str, float]
    markout_vs_price: dict[str, float]
    toxicity_bps: float


def _mask(
    orders: Orders, fills: Fills, symbol: str | None, start: int | None, end: int | None
) -> BOOL:
    keep = np.ones(len(fills), np.bool_)
    if symbol is not None:
        keep &= orders.symbol[fills.order] == symbol
    if start is not None:
        keep &= fills.ts >= start
    if end is not None:
        keep &= fills.ts < end
    return keep


def markouts(
    orders: Orders,
    fills: Fills,
    tape: QuoteTape,
    *,
    symbol: str | None = None,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> list[VenueMarkout]:
    """Per-venue markouts of the fills in ``[start_ns, end_ns)`` (optionally one symbol)."""
    keep = np.flatnonzero(_mask(orders, fills, symbol, start_ns, end_ns))
    venues, code = factorize(fills.venue[keep])
    n = len(venues)
    fo = fills.order[keep]
    sym = orders.symbol[fo]
    side = orders.side[fo].astype(np.float64)
    q = fills.quantity[keep] / SCALE
    price = fills.price[keep] / SCALE
    ts = fills.ts[keep]
    m0 = tape.mid_at(sym, ts)
    bps: dict[str, np.ndarray] = {}
    usd: dict[str, np.ndarray] = {}
    for name, h in MARKOUT_HORIZONS:
        mh = tape.mid_at(sym, ts + h)
        ok = ~np.isnan(m0) & ~np.isnan(mh) & (np.nan_to_num(m0) > 0)
        w = group_sum(code[ok], q[ok], n)
        with np.errstate(invalid="ignore", divide="ignore"):
            bps[name] = group_sum(code[ok], (q * side * (mh - m0) / m0 * 1e4)[ok], n) / w
            usd[name] = group_sum(code[ok], (q * side * (mh - price))[ok], n) / w
    count = group_count(code, n)
    shares = group_sum(code, q, n)
    rows = [
        VenueMarkout(
            venue=str(venues[i]),
            fills=int(count[i]),
            shares=float(shares[i]),
            markout_bps={k: float(v[i]) for k, v in bps.items()},
            markout_vs_price={k: float(v[i]) for k, v in usd.items()},
            toxicity_bps=float(-bps[TOXICITY_HORIZON][i]),
        )
        for i in range(n)
    ]
    # most toxic first; venues without a measurable markout last
    rows.sort(key=lambda r: (math.isnan(r.toxicity_bps), -np.nan_to_num(r.toxicity_bps), r.venue))
    return rows


@dataclass(frozen=True, slots=True)
class VenueQuality:
    """One venue of a (symbol, order class): RTS 28 proportions and execution quality."""

    venue: str
    volume_pct: float
    orders_pct: float
    passive_pct: float
    aggressive_pct: float
    directed_pct: float
    avg_effective_spread_bps: float
    avg_price_improvement: float
    fill_rate_pct: float
    markout_1s_bps: float


@dataclass(frozen=True, slots=True)
class ReviewLine:
    """One (symbol, order class): totals and its top venues by volume."""

    symbol: str
    order_class: str
    orders: int
    executed_shares: float
    venues: list[VenueQuality]


def best_execution(
    orders: Orders,
    routes: Routes,
    fills: Fills,
    tape: QuoteTape,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
    top: int = RTS28_TOP,
) -> list[ReviewLine]:
    """The review per symbol and order class (Rule 606 types) over fills in the period.

    ``volume_pct``: venue shares / class shares; ``orders_pct``: orders with a fill at the
    venue / orders with a fill; ``passive_pct`` / ``aggressive_pct``: the venue's fills that
    added / took liquidity; ``directed_pct``: its fills of directed orders; effective spread
    and price improvement as in Rule 605 (NBBO at receipt); fill rate: filled / routed shares
    at the venue; markout at 1 s as in :func:`markouts`.
    """
    keep = np.flatnonzero(_mask(orders, fills, None, start_ns, end_ns))
    otype = type_606(orders)
    fo = fills.order[keep]
    syms, s_code = factorize(orders.symbol[fo])
    venues, v_code = factorize(fills.venue[keep])
    n_s, n_v, n_t = len(syms), max(len(venues), 1), len(TYPES_606)
    cls = s_code * n_t + otype[fo]
    key = cls * n_v + v_code
    size = n_s * n_t * n_v
    q = fills.quantity[keep] / SCALE
    price = fills.price[keep] / SCALE
    side = orders.side[fo].astype(np.float64)
    bid, ask = orders.bid[fo] / SCALE, orders.ask[fo] / SCALE
    both = (bid > 0) & (ask > 0)
    mid = np.where(both, (bid + ask) / 2.0, np.nan)
    far = np.where(side > 0, ask, bid)
    eff_bps = 2.0 * side * (price - mid) / mid * 1e4
    imp = side * (far - price)
    m0 = tape.mid_at(orders.symbol[fo], fills.ts[keep])
    m1 = tape.mid_at(orders.symbol[fo], fills.ts[keep] + 1_000 * NS_PER_MS)
    mk = side * (m1 - m0) / m0 * 1e4

    def wavg(values: np.ndarray) -> np.ndarray:
        ok = ~np.isnan(values)
        w = group_sum(key[ok], q[ok], size)
        with np.errstate(invalid="ignore", divide="ignore"):
            return group_sum(key[ok], (q * values)[ok], size) / w

    vol = group_sum(key, q, size)
    maker = group_count(key[fills.maker[keep]], size)
    directed = group_count(key[orders.directed[fo]], size)
    n_fills = group_count(key, size)
    a_eff, a_imp, a_mk = wavg(eff_bps), wavg(np.where(both, imp, np.nan)), wavg(mk)
    # distinct orders per (class, venue) and per class
    pair = distinct_sorted(fo * size + key)
    ord_key = pair % size
    ord_n = group_count(ord_key, size)
    cls_orders = group_count(distinct_sorted(fo * (n_s * n_t) + cls) % (n_s * n_t), n_s * n_t)
    # routed shares per (class, venue) from child orders of these classes' symbols
    r_sym = np.searchsorted(syms, orders.symbol[routes.order]) if n_s else routes.order * 0
    r_ven = np.searchsorted(venues, routes.venue) if len(venues) else routes.order * 0
    r_ok = (r_sym < n_s) & (r_ven < len(venues))
    if n_s and len(venues):
        r_ok &= (syms[np.minimum(r_sym, n_s - 1)] == orders.symbol[routes.order]) & (
            venues[np.minimum(r_ven, len(venues) - 1)] == routes.venue
        )
    if start_ns is not None or end_ns is not None:
        t0 = orders.ts_received[routes.order]
        r_ok &= (t0 >= (start_ns or 0)) & (t0 < (end_ns if end_ns is not None else 2**62))
    r_key = ((r_sym * n_t + otype[routes.order]) * n_v + r_ven)[r_ok]
    routed = group_sum(r_key, routes.quantity[r_ok] / SCALE, size)

    out: list[ReviewLine] = []
    for c in range(n_s * n_t):
        base = c * n_v
        total = vol[base : base + n_v].sum()
        if total <= 0:
            continue
        idx = sorted(
            (i for i in range(n_v) if vol[base + i] > 0),
            key=lambda i: (-vol[base + i], str(venues[i])),
        )[:top]
        out.append(
            ReviewLine(
                symbol=str(syms[c // n_t]),
                order_class=TYPES_606[c % n_t],
                orders=int(cls_orders[c]),
                executed_shares=float(total),
                venues=[
                    VenueQuality(
                        venue=str(venues[i]),
                        volume_pct=float(100.0 * vol[base + i] / total),
                        orders_pct=float(100.0 * ord_n[base + i] / cls_orders[c]),
                        passive_pct=float(100.0 * maker[base + i] / n_fills[base + i]),
                        aggressive_pct=float(
                            100.0 * (n_fills[base + i] - maker[base + i]) / n_fills[base + i]
                        ),
                        directed_pct=float(100.0 * directed[base + i] / n_fills[base + i]),
                        avg_effective_spread_bps=float(a_eff[base + i]),
                        avg_price_improvement=float(a_imp[base + i]),
                        fill_rate_pct=float(
                            100.0 * vol[base + i] / routed[base + i]
                            if routed[base + i] > 0
                            else np.nan
                        ),
                        markout_1s_bps=float(a_mk[base + i]),
                    )
                    for i in idx
                ],
            )
        )
    return out
