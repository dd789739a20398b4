"""The simulated exchange's core: participants' ladder, client orders, fees, rejects."""

from __future__ import annotations

import pytest

from nexus._ext.book import SIDE_BUY, SIDE_SELL
from nexus.money import to_raw
from services.venues.core import (
    PROFILES,
    Exchange,
    FeeSchedule,
    LatencyModel,
    VenueProfile,
    VenueReject,
    mul_raw,
)

Q = to_raw
SYM = "SIM0000"


def quiet(name: str = "ALPHA", **changes: object) -> VenueProfile:
    """A profile without fades or random rejects (deterministic books)."""
    import msgspec

    base: dict[str, object] = {"fade_probability": 0.0, "reject_probability": 0.0}
    return msgspec.structs.replace(PROFILES[name], **{**base, **changes})


def exchange(profile: VenueProfile | None = None, price: str = "50.00") -> Exchange:
    ex = Exchange(profile or quiet(), {SYM: Q(price)})
    ex.requote(SYM, 1)
    return ex


def test_requote_places_the_ladder_around_the_fundamental() -> None:
    ex = exchange()
    l1 = ex.l1(SYM, 5, "q1")
    assert l1.ask_price - l1.bid_price == Q("0.01")
    assert Q("49.98") <= l1.bid_price <= Q("50.01")
    depth = ex.depth(SYM, 5, "q2", 10)
    assert len(depth.bids) == len(depth.asks) == PROFILES["ALPHA"].levels
    assert all(lvl.size % Q("100") == 0 and lvl.orders >= 1 for lvl in depth.bids + depth.asks)


def test_requote_follows_a_moved_fundamental() -> None:
    ex = exchange()
    ex.set_fundamental(SYM, Q("60.00"))
    ex.requote(SYM, 2)
    l1 = ex.l1(SYM, 2, "q")
    assert Q("59.98") <= l1.bid_price <= Q("60.01")
    assert ex.fundamental(SYM) == Q("60.00")


def test_set_fundamental_ignores_unknown_symbols_and_non_positive_prices() -> None:
    ex = exchange()
    ex.set_fundamental("OTHER", Q("1"))
    ex.set_fundamental(SYM, 0)
    assert ex.fundamental(SYM) == Q("50.00") and ex.symbols == [SYM]


def test_marketable_ioc_reports_new_then_fills_with_taker_fees() -> None:
    ex = exchange()
    ask = ex.l1(SYM, 1, "q").ask_price
    reports = ex.submit("S", "c1", SYM, "BUY", Q("100"), ask, "IOC", 10)
    assert [r.exec_type for r in reports] == ["NEW", "FILL"]
    fill = reports[-1]
    assert fill.last_px == ask and fill.last_qty == Q("100") and fill.leaves_qty == 0
    assert fill.fee == Q("0.30") and fill.liquidity == "REMOVED"
    assert fill.avg_px == ask and fill.terminal and fill.session == "S"


def test_ioc_beyond_the_book_fills_what_is_there_and_cancels_the_rest() -> None:
    ex = exchange()
    reports = ex.submit("S", "c1", SYM, "SELL", Q("1000000"), Q("49.00"), "IOC", 10)
    kinds = [r.exec_type for r in reports]
    assert kinds[0] == "NEW" and kinds[-1] == "CANCELED" and "PARTIAL" in kinds
    filled = sum(r.last_qty for r in reports)
    assert reports[-1].cum_qty == filled and reports[-1].leaves_qty == 0
    assert reports[-1].text == "IOC remainder"
    assert ex.l1(SYM, 11, "q").bid_price == 0  # the whole bid side was taken


def test_non_marketable_ioc_is_cancelled_without_fills() -> None:
    ex = exchange()
    reports = ex.submit("S", "c1", SYM, "BUY", Q("100"), Q("40.00"), "IOC", 10)
    assert [r.exec_type for r in reports] == ["NEW", "CANCELED"]
    assert reports[-1].cum_qty == 0


