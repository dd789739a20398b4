"""The registered detectors on simulated, labelled flow: the live Kafka path and a scan of the
archive raise the same alerts."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from nexus.bus import KafkaBus, OutgoingMessage
from nexus.config import Settings
from nexus.events import TOPIC_TRADES
from nexus.sim import SimConfig, simulate
from services.surveillance.store import content_key
from tests.integration.surveillance.conftest import (
    Flow,
    Headers,
    Running,
    eventually,
    run_surveillance,
)

pytestmark = pytest.mark.integration

SIM = SimConfig(seed=3, symbols=4, users=60, seconds=2)


@pytest.fixture
async def live(
    surveillance_settings: Settings, flow: Flow, tokens: Headers
) -> AsyncIterator[Running]:
    async with run_surveillance(surveillance_settings, flow, tokens) as running:
        yield running


async def test_live_alerts_on_simulated_flow_equal_a_scan_of_the_archive(
    live: Running, unique_name: Callable[[str], str]
) -> None:
    result = simulate(SIM)
    owners = {acc: u.beneficial_owner for u in result.labels().users for acc in u.accounts}
    resp = await live.http.put("/accounts", json={"owners": owners}, headers=live.headers)
    assert resp.status_code == 200, resp.text

    messages: list[OutgoingMessage] = []

    def collect(topic: str, key: bytes, payload: bytes) -> None:
        target = live.flow.trades_topic if topic == TOPIC_TRADES else live.flow.orders_topic
        messages.append(OutgoingMessage(target, payload, key))

    result.publish(collect)
    producer = KafkaBus(live.flow.bootstrap).producer()
    started = time.perf_counter()
    try:
        for i in range(0, len(messages), 5_000):
            await producer.publish_batch(messages[i : i + 5_000])
    finally:
        await producer.close()
    runners = live.built.runtime.runners

    async def consumed() -> bool:
        return sum(r.stats.processed + r.stats.dead_lettered for r in runners) >= len(messages)

    await eventually(consumed, seconds=90)
    await live.settled()
    elapsed = time.perf_counter() - started
    print(f"{len(messages)} events published and consumed in {elapsed:.1f}s")
    assert sum(r.stats.dead_lettered for r in runners) == 0

    live_alerts = {}
    for summary in await live.alerts():
        detail = await live.http.get(f"/alerts/{summary['alert_id']}", headers=live.headers)
        live_alerts[summary["alert_id"]] = detail.json()["alert"]
    assert live_alerts, "the simulated episodes raised no alert"

    body = {"start_ns": 0, "end_ns": 2**63 - 1}
    started_scan = await live.http.post("/scans", json=body, headers=live.headers)
    scan_id = started_scan.json()["scan_id"]
    state: dict[str, Any] = {}

    async def done() -> bool:
        state.update((await live.http.get(f"/scans/{scan_id}", headers=live.headers)).json())
        return bool(state["status"] not in ("RUNNING", "PENDING"))

    await eventually(done, seconds=60)
    assert state["status"] == "COMPLETED", state
    found = await live.http.get(
        f"/scans/{scan_id}/alerts", params={"limit": 500}, headers=live.headers
    )
    scanned = {a["alert_id"]: a for a in found.json()["items"]}
    assert set(scanned) == set(live_alerts)
    for alert_id, alert in scanned.items():
        assert content_key(alert) == content_key(live_alerts[alert_id])
