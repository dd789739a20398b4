"""SEC Rule 606(a)(1): the quarterly report on the routing of held, non-directed orders.

Per calendar month of the quarter and per section (S&P 500 stocks, other NMS stocks, with
index membership as data on the order's UTC day):

* summary - non-directed orders as a percentage of all held orders, and the split of
  non-directed orders into market, marketable limit, non-marketable limit and other;
* per venue (the ten venues with the most non-directed orders routed, plus any with 5% or
  more) - its percentage of the section's routed non-directed orders, of each type's routed
  orders, and for each type the net payment *received* (rebates and payment for order flow
  minus fees paid; negative = paid) in dollars and in cents per hundred executed shares.

An order routed in parts counts once per venue it reached: a *route* is a distinct (order,
venue) pair, so the venue percentages of a section sum to 100.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

import numpy as np

from services.routing.reports.classify import TYPES_606, type_606
from services.routing.reports.groups import group_count, group_sum_int
from services.routing.reports.model import (
    SCALE,
    Fills,
    IndexMembership,
    Orders,
    Routes,
    distinct_sorted,
    factorize,
    utc_days,
)

RULE_SET_606: Final = "SEC Rule 606(a)(1), 17 CFR 242.606 (2018 amendments)"
SECTIONS: Final = ("sp500", "other_nms")
TOP_VENUES: Final = 10
MIN_VENUE_PCT: Final = Decimal(5)

_CENT = Decimal("0.01")
_PCT = Decimal("0.01")
_CPH = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class VenueRow:
    """One venue's line of a section (percentages, net payments received)."""

    venue: str
    orders: int
    order_pct: Decimal
    type_pct: dict[str, Decimal]
    net_payment_usd: dict[str, Decimal]
    net_payment_cph: dict[str, Decimal]


@dataclass(frozen=True, slots=True)
class Section:
    """One section of one month."""

    name: str
    held_orders: int
    non_directed: int
    non_directed_pct: Decimal
    type_counts: dict[str, int]
    type_pct: dict[str, Decimal]
    venues: list[VenueRow]


@dataclass(frozen=True, slots=True)
class Month:
    """One calendar month of the quarter."""

    year: int
    month: int
    sections: dict[str, Section]


@dataclass(frozen=True, slots=True)
class Report606:
    """The quarterly report."""

    quarter: str
    rule_set: str
    period_start: dt.date
    period_end: dt.date
    months: list[Month]


def parse_quarter(text: str) -> tuple[int, int]:
    """``"2026Q4"`` -> ``(2026, 4)``; raises ``ValueError`` on anything else."""
    if len(text) != 6 or text[4] not in "Qq" or not text[:4].isdigit() or text[5] not in "1234":
        raise ValueError(f"quarter must look like 2026Q4, got {text!r}")
    return int(text[:4]), int(text[5])


def quarter_months(year: int, quarter: int) -> list[tuple[int, int]]:
    """The three (year, month) of a quarter."""
    first = 3 * (quarter - 1) + 1
    return [(year, first + i) for i in range(3)]


def _pct(part: int, whole: int) -> Decimal:
    if whole == 0:
        return Decimal("0.00")
    return (Decimal(100 * part) / Decimal(whole)).quantize(_PCT, ROUND_HALF_EVEN)


def _usd(raw: int) -> Decimal:
    return (Decimal(raw) / SCALE).quantize(_CENT, ROUND_HALF_EVEN)


def _cph(raw_money: int, raw_shares: int) -> Decimal:
    if raw_shares == 0:
        return Decimal("0.0000")
    # dollars per share x 100 shares x 100 cents
    return (Decimal(raw_money) * 10_000 / Decimal(raw_shares)).quantize(_CPH, ROUND_HALF_EVEN)


