"""Wash trading: self-crossing trades of one account, user or beneficial owner."""

from __future__ import annotations

import pytest

from services.surveillance.core.engine import SurveillanceEngine
from services.surveillance.core.stats import fisher_combined
from tests.unit.surveillance.conftest import EPISODE_AT, detect, of_type
from tests.unit.surveillance.market import MS, Market, S

OWNERS = {"W1-A": "BO-W", "W2-A": "BO-W"}


def _wash(m: Market, owners: dict[str, str] | None = OWNERS, **th: object):
    alerts = detect(m.run(), owners=owners, thresholds={"WASH_TRADING": th} if th else None)
    return of_type(alerts, "WASH_TRADING")


def round_trips(
    m: Market,
    ts: int,
    pairs: int = 4,
    qty: int = 800,
    gap_ms: float = 500,
    seller: tuple[str, str] = ("W1", "W1-A"),
    buyer: tuple[str, str] = ("W2", "W2-A"),
    alternate: bool = True,
) -> list[str]:
    """``pairs`` crossings: one side offers inside the spread, the other lifts exactly it."""
    oids: list[str] = []

    def pair(t: int, k: int, tries: int = 0) -> None:
        s, b = (seller, buyer) if (k % 2 == 0 or not alternate) else (buyer, seller)
        bid, ask = m.best("BUY"), m.best("SELL")
        if ask - bid < 2 and tries < 50:  # wait for room inside the spread
            m.at(t + 5 * MS, lambda t2: pair(t2, k, tries + 1))
            return
        price = ask - 1
        oids.append(m.submit(t, s[0], "SELL", price, qty, account=s[1]))
        oids.append(m.submit(t + MS, b[0], "BUY", price, qty, "IOC", account=b[1]))
        if k + 1 < pairs:
            m.at(t + int(gap_ms * MS), lambda t2: pair(t2, k + 1))

    m.at(ts, lambda t: pair(t, 0))
    return oids


def test_round_trips_between_accounts_of_one_owner_are_wash_trading(market):
    round_trips(market, EPISODE_AT)
    alerts = _wash(market)
    assert len(alerts) == 1
    a = alerts[0]
    assert a.owner_id == "BO-W"
    assert set(a.account_ids) >= {"W1-A", "W2-A"}
    assert a.evidence["round_trip"] is True


def test_one_alert_lists_every_trade_of_the_episode(market):
    round_trips(market, EPISODE_AT, pairs=5)
    (a,) = _wash(market)
    assert a.evidence["crossings"] == 5
    assert len(a.trade_ids) >= 5


def test_alert_raised_early_is_updated_with_new_versions_same_id(market):
    round_trips(market, EPISODE_AT, pairs=5)
    engine = SurveillanceEngine(account_owners=OWNERS)
    issued = []
    for event in market.run():  # the live path: one event at a time
        issued.extend(a for a in engine.process_events([event]) if a.type == "WASH_TRADING")
    assert len({a.alert_id for a in issued}) == 1
    assert [a.version for a in issued] == list(range(1, len(issued) + 1))
    assert len(issued) >= 2
    assert len(issued[-1].trade_ids) > len(issued[0].trade_ids)


@pytest.mark.parametrize("pairs", [2, 3, 4, 6, 10])
def test_runs_of_crossings_are_alerted(market, pairs):
    round_trips(market, EPISODE_AT, pairs=pairs)
    assert len(_wash(market)) == 1


@pytest.mark.parametrize("gap_ms", [200, 2000, 20_000])
def test_round_trips_over_seconds_are_one_episode(market, gap_ms):
    round_trips(market, EPISODE_AT, pairs=3, gap_ms=gap_ms)
    assert len(_wash(market)) == 1


def test_crossings_further_apart_than_the_gap_are_separate_episodes(market):
    round_trips(market, EPISODE_AT, pairs=3, gap_ms=200)
    round_trips(market, EPISODE_AT + 5 * S, pairs=3, gap_ms=200)
    alerts = _wash(market, max_gap_ms=1_000.0)
    assert len(alerts) == 2


def test_same_account_on_both_sides_is_wash_trading(market):
    round_trips(market, EPISODE_AT, seller=("W1", "W1-A"), buyer=("W1", "W1-A"))
    (a,) = _wash(market, owners=None)
    assert a.evidence["links"] == ["same_account"]


