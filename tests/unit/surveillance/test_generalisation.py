"""Generalisation: every pattern is found, and nothing else, whatever the instrument's scale.

The detectors are judged on flow from generators we never see, so no threshold may depend on
our simulator's price level, lot size, tick or event rate. Each test plants one textbook
pattern (or a legitimate look-alike) in the hand-built market at several scales: the price
level x0.05 / x1 / x20, sizes x0.01 / x1 / x100, a sub-dollar symbol on a 0.0001 tick (also
with its quotes several ticks apart), event rates x0.1 / x10, a different epoch. The scripted
behaviour is the same in units of the symbol's own tick, lot and level spacing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from services.surveillance.core.types import SurveillanceAlert
from tests.unit.surveillance.conftest import detect, ignition, layers, spoof
from tests.unit.surveillance.market import MS, T0, Market, S, background


@dataclass(frozen=True)
class Scale:
    """One instrument / venue regime."""

    name: str
    mid: int = 10_000  # ticks
    tick: Decimal = Decimal("0.01")
    lot: int = 100
    rate: float = 1.0  # x the default background rate
    level_step: int = 1  # ticks between the levels the crowd quotes on
    epoch: int = T0
    volatile: bool = False  # a slow market keeping the fast one's volatility per second

    @property
    def drift_prob(self) -> float:
        """The chance an order moves the mid: the same volatility per second when faster; when
        slower the same per event (the crowd requotes as the price moves) unless ``volatile``."""
        return 0.02 / self.rate if self.rate > 1 or self.volatile else 0.02

    @property
    def seconds(self) -> float:
        """Background length: the same number of events at any rate."""
        return 45.0 / min(1.0, self.rate)

    @property
    def episode_at(self) -> int:
        """When the scripted behaviour starts (after the statistics have warmed up)."""
        return self.epoch + int(self.seconds * 35 / 45 * S)

    def market(self, seed: int = 7) -> Market:
        """A market of this scale with its background scheduled."""
        m = Market(tick=self.tick)
        background(
            m,
            seconds=self.seconds,
            mid=self.mid,
            rate=40.0 * self.rate,
            seed=seed,
            start=self.epoch,
            lot=self.lot,
            level_step=self.level_step,
            life_scale=1.0 / self.rate,  # the same displayed depth at any rate
            drift_prob=self.drift_prob,
        )
        return m


SCALES = [
    Scale("base"),
    Scale("price_x0.05", mid=500),
    Scale("price_x20", mid=200_000),
    Scale("size_x0.01", lot=1),
    Scale("size_x100", lot=10_000),
    Scale("subdollar_tick_0.0001", mid=5_000, tick=Decimal("0.0001")),
    Scale("subdollar_sparse_levels", mid=5_000, tick=Decimal("0.0001"), level_step=5),
    Scale("rate_x0.1", rate=0.1),
    Scale("rate_x10", rate=10.0),
    Scale("epoch_1970", epoch=3_600 * S),
]
IDS = [s.name for s in SCALES]
#: A slow market whose mid moves as much per second as the fast one (stale quotes get crossed).
SLOW_VOLATILE = Scale("rate_x0.1_volatile", rate=0.1, volatile=True)


def _run(m: Market, owners: dict[str, str] | None = None) -> list[SurveillanceAlert]:
    return detect(m.run(), owners=owners)


def _by(alerts: list[SurveillanceAlert], user: str) -> list[SurveillanceAlert]:
    return [a for a in alerts if a.user_id == user or user in a.user_ids]


def _assert_only(alerts: list[SurveillanceAlert], user: str, alert_type: str) -> None:
    mine = [a for a in _by(alerts, user) if a.type == alert_type]
    assert len(mine) == 1, [(a.type, a.user_id, a.score) for a in alerts]
    others = [a for a in alerts if a not in mine]
    assert others == [], [(a.type, a.user_id, a.score) for a in others]


# -- the patterns ------------------------------------------------------------------------------
@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_textbook_spoof_is_found_at_every_scale(sc: Scale) -> None:
    m = sc.market()
    ids = spoof(m, sc.episode_at, qty=30 * sc.lot, genuine_qty=sc.lot, behind=sc.level_step)
    alerts = _run(m)
    _assert_only(alerts, "SPF", "SPOOFING")
    assert ids["spoof"] in _by(alerts, "SPF")[0].order_ids


@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_layering_ladder_is_found_at_every_scale(sc: Scale) -> None:
    m = sc.market()
    ids = layers(
        m,
        sc.episode_at,
        qty=8 * sc.lot,
        genuine_qty=sc.lot,
        first_behind=sc.level_step,
        step=sc.level_step,
    )
    alerts = _run(m)
    _assert_only(alerts, "LAY", "LAYERING")
    assert set(ids["layers"]) <= set(_by(alerts, "LAY")[0].order_ids)


def _round_trips(m: Market, sc: Scale, ts: int, pairs: int = 4) -> None:
    """Two accounts of one owner pass ``8 lots`` back and forth inside the spread."""

    def pair(t: int, k: int, tries: int = 0) -> None:
        s, b = (("W1", "W1-A"), ("W2", "W2-A")) if k % 2 == 0 else (("W2", "W2-A"), ("W1", "W1-A"))
        bid, ask = m.best("BUY"), m.best("SELL")
        if ask - bid < 2 and tries < 50:
            m.at(t + 5 * MS, lambda t2: pair(t2, k, tries + 1))
            return
        price = ask - 1
        m.submit(t, s[0], "SELL", price, 8 * sc.lot, account=s[1])
        m.submit(t + MS, b[0], "BUY", price, 8 * sc.lot, "IOC", account=b[1])
        if k + 1 < pairs:
            m.at(t + 500 * MS, lambda t2: pair(t2, k + 1))

    m.at(ts, lambda t: pair(t, 0))


WASH_OWNERS = {"W1-A": "BO-W", "W2-A": "BO-W"}


@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_wash_round_trip_of_one_owner_is_found_at_every_scale(sc: Scale) -> None:
    m = sc.market()
    _round_trips(m, sc, sc.episode_at)
    alerts = _run(m, WASH_OWNERS)
    wash = [a for a in alerts if a.type == "WASH_TRADING"]
    assert len(wash) == 1, [(a.type, a.user_id) for a in alerts]
    assert wash[0].owner_id == "BO-W"
    assert {"W1-A", "W2-A"} <= set(wash[0].account_ids)
    assert [a for a in alerts if a.type != "WASH_TRADING"] == []


@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_momentum_ignition_then_reversal_is_found_at_every_scale(sc: Scale) -> None:
    m = sc.market(seed=4)
    ids = ignition(m, sc.episode_at, size=8 * sc.lot, through=3 * sc.level_step)
    alerts = _run(m)
    mi = [a for a in _by(alerts, "MOM") if a.type == "MOMENTUM_IGNITION"]
    assert len(mi) == 1, [(a.type, a.user_id, a.score) for a in alerts]
    assert set(ids["burst"]) <= set(mi[0].order_ids)
    assert [a for a in alerts if a.user_id != "MOM"] == []


# -- what must stay quiet ----------------------------------------------------------------------
@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_background_alone_raises_nothing(sc: Scale) -> None:
    assert _run(sc.market()) == []


@pytest.mark.xfail(
    strict=True,
    reason="momentum volatility drops the largest 5% of mid changes (MomentumState.sigma): in a "
    "slow market whose mid moves in rare jumps those are its volatility (161 one-second changes "
    "before the episode: RMS 0.87 ticks, trimmed 0.57), so a background user following the drift "
    "with three marketable orders scores as ignition (3.5 ticks = 3.9 trimmed sigmas, 2.5 "
    "untrimmed). Not trimming lets earlier bursts inflate the yardstick; winsorising at the 95th "
    "percentile with the Gaussian correction gives 0.71 ticks (2.97 sigmas): too close to the "
    "bar to call a fix; a second 10 s horizon (its trimmed RMS per root second, the larger kept) "
    "gives 0.63 ticks (3.4 sigmas): the jumps partly revert. Needs a jump-aware estimate",
)
def test_slow_volatile_background_raises_nothing() -> None:
    assert _run(SLOW_VOLATILE.market()) == []


def _market_maker(m: Market, sc: Scale, ts: int, rounds: int = 6) -> None:
    """Large two-sided quotes at the touch; a taker lifts a lot of the offer; both pulled."""

    def quote(t: int, k: int) -> None:
        bid, ask = m.best("BUY"), m.best("SELL")
        if not bid or not ask:
            return
        b = m.submit(t, "MM", "BUY", bid, 30 * sc.lot)
        a = m.submit(t, "MM", "SELL", ask, 30 * sc.lot)

        def take(t2: int) -> None:
            m.submit(t2, "TAKER", "BUY", ask, sc.lot, "IOC")

        def pull(t2: int) -> None:
            m.cancel(t2, b)
            m.cancel(t2, a)

        m.at(t + 20 * MS, take)
        m.at(t + 300 * MS, pull)
        if k + 1 < rounds:
            m.at(t + 700 * MS, lambda t2: quote(t2, k + 1))

    m.at(ts, lambda t: quote(t, 0))


@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_market_maker_quoting_and_cancelling_both_sides_raises_nothing(sc: Scale) -> None:
    m = sc.market()
    _market_maker(m, sc, sc.episode_at)
    assert _run(m) == []


def _cancel_after_move(m: Market, sc: Scale, ts: int) -> None:
    """A large bid behind the touch; the market runs away upwards; the bid is pulled."""
    ids: dict[str, Any] = {}

    def place(t: int) -> None:
        ids["bid"] = m.submit(t, "LT", "BUY", m.best("BUY") - sc.level_step, 30 * sc.lot)
        for k in range(4):
            m.at(t + (100 + 50 * k) * MS, sweep)
        m.at(t + 600 * MS, lambda t2: m.cancel(t2, ids["bid"]))

    def sweep(t: int) -> None:
        ask = m.best("SELL")
        if ask:
            m.submit(t, f"NEWS{t % 7}", "BUY", ask, 2 * sc.lot, "IOC")

    m.at(ts, place)


@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_trader_cancelling_after_a_price_move_raises_nothing(sc: Scale) -> None:
    m = sc.market()
    _cancel_after_move(m, sc, sc.episode_at)
    assert _by(_run(m), "LT") == []


def _large_order_executes(m: Market, sc: Scale, ts: int) -> None:
    """A large offer at the touch that other participants take in full."""

    def place(t: int) -> None:
        ask = m.best("SELL")
        m.submit(t, "INST", "SELL", ask, 30 * sc.lot)

        def take(t2: int, k: int) -> None:
            m.submit(t2, f"BUYER{k % 3}", "BUY", ask, 3 * sc.lot, "IOC")

        for k in range(10):
            m.at(t + (200 + 150 * k) * MS, functools.partial(take, k=k))

    m.at(ts, place)


@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_ordinary_large_order_that_executes_raises_nothing(sc: Scale) -> None:
    m = sc.market()
    _large_order_executes(m, sc, sc.episode_at)
    assert _run(m) == []


@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_burst_without_reversal_raises_nothing(sc: Scale) -> None:
    m = sc.market(seed=4)
    ignition(m, sc.episode_at, size=8 * sc.lot, through=3 * sc.level_step, unwind=False)
    assert _by(_run(m), "MOM") == []


def test_scales_change_the_flow() -> None:
    """The regimes really differ (prices and sizes as written to the audit trail)."""
    by_name = {sc.name: sc for sc in SCALES}
    flows = {
        n: by_name[n].market().run()
        for n in ("base", "price_x0.05", "price_x20", "subdollar_tick_0.0001", "size_x100")
    }
    prices = {n: {e["price"] for e in f if e["kind"] == "trade"} for n, f in flows.items()}
    assert all(prices.values())
    assert prices["base"].isdisjoint(prices["price_x0.05"] | prices["price_x20"])
    assert all(p.startswith("0.") and len(p) == 6 for p in prices["subdollar_tick_0.0001"])
    sizes = {n: {e["quantity"] for e in f if e["kind"] == "order_new"} for n, f in flows.items()}
    assert sizes["base"].isdisjoint(sizes["size_x100"])


# -- how a venue reports -----------------------------------------------------------------------
def _one_sided(events: list[dict[str, Any]], drop: bool) -> list[dict[str, Any]]:
    """Trades carrying only the seller's user and account ids (blank or absent for the buyer)."""
    out = []
    for e in events:
        if e["kind"] == "trade":
            e = dict(e)
            for key in ("buy_user_id", "buy_account_id"):
                if drop:
                    del e[key]
                else:
                    e[key] = ""
        out.append(e)
    return out


