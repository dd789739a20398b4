"""Returns from stored closes: match a direct computation; gaps and unknowns answered clearly."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from services.marketdata.core.errors import (
    InsufficientHistoryError,
    InvalidRangeError,
    MissingPricesError,
    UnknownSymbolError,
)
from services.marketdata.core.generator import HistoryConfig, generate_history
from services.marketdata.core.returns import (
    MissingPolicy,
    PriceTable,
    ReturnKind,
    compute_returns,
)

D = dt.date
RAW = 10**9


@pytest.fixture
def table() -> PriceTable:
    return PriceTable.from_rows(
        [
            ("AAA", D(2024, 1, 2), 100 * RAW),
            ("AAA", D(2024, 1, 3), 110 * RAW),
            ("AAA", D(2024, 1, 4), 99 * RAW),
            ("AAA", D(2024, 1, 5), 99 * RAW),
            ("BBB", D(2024, 1, 2), 50 * RAW),
            ("BBB", D(2024, 1, 3), 51 * RAW),
            # BBB has no close on 2024-01-04
            ("BBB", D(2024, 1, 5), 52 * RAW),
        ]
    )


def test_compute_returns_simple_matches_direct_computation(table: PriceTable) -> None:
    got = compute_returns(table, ["AAA"], D(2024, 1, 1), D(2024, 1, 31))
    np.testing.assert_allclose(got.column("AAA"), [0.1, 99 / 110 - 1, 0.0], rtol=1e-15)
    assert got.dates == (D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 4), D(2024, 1, 5))


def test_compute_returns_log_matches_direct_computation(table: PriceTable) -> None:
    got = compute_returns(table, ["AAA"], D(2024, 1, 2), D(2024, 1, 4), kind="log")
    np.testing.assert_allclose(got.values[:, 0], [math.log(1.1), math.log(99 / 110)])
    assert got.kind is ReturnKind.LOG


def test_compute_returns_generated_history_matches_numpy_on_raw_closes() -> None:
    h = generate_history(HistoryConfig(n_symbols=5, n_days=60), seed=9)
    table = PriceTable.from_rows(h.iter_close_rows())
    days = h.trade_dates
    got = compute_returns(table, list(h.symbols[1:4]), days[10], days[40])
    raw = h.closes[10:41, 1:4]
    np.testing.assert_allclose(got.values, raw[1:] / raw[:-1] - 1, rtol=1e-14)


def test_compute_returns_missing_day_default_raises_naming_symbol_and_date(
    table: PriceTable,
) -> None:
    with pytest.raises(MissingPricesError) as err:
        compute_returns(table, ["AAA", "BBB"], D(2024, 1, 1), D(2024, 1, 31))
    assert err.value.missing == {"BBB": (D(2024, 1, 4),)}
    assert "BBB: 2024-01-04" in str(err.value)


def test_compute_returns_missing_day_drop_policy_spans_the_gap(table: PriceTable) -> None:
    got = compute_returns(table, ["AAA", "BBB"], D(2024, 1, 1), D(2024, 1, 31), missing="drop")
    assert got.dates == (D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 5))
    np.testing.assert_allclose(got.column("BBB"), [0.02, 52 / 51 - 1])
    np.testing.assert_allclose(got.column("AAA"), [0.1, 99 / 110 - 1])


def test_compute_returns_missing_day_forward_fill_gives_zero_return(table: PriceTable) -> None:
    got = compute_returns(
        table,
        ["BBB"],
        D(2024, 1, 2),
        D(2024, 1, 5),
        missing=MissingPolicy.FORWARD_FILL,
        calendar=[D(2024, 1, 2), D(2024, 1, 3), D(2024, 1, 4), D(2024, 1, 5)],
    )
    np.testing.assert_allclose(got.column("BBB"), [0.02, 0.0, 52 / 51 - 1])


def test_compute_returns_gap_at_range_start_forward_fill_still_raises(table: PriceTable) -> None:
    with pytest.raises(MissingPricesError) as err:
        compute_returns(
            table,
            ["BBB"],
            D(2024, 1, 4),
            D(2024, 1, 5),
            missing="ffill",
            calendar=[D(2024, 1, 4), D(2024, 1, 5)],
        )
    assert err.value.missing == {"BBB": (D(2024, 1, 4),)}


def test_compute_returns_unknown_symbols_raise_naming_all(table: PriceTable) -> None:
    with pytest.raises(UnknownSymbolError) as err:
        compute_returns(table, ["ZZZ", "AAA", "YYY"], D(2024, 1, 1), D(2024, 1, 31))
    assert err.value.symbols == ("YYY", "ZZZ")
    assert "YYY, ZZZ" in str(err.value)
    assert isinstance(err.value, LookupError)


def test_compute_returns_single_close_in_range_raises_insufficient(table: PriceTable) -> None:
    with pytest.raises(InsufficientHistoryError):
        compute_returns(table, ["AAA"], D(2024, 1, 3), D(2024, 1, 3))


def test_compute_returns_start_after_end_raises_invalid_range(table: PriceTable) -> None:
    with pytest.raises(InvalidRangeError):
        compute_returns(table, ["AAA"], D(2024, 2, 1), D(2024, 1, 1))


def test_compute_returns_no_symbols_raises_invalid_range(table: PriceTable) -> None:
    with pytest.raises(InvalidRangeError):
        compute_returns(table, [], D(2024, 1, 1), D(2024, 1, 31))


def test_price_table_unknown_symbol_lookup_raises(table: PriceTable) -> None:
    assert table.symbols == frozenset({"AAA", "BBB"})
    with pytest.raises(UnknownSymbolError):
        table.closes("NOPE")
