"""``tools.report_check``: the reports against loops over the raw stored rows, in PostgreSQL.

The tool is what checks the reports of a ``make run`` session; here it runs on the seeded
quarter, finds no mismatch, and finds the ones planted by editing raw rows behind the
reports' back.
"""

from __future__ import annotations

import asyncpg
import pytest

from services.routing.reports.render import month_period, quarter_period
from services.routing.reports_store import RecordedFlow
from tests.integration.routing_reports.flow import Flow
from tools.report_check import check, main, sample_lines

Seeded = tuple[str, Flow, RecordedFlow, RecordedFlow]


async def test_the_seeded_quarter_checks_clean(seeded: Seeded) -> None:
    dsn, flow, _, _ = seeded
    conn = await asyncpg.connect(dsn)
    try:
        result = await check(conn, "2026Q4", "2026-12")
    finally:
        await conn.close()
    assert result.problems == []
    lo, hi = quarter_period("2026Q4")
    in_quarter = [p for p in flow.parents if not p.refused and lo <= p.ts < hi]
    assert len(result.quarter_flow.parents) == len(in_quarter) > 100
    assert len(result.month_flow.fills) > 10
    text = "\n".join(sample_lines(result))
    assert "606 2026Q4" in text and "605 2026-12 summary" in text and "venue markouts" in text


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        # a fee changed by a cent: the 606 net payment of that venue and type no longer adds up
        (
            "UPDATE routed_fills SET fee = fee + 0.01 WHERE ctid = "
            "(SELECT ctid FROM routed_fills ORDER BY order_id LIMIT 1)",
            "net payment",
        ),
        # a fill moved 5 s later: time to execution (and markouts) change
        (
            "UPDATE routed_fills SET ts_event = ts_event + 5000000000 WHERE order_id IN "
            "(SELECT p.order_id FROM parent_orders p WHERE COALESCE(p.limit_price, 0) = 0 "
            f"AND p.ts_start >= {month_period('2026-12')[0]} AND p.status <> 'REFUSED' "
            "ORDER BY p.order_id LIMIT 3)",
            "605 2026-12 market",
        ),
    ],
)
async def test_a_raw_row_edited_behind_the_reports_is_a_mismatch(
    seeded: Seeded, edit: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn, _, _, _ = seeded
    conn = await asyncpg.connect(dsn)
    try:
        before = await check(conn, "2026Q4", "2026-12")
        assert before.problems == []
        # the library reads through ReportsStore; keep its view and alter only the raw rows
        monkeypatch.setattr("tools.report_check.compute_606", lambda *a, **k: before.r606)
        monkeypatch.setattr("tools.report_check.compute_605", lambda *a, **k: before.r605)
        monkeypatch.setattr("tools.report_check.markouts", lambda *a, **k: before.venue_rows)
        await conn.execute(edit)
        after = await check(conn, "2026Q4", "2026-12")
    finally:
        await conn.close()
    assert any(expected in p for p in after.problems), after.problems


def test_the_cli_prints_the_sample_and_exits_zero(
    seeded: Seeded, capsys: pytest.CaptureFixture[str]
) -> None:
    dsn, _, _, _ = seeded
    assert main(["--dsn", dsn, "--quarter", "2026Q4", "--month", "2026-12"]) == 0
    out = capsys.readouterr().out
    assert "OK: every checked figure matches" in out
    assert "checked " in out


def test_an_empty_period_exits_two(seeded: Seeded) -> None:
    dsn, _, _, _ = seeded
    assert main(["--dsn", dsn, "--quarter", "2020Q1", "--month", "2020-01"]) == 2
