"""Load real daily closes from CSV into raw fixed point, exactly.

Two layouts, told apart by the header (case-insensitive, surrounding blanks ignored):

* long: ``date,symbol,close`` (columns in any order, extra columns ignored);
* wide: ``date,SYM1,SYM2,...`` (an empty cell means no close that day).

Dates are ISO ``YYYY-MM-DD``; closes are decimal text parsed with :class:`~decimal.Decimal`
and converted to raw fixed point without rounding (more than 9 decimals is an error unless a
``rounding`` is passed). Every error is a :class:`CsvFormatError` with the 1-based line number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NamedTuple, TextIO

from nexus.events import SYMBOL_RE
from nexus.money import FixedPointError, Rounding, to_raw
from services.marketdata.core.errors import CsvFormatError
from services.marketdata.core.returns import PriceTable


class CloseRow(NamedTuple):
    """One stored close: ``close_raw`` is ``value * 10**9``."""

    symbol: str
    trade_date: dt.date
    close_raw: int


def _parse_date(text: str, line: int) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise CsvFormatError(f"bad date {text!r} (expected YYYY-MM-DD)", line) from None


def _parse_symbol(text: str, line: int) -> str:
    symbol = text.strip()
    if not SYMBOL_RE.match(symbol):
        raise CsvFormatError(f"bad symbol {symbol!r} (expected e.g. AAPL, BRK.B)", line)
    return symbol


def _parse_close(text: str, line: int, symbol: str, rounding: Rounding) -> int:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise CsvFormatError(f"bad close {text!r} for {symbol}", line) from None
    if not value.is_finite() or value <= 0:
        raise CsvFormatError(f"close must be a positive number, got {text!r} for {symbol}", line)
    try:
        return to_raw(value, rounding)
    except FixedPointError as exc:
        raise CsvFormatError(f"close {text!r} for {symbol}: {exc}", line) from None


def _lines(source: str | Path | TextIO | Iterable[str]) -> Iterator[str]:
    if isinstance(source, Path):
        with source.open(newline="") as fh:
            yield from fh
    elif isinstance(source, str):
        yield from io.StringIO(source, newline="")
    else:
        yield from source


def iter_close_rows(
    source: str | Path | TextIO | Iterable[str], rounding: Rounding = Rounding.EXACT
) -> Iterator[CloseRow]:
    """Parse CSV (a :class:`Path`, CSV text, a file or lines) into :class:`CloseRow` items.

    Duplicate ``(symbol, date)`` pairs raise, naming both lines.
    """
    reader = csv.reader(_lines(source))
    header: list[str] | None = None
    for row in reader:
        if any(cell.strip() for cell in row):
            header = [cell.strip() for cell in row]
            break
    if header is None:
        raise CsvFormatError("empty file: expected a header", 1)
    head_line = reader.line_num
    names = [h.lower() for h in header]
    seen: dict[tuple[str, dt.date], int] = {}

    def check_dup(symbol: str, day: dt.date, line: int) -> None:
        first = seen.setdefault((symbol, day), line)
        if first != line:
            raise CsvFormatError(
                f"duplicate close for {symbol} on {day.isoformat()} (first at line {first})", line
            )

    if "date" not in names:
        raise CsvFormatError("header has no 'date' column", head_line)
    i_date = names.index("date")
    if "symbol" in names and "close" in names:
        i_sym, i_close = names.index("symbol"), names.index("close")
        width = max(i_date, i_sym, i_close) + 1
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < width:
                raise CsvFormatError(f"expected at least {width} fields, got {len(row)}", line)
            day = _parse_date(row[i_date], line)
            symbol = _parse_symbol(row[i_sym], line)
            check_dup(symbol, day, line)
            yield CloseRow(symbol, day, _parse_close(row[i_close], line, symbol, rounding))
        return
    if "symbol" in names or "close" in names:
        raise CsvFormatError("long format needs both 'symbol' and 'close' columns", head_line)
    columns = [(k, _parse_symbol(h, head_line)) for k, h in enumerate(header) if k != i_date]
    if not columns:
        raise CsvFormatError("wide format needs at least one symbol column", head_line)
    if len({s for _, s in columns}) != len(columns):
        raise CsvFormatError("duplicate symbol column in header", head_line)
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise CsvFormatError(f"expected {len(header)} fields, got {len(row)}", line)
        day = _parse_date(row[i_date], line)
        check_dup("*", day, line)
        for k, symbol in columns:
            if row[k].strip():
                yield CloseRow(symbol, day, _parse_close(row[k], line, symbol, rounding))


def load_closes_csv(
    source: str | Path | TextIO | Iterable[str], rounding: Rounding = Rounding.EXACT
) -> list[CloseRow]:
    """All rows of a price CSV (see :func:`iter_close_rows`)."""
    return list(iter_close_rows(source, rounding))


def load_price_table(
    source: str | Path | TextIO | Iterable[str], rounding: Rounding = Rounding.EXACT
) -> PriceTable:
    """A :class:`PriceTable` of a price CSV, ready for :func:`compute_returns`."""
    return PriceTable.from_rows(iter_close_rows(source, rounding))
