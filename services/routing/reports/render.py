"""Periods and rendering of each report in its formats (shared by the REST API and the CLI)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Final, Literal

from services.routing.reports.export import (
    csv_605,
    csv_606,
    csv_best_execution,
    csv_markouts,
    to_builtins,
    xml_606,
)
from services.routing.reports.model import SCALE, Fills, IndexMembership, Orders, QuoteTape, Routes
from services.routing.reports.rule605 import compute_605, parse_month
from services.routing.reports.rule606 import compute_606, parse_quarter, quarter_months
from services.routing.reports.venues import best_execution, markouts

Format = Literal["json", "csv", "xml"]
CONTENT_TYPES: Final = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xml": "application/xml",
}
SP500_FILE: Final = Path(__file__).with_name("sp500.csv")


def load_sp500(path: Path | None = None) -> IndexMembership:
    """The S&P 500 membership file (default: the packaged ``sp500.csv``)."""
    return IndexMembership.from_csv((path or SP500_FILE).read_text())


def _ns(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()) * SCALE


def quarter_period(quarter: str) -> tuple[int, int]:
    """``[start, end)`` UTC nanoseconds of ``2026Q4``."""
    year, q = parse_quarter(quarter)
    (y0, m0), _, (y2, m2) = quarter_months(year, q)
    return _ns(dt.date(y0, m0, 1)), _ns(dt.date(y2 + (m2 == 12), m2 % 12 + 1, 1))


def month_period(month: str) -> tuple[int, int]:
    """``[start, end)`` UTC nanoseconds of ``2026-12``."""
    year, m = parse_month(month)
    return _ns(dt.date(year, m, 1)), _ns(dt.date(year + (m == 12), m % 12 + 1, 1))


def day_period(start: str | None, end: str | None) -> tuple[int, int]:
    """``[start day, end day + 1)`` from ISO dates; open ends cover everything recorded."""
    lo = _ns(dt.date.fromisoformat(start)) if start else 0
    hi = _ns(dt.date.fromisoformat(end) + dt.timedelta(days=1)) if end else 2**62
    if hi <= lo:
        raise ValueError("end must not be before start")
    return lo, hi


def _json(value: object) -> bytes:
    return json.dumps(to_builtins(value), separators=(",", ":")).encode()


def render_606(
    quarter: str,
    fmt: Format,
    orders: Orders,
    routes: Routes,
    fills: Fills,
    sp500: IndexMembership,
) -> bytes:
    """The Rule 606 report of ``quarter`` as JSON, CSV or the SEC XML layout."""
    report = compute_606(quarter, orders, routes, fills, sp500)
    if fmt == "csv":
        return csv_606(report).encode()
    if fmt == "xml":
        return xml_606(report)
    return _json(report)


def render_605(month: str, fmt: Format, orders: Orders, fills: Fills, tape: QuoteTape) -> bytes:
    """The Rule 605 report of ``month`` as JSON or CSV."""
    report = compute_605(month, orders, fills, tape)
    return csv_605(report).encode() if fmt == "csv" else _json(report)


def render_markouts(
    fmt: Format,
    orders: Orders,
    fills: Fills,
    tape: QuoteTape,
    *,
    symbol: str | None = None,
    period: tuple[int, int] = (0, 2**62),
) -> bytes:
    """Venue markouts (most toxic first) as JSON or CSV."""
    rows = markouts(orders, fills, tape, symbol=symbol, start_ns=period[0], end_ns=period[1])
    if fmt == "csv":
        return csv_markouts(rows).encode()
    return _json({"period": [period[0], period[1]], "venues": rows})


def render_best_execution(
    fmt: Format,
    orders: Orders,
    routes: Routes,
    fills: Fills,
    tape: QuoteTape,
    *,
    period: tuple[int, int] = (0, 2**62),
) -> bytes:
    """The best-execution review (RTS 28 shape, voluntary) as JSON or CSV."""
    lines = best_execution(orders, routes, fills, tape, start_ns=period[0], end_ns=period[1])
    if fmt == "csv":
        return csv_best_execution(lines).encode()
    return _json(
        {
            "rule_set": "MiFID II RTS 28 layout (voluntary; obligation withdrawn in the EU and UK)",
            "period": [period[0], period[1]],
            "lines": lines,
        }
    )