@pytest.mark.parametrize(
    ("symbol", "side", "qty", "price", "tif", "reason"),
    [
        ("NOPE", "BUY", "100", "50", "IOC", "unknown symbol"),
        (SYM, "HOLD", "100", "50", "IOC", "unsupported side"),
        (SYM, "BUY", "100", "50", "FOK", "unsupported time in force"),
        (SYM, "BUY", "0", "50", "IOC", "whole number"),
        (SYM, "BUY", "1.5", "50", "IOC", "whole number"),
        (SYM, "BUY", "100", "50.001", "IOC", "tick"),
        (SYM, "BUY", "100", "0", "IOC", "tick"),
    ],
)
def test_invalid_orders_are_rejected_naming_the_reason(
    symbol: str, side: str, qty: str, price: str, tif: str, reason: str
) -> None:
    ex = exchange()
    (report,) = ex.submit("S", "c1", symbol, side, Q(qty), Q(price), tif, 10)
    assert report.exec_type == "REJECTED" and reason in report.text
    assert report.terminal and ex.rejects == 1


def test_duplicate_client_order_id_is_rejected_per_session() -> None:
    ex = exchange()
    ex.submit("S", "c1", SYM, "BUY", Q("100"), Q("40.00"), "DAY", 1)
    (dup,) = ex.submit("S", "c1", SYM, "BUY", Q("100"), Q("40.00"), "DAY", 2)
    other = ex.submit("T", "c1", SYM, "BUY", Q("100"), Q("40.00"), "DAY", 2)
    assert dup.exec_type == "REJECTED" and "duplicate" in dup.text
    assert other[0].exec_type == "NEW"


def test_reject_probability_one_refuses_every_order() -> None:
    ex = exchange(quiet(reject_probability=1.0))
    reports = [
        ex.submit("S", f"c{i}", SYM, "BUY", Q("100"), Q("50.00"), "IOC", 1) for i in range(5)
    ]
    assert all(r[0].exec_type == "REJECTED" and "busy" in r[0].text for r in reports)


def test_day_order_rests_then_replace_and_cancel() -> None:
    ex = exchange()
    (new,) = ex.submit("S", "c1", SYM, "BUY", Q("100"), Q("45.00"), "DAY", 1)
    assert new.exec_type == "NEW" and new.leaves_qty == Q("100") and not new.terminal
    (replaced,) = ex.replace("S", "c2", "c1", Q("300"), Q("45.50"), 2)
    assert replaced.exec_type == "REPLACED" and replaced.orig_cl_ord_id == "c1"
    assert replaced.price == Q("45.50") and replaced.leaves_qty == Q("300")
    state = ex.order_state("S", "c2")
    assert state is not None and state.leaves_qty == Q("300")
    (cancelled,) = ex.cancel("S", "c3", "c2", 3)
    assert cancelled.exec_type == "CANCELED" and cancelled.leaves_qty == 0
    with pytest.raises(VenueReject, match="not open"):
        ex.cancel("S", "c4", "c2", 4)
    with pytest.raises(VenueReject, match="unknown order"):
        ex.cancel("S", "c5", "nope", 4)
    assert ex.order_state("S", "nope") is None


def test_replace_is_refused_below_the_filled_quantity_or_off_tick() -> None:
    ex = exchange()
    bid = ex.l1(SYM, 1, "q").bid_price
    reports = ex.submit("S", "c1", SYM, "SELL", Q("1000000"), bid, "DAY", 1)
    filled = reports[-1].cum_qty
    assert filled > 0
    with pytest.raises(VenueReject, match="at or below"):
        ex.replace("S", "c2", "c1", filled, Q("60.00"), 2)
    with pytest.raises(VenueReject, match="tick"):
        ex.replace("S", "c3", "c1", Q("2000000"), Q("60.001"), 2)
    ex.submit("S", "c9", SYM, "SELL", Q("100"), Q("70.00"), "DAY", 1)
    with pytest.raises(VenueReject, match="duplicate"):
        ex.replace("S", "c9", "c1", Q("2000000"), Q("60.00"), 2)


