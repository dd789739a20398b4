"""The quote feed on the real broker: L1 and depth per venue, keyed by symbol, never crossed."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nexus.bus import ConsumerRunner, KafkaBus
from nexus.events import QUOTE_CODEC, TOPIC_QUOTES, QuoteDepth, QuoteL1
from nexus.web import running_server
from services.marketdata.main import build
from services.marketdata.service import LIVE_VENUES, MarketDataOptions
from tests.integration.platform.conftest import SettingsFactory
from tests.support.runner import run_until

pytestmark = pytest.mark.integration


async def test_published_quotes_decode_per_venue_and_are_never_crossed(
    service_settings: SettingsFactory, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    settings = await service_settings("marketdata")
    token = unique_name("").upper()
    symbols = [f"Q{token}A", f"Q{token}B"]
    options = MarketDataOptions(seed_symbols=0, quote_symbols=2, quote_interval_s=0.5, bars=False)
    app, _, service = build(settings, options)
    csv = tmp_path / "mids.csv"
    csv.write_text(f"date,{symbols[0]},{symbols[1]}\n2024-01-02,100.00,25.50\n")
    async with running_server(app):
        await service.import_csv(csv)
        async with asyncio.timeout(30):
            while service.quotes_published < 200:
                await asyncio.sleep(0.1)

    seen: list[tuple[bytes | None, Any]] = []

    async def handle(batch: list[Any]) -> None:
        seen.extend((d.message.key, d.event) for d in batch if d.event.symbol in symbols)

    await run_until(
        ConsumerRunner(
            KafkaBus(settings.kafka_bootstrap or ""),
            unique_name("q"),
            handle,
            topics=[TOPIC_QUOTES],
        ),
        lambda: len(seen) >= 200,
    )
    venues: dict[str, set[str]] = defaultdict(set)
    kinds: set[type] = set()
    for key, quote in seen:
        assert isinstance(quote, QuoteL1 | QuoteDepth)
        assert key == quote.symbol.encode()
        assert QUOTE_CODEC.decode(QUOTE_CODEC.encode(quote)) == quote
        kinds.add(type(quote))
        venues[quote.symbol].add(quote.venue)
        if isinstance(quote, QuoteL1):
            assert 0 < quote.bid_price < quote.ask_price
            assert quote.bid_size > 0 and quote.ask_size > 0
        else:
            assert quote.bids[0].price < quote.asks[0].price
    assert kinds == {QuoteL1, QuoteDepth}
    assert set(venues) == set(symbols)
    assert all(len(v) >= 3 for v in venues.values()), venues
    assert len({q.event_id for _, q in seen}) == len(seen)
    # Mids start at the stored closes and random-walk by ticks: still near them.
    l1 = [q for _, q in seen if isinstance(q, QuoteL1) and q.symbol == symbols[0]]
    assert all(90 * 10**9 < q.bid_price < 110 * 10**9 for q in l1)
    assert {v.venue for v in LIVE_VENUES} >= venues[symbols[0]]


async def test_nbbo_over_venues_is_never_crossed_within_a_window() -> None:
    from services.marketdata.service import MarketDataService

    service = MarketDataService(store=None, publisher=None, options=MarketDataOptions())  # type: ignore[arg-type]
    quotes = service.quote_window([("AAA", 50 * 10**9)], 1_700_000_000 * 10**9, 0)
    best: dict[str, tuple[int, int]] = {}
    for q in quotes:
        if isinstance(q, QuoteL1):
            best[q.venue] = (q.bid_price, q.ask_price)
            assert max(b for b, _ in best.values()) < min(a for _, a in best.values())
    assert all(q.event_id.endswith("@1700000000000000000") for q in quotes)
