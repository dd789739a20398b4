"""Check the routing reports against a direct computation from the raw stored rows.

``python -m tools.report_check --dsn postgresql://.../nexus_routing --quarter 2026Q4
--month 2026-12`` reads ``parent_orders``, ``routing_decisions``, ``child_orders``,
``routed_fills`` and ``routing_quote_archive`` with plain queries (no report SQL), recomputes
with loops over those rows (``Decimal`` for money, no report code):

* Rule 606: per month and section, the non-directed orders, their split by order type, the
  orders routed to each venue and its share, and each venue's net payment per order type;
* Rule 605: for market and marketable-limit orders, the executed shares, the share-weighted
  effective spread, realized spreads at 1 s and 5 min and the time to execution;
* venue markouts at 10 s,

and compares each figure with what the report library (``compute_606``/``compute_605``/
``markouts`` over :class:`~services.routing.reports_store.ReportsStore`) produced. It prints a
sample of each report and every mismatch, and exits 1 if there is one (2 if nothing was
recorded in the period).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import datetime as dt
import json
import math
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import asyncpg

from nexus.config import Settings, load_settings
from services.routing.reports.model import IndexMembership
from services.routing.reports.render import load_sp500, month_period, quarter_period
from services.routing.reports.rule605 import Report605, compute_605
from services.routing.reports.rule606 import Report606, compute_606
from services.routing.reports.venues import markouts
from services.routing.reports_store import LOOKAHEAD_NS, ReportsStore

NS = 10**9
MS = 10**6
CENT = Decimal("0.01")
#: relative tolerance of float statistics (the library sums in another order)
REL = 1e-9


@dataclass
class RawParent:
    """A stored parent with the NBBO of its first decision (raw fixed point)."""

    order_id: str
    symbol: str
    side: int
    quantity: Decimal
    limit: Decimal | None
    ts: int
    bid: int = 0
    ask: int = 0


@dataclass
class RawFill:
    """A stored routed fill."""

    order_id: str
    venue: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    ts: int


@dataclass
class RawFlow:
    """Everything stored for parents received in a period."""

    parents: dict[str, RawParent] = field(default_factory=dict)
    routes: set[tuple[str, str]] = field(default_factory=set)
    fills: list[RawFill] = field(default_factory=list)
    quotes: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)


def _snap(value: object) -> tuple[int, int, int] | None:
    """``(ts, bid, ask)`` of an NBBO snapshot stored as JSON (a dict or its text)."""
    snap = json.loads(value) if isinstance(value, str) else value
    if not isinstance(snap, dict):
        return None
    ts = int(snap.get("ts_event") or 0)
    if ts <= 0:
        return None
    return ts, int(snap.get("bid_price") or 0), int(snap.get("ask_price") or 0)


async def load_raw(
    conn: asyncpg.Connection, start_ns: int, end_ns: int, lookahead_ns: int
) -> RawFlow:
    """The raw rows of parents received in ``[start_ns, end_ns)`` (refused parents left out)."""
    flow = RawFlow()
    for r in await conn.fetch(
        "SELECT order_id, symbol, side, quantity, limit_price, ts_start FROM parent_orders "
        "WHERE ts_start >= $1 AND ts_start < $2 AND status <> 'REFUSED'",
        start_ns,
        end_ns,
    ):
        flow.parents[r["order_id"]] = RawParent(
            r["order_id"],
            r["symbol"],
            1 if r["side"] == "BUY" else -1,
            r["quantity"],
            r["limit_price"],
            r["ts_start"],
        )
    symbol_of = {p.order_id: p.symbol for p in flow.parents.values()}
    first: dict[str, tuple[int, int]] = {}
    taped: dict[str, set[tuple[int, int, int]]] = defaultdict(set)
    horizon = end_ns + lookahead_ns
    for r in await conn.fetch(
        "SELECT order_id, symbol, round, ts_event, decision FROM routing_decisions "
        "WHERE ts_event >= $1 AND ts_event < $2",
        start_ns,
        horizon,
    ):
        decision = json.loads(r["decision"]) if isinstance(r["decision"], str) else r["decision"]
        snap = _snap(decision.get("nbbo"))
        if snap is not None:
            taped[r["symbol"]].add(snap)
        p = flow.parents.get(r["order_id"])
        if p is None or snap is None:
            continue
        key = (r["round"], r["ts_event"])
        if r["order_id"] not in first or key < first[r["order_id"]]:
            first[r["order_id"]] = key
            p.bid, p.ask = snap[1], snap[2]
    for r in await conn.fetch(
        "SELECT order_id, venue, sent_ns, nbbo_at_decision, nbbo_at_execution FROM child_orders"
    ):
        if r["order_id"] in flow.parents:
            flow.routes.add((r["order_id"], r["venue"]))
        sym = symbol_of.get(r["order_id"])
        if sym is not None and start_ns <= (r["sent_ns"] or 0) < horizon:
            for value in (r["nbbo_at_decision"], r["nbbo_at_execution"]):
                snap = _snap(value)
                if snap is not None:
                    taped[sym].add(snap)
    for r in await conn.fetch(
        "SELECT order_id, venue, price, quantity, fee, ts_event, nbbo_at_execution "
        "FROM routed_fills"
    ):
        sym = symbol_of.get(r["order_id"])
        if sym is None:
            continue
        flow.fills.append(
            RawFill(r["order_id"], r["venue"], r["price"], r["quantity"], r["fee"], r["ts_event"])
        )
        snap = _snap(r["nbbo_at_execution"])
        if snap is not None and start_ns <= r["ts_event"] < horizon:
            taped[sym].add(snap)
    for r in await conn.fetch(
        "SELECT symbol, ts_event, bid_price, ask_price FROM routing_quote_archive "
        "WHERE ts_event >= $1 AND ts_event < $2",
        start_ns,
        horizon,
    ):
        taped[r["symbol"]].add((r["ts_event"], r["bid_price"], r["ask_price"]))
    flow.quotes = {sym: sorted(rows) for sym, rows in taped.items()}
    return flow


def type_606(p: RawParent) -> str:
    """Rule 606 order type from the limit and the NBBO at receipt."""
    if p.limit is None or p.limit == 0:
        return "market"
    limit = int(p.limit * NS)
    if (p.side > 0 and p.ask > 0 and limit >= p.ask) or (
        p.side < 0 and p.bid > 0 and limit <= p.bid
    ):
        return "marketable_limit"
    return "non_marketable_limit"


def month_of(ts: int) -> tuple[int, int]:
    """UTC (year, month) of a nanosecond timestamp."""
    d = dt.datetime.fromtimestamp(ts // NS, tz=dt.UTC)
    return d.year, d.month


def _pct(part: int, whole: int) -> Decimal:
    return (Decimal(100 * part) / whole).quantize(CENT, ROUND_HALF_EVEN) if whole else Decimal(0)


def check_606(report: Report606, flow: RawFlow, sp500: IndexMembership) -> list[str]:
    """Mismatches between the 606 report and loops over the raw rows."""
    import numpy as np

    problems: list[str] = []
    parents = list(flow.parents.values())
    sp = {
        p.order_id: bool(
            sp500.members(
                np.asarray([p.symbol]),
                np.asarray(
                    [np.datetime64(dt.datetime.fromtimestamp(p.ts // NS, tz=dt.UTC).date())]
                ),
            )[0]
        )
        for p in parents
    }
    for month in report.months:
        for name, section in month.sections.items():
            rows = {
                p.order_id
                for p in parents
                if month_of(p.ts) == (month.year, month.month)
                and sp[p.order_id] == (name == "sp500")
            }
            where = f"606 {month.year}-{month.month:02d} {name}"
            if section.non_directed != len(rows):
                problems.append(f"{where}: non-directed {section.non_directed} != {len(rows)}")
            kinds: dict[str, int] = defaultdict(int)
            for oid in rows:
                kinds[type_606(flow.parents[oid])] += 1
            for kind, n in kinds.items():
                if section.type_counts.get(kind, 0) != n:
                    problems.append(f"{where}: {kind} {section.type_counts.get(kind)} != {n}")
            routes = {(o, v) for o, v in flow.routes if o in rows}
            per_venue: dict[str, int] = defaultdict(int)
            for _, v in routes:
                per_venue[v] += 1
            got = {v.venue: v for v in section.venues}
            if {v: got[v].orders for v in got} != dict(per_venue):
                problems.append(
                    f"{where}: orders per venue { ({v: got[v].orders for v in got}) } != "
                    f"{dict(per_venue)}"
                )
            for venue, row in got.items():
                pct = _pct(per_venue.get(venue, 0), len(routes))
                if row.order_pct != pct:
                    problems.append(f"{where} {venue}: order % {row.order_pct} != {pct}")
                for kind in ("market", "marketable_limit", "non_marketable_limit"):
                    fees = sum(
                        (
                            f.fee
                            for f in flow.fills
                            if f.order_id in rows
                            and f.venue == venue
                            and type_606(flow.parents[f.order_id]) == kind
                        ),
                        Decimal(0),
                    )
                    usd = (-fees).quantize(CENT, ROUND_HALF_EVEN)
                    if row.net_payment_usd.get(kind, Decimal(0)) != usd:
                        problems.append(
                            f"{where} {venue} {kind}: net payment "
                            f"{row.net_payment_usd.get(kind)} != {usd}"
                        )
    return problems


def mid_at(quotes: Sequence[tuple[int, int, int]], t: int) -> float | None:
    """The mid (dollars) of the last quote at or before ``t``; None before the first quote or
    when that quote has an empty side."""
    i = bisect.bisect_right(quotes, (t, math.inf, math.inf)) - 1
    if i < 0 or quotes[i][1] <= 0 or quotes[i][2] <= 0:
        return None
    return (quotes[i][1] + quotes[i][2]) / 2 / NS


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=1e-9)


@dataclass
class Direct605:
    """Share-weighted sums of one 605 order type over the month's fills."""

    shares: float = 0.0
    effective: float = 0.0
    tte_ms: float = 0.0
    realized: dict[str, list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0.0, 0.0])
    )