def test_same_user_two_accounts_is_wash_trading(market):
    round_trips(market, EPISODE_AT, seller=("W1", "W1-A"), buyer=("W1", "W1-B"))
    (a,) = _wash(market, owners=None)
    assert a.evidence["links"] == ["same_user"]


def test_without_the_owner_link_two_users_are_independent(market):
    round_trips(market, EPISODE_AT)
    assert _wash(market, owners=None) == []


def test_owner_links_can_be_switched_off(market):
    round_trips(market, EPISODE_AT)
    assert _wash(market, same_owner=False) == []


def test_same_account_links_can_be_switched_off(market):
    round_trips(market, EPISODE_AT, seller=("W1", "W1-A"), buyer=("W1", "W1-A"))
    assert _wash(market, owners=None, same_account=False) == []


def test_related_accounts_quoting_without_crossing_are_not_wash(market):
    def quote(t: int, k: int) -> None:
        market.submit(t, "W1", "BUY", market.best("BUY"), 200, account="W1-A")
        market.submit(t, "W2", "SELL", market.best("SELL"), 200, account="W2-A")
        if k < 40:
            market.at(t + 250 * MS, lambda t2: quote(t2, k + 1))

    market.at(EPISODE_AT - 20 * S, lambda t: quote(t, 0))
    assert _wash(market) == []


def test_a_single_incidental_crossing_is_not_an_alert(market):
    round_trips(market, EPISODE_AT, pairs=1)
    assert _wash(market) == []


def test_min_trades_one_alerts_on_the_first_crossing(market):
    round_trips(market, EPISODE_AT, pairs=1, qty=2000)
    assert len(_wash(market, min_trades=1)) == 1


def test_one_directional_transfers_are_still_self_crossing(market):
    round_trips(market, EPISODE_AT, pairs=4, alternate=False)
    (a,) = _wash(market)
    assert a.evidence["round_trip"] is False


def test_evidence_states_the_expected_chance(market):
    round_trips(market, EPISODE_AT, pairs=4)
    (a,) = _wash(market)
    assert a.evidence["expected_by_chance"] < 1
    assert 0 < a.evidence["p_chance"] < 1e-5
    assert a.evidence["net_beneficial_position_change"] == "0"
    assert "beneficial owner BO-W" in a.explanation
    assert a.thresholds["max_gap_ms"] == 120_000.0


def test_window_spans_the_first_to_the_last_crossing(market):
    round_trips(market, EPISODE_AT, pairs=3, gap_ms=1000)
    (a,) = _wash(market)
    assert 2 * S <= a.end_ns - a.start_ns <= 2 * S + 600 * MS


def test_alert_id_is_stable_across_runs():
    from tests.unit.surveillance.market import background

    def run() -> list[str]:
        m = Market()
        background(m, seconds=45)
        round_trips(m, EPISODE_AT)
        return [a.alert_id for a in _wash(m)]

    assert run() == run()


@pytest.mark.parametrize("qty", [400, 800, 3000])
def test_sizes_above_the_typical_trade_are_alerted(market, qty):
    round_trips(market, EPISODE_AT, qty=qty)
    assert len(_wash(market)) == 1


def test_busy_owner_crossing_itself_by_chance_is_not_alerted():
    # Two accounts of one owner are a large share of all trading: random crossings between
    # them are expected and are not evidence.
    m = Market()
    from tests.unit.surveillance.market import background

    background(m, seconds=45, users=3)
    owners = {"BG000-A": "BO-B", "BG001-A": "BO-B", "BG002-A": "BO-C"}
    assert of_type(detect(m.run(), owners=owners), "WASH_TRADING") == []


def test_fisher_combination_of_ordinary_values_is_not_small():
    assert fisher_combined([0.5] * 10) > 0.3
    assert fisher_combined([0.01, 0.01, 0.01]) < 1e-3
    assert fisher_combined([]) == 1.0


def test_owner_of_unknown_accounts_is_the_user(market):
    round_trips(market, EPISODE_AT, seller=("W1", "W1-A"), buyer=("W1", "W1-B"))
    (a,) = _wash(market, owners={})
    assert a.owner_id == "W1"


def test_severity_matches_score(market):
    round_trips(market, EPISODE_AT, pairs=6)
    (a,) = _wash(market)
    from services.surveillance.core.types import severity_for_score

    assert a.severity == severity_for_score(a.score)
