"""``nexus.sim.routed``: parents drawn against the NBBO, sent, and their answers counted."""

from __future__ import annotations

import asyncio
import json
import random
from decimal import Decimal
from typing import Any

import httpx
import pytest

from nexus.sim import routed
from nexus.sim.routed import NoQuote, RoutedStats, draw_parent, run_flow

BID, ASK = Decimal("49.99"), Decimal("50.01")


def _draws(n: int = 2_000) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(3)
    return [draw_parent(rng, "SIM0001", BID, ASK, "C00001") for _ in range(n)]


def test_every_order_type_is_priced_as_its_name_says() -> None:
    kinds = set()
    for kind, body in _draws():
        kinds.add(kind)
        buy = body["side"] == "BUY"
        if kind == "market":
            assert "price" not in body
            continue
        price = Decimal(body["price"])
        assert price == price.quantize(Decimal("0.01"))
        if kind == "marketable_limit":
            assert price > ASK if buy else price < BID
        else:
            assert price < BID if buy else price > ASK
    assert kinds == {"market", "marketable_limit", "non_marketable_limit"}


def test_sizes_cover_odd_lots_round_lots_and_blocks_and_round_lots_stay_round() -> None:
    sizes = [int(body["quantity"]) for _, body in _draws()]
    assert min(sizes) >= 1 and max(sizes) <= 5_000
    assert any(s < 100 for s in sizes) and any(s >= 1_000 for s in sizes)
    assert all(s % 100 == 0 for s in sizes if s >= 100)


def test_strategies_are_mostly_smart_and_every_one_occurs() -> None:
    strategies = [body["strategy"] for _, body in _draws()]
    assert {name for name, _ in routed.STRATEGIES} == set(strategies)
    assert 0.5 < strategies.count("SMART") / len(strategies) < 0.7


@pytest.mark.parametrize(("bid", "ask"), [(Decimal(0), ASK), (BID, Decimal(0)), (ASK, BID)])
def test_no_two_sided_quote_draws_nothing(bid: Decimal, ask: Decimal) -> None:
    with pytest.raises(NoQuote):
        draw_parent(random.Random(1), "SIM0001", bid, ask, "C00001")


def _router(answers: list[int], sent: list[dict[str, Any]]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/nbbo/"):
            symbol = request.url.path.rsplit("/", 1)[1]
            if symbol == "SIM0007":
                return httpx.Response(200, json={"bid_price": None, "ask_price": None})
            return httpx.Response(200, json={"bid_price": "49.99", "ask_price": "50.01"})
        assert request.headers["Authorization"] == "Bearer tok"
        sent.append(json.loads(request.content))
        return httpx.Response(answers[(len(sent) - 1) % len(answers)], json={})

    return httpx.MockTransport(handle)


async def test_run_flow_sends_parents_and_counts_answers_and_missing_quotes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    sent: list[dict[str, Any]] = []
    transport = _router([201, 201, 409, 503], sent)
    real = httpx.AsyncClient

    def client(**kwargs: Any) -> httpx.AsyncClient:
        return real(transport=transport, **kwargs)

    monkeypatch.setattr(routed.httpx, "AsyncClient", client)
    stats = RoutedStats()
    status = tmp_path / "routed.json"
    await run_flow(
        "http://router",
        "tok",
        rate=10_000.0,
        symbols=["SIM0001", "SIM0007"],
        users=["C00001", "C00002"],
        stop=asyncio.Event(),
        stats=stats,
        limit=60,
        status_file=status,
    )
    assert stats.sent == len(sent)
    assert stats.sent + stats.no_quote == 60
    assert stats.no_quote > 0 and stats.sent > 0
    assert sum(stats.by_status.values()) == stats.sent
    assert set(stats.by_status) <= {"201", "409", "503"}
    assert sum(stats.by_type.values()) == stats.sent
    assert {body["user_id"] for body in sent} <= {"C00001", "C00002"}
    assert all(body["symbol"] == "SIM0001" for body in sent)
    final = json.loads(status.read_text())
    assert final["final"] is True and final["sent"] == stats.sent


async def test_a_router_that_does_not_answer_counts_errors_and_the_flow_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/nbbo/"):
            return httpx.Response(200, json={"bid_price": "10.00", "ask_price": "10.02"})
        raise httpx.ConnectError("refused", request=request)

    real = httpx.AsyncClient
    monkeypatch.setattr(
        routed.httpx,
        "AsyncClient",
        lambda **kw: real(transport=httpx.MockTransport(handle), **kw),
    )
    stats = RoutedStats()
    await run_flow(
        "http://router",
        "tok",
        rate=10_000.0,
        symbols=["SIM0001"],
        users=["C00001"],
        stop=asyncio.Event(),
        stats=stats,
        limit=10,
    )
    assert stats.sent == 10 and stats.errors == 10 and not stats.by_status


async def test_stop_ends_the_flow() -> None:
    stop = asyncio.Event()
    stop.set()
    stats = RoutedStats()
    await run_flow(
        "http://127.0.0.1:9",
        "tok",
        rate=1.0,
        symbols=["SIM0001"],
        users=["C1"],
        stop=stop,
        stats=stats,
    )
    assert stats.sent == 0


def test_a_rate_that_is_not_positive_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        routed.main(["--routing-url", "http://router", "--rate", "0"])
    assert exit_info.value.code == 2
    assert "--rate must be positive" in capsys.readouterr().err
