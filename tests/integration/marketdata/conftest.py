"""Fixtures for the market-data service on the real stack (PostgreSQL, broker)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest

from nexus.runtime import ServiceRuntime
from nexus.web import running_server
from services.marketdata.main import build
from services.marketdata.service import MarketDataOptions, MarketDataService
from tests.integration.platform.conftest import SettingsFactory, service_settings, tokens

__all__ = ["Running", "service_settings", "tokens"]

#: A small seeded history: 5 symbols x 30 weekdays ending on a Thursday.
SEEDED = MarketDataOptions(
    seed_symbols=5,
    seed_days=30,
    seed=11,
    seed_end=dt.date(2024, 3, 28),
    quote_symbols=0,
    bars=False,
)


@dataclass
class Running:
    """A started service: its HTTP client, runtime and service object."""

    http: httpx.AsyncClient
    runtime: ServiceRuntime
    service: MarketDataService


@pytest.fixture
async def marketdata(
    service_settings: SettingsFactory, tokens: Callable[[str, str], dict[str, str]]
) -> AsyncIterator[Running]:
    """The service on a fresh database seeded with :data:`SEEDED`; the client is a trader."""
    settings = await service_settings("marketdata")
    app, runtime, service = build(settings, SEEDED)
    headers = tokens("alice", "trader")
    async with (
        running_server(app) as url,
        httpx.AsyncClient(base_url=url, headers=headers) as http,
    ):
        yield Running(http, runtime, service)