def check_605(report: Report605, flow: RawFlow) -> list[str]:
    """Mismatches between the 605 summary and loops over the raw fills and quotes."""
    problems: list[str] = []
    year, mon = (int(x) for x in report.month.split("-"))
    direct: dict[str, Direct605] = defaultdict(Direct605)
    horizons = {"1s": 1_000 * MS, "5min": 300_000 * MS}
    for f in flow.fills:
        p = flow.parents[f.order_id]
        kind = type_606(p)
        if (
            kind == "non_marketable_limit"
            or month_of(p.ts) != (year, mon)
            or p.bid <= 0
            or p.ask <= 0
        ):
            continue
        q = float(f.quantity)
        price = float(f.price)
        mid = (p.bid + p.ask) / 2 / NS
        d = direct[kind]
        d.shares += q
        d.effective += q * 2 * p.side * (price - mid)
        d.tte_ms += q * (f.ts - p.ts) / MS
        for name, h in horizons.items():
            later = mid_at(flow.quotes.get(p.symbol, []), f.ts + h)
            if later is not None:
                d.realized[name][0] += q * 2 * p.side * (price - later)
                d.realized[name][1] += q
    for kind, d in direct.items():
        lines = [x for x in report.summary if x.order_type == kind]
        shares = sum(x.executed_shares for x in lines)
        where = f"605 {report.month} {kind}"
        if not _close(shares, d.shares):
            problems.append(f"{where}: executed shares {shares} != {d.shares}")
            continue
        weighted = [x for x in lines if x.executed_shares]
        eff = sum(x.avg_effective_spread * x.executed_shares for x in weighted) / shares
        if not _close(eff, d.effective / d.shares):
            problems.append(f"{where}: effective spread {eff} != {d.effective / d.shares}")
        tte = sum(x.avg_time_to_execution_ms * x.executed_shares for x in weighted) / shares
        if not _close(tte, d.tte_ms / d.shares):
            problems.append(f"{where}: time to execution {tte} != {d.tte_ms / d.shares}")
        for name, (num, den) in d.realized.items():
            got = [x for x in weighted if not math.isnan(x.realized_spread[name])]
            if not den:
                continue
            # the library averages per line over the fills with a mid at the horizon
            if len(got) == len(weighted) and den == d.shares:
                value = sum(x.realized_spread[name] * x.executed_shares for x in got) / shares
                if not _close(value, num / den):
                    problems.append(f"{where}: realized spread {name} {value} != {num / den}")
    return problems


