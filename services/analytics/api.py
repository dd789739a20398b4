"""Falcon resources of the analytics service: the dashboard's REST API.

Every route is per user (``/users/{user_id}/...``): a trader sees only their own portfolio;
``risk``, ``compliance``, ``admin`` and ``service`` see all. Money travels as decimal strings;
every error is problem+json (a bad parameter is a 422 naming it, an unknown symbol a 404).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import falcon.asgi
import msgspec
from msgspec import Meta

from nexus.events import Identifier, Symbol
from nexus.money import Fixed
from nexus.web import (
    ADMIN,
    COMPLIANCE,
    RISK,
    SERVICE,
    TRADER,
    QueryParams,
    RequestBody,
    authorize_user,
    endpoint,
    invalid,
    read_query,
)
from services.analytics.core import (
    BacktestResult,
    CorrelationMatrix,
    PerformanceMetrics,
    PortfolioPosition,
    RiskDecomposition,
    VaRMethod,
    VaRResult,
)
from services.analytics.core.stress import HISTORICAL_SCENARIOS, StressScenario
from services.analytics.service import AnalyticsService
from services.analytics.store import Close, Instrument

READERS = {TRADER, RISK, COMPLIANCE, ADMIN, SERVICE}
LOADERS = {ADMIN, SERVICE}

Confidence = Annotated[float, Meta(gt=0.5, lt=1.0, description="Confidence level in (0.5, 1)")]
Horizon = Annotated[int, Meta(ge=1, le=250, description="Horizon in trading days, 1..250")]
LookbackDays = Annotated[int, Meta(ge=2, le=3660, description="Calendar days of history")]
Window = Annotated[int, Meta(ge=20, le=2520, description="Trading days per VaR forecast")]
MAX_SYMBOLS = 500
MAX_FACTORS = 20


class VaRQuery(QueryParams):
    """VaR parameters (query string of GET, or body of POST)."""

    confidence: Confidence = 0.99
    horizon: Horizon = 1
    method: VaRMethod = VaRMethod.HISTORICAL


class VaRBody(RequestBody):
    """VaR parameters as a JSON body."""

    confidence: Confidence = 0.99
    horizon: Horizon = 1
    method: VaRMethod = VaRMethod.HISTORICAL


class PerformanceQuery(QueryParams):
    """Date range of the performance metrics (ISO dates, ``end`` after ``start``)."""

    start: dt.date
    end: dt.date


class DecompositionQuery(QueryParams):
    """Factor series (symbols with price history) to regress the positions on."""

    factors: list[Symbol]


class CorrelationQuery(QueryParams):
    """Symbols (default: the user's holdings) and the look-back in calendar days."""

    symbols: list[Symbol] = msgspec.field(default_factory=list)
    lookback_days: LookbackDays = 365


class BacktestQuery(QueryParams):
    """Rolling 1-day historical VaR forecasts over the look-back, tested against P&L.

    ``series=true`` adds every tested day (date, P&L, VaR, exception) to the result.
    """

    confidence: Confidence = 0.99
    window: Window = 250
    lookback_days: LookbackDays = 730
    series: bool = False


class StressBody(RequestBody):
    """Named historical scenarios and/or custom ones (shocks as decimal return strings)."""

    scenarios: Annotated[list[str | StressScenario], Meta(min_length=1, max_length=50)]


class ScenarioView(msgspec.Struct, kw_only=True):
    """A named historical scenario."""

    name: str
    description: str
    default_shock: str
    asset_class_shocks: dict[str, str]
    sector_shocks: dict[str, str]


class CloseIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One daily close; ``close`` is an exact decimal string > 0."""

    symbol: Symbol
    date: dt.date
    close: Annotated[str, Meta(pattern=r"^[0-9]{1,9}(\.[0-9]{1,9})?$")]


class InstrumentIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Classification of a symbol for stress scenarios."""

    symbol: Symbol
    asset_class: Annotated[str, Meta(min_length=1, max_length=32)] = "equity"
    sector: Annotated[str, Meta(max_length=64)] = ""
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")] = "USD"


class LoadBody(RequestBody):
    """The loader: daily closes (inserted or corrected) and instrument classifications."""

    closes: Annotated[list[CloseIn], Meta(max_length=200_000)] = msgspec.field(default_factory=list)
    instruments: Annotated[list[InstrumentIn], Meta(max_length=10_000)] = msgspec.field(
        default_factory=list
    )


class LoadResult(msgspec.Struct, kw_only=True):
    """What the loader changed."""

    closes: int
    changed_symbols: list[str]


class SummaryResource:
    """``/users/{user_id}/summary``."""

    def __init__(self, service: AnalyticsService) -> None:
        self._service = service

    @endpoint(roles=READERS, response=dict[str, Any], tags=["portfolio"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: Identifier
    ) -> None:
        """Market values and the 1-day parametric VaR/ES at the summary confidence."""
        authorize_user(req, user_id)
        resp.media = await self._service.core.get_portfolio_summary(user_id)


class PositionsResource:
    """``/users/{user_id}/positions``."""

    def __init__(self, service: AnalyticsService) -> None:
        self._service = service

    @endpoint(roles=READERS, response=list[PortfolioPosition], tags=["portfolio"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: Identifier
    ) -> None:
        """Open positions valued at the latest prices (decimal strings)."""
        authorize_user(req, user_id)
        resp.media = await self._service.core.get_positions(user_id)


class VaRResource:
    """``/users/{user_id}/var``: GET with a query string or POST with a JSON body."""

    def __init__(self, service: AnalyticsService) -> None:
        self._service = service

    async def _answer(
        self, resp: falcon.asgi.Response, user_id: str, params: VaRQuery | VaRBody
    ) -> None:
        resp.media = await self._service.core.calculate_var(
            user_id, params.confidence, params.horizon, params.method
        )

    @endpoint(roles=READERS, query=VaRQuery, response=VaRResult, tags=["risk"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: Identifier
    ) -> None:
        """VaR and ES (positive losses in money) by method, confidence and horizon."""
        authorize_user(req, user_id)
        await self._answer(resp, user_id, read_query(req, VaRQuery))

    @endpoint(roles=READERS, body=VaRBody, response=VaRResult, tags=["risk"])
    async def on_post(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        user_id: Identifier,
        *,
        body: VaRBody,
    ) -> None:
        """VaR and ES with the parameters in a JSON body."""
        authorize_user(req, user_id)
        await self._answer(resp, user_id, body)


class PerformanceResource:
    """``/users/{user_id}/performance``."""

    def __init__(self, service: AnalyticsService) -> None:
        self._service = service

    @endpoint(roles=READERS, query=PerformanceQuery, response=PerformanceMetrics, tags=["risk"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: Identifier
    ) -> None:
        """Returns, volatility, Sharpe/Sortino/Calmar, drawdown, beta/alpha between dates."""
        authorize_user(req, user_id)
        query = read_query(req, PerformanceQuery)
        if query.end <= query.start:
            raise invalid("$.end", "end must be after start", "query")
        resp.media = await self._service.core.get_performance_metrics(
            user_id, query.start, query.end
        )


class DecompositionResource:
    """``/users/{user_id}/risk-decomposition``."""

    def __init__(self, service: AnalyticsService) -> None:
        self._service = service

    @endpoint(roles=READERS, query=DecompositionQuery, response=RiskDecomposition, tags=["risk"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: Identifier
    ) -> None:
        """Marginal, component (Euler) and incremental VaR; factor/specific split."""
        authorize_user(req, user_id)
        query = read_query(req, DecompositionQuery)
        if not 1 <= len(query.factors) <= MAX_FACTORS:
            raise invalid("$.factors", f"give 1..{MAX_FACTORS} factor symbols", "query")
        resp.media = await self._service.core.get_risk_decomposition(user_id, query.factors)


class CorrelationResource:
    """``/users/{user_id}/correlation``."""

    def __init__(self, service: AnalyticsService) -> None:
        self._service = service

    @endpoint(roles=READERS, query=CorrelationQuery, response=CorrelationMatrix, tags=["risk"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: Identifier
    ) -> None:
        """Correlation matrix (symmetric, unit diagonal, PSD) of the symbols or holdings."""
        authorize_user(req, user_id)
        query = read_query(req, CorrelationQuery)
        if len(query.symbols) > MAX_SYMBOLS:
            raise invalid("$.symbols", f"at most {MAX_SYMBOLS} symbols", "query")
        resp.media = await self._service.core.get_correlation_matrix(
            user_id, list(query.symbols) or None, query.lookback_days
        )


class StressResource:
    """``/users/{user_id}/stress``."""

    def __init__(self, service: AnalyticsService) -> None:
        self._service = service

    @endpoint(roles=READERS, body=StressBody, response=list[dict[str, Any]], tags=["risk"])
    async def on_post(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        user_id: Identifier,
        *,
        body: StressBody,
    ) -> None:
        """Exact P&L per position and in total under each scenario (gain positive)."""
        authorize_user(req, user_id)
        resp.media = await self._service.core.run_stress_test(user_id, list(body.scenarios))


class ScenariosResource:
    """``/stress/scenarios``: the named historical scenarios and their shock sizes."""

    @endpoint(roles=READERS, response=list[ScenarioView], tags=["risk"])
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Every named scenario a stress request may use."""
        resp.media = [
            ScenarioView(
                name=name,
                description=s.description,
                default_shock=s.default_shock,
                asset_class_shocks=s.asset_class_shocks,
                sector_shocks=s.sector_shocks,
            )
            for name, s in HISTORICAL_SCENARIOS.items()
        ]


class BacktestResource:
    """``/users/{user_id}/var/backtest``."""

    def __init__(self, service: AnalyticsService) -> None:
        self._service = service

    @endpoint(roles=READERS, query=BacktestQuery, response=BacktestResult, tags=["risk"])
    async def on_get(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, user_id: Identifier
    ) -> None:
        """Kupiec POF and Christoffersen tests of rolling historical VaR on the holdings,
        the Basel traffic light (99%, last 250 days) and, with ``series``, the daily series."""
        authorize_user(req, user_id)
        query = read_query(req, BacktestQuery)
        resp.media = await self._service.var_backtest(
            user_id, query.confidence, query.window, query.lookback_days, series=query.series
        )


class PricesLoadResource:
    """``/prices``: the loader of daily closes and classifications (admin, service)."""

    def __init__(self, service: AnalyticsService) -> None:
        self._service = service

    @endpoint(roles=LOADERS, body=LoadBody, response=LoadResult, tags=["prices"])
    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, *, body: LoadBody
    ) -> None:
        """Insert or correct closes; dependent cached results are dropped and pushed."""
        closes = [Close(c.symbol, c.date, Fixed.from_str(c.close)) for c in body.closes]
        for i, c in enumerate(closes):
            if c.close.raw <= 0:
                raise invalid(f"$.closes[{i}].close", "a close must be > 0")
        instruments = [
            Instrument(i.symbol, i.asset_class, i.sector, i.currency) for i in body.instruments
        ]
        changed = await self._service.load_closes(closes, instruments)
        resp.media = LoadResult(closes=len(closes), changed_symbols=sorted(changed))


def routes(service: AnalyticsService) -> list[tuple[str, object]]:
    """The analytics service's REST routes (the WebSocket route is added by ``main``)."""
    return [
        ("/users/{user_id}/summary", SummaryResource(service)),
        ("/users/{user_id}/positions", PositionsResource(service)),
        ("/users/{user_id}/var", VaRResource(service)),
        ("/users/{user_id}/var/backtest", BacktestResource(service)),
        ("/users/{user_id}/performance", PerformanceResource(service)),
        ("/users/{user_id}/risk-decomposition", DecompositionResource(service)),
        ("/users/{user_id}/correlation", CorrelationResource(service)),
        ("/users/{user_id}/stress", StressResource(service)),
        ("/stress/scenarios", ScenariosResource()),
        ("/prices", PricesLoadResource(service)),
    ]
