"""Falcon resources of the market-data service: symbols, prices, latest prices, returns, bars.

Closes are exact decimal strings; returns are floats (statistics). Dates are ISO
``YYYY-MM-DD`` exchange dates. Missing days: a price series lists only the trading days on which
that symbol has a stored close (nothing is filled in); ``missing_dates`` names the days of the
request's calendar (dates on which *any* requested symbol has a close) that the symbol lacks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Literal

import falcon.asgi
import msgspec
from msgspec import Meta

from nexus.events import SYMBOL_RE, Symbol
from nexus.money import Fixed
from nexus.web import (
    ADMIN,
    COMPLIANCE,
    RISK,
    SERVICE,
    TRADER,
    FieldError,
    HTTPProblem,
    QueryParams,
    endpoint,
    invalid,
    read_query,
)
from services.marketdata.core import (
    InsufficientHistoryError,
    InvalidRangeError,
    MissingPolicy,
    MissingPricesError,
    ReturnKind,
    UnknownSymbolError,
)
from services.marketdata.service import MarketDataService
from services.marketdata.store import LatestClose, SymbolInfo

READERS = {TRADER, RISK, COMPLIANCE, ADMIN, SERVICE}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_SYMBOLS = 1000

PRICES_POLICY = (
    "trading days only: each series lists the dates on which that symbol has a stored close, "
    "nothing is filled in; missing_dates lists the dates on which another requested symbol has "
    "a close and this one has none"
)
RETURNS_POLICY = {
    MissingPolicy.RAISE: "calendar = union of the symbols' close dates; a symbol missing a close "
    "on a calendar day is an error (404 naming symbols and dates)",
    MissingPolicy.DROP: "calendar = union of the symbols' close dates minus every day on which "
    "any symbol has no close; returns span the dropped days",
    MissingPolicy.FORWARD_FILL: "calendar = union of the symbols' close dates; a missing close "
    "carries the previous close forward (a zero return)",
}

SymbolList = Annotated[
    list[str],
    Meta(
        min_length=1,
        max_length=20_000,
        description="tickers, repeated (symbols=AAPL&symbols=MSFT) or comma-separated "
        "(symbols=AAPL,MSFT), as every list parameter",
        examples=[["S0000", "S0001"]],
    ),
]


class RangeQuery(QueryParams):
    """Symbols and an inclusive date range (open ends: the symbols' stored span)."""

    symbols: SymbolList
    start: dt.date | None = None
    end: dt.date | None = None


class ReturnsQuery(QueryParams):
    """Symbols, an inclusive date range, the kind of return and the missing-day policy."""

    symbols: SymbolList
    start: dt.date | None = None
    end: dt.date | None = None
    kind: Literal["simple", "log"] = "simple"
    missing: Literal["raise", "drop", "ffill"] = "raise"


class LatestQuery(QueryParams):
    """Symbols (every stored symbol when omitted)."""

    symbols: SymbolList | None = None


UtcTime = Annotated[dt.datetime, Meta(tz=True, description="ISO 8601 with a UTC offset")]


class BarsQuery(QueryParams):
    """One symbol's bars starting in ``[start, end)`` (open ends: all), the latest ``limit``."""

    symbol: Symbol
    start: UtcTime | None = None
    end: UtcTime | None = None
    limit: Annotated[int, Meta(ge=1, le=5000)] = 500


class BarView(msgspec.Struct, kw_only=True):
    """An OHLCV bar of trades: prices and volume as exact decimal strings."""

    start: dt.datetime
    start_ns: int
    seconds: int
    open: str
    high: str
    low: str
    close: str
    volume: str
    trades: int


class SymbolView(msgspec.Struct, kw_only=True):
    """A symbol with stored history."""

    symbol: str
    sector: str | None
    first_date: dt.date
    last_date: dt.date
    closes: int
    source: str


class PriceSeriesView(msgspec.Struct, kw_only=True):
    """One symbol's closes: ``closes[k]`` (decimal string) is the close on ``dates[k]``."""

    symbol: str
    dates: list[dt.date]
    closes: list[str]
    missing_dates: list[dt.date]


class PricesView(msgspec.Struct, kw_only=True):
    """Closes of several symbols over ``[start, end]``; ``count`` closes in all."""

    start: dt.date
    end: dt.date
    count: int
    missing_days: str
    series: list[PriceSeriesView]


class ReturnSeriesView(msgspec.Struct, kw_only=True):
    """One symbol's returns: ``values[k]`` is the return from ``dates[k-1]`` (or ``base_date``)
    to ``dates[k]``."""

    symbol: str
    values: list[float]


class ReturnsView(msgspec.Struct, kw_only=True):
    """Aligned returns of several symbols; ``observations`` returns per symbol."""

    kind: str
    missing: str
    start: dt.date
    end: dt.date
    base_date: dt.date
    dates: list[dt.date]
    observations: int
    missing_days: str
    series: list[ReturnSeriesView]


class LatestView(msgspec.Struct, kw_only=True):
    """The latest stored close of a symbol and the close before it (decimal strings), its last
    sale on the venues (from ``trades.executed``; null before its first trade) and its mark:
    the last sale when it traded, else the close."""

    symbol: str
    date: dt.date
    close: str
    previous_close: str | None
    change: str | None
    last_sale: str | None = None
    last_sale_ts_ns: int | None = None
    mark: str


def parse_symbols(given: Sequence[str]) -> list[str]:
    """The tickers given, duplicates removed, in order; 422 naming a bad one."""
    symbols: list[str] = []
    for part in given:
        symbol = part.strip()
        if not SYMBOL_RE.match(symbol):
            raise invalid(
                "symbols",
                f"bad symbol {symbol!r}: expected upper-case tickers like AAPL or BRK.B",
                "query",
            )
        if symbol not in symbols:
            symbols.append(symbol)
    if len(symbols) > MAX_SYMBOLS:
        raise invalid("symbols", f"at most {MAX_SYMBOLS} symbols per request", "query")
    return symbols


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn the core's errors into problems naming the query fields or symbols at fault."""
    try:
        yield
    except UnknownSymbolError as exc:
        raise HTTPProblem(
            404,
            f"no price history for {', '.join(exc.symbols)}",
            errors=[
                FieldError(field="symbols", message=f"unknown symbol {s}", location="query")
                for s in exc.symbols
            ],
        ) from exc
    except InvalidRangeError as exc:
        raise invalid(exc.field or "start", str(exc), "query") from exc
    except MissingPricesError as exc:
        raise HTTPProblem(
            404,
            f"{exc}; pass missing=drop or missing=ffill to compute returns across the gaps",
            errors=[
                FieldError(
                    field="symbols",
                    message=f"{symbol} has no close on "
                    + ", ".join(d.isoformat() for d in dates[:20])
                    + (f" (+{len(dates) - 20} more)" if len(dates) > 20 else ""),
                    location="query",
                )
                for symbol, dates in exc.missing.items()
            ],
        ) from exc
    except InsufficientHistoryError as exc:
        raise HTTPProblem(404, str(exc)) from exc


def _decimal(raw: int) -> str:
    return str(Fixed.from_raw(raw))


def symbol_view(info: SymbolInfo) -> SymbolView:
    """API view of a symbol."""
    return SymbolView(
        symbol=info.symbol,
        sector=info.sector,
        first_date=info.first_date,
        last_date=info.last_date,
        closes=info.closes,
        source=info.source,
    )


def latest_view(close: LatestClose) -> LatestView:
    """API view of a latest close."""
    prev = close.previous_raw
    return LatestView(
        symbol=close.symbol,
        date=close.trade_date,
        close=_decimal(close.close_raw),
        previous_close=_decimal(prev) if prev is not None else None,
        change=_decimal(close.close_raw - prev) if prev is not None else None,
        last_sale=_decimal(close.last_sale_raw) if close.last_sale_raw is not None else None,
        last_sale_ts_ns=close.last_sale_ts,
        mark=_decimal(close.mark_raw),
    )


class SymbolsResource:
    """``/symbols``: every symbol with stored history."""

    def __init__(self, service: MarketDataService) -> None:
        self._service = service

    @endpoint(roles=READERS, response=list[SymbolView], tags=["prices"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Symbols with their stored date span, number of closes, sector and source."""
        resp.media = [symbol_view(s) for s in await self._service.symbols()]


class PricesResource:
    """``/prices``: daily closes of several symbols over a date range."""

    def __init__(self, service: MarketDataService) -> None:
        self._service = service

    @endpoint(roles=READERS, query=RangeQuery, response=PricesView, tags=["prices"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Closes per symbol (trading days with a stored close only; gaps named, not filled).

        404 names unknown symbols; 422 names a bad date, a bad symbol or ``start`` after
        ``end``. A range without closes answers 200 with empty series and ``count`` 0.
        """
        query = read_query(req, RangeQuery)
        symbols = parse_symbols(query.symbols)
        with domain_errors():
            start, end, series = await self._service.prices(symbols, query.start, query.end)
        calendar = sorted({d for s in series for d in s.dates})
        views = []
        for s in series:
            have = set(s.dates)
            views.append(
                PriceSeriesView(
                    symbol=s.symbol,
                    dates=list(s.dates),
                    closes=[_decimal(c) for c in s.closes_raw],
                    missing_dates=[d for d in calendar if d not in have],
                )
            )
        resp.media = PricesView(
            start=start,
            end=end,
            count=sum(len(s.dates) for s in series),
            missing_days=PRICES_POLICY,
            series=views,
        )


class LatestPricesResource:
    """``/prices/latest``: the latest stored close per symbol."""

    def __init__(self, service: MarketDataService) -> None:
        self._service = service

    @endpoint(roles=READERS, query=LatestQuery, response=list[LatestView], tags=["prices"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Latest close, the close before it, the change, the last sale and the mark; 404 names
        unknown symbols."""
        query = read_query(req, LatestQuery)
        symbols = parse_symbols(query.symbols) if query.symbols is not None else None
        with domain_errors():
            latest = await self._service.latest(symbols)
        resp.media = [latest_view(c) for c in latest]


class ReturnsResource:
    """``/returns``: simple or log returns between stored closes, aligned across symbols."""

    def __init__(self, service: MarketDataService) -> None:
        self._service = service

    @endpoint(roles=READERS, query=ReturnsQuery, response=ReturnsView, tags=["returns"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Returns (floats) of each symbol between consecutive calendar days in the range.

        404 names unknown symbols, symbols with missing closes (``missing=raise``) or a range
        with fewer than two closes; 422 names a bad date, symbol, kind or policy.
        """
        query = read_query(req, ReturnsQuery)
        symbols = parse_symbols(query.symbols)
        kind, missing = ReturnKind(query.kind), MissingPolicy(query.missing)
        with domain_errors():
            start, end, table = await self._service.returns(
                symbols, query.start, query.end, kind, missing
            )
        resp.media = ReturnsView(
            kind=kind.value,
            missing=missing.value,
            start=start,
            end=end,
            base_date=table.dates[0],
            dates=list(table.dates[1:]),
            observations=len(table.dates) - 1,
            missing_days=RETURNS_POLICY[missing],
            series=[
                ReturnSeriesView(symbol=s, values=table.values[:, j].tolist())
                for j, s in enumerate(table.symbols)
            ],
        )


def _ns(moment: dt.datetime | None) -> int | None:
    if moment is None:
        return None
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000


class BarsResource:
    """``/bars``: intraday OHLCV bars built from ``trades.executed``."""

    def __init__(self, service: MarketDataService) -> None:
        self._service = service

    @endpoint(roles=READERS, query=BarsQuery, response=list[BarView], tags=["bars"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Bars of one symbol, oldest first; a symbol without trades has no bars (empty list)."""
        query = read_query(req, BarsQuery)
        with domain_errors():
            bars = await self._service.bars(
                query.symbol, _ns(query.start), _ns(query.end), query.limit
            )
        seconds = self._service.options.bar_seconds
        resp.media = [
            BarView(
                start=EPOCH + dt.timedelta(microseconds=b.start_ns // 1_000),
                start_ns=b.start_ns,
                seconds=seconds,
                open=_decimal(b.open_raw),
                high=_decimal(b.high_raw),
                low=_decimal(b.low_raw),
                close=_decimal(b.close_raw),
                volume=_decimal(b.volume_raw),
                trades=b.trades,
            )
            for b in bars
        ]


def routes(service: MarketDataService) -> list[tuple[str, object]]:
    """The market-data service's routes."""
    return [
        ("/symbols", SymbolsResource(service)),
        ("/prices", PricesResource(service)),
        ("/prices/latest", LatestPricesResource(service)),
        ("/returns", ReturnsResource(service)),
        ("/bars", BarsResource(service)),
    ]
