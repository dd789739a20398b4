"""Historical scans over the archive give the live alerts; the SSE stream and ops endpoints."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from services.surveillance.store import content_key
from tests.integration.surveillance.conftest import Headers, Running, eventually
from tests.support.surveillance import T0, new_order, self_trade, trade

pytestmark = pytest.mark.integration


async def _scan(running: Running, body: dict[str, Any]) -> dict[str, Any]:
    http, auth = running.http, running.headers
    started = await http.post("/scans", json=body, headers=auth)
    assert started.status_code == 202, started.text
    scan_id = started.json()["scan_id"]
    assert started.headers["location"] == f"/scans/{scan_id}"
    state: dict[str, Any] = {}

    async def done() -> bool:
        state.update((await http.get(f"/scans/{scan_id}", headers=auth)).json())
        return state["status"] in ("COMPLETED", "FAILED", "CANCELLED")

    await eventually(done)
    return state


async def test_scan_of_the_archive_finds_exactly_the_live_alerts(
    surveillance: Running, unique_name: Callable[[str], str], tokens: Headers
) -> None:
    users = [unique_name(f"u{i}") for i in range(3)]
    symbols = [unique_name(f"S{i}").upper() for i in range(3)]
    events: list[Any] = []
    ts = 0
    for round_ in range(4):
        for i, symbol in enumerate(symbols):
            ts += 1
            events.append(new_order(f"o{ts}", users[i], symbol, "BUY", 100, 10, ts))
            ts += 1
            if (round_ + i) % 2 == 0:
                events.append(self_trade(f"{symbol}-t{ts}", users[i], symbol, ts))
            else:
                events.append(trade(f"{symbol}-t{ts}", users[i], users[(i + 1) % 3], symbol, ts))
    await surveillance.flow.publish(events)

    async def consumed_all() -> bool:
        if await surveillance.archived(*symbols) != len(events):
            return False
        alerts = [a for a in await surveillance.alerts() if a["symbol"] in symbols]
        return len(alerts) == 3 and all(a["severity"] == "HIGH" for a in alerts)

    await eventually(consumed_all)
    live = {a["alert_id"]: a for a in await surveillance.alerts() if a["symbol"] in symbols}
    assert len(live) == 3
    live_final = {}
    for alert_id in live:
        detail = await surveillance.http.get(f"/alerts/{alert_id}", headers=surveillance.headers)
        live_final[alert_id] = detail.json()["alert"]

    result = await _scan(surveillance, {"start_ns": T0, "end_ns": T0 + ts + 1, "symbols": symbols})
    assert result["status"] == "COMPLETED", result
    assert result["events_total"] == result["events_scanned"] == len(events)
    assert result["alerts_found"] == 3
    found = await surveillance.http.get(
        f"/scans/{result['scan_id']}/alerts", params={"limit": 2}, headers=surveillance.headers
    )
    page = found.json()
    rest = await surveillance.http.get(
        f"/scans/{result['scan_id']}/alerts",
        params={"cursor": page["next_cursor"]},
        headers=surveillance.headers,
    )
    scanned = {a["alert_id"]: a for a in page["items"] + rest.json()["items"]}
    assert set(scanned) == set(live_final)
    for alert_id, alert in scanned.items():
        assert content_key(alert) == content_key(live_final[alert_id])

    only_one = await _scan(
        surveillance, {"start_ns": T0, "end_ns": T0 + ts + 1, "users": [users[1]]}
    )
    assert only_one["alerts_found"] == 1
    early = await _scan(surveillance, {"start_ns": T0, "end_ns": T0 + 3, "symbols": symbols})
    assert early["events_total"] == 2
    assert early["alerts_found"] == 1

    finished = await surveillance.http.delete(
        f"/scans/{result['scan_id']}", headers=surveillance.headers
    )
    assert finished.status_code == 409


async def test_scan_api_validates_input_and_is_idempotent_by_key(surveillance: Running) -> None:
    http, auth = surveillance.http, surveillance.headers
    assert (await http.get("/scans/scan-none", headers=auth)).status_code == 404
    assert (await http.delete("/scans/scan-none", headers=auth)).status_code == 404
    assert (await http.get("/scans/scan-none/alerts", headers=auth)).status_code == 404
    backwards = await http.post("/scans", json={"start_ns": T0 + 5, "end_ns": T0}, headers=auth)
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["field"] == "$.end_ns"
    empty_symbols = await http.post(
        "/scans", json={"start_ns": T0, "end_ns": T0 + 1, "symbols": []}, headers=auth
    )
    assert empty_symbols.status_code == 422
    keyed = {**auth, "Idempotency-Key": "nightly-1"}
    body = {"start_ns": T0, "end_ns": T0 + 1}
    first = await http.post("/scans", json=body, headers=keyed)
    second = await http.post("/scans", json=body, headers=keyed)
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["scan_id"] == second.json()["scan_id"]


async def test_alert_stream_pushes_new_versions_and_ops_endpoints_answer(
    surveillance: Running, unique_name: Callable[[str], str]
) -> None:
    user, symbol = unique_name("u"), unique_name("S").upper()
    http = surveillance.http
    received: list[str] = []

    async def listen() -> None:
        async with http.stream("GET", "/alerts/stream", headers=surveillance.headers) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            async for line in resp.aiter_lines():
                received.append(line)
                if line.startswith("data:") and symbol in line:
                    return

    listener = asyncio.create_task(listen())
    await eventually(lambda: _has(received, ": connected"))
    await surveillance.flow.publish([self_trade("t0", user, symbol, 0)])
    await asyncio.wait_for(listener, timeout=30)
    assert any(line == "event: alert" for line in received)
    assert any(line.startswith("id: SV-WA-") and line.endswith(":1") for line in received)


async def test_ops_endpoints_answer(surveillance: Running) -> None:
    http = surveillance.http
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/readyz")).status_code == 200
    metrics = (await http.get("/metrics")).text
    assert "nexus_consumer_lag" in metrics
    spec = (await http.get("/openapi.json")).json()
    for path in (
        "/alerts",
        "/alerts/{alert_id}/status",
        "/scans/{scan_id}",
        "/thresholds/{detector}",
    ):
        assert path in spec["paths"]


async def _has(lines: list[str], text: str) -> bool:
    return text in lines


async def test_an_uploaded_audit_trail_is_scanned_and_its_bad_lines_reported(
    surveillance: Running, unique_name: Callable[[str], str]
) -> None:
    user, symbol = unique_name("u"), unique_name("S").upper()
    lines = [
        json.dumps(
            {
                "kind": "trade",
                "ts_ns": T0 + i,
                "trade_id": f"{symbol}-a{i}",
                "symbol": symbol,
                "price": "100.25",
                "quantity": "10",
                "buy_order_id": f"b{i}",
                "sell_order_id": f"s{i}",
                "buy_user_id": user,
                "sell_user_id": user,
                "buy_account_id": f"{user}-acc",
                "sell_account_id": f"{user}-acc",
                "aggressor_side": "BUY",
            }
        )
        for i in range(3)
    ]
    lines.insert(1, '{"kind": "trade", "ts_ns": "soon"}')
    http, auth = surveillance.http, surveillance.headers
    resp = await http.post(
        "/scans/audit",
        content="\n".join(lines).encode(),
        headers={**auth, "Content-Type": "application/x-ndjson"},
    )
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert (body["lines"], body["bad_lines"]) == (4, 1)
    assert body["errors"][0]["line"] == 2
    scan_id = body["scan"]["scan_id"]
    state: dict[str, Any] = {}

    async def done() -> bool:
        state.update((await http.get(f"/scans/{scan_id}", headers=auth)).json())
        return bool(state["status"] == "COMPLETED")

    await eventually(done)
    assert (state["events_total"], state["events_scanned"], state["alerts_found"]) == (3, 3, 1)
    found = (await http.get(f"/scans/{scan_id}/alerts", headers=auth)).json()["items"]
    assert found[0]["severity"] == "CRITICAL"
    assert found[0]["trade_ids"] == [f"{symbol}-a{i}" for i in range(3)]
    assert await surveillance.alerts(symbol=symbol) == []  # a scan never touches live alerts

    wrong_type = await http.post("/scans/audit", json={"lines": []}, headers=auth)
    assert wrong_type.status_code == 415
    nothing = await http.post(
        "/scans/audit", content=b"{}\n", headers={**auth, "Content-Type": "application/x-ndjson"}
    )
    assert nothing.status_code == 422
