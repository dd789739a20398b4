"""Momentum ignition: an aggressive burst that moves the price, then trading the other way."""

from __future__ import annotations

import pytest

from services.surveillance.core.types import severity_for_score
from tests.unit.surveillance.conftest import EPISODE_AT, detect, ignition, of_type
from tests.unit.surveillance.market import MS, Market, S, background


def _mi(m: Market, **th: object):
    alerts = detect(m.run(), thresholds={"MOMENTUM_IGNITION": th} if th else None)
    return of_type(alerts, "MOMENTUM_IGNITION")


@pytest.mark.parametrize("side", ["BUY", "SELL"])
def test_burst_then_reverse_orders_is_momentum_ignition(quiet_market, side):
    ids = ignition(quiet_market, EPISODE_AT, side=side)
    alerts = _mi(quiet_market)
    assert len(alerts) == 1
    a = alerts[0]
    assert a.user_id == "MOM"
    assert set(ids["burst"]) <= set(a.order_ids)
    assert set(ids["unwind"]) & set(a.order_ids)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_detected_across_background_seeds(seed):
    m = Market()
    background(m, seconds=45, seed=seed)
    ignition(m, EPISODE_AT, side="BUY")
    assert len(_mi(m)) == 1


@pytest.mark.parametrize("orders", [4, 6, 8, 12])
def test_bursts_of_several_orders_are_flagged(quiet_market, orders):
    ignition(quiet_market, EPISODE_AT, orders=orders)
    assert len(_mi(quiet_market)) == 1


@pytest.mark.parametrize("gap_ms", [5, 40, 200])
def test_burst_spacing_within_the_gap_is_one_burst(quiet_market, gap_ms):
    ignition(quiet_market, EPISODE_AT, gap_ms=gap_ms)
    alerts = _mi(quiet_market)
    assert len(alerts) == 1
    assert alerts[0].evidence["burst"]["orders"] >= 3


@pytest.mark.parametrize("unwind_after_ms", [20, 2_000, 60_000])
def test_reversal_within_minutes_is_flagged(quiet_market, unwind_after_ms):
    ignition(quiet_market, EPISODE_AT, unwind_after_ms=unwind_after_ms)
    assert len(_mi(quiet_market)) == 1


def test_reversal_after_the_window_is_not_flagged(quiet_market):
    ignition(quiet_market, EPISODE_AT, unwind_after_ms=400_000)
    assert _mi(quiet_market) == []


def test_burst_without_reversal_is_a_sliced_parent_not_ignition(quiet_market):
    ignition(quiet_market, EPISODE_AT, unwind=False)
    assert _mi(quiet_market) == []


def test_tiny_reversal_is_not_enough(quiet_market):
    ignition(quiet_market, EPISODE_AT, unwind_qty=10)
    assert _mi(quiet_market, min_reversal_ratio=0.5) == []


def test_two_orders_are_not_a_burst(quiet_market):
    ignition(quiet_market, EPISODE_AT, orders=2)
    assert _mi(quiet_market) == []


def test_small_orders_that_do_not_move_the_price_are_not_ignition(quiet_market):
    ignition(quiet_market, EPISODE_AT, size=100, through=0)
    assert _mi(quiet_market) == []


def test_orders_spaced_beyond_the_gap_are_not_one_burst(quiet_market):
    ignition(quiet_market, EPISODE_AT, gap_ms=5_000)
    assert _mi(quiet_market) == []


def test_news_jump_with_many_participants_is_not_ignition(quiet_market):
    # Twelve participants hit the offer at once; one of them later sells.
    m = quiet_market

    def crowd(t: int) -> None:
        for k in range(12):
            for j in range(2):
                m.at(
                    t + (k * 7 + j * 40) * MS,
                    lambda t2, k=k: m.submit(t2, f"NEWS{k}", "BUY", m.best("SELL") + 2, 300, "IOC"),
                )
        m.at(t + 2 * S, lambda t2: m.submit(t2, "NEWS0", "SELL", m.best("SELL"), 600))

    m.at(EPISODE_AT, crowd)
    assert _mi(m) == []


def test_sole_aggressor_passes_even_a_full_share_threshold(quiet_market):
    ignition(quiet_market, EPISODE_AT)
    assert _mi(quiet_market, min_burst_share=1.0, min_score=0.0) != []


def test_stricter_sigma_threshold_excludes_the_burst(quiet_market):
    ignition(quiet_market, EPISODE_AT)
    assert _mi(quiet_market, min_move_sigmas=1000.0) == []


def test_min_ticks_threshold_is_honoured(quiet_market):
    ignition(quiet_market, EPISODE_AT)
    assert _mi(quiet_market, min_move_ticks=50) == []


def test_evidence_records_move_sigma_share_and_reversal(quiet_market):
    ignition(quiet_market, EPISODE_AT)
    (a,) = _mi(quiet_market)
    price = a.evidence["price"]
    assert price["move_ticks"] >= 2 and price["move_sigmas"] >= 3
    assert a.evidence["participation"]["share_of_aggressive_volume"] >= 0.5
    assert a.evidence["reversal"]["ratio_to_burst"] > 0
    assert a.thresholds["min_move_sigmas"] == 3.0
    assert "aggressive buy orders" in a.explanation and "into the move" in a.explanation


def test_severity_and_window(quiet_market):
    ignition(quiet_market, EPISODE_AT)
    (a,) = _mi(quiet_market)
    assert a.severity == severity_for_score(a.score)
    assert a.start_ns >= EPISODE_AT and a.end_ns > a.start_ns


def test_alert_id_is_the_first_burst_order(quiet_market):
    ids = ignition(quiet_market, EPISODE_AT)
    (a,) = _mi(quiet_market)
    assert a.order_ids[0] == ids["burst"][0]


def test_mirror_image_sequences_give_two_alerts():
    m = Market()
    background(m, seconds=45, seed=4)
    ignition(m, EPISODE_AT, side="BUY", user="MOM")
    ignition(m, EPISODE_AT + 5 * S, side="SELL", user="MOM2")
    alerts = _mi(m)
    assert {a.user_id for a in alerts} == {"MOM", "MOM2"}


def test_no_alert_before_the_volatility_is_known():
    m = Market()
    background(m, seconds=10, seed=4)
    from tests.unit.surveillance.market import T0

    ignition(m, T0 + 2 * S)
    assert _mi(m) == []


def test_detector_can_be_left_out_of_the_engine(quiet_market):
    ignition(quiet_market, EPISODE_AT)
    alerts = detect(quiet_market.run(), detector_types=["SPOOFING"])
    assert of_type(alerts, "MOMENTUM_IGNITION") == []
