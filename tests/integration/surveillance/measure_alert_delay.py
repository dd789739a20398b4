"""Measure the alert delay the event-time watermark adds on a quiet stream.

``python -m tests.integration.surveillance.measure_alert_delay [--alerts 20]`` starts the
embedded stack (or uses ``NEXUS_*``), runs the production service with the scripted detector
on topics of its own, and publishes one self-trade at a time on the trades topic while the
orders topic stays silent. Each trade is held until the orders partition counts as idle (quiet
for ``idle_s`` and found drained by a lag measurement), so its alert comes later than the
batch that brought it; the figure printed is that extra delay (alert stored and heard minus
the trade handed to the service), and the publish-to-alert time beside it. Not a test: the
figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from dataclasses import replace
from typing import Any

from nexus.config import load_settings
from nexus.events import TRADE_CODEC
from nexus.infra import Stack, drop_database, ensure_database, start_stack
from services.surveillance.core import SurveillanceAlert
from services.surveillance.core.detectors.base import DETECTORS
from services.surveillance.main import build
from tests.integration.surveillance.conftest import NO_RISK_URL, Flow, eventually, options_for
from tests.support.surveillance import install_self_trade_detector, self_trade


def _summary(name: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    return (
        f"{name}: median {statistics.median(ms):.0f} ms, p90 {p90:.0f} ms, "
        f"min {ms[0]:.0f} ms, max {ms[-1]:.0f} ms"
    )


async def measure(stack: Stack, alerts: int, gap_s: float) -> None:
    token = f"d{uuid.uuid4().hex[:8]}"
    flow = Flow(token, stack.kafka_bootstrap)
    await flow.create()
    database = f"nexus_measure_{token}"
    dsn = await ensure_database(stack.pg_dsn, database)
    base = load_settings({}).with_infra(
        kafka_bootstrap=stack.kafka_bootstrap, pg_dsn=stack.pg_dsn, redis_url=stack.redis_url
    )
    settings = replace(
        base, service_pg_dsns={"surveillance": dsn}, service_urls={"risk": NO_RISK_URL}
    )
    saved = install_self_trade_detector()
    options = options_for(flow)
    built = build(settings, options)
    handed: dict[str, float] = {}
    heard: dict[str, float] = {}
    on_batch = built.service.on_batch

    async def timed(batch: Any) -> None:
        now = time.monotonic()
        for d in batch:
            handed.setdefault(d.event.buyer_user_id, now)
        await on_batch(batch)

    def listen(alert: SurveillanceAlert) -> None:
        heard.setdefault(alert.user_id, time.monotonic())

    built.service.on_batch = timed  # type: ignore[method-assign]
    built.service.add_listener(listen)
    await built.runtime.start()
    published: dict[str, float] = {}
    try:
        runners = built.runtime.runners
        await eventually(lambda: _caught_up(runners), seconds=60)
        for i in range(alerts):
            user = f"u{i}"
            trade = self_trade(f"t{i}", user, "AAPL", ts=i * 10**9)
            published[user] = time.monotonic()
            await flow.publish_raw(flow.trades_topic, TRADE_CODEC.encode(trade), b"AAPL")
            await eventually(lambda u=user: _heard(heard, u), seconds=30)  # type: ignore[misc]
            await asyncio.sleep(gap_s)  # a quiet spell before the next one
    finally:
        await built.runtime.stop()
        DETECTORS.clear()
        DETECTORS.update(saved)
        await drop_database(stack.pg_dsn, database)
    users = list(published)
    print(f"alerts: {len(users)} (idle_s {options.idle_s} s)")
    print(
        _summary(
            "watermark hold (alert - handed to the service)", [heard[u] - handed[u] for u in users]
        )
    )
    print(_summary("publish to alert", [heard[u] - published[u] for u in users]))


async def _caught_up(runners: Any) -> bool:
    return bool(runners) and all(r.caught_up() for r in runners)


async def _heard(heard: dict[str, float], user: str) -> bool:
    return user in heard


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.integration.surveillance.measure_alert_delay"
    )
    parser.add_argument("--alerts", type=int, default=20)
    parser.add_argument("--gap", type=float, default=1.0, help="quiet seconds between trades")
    args = parser.parse_args()
    stack = start_stack(load_settings())
    try:
        asyncio.run(measure(stack, args.alerts, args.gap))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
