"""Start-price selection: the simulator can start each symbol's fundamental at a given price."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from nexus.errors import ConfigError
from nexus.sim import SimConfig, simulate
from nexus.sim.live import window_config
from nexus.sim.sink import Action

BASE = SimConfig(seed=3, symbols=2, users=20, seconds=4.0, orders_per_second=200.0)


def _prices(actions: list[Action], symbol: str) -> list[Decimal]:
    return [Decimal(a.price) / 10**9 for a in actions if a.symbol == symbol and a.price]


def test_given_start_prices_center_each_symbols_orders_on_that_price() -> None:
    cfg = msgspec.structs.replace(BASE, start_prices=["61.65", "4.89"])
    actions = list(simulate(cfg).iter_actions())
    for symbol, start in (("SIM0000", Decimal("61.65")), ("SIM0001", Decimal("4.89"))):
        prices = _prices(actions, symbol)
        assert prices
        median = sorted(prices)[len(prices) // 2]
        assert abs(median - start) / start < Decimal("0.02"), (symbol, median)


def test_end_prices_are_tick_aligned_and_continue_the_next_window() -> None:
    cfg = msgspec.structs.replace(BASE, start_prices=["61.65", "4.89"])
    first = simulate(cfg)
    ends = first.end_prices
    assert len(ends) == 2
    assert all(Decimal(p) % Decimal(cfg.tick) == 0 for p in ends)
    nxt = msgspec.structs.replace(window_config(cfg, 1), start_prices=ends)
    second = simulate(nxt)
    for symbol, end in zip(first.symbols, ends, strict=True):
        prices = _prices(list(second.iter_actions()), symbol)[:20]
        assert abs(sorted(prices)[10] - Decimal(end)) / Decimal(end) < Decimal("0.02")


def test_without_start_prices_the_run_is_unchanged_by_the_option() -> None:
    a = simulate(BASE)
    b = simulate(msgspec.structs.replace(BASE, start_prices=None))
    assert (a.events == b.events).all()


@pytest.mark.parametrize("prices", [["1"], ["1", "0"], ["1", "abc"], ["1", "-2"]])
def test_start_prices_of_the_wrong_length_or_not_positive_are_refused(prices: list[str]) -> None:
    with pytest.raises(ConfigError):
        msgspec.structs.replace(BASE, start_prices=prices).validate()
