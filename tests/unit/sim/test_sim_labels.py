"""The label file matches the injected orders: ids, users, accounts, symbols, windows, trades."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from nexus.events import OrderCancel, OrderNew, Trade
from nexus.sim import EpisodeLabel, read_labels

from .conftest import SMALL, Run


@pytest.fixture(scope="module")
def labels(small: Run) -> list[EpisodeLabel]:
    return small.result.labels().episodes


@pytest.fixture(scope="module")
def news(small: Run) -> dict[str, OrderNew]:
    return {e.order_id: e for e in small.events if isinstance(e, OrderNew)}


def test_labels_cover_every_configured_episode_type(labels: list[EpisodeLabel]) -> None:
    counts: dict[str, int] = defaultdict(int)
    for label in labels:
        counts[label.type] += 1
    assert counts["SPOOFING"] == SMALL.spoofing.count
    assert counts["LAYERING"] == SMALL.layering.count
    assert counts["MOMENTUM_IGNITION"] == SMALL.momentum_ignition.count
    assert counts["WASH_TRADING"] == SMALL.wash_trading.count


def test_labelled_orders_exist_with_labelled_user_symbol_and_window(
    labels: list[EpisodeLabel], news: dict[str, OrderNew]
) -> None:
    for label in labels:
        assert label.order_ids and len(label.roles) == len(label.order_ids)
        assert label.window_start_ns <= label.window_end_ns
        for order_id in label.order_ids:
            new = news[order_id]
            assert new.symbol == label.symbol
            assert new.user_id in label.user_ids
            assert new.account_id in label.accounts
            assert label.window_start_ns <= new.ts_event <= label.window_end_ns


def test_labelled_trade_ids_exist_and_involve_the_episode_orders(
    small: Run, labels: list[EpisodeLabel]
) -> None:
    trades = {e.event_id: e for e in small.events if isinstance(e, Trade)}
    for label in labels:
        mine = set(label.order_ids)
        for trade_id in label.trade_ids:
            trade = trades[trade_id]
            assert trade.buy_order_id in mine or trade.sell_order_id in mine
    involved = {
        t.event_id
        for t in trades.values()
        for label in labels
        if t.buy_order_id in label.order_ids or t.sell_order_id in label.order_ids
    }
    assert involved == {t for label in labels for t in label.trade_ids}


def test_wash_trading_episodes_trade_between_accounts_of_one_owner(
    small: Run, labels: list[EpisodeLabel]
) -> None:
    owner = {acc: u.beneficial_owner for u in small.result.population.users for acc in u.accounts}
    trades = {e.event_id: e for e in small.events if isinstance(e, Trade)}
    for label in (x for x in labels if x.type == "WASH_TRADING"):
        assert len(set(label.accounts)) == 2
        assert {owner[a] for a in label.accounts} == {label.beneficial_owner}
        self_trades = [
            t
            for t in (trades[i] for i in label.trade_ids)
            if {t.buyer_account_id, t.seller_account_id} == set(label.accounts)
        ]
        assert len(self_trades) == label.roles.count("wash_buy") >= 1
    wash = [x for x in labels if x.type == "WASH_TRADING"]
    assert any(len(x.user_ids) == 2 for x in wash)  # across two users of one owner
    assert any(len(x.user_ids) == 1 for x in wash)  # across two accounts of one user


def test_spoofing_and_layering_orders_are_large_and_cancelled_in_window(
    small: Run, labels: list[EpisodeLabel], news: dict[str, OrderNew]
) -> None:
    cancelled = {e.order_id: e for e in small.events if isinstance(e, OrderCancel)}
    lot = SMALL.lot_size * 10**9
    for label in (x for x in labels if x.type in ("SPOOFING", "LAYERING")):
        big = [
            o for o, r in zip(label.order_ids, label.roles, strict=True) if r in ("spoof", "layer")
        ]
        assert len(big) == 1 if label.type == "SPOOFING" else len(big) >= 2
        sides = {news[o].side for o in big}
        assert len(sides) == 1
        if label.type == "LAYERING":
            assert len({news[o].price for o in big}) == len(big)
        for order_id in big:
            assert news[order_id].quantity >= 3 * lot
            if order_id in cancelled:
                assert cancelled[order_id].ts_event <= label.window_end_ns
        assert any(order_id in cancelled for order_id in big)


def test_momentum_ignition_sends_a_burst_of_aggressive_orders_one_way(
    labels: list[EpisodeLabel], news: dict[str, OrderNew]
) -> None:
    for label in (x for x in labels if x.type == "MOMENTUM_IGNITION"):
        burst = [o for o, r in zip(label.order_ids, label.roles, strict=True) if r == "ignition"]
        assert len(burst) >= SMALL.momentum_ignition.orders.low
        assert {news[o].time_in_force for o in burst} == {"IOC"}
        assert len({news[o].side for o in burst}) == 1
        assert label.trade_ids


def test_label_file_roundtrips_with_users_and_accounts(small: Run, tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    small.result.write_labels(path)
    loaded = read_labels(path)
    assert loaded == small.result.labels()
    assert len(loaded.users) == SMALL.users
    assert loaded.config == SMALL
    assert loaded.stats == small.result.stats()
