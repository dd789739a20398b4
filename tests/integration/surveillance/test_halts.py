"""CRITICAL alerts halt their user through the outbox, once, even while risk is down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from nexus.bus import ConsumerRunner, KafkaBus
from nexus.config import Settings
from nexus.events import TOPIC_ALERTS, SurveillanceAlert
from nexus.infra import free_port
from nexus.outbox import Outbox
from nexus.web import running_server
from services.risk.core import halt_id_for_alert
from services.risk.main import build as build_risk
from tests.integration.platform.conftest import SettingsFactory
from tests.integration.surveillance.conftest import Flow, Headers, eventually, run_surveillance
from tests.support.runner import run_until
from tests.support.surveillance import self_trade

pytestmark = pytest.mark.integration


async def _published(bootstrap: str, group: str, alert_id: str, version: int) -> SurveillanceAlert:
    seen: list[SurveillanceAlert] = []

    async def handle(batch: list[Any]) -> None:
        seen.extend(
            d.event for d in batch if d.event.event_id == alert_id and d.event.version == version
        )

    await run_until(
        ConsumerRunner(KafkaBus(bootstrap), group, handle, topics=[TOPIC_ALERTS]),
        lambda: bool(seen),
    )
    return seen[0]


async def test_critical_alert_halt_waits_for_risk_and_is_delivered_once_by_both_paths(
    surveillance_settings: Settings,
    service_settings: SettingsFactory,
    flow: Flow,
    tokens: Headers,
    self_trade_detector: Any,
    unique_name: Callable[[str], str],
) -> None:
    risk_port = free_port()
    settings = replace(
        surveillance_settings, service_urls={"risk": f"http://127.0.0.1:{risk_port}"}
    )
    user, symbol = unique_name("u"), unique_name("S").upper()
    async with run_surveillance(settings, flow, tokens) as surv:
        await flow.publish([self_trade(f"t{i}", user, symbol, i) for i in range(3)])
        alert = await surv.wait_alert(
            lambda a: a["symbol"] == symbol and a["severity"] == "CRITICAL"
        )
        outbox = Outbox(surv.built.runtime.pool)
        assert await outbox.status(alert["alert_id"]) == "pending"

        async def attempted() -> bool:
            attempts: int = await surv.built.runtime.pool.fetchval(
                "SELECT attempts FROM nexus_outbox WHERE id = $1", alert["alert_id"]
            )
            return attempts >= 2

        await eventually(attempted)  # risk is down: retried, still pending
        assert await outbox.status(alert["alert_id"]) == "pending"

        risk_app, _, risk = build_risk(await service_settings("risk"))
        async with running_server(risk_app, port=risk_port):

            async def delivered() -> bool:
                return await outbox.status(alert["alert_id"]) == "delivered"

            await eventually(delivered)
            # the same alert also reaches risk on surveillance.alerts: no second halt
            event = await _published(
                flow.bootstrap, unique_name("reader"), alert["alert_id"], alert["version"]
            )
            assert event.severity == "CRITICAL"
            await risk.on_alerts([event])
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{risk_port}") as http:
                audit = await http.get(
                    "/halts/audit", params={"limit": 500}, headers=tokens("officer", "risk")
                )
                check = await http.get(
                    "/halts/check",
                    params={"user_id": user, "symbol": symbol},
                    headers=tokens("officer", "risk"),
                )
        halts = [e["event"] for e in audit.json()["items"] if e["event"]["target"] == user]
        assert [(h["action"], h["halt_id"]) for h in halts] == [
            ("HALT", halt_id_for_alert(alert["alert_id"]))
        ]
        assert halts[0]["source_alert_id"] == alert["alert_id"]
        assert check.json()["halted"] is True


async def test_alerts_below_critical_request_no_halt(
    surveillance: Any, unique_name: Callable[[str], str]
) -> None:
    user, symbol = unique_name("u"), unique_name("S").upper()
    await surveillance.flow.publish([self_trade(f"t{i}", user, symbol, i) for i in range(2)])
    alert = await surveillance.wait_alert(
        lambda a: a["symbol"] == symbol and a["severity"] == "HIGH"
    )
    assert alert["severity"] == "HIGH"
    assert await Outbox(surveillance.built.runtime.pool).status(alert["alert_id"]) is None
