"""Errors of the market-data domain: each names the symbols, dates or line at fault."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from nexus.errors import NotFoundError, ValidationError


class UnknownSymbolError(NotFoundError):
    """Symbols with no stored history at all."""

    def __init__(self, symbols: Sequence[str]) -> None:
        self.symbols = tuple(sorted(symbols))
        super().__init__(f"unknown symbols: {', '.join(self.symbols)}")


class MissingPricesError(NotFoundError):
    """Closes missing on trading days of the requested range; ``missing`` maps symbol -> dates."""

    def __init__(self, missing: Mapping[str, Sequence[dt.date]]) -> None:
        self.missing = {s: tuple(d) for s, d in sorted(missing.items())}
        parts = []
        for symbol, dates in self.missing.items():
            shown = ", ".join(d.isoformat() for d in dates[:5])
            more = f" (+{len(dates) - 5} more)" if len(dates) > 5 else ""
            parts.append(f"{symbol}: {shown}{more}")
        super().__init__("missing closes for " + "; ".join(parts))


class InsufficientHistoryError(NotFoundError):
    """Fewer than two closes in the range: no return can be computed."""


class InvalidRangeError(ValidationError):
    """A date range or a generator parameter that makes no sense (start after end, ...)."""


class CsvFormatError(ValidationError):
    """A malformed price CSV; ``line`` is the 1-based line number of the fault."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}", field=f"line {line}")
        self.line = line
