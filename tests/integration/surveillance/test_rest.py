"""The compliance REST API over real stored alerts: listing, detail, workflow, thresholds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nexus.config import Settings
from tests.integration.surveillance.conftest import Flow, Headers, Running, run_surveillance
from tests.support.surveillance import self_trade

pytestmark = pytest.mark.integration


async def _seed(running: Running, unique_name: Callable[[str], str]) -> dict[str, Any]:
    """Five alerts: alice on three symbols (one HIGH), bob on two."""
    alice, bob = unique_name("alice"), unique_name("bob")
    symbols = [unique_name(f"S{i}").upper() for i in range(5)]
    owners = [alice, alice, alice, bob, bob]
    events = []
    for i, (symbol, user) in enumerate(zip(symbols, owners, strict=True)):
        events.append(self_trade(f"{symbol}-a", user, symbol, 1_000 * i))
        if i == 0:
            events.append(self_trade(f"{symbol}-b", user, symbol, 1_000 * i + 1))
    await running.flow.publish(events)
    wanted = set(symbols)

    async def all_there() -> bool:
        return {a["symbol"] for a in await running.alerts()} >= wanted

    from tests.integration.surveillance.conftest import eventually

    await eventually(all_there)
    return {"alice": alice, "bob": bob, "symbols": symbols}


async def test_listing_filters_paginates_and_details_alerts(
    surveillance: Running, unique_name: Callable[[str], str], tokens: Headers
) -> None:
    seed = await _seed(surveillance, unique_name)
    http, auth = surveillance.http, surveillance.headers

    mine = await surveillance.alerts(user_id=seed["alice"])
    assert sorted(a["symbol"] for a in mine) == sorted(seed["symbols"][:3])
    high = await surveillance.alerts(user_id=seed["alice"], severity="HIGH")
    assert [a["symbol"] for a in high] == [seed["symbols"][0]]
    both = await surveillance.alerts(user_id=seed["alice"], severity=["HIGH", "MEDIUM"])
    assert len(both) == 3
    by_symbol = await surveillance.alerts(symbol=seed["symbols"][4])
    assert [a["user_id"] for a in by_symbol] == [seed["bob"]]
    t0 = 1_800_000_000_000_000_000
    in_time = await surveillance.alerts(from_ns=t0 + 2_500, to_ns=t0 + 3_500)
    assert [a["symbol"] for a in in_time] == [seed["symbols"][3]]
    assert await surveillance.alerts(type="SPOOFING", user_id=seed["alice"]) == []

    pages: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "type": "WASH_TRADING"}
        if cursor:
            params["cursor"] = cursor
        resp = await http.get("/alerts", params=params, headers=auth)
        assert resp.status_code == 200
        body = resp.json()
        assert len(body["items"]) <= 2
        pages.extend(a["alert_id"] for a in body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(pages) == len(set(pages)) >= 5
    newest_first = await surveillance.alerts()
    assert [a["alert_id"] for a in newest_first] == pages

    detail = (await http.get(f"/alerts/{high[0]['alert_id']}", headers=auth)).json()
    assert detail["status"] == "OPEN"
    assert detail["alert"]["evidence"] == {"self_trades": 2}
    assert detail["alert"]["thresholds"]["version"] >= 1
    assert [v["version"] for v in detail["versions"]] == list(range(1, len(detail["versions"]) + 1))
    assert detail["history"] == []


async def test_listing_rejects_bad_input_and_callers_as_problem_json(
    surveillance: Running, tokens: Headers
) -> None:
    http, auth = surveillance.http, surveillance.headers
    t0 = 1_800_000_000_000_000_000
    for params, field in (
        ({"severity": "URGENT"}, "severity"),
        ({"from_ns": "yesterday"}, "from_ns"),
        ({"from_ns": t0 + 10, "to_ns": t0}, "to_ns"),
        ({"limit": 0}, "limit"),
        ({"colour": "red"}, "colour"),
    ):
        resp = await http.get("/alerts", params=params, headers=auth)
        assert resp.status_code == 422, (params, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        error = resp.json()["errors"][0]
        assert field in error["field"] or field in error["message"], resp.json()
    assert (await http.get("/alerts", params={"cursor": "%%%"}, headers=auth)).status_code == 400
    assert (await http.get("/alerts/SV-XX-nope", headers=auth)).status_code == 404
    assert (await http.get("/alerts")).status_code == 401
    assert (await http.get("/alerts", headers=tokens("t1", "trader"))).status_code == 403
    assert (await http.get("/alerts", headers=tokens("boss", "admin"))).status_code == 200


async def test_review_workflow_allows_only_valid_moves_and_keeps_the_audit_trail(
    surveillance: Running, unique_name: Callable[[str], str], tokens: Headers
) -> None:
    user, symbol = unique_name("u"), unique_name("S").upper()
    await surveillance.flow.publish([self_trade("t0", user, symbol, 0)])
    alert = await surveillance.wait_alert(lambda a: a["symbol"] == symbol)
    url = f"/alerts/{alert['alert_id']}/status"
    http = surveillance.http
    ann, bo = tokens("ann", "compliance"), tokens("bo", "compliance")

    async def move(headers: dict[str, str], **body: Any) -> Any:
        return await http.post(url, json=body, headers=headers)

    assert (await move(ann, status="CONFIRMED", reason="skip review")).status_code == 409
    resp = await move(ann, status="UNDER_REVIEW", reason="looking at the fills")
    assert resp.status_code == 200, resp.text
    assert resp.json()["from_status"] == "OPEN"
    no_category = await move(bo, status="DISMISSED", reason="market maker")
    assert no_category.status_code == 422
    assert no_category.json()["errors"][0]["field"] == "$.reason_category"
    bad_category = await move(bo, status="DISMISSED", reason="x", reason_category="BORED")
    assert bad_category.status_code == 422
    stale = await move(bo, status="ESCALATED", reason="x", expected_status="OPEN")
    assert stale.status_code == 409
    dismissed = await move(
        bo,
        status="DISMISSED",
        reason="hedging between desks",
        reason_category="LEGITIMATE_ACTIVITY",
    )
    assert dismissed.status_code == 200
    assert (await move(ann, status="UNDER_REVIEW", reason="new evidence")).status_code == 200
    assert (await move(ann, status="ESCALATED", reason="to legal")).status_code == 200
    assert (await move(ann, status="CONFIRMED", reason="admitted")).status_code == 200
    assert (await move(ann, status="OPEN", reason="undo")).status_code == 409
    assert (await move(ann, status="DONE", reason="x")).status_code == 422
    assert (await move(ann, status="OPEN")).status_code == 422
    assert (await move(tokens("t", "trader"), status="OPEN", reason="x")).status_code == 403
    missing = await http.post(
        "/alerts/SV-XX-none/status", json={"status": "UNDER_REVIEW", "reason": "x"}, headers=ann
    )
    assert missing.status_code == 404

    detail = (await http.get(f"/alerts/{alert['alert_id']}", headers=ann)).json()
    assert detail["status"] == "CONFIRMED"
    trail = [(h["actor"], h["from_status"], h["to_status"]) for h in detail["history"]]
    assert trail == [
        ("ann", "OPEN", "UNDER_REVIEW"),
        ("bo", "UNDER_REVIEW", "DISMISSED"),
        ("ann", "DISMISSED", "UNDER_REVIEW"),
        ("ann", "UNDER_REVIEW", "ESCALATED"),
        ("ann", "ESCALATED", "CONFIRMED"),
    ]
    assert detail["history"][1]["reason_category"] == "LEGITIMATE_ACTIVITY"
    assert detail["history"][1]["reason"] == "hedging between desks"
    assert all(h["at"] for h in detail["history"])
    confirmed = await surveillance.alerts(status="CONFIRMED", symbol=symbol)
    assert [a["alert_id"] for a in confirmed] == [alert["alert_id"]]


async def test_thresholds_owners_and_profiles_are_validated_audited_and_survive_a_restart(
    surveillance_settings: Settings,
    flow: Flow,
    tokens: Headers,
    self_trade_detector: Any,
    unique_name: Callable[[str], str],
) -> None:
    user, symbol = unique_name("u"), unique_name("S").upper()
    async with run_surveillance(surveillance_settings, flow, tokens) as surv:
        http, auth = surv.http, surv.headers
        before = (await http.get("/thresholds/WASH_TRADING", headers=auth)).json()
        assert before["changes"] == []
        resp = await http.put(
            "/thresholds/wash_trading",
            json={"thresholds": {"min_trades": 3}, "reason": "too noisy on ETFs"},
            headers=auth,
        )
        assert resp.status_code == 200, resp.text
        after = resp.json()
        assert after["thresholds"]["min_trades"] == 3
        assert after["thresholds"]["version"] == before["thresholds"]["version"] + 1
        assert after["changes"][0]["actor"] == "analyst"
        assert after["changes"][0]["reason"] == "too noisy on ETFs"
        bad = await http.put(
            "/thresholds/WASH_TRADING",
            json={"thresholds": {"min_trades": 0}, "reason": "x"},
            headers=auth,
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["field"] == "$.thresholds.min_trades"
        unknown_field = await http.put(
            "/thresholds/WASH_TRADING",
            json={"thresholds": {"colour": 1}, "reason": "x"},
            headers=auth,
        )
        assert unknown_field.status_code == 422
        assert "colour" in unknown_field.json()["errors"][0]["field"]
        assert (await http.get("/thresholds/PUMPING", headers=auth)).status_code == 404
        everything = (await http.get("/thresholds", headers=auth)).json()
        assert everything["WASH_TRADING"]["min_trades"] == 3
        assert set(everything) == {"SPOOFING", "LAYERING", "WASH_TRADING", "MOMENTUM_IGNITION"}

        owners = await http.put(
            "/accounts", json={"owners": {f"{user}-acc": "family-office"}}, headers=auth
        )
        assert owners.json() == {"accounts": 1, "changed": 1}
        bad_owners = await http.put("/accounts", json={"owners": {}}, headers=auth)
        assert bad_owners.status_code == 422

        await flow.publish([self_trade("t0", user, symbol, 0)])
        alert = await surv.wait_alert(lambda a: a["symbol"] == symbol)
        assert alert["owner_id"] == "family-office"
        detail = (await http.get(f"/alerts/{alert['alert_id']}", headers=auth)).json()
        assert detail["alert"]["thresholds"]["min_trades"] == 3

        profile = await http.get(
            f"/users/{user}/profile", params={"lookback_days": 7}, headers=auth
        )
        assert profile.status_code == 200, profile.text
        assert profile.json()["user_id"] == user
        assert symbol in profile.json()["symbols"]
        one = await http.get(f"/users/{user}/profile", params={"symbol": symbol}, headers=auth)
        assert one.json()["symbol"] == symbol
        assert (
            await http.get(f"/users/{user}/profile", params={"symbol": "ZZZZ"}, headers=auth)
        ).status_code == 404
        zero = await http.get(f"/users/{user}/profile", params={"lookback_days": 0}, headers=auth)
        assert zero.status_code == 422
        assert zero.json()["errors"][0]["field"].endswith("lookback_days")

    async with run_surveillance(surveillance_settings, flow, tokens) as again:
        kept = (await again.http.get("/thresholds/WASH_TRADING", headers=again.headers)).json()
        assert kept["thresholds"] == after["thresholds"]
        assert (await again.http.get("/accounts", headers=again.headers)).json() == {
            f"{user}-acc": "family-office"
        }
