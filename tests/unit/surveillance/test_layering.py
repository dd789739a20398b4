"""Layering: orders on successive levels of one side, an opposite execution, the cancels.

Includes the reconstructed enforcement cases: a Coscia-style cycle (large orders on three
consecutive ticks, a small fill on the other side, all cancelled within about a second, then
mirrored) and a Sarao-style ladder kept at the back of the queue.
"""

from __future__ import annotations

import pytest

from tests.unit.surveillance.conftest import EPISODE_AT, detect, layers, of_type
from tests.unit.surveillance.market import MS, Market, S


def _layering(m: Market, owners: dict[str, str] | None = None, **th: object):
    alerts = detect(m.run(), owners=owners, thresholds={"LAYERING": th} if th else None)
    return of_type(alerts, "LAYERING")


@pytest.mark.parametrize("side", ["BUY", "SELL"])
def test_successive_levels_then_opposite_fill_then_cancels_is_layering(market, side):
    ids = layers(market, EPISODE_AT, side=side)
    alerts = _layering(market)
    assert len(alerts) == 1
    a = alerts[0]
    assert a.user_id == "LAY"
    assert set(ids["layers"]) <= set(a.order_ids)
    assert ids["genuine"][0] in a.order_ids
    assert a.evidence["measured"]["levels"] == 4


