"""REST resources of the routing reports (role ``compliance``, and ``admin``).

* ``GET /reports/606?quarter=2026Q4&format=json|csv|xml`` - SEC Rule 606(a)(1);
* ``GET /reports/605?month=2026-12&format=json|csv`` - SEC Rule 605 as amended in 2024;
* ``GET /reports/markouts?start=&end=&symbol=&format=`` - post-fill markouts per venue;
* ``GET /reports/best-execution?start=&end=&format=`` - the review per symbol and order class.

Each report states its period and rule set. Bad input is a 422 problem+json naming the
parameter. The reports are computed from the stored flow on each request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

import falcon.asgi
from msgspec import Meta

from nexus.web import ADMIN, COMPLIANCE, QueryParams, endpoint, invalid, read_query
from services.routing.reports.model import IndexMembership
from services.routing.reports.render import (
    CONTENT_TYPES,
    day_period,
    month_period,
    quarter_period,
    render_605,
    render_606,
    render_best_execution,
    render_markouts,
)
from services.routing.reports_store import RecordedFlow

REPORT_READERS = {COMPLIANCE, ADMIN}

Quarter = Annotated[str, Meta(pattern=r"^[0-9]{4}Q[1-4]$")]
Month = Annotated[str, Meta(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
Day = Annotated[str, Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
SymbolParam = Annotated[str, Meta(pattern=r"^[A-Z0-9.\-]{1,16}$")]
FlowLoader = Callable[[int, int], Awaitable[RecordedFlow]]


class Query606(QueryParams):
    """The quarter and the format."""

    quarter: Quarter
    format: Literal["json", "csv", "xml"] = "json"


class Query605(QueryParams):
    """The month and the format."""

    month: Month
    format: Literal["json", "csv"] = "json"


class VenueQuery(QueryParams):
    """An optional UTC day range (inclusive), symbol and the format."""

    start: Day | None = None
    end: Day | None = None
    symbol: SymbolParam | None = None
    format: Literal["json", "csv"] = "json"


def _period(query: VenueQuery) -> tuple[int, int]:
    try:
        return day_period(query.start, query.end)
    except ValueError as exc:
        raise invalid("end" if "before" in str(exc) else "start", str(exc), "query") from None


def _send(resp: falcon.asgi.Response, fmt: str, body: bytes, name: str) -> None:
    resp.content_type = CONTENT_TYPES[fmt]
    if fmt != "json":
        resp.set_header("Content-Disposition", f'attachment; filename="{name}.{fmt}"')
    resp.data = body


class Report606Resource:
    """``/reports/606``."""

    def __init__(self, load: FlowLoader, sp500: IndexMembership) -> None:
        self._load, self._sp500 = load, sp500

    @endpoint(roles=REPORT_READERS, query=Query606, tags=["reports"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """SEC Rule 606(a)(1) quarterly report of held, non-directed orders."""
        query = read_query(req, Query606)
        flow = await self._load(*quarter_period(query.quarter))
        body = render_606(
            query.quarter, query.format, flow.orders, flow.routes, flow.fills, self._sp500
        )
        _send(resp, query.format, body, f"rule606-{query.quarter}")


class Report605Resource:
    """``/reports/605``."""

    def __init__(self, load: FlowLoader) -> None:
        self._load = load

    @endpoint(roles=REPORT_READERS, query=Query605, tags=["reports"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """SEC Rule 605 (2024) monthly execution quality, detail and summary."""
        query = read_query(req, Query605)
        flow = await self._load(*month_period(query.month))
        body = render_605(query.month, query.format, flow.orders, flow.fills, flow.tape)
        _send(resp, query.format, body, f"rule605-{query.month}")


class MarkoutsResource:
    """``/reports/markouts``."""

    def __init__(self, load: FlowLoader) -> None:
        self._load = load

    @endpoint(roles=REPORT_READERS, query=VenueQuery, tags=["reports"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Per-venue markouts at 100 ms, 1 s, 10 s, 60 s, most toxic venue first."""
        query = read_query(req, VenueQuery)
        period = _period(query)
        flow = await self._load(*period)
        body = render_markouts(
            query.format, flow.orders, flow.fills, flow.tape, symbol=query.symbol, period=period
        )
        _send(resp, query.format, body, "markouts")


class BestExecutionResource:
    """``/reports/best-execution``."""

    def __init__(self, load: FlowLoader) -> None:
        self._load = load

    @endpoint(roles=REPORT_READERS, query=VenueQuery, tags=["reports"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Venues used and their quality per symbol and order class (RTS 28 shape)."""
        query = read_query(req, VenueQuery)
        period = _period(query)
        flow = await self._load(*period)
        body = render_best_execution(
            query.format, flow.orders, flow.routes, flow.fills, flow.tape, period=period
        )
        _send(resp, query.format, body, "best-execution")


def report_routes(load: FlowLoader, sp500: IndexMembership) -> list[tuple[str, object]]:
    """The report routes, reading the flow of a period with ``load(start_ns, end_ns)``."""
    return [
        ("/reports/606", Report606Resource(load, sp500)),
        ("/reports/605", Report605Resource(load)),
        ("/reports/markouts", MarkoutsResource(load)),
        ("/reports/best-execution", BestExecutionResource(load)),
    ]
