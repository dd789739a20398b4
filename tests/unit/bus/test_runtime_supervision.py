"""ServiceRuntime supervises its consumers: a crash is restarted, counted in /metrics, and the
service is not ready while a consumer is down."""

from __future__ import annotations

import asyncio

import pytest

import nexus.bus.runner as runner_module
from nexus.bus import ConsumerRunner, Delivery, MemoryBus
from nexus.config import load_settings
from nexus.runtime import ServiceNotReady, ServiceRuntime
from nexus.web import ServiceMetrics


async def test_crashed_consumer_is_restarted_counted_and_unready_while_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner_module, "RESTART_BASE_S", 0.001)
    bus = MemoryBus(default_partitions=1)
    crashes = 2
    gate = asyncio.Event()

    async def handle(batch: list[Delivery[bytes]]) -> None:
        return None

    class Crashing(ConsumerRunner):
        async def run(self) -> None:
            nonlocal crashes
            if crashes:
                crashes -= 1
                await gate.wait()
                raise RuntimeError("poll failed")
            await super().run()

    runtime = ServiceRuntime("svc", load_settings({}), bus=bus)
    runtime.add_consumer(
        lambda b: Crashing(
            b, "g", handle, topics=["t"], decoder=lambda t, v: v, poll_timeout_s=0.01
        )
    )
    await runtime.start()
    try:
        with pytest.raises(ServiceNotReady, match="consumer g is not running"):
            await runtime.ready()
        gate.set()
        async with asyncio.timeout(10):
            while not runtime.runners[0].running:
                await asyncio.sleep(0.005)
        assert await runtime.ready()
        metrics = ServiceMetrics("svc")
        gauges = {
            name: metrics.gauge(f"x_{name}", name, ["group"])
            for name in ("running", "restarts", "dead_lettered", "poisoned")
        }
        runtime.export_once(metrics, gauges)
        assert gauges["restarts"].labels(group="g")._value.get() == 2
        assert gauges["running"].labels(group="g")._value.get() == 1
        assert runtime.runners[0].stats.last_error == "RuntimeError: poll failed"
    finally:
        await runtime.stop()
