"""The continuous order-flow feed: simulator windows published on the real broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nexus.bus import ConsumerRunner, KafkaBus
from nexus.events import TOPIC_ORDERS, TOPIC_TRADES, Trade
from nexus.infra import Stack
from nexus.sim import SimConfig, read_labels, simulate
from nexus.sim.live import window_config
from services.marketdata.feed import config_of, parse_args, run_feed
from tests.support.runner import run_until

pytestmark = pytest.mark.integration


def label_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("labels-W*.json"))


async def test_feed_publishes_every_window_event_and_writes_its_labels(
    stack: Stack, unique_name: Callable[[str], str], tmp_path: Path
) -> None:
    prefix = unique_name("F")
    config = SimConfig(
        seed=3, symbols=2, users=40, seconds=2.0, orders_per_second=60.0, id_prefix=prefix
    )
    published = await run_feed(
        stack.kafka_bootstrap,
        config,
        speed=None,
        windows=2,
        labels_dir=tmp_path,
        stop=asyncio.Event(),
    )
    expected = sum(simulate(window_config(config, w)).stats().events for w in range(2))
    assert published == expected > 0

    seen: list[Any] = []

    def ours(event: Any) -> bool:
        order_id = event.buy_order_id if isinstance(event, Trade) else event.order_id
        return bool(order_id.startswith(prefix))

    async def handle(batch: list[Any]) -> None:
        seen.extend(d.event for d in batch if ours(d.event))

    await run_until(
        ConsumerRunner(
            KafkaBus(stack.kafka_bootstrap),
            unique_name("feed"),
            handle,
            topics=[TOPIC_ORDERS, TOPIC_TRADES],
        ),
        lambda: len(seen) >= expected,
        timeout_s=60,
    )
    assert len(seen) == expected
    assert any(isinstance(e, Trade) for e in seen)
    assert len({e.event_id for e in seen}) == expected
    windows = label_files(tmp_path)
    assert [p.name for p in windows] == ["labels-W00000.json", "labels-W00001.json"]
    assert read_labels(windows[1]).config.id_prefix == f"{prefix}W1-"


def test_feed_options_make_a_validated_config() -> None:
    config = config_of(parse_args(["--symbols", "3", "--rate", "10", "--start-ns", "5"]))
    assert (config.symbols, config.orders_per_second, config.start_ns) == (3, 10.0, 5)
    with pytest.raises(Exception, match="symbols"):
        config_of(parse_args(["--symbols", "0"]))


async def test_feed_stops_within_a_batch_when_asked(
    stack: Stack, unique_name: Callable[[str], str]
) -> None:
    config = SimConfig(seed=4, symbols=2, users=40, seconds=30.0, id_prefix=unique_name("S"))
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(1.0, stop.set)
    t0 = time.monotonic()
    published = await run_feed(
        stack.kafka_bootstrap, config, speed=1.0, windows=None, labels_dir=None, stop=stop
    )
    assert 0 < published < simulate(window_config(config, 0)).stats().events
    assert time.monotonic() - t0 < 10
    assert (
        await run_feed(
            stack.kafka_bootstrap, config, speed=None, windows=None, labels_dir=None, stop=stop
        )
        == 0
    )
