"""``python -m nexus.sim --bootstrap``: the simulated stream lands on the real broker, every
event once, on its topic, keyed by its symbol."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from nexus.bus import KafkaBus
from nexus.events import ANY_CODEC, TOPIC_ORDERS, TOPIC_TRADES, Trade
from nexus.sim import SimConfig, simulate
from nexus.sim.__main__ import main

pytestmark = pytest.mark.integration


async def test_the_cli_publishes_the_stream_it_simulates(
    kafka_bootstrap: str, tmp_path: Path, unique_name: Callable[[str], str]
) -> None:
    prefix = unique_name("cli")[-11:]
    config = tmp_path / "sim.json"
    config.write_text(json.dumps({"id_prefix": prefix}))
    args = ["--config", str(config), "--seed", "4", "--symbols", "2", "--users", "30"]
    args += ["--seconds", "2", "--bootstrap", kafka_bootstrap, "--labels", str(tmp_path / "l")]
    assert await asyncio.to_thread(main, args) == 0
    expected = simulate(SimConfig(seed=4, symbols=2, users=30, seconds=2, id_prefix=prefix))
    want = expected.stats().events

    consumer = KafkaBus(kafka_bootstrap).consumer(
        unique_name("cli-check-"), topics=[TOPIC_ORDERS, TOPIC_TRADES]
    )
    await consumer.start()
    mine: dict[str, tuple[str, bytes | None, object]] = {}
    try:
        async with asyncio.timeout(60):
            while len(mine) < want:
                for m in await consumer.poll(5_000, 1.0):
                    event = ANY_CODEC.decode(m.value)
                    order_id = getattr(event, "order_id", None) or event.buy_order_id
                    if order_id.startswith(prefix):  # this run's orders (the topics are shared)
                        mine[f"{m.topic}:{event.event_id}"] = (m.topic, m.key, event)
    finally:
        await consumer.close()
    assert len(mine) == want
    for topic, key, event in mine.values():
        assert topic == (TOPIC_TRADES if isinstance(event, Trade) else TOPIC_ORDERS)
        assert key == event.symbol.encode()  # type: ignore[attr-defined]
    assert (tmp_path / "l").exists()
