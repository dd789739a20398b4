"""Publishing on the event bus: every event once, keyed by symbol, on its topic, paced."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from nexus.bus import MemoryBus, OutgoingMessage
from nexus.events import ANY_CODEC, TOPIC_ORDERS, TOPIC_TRADES, Trade
from nexus.sim import SimConfig, simulate
from nexus.sim.bus import publish_to_bus, run_on_bus
from nexus.sim.config import EpisodeConfig

CFG = SimConfig(
    seed=6,
    symbols=2,
    users=30,
    seconds=2.0,
    orders_per_second=120.0,
    spoofing=EpisodeConfig(count=1),
    layering=EpisodeConfig(count=0),
    wash_trading=EpisodeConfig(count=0),
    momentum_ignition=EpisodeConfig(count=1),
)


class Recorder:
    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    async def publish(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        self.messages.append(OutgoingMessage(topic=topic, value=value, key=key))

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        self.messages.extend(messages)

    async def close(self) -> None:
        return None


async def test_publish_to_bus_sends_every_event_keyed_by_symbol_on_its_topic() -> None:
    result = simulate(CFG)
    rec = Recorder()
    n = await publish_to_bus(result, rec, batch=100)
    assert n == len(rec.messages) == len(result.events)
    for msg in rec.messages:
        event = ANY_CODEC.decode(msg.value)
        assert msg.key == event.symbol.encode()
        assert msg.topic == (TOPIC_TRADES if isinstance(event, Trade) else TOPIC_ORDERS)


async def test_publish_to_bus_memory_bus_accepts_the_batches() -> None:
    bus = MemoryBus()
    await bus.create_topics([TOPIC_ORDERS, TOPIC_TRADES])
    producer = bus.producer()
    assert await publish_to_bus(simulate(CFG), producer) > 0
    await producer.close()


async def test_publish_to_bus_paces_by_simulated_time() -> None:
    clock = [0.0]
    waits: list[float] = []

    async def sleep(s: float) -> None:
        waits.append(s)
        clock[0] += s

    result = simulate(CFG)
    await publish_to_bus(
        result, Recorder(), batch=50, speed=4.0, sleep=sleep, monotonic=lambda: clock[0]
    )
    assert waits and sum(waits) <= (CFG.seconds + 1.0) / 4.0


async def test_run_on_bus_stops_when_asked_and_ids_stay_unique() -> None:
    rec = Recorder()
    stop = asyncio.Event()
    windows: list[int] = []

    def on_labels(_labels: object) -> None:
        windows.append(1)
        if len(windows) == 2:
            stop.set()

    n = await run_on_bus(CFG, rec, speed=None, on_labels=on_labels, stop=stop)
    assert len(windows) == 2 and n == len(rec.messages)
    ids = [ANY_CODEC.decode(m.value).event_id for m in rec.messages]
    assert len(set(ids)) == len(ids)