def check_markouts(rows: Sequence[object], flow: RawFlow, horizon: str = "10s") -> list[str]:
    """Mismatches between venue markouts and loops over the raw fills and quotes."""
    problems: list[str] = []
    for row in rows:
        venue = row.venue  # type: ignore[attr-defined]
        w = acc = 0.0
        for f in flow.fills:
            if f.venue != venue:
                continue
            p = flow.parents[f.order_id]
            quotes = flow.quotes.get(p.symbol, [])
            m0, m1 = mid_at(quotes, f.ts), mid_at(quotes, f.ts + 10_000 * MS)
            if m0 is None or m1 is None:
                continue
            w += float(f.quantity)
            acc += float(f.quantity) * p.side * (m1 - m0) / m0 * 1e4
        got = row.markout_bps.get(horizon)  # type: ignore[attr-defined]
        if w and (got is None or not math.isclose(got, acc / w, rel_tol=1e-6, abs_tol=1e-6)):
            problems.append(f"markout {venue} {horizon}: {got} != {acc / w}")
    return problems


@dataclass
class CheckResult:
    """The reports, the raw flows they were checked against, and the mismatches."""

    r606: Report606
    r605: Report605
    venue_rows: list[object]
    quarter_flow: RawFlow
    month_flow: RawFlow
    problems: list[str]


async def check(conn: asyncpg.Connection, quarter: str, month: str) -> CheckResult:
    """Compute the reports with the library and check them against the raw rows.

    Both read one snapshot of the database (a read-only repeatable-read transaction), so a
    flow still being recorded cannot make them differ.
    """
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        return await _check(conn, quarter, month)


