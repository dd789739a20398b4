"""Reports from rows stored in a real PostgreSQL database, checked against a direct
computation from the same raw records (plain loops, no report code)."""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
import json
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest

from services.routing.__main__ import main as cli
from services.routing.reports.model import IndexMembership
from services.routing.reports.render import load_sp500, month_period
from services.routing.reports.rule605 import compute_605
from services.routing.reports.rule606 import compute_606
from services.routing.reports.venues import markouts
from services.routing.reports_store import RecordedFlow
from tests.integration.routing_reports.flow import MS, Flow, S

SP500 = load_sp500()


def _month(ts: int) -> tuple[int, int]:
    d = dt.datetime.fromtimestamp(ts // S, tz=dt.UTC)
    return d.year, d.month


def _type606(p: object) -> str:
    limit, side, bid, ask = p.limit, p.side, p.bid, p.ask  # type: ignore[attr-defined]
    if limit == 0:
        return "market"
    if (side > 0 and limit >= ask) or (side < 0 and limit <= bid):
        return "marketable_limit"
    return "non_marketable_limit"


async def test_606_from_the_database_matches_a_direct_count(
    seeded: tuple[str, Flow, RecordedFlow, RecordedFlow],
) -> None:
    _, flow, stored, _ = seeded
    report = compute_606("2026Q4", stored.orders, stored.routes, stored.fills, SP500)
    members = {"SIM0001", "AAPL"}
    for month in report.months:
        for name, section in month.sections.items():
            rows = [
                i
                for i, p in enumerate(flow.parents)
                if not p.refused
                and _month(p.ts) == (month.year, month.month)
                and ((p.symbol in members) == (name == "sp500"))
            ]
            assert section.non_directed == len(rows)
            routes = {(o, v) for o, v, _ in flow.routes if o in set(rows)}
            per_venue: dict[str, int] = defaultdict(int)
            for _, v in routes:
                per_venue[v] += 1
            got = {v.venue: v for v in section.venues}
            assert {v: got[v].orders for v in got} == dict(per_venue)
            for venue, row in got.items():
                pct = (Decimal(100 * per_venue[venue]) / len(routes)).quantize(
                    Decimal("0.01"), ROUND_HALF_EVEN
                )
                assert row.order_pct == pct
                for kind in ("market", "marketable_limit"):
                    fees = [
                        f.fee
                        for f in flow.fills
                        if f.order in set(rows)
                        and f.venue == venue
                        and _type606(flow.parents[f.order]) == kind
                    ]
                    usd = (-Decimal(sum(fees)) / S).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
                    assert row.net_payment_usd[kind] == usd
    assert sum(s.non_directed for m in report.months for s in m.sections.values()) > 100


def _mid_at(quotes: list[tuple[int, int, int]], t: int) -> float | None:
    times = [q[0] for q in quotes]
    i = bisect.bisect_right(times, t) - 1
    if i < 0:
        return None
    return (quotes[i][1] + quotes[i][2]) / 2 / S


async def test_605_and_markouts_match_loops_over_stored_fills_and_quotes(
    seeded: tuple[str, Flow, RecordedFlow, RecordedFlow],
) -> None:
    _, flow, _, december = seeded
    report = compute_605("2026-12", december.orders, december.fills, december.tape)
    lo, hi = month_period("2026-12")
    by_symbol: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for sym, t, b, a in sorted(flow.quotes):
        by_symbol[sym].append((t, b, a))
    # effective and realized (1 s) spread of all December market orders, every symbol
    num = den = r_num = r_den = 0.0
    for f in flow.fills:
        p = flow.parents[f.order]
        if p.limit != 0 or not lo <= p.ts < hi:
            continue
        q = f.quantity / S
        mid = (p.bid + p.ask) / 2 / S
        num += q * 2 * p.side * (f.price / S - mid)
        den += q
        later = _mid_at(by_symbol[p.symbol], f.ts + 1_000 * MS)
        if later is not None:
            r_num += q * 2 * p.side * (f.price / S - later)
            r_den += q
    market = [x for x in report.summary if x.order_type == "market"]
    shares = sum(x.executed_shares for x in market)
    assert shares == pytest.approx(den)
    eff = sum(x.avg_effective_spread * x.executed_shares for x in market if x.executed_shares)
    assert eff / shares == pytest.approx(num / den)
    real = sum(x.realized_spread["1s"] * x.executed_shares for x in market if x.executed_shares)
    assert real / shares == pytest.approx(r_num / r_den)  # every fill has a quote 1 s on

    venues = {v.venue: v for v in markouts(december.orders, december.fills, december.tape)}
    for venue in venues:
        w = acc = 0.0
        for f in flow.fills:
            p = flow.parents[f.order]
            if f.venue != venue or not lo <= p.ts < hi:
                continue
            m0 = _mid_at(by_symbol[p.symbol], f.ts)
            m1 = _mid_at(by_symbol[p.symbol], f.ts + 10_000 * MS)
            assert m0 is not None and m1 is not None
            w += f.quantity / S
            acc += f.quantity / S * p.side * (m1 - m0) / m0 * 1e4
        assert venues[venue].markout_bps["10s"] == pytest.approx(acc / w)
        assert venues[venue].toxicity_bps == pytest.approx(-acc / w)


def test_cli_writes_the_same_report_as_the_library(
    seeded: tuple[str, Flow, RecordedFlow, RecordedFlow], tmp_path: Path
) -> None:
    dsn, _, stored, _ = seeded
    out = tmp_path / "r606.csv"
    assert (
        cli(["report", "606", "--quarter", "2026Q4", "--format", "csv", "--output", str(out)], dsn)
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    report = compute_606("2026Q4", stored.orders, stored.routes, stored.fills, SP500)
    venues = [r for r in rows if r["venue"] != "*"]
    assert len(venues) == sum(len(s.venues) for m in report.months for s in m.sections.values())
    out605 = tmp_path / "r605.json"
    assert cli(["report", "605", "--month", "2026-12", "--output", str(out605)], dsn) == 0
    assert json.loads(out605.read_text())["month"] == "2026-12"
    assert cli(["report", "605", "--month", "2026-12", "--format", "csv"], dsn) == 0
    assert isinstance(SP500, IndexMembership)
