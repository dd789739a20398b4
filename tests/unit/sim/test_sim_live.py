"""Continuous mode: windows follow each other, ids never repeat, pacing uses simulated time."""

from __future__ import annotations

import msgspec

from nexus.events import ANY_CODEC, TOPIC_ORDERS, TOPIC_TRADES
from nexus.sim import LabelFile, SimConfig
from nexus.sim.config import EpisodeConfig
from nexus.sim.live import run_continuous, window_config

CFG = SimConfig(
    seed=5,
    symbols=2,
    users=30,
    seconds=2.0,
    orders_per_second=100.0,
    spoofing=EpisodeConfig(count=1),
    layering=EpisodeConfig(count=0),
    wash_trading=EpisodeConfig(count=0),
    momentum_ignition=EpisodeConfig(count=0),
)


def test_run_continuous_publishes_windows_with_unique_ids_and_keys() -> None:
    sent: list[tuple[str, bytes, bytes]] = []
    labels: list[LabelFile] = []
    n = run_continuous(
        CFG, lambda t, k, v: sent.append((t, k, v)), windows=2, speed=None, on_labels=labels.append
    )
    assert n == len(sent) > 0 and len(labels) == 2
    events = [ANY_CODEC.decode(v) for _, _, v in sent]
    assert len({e.event_id for e in events}) == len(events)
    assert (
        len(
            {
                e.order_id
                for e in events
                if hasattr(e, "order_id") and type(e).__name__ == "OrderNew"
            }
        )
        > 0
    )
    for (topic, key, _), event in zip(sent, events, strict=True):
        assert key == event.symbol.encode()
        assert topic == (TOPIC_TRADES if type(event).__name__ == "Trade" else TOPIC_ORDERS)
    second = window_config(CFG, 1)
    assert any(e.ts_event >= second.start_ns for e in events)
    assert second.id_prefix == "W1-"


def test_run_continuous_paces_with_injected_clock_not_event_times() -> None:
    clock = [0.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        clock[0] += s

    from nexus.sim import simulate
    from nexus.sim.live import publish_paced

    result = simulate(CFG)
    n = publish_paced(result, lambda *_: None, speed=10.0, sleep=sleep, monotonic=lambda: clock[0])
    assert n == len(result.events)
    # episodes may end up to ~1 s after the flow window
    assert sleeps and sum(sleeps) <= (CFG.seconds + 1.0) / 10.0
    assert msgspec.json.encode(result.stats())
