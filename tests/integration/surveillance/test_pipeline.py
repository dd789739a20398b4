"""Orders and trades in, stored and published alerts out, on the real broker and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nexus.bus import ConsumerRunner, KafkaBus
from nexus.events import TOPIC_ALERTS, SurveillanceAlert
from tests.integration.surveillance.conftest import Running, eventually
from tests.support.runner import run_until
from tests.support.surveillance import new_order, self_trade, trade

pytestmark = pytest.mark.integration


def _version_of(symbol: str, version: int) -> Callable[[dict[str, Any]], bool]:
    return lambda a: a["symbol"] == symbol and a["version"] == version


async def test_self_trades_become_one_versioned_alert_stored_and_published(
    surveillance: Running, unique_name: Callable[[str], str]
) -> None:
    user, symbol = unique_name("u"), unique_name("S").upper()
    steps: list[list[Any]] = [
        [new_order("o1", user, symbol, "BUY", 100, 10, 1), self_trade("t1", user, symbol, 10)],
        [trade("t2", user, unique_name("cp"), symbol, 20), self_trade("t3", user, symbol, 30)],
        [self_trade("t4", user, symbol, 40)],
    ]
    for version, events in enumerate(steps, start=1):
        await surveillance.flow.publish(events)
        alert = await surveillance.wait_alert(_version_of(symbol, version))
    assert alert["type"] == "WASH_TRADING"
    assert alert["severity"] == "CRITICAL"
    assert alert["user_id"] == user
    assert alert["status"] == "OPEN"
    assert len([a for a in await surveillance.alerts() if a["symbol"] == symbol]) == 1

    detail = (
        await surveillance.http.get(f"/alerts/{alert['alert_id']}", headers=surveillance.headers)
    ).json()
    assert [v["version"] for v in detail["versions"]] == [1, 2, 3]
    assert [v["alert"]["severity"] for v in detail["versions"]] == ["MEDIUM", "HIGH", "CRITICAL"]
    assert detail["alert"]["trade_ids"] == [f"{symbol}-t{i}" for i in (1, 3, 4)]
    assert detail["alert"]["evidence"] == {"self_trades": 3}

    published: list[SurveillanceAlert] = []

    async def handle(batch: list[Any]) -> None:
        published.extend(d.event for d in batch if d.event.event_id == alert["alert_id"])

    await run_until(
        ConsumerRunner(
            KafkaBus(surveillance.flow.bootstrap),
            unique_name("reader"),
            handle,
            topics=[TOPIC_ALERTS],
        ),
        lambda: len(published) >= 3,
    )
    assert sorted(e.version for e in published) == [1, 2, 3]
    last = max(published, key=lambda e: e.version)
    assert last.severity == "CRITICAL"
    assert last.score == pytest.approx(0.9)
    assert last.account_ids == [f"{user}-acc"]
    assert last.trade_ids == [f"{symbol}-t{i}" for i in (1, 3, 4)]
    assert await surveillance.archived(symbol) == 5


async def test_undecodable_records_are_dead_lettered_and_the_flow_goes_on(
    surveillance: Running, unique_name: Callable[[str], str]
) -> None:
    user, symbol = unique_name("u"), unique_name("S").upper()
    flow = surveillance.flow
    await flow.publish_raw(flow.trades_topic, b"\xc1 not msgpack", symbol.encode())
    await flow.publish([self_trade("t1", user, symbol, 1)])
    await surveillance.wait_alert(lambda a: a["symbol"] == symbol)

    async def dead_lettered() -> bool:
        return sum(r.stats.dead_lettered for r in surveillance.built.runtime.runners) >= 1

    await eventually(dead_lettered)
    assert await surveillance.archived(symbol) == 1