def test_resting_client_order_filled_by_another_client_reports_a_maker_fill_to_its_owner() -> None:
    ex = exchange(quiet("BRAVO"))
    ex.submit("ROUTER", "m1", SYM, "SELL", Q("100"), Q("55.00"), "DAY", 1)
    reports = ex.submit("TAKER", "t1", SYM, "BUY", Q("100000"), Q("55.00"), "IOC", 2)
    maker = [r for r in reports if r.session == "ROUTER"]
    assert len(maker) == 1 and maker[0].exec_type == "FILL"
    assert maker[0].liquidity == "ADDED" and maker[0].fee == Q("0.10")  # BRAVO charges makers
    taker = [r for r in reports if r.session == "TAKER" and r.last_px == Q("55.00")]
    assert taker[0].fee == -Q("0.05")  # and pays takers


def test_participant_takers_hit_resting_client_orders_on_requote() -> None:
    ex = Exchange(quiet(seed=3), {SYM: Q("50.00")})
    ex.requote(SYM, 1)
    bid = ex.l1(SYM, 1, "q").bid_price
    # joins the best bid; after the next requote it is first in time at its level
    ex.submit("ROUTER", "m1", SYM, "BUY", Q("100"), bid, "DAY", 1)
    maker_reports = []
    for t in range(200):
        maker_reports += ex.requote(SYM, 2 + t)
        if maker_reports:
            break
    assert maker_reports and maker_reports[0].liquidity == "ADDED"
    assert maker_reports[0].cl_ord_id == "m1"


def test_fade_removes_the_best_opposite_order_before_a_marketable_order() -> None:
    faded = exchange(quiet(fade_probability=1.0))
    steady = exchange(quiet())
    ask = steady.l1(SYM, 1, "q").ask_price
    size = steady.l1(SYM, 1, "q").ask_size
    a = steady.submit("S", "c", SYM, "BUY", size, ask, "IOC", 2)[-1]
    b = faded.submit("S", "c", SYM, "BUY", size, ask, "IOC", 2)[-1]
    assert a.exec_type == "FILL" and a.cum_qty == size
    assert b.exec_type == "CANCELED" and b.cum_qty < size  # the quote faded: a partial fill


def test_unknown_symbol_queries_raise() -> None:
    ex = exchange()
    with pytest.raises(VenueReject):
        ex.l1("NOPE", 1, "q")
    with pytest.raises(VenueReject):
        ex.requote("NOPE", 1)


def test_fee_schedule_models_and_rounding() -> None:
    maker_taker = FeeSchedule(maker_per_share=-Q("0.002"), taker_per_share=Q("0.003"))
    inverted = FeeSchedule(maker_per_share=Q("0.001"), taker_per_share=-Q("0.0005"))
    assert maker_taker.model == "maker-taker" and inverted.model == "taker-maker"
    assert maker_taker.fee(Q("100"), maker=True) == -Q("0.2")
    assert mul_raw(1, 500_000_000) == 0 and mul_raw(3, 500_000_000) == 2  # half-even


def test_latency_model_draws_are_capped_and_zero_median_is_instant() -> None:
    import random

    rng = random.Random(1)
    model = LatencyModel(median_ms=2.0, sigma=1.0, max_ms=3.0)
    draws = [model.draw_ms(rng) for _ in range(500)]
    assert max(draws) <= 3.0 and min(draws) > 0
    assert LatencyModel(median_ms=0.0).draw_ms(rng) == 0.0


def test_profiles_of_make_run_are_maker_taker_inverted_and_slower() -> None:
    assert PROFILES["ALPHA"].fees.model == "maker-taker"
    assert PROFILES["BRAVO"].fees.model == "taker-maker"
    assert PROFILES["CHARLIE"].latency.median_ms > PROFILES["ALPHA"].latency.median_ms
    assert PROFILES["ALPHA"].tick_raw == Q("0.01") and PROFILES["ALPHA"].lot_raw == Q("100")


def test_sides_of_the_compiled_book_match() -> None:
    assert (SIDE_BUY, SIDE_SELL) == (0, 1)
