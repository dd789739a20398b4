"""Regulatory parameters as dated data (Rules 610, 612, round lots) and Rule 611 protection."""

from __future__ import annotations

import datetime as dt

import pytest

from nexus.regulation import (
    AMENDMENT_2024_EFFECTIVE,
    REG_NMS_2005,
    REG_NMS_2024,
    RuleBook,
    date_ns,
)
from services.routing.core import InvalidOrder, NoOrderProtection, Strategy
from tests.support.routing_fakes import BookVenue, px, sh
from tests.unit.routing.conftest import T_BEFORE, T_NOW, build_router


# -- the data -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rules", "price", "cap"),
    [
        (REG_NMS_2005, px("10.00"), px("0.003")),
        (REG_NMS_2024, px("10.00"), px("0.001")),
        (REG_NMS_2005, px("0.50"), px("0.0015")),  # 0.3% of $0.50
        (REG_NMS_2024, px("0.50"), px("0.0005")),  # 0.1% of $0.50
        (REG_NMS_2024, px("1.00"), px("0.001")),
    ],
)
def test_rule_610_access_fee_cap(rules: object, price: int, cap: int) -> None:
    assert rules.access_fee_cap(price) == cap  # type: ignore[attr-defined]
    assert rules.capped_fee(px("0.01"), price) == cap  # type: ignore[attr-defined]
    assert rules.capped_fee(-px("0.002"), price) == -px("0.002")  # type: ignore[attr-defined]


def test_rule_612_ticks_and_half_penny_tier() -> None:
    tiered = REG_NMS_2024.with_half_penny_symbols(frozenset({"XYZ"}))
    assert tiered.tick_size("XYZ", px("10.00")) == px("0.005")
    assert tiered.tick_size("ABC", px("10.00")) == px("0.01")
    assert tiered.tick_size("XYZ", px("0.50")) == px("0.0001")
    assert REG_NMS_2005.with_half_penny_symbols(frozenset({"XYZ"})).tick_size(
        "XYZ", px("10")
    ) == px("0.01")
    assert tiered.is_on_tick("XYZ", px("10.005")) and not REG_NMS_2005.is_on_tick(
        "XYZ", px("10.005")
    )


@pytest.mark.parametrize(
    ("rules", "price", "lot"),
    [
        (REG_NMS_2005, px("300.00"), sh(100)),
        (REG_NMS_2024, px("250.00"), sh(100)),
        (REG_NMS_2024, px("250.01"), sh(40)),
        (REG_NMS_2024, px("1000.00"), sh(40)),
        (REG_NMS_2024, px("5000.00"), sh(10)),
        (REG_NMS_2024, px("20000.00"), sh(1)),
    ],
)
def test_round_lots_by_price_tier(rules: object, price: int, lot: int) -> None:
    assert rules.round_lot(price) == lot  # type: ignore[attr-defined]


def test_rule_book_picks_the_set_in_force_on_a_date() -> None:
    book = RuleBook()
    assert book.on(AMENDMENT_2024_EFFECTIVE - dt.timedelta(days=1)) is REG_NMS_2005
    assert book.on(AMENDMENT_2024_EFFECTIVE) is REG_NMS_2024
    assert book.on(dt.date(1990, 1, 1)) is REG_NMS_2005
    assert book.at(date_ns(AMENDMENT_2024_EFFECTIVE)) is REG_NMS_2024
    assert book.at(date_ns(AMENDMENT_2024_EFFECTIVE) - 1) is REG_NMS_2005
    assert book.rule_sets == (REG_NMS_2005, REG_NMS_2024)
    with pytest.raises(ValueError):
        RuleBook(())


# -- the same order under both dates ---------------------------------------------------------------
async def test_same_order_routes_differently_before_and_after_the_2024_amendment() -> None:
    # A charges 0.0030, B 0.0025: before the amendment B is cheaper; after, both are capped at
    # 0.0010, and A wins the tie on latency.
    for when, venue, fee, name in (
        (T_BEFORE, "B", px("0.0025"), "REG_NMS_2005"),
        (T_NOW, "A", px("0.001"), "REG_NMS_2024_AMENDMENT"),
    ):
        a = BookVenue("A", asks=[(px("10.00"), sh(500))], taker_fee=px("0.003"), latency_ns=500_000)
        b = BookVenue(
            "B", asks=[(px("10.00"), sh(500))], taker_fee=px("0.0025"), latency_ns=900_000
        )
        router, _, _ = build_router(a, b, now=when)
        d = await router.route_order("o", "u", "XYZ", "BUY", sh(100), 0, Strategy.LOWEST_COST)
        assert [c.venue_id for c in d.children] == [venue]
        assert d.children[0].expected_fee == fee * 100
        assert d.rule_set == name
        assert d.metrics["fee_cap_per_share"] == (px("0.003") if when == T_BEFORE else px("0.001"))


async def test_half_penny_limit_is_valid_only_after_the_amendment() -> None:
    rules = RuleBook((REG_NMS_2005, REG_NMS_2024.with_half_penny_symbols(frozenset({"XYZ"}))))
    a = BookVenue("A", asks=[(px("10.005"), sh(500))])
    router, _, _ = build_router(a, now=T_NOW, rules=rules)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(100), px("10.005"), Strategy.BEST_PRICE)
    assert d.children[0].limit_price == px("10.005")
    with pytest.raises(InvalidOrder, match="Rule 612"):
        await router.route_order("o", "u", "XYZ", "BUY", sh(100), px("10.005"), ts_ns=T_BEFORE)


