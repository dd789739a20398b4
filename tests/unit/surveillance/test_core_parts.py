"""Normalisation, book reconstruction, thresholds, statistics and evaluation."""

from __future__ import annotations

import math

import msgspec
import pytest

from services.surveillance.core.book import Book, OrderState
from services.surveillance.core.evaluation import compatible, evaluate
from services.surveillance.core.normalise import (
    AMEND,
    BUY,
    CANCEL,
    IOC,
    MARKET,
    NEW,
    SELL,
    TRADE,
    InputError,
    decode_audit_line,
    normalise,
    price_raw,
    quantity_raw,
)
from services.surveillance.core.stats import (
    DecayedRates,
    chance_within,
    equal_fraction,
    evidence_score,
    gaussian_tail,
    poisson_sf,
    tail_fraction,
)
from services.surveillance.core.types import (
    SpoofingThresholds,
    ThresholdError,
    WashTradingThresholds,
    alert_id_for,
    severity_for_score,
    validate_thresholds,
)

S = 10**9
NEW_LINE = (
    b'{"kind":"order_new","ts_ns":5,"order_id":"o1","user_id":"u","account_id":"a",'
    b'"symbol":"X","side":"SELL","order_type":"IOC","price":"12.5","quantity":"300",'
    b'"remaining":"300"}'
)
TRADE_LINE = (
    b'{"kind":"trade","ts_ns":6,"trade_id":"t1","symbol":"X","price":"12.50","quantity":"100",'
    b'"buy_order_id":"b","sell_order_id":"o1","buy_user_id":"v","sell_user_id":"u",'
    b'"buy_account_id":"c","sell_account_id":"a","aggressor_side":"SELL"}'
)


# -- normalisation --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("12.5", 12_500_000_000),
        ("0", 0),
        ("0.000000001", 1),
        ("100", 100 * S),
        (".5", S // 2),
        ("7.100000000", 7_100_000_000),
        (3, 3 * S),
    ],
)
def test_prices_parse_exactly(text, raw):
    assert price_raw(text) == raw


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3", "1e5", "0.0000000001"])
def test_bad_prices_are_refused(bad):
    with pytest.raises(InputError):
        price_raw(bad)


def test_quantities_are_whole_shares_in_raw_fixed_point():
    assert quantity_raw("300") == 300 * S
    assert quantity_raw("2.5") == 2_500_000_000
    with pytest.raises(InputError):
        quantity_raw("x")


def test_audit_order_line_normalises():
    ev = normalise(NEW_LINE)
    assert ev is not None and ev.kind == NEW and ev.side == SELL and ev.order_type == IOC
    assert ev.price == price_raw("12.5") and ev.quantity == 300 * S and ev.ts == 5


def test_audit_trade_line_normalises():
    ev = normalise(TRADE_LINE)
    assert ev is not None and ev.kind == TRADE and ev.side == SELL
    assert (ev.buy_order_id, ev.sell_order_id, ev.buy_user, ev.sell_account) == (
        "b",
        "o1",
        "v",
        "a",
    )
    assert "trade" in repr(ev)


def test_audit_dict_amend_and_cancel_normalise():
    base = msgspec.json.decode(NEW_LINE)
    amend = normalise({**base, "kind": "order_amend", "order_type": "LIMIT", "remaining": "100"})
    cancel = normalise({**base, "kind": "order_cancel", "side": "BUY", "order_type": "MARKET"})
    assert amend is not None and amend.kind == AMEND and amend.remaining == 100 * S
    assert cancel is not None and cancel.kind == CANCEL and cancel.side == BUY
    assert cancel.order_type == MARKET


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (b'{"kind":"order_new","ts_ns":"x"}', "$.ts_ns"),
        (b'{"kind":"trade","ts_ns":1}', None),
        (b"not json", None),
        (b'{"kind":"quote","ts_ns":1}', "$.kind"),
    ],
)
def test_bad_lines_raise_input_errors(line, field):
    with pytest.raises(InputError) as info:
        decode_audit_line(line)
    if field:
        assert info.value.field == field


