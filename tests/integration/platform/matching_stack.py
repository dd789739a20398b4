"""Start the matching service the way it runs: beside a risk service it loads its halts from."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

from nexus.config import Settings
from nexus.instruments import InstrumentTable, listing, simulated_instruments
from nexus.web import running_server
from services.matching.main import build as build_matching
from services.matching.service import MatchingService
from services.risk.main import build as build_risk

#: What these tests trade: the simulated universe plus the tickers the platform tests use.
TEST_INSTRUMENTS = simulated_instruments().extended(listing(["AAPL", "MSFT"]))


def beside_risk(settings: Settings, risk_url: str) -> Settings:
    """``settings`` with the risk service at ``risk_url``."""
    return replace(settings, service_urls={**settings.service_urls, "risk": risk_url})


async def accepting(service: MatchingService, timeout_s: float = 30.0) -> None:
    """Until the service takes orders (halts consumer caught up, risk's halts loaded)."""
    async with asyncio.timeout(timeout_s):
        while service.halts_unavailable() is not None:
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running_risk(settings: Settings) -> AsyncIterator[str]:
    """A risk service on a free port; yields its URL."""
    app, _, _ = build_risk(settings)
    async with running_server(app) as url:
        yield url


@contextlib.asynccontextmanager
async def running_matching(
    settings: Settings, risk_url: str, instruments: InstrumentTable = TEST_INSTRUMENTS
) -> AsyncIterator[tuple[str, MatchingService]]:
    """A matching service that loads its halts from ``risk_url``, once it takes orders."""
    app, _, service = build_matching(beside_risk(settings, risk_url), instruments=instruments)
    async with running_server(app) as url:
        await accepting(service)
        yield url, service


@contextlib.asynccontextmanager
async def matching_and_risk(
    settings: Settings, instruments: InstrumentTable = TEST_INSTRUMENTS
) -> AsyncIterator[tuple[str, MatchingService, str]]:
    """Risk, then matching beside it; yields (matching URL, matching service, risk URL)."""
    async with (
        running_risk(settings) as risk_url,
        running_matching(settings, risk_url, instruments) as (url, service),
    ):
        yield url, service, risk_url
