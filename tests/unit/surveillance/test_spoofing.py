"""Spoofing: one large order near the touch, an opposite execution, then a quick cancel."""

from __future__ import annotations

import pytest

from services.surveillance.core.types import SEVERITY_BANDS, severity_for_score
from tests.unit.surveillance.conftest import EPISODE_AT, detect, of_type, opposite, spoof
from tests.unit.surveillance.market import MS, Market, S


def _spoofs(m: Market, owners: dict[str, str] | None = None, **th: object):
    alerts = detect(m.run(), owners=owners, thresholds={"SPOOFING": th} if th else None)
    return of_type(alerts, "SPOOFING")


@pytest.mark.parametrize("side", ["BUY", "SELL"])
def test_large_order_cancelled_after_opposite_execution_is_spoofing(market, side):
    ids = spoof(market, EPISODE_AT, side=side)
    alerts = _spoofs(market)
    assert len(alerts) == 1
    a = alerts[0]
    assert a.user_id == "SPF" and a.symbol == "XYZ"
    assert ids["spoof"] in a.order_ids and ids["genuine"] in a.order_ids
    assert a.trade_ids


@pytest.mark.parametrize("qty", [2000, 3000, 6000, 12000])
def test_sizes_well_above_the_level_depth_are_flagged(market, qty):
    spoof(market, EPISODE_AT, qty=qty)
    assert len(_spoofs(market)) == 1


@pytest.mark.parametrize("behind", [0, 1, 2, 3])
def test_orders_at_or_near_the_touch_are_flagged(market, behind):
    spoof(market, EPISODE_AT, behind=behind)
    assert len(_spoofs(market)) == 1


@pytest.mark.parametrize("behind", [6, 10])
def test_orders_far_from_the_touch_are_not_spoofing(market, behind):
    spoof(market, EPISODE_AT, behind=behind)
    assert _spoofs(market) == []


@pytest.mark.parametrize("cancel_after_ms", [60, 300, 1500])
def test_quick_cancels_are_flagged(market, cancel_after_ms):
    spoof(market, EPISODE_AT, cancel_after_ms=cancel_after_ms)
    assert len(_spoofs(market)) == 1


def test_cancel_after_the_maximum_lifetime_is_not_spoofing(market):
    spoof(market, EPISODE_AT, cancel_after_ms=8_000)
    assert _spoofs(market, max_lifetime_ms=5_000.0) == []


@pytest.mark.parametrize("qty", [100, 200, 300])
def test_ordinary_sizes_are_not_spoofing(market, qty):
    spoof(market, EPISODE_AT, qty=qty)
    assert _spoofs(market) == []


def test_no_opposite_execution_is_not_spoofing(market):
    ids: dict[str, str] = {}

    def place(t: int) -> None:
        ids["o"] = market.submit(t, "INST", "BUY", market.best("BUY") - 1, 3000)
        market.at(t + 300 * MS, lambda t2: market.cancel(t2, ids["o"]))

    market.at(EPISODE_AT, place)
    assert _spoofs(market) == []


def test_opposite_execution_after_the_cancel_is_not_spoofing(market):
    spoof(market, EPISODE_AT, genuine_after_ms=500, cancel_after_ms=100)
    assert _spoofs(market) == []


def test_execution_by_another_owner_is_not_spoofing(market):
    spoof(market, EPISODE_AT, genuine_user="OTHER", genuine_account="OTHER-A")
    assert _spoofs(market) == []


def test_execution_by_a_linked_account_of_the_same_owner_is_spoofing(market):
    spoof(market, EPISODE_AT, genuine_user="SPF2", genuine_account="SPF2-A")
    alerts = _spoofs(market, owners={"SPF-A": "BO-1", "SPF2-A": "BO-1"})
    assert len(alerts) == 1
    assert alerts[0].owner_id == "BO-1"


def test_genuine_order_as_large_as_the_big_order_is_not_a_lure(market):
    spoof(market, EPISODE_AT, qty=2000, genuine_qty=2000)
    assert _spoofs(market) == []


def test_two_sided_quotes_of_the_same_size_never_qualify(market):
    # A market maker: a large bid with an equally large offer resting on the other side.
    def quote(t: int) -> None:
        bid = market.submit(t, "MMX", "BUY", market.best("BUY") - 1, 3000)
        ask = market.submit(t, "MMX", "SELL", market.best("SELL") + 1, 3000)
        market.at(
            t + 5 * MS, lambda t2: market.submit(t2, "MMX", "SELL", market.best("BUY"), 100, "IOC")
        )
        market.at(t + 300 * MS, lambda t2: (market.cancel(t2, bid), market.cancel(t2, ask)))

    market.at(EPISODE_AT, quote)
    assert _spoofs(market) == []