async def _check(conn: asyncpg.Connection, quarter: str, month: str) -> CheckResult:
    sp500 = load_sp500()
    store = ReportsStore(conn)
    q_lo, q_hi = quarter_period(quarter)
    m_lo, m_hi = month_period(month)
    q_flow = await store.flow(q_lo, q_hi)
    m_flow = await store.flow(m_lo, m_hi)
    r606 = compute_606(quarter, q_flow.orders, q_flow.routes, q_flow.fills, sp500)
    r605 = compute_605(month, m_flow.orders, m_flow.fills, m_flow.tape)
    venue_rows: list[object] = list(markouts(m_flow.orders, m_flow.fills, m_flow.tape))
    raw_q = await load_raw(conn, q_lo, q_hi, LOOKAHEAD_NS)
    raw_m = await load_raw(conn, m_lo, m_hi, LOOKAHEAD_NS)
    problems = (
        check_606(r606, raw_q, sp500) + check_605(r605, raw_m) + check_markouts(venue_rows, raw_m)
    )
    return CheckResult(r606, r605, venue_rows, raw_q, raw_m, problems)


def sample_lines(result: CheckResult) -> list[str]:
    """A human-readable sample of each report."""
    out = [f"606 {result.r606.quarter} ({result.r606.rule_set})"]
    for m in result.r606.months:
        for name, s in m.sections.items():
            if not s.non_directed:
                continue
            out.append(
                f"  {m.year}-{m.month:02d} {name}: {s.non_directed} non-directed, types "
                + ", ".join(f"{k} {v}%" for k, v in s.type_pct.items())
            )
            for v in s.venues:
                out.append(
                    f"    {v.venue:<8} orders {v.orders:>5} ({v.order_pct}%) net payment USD "
                    + ", ".join(f"{k} {x}" for k, x in v.net_payment_usd.items())
                )
    out.append(f"605 {result.r605.month} summary ({len(result.r605.lines)} detail lines)")
    for x in result.r605.summary:
        if not x.executed_shares:
            continue
        out.append(
            f"  {x.order_type:<22} {x.lot:<9} {x.notional:<12} orders {x.orders:>4} "
            f"exec {x.executed_shares:>9.0f} fill {x.fill_rate_pct:6.2f}% "
            f"tte {x.avg_time_to_execution_ms:8.2f} ms eff {x.avg_effective_spread:.4f} "
            f"E/Q {x.effective_over_quoted_pct:6.1f}% rs1s {x.realized_spread['1s']:.4f}"
        )
    out.append("venue markouts (bps, signed by side)")
    for row in result.venue_rows:
        marks = ", ".join(f"{k} {v:.3f}" for k, v in row.markout_bps.items())  # type: ignore[attr-defined]
        out.append(f"  {row.venue:<8} fills {row.fills:>5} {marks}")  # type: ignore[attr-defined]
    return out


async def _main(dsn: str, quarter: str, month: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        result = await check(conn, quarter, month)
    finally:
        await conn.close()
    for line in sample_lines(result):
        print(line)
    n_parents, n_fills = len(result.quarter_flow.parents), len(result.quarter_flow.fills)
    print(f"checked {n_parents} parents, {n_fills} fills of {quarter} against the raw rows")
    if not n_parents:
        print("nothing recorded in the period", file=sys.stderr)
        return 2
    for problem in result.problems:
        print(f"MISMATCH {problem}", file=sys.stderr)
    print(
        "OK: every checked figure matches"
        if not result.problems
        else f"{len(result.problems)} mismatches"
    )
    return 1 if result.problems else 0


def default_dsn(settings: Settings | None = None) -> str:
    """The routing database of the configured server, else of ``make run``'s embedded one."""
    settings = settings or load_settings()
    if settings.pg_dsn or "routing" in settings.service_pg_dsns:
        return settings.pg_dsn_for("routing")
    socket_dir = Path(settings.data_dir, "stack", "pgdata").resolve()
    return f"postgresql://postgres@/nexus_routing?host={socket_dir}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m tools.report_check``."""
    parser = argparse.ArgumentParser(prog="tools.report_check", description=__doc__)
    parser.add_argument(
        "--dsn",
        default=None,
        help="the routing database (default: NEXUS_ROUTING_PG_DSN, NEXUS_PG_DSN, else the "
        "embedded PostgreSQL of the `make run` data directory)",
    )
    today = dt.datetime.now(dt.UTC).date()
    parser.add_argument("--quarter", default=f"{today.year}Q{(today.month - 1) // 3 + 1}")
    parser.add_argument("--month", default=f"{today.year}-{today.month:02d}")
    args = parser.parse_args(argv)
    return asyncio.run(_main(args.dsn or default_dsn(), args.quarter, args.month))


if __name__ == "__main__":
    raise SystemExit(main())