@pytest.mark.parametrize("drop", [False, True], ids=["blank", "absent"])
def test_trades_with_one_sides_ids_link_through_the_orders(drop: bool) -> None:
    sc = SCALES[0]
    m = sc.market()
    _round_trips(m, sc, sc.episode_at)
    alerts = detect(_one_sided(m.run(), drop), owners=WASH_OWNERS)
    assert [(a.type, a.owner_id) for a in alerts] == [("WASH_TRADING", "BO-W")]
    assert {"W1-A", "W2-A"} <= set(alerts[0].account_ids)


@pytest.mark.parametrize("drop", [False, True], ids=["blank", "absent"])
def test_trades_with_no_ids_at_all_are_never_self_trades(drop: bool) -> None:
    events = []
    for e in SCALES[0].market().run():
        if e["kind"] == "trade":
            e = dict(e)
            for key in ("buy_user_id", "buy_account_id", "sell_user_id", "sell_account_id"):
                e[key] = ""
            e["buy_order_id"] = e["sell_order_id"] = ""
            if drop:
                for key in [k for k, v in e.items() if v == ""]:
                    del e[key]
        events.append(e)
    assert detect(events) == []


def _pull_by_amend(m: Market, oid: str, sc: Scale, how: str) -> Any:
    def act(t: int) -> None:
        o = m.orders.get(oid)
        if o is None:
            return
        if how == "shrink":
            m.amend(t, oid, o.price, remaining=sc.lot // 2 or 1)
        else:  # move far from the touch
            away = -40 * sc.level_step if o.side == "BUY" else 40 * sc.level_step
            m.amend(t, oid, o.price + away)

    return act


@pytest.mark.parametrize("how", ["shrink", "move_away"])
@pytest.mark.parametrize("sc", [SCALES[0], SCALES[6]], ids=[SCALES[0].name, SCALES[6].name])
def test_spoof_withdrawn_by_amend_rather_than_cancel(sc: Scale, how: str) -> None:
    m = sc.market()
    ids = spoof(
        m,
        sc.episode_at,
        qty=30 * sc.lot,
        genuine_qty=sc.lot,
        behind=sc.level_step,
        cancel_after_ms=10_000_000,  # never cancelled: amended instead
    )
    m.at(sc.episode_at + 300 * MS, lambda t: _pull_by_amend(m, ids["spoof"], sc, how)(t))
    alerts = _run(m)
    _assert_only(alerts, "SPF", "SPOOFING")
    assert alerts[0].evidence["order"]["withdrawn_by"] == "amend"


@pytest.mark.parametrize("how", ["shrink", "move_away"])
def test_layers_withdrawn_by_amend_rather_than_cancel(how: str) -> None:
    sc = SCALES[0]
    m = sc.market()
    ids = layers(m, sc.episode_at, qty=8 * sc.lot, genuine_qty=sc.lot, cancel_after_ms=10_000_000)

    def pull(t: int, k: int) -> None:
        _pull_by_amend(m, ids["layers"][k], sc, how)(t)

    for k in range(4):
        m.at(sc.episode_at + (400 + k) * MS, functools.partial(pull, k=k))
    _assert_only(_run(m), "LAY", "LAYERING")


def test_order_repriced_by_amend_to_follow_the_market_raises_nothing() -> None:
    """A large bid amended up behind a rising market (no opposite execution) is not a pull."""
    sc = SCALES[0]
    m = sc.market()
    ids: dict[str, str] = {}

    def place(t: int) -> None:
        ids["bid"] = m.submit(t, "LT", "BUY", m.best("BUY") - 1, 30 * sc.lot)
        for k in range(5):
            m.at(t + (200 + 200 * k) * MS, follow)

    def follow(t: int) -> None:
        if ids["bid"] in m.orders:
            m.amend(t, ids["bid"], m.best("BUY") - 1)

    m.at(sc.episode_at, place)
    assert _by(_run(m), "LT") == []


def test_off_grid_prints_do_not_break_the_tick() -> None:
    """Midpoint prints (half a tick, unknown orders) make the gcd of prices 0.005; distances
    are still judged on the levels the book is quoted on."""
    sc = SCALES[0]
    m = sc.market()
    spoof(m, sc.episode_at, qty=30 * sc.lot, genuine_qty=sc.lot, behind=2)
    layers(m, sc.episode_at + 5 * S, qty=8 * sc.lot, genuine_qty=sc.lot, first_behind=2)
    events = m.run()
    prints = [
        {
            "kind": "trade",
            "ts_ns": sc.epoch + k * S,
            "trade_id": f"MID{k}",
            "symbol": m.symbol,
            "price": f"{100 + k % 3 * 0.01 + 0.005:.3f}",
            "quantity": "100",
            "buy_order_id": f"DARKB{k}",
            "sell_order_id": f"DARKS{k}",
            "buy_user_id": "DARK1",
            "sell_user_id": "DARK2",
            "buy_account_id": "DARK1-A",
            "sell_account_id": "DARK2-A",
            "aggressor_side": "BUY",
        }
        for k in range(1, 30)
    ]
    merged = sorted(events + prints, key=lambda e: e["ts_ns"])
    alerts = detect(merged)
    assert sorted((a.type, a.user_id) for a in alerts) == [("LAYERING", "LAY"), ("SPOOFING", "SPF")]


def test_one_user_with_several_accounts_is_one_owner_without_kyc_links() -> None:
    sc = SCALES[0]
    m = sc.market()
    spoof(m, sc.episode_at, qty=30 * sc.lot, genuine_qty=sc.lot, genuine_account="SPF-B")
    _assert_only(_run(m), "SPF", "SPOOFING")


def test_account_shared_by_two_users_is_one_owner_without_kyc_links() -> None:
    """Without KYC links the account is the link: the spoof of one user and the opposite trade
    of another user on the same account are one owner's."""
    sc = SCALES[0]
    m = sc.market()
    spoof(
        m,
        sc.episode_at,
        qty=30 * sc.lot,
        genuine_qty=sc.lot,
        genuine_user="SPF2",
        genuine_account="SPF-A",
    )
    _assert_only(_run(m), "SPF", "SPOOFING")


@pytest.mark.parametrize("sc", [SCALES[0], SCALES[6]], ids=[SCALES[0].name, SCALES[6].name])
def test_spoof_built_by_amending_a_small_order_up(sc: Scale) -> None:
    """A one-lot bid far behind, amended to a large size near the touch, the opposite IOC,
    then the cancel: the amend is the placement."""
    m = sc.market()
    ids: dict[str, str] = {}
    t0 = sc.episode_at

    def small(t: int) -> None:
        ids["bid"] = m.submit(t, "SPF", "BUY", m.best("BUY") - 20 * sc.level_step, sc.lot)

    def grow(t: int) -> None:
        m.amend(t, ids["bid"], m.best("BUY") - sc.level_step, remaining=30 * sc.lot)

    def genuine(t: int) -> None:
        m.submit(t, "SPF", "SELL", m.best("BUY"), sc.lot, "IOC")

    m.at(t0, small)
    m.at(t0 + 2 * S, grow)
    m.at(t0 + 2 * S + 10 * MS, genuine)
    m.at(t0 + 2 * S + 300 * MS, lambda t: m.cancel(t, ids["bid"]))
    alerts = _run(m)
    _assert_only(alerts, "SPF", "SPOOFING")
    assert alerts[0].start_ns == t0 + 2 * S


# -- ladders, lures and two-sided owners (judged on the whole ladder) ------------------------------
def _ladder_opposite_a_small_order(m: Market, sc: Scale, ts: int) -> dict[str, list[str]]:
    """LAY rests a 6-lot offer well away from the touch, then bids a ladder of 16 + 3 x 8 lots
    on successive levels, sells one lot into the bid and pulls the ladder: each 8-lot layer
    alone is smaller than twice the offer, the ladder is far larger."""
    ids: dict[str, list[str]] = {"layers": [], "offer": []}

    def offer(t: int) -> None:
        ids["offer"].append(
            m.submit(t, "LAY", "SELL", m.best("SELL") + 5 * sc.level_step, 6 * sc.lot)
        )

    def ladder(t: int) -> None:
        best = m.best("BUY")
        for k, lots in enumerate((16, 8, 8, 8)):
            price = best - (1 + k) * sc.level_step
            ids["layers"].append(m.submit(t, "LAY", "BUY", price, lots * sc.lot))
        m.at(t + 20 * MS, lambda t2: m.submit(t2, "LAY", "SELL", m.best("BUY"), sc.lot, "IOC"))
        m.at(t + 400 * MS, lambda t2: [m.cancel(t2, o) for o in ids["layers"]])

    m.at(ts - 2 * S, offer)
    m.at(ts, ladder)
    return ids


@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_ladder_opposite_a_smaller_resting_order_is_layering(sc: Scale) -> None:
    m = sc.market()
    ids = _ladder_opposite_a_small_order(m, sc, sc.episode_at)
    alerts = _run(m)
    _assert_only(alerts, "LAY", "LAYERING")
    assert set(ids["layers"]) <= set(_by(alerts, "LAY")[0].order_ids)


def _lure_beside_a_small_order(m: Market, sc: Scale, ts: int) -> dict[str, str]:
    """SPF bids 40 lots one level behind and 9 lots one level further at the same moment,
    sells one lot into the bid and pulls both: one lure, not a ladder."""
    ids: dict[str, str] = {}

    def place(t: int) -> None:
        best = m.best("BUY")
        ids["spoof"] = m.submit(t, "SPF", "BUY", best - sc.level_step, 40 * sc.lot)
        ids["small"] = m.submit(t, "SPF", "BUY", best - 2 * sc.level_step, 9 * sc.lot)
        m.at(t + 10 * MS, lambda t2: m.submit(t2, "SPF", "SELL", m.best("BUY"), sc.lot, "IOC"))
        m.at(t + 300 * MS, lambda t2: [m.cancel(t2, ids["spoof"]), m.cancel(t2, ids["small"])])

    m.at(ts, place)
    return ids


@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_one_dominant_order_beside_a_small_one_is_spoofing(sc: Scale) -> None:
    m = sc.market()
    ids = _lure_beside_a_small_order(m, sc, sc.episode_at)
    alerts = _run(m)
    _assert_only(alerts, "SPF", "SPOOFING")
    assert ids["spoof"] in _by(alerts, "SPF")[0].order_ids


def _symmetric_ladders(m: Market, sc: Scale, ts: int) -> None:
    """MMX quotes three 8-lot levels on each side at once, sells one lot, pulls everything."""
    placed: list[str] = []

    def place(t: int) -> None:
        bid, ask = m.best("BUY"), m.best("SELL")
        for k in range(3):
            placed.append(m.submit(t, "MMX", "BUY", bid - (1 + k) * sc.level_step, 8 * sc.lot))
            placed.append(m.submit(t, "MMX", "SELL", ask + (1 + k) * sc.level_step, 8 * sc.lot))
        m.at(t + 20 * MS, lambda t2: m.submit(t2, "MMX", "SELL", m.best("BUY"), sc.lot, "IOC"))
        m.at(t + 400 * MS, lambda t2: [m.cancel(t2, o) for o in placed])

    m.at(ts, place)


@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_ladders_on_both_sides_are_market_making_at_every_scale(sc: Scale) -> None:
    m = sc.market()
    _symmetric_ladders(m, sc, sc.episode_at)
    assert _run(m) == []


def _ladder_of_equal_layers_opposite_an_order(m: Market, sc: Scale, ts: int) -> list[str]:
    """LAY rests a 6-lot offer, then bids four 8-lot layers at once: each layer alone is
    smaller than twice the offer, the first ones even counted together with the layers before
    them, the ladder is far larger."""
    placed: list[str] = []

    def offer(t: int) -> None:
        m.submit(t, "LAY", "SELL", m.best("SELL") + 5 * sc.level_step, 6 * sc.lot)

    def ladder(t: int) -> None:
        best = m.best("BUY")
        for k in range(4):
            placed.append(m.submit(t, "LAY", "BUY", best - (1 + k) * sc.level_step, 8 * sc.lot))
        m.at(t + 20 * MS, lambda t2: m.submit(t2, "LAY", "SELL", m.best("BUY"), sc.lot, "IOC"))
        m.at(t + 400 * MS, lambda t2: [m.cancel(t2, o) for o in placed])

    m.at(ts - 2 * S, offer)
    m.at(ts, ladder)
    return placed


@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_ladder_of_equal_layers_opposite_a_smaller_order_is_layering(sc: Scale) -> None:
    m = sc.market()
    placed = _ladder_of_equal_layers_opposite_an_order(m, sc, sc.episode_at)
    alerts = _run(m)
    _assert_only(alerts, "LAY", "LAYERING")
    assert set(placed[1:]) <= set(_by(alerts, "LAY")[0].order_ids)


def _busy_owner_ladder_joining_its_resting_order(m: Market, sc: Scale, ts: int) -> list[str]:
    """LAY bids a lot far behind four times a second (cancelled soon after), rests an 8-lot
    bid one level behind, and 800 ms later bids four more 8-lot layers behind it at once, sells
    one lot into the bid and pulls everything, one order every 80 ms (at its own busy cancel
    rate the cancels alone are no evidence: the simultaneous placement is)."""
    placed: list[str] = []

    def chatter(t: int) -> None:
        oid = m.submit(t, "LAY", "BUY", m.best("BUY") - 10 * sc.level_step, sc.lot)
        m.at(t + 200 * MS, lambda t2: m.cancel(t2, oid))
        if t + 250 * MS < ts + S:
            m.at(t + 250 * MS, chatter)

    def early(t: int) -> None:
        placed.append(m.submit(t, "LAY", "BUY", m.best("BUY") - sc.level_step, 8 * sc.lot))

    def ladder(t: int) -> None:
        top = m.best("BUY") if not placed else m.orders[placed[0]].price
        for k in range(4):
            placed.append(m.submit(t, "LAY", "BUY", top - (1 + k) * sc.level_step, 8 * sc.lot))
        m.at(t + 20 * MS, lambda t2: m.submit(t2, "LAY", "SELL", m.best("BUY"), sc.lot, "IOC"))
        for k, oid in enumerate(placed):
            m.at(t + (400 + 80 * k) * MS, lambda t2, oid=oid: m.cancel(t2, oid))

    m.at(ts - 30 * S, chatter)
    m.at(ts - 800 * MS, early)
    m.at(ts, ladder)
    return placed


@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_busy_owner_ladder_joining_an_earlier_order_is_layering(sc: Scale) -> None:
    m = sc.market()
    placed = _busy_owner_ladder_joining_its_resting_order(m, sc, sc.episode_at)
    alerts = _run(m)
    _assert_only(alerts, "LAY", "LAYERING")
    assert set(placed[1:]) <= set(_by(alerts, "LAY")[0].order_ids)


def _shared_account_round_trips(m: Market, sc: Scale, ts: int, pairs: int = 4) -> None:
    """Two user ids pass 8 lots back and forth inside the spread on one shared account."""

    def pair(t: int, k: int, tries: int = 0) -> None:
        seller, buyer = ("SH1", "SH2") if k % 2 == 0 else ("SH2", "SH1")
        bid, ask = m.best("BUY"), m.best("SELL")
        if ask - bid < 2 and tries < 50:
            m.at(t + 5 * MS, lambda t2: pair(t2, k, tries + 1))
            return
        m.submit(t, seller, "SELL", ask - 1, 8 * sc.lot, account="SH-A")
        m.submit(t + MS, buyer, "BUY", ask - 1, 8 * sc.lot, "IOC", account="SH-A")
        if k + 1 < pairs:
            m.at(t + 500 * MS, lambda t2: pair(t2, k + 1))

    m.at(ts, lambda t: pair(t, 0))


@pytest.mark.parametrize("sc", SCALES, ids=IDS)
def test_one_account_traded_by_two_users_is_wash_trading_without_kyc(sc: Scale) -> None:
    m = sc.market()
    _shared_account_round_trips(m, sc, sc.episode_at)
    alerts = _run(m)
    (a,) = [x for x in alerts if x.type == "WASH_TRADING"]
    assert a.account_ids == ["SH-A"] and {"SH1", "SH2"} <= set(a.user_ids)
    assert a.evidence["links"] == ["same_account"]
    assert [x for x in alerts if x.type != "WASH_TRADING"] == []
