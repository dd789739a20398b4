"""Routing command line: ``python -m services.routing report <606|605|markouts|best-execution>``.

Reads the routing database named by the settings (``NEXUS_ROUTING_PG_DSN``, else
``NEXUS_PG_DSN`` with the ``nexus_routing`` database) and writes the report to stdout or
``--output``. Examples::

    python -m services.routing report 606 --quarter 2026Q4 --format xml
    python -m services.routing report 605 --month 2026-12 --format csv
    python -m services.routing report markouts --start 2026-12-01 --end 2026-12-31
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from nexus.config import load_settings
from services.routing.reports.render import (
    day_period,
    load_sp500,
    month_period,
    quarter_period,
    render_605,
    render_606,
    render_best_execution,
    render_markouts,
)
from services.routing.reports_store import ReportsStore


def parser() -> argparse.ArgumentParser:
    """The argument parser."""
    top = argparse.ArgumentParser(prog="python -m services.routing")
    commands = top.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="regulatory and venue reports")
    kinds = report.add_subparsers(dest="kind", required=True)
    r606 = kinds.add_parser("606", help="SEC Rule 606(a)(1) quarterly routing report")
    r606.add_argument("--quarter", required=True, help="e.g. 2026Q4")
    r606.add_argument("--format", choices=("json", "csv", "xml"), default="json")
    r606.add_argument("--sp500", type=Path, help="S&P 500 membership CSV (symbol,start,end)")
    r605 = kinds.add_parser("605", help="SEC Rule 605 (2024) monthly execution quality")
    r605.add_argument("--month", required=True, help="e.g. 2026-12")
    r605.add_argument("--format", choices=("json", "csv"), default="json")
    for name in ("markouts", "best-execution"):
        p = kinds.add_parser(name)
        p.add_argument("--start", help="first UTC day (YYYY-MM-DD)")
        p.add_argument("--end", help="last UTC day (YYYY-MM-DD)")
        p.add_argument("--format", choices=("json", "csv"), default="json")
        if name == "markouts":
            p.add_argument("--symbol")
    for p in kinds.choices.values():
        p.add_argument("--output", type=Path, help="write here instead of stdout")
    return top


async def produce(args: argparse.Namespace, dsn: str) -> bytes:
    """The report named by ``args`` from the database at ``dsn``."""
    if args.kind == "606":
        period = quarter_period(args.quarter)
    elif args.kind == "605":
        period = month_period(args.month)
    else:
        period = day_period(args.start, args.end)
    conn = await asyncpg.connect(dsn)
    try:
        flow = await ReportsStore(conn).flow(*period)
    finally:
        await conn.close()
    if args.kind == "606":
        sp500 = load_sp500(args.sp500)
        return render_606(args.quarter, args.format, flow.orders, flow.routes, flow.fills, sp500)
    if args.kind == "605":
        return render_605(args.month, args.format, flow.orders, flow.fills, flow.tape)
    if args.kind == "markouts":
        return render_markouts(
            args.format, flow.orders, flow.fills, flow.tape, symbol=args.symbol, period=period
        )
    return render_best_execution(
        args.format, flow.orders, flow.routes, flow.fills, flow.tape, period=period
    )


def main(argv: Sequence[str] | None = None, dsn: str | None = None) -> int:
    """Run the command; 2 on bad arguments (argparse), 1 on a bad period."""
    args = parser().parse_args(argv)
    try:
        body = asyncio.run(produce(args, dsn or load_settings().pg_dsn_for("routing")))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.output is not None:
        args.output.write_bytes(body)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