@pytest.mark.parametrize("count", [2, 3, 5, 8])
def test_any_number_of_layers_from_two_is_layering(market, count):
    layers(market, EPISODE_AT, count=count, qty=3200 // count + 400)
    alerts = _layering(market)
    assert len(alerts) == 1
    assert alerts[0].evidence["measured"]["levels"] == count


@pytest.mark.parametrize("placement_gap_ms", [0, 50, 200])
def test_layers_placed_in_quick_succession_are_one_ladder(market, placement_gap_ms):
    layers(market, EPISODE_AT, placement_gap_ms=placement_gap_ms)
    assert len(_layering(market)) == 1


@pytest.mark.parametrize("cancel_after_ms", [100, 400, 2000])
def test_cancel_delays_up_to_seconds_are_layering(market, cancel_after_ms):
    layers(market, EPISODE_AT, cancel_after_ms=cancel_after_ms)
    assert len(_layering(market)) == 1


@pytest.mark.parametrize("step", [1, 2])
def test_levels_may_skip_one_tick(market, step):
    layers(market, EPISODE_AT, step=step)
    assert len(_layering(market)) == 1


def test_levels_spread_wider_than_the_gap_are_not_a_ladder(market):
    layers(market, EPISODE_AT, step=5, first_behind=1)
    assert _layering(market) == []


def test_ladder_far_from_the_touch_is_not_layering(market):
    layers(market, EPISODE_AT, first_behind=15)
    assert _layering(market) == []


def test_layers_without_an_opposite_execution_are_not_layering(market):
    ids: dict[str, list[str]] = {"l": []}

    def place(t: int) -> None:
        for k in range(4):
            ids["l"].append(market.submit(t, "INST", "BUY", market.best("BUY") - 1 - k, 800))
        market.at(t + 400 * MS, lambda t2: [market.cancel(t2, o) for o in ids["l"]])

    market.at(EPISODE_AT, place)
    assert _layering(market) == []


def test_small_layers_are_not_layering(market):
    layers(market, EPISODE_AT, qty=100)
    assert _layering(market) == []


def test_layers_left_resting_are_not_alerted(market):
    layers(market, EPISODE_AT, cancel_after_ms=700_000)
    assert _layering(market) == []


def test_layers_mostly_filled_are_not_layering(market):
    layers(market, EPISODE_AT, first_behind=0, count=3, qty=600)
    market.at(
        EPISODE_AT + 5 * MS,
        lambda t: market.submit(t, "SELLER", "SELL", market.best("BUY") - 10, 5000, "IOC"),
    )
    assert _layering(market) == []


def test_opposite_execution_by_an_unrelated_owner_is_not_layering(market):
    ids: dict[str, list[str]] = {"l": []}

    def place(t: int) -> None:
        for k in range(4):
            ids["l"].append(market.submit(t, "LAY", "BUY", market.best("BUY") - 1 - k, 800))
        market.at(
            t + 20 * MS,
            lambda t2: market.submit(t2, "OTHER", "SELL", market.best("BUY"), 100, "IOC"),
        )
        market.at(t + 400 * MS, lambda t2: [market.cancel(t2, o) for o in ids["l"]])

    market.at(EPISODE_AT, place)
    assert _layering(market) == []


def test_opposite_execution_by_a_linked_account_counts(market):
    ids: dict[str, list[str]] = {"l": []}

    def place(t: int) -> None:
        for k in range(4):
            ids["l"].append(market.submit(t, "LAY", "BUY", market.best("BUY") - 1 - k, 800))
        market.at(
            t + 20 * MS,
            lambda t2: market.submit(t2, "LAY2", "SELL", market.best("BUY"), 100, "IOC"),
        )
        market.at(t + 400 * MS, lambda t2: [market.cancel(t2, o) for o in ids["l"]])

    market.at(EPISODE_AT, place)
    alerts = _layering(market, owners={"LAY-A": "BO-L", "LAY2-A": "BO-L"})
    assert len(alerts) == 1 and alerts[0].owner_id == "BO-L"


def test_symmetric_ladders_on_both_sides_are_market_making(market):
    ids: dict[str, list[str]] = {"l": []}

    def place(t: int) -> None:
        bid, ask = market.best("BUY"), market.best("SELL")
        for k in range(3):
            ids["l"].append(market.submit(t, "MMX", "BUY", bid - 1 - k, 800))
            ids["l"].append(market.submit(t, "MMX", "SELL", ask + 1 + k, 800))
        market.at(
            t + 20 * MS, lambda t2: market.submit(t2, "MMX", "SELL", market.best("BUY"), 100, "IOC")
        )
        market.at(t + 400 * MS, lambda t2: [market.cancel(t2, o) for o in ids["l"]])

    market.at(EPISODE_AT, place)
    assert _layering(market) == []


def test_one_alert_per_ladder_updated_as_layers_are_cancelled(market):
    layers(market, EPISODE_AT, cancel_gap_ms=50)
    alerts = _layering(market)
    assert len(alerts) == 1
    a = alerts[0]
    assert a.version >= 1
    assert a.evidence["measured"]["cancelled_fraction"] == 1.0


def test_alert_explains_levels_and_timing(market):
    layers(market, EPISODE_AT)
    (a,) = _layering(market)
    assert "4 buy orders on 4 successive price levels" in a.explanation
    assert a.evidence["layers"][0]["quantity"] == "800"
    assert a.thresholds["min_layers"] == 2
    assert a.severity in ("LOW", "MEDIUM", "HIGH", "CRITICAL")


def test_min_layers_threshold_is_honoured(market):
    layers(market, EPISODE_AT, count=3)
    assert _layering(market, min_layers=5) == []


def test_coscia_cycle_raises_layering_on_both_sides(market):
    """Large orders on three consecutive ticks, a small fill on the other side, all cancelled
    within about a second; then the mirror image."""

    def cycle(t: int, side: str) -> None:
        other = "SELL" if side == "BUY" else "BUY"
        sign = -1 if side == "BUY" else 1
        small = market.submit(t, "COSCIA", other, market.best(other), 100)
        best = market.best(side)
        big = [market.submit(t + MS, "COSCIA", side, best + sign * k, 1500) for k in range(3)]
        # The lure works: somebody takes the small order.
        market.at(
            t + 200 * MS,
            lambda t2: market.submit(t2, "FOLLOW", side, market.best(other), 3000, "IOC"),
        )
        market.at(t + 900 * MS, lambda t2: [market.cancel(t2, o) for o in [*big, small]])

    market.at(EPISODE_AT, lambda t: cycle(t, "BUY"))
    market.at(EPISODE_AT + 2 * S, lambda t: cycle(t, "SELL"))
    alerts = _layering(market)
    assert len(alerts) == 2
    assert {a.evidence["layers"][0]["price"] != "" for a in alerts} == {True}
    assert all(a.user_id == "COSCIA" for a in alerts)
    sides = set()
    for a in alerts:
        sides.add("BUY" if "buy orders" in a.explanation else "SELL")
    assert sides == {"BUY", "SELL"}


def test_sarao_ladder_kept_at_the_back_of_the_queue_is_layering(market):
    """Five large sell orders 3-7 ticks above the offer, re-priced as the market moves so they
    stay behind the queue and never fill, while the same trader buys; then pulled."""
    ids: dict[str, list[str]] = {"l": []}

    def ladder(t: int) -> None:
        ask = market.best("SELL")
        for k in range(5):
            ids["l"].append(market.submit(t + k * MS, "SARAO", "SELL", ask + 3 + k, 2500))
        market.at(t + 300 * MS, reprice)
        market.at(
            t + 600 * MS,
            lambda t2: market.submit(t2, "SARAO", "BUY", market.best("SELL"), 200, "IOC"),
        )
        market.at(
            t + 1500 * MS,
            lambda t2: [market.cancel(t2 + k * MS, o) for k, o in enumerate(ids["l"])],
        )

    def reprice(t: int) -> None:
        ask = market.best("SELL")
        for k, oid in enumerate(ids["l"]):
            market.amend(t, oid, ask + 3 + k)

    market.at(EPISODE_AT, ladder)
    alerts = _layering(market)
    assert len(alerts) == 1
    a = alerts[0]
    assert a.user_id == "SARAO" and a.evidence["measured"]["fill_ratio"] == 0.0
    assert set(ids["l"]) <= set(a.order_ids)
    assert of_type(detect(market.events), "SPOOFING") == []


def test_layering_score_is_deterministic(market):
    layers(market, EPISODE_AT)
    events = market.run()
    assert [a.score for a in of_type(detect(events), "LAYERING")] == [
        a.score for a in of_type(detect(events), "LAYERING")
    ]


@pytest.mark.parametrize("qty", [600, 1500])
def test_layer_sizes_relative_to_the_symbol_are_flagged(market, qty):
    layers(market, EPISODE_AT, qty=qty)
    assert len(_layering(market)) == 1


def test_partial_cancellation_below_the_fraction_is_not_yet_layering(market):
    layers(market, EPISODE_AT, count=4, cancel_after_ms=400)
    assert _layering(market, min_cancelled_fraction=1.0) != []
    m2 = Market()
    from tests.unit.surveillance.market import background

    background(m2, seconds=45)
    ids = layers(m2, EPISODE_AT, count=4, cancel_after_ms=700_000)
    # Only one of four layers is pulled quickly.
    m2.at(EPISODE_AT + 500 * MS, lambda t: m2.cancel(t, ids["layers"][0]))
    assert _layering(m2) == []
