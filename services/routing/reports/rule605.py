"""SEC Rule 605 execution quality, as amended in 2024 (17 CFR 242.605, effective 2025-12).

Covered orders: held orders received in the month with both sides of the NBBO at receipt
and a Rule 605 type (:func:`~.classify.type_605`). Each line is a (symbol, order type, lot
class, notional bucket); the summary aggregates every symbol per (order type, lot class,
notional bucket). With side ``s`` (+1 buy, -1 sell), execution price ``P``, NBBO at receipt
``B``/``A``, midpoint ``M = (B + A) / 2``, an execution at time ``t`` of an order received at
``t0`` and ``M(t + h)`` the recorded midpoint ``h`` after the execution, per share:

* effective spread ``2 s (P - M)``; quoted spread ``A - B``; E/Q = average effective over
  average quoted spread, in percent; percentage effective spread ``2 s (P - M) / M`` in bps;
* realized spread at ``h``: ``2 s (P - M(t + h))``;
* price improvement ``s > 0: A - P``, ``s < 0: P - B`` (> 0 improved, = 0 at the quote,
  < 0 outside the quote), and the same against the best available displayed price;
* time to execution ``t - t0`` in milliseconds;
* size improvement (market and marketable orders): shares executed at or better than the
  quote beyond the displayed size at the NBBO ``D``: ``max(0, at_or_better - D)`` per order,
  against the benchmark ``min(quantity, D)``.

Every average is weighted by executed shares (the rule's share-weighted averages).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import numpy as np

from services.routing.reports.classify import (
    LOT_LABELS,
    NOTIONAL_LABELS,
    T605_BEYOND_MIDPOINT,
    T605_EXECUTABLE_NML,
    T605_STOP,
    TYPES_605,
    lot_class,
    notional_bucket,
    round_lots,
    type_605,
)
from services.routing.reports.groups import group_count, group_sum
from services.routing.reports.model import (
    F64,
    I64,
    NS_PER_MS,
    SCALE,
    Fills,
    Orders,
    QuoteTape,
    factorize,
)

RULE_SET_605: Final = "SEC Rule 605, 17 CFR 242.605 as amended 2024 (Release 34-99679)"
#: realized-spread horizons (name, nanoseconds)
HORIZONS: Final = (
    ("50ms", 50 * NS_PER_MS),
    ("1s", 1_000 * NS_PER_MS),
    ("15s", 15_000 * NS_PER_MS),
    ("60s", 60_000 * NS_PER_MS),
    ("5min", 300_000 * NS_PER_MS),
)


@dataclass(frozen=True, slots=True)
class Line605:
    """One line: the category and its metrics (shares, dollars per share, ms, %, bps)."""

    symbol: str
    order_type: str
    lot: str
    notional: str
    orders: int
    covered_shares: float
    executed_shares: float
    cancelled_shares: float
    fill_rate_pct: float
    avg_time_to_execution_ms: float
    avg_effective_spread: float
    avg_quoted_spread: float
    effective_over_quoted_pct: float
    avg_effective_spread_bps: float
    realized_spread: dict[str, float]
    improved_shares: float
    avg_improvement: float
    at_quote_shares: float
    outside_quote_shares: float
    avg_outside_amount: float
    badp_improved_shares: float
    badp_avg_improvement: float
    badp_at_quote_shares: float
    badp_outside_quote_shares: float
    size_improvement_shares: float
    size_improvement_benchmark_shares: float


@dataclass(frozen=True, slots=True)
class Report605:
    """A month's report: the detail lines and the summary (every symbol)."""

    month: str
    rule_set: str
    period_start: dt.date
    period_end: dt.date
    lines: list[Line605]
    summary: list[Line605]


def parse_month(text: str) -> tuple[int, int]:
    """``"2026-12"`` -> ``(2026, 12)``; raises ``ValueError`` otherwise."""
    parts = text.split("-")
    if len(parts) != 2 or len(parts[0]) != 4 or not all(p.isdigit() for p in parts):
        raise ValueError(f"month must look like 2026-12, got {text!r}")
    year, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 01..12, got {text!r}")
    return year, month


