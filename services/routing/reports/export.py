"""Report exports: JSON-ready builtins, CSV, and the SEC 606 XML layout.

JSON: dataclasses as objects, ``Decimal`` as strings, ``NaN`` as ``null`` (no data),
floats rounded to 6 decimals. CSV: one flat row per line with a header; the 606 CSV has one
row per (month, section, venue) plus a ``*`` venue row with the section summary.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
from decimal import Decimal
from typing import Any, Final

from lxml import etree

from services.routing.reports.classify import TYPES_606
from services.routing.reports.rule605 import HORIZONS, Line605, Report605
from services.routing.reports.rule606 import Report606
from services.routing.reports.venues import MARKOUT_HORIZONS, ReviewLine, VenueMarkout

#: the SEC's element names for the four order types (606 XML technical specification)
_XML_TYPE: Final = {
    "market": "MarketOrders",
    "marketable_limit": "MarketableLimitOrders",
    "non_marketable_limit": "NonMarketableLimitOrders",
    "other": "OtherOrders",
}
_XML_SECTION: Final = {"sp500": "rSP500", "other_nms": "rOtherStocks"}
_XML_PCT: Final = {
    "market": "marketPct",
    "marketable_limit": "marketableLimitPct",
    "non_marketable_limit": "nonMarketableLimitPct",
    "other": "otherPct",
}
_XML_NDO_PCT: Final = {
    "market": "ndoMarketPct",
    "marketable_limit": "ndoMarketableLimitPct",
    "non_marketable_limit": "ndoNonmarketableLimitPct",
    "other": "ndoOtherPct",
}


def to_builtins(value: Any) -> Any:
    """JSON-ready builtins of a report (``Decimal`` -> string, NaN -> None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_builtins(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_builtins(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_builtins(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 6)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in (to_builtins(x) for x in row)])
    return buf.getvalue()


def csv_606(report: Report606) -> str:
    """One row per (month, section, venue); venue ``*`` rows carry the section summary."""
    header = ["quarter", "year", "month", "section", "venue", "orders", "order_pct"]
    header += [f"{t}_pct" for t in TYPES_606]
    header += [f"net_payment_{t}_usd" for t in TYPES_606]
    header += [f"net_payment_{t}_cents_per_100_shares" for t in TYPES_606]
    rows: list[list[Any]] = []
    for m in report.months:
        for name, sec in m.sections.items():
            rows.append(
                [report.quarter, m.year, m.month, name, "*", sec.non_directed, sec.non_directed_pct]
                + [sec.type_pct[t] for t in TYPES_606]
                + [""] * (2 * len(TYPES_606))
            )
            for v in sec.venues:
                rows.append(
                    [report.quarter, m.year, m.month, name, v.venue, v.orders, v.order_pct]
                    + [v.type_pct[t] for t in TYPES_606]
                    + [v.net_payment_usd[t] for t in TYPES_606]
                    + [v.net_payment_cph[t] for t in TYPES_606]
                )
    return _csv(header, rows)


_LINE_FIELDS: Final = [f.name for f in dataclasses.fields(Line605) if f.name != "realized_spread"]


def csv_605(report: Report605) -> str:
    """Detail lines then summary lines (``symbol`` ``*``), realized spreads one column each."""
    header = ["month", "part"] + _LINE_FIELDS + [f"realized_spread_{h}" for h, _ in HORIZONS]
    rows = [
        [report.month, part]
        + [getattr(line, f) for f in _LINE_FIELDS]
        + [line.realized_spread[h] for h, _ in HORIZONS]
        for part, lines in (("detail", report.lines), ("summary", report.summary))
        for line in lines
    ]
    return _csv(header, rows)


def csv_markouts(rows: list[VenueMarkout]) -> str:
    """One row per venue."""
    hs = [h for h, _ in MARKOUT_HORIZONS]
    header = ["venue", "fills", "shares", "toxicity_bps"]
    header += [f"markout_{h}_bps" for h in hs] + [f"markout_{h}_vs_price" for h in hs]
    return _csv(
        header,
        [
            [r.venue, r.fills, r.shares, r.toxicity_bps]
            + [r.markout_bps[h] for h in hs]
            + [r.markout_vs_price[h] for h in hs]
            for r in rows
        ],
    )


def csv_best_execution(lines: list[ReviewLine]) -> str:
    """One row per (symbol, order class, venue)."""
    fields = [
        "volume_pct",
        "orders_pct",
        "passive_pct",
        "aggressive_pct",
        "directed_pct",
        "avg_effective_spread_bps",
        "avg_price_improvement",
        "fill_rate_pct",
        "markout_1s_bps",
    ]
    header = ["symbol", "order_class", "orders", "executed_shares", "venue", *fields]
    return _csv(
        header,
        [
            [ln.symbol, ln.order_class, ln.orders, ln.executed_shares, v.venue]
            + [getattr(v, f) for f in fields]
            for ln in lines
            for v in ln.venues
        ],
    )


def _sub(parent: etree._Element, tag: str, text: object) -> None:
    etree.SubElement(parent, tag).text = str(text)


def xml_606(report: Report606, broker: str = "NexusTrade", now: dt.datetime | None = None) -> bytes:
    """The report in the layout of the SEC's 606 XML schema (``heldOrderRoutingPublicReport``)."""
    root = etree.Element("heldOrderRoutingPublicReport")
    _sub(root, "bd", broker)
    _sub(root, "year", report.months[0].year)
    _sub(root, "qtr", report.quarter[-1])
    stamp = now or dt.datetime(
        report.period_end.year, report.period_end.month, report.period_end.day, tzinfo=dt.UTC
    )
    _sub(root, "timestamp", stamp.strftime("%Y-%m-%dT%H:%M:%S"))
    for m in report.months:
        monthly = etree.SubElement(root, "rMonthly")
        _sub(monthly, "mon", m.month)
        for name, sec in m.sections.items():
            section = etree.SubElement(monthly, _XML_SECTION[name])
            _sub(section, "ndoPct", sec.non_directed_pct)
            for t in TYPES_606:
                _sub(section, _XML_NDO_PCT[t], sec.type_pct[t])
            venues = etree.SubElement(section, "rVenues")
            for v in sec.venues:
                venue = etree.SubElement(venues, "rVenue")
                _sub(venue, "name", v.venue)
                _sub(venue, "orderPct", v.order_pct)
                for t in TYPES_606:
                    _sub(venue, _XML_PCT[t], v.type_pct[t])
                for t in TYPES_606:
                    _sub(venue, f"netPmtPaidRecv{_XML_TYPE[t]}Usd", v.net_payment_usd[t])
                    _sub(venue, f"netPmtPaidRecv{_XML_TYPE[t]}Cph", v.net_payment_cph[t])
                _sub(venue, "materialAspects", "")
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data
