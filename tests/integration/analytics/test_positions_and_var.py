"""Trades on the real broker become positions; VaR and the summary follow them via REST."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import msgspec
import pytest

from nexus.bus import KafkaBus
from nexus.events import DEAD_LETTER_CODEC, TOPIC_TRADES, DeadLetter, dlq_topic
from tests.integration.analytics.conftest import Running, eventually, quote, trade

pytestmark = pytest.mark.integration


async def test_trades_on_broker_become_positions_marked_at_their_last_trade(
    analytics: Running, holder: str
) -> None:
    resp = await analytics.http.get(
        f"/users/{holder}/positions", headers=analytics.tokens(holder, "trader")
    )
    rows = {p["symbol"]: p for p in resp.json()}
    assert set(rows) == {"AAPL", "MSFT", "XOM", "SPY"}
    assert rows["XOM"]["sector"] == "energy"
    assert rows["SPY"]["quantity"] == "-10"
    # the mark is the newest of last trade and quote mid: here the trades (no quote yet)
    assert {s: rows[s]["price"] for s in rows} == {
        "AAPL": "150",
        "MSFT": "300",
        "XOM": "80",
        "SPY": "400",
    }


async def test_trade_delivered_twice_changes_positions_once(
    analytics: Running, user: str, unique_name: Callable[[str], str]
) -> None:
    other = unique_name("cp")
    first = trade(f"{user}-dup", user, other, "AAPL", "150.00", 7, 1)
    second = trade(f"{user}-next", user, other, "AAPL", "151.00", 3, 2)
    await analytics.publish_trades([first, first, second, first])
    await analytics.wait_positions(user, {"AAPL": "10"})
    assert await analytics.positions(other) == {"AAPL": "-10"}
    await analytics.publish_trades([second])  # a later redelivery
    marker = trade(f"{user}-marker", user, other, "MSFT", "300.00", 1, 3)
    await analytics.publish_trades([marker])
    await analytics.wait_positions(user, {"AAPL": "10", "MSFT": "1"})


async def test_position_closed_to_zero_disappears(
    analytics: Running, user: str, unique_name: Callable[[str], str]
) -> None:
    other = unique_name("cp")
    await analytics.publish_trades(
        [
            trade(f"{user}-o", user, other, "MSFT", "300.00", 5, 1),
            trade(f"{user}-c", other, user, "MSFT", "301.00", 5, 2),
            trade(f"{user}-k", user, other, "AAPL", "150.00", 1, 3),
        ]
    )
    await analytics.wait_positions(user, {"AAPL": "1"})


@pytest.mark.parametrize(
    "method",
    [
        "historical",
        "historical_age_weighted",
        "parametric_normal",
        "cornish_fisher",
        "monte_carlo_normal",
        "monte_carlo_student_t",
    ],
)
async def test_var_of_each_method_is_a_positive_money_string(
    analytics: Running, holder: str, method: str
) -> None:
    resp = await analytics.http.get(
        f"/users/{holder}/var",
        params={"confidence": "0.99", "horizon": "10", "method": method},
        headers=analytics.tokens(holder, "trader"),
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["method"] == method
    assert body["horizon_days"] == 10
    var, es = Decimal(body["var"]), Decimal(body["expected_shortfall"])
    assert 0 < var <= es
    assert body["var"] == f"{var:.2f}"
    assert Decimal(body["portfolio_value"]) > 0
    assert "positive losses" in body["sign_convention"]


async def test_var_by_post_body_equals_var_by_query(analytics: Running, holder: str) -> None:
    headers = analytics.tokens(holder, "trader")
    by_query = await analytics.http.get(
        f"/users/{holder}/var",
        params={"confidence": "0.975", "horizon": "5", "method": "parametric_normal"},
        headers=headers,
    )
    by_body = await analytics.http.post(
        f"/users/{holder}/var",
        json={"confidence": 0.975, "horizon": 5, "method": "parametric_normal"},
        headers=headers,
    )
    assert by_body.status_code == 200, by_body.text
    assert by_body.json() == by_query.json()


async def test_summary_reports_values_and_one_day_var(analytics: Running, holder: str) -> None:
    resp = await analytics.http.get(
        f"/users/{holder}/summary", headers=analytics.tokens(holder, "trader")
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["n_positions"] == 4
    assert Decimal(body["short_value"]) < 0 < Decimal(body["long_value"])
    assert Decimal(body["market_value"]) == Decimal(body["long_value"]) + Decimal(
        body["short_value"]
    )
    assert Decimal(body["var_1d"]) > 0


async def test_quote_mid_moves_the_latest_price_of_positions(
    analytics: Running, holder: str
) -> None:
    # newer than the holder's trades (event time decides between a trade and a quote)
    await analytics.publish_quotes([quote("AAPL", "199.98", "200.02", 2 * 10**18)])

    async def moved() -> bool:
        resp = await analytics.http.get(
            f"/users/{holder}/positions", headers=analytics.tokens(holder, "trader")
        )
        return any(p["symbol"] == "AAPL" and p["price"] == "200" for p in resp.json())

    await eventually(moved)


async def test_dead_letters_one_sided_and_older_quotes_change_nothing(
    analytics: Running, holder: str, unique_name: Callable[[str], str]
) -> None:
    dead = DeadLetter(
        source_topic=TOPIC_TRADES,
        partition=0,
        offset=0,
        key=b"AAPL",
        payload=b"junk",
        reason="test",
        error_type="EventDecodeError",
        consumer_group="x",
        ts_dead_lettered=1,
    )
    producer = KafkaBus(analytics.settings.kafka_bootstrap or "").producer()
    try:
        await producer.publish(dlq_topic(TOPIC_TRADES), DEAD_LETTER_CODEC.encode(dead), b"AAPL")
    finally:
        await producer.close()
    one_sided = quote("MSFT", "300.00", "300.02", 5 * 10**18)
    await analytics.publish_quotes(
        [
            msgspec.structs.replace(one_sided, ask_price=0, ask_size=0),
            quote("MSFT", "310.00", "310.02", 5 * 10**18 + 2),
            quote("MSFT", "290.00", "290.02", 5 * 10**18 + 1),  # older: loses to the one above
        ]
    )
    other = unique_name("cp")
    await analytics.publish_trades([trade(f"{holder}-after", holder, other, "MSFT", "1", 1, 9)])
    await analytics.wait_positions(holder, {"AAPL": "100", "MSFT": "51", "XOM": "30", "SPY": "-10"})

    async def msft_at_310() -> bool:
        resp = await analytics.http.get(
            f"/users/{holder}/positions", headers=analytics.tokens(holder, "trader")
        )
        return any(p["symbol"] == "MSFT" and p["price"] == "310.01" for p in resp.json())

    await eventually(msft_at_310)