def compute_606(
    quarter: str,
    orders: Orders,
    routes: Routes,
    fills: Fills,
    sp500: IndexMembership,
) -> Report606:
    """The Rule 606(a)(1) report of ``quarter`` over held orders received in it."""
    year, q = parse_quarter(quarter)
    months = quarter_months(year, q)
    start = np.datetime64(dt.date(year, months[0][1], 1), "M")
    month_of = orders.ts_received.astype("datetime64[ns]").astype("datetime64[M]")
    m_idx = (month_of - start).astype(np.int64)
    in_q = (m_idx >= 0) & (m_idx < 3) & orders.held
    sp = sp500.members(orders.symbol, utc_days(orders.ts_received))
    n_types = len(TYPES_606)
    sec = np.where(in_q, m_idx * 2 + np.where(sp, 0, 1), -1).astype(np.int64)  # 6 sections
    ndo = in_q & ~orders.directed
    otype = type_606(orders)

    held_n = group_count(sec[in_q], 6)
    ndo_n = group_count(sec[ndo], 6)
    type_n = group_count((sec * n_types + otype)[ndo], 6 * n_types).reshape(6, n_types)

    # routes: distinct (order, venue) of non-directed orders in the quarter
    venues, v_code = factorize(routes.venue)
    n_v = max(len(venues), 1)
    keep = ndo[routes.order] if routes.order.shape[0] else np.zeros(0, np.bool_)
    pair = distinct_sorted(routes.order[keep] * n_v + v_code[keep])
    r_order, r_venue = pair // n_v, pair % n_v
    r_key = (sec[r_order] * n_v + r_venue) * n_types + otype[r_order]
    routed = group_count(r_key, 6 * n_v * n_types).reshape(6, n_v, n_types)

    # fills: fees and executed shares per section, venue (known or not), type
    f_names, f_code = factorize(fills.venue)
    at = np.searchsorted(venues, f_names) if len(venues) else np.zeros(len(f_names), np.int64)
    at_ok = at < len(venues)
    if len(venues):
        at_ok &= venues[np.minimum(at, len(venues) - 1)] == f_names
    f_venue, f_known = at[f_code], at_ok[f_code]
    f_keep = (ndo[fills.order] & f_known) if len(fills) else np.zeros(0, np.bool_)
    fo = fills.order[f_keep]
    f_key = (sec[fo] * n_v + f_venue[f_keep]) * n_types + otype[fo]
    size = 6 * n_v * n_types
    fees = group_sum_int(f_key, fills.fee[f_keep], size).reshape(6, n_v, n_types)
    shares = group_sum_int(f_key, fills.quantity[f_keep], size).reshape(6, n_v, n_types)

    out: list[Month] = []
    for mi, (yy, mm) in enumerate(months):
        sections: dict[str, Section] = {}
        for si, name in enumerate(SECTIONS):
            s = mi * 2 + si
            sections[name] = _section(
                name, s, held_n, ndo_n, type_n, routed, fees, shares, [str(v) for v in venues]
            )
        out.append(Month(yy, mm, sections))
    last_y, last_m = months[-1]
    end = dt.date(last_y + (last_m == 12), last_m % 12 + 1, 1) - dt.timedelta(days=1)
    return Report606(quarter.upper(), RULE_SET_606, dt.date(year, months[0][1], 1), end, out)


def _section(
    name: str,
    s: int,
    held_n: np.ndarray,
    ndo_n: np.ndarray,
    type_n: np.ndarray,
    routed: np.ndarray,
    fees: np.ndarray,
    shares: np.ndarray,
    venues: list[str],
) -> Section:
    counts = {t: int(type_n[s, i]) for i, t in enumerate(TYPES_606)}
    total_ndo = int(ndo_n[s])
    per_venue = routed[s].sum(axis=1)
    total_routes = int(per_venue.sum())
    type_routes = routed[s].sum(axis=0)
    ranked = sorted(
        (i for i in range(len(venues)) if per_venue[i] > 0),
        key=lambda i: (-int(per_venue[i]), venues[i]),
    )
    chosen = [
        i
        for rank, i in enumerate(ranked)
        if rank < TOP_VENUES or _pct(int(per_venue[i]), total_routes) >= MIN_VENUE_PCT
    ]
    rows = [
        VenueRow(
            venue=venues[i],
            orders=int(per_venue[i]),
            order_pct=_pct(int(per_venue[i]), total_routes),
            type_pct={
                t: _pct(int(routed[s, i, k]), int(type_routes[k])) for k, t in enumerate(TYPES_606)
            },
            net_payment_usd={t: _usd(-int(fees[s, i, k])) for k, t in enumerate(TYPES_606)},
            net_payment_cph={
                t: _cph(-int(fees[s, i, k]), int(shares[s, i, k])) for k, t in enumerate(TYPES_606)
            },
        )
        for i in chosen
    ]
    return Section(
        name=name,
        held_orders=int(held_n[s]),
        non_directed=total_ndo,
        non_directed_pct=_pct(total_ndo, int(held_n[s])),
        type_counts=counts,
        type_pct={t: _pct(c, total_ndo) for t, c in counts.items()},
        venues=rows,
    )