async def test_odd_lot_quote_protection_depends_on_the_round_lot_of_the_date() -> None:
    # 50 shares at $300 is an odd lot before the amendment (lot 100) and a round lot after (40)
    for when, swept in ((T_BEFORE, False), (T_NOW, True)):
        a = BookVenue("A", asks=[(px("300.00"), sh(50))], protected=True)
        b = BookVenue("B", asks=[(px("300.01"), sh(500))])
        router, _, _ = build_router(a, b, now=when)
        plan = router.prepare(
            "XYZ", "BUY", sh(100), 0, Strategy.FASTEST, when, router.rules.at(when)
        )
        assert ({p.venue_id for p in plan.protected} == {"A", "B"}) is swept


# -- Rule 611 -------------------------------------------------------------------------------------
async def test_sweeping_past_a_better_protected_quote_sends_isos_for_its_full_size() -> None:
    a = BookVenue("A", asks=[(px("10.00"), sh(100))])
    b = BookVenue("B", asks=[(px("10.01"), sh(1000))], latency_ns=100_000)
    router, _, _ = build_router(a, b)
    _ = await router.route_order("o", "u", "XYZ", "BUY", sh(500), 0, Strategy.SMART)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(500), 0, Strategy.FASTEST)
    kinds = {c.venue_id: (c.kind, c.quantity, c.iso) for c in d.children}
    assert kinds == {"A": ("ISO", sh(100), True), "B": ("SWEEP", sh(400), True)}
    assert [(e.kind, e.venue_id, e.quantity) for e in d.protection_exceptions] == [
        ("ISO", "A", sh(100))
    ]


async def test_unreachable_protected_quote_is_never_traded_through() -> None:
    a = BookVenue("A", asks=[(px("10.01"), sh(1000))])
    router, market, _ = build_router(a)
    market.update_l1("XYZ", "OTHER", px("9.99"), sh(100), px("10.00"), sh(100), T_NOW - 10)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(300), px("10.05"), Strategy.SMART)
    assert [(c.kind, c.limit_price) for c in d.children] == [("RESIDUAL", px("10.00"))]
    free, _, _ = build_router(
        BookVenue("A", asks=[(px("10.01"), sh(1000))]), protection=NoOrderProtection()
    )
    free.market.update_l1("XYZ", "OTHER", px("9.99"), sh(100), px("10.00"), sh(100), T_NOW - 10)
    d2 = await free.route_order("o", "u", "XYZ", "BUY", sh(300), px("10.05"), Strategy.SMART)
    assert [(c.kind, c.venue_id, c.quantity) for c in d2.children] == [("SWEEP", "A", sh(300))]
    assert d2.protection == "NONE" and d2.protection_exceptions == ()


async def test_crossed_market_exception_is_recorded() -> None:
    a = BookVenue("A", asks=[(px("10.02"), sh(1000))])
    router, market, _ = build_router(a)
    market.update_l1("XYZ", "OTHER", px("10.03"), sh(100), px("10.04"), sh(100), T_NOW - 10)
    market.update_l1("XYZ", "THIRD", px("9.90"), sh(100), px("10.00"), sh(100), T_NOW - 10)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(300), 0, Strategy.SMART)
    assert d.nbbo.state == "CROSSED"
    assert [(c.venue_id, c.quantity) for c in d.children] == [("A", sh(300))]
    assert [(e.kind, e.venue_id) for e in d.protection_exceptions] == [("CROSSED_MARKET", "THIRD")]


async def test_flickering_quote_exception_within_one_second() -> None:
    a = BookVenue("A", asks=[(px("10.02"), sh(1000))])
    router, market, _ = build_router(a)
    market.update_l1("XYZ", "F", px("9.90"), sh(100), px("10.02"), sh(100), T_NOW - 2 * 10**9)
    market.update_l1("XYZ", "F", px("9.90"), sh(100), px("10.00"), sh(100), T_NOW - 500_000_000)
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(300), 0, Strategy.SMART)
    assert [(c.venue_id, c.quantity) for c in d.children] == [("A", sh(300))]
    assert [(e.kind, e.venue_id, e.price) for e in d.protection_exceptions] == [
        ("FLICKERING_QUOTE", "F", px("10.00"))
    ]
    # more than a second later the better quote is protected again: A cannot take 10.02
    d2 = await router.route_order(
        "o", "u", "XYZ", "BUY", sh(300), 0, Strategy.SMART, ts_ns=T_NOW + 10**9
    )
    assert [c.kind for c in d2.children] == ["RESIDUAL"]


async def test_self_help_against_an_unavailable_venue_is_recorded() -> None:
    a = BookVenue("A", asks=[(px("10.02"), sh(1000))])
    down = BookVenue("DOWN", asks=[(px("10.00"), sh(100))])
    router, _, _ = build_router(a, down)
    down.available = False
    d = await router.route_order("o", "u", "XYZ", "BUY", sh(300), 0, Strategy.SMART)
    assert [(c.venue_id, c.quantity) for c in d.children] == [("A", sh(300))]
    assert [(e.kind, e.venue_id) for e in d.protection_exceptions] == [("SELF_HELP", "DOWN")]