def _div(num: F64, den: F64) -> F64:
    out = np.full(num.shape[0], np.nan)
    ok = den != 0
    out[ok] = num[ok] / den[ok]
    return out


def compute_605(
    month: str,
    orders: Orders,
    fills: Fills,
    tape: QuoteTape,
    *,
    fixed_round_lot: int | None = None,
) -> Report605:
    """The Rule 605 report of ``month`` (``YYYY-MM``) over held orders received in it."""
    year, mon = parse_month(month)
    start = np.datetime64(f"{year:04d}-{mon:02d}", "M")
    in_month = orders.ts_received.astype("datetime64[ns]").astype("datetime64[M]") == start
    executed = np.zeros(len(orders), np.bool_)
    executed[fills.order] = True
    otype = type_605(orders, executed)
    covered = in_month & orders.held & (otype >= 0) & (orders.bid > 0) & (orders.ask > 0)
    lot = lot_class(orders, round_lots(orders, fixed_round_lot))
    bucket = notional_bucket(orders)
    symbols, sym_code = factorize(orders.symbol)
    n_t, n_l, n_n = len(TYPES_605), len(LOT_LABELS), len(NOTIONAL_LABELS)
    cat = (otype * n_l + lot) * n_n + bucket  # category without the symbol
    n_cat = n_t * n_l * n_n
    detail_key = np.where(covered, sym_code * n_cat + cat, -1)
    summary_key = np.where(covered, cat, -1)
    lines = _lines(orders, fills, tape, covered, detail_key, max(len(symbols), 1) * n_cat)
    summary = _lines(orders, fills, tape, covered, summary_key, n_cat)

    def label(key: int, with_symbol: bool) -> tuple[str, str, str, str]:
        c = key % n_cat
        t, rest = divmod(c, n_l * n_n)
        lo, b = divmod(rest, n_n)
        sym = str(symbols[key // n_cat]) if with_symbol else "*"
        return sym, TYPES_605[t], LOT_LABELS[lo], NOTIONAL_LABELS[b]

    end = dt.date(year + (mon == 12), mon % 12 + 1, 1) - dt.timedelta(days=1)
    return Report605(
        month=f"{year:04d}-{mon:02d}",
        rule_set=RULE_SET_605,
        period_start=dt.date(year, mon, 1),
        period_end=end,
        lines=[_line(label(k, True), m) for k, m in lines],
        summary=[_line(label(k, False), m) for k, m in summary],
    )


def _line(label: tuple[str, str, str, str], m: dict[str, object]) -> Line605:
    return Line605(symbol=label[0], order_type=label[1], lot=label[2], notional=label[3], **m)  # type: ignore[arg-type]


def _lines(
    orders: Orders,
    fills: Fills,
    tape: QuoteTape,
    covered: np.ndarray,
    key: I64,
    size: int,
) -> list[tuple[int, dict[str, object]]]:
    """Metrics per key (only keys with at least one covered order)."""
    o_rows = np.flatnonzero(covered)
    ok = key[o_rows]
    qty = orders.quantity[o_rows] / SCALE
    n_orders = group_count(ok, size)
    covered_sh = group_sum(ok, qty, size)

    f_rows = np.flatnonzero(covered[fills.order])
    fo = fills.order[f_rows]
    fk = key[fo]
    q = fills.quantity[f_rows] / SCALE
    price = fills.price[f_rows] / SCALE
    side = orders.side[fo].astype(np.float64)
    bid, ask = orders.bid[fo] / SCALE, orders.ask[fo] / SCALE
    mid = (bid + ask) / 2.0
    far = np.where(side > 0, ask, bid)
    b_bid, b_ask = orders.badp_bid[fo] / SCALE, orders.badp_ask[fo] / SCALE
    b_far = np.where(side > 0, b_ask, b_bid)
    ts = fills.ts[f_rows]

    ex_sh = group_sum(fk, q, size)
    tte = group_sum(fk, q * (ts - orders.ts_received[fo]) / NS_PER_MS, size)
    eff = 2.0 * side * (price - mid)
    eff_sum = group_sum(fk, q * eff, size)
    quoted_sum = group_sum(fk, q * (ask - bid), size)
    eff_bps_sum = group_sum(fk, q * eff / mid * 1e4, size)
    realized: dict[str, F64] = {}
    for name, h in HORIZONS:
        m_h = tape.mid_at(orders.symbol[fo], ts + h)
        has = ~np.isnan(m_h)
        num = group_sum(fk[has], (q * 2.0 * side * (price - np.where(has, m_h, 0.0)))[has], size)
        realized[name] = _div(num, group_sum(fk[has], q[has], size))
    imp = side * (far - price)
    b_imp = side * (b_far - price)
    tol = 1e-12
    improved, at_q, outside = imp > tol, np.abs(imp) <= tol, imp < -tol
    b_improved, b_at, b_out = b_imp > tol, np.abs(b_imp) <= tol, b_imp < -tol

    def shares(mask: np.ndarray) -> F64:
        return group_sum(fk[mask], q[mask], size)

    improved_sh = shares(improved)
    outside_sh = shares(outside)
    b_improved_sh = shares(b_improved)

    # size improvement: per marketable order, at-or-better shares beyond displayed size
    aob_per_order = np.bincount(fo[~outside], weights=q[~outside], minlength=len(orders))[o_rows]
    displayed = np.where(orders.side > 0, orders.ask_size, orders.bid_size)[o_rows] / SCALE
    t605 = (key[o_rows] // (len(LOT_LABELS) * len(NOTIONAL_LABELS))) % len(TYPES_605)
    mkt_like = ~np.isin(t605, (T605_BEYOND_MIDPOINT, T605_EXECUTABLE_NML, T605_STOP))
    size_imp = group_sum(ok[mkt_like], np.maximum(0.0, aob_per_order - displayed)[mkt_like], size)
    size_bench = group_sum(ok[mkt_like], np.minimum(qty, displayed)[mkt_like], size)

    avg_eff = _div(eff_sum, ex_sh)
    avg_quoted = _div(quoted_sum, ex_sh)
    avg_tte = _div(tte, ex_sh)
    eq = 100.0 * _div(avg_eff, avg_quoted)
    eff_bps = _div(eff_bps_sum, ex_sh)
    avg_imp = _div(group_sum(fk[improved], (q * imp)[improved], size), improved_sh)
    avg_out = _div(group_sum(fk[outside], (-q * imp)[outside], size), outside_sh)
    b_avg = _div(group_sum(fk[b_improved], (q * b_imp)[b_improved], size), b_improved_sh)
    at_q_sh, b_at_sh, b_out_sh = shares(at_q), shares(b_at), shares(b_out)
    out: list[tuple[int, dict[str, object]]] = []
    for k in np.flatnonzero(n_orders):
        kk = int(k)
        out.append(
            (
                kk,
                {
                    "orders": int(n_orders[kk]),
                    "covered_shares": float(covered_sh[kk]),
                    "executed_shares": float(ex_sh[kk]),
                    "cancelled_shares": float(covered_sh[kk] - ex_sh[kk]),
                    "fill_rate_pct": float(100.0 * ex_sh[kk] / covered_sh[kk]),
                    "avg_time_to_execution_ms": float(avg_tte[kk]),
                    "avg_effective_spread": float(avg_eff[kk]),
                    "avg_quoted_spread": float(avg_quoted[kk]),
                    "effective_over_quoted_pct": float(eq[kk]),
                    "avg_effective_spread_bps": float(eff_bps[kk]),
                    "realized_spread": {n: float(v[kk]) for n, v in realized.items()},
                    "improved_shares": float(improved_sh[kk]),
                    "avg_improvement": float(avg_imp[kk]),
                    "at_quote_shares": float(at_q_sh[kk]),
                    "outside_quote_shares": float(outside_sh[kk]),
                    "avg_outside_amount": float(avg_out[kk]),
                    "badp_improved_shares": float(b_improved_sh[kk]),
                    "badp_avg_improvement": float(b_avg[kk]),
                    "badp_at_quote_shares": float(b_at_sh[kk]),
                    "badp_outside_quote_shares": float(b_out_sh[kk]),
                    "size_improvement_shares": float(size_imp[kk]),
                    "size_improvement_benchmark_shares": float(size_bench[kk]),
                },
            )
        )
    return out
