"""Simple and log returns from stored closes, over a date range, for a set of symbols.

Closes are raw fixed point (:mod:`nexus.money`); returns are float64 statistics. The policy for
gaps is explicit (:class:`MissingPolicy`):

* the trading calendar of a request is the union of the dates on which *any* requested symbol
  has a close inside ``[start, end]`` (or the calendar passed in);
* a symbol with no history at all raises :class:`UnknownSymbolError` naming every such symbol;
* a known symbol without a close on a calendar day is *missing* on that day: ``RAISE`` (default)
  raises :class:`MissingPricesError` naming symbols and dates, ``DROP`` removes those days for all
  symbols (returns then span the gap), ``FORWARD_FILL`` carries the previous close forward (a zero
  return; a gap at the start of the range is still an error).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from services.marketdata.core.errors import (
    InsufficientHistoryError,
    InvalidRangeError,
    MissingPricesError,
    UnknownSymbolError,
)


class ReturnKind(StrEnum):
    """``SIMPLE``: ``c[t] / c[t-1] - 1``; ``LOG``: ``ln(c[t] / c[t-1])``."""

    SIMPLE = "simple"
    LOG = "log"


class MissingPolicy(StrEnum):
    """What to do with a calendar day on which a requested symbol has no close."""

    RAISE = "raise"
    DROP = "drop"
    FORWARD_FILL = "ffill"


@dataclass(frozen=True, slots=True)
class ReturnsTable:
    """``values[k, j]``: return of ``symbols[j]`` from ``dates[k]`` to ``dates[k + 1]``.

    ``dates`` holds the close dates used (one more than the rows of ``values``).
    """

    dates: tuple[dt.date, ...]
    symbols: tuple[str, ...]
    values: npt.NDArray[np.float64]
    kind: ReturnKind

    def column(self, symbol: str) -> npt.NDArray[np.float64]:
        """The return series of one symbol."""
        return self.values[:, self.symbols.index(symbol)]


class PriceTable:
    """Stored closes, by symbol: ``{symbol: {trade_date: close_raw}}``; read-only after build."""

    __slots__ = ("_closes",)

    def __init__(self, closes: Mapping[str, Mapping[dt.date, int]]) -> None:
        self._closes: dict[str, dict[dt.date, int]] = {s: dict(c) for s, c in closes.items()}

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, dt.date, int]]) -> PriceTable:
        """Build from ``(symbol, trade_date, close_raw)`` rows (a later row for a key wins)."""
        closes: dict[str, dict[dt.date, int]] = {}
        for symbol, day, raw in rows:
            closes.setdefault(symbol, {})[day] = int(raw)
        return cls(closes)

    @property
    def symbols(self) -> frozenset[str]:
        """Every symbol with at least one close."""
        return frozenset(self._closes)

    def closes(self, symbol: str) -> Mapping[dt.date, int]:
        """The closes of one symbol; raises :class:`UnknownSymbolError`."""
        try:
            return self._closes[symbol]
        except KeyError:
            raise UnknownSymbolError([symbol]) from None

    def close_matrix(
        self,
        symbols: Sequence[str],
        start: dt.date,
        end: dt.date,
        missing: MissingPolicy = MissingPolicy.RAISE,
        calendar: Sequence[dt.date] | None = None,
    ) -> tuple[tuple[dt.date, ...], npt.NDArray[np.int64]]:
        """Aligned raw closes ``(dates, matrix[date, symbol])`` under the missing-day policy."""
        if start > end:
            raise InvalidRangeError(f"start {start.isoformat()} is after end {end.isoformat()}")
        if not symbols:
            raise InvalidRangeError("no symbols requested")
        unknown = [s for s in symbols if s not in self._closes]
        if unknown:
            raise UnknownSymbolError(unknown)
        series = [self._closes[s] for s in symbols]
        if calendar is None:
            days = sorted({d for c in series for d in c if start <= d <= end})
        else:
            days = sorted(d for d in set(calendar) if start <= d <= end)
        gaps = {s: [d for d in days if d not in c] for s, c in zip(symbols, series, strict=True)}
        gaps = {s: d for s, d in gaps.items() if d}
        if gaps and missing is MissingPolicy.RAISE:
            raise MissingPricesError(gaps)
        if gaps and missing is MissingPolicy.DROP:
            dropped = {d for ds in gaps.values() for d in ds}
            days = [d for d in days if d not in dropped]
        matrix = np.zeros((len(days), len(symbols)), dtype=np.int64)
        for j, c in enumerate(series):
            last = 0
            leading: list[dt.date] = []
            for k, d in enumerate(days):
                raw = c.get(d, 0)
                if raw == 0:
                    if last == 0:
                        leading.append(d)
                    raw = last
                matrix[k, j] = raw
                last = raw
            if leading:
                raise MissingPricesError({symbols[j]: leading})
        return tuple(days), matrix


def returns_from_closes(closes: npt.NDArray[np.int64], kind: ReturnKind) -> npt.NDArray[np.float64]:
    """Returns of each column of aligned raw closes (rows are consecutive closes)."""
    ratio = closes[1:].astype(np.float64) / closes[:-1].astype(np.float64)
    if kind is ReturnKind.LOG:
        out: npt.NDArray[np.float64] = np.log(ratio)
        return out
    return ratio - 1.0


def compute_returns(
    table: PriceTable,
    symbols: Sequence[str],
    start: dt.date,
    end: dt.date,
    kind: ReturnKind | str = ReturnKind.SIMPLE,
    missing: MissingPolicy | str = MissingPolicy.RAISE,
    calendar: Sequence[dt.date] | None = None,
) -> ReturnsTable:
    """Returns of ``symbols`` between closes dated in ``[start, end]`` (both inclusive).

    Raises :class:`UnknownSymbolError`, :class:`MissingPricesError` (policy ``RAISE``),
    :class:`InsufficientHistoryError` (fewer than two closes), :class:`InvalidRangeError`.
    """
    kind = ReturnKind(kind)
    missing = MissingPolicy(missing)
    days, matrix = table.close_matrix(symbols, start, end, missing, calendar)
    if len(days) < 2:
        raise InsufficientHistoryError(
            f"{len(days)} close(s) between {start.isoformat()} and {end.isoformat()}: "
            "at least two are needed for a return"
        )
    return ReturnsTable(
        dates=days,
        symbols=tuple(symbols),
        values=returns_from_closes(matrix, kind),
        kind=kind,
    )
