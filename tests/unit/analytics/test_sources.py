"""In-memory collaborators, PriceHistory and PortfolioPosition validation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from nexus.errors import NotFoundError, ValidationError
from nexus.money import Fixed, Money
from services.analytics.core import InMemoryCache, InMemoryPrices, PortfolioPosition, PriceHistory
from services.analytics.core.sources import MISSING_PRICE_RAW

D0 = dt.date(2025, 1, 2)


def _days(n: int) -> tuple[dt.date, ...]:
    return tuple(D0 + dt.timedelta(days=i) for i in range(n))


def test_price_history_returns_are_ratios_of_raw_closes() -> None:
    raw = np.array([[100, 50], [110, 50], [99, 55]], dtype=np.int64) * 10**9
    raw[1, 1] = MISSING_PRICE_RAW
    h = PriceHistory(("A", "B"), _days(3), raw)
    r = h.returns()
    assert r[0, 0] == pytest.approx(0.1)
    assert r[1, 0] == pytest.approx(-0.1)
    assert np.isnan(r[0, 1]) and np.isnan(r[1, 1])
    assert h.column("B") == 1


def test_a_zero_close_is_a_price_not_a_missing_one() -> None:
    """Issue 17.2: a holding that becomes worthless returns -100%, then nothing."""
    raw = np.array([[100, 50], [110, 0], [99, 0]], dtype=np.int64) * 10**9
    h = PriceHistory(("A", "B"), _days(3), raw)
    r = h.returns()
    assert r[0, 1] == -1.0
    assert np.isnan(r[1, 1])  # no return is defined from a zero price
    assert h.present.all()


@pytest.mark.parametrize(
    ("symbols", "dates", "raw", "field"),
    [
        (("A",), _days(2), np.zeros((3, 1), dtype=np.int64), "closes_raw"),
        (("A",), (D0, D0), np.ones((2, 1), dtype=np.int64), "dates"),
        (("A",), _days(2), -2 * np.ones((2, 1), dtype=np.int64), "closes_raw"),
    ],
)
def test_price_history_bad_shape_or_order_raises(symbols, dates, raw, field) -> None:
    with pytest.raises(ValidationError) as err:
        PriceHistory(symbols, dates, raw)
    assert err.value.field == field


def test_price_history_unknown_column_raises_not_found() -> None:
    h = PriceHistory(("A",), _days(1), np.ones((1, 1), dtype=np.int64))
    with pytest.raises(NotFoundError):
        h.column("Z")


async def test_in_memory_prices_history_aligns_dates_and_marks_missing() -> None:
    prices = InMemoryPrices({"A": {D0: "1.5", D0 + dt.timedelta(days=1): "1.6"}})
    prices.add_close("B", D0 + dt.timedelta(days=1), "20")
    h = await prices.price_history(["A", "B"], D0, D0 + dt.timedelta(days=5))
    assert h.dates == _days(2)
    assert h.closes_raw[0, 1] == MISSING_PRICE_RAW
    assert h.closes_raw[1, 1] == Fixed("20").raw
    latest = await prices.latest_prices(["A", "B"])
    assert latest == {"A": Fixed("1.6"), "B": Fixed("20")}


async def test_in_memory_prices_unknown_or_empty_symbol_raises() -> None:
    prices = InMemoryPrices({"E": {}})
    with pytest.raises(NotFoundError):
        await prices.latest_prices(["Z"])
    with pytest.raises(NotFoundError):
        await prices.latest_prices(["E"])


async def test_in_memory_cache_computes_once_and_invalidates_by_prefix() -> None:
    cache = InMemoryCache()
    calls = []

    async def compute() -> int:
        calls.append(1)
        return 42

    assert await cache.get_or_compute("u1:var", compute) == 42
    assert await cache.get_or_compute("u1:var", compute) == 42
    assert len(calls) == 1
    assert await cache.invalidate("u2:") == 0
    assert await cache.invalidate("u1:") == 1


def test_position_market_value_is_exact() -> None:
    p = PortfolioPosition(symbol="A", quantity="-3.5", price="0.1")
    assert p.market_value == Money("-0.35")
    assert p.quantity_fixed == Fixed("-3.5")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"symbol": "", "quantity": "1", "price": "1"}, "symbol"),
        ({"symbol": "A", "quantity": "1.0000000001", "price": "1"}, "quantity"),
        ({"symbol": "A", "quantity": "x", "price": "1"}, "quantity"),
        ({"symbol": "A", "quantity": "1", "price": "-1"}, "price"),
        ({"symbol": "A", "quantity": "1", "price": "nan"}, "price"),
    ],
)
def test_position_bad_fields_raise_with_field(kwargs, field) -> None:
    with pytest.raises(ValidationError) as err:
        PortfolioPosition(**kwargs)
    assert err.value.field == field


def test_synthetic_returns_are_deterministic_fat_tailed_and_finite() -> None:
    from scipy import stats

    from bench.analytics_workload import synthetic_exposures, synthetic_returns

    a = synthetic_returns(3, 2000, 4)
    assert np.array_equal(a, synthetic_returns(3, 2000, 4))
    assert a.shape == (2000, 4) and a.flags.c_contiguous
    assert np.isfinite(a).all()
    assert stats.kurtosis(a[:, 0]) > 0.5  # fatter tails than normal
    assert synthetic_exposures(1, 5).shape == (5,)
