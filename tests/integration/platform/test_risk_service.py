"""The risk service over HTTP, PostgreSQL and the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from nexus.bus import ConsumerRunner, KafkaBus
from nexus.events import ALERT_CODEC, TOPIC_ALERTS, TOPIC_HALTS, Halt, SurveillanceAlert
from nexus.web import running_server
from services.risk.main import build
from tests.integration.chassis.test_discovery_consul import FakeConsul, consul
from tests.integration.platform.conftest import SettingsFactory
from tests.support.runner import run_until

pytestmark = pytest.mark.integration
__all__ = ["consul"]  # the fake Consul agent fixture


async def _halts_for(bootstrap: str, group: str, target: str, count: int) -> list[Halt]:
    seen: list[Halt] = []

    async def handle(batch: list[Any]) -> None:
        seen.extend(d.event for d in batch if d.event.target == target)

    await run_until(
        ConsumerRunner(KafkaBus(bootstrap), group, handle, topics=[TOPIC_HALTS]),
        lambda: len(seen) >= count,
    )
    return seen


async def test_halt_and_resume_are_stored_published_checked_and_audited(
    service_settings: SettingsFactory,
    tokens: Callable[[str, str], dict[str, str]],
    unique_name: Callable[[str], str],
) -> None:
    settings = await service_settings("risk")
    app, _, _ = build(settings)
    user = unique_name("user")
    risk = tokens("risk-officer", "risk")
    async with running_server(app) as url, httpx.AsyncClient(base_url=url) as http:
        body = {"scope": "USER", "target": user, "reason": "layering under review"}
        created = await http.post("/halts", json=body, headers={**risk, "Idempotency-Key": "k1"})
        assert created.status_code == 201, created.text
        again = await http.post("/halts", json=body, headers={**risk, "Idempotency-Key": "k1"})
        assert again.status_code == 200
        assert again.json()["halt_id"] == created.json()["halt_id"]

        check = await http.get(
            "/halts/check", params={"user_id": user, "symbol": "AAPL"}, headers=risk
        )
        assert check.json() == {
            "halted": True,
            "reason": f"user {user} halted: layering under review",
        }
        active = await http.get("/halts", headers=risk)
        assert user in [h["target"] for h in active.json()]

        resumed = await http.post("/halts/resume", json={**body, "reason": "cleared"}, headers=risk)
        assert resumed.status_code == 200, resumed.text
        assert resumed.json()["action"] == "RESUME"
        check = await http.get(
            "/halts/check", params={"user_id": user, "symbol": "AAPL"}, headers=risk
        )
        assert check.json()["halted"] is False
        not_halted = await http.post("/halts/resume", json=body, headers=risk)
        assert not_halted.status_code == 404
        assert not_halted.headers["content-type"].startswith("application/problem+json")

        audit = (await http.get("/halts/audit", params={"limit": 500}, headers=risk)).json()
        mine = [e["event"]["action"] for e in audit["items"] if e["event"]["target"] == user]
        assert mine == ["HALT", "RESUME"]

    events = await _halts_for(settings.kafka_bootstrap or "", unique_name("reader"), user, 2)
    assert [e.action for e in events] == ["HALT", "RESUME"]
    assert events[0].requested_by == "risk-officer"


async def test_halt_endpoints_refuse_wrong_roles_and_bad_input(
    service_settings: SettingsFactory,
    tokens: Callable[[str, str], dict[str, str]],
) -> None:
    app, _, _ = build(await service_settings("risk"))
    async with running_server(app) as url, httpx.AsyncClient(base_url=url) as http:
        body = {"scope": "USER", "target": "u1", "reason": "x"}
        assert (await http.post("/halts", json=body)).status_code == 401
        assert (
            await http.post("/halts", json=body, headers=tokens("t1", "trader"))
        ).status_code == 403
        risk = tokens("r", "risk")
        bad_scope = await http.post("/halts", json={**body, "scope": "DESK"}, headers=risk)
        assert bad_scope.status_code == 422
        assert bad_scope.json()["errors"][0]["field"].endswith("scope")
        unknown = await http.post("/halts", json={**body, "colour": "red"}, headers=risk)
        assert unknown.status_code == 422
        malformed = await http.post(
            "/halts", content=b"{", headers={**risk, "content-type": "application/json"}
        )
        assert malformed.status_code == 400
        other_user = await http.get(
            "/halts/check",
            params={"user_id": "u2", "symbol": "AAPL"},
            headers=tokens("u1", "trader"),
        )
        assert other_user.status_code == 403


async def test_critical_alert_halts_its_user_once_even_if_delivered_twice(
    service_settings: SettingsFactory,
    tokens: Callable[[str, str], dict[str, str]],
    unique_name: Callable[[str], str],
) -> None:
    settings = await service_settings("risk")
    app, _, service = build(settings)
    user = unique_name("spoofer")
    alert = SurveillanceAlert(
        event_id=unique_name("A-"),
        ts_event=1_700_000_000_000_000_000,
        symbol="AAPL",
        user_id=user,
        alert_type="SPOOFING",
        severity="CRITICAL",
        score=0.99,
        window_start_ns=1,
        window_end_ns=2,
    )
    minor = SurveillanceAlert(
        **{
            **{f: getattr(alert, f) for f in alert.__struct_fields__},
            "event_id": unique_name("B-"),
            "severity": "MEDIUM",
            "user_id": user + "x",
        }
    )
    async with running_server(app) as url, httpx.AsyncClient(base_url=url) as http:
        producer = KafkaBus(settings.kafka_bootstrap or "").producer()
        for event in (alert, alert, minor):
            await producer.publish(TOPIC_ALERTS, ALERT_CODEC.encode(event), key=b"AAPL")
        await producer.close()
        async with asyncio.timeout(30):
            while service.registry.book.get("USER", user) is None:
                await asyncio.sleep(0.05)
        check = await http.get(
            "/halts/check", params={"user_id": user, "symbol": "MSFT"}, headers=tokens("r", "risk")
        )
        assert check.json()["halted"] is True
        assert service.registry.book.get("USER", user + "x") is None
        audit = (
            await http.get("/halts/audit", params={"limit": 500}, headers=tokens("r", "risk"))
        ).json()
        assert [e["event"]["halt_id"] for e in audit["items"] if e["event"]["target"] == user] == [
            f"halt:alert:{alert.event_id}"
        ]


async def test_service_registers_with_consul_on_start_and_deregisters_on_stop(
    service_settings: SettingsFactory, consul: tuple[str, FakeConsul]
) -> None:
    addr, state = consul
    settings = replace(await service_settings("risk"), consul_addr=addr)
    app, _, _ = build(settings)
    async with running_server(app) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/readyz")).status_code == 200
        registered = [(m, p) for m, p, _, _ in state.requests]
        assert ("PUT", "/v1/agent/service/register") in registered
        assert list(state.services) == ["risk-127.0.0.1-8103"]
    assert ("PUT", "/v1/agent/service/deregister/risk-127.0.0.1-8103") in [
        (m, p) for m, p, _, _ in state.requests
    ]
    assert state.services == {}


async def test_metrics_expose_the_consumer_lag_of_each_partition(
    service_settings: SettingsFactory,
) -> None:
    app, runtime, _ = build(await service_settings("risk"))
    async with running_server(app) as url, httpx.AsyncClient(base_url=url) as http:
        async with asyncio.timeout(30):
            while not runtime.runners or not runtime.runners[0].stats.lags:
                await asyncio.sleep(0.05)
            while "nexus_consumer_lag{" not in (text := (await http.get("/metrics")).text):
                await asyncio.sleep(0.2)
    lines = [line for line in text.splitlines() if line.startswith("nexus_consumer_lag{")]
    assert any(
        'group="risk.alerts"' in line and 'topic="surveillance.alerts"' in line for line in lines
    )
    assert all(float(line.rsplit(" ", 1)[1]) >= 0 for line in lines)
