"""CSV loader: exact Decimal parsing into raw fixed point; errors carry line numbers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nexus.money import Rounding
from services.marketdata.core.csv_loader import (
    CloseRow,
    load_closes_csv,
    load_price_table,
)
from services.marketdata.core.errors import CsvFormatError
from services.marketdata.core.returns import compute_returns


def test_load_closes_csv_long_format_parses_exact_raw() -> None:
    text = "date,symbol,close\n2024-01-02,AAPL,185.640000001\n2024-01-02,BRK.B,0.1\n"
    rows = load_closes_csv(text)
    assert rows == [
        CloseRow("AAPL", dt.date(2024, 1, 2), 185_640_000_001),
        CloseRow("BRK.B", dt.date(2024, 1, 2), 100_000_000),
    ]


def test_load_closes_csv_wide_format_skips_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("Date,AAA,BBB\n2024-01-02,10.5,\n2024-01-03,11,20.25\n")
    rows = load_closes_csv(path)
    assert rows == [
        CloseRow("AAA", dt.date(2024, 1, 2), 10_500_000_000),
        CloseRow("AAA", dt.date(2024, 1, 3), 11_000_000_000),
        CloseRow("BBB", dt.date(2024, 1, 3), 20_250_000_000),
    ]


def test_load_closes_csv_columns_in_any_order_and_extra_columns_ignored() -> None:
    rows = load_closes_csv(" Close , Symbol ,volume, DATE\n1.25,XYZ,100,2024-03-01\n")
    assert rows == [CloseRow("XYZ", dt.date(2024, 3, 1), 1_250_000_000)]


def test_load_price_table_feeds_returns() -> None:
    table = load_price_table("date,symbol,close\n2024-01-02,A,100\n2024-01-03,A,101\n")
    got = compute_returns(table, ["A"], dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert got.values[0, 0] == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", 1, "empty file"),
        ("day,symbol,close\n", 1, "no 'date' column"),
        ("date,symbol\n2024-01-02,A\n", 1, "both 'symbol' and 'close'"),
        ("date,symbol,close\n2024-01-02,A,1\n2024-13-02,A,1\n", 3, "bad date"),
        ("date,symbol,close\n2024-01-02,a,1\n", 2, "bad symbol"),
        ("date,symbol,close\n\n2024-01-02,A,abc\n", 3, "bad close"),
        ("date,symbol,close\n2024-01-02,A,-1\n", 2, "positive"),
        ("date,symbol,close\n2024-01-02,A,1.0000000001\n", 2, "close '1.0000000001'"),
        ("date,symbol,close\n2024-01-02,A,1\n2024-01-02,A,2\n", 3, "first at line 2"),
        ("date,symbol,close\n2024-01-02,A\n", 2, "expected at least 3 fields"),
        ("date,A,B\n2024-01-02,1\n", 2, "expected 3 fields"),
        ("date,A,A\n", 1, "duplicate symbol column"),
        ("date,A\n2024-01-02,1\n2024-01-02,2\n", 3, "duplicate"),
        ("date\n", 1, "at least one symbol"),
    ],
)
def test_load_closes_csv_malformed_input_raises_with_line_number(
    text: str, line: int, fragment: str
) -> None:
    with pytest.raises(CsvFormatError) as err:
        load_closes_csv(text)
    assert err.value.line == line
    assert str(err.value).startswith(f"line {line}: ")
    assert fragment in str(err.value)


def test_load_closes_csv_too_many_decimals_with_rounding_rounds_explicitly() -> None:
    rows = load_closes_csv("date,symbol,close\n2024-01-02,A,1.0000000005\n", Rounding.HALF_EVEN)
    assert rows[0].close_raw == 1_000_000_000