def test_bad_dict_raises_input_error():
    with pytest.raises(InputError):
        normalise({"kind": "order_new"})


def test_unknown_objects_are_refused():
    with pytest.raises(InputError):
        normalise(object())


# -- book -------------------------------------------------------------------------------------
def _order(
    oid: str, side: int, price: int, qty: int, owner: str = "o", otype: int = 0
) -> OrderState:
    return OrderState(oid, "X", "u", "a", owner, side, otype, price, qty, 1)


def test_book_tracks_depth_best_and_owner_quantities():
    b = Book()
    b.add(_order("1", BUY, 100, 5))
    b.add(_order("2", BUY, 101, 3))
    b.add(_order("3", SELL, 103, 4, owner="p"))
    assert (b.best_bid(), b.best_ask(), b.mid()) == (101, 103, 102)
    assert b.depth_at(BUY, 100) == 5 and b.side_depth(BUY, 5) == 8
    assert b.open_of("o", BUY) == 8 and b.open_of("p", SELL) == 4


def test_fill_and_cancel_remove_orders_and_depth():
    b = Book()
    o = _order("1", BUY, 100, 5)
    b.add(o)
    b.fill(o, 2)
    assert b.depth_at(BUY, 100) == 3 and o.fill_ratio == pytest.approx(0.4)
    b.cancel(o, 3)
    assert b.get("1") is None and b.best_bid() == 0 and o.cancelled == 3
    assert b.open_of("o", BUY) == 0


def test_amend_moves_the_displayed_quantity():
    b = Book()
    o = _order("1", SELL, 105, 5)
    b.add(o)
    b.amend(o, 104, 2, 0)
    assert b.depth_at(SELL, 105) == 0 and b.depth_at(SELL, 104) == 2 and o.amends == 1
    assert o.quantity == 2


def test_aggressive_orders_never_display():
    b = Book()
    b.add(_order("1", BUY, 0, 5, otype=MARKET))
    assert b.best_bid() == 0 and b.get("1") is not None
    b.remove("1")
    assert b.get("1") is None


def test_empty_book_sides():
    b = Book()
    assert b.mid() == 0 and b.side_depth(SELL, 3) == 0 and b.best(SELL) == 0


# -- thresholds and ids ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("score", "sev"),
    [(0, "LOW"), (39.9, "LOW"), (40, "MEDIUM"), (60, "HIGH"), (80, "CRITICAL"), (150, "CRITICAL")],
)
def test_score_bands(score, sev):
    assert severity_for_score(score) == sev


def test_alert_ids_are_deterministic_and_distinct():
    a = alert_id_for("SPOOFING", "X", "BO1", "o1")
    assert a == alert_id_for("SPOOFING", "X", "BO1", "o1")
    assert a != alert_id_for("LAYERING", "X", "BO1", "o1") and a.startswith("SV-SP-")


def test_partial_update_keeps_other_fields_and_bumps_version():
    cur = SpoofingThresholds()
    new = validate_thresholds("SPOOFING", {"min_score": 55.0}, cur)
    assert new.min_score == 55.0 and new.max_lifetime_ms == cur.max_lifetime_ms
    assert new.version == 2


def test_threshold_struct_of_the_wrong_detector_is_refused():
    with pytest.raises(ThresholdError):
        validate_thresholds("SPOOFING", WashTradingThresholds())
    with pytest.raises(ThresholdError):
        validate_thresholds("SPOOFING", 5)


def test_unknown_threshold_field_names_the_path():
    with pytest.raises(ThresholdError) as info:
        validate_thresholds("SPOOFING", {"nonsense": 1})
    assert "nonsense" in str(info.value)


