"""The simulator's order flow fed into the real matching service makes a live market."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nexus.sim.config import SimConfig
from nexus.sim.feed import feed
from tests.integration.platform.conftest import SettingsFactory
from tests.integration.platform.matching_stack import matching_and_risk

pytestmark = pytest.mark.integration


async def test_one_simulated_window_is_matched_by_the_service_into_trades(
    service_settings: SettingsFactory, unique_name: Callable[[str], str]
) -> None:
    settings = await service_settings("matching", "risk")
    config = SimConfig(seed=3, symbols=2, users=20, seconds=1.0, id_prefix=unique_name("F"))
    async with matching_and_risk(settings) as (url, service, _):
        outcome = await feed(url, config, rate=10_000, windows=1)
    # Every submit, amend and cancel reached the service; refusals are only of orders that had
    # already traded away (404/409 on a late cancel), never malformed requests (400/422/5xx).
    assert outcome["2xx"] > 100
    assert outcome["5xx"] == 0
    assert outcome["unreachable"] == 0
    assert outcome["4xx"] < outcome["2xx"] // 10
    books = [service.engine.snapshot(symbol) for symbol in service.engine.symbols]
    assert books and any(b.bids or b.asks for b in books)
