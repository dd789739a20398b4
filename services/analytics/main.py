"""Run the portfolio analytics service: ``python -m services.analytics.main``."""

from __future__ import annotations

import argparse
import gc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import falcon
import falcon.asgi

from nexus.cache import Cache
from nexus.clients import CircuitBreaker, RetryPolicy, ServiceCallError, ServiceClient
from nexus.config import Settings
from nexus.events import TOPIC_QUOTES, TOPIC_TRADES, dlq_topic
from nexus.runtime import ServiceRuntime, run_service
from nexus.web import Authenticator, ServiceApp
from nexus.web.problems import HTTPProblem, problem_of, write_problem
from services.analytics.api import routes
from services.analytics.consumer import (
    QUOTES_GROUP,
    TRADES_GROUP,
    quotes_consumer,
    trades_consumer,
)
from services.analytics.core import AnalyticsConfig, PortfolioAnalyticsService, PriceSource, warm_up
from services.analytics.prices import HttpPriceSource, QuotedPrices
from services.analytics.results_cache import RedisResultCache
from services.analytics.service import AnalyticsService
from services.analytics.store import PositionStore, PriceStore
from services.analytics.websocket import SummaryHub, SummaryStreamResource

NAME = "analytics"
MIGRATIONS = Path(__file__).parent / "migrations"
TOPICS = [TOPIC_TRADES, dlq_topic(TOPIC_TRADES), TOPIC_QUOTES, dlq_topic(TOPIC_QUOTES)]


@dataclass(frozen=True, slots=True)
class AnalyticsOptions:
    """How the service is composed.

    ``prices``: ``"store"`` reads closes and latest mids from the service's own database
    (seeded by ``POST /prices`` and ``marketdata.quotes``); ``"http"`` asks the market data
    service for closes through the chassis client, latest prices being the consumed quote
    mids where there are some and the market data service's latest closes otherwise. ``cache``: Redis result cache on/off (needs
    ``settings.redis_url``). ``consume_quotes``: latest prices follow quote mids.
    """

    prices: Literal["store", "http"] = "store"
    cache: bool = True
    consume_quotes: bool = True
    throttle_seconds: float = 0.25
    trades_group: str = TRADES_GROUP
    quotes_group: str = QUOTES_GROUP
    marketdata_timeout_seconds: float = 2.0
    config: AnalyticsConfig | None = None


async def _service_unavailable(
    req: falcon.asgi.Request,
    resp: falcon.asgi.Response,
    ex: ServiceCallError,
    params: Any,
) -> None:
    write_problem(resp, problem_of(req, HTTPProblem(503, str(ex))))


def build(
    settings: Settings, options: AnalyticsOptions | None = None
) -> tuple[ServiceApp, ServiceRuntime, AnalyticsService]:
    """The analytics app, its runtime and its service (started with the app's lifespan)."""
    opts = options or AnalyticsOptions()
    runtime = ServiceRuntime(NAME, settings, migrations=MIGRATIONS, topics=TOPICS)
    positions = PositionStore(runtime)
    price_store = PriceStore(runtime)
    redis_cache = Cache.from_url(settings.redis_url) if settings.redis_url else None
    results = RedisResultCache(redis_cache) if redis_cache is not None and opts.cache else None
    authenticator = Authenticator(settings)
    source: PriceSource = price_store
    http_source: HttpPriceSource | None = None
    if opts.prices == "http":
        client = ServiceClient(
            "marketdata",
            settings.service_url("marketdata"),
            timeout_seconds=opts.marketdata_timeout_seconds,
            retry=RetryPolicy(max_attempts=3),
            breaker=CircuitBreaker("marketdata"),
            token=lambda: authenticator.issue_token(NAME, ["service"], ttl_seconds=300),
        )
        http_source = HttpPriceSource(client, redis_cache)
        source = QuotedPrices(http_source, price_store)
    core = PortfolioAnalyticsService(positions, source, results, config=opts.config)
    service = AnalyticsService(core, positions, price_store, source, results)
    hub = SummaryHub(core.get_portfolio_summary, throttle_seconds=opts.throttle_seconds)
    service.add_listener(hub.notify)

    async def warm() -> None:
        warm_up()

    runtime.add_startup(warm)
    runtime.add_consumer(lambda bus: trades_consumer(bus, service, opts.trades_group))
    if opts.consume_quotes:
        runtime.add_consumer(lambda bus: quotes_consumer(bus, service, opts.quotes_group))

    async def close_clients() -> None:
        if http_source is not None:
            await http_source.aclose()
        if redis_cache is not None:
            await redis_cache.aclose()

    app = runtime.create_app(
        [*routes(service), ("/ws/summary", SummaryStreamResource(hub, authenticator))],
        authenticator=authenticator,
        on_shutdown=[close_clients],
    )
    app.add_error_handler(ServiceCallError, _service_unavailable)
    return app, runtime, service


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: serve on ``settings.port("analytics")`` (kernels warmed at start).

    Run as a service, prices come from the market data service (``--prices http``, the
    default here), so ``make run`` values the simulated portfolios on market data's history;
    ``--prices store`` uses the service's own ``prices`` table (``POST /prices``).
    """
    parser = argparse.ArgumentParser(prog="python -m services.analytics.main")
    parser.add_argument("--prices", choices=["http", "store"], default="http")
    args = parser.parse_args(argv)

    async def freeze() -> None:
        # start-up objects (kernels, decoders, pools) never die: keep them out of GC passes
        gc.collect()
        gc.freeze()

    def build_frozen(settings: Settings) -> tuple[ServiceApp, ServiceRuntime, AnalyticsService]:
        built = build(settings, AnalyticsOptions(prices=args.prices))
        built[1].add_startup(freeze)
        return built

    run_service(NAME, build_frozen)


if __name__ == "__main__":
    main()