# -- statistics -----------------------------------------------------------------------------
def test_poisson_tail_matches_closed_forms():
    assert poisson_sf(0, 3.0) == 1.0 and poisson_sf(2, 0.0) == 0.0
    assert poisson_sf(1, 2.0) == pytest.approx(1 - math.exp(-2))
    assert poisson_sf(3, 1e-4) == pytest.approx(1e-12 / 6, rel=1e-3)


def test_evidence_score_is_phred_scaled_and_clamped():
    assert evidence_score(1e-5) == pytest.approx(50)
    assert evidence_score(1.0) == 0 and evidence_score(0.0) == 100


def test_chance_and_tails():
    assert chance_within(1.0, 0.0) == 0.0 and chance_within(10.0, 10.0) == pytest.approx(1.0)
    assert gaussian_tail(0) == 1.0 and gaussian_tail(3) == pytest.approx(0.0027, abs=1e-4)
    assert tail_fraction([1, 2, 3], 3) == 0.5 and equal_fraction([1, 2, 2], 2) == 0.75


def test_decayed_rates_are_not_underestimated_at_the_start():
    r = DecayedRates(tau_s=50.0)
    for k in range(10):
        r.add("a", k * S // 10)
    assert r.rate("a", S) == pytest.approx(10.0, rel=0.2)
    assert r.rate("missing", S) == 0.0
    r.trim(10_000 * S)
    assert len(r) == 0


# -- evaluation -----------------------------------------------------------------------------
def _alert(aid: str, t: str = "SPOOFING", user: str = "U1", start: int = 10, end: int = 20):
    return {
        "alert_id": aid,
        "version": 1,
        "type": t,
        "symbol": "X",
        "user_id": user,
        "user_ids": [user],
        "owner_id": "BO" + user,
        "account_ids": [],
        "start_ns": start,
        "end_ns": end,
    }


def _label(t: str = "SPOOFING", user: str = "U1", start: int = 12, end: int = 18):
    return {
        "type": t,
        "symbol": "X",
        "user_id": user,
        "user_ids": [user],
        "beneficial_owner": "BO" + user,
        "accounts": [],
        "window_start_ns": start,
        "window_end_ns": end,
    }


def test_matching_pairs_alerts_with_labels():
    r = evaluate([_alert("a")], [_label()], events=100_000, slack_ns=0)
    s = r.by_type["SPOOFING"]
    assert (s.matched, s.precision, s.recall, r.false_per_100k) == (1, 1.0, 1.0, 0.0)


def test_second_alert_on_a_matched_episode_is_false():
    r = evaluate([_alert("a"), _alert("b")], [_label()], events=100_000, slack_ns=0)
    assert r.by_type["SPOOFING"].false_alerts == 1 and r.false_per_100k == 1.0


def test_wrong_type_user_or_time_does_not_match():
    lab = _label()
    assert not compatible(_alert("a", t="LAYERING"), lab, 0)
    assert not compatible(_alert("a", user="U2"), lab, 0)
    assert not compatible(_alert("a", start=100, end=200), lab, 0)
    assert compatible(_alert("a", start=19, end=30), lab, 2)


def test_maximum_matching_finds_the_better_assignment():
    # Alert a fits both labels, alert b only the first: both labels can be matched.
    labels = [_label(start=0, end=10), _label(start=20, end=30)]
    alerts = [_alert("a", start=5, end=25), _alert("b", start=1, end=2)]
    r = evaluate(alerts, labels, events=10, slack_ns=0)
    assert r.by_type["SPOOFING"].matched == 2 and not r.missed


def test_only_the_latest_version_counts():
    old = {**_alert("a"), "version": 1, "start_ns": 1000, "end_ns": 1001}
    new = {**_alert("a"), "version": 2}
    r = evaluate([old, new], [_label()], events=10, slack_ns=0)
    assert r.by_type["SPOOFING"].matched == 1
    assert r.summary()["types"]["SPOOFING"]["precision"] == 1.0