def test_mostly_filled_order_is_not_spoofing(market):
    ids = spoof(market, EPISODE_AT, qty=2000, behind=0, cancel_after_ms=600)
    # Someone else sells into the big bid before it is cancelled.
    market.at(
        EPISODE_AT + 100 * MS,
        lambda t: market.submit(t, "SELLER", "SELL", market.best("BUY") - 5, 2000, "IOC"),
    )
    alerts = _spoofs(market)
    assert all(ids["spoof"] not in a.order_ids for a in alerts)


def test_alert_records_evidence_thresholds_and_explanation(market):
    spoof(market, EPISODE_AT)
    (a,) = _spoofs(market)
    measured = a.evidence["measured"]
    assert measured["fill_ratio"] == 0.0
    assert measured["lifetime_ms"] == pytest.approx(300.0, abs=1)
    assert measured["size_vs_symbol_median"] >= 10
    assert a.evidence["book_at_placement"]["distance_ticks"] == 1
    assert a.evidence["order"]["quantity"] == "3000"
    assert a.thresholds["max_lifetime_ms"] == 30_000.0 and a.thresholds["version"] == 1
    assert "SPF placed a buy order for 3000" in a.explanation
    assert "cancelled 300 ms after placement" in a.explanation


def test_severity_is_the_band_of_the_score(market):
    spoof(market, EPISODE_AT)
    (a,) = _spoofs(market)
    assert a.severity == severity_for_score(a.score)
    assert 0 <= a.score <= 100
    assert any(a.score >= low for low, _ in SEVERITY_BANDS)


def test_same_input_gives_the_same_alert_id():
    def run():
        m = Market()
        from tests.unit.surveillance.market import background

        background(m, seconds=45)
        spoof(m, EPISODE_AT)
        return _spoofs(m)

    assert [a.alert_id for a in run()] == [a.alert_id for a in run()]


def test_raising_min_score_to_100_silences_the_detector(market):
    spoof(market, EPISODE_AT)
    assert _spoofs(market, min_score=100.0) == []


def test_stricter_size_threshold_excludes_the_order(market):
    spoof(market, EPISODE_AT, qty=2000)
    assert _spoofs(market, min_size_vs_symbol_median=1000.0) == []


def test_window_covers_placement_to_cancel(market):
    spoof(market, EPISODE_AT, cancel_after_ms=300)
    (a,) = _spoofs(market)
    assert a.start_ns >= EPISODE_AT and a.end_ns - a.start_ns == pytest.approx(300 * MS, abs=MS)


def test_repeated_spoofs_are_separate_episodes(market):
    spoof(market, EPISODE_AT)
    spoof(market, EPISODE_AT + 3 * S, side="SELL")
    alerts = _spoofs(market)
    assert len(alerts) == 2 and len({a.alert_id for a in alerts}) == 2


def test_genuine_resting_order_placed_just_before_is_counted(market):
    # Coscia-like single order: the small genuine sell rests first, then the big bid lures
    # the fill, then the bid is cancelled.
    ids: dict[str, str] = {}

    def genuine(t: int) -> None:
        ids["g"] = market.submit(t, "SPF", "SELL", market.best("SELL"), 100)
        market.at(t + 50 * MS, big)

    def big(t: int) -> None:
        ids["b"] = market.submit(t, "SPF", "BUY", market.best("BUY"), 4000)
        market.at(
            t + 20 * MS,
            lambda t2: market.submit(t2, "TAKER", "BUY", market.best("SELL"), 5000, "IOC"),
        )
        market.at(
            t + 400 * MS, lambda t2: (market.cancel(t2, ids["b"]), market.cancel(t2, ids["g"]))
        )

    market.at(EPISODE_AT, genuine)
    alerts = _spoofs(market)
    assert len(alerts) == 1 and ids["b"] in alerts[0].order_ids


def test_single_order_is_never_reported_as_layering(market):
    spoof(market, EPISODE_AT)
    alerts = detect(market.run())
    assert of_type(alerts, "LAYERING") == []


def test_opposite_side_helper_is_symmetric():
    assert opposite(opposite("BUY")) == "BUY"
