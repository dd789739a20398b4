"""Run the market-data service: ``python -m services.marketdata.main [options]``.

``--import-csv FILE`` loads a price CSV into the service's database and exits instead of
serving. The seeding and quoting options are flags (the environment is read by
:mod:`nexus.config` only).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from nexus.config import Settings, load_settings
from nexus.events import TOPIC_QUOTES, TOPIC_TRADES, dlq_topic
from nexus.runtime import ServiceRuntime, run_service
from nexus.web import ServiceApp, configure_logging
from services.marketdata.api import routes
from services.marketdata.consumer import trades_consumer
from services.marketdata.core.kernels import warm_up
from services.marketdata.service import MarketDataOptions, MarketDataService
from services.marketdata.store import BarStore, PriceStore

NAME = "marketdata"
MIGRATIONS = Path(__file__).parent / "migrations"
TOPICS = [TOPIC_QUOTES, TOPIC_TRADES, dlq_topic(TOPIC_TRADES)]


def build(
    settings: Settings, options: MarketDataOptions | None = None
) -> tuple[ServiceApp, ServiceRuntime, MarketDataService]:
    """The market-data app, its runtime and its service object (started with the app)."""
    runtime = ServiceRuntime(NAME, settings, migrations=MIGRATIONS, topics=TOPICS)
    service = MarketDataService(PriceStore(runtime), runtime, options, bars=BarStore(runtime))

    async def warm() -> None:
        await asyncio.to_thread(warm_up)  # compile or load the Numba kernels before serving

    async def seed() -> None:
        await service.seed_if_empty()

    runtime.add_startup(warm)
    runtime.add_startup(seed)
    if service.options.bars:
        runtime.add_consumer(lambda bus: trades_consumer(bus, service))
    if service.options.quote_symbols > 0:
        runtime.add_background(lambda _rt: service.quote_forever())
    app = runtime.create_app(routes(service))
    return app, runtime, service


def parse_options(argv: Sequence[str] | None = None) -> tuple[MarketDataOptions, Path | None]:
    """Options from the command line (defaults: :class:`MarketDataOptions`)."""
    d = MarketDataOptions()
    p = argparse.ArgumentParser(prog="python -m services.marketdata.main", description=__doc__)
    p.add_argument("--seed-symbols", type=int, default=d.seed_symbols, help="0: never seed")
    p.add_argument(
        "--symbol-prefix",
        default="SIM",
        help="seeded tickers are PREFIX0000, PREFIX0001, ... (default: the simulator's names, "
        "so `make run` prices and quotes the symbols the simulated flow trades)",
    )
    p.add_argument("--seed-days", type=int, default=d.seed_days, help="trading days to seed")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed of history and quotes")
    p.add_argument("--quote-symbols", type=int, default=d.quote_symbols, help="0: no quotes")
    p.add_argument(
        "--quote-interval", type=float, default=d.quote_interval_s, help="seconds per window"
    )
    p.add_argument("--no-bars", action="store_true", help="do not build bars from trades")
    p.add_argument("--import-csv", type=Path, default=None, help="load a price CSV and exit")
    args = p.parse_args(argv)
    options = replace(
        d,
        seed_symbols=args.seed_symbols,
        symbol_prefix=args.symbol_prefix,
        seed_days=args.seed_days,
        seed=args.seed,
        quote_symbols=args.quote_symbols,
        quote_interval_s=args.quote_interval,
        bars=not args.no_bars,
    )
    return options, args.import_csv


async def import_csv(settings: Settings, path: Path) -> int:
    """Migrate the service's database and load ``path`` into it; prints what was stored."""
    runtime = ServiceRuntime(NAME, settings, migrations=MIGRATIONS)
    await runtime.start()
    try:
        result = await MarketDataService(PriceStore(runtime), runtime).import_csv(path)
    finally:
        await runtime.stop()
    print(
        f"stored {result.rows} closes of {len(result.symbols)} symbols "
        f"({result.first_date} .. {result.last_date}) from {result.source}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    options, csv_path = parse_options(argv)
    if csv_path is not None:
        settings = load_settings()
        configure_logging(settings.log_level)
        return asyncio.run(import_csv(settings, csv_path))
    run_service(NAME, lambda settings: build(settings, options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
