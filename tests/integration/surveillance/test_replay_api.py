"""``/alerts/{id}/replay``: the recorded market of an alert's window, rebuilt from the archive."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from nexus.bus import KafkaBus, OutgoingMessage
from nexus.config import Settings
from nexus.events import TOPIC_TRADES
from nexus.sim import simulate
from nexus.sim.profiles import realistic_config
from tests.integration.surveillance.conftest import (
    Flow,
    Headers,
    Running,
    eventually,
    run_surveillance,
)

pytestmark = pytest.mark.integration

#: the realistic profile: depth-relative episodes, as real manipulation is sized
SIM = realistic_config(seed=11, symbols=4, users=60, seconds=10, episodes_per_type=6)


@pytest.fixture
async def live(
    surveillance_settings: Settings, flow: Flow, tokens: Headers
) -> AsyncIterator[Running]:
    async with run_surveillance(surveillance_settings, flow, tokens) as running:
        yield running


async def test_replay_shows_the_book_trades_and_the_alerted_users_orders(live: Running) -> None:
    result = simulate(SIM)
    owners = {acc: u.beneficial_owner for u in result.labels().users for acc in u.accounts}
    await live.http.put("/accounts", json={"owners": owners}, headers=live.headers)
    messages: list[OutgoingMessage] = []

    def collect(topic: str, key: bytes, payload: bytes) -> None:
        target = live.flow.trades_topic if topic == TOPIC_TRADES else live.flow.orders_topic
        messages.append(OutgoingMessage(target, payload, key))

    result.publish(collect)
    producer = KafkaBus(live.flow.bootstrap).producer()
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
    alerts: list[dict[str, Any]] = []

    async def raised() -> bool:
        alerts[:] = [a for a in await live.alerts() if a["type"] in ("SPOOFING", "LAYERING")]
        return bool(alerts)

    await eventually(raised, seconds=30)
    alert: dict[str, Any] = (
        await live.http.get(f"/alerts/{alerts[0]['alert_id']}", headers=live.headers)
    ).json()["alert"]

    resp = await live.http.get(f"/alerts/{alert['alert_id']}/replay", headers=live.headers)
    assert resp.status_code == 200, resp.text
    replay = resp.json()
    assert replay["truncated"] is False
    assert replay["start_ns"] < alert["start_ns"] <= alert["end_ns"] < replay["end_ns"]
    assert replay["bbo"] and all(
        replay["start_ns"] <= row[0] <= replay["end_ns"] for row in replay["bbo"]
    )
    # the book on both sides somewhere in the window, never crossed
    assert any(bid is not None and ask is not None for _, bid, ask in replay["bbo"])
    assert all(bid is None or ask is None or bid <= ask for _, bid, ask in replay["bbo"])
    drawn = {o["order_id"] for o in replay["orders"]}
    assert set(alert["order_ids"]) & drawn, "the alert's orders are not in its replay"


async def test_replay_of_an_unknown_alert_is_404(live: Running) -> None:
    resp = await live.http.get("/alerts/SV-nope/replay", headers=live.headers)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"


async def test_replay_is_for_compliance_only(live: Running, tokens: Headers) -> None:
    resp = await live.http.get("/alerts/SV-nope/replay", headers=tokens("t1", "trader"))
    assert resp.status_code == 403
