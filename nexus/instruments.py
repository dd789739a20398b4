"""Instrument reference data: which symbols trade, their sector, lot size and tick table, by date.

An order is checked against the :class:`Instrument` in force on its (UTC) date: an unknown
symbol, a price off the tick of its price band or a quantity that is not a whole number of lots
is refused (:class:`InstrumentViolation`, a :class:`~nexus.errors.ValidationError`, so the web
layer answers 422 naming the field). Prices and quantities are raw fixed-point ints
(``value * 10**9``, :mod:`nexus.money`); never floats.

Tick table (Reg NMS Rule 612, :data:`RULE_612_BANDS`, taken from :data:`nexus.regulation.REG_NMS_2005`
so the numbers live in one place): $0.0001 below $1.00, $0.01 at or above $1.00. The 2024
amendment's half-penny tier applies only to symbols assigned to it (none of the simulated ones);
an instrument whose table differs lists its own bands.

Dates: an instrument is in force from ``effective_from`` (inclusive) until ``effective_to``
(exclusive; None = open-ended); a symbol may have several versions whose windows do not
overlap, so a change of lot size or tick table is a new row and a replay of an old day applies
that day's row.

The simulated universe (``SIM0000``, ``SIM0001``, ...; sector ``SECTORS[i % 11]``) is defined
here, once: the simulator names its symbols with :func:`symbol_name` and market data's synthetic
history labels sectors with :data:`SECTORS` in the same order. A table may also be loaded from
JSON (:meth:`InstrumentTable.from_json`), e.g.::

    {"instruments": [{"symbol": "AAPL", "sector": "TECHNOLOGY", "lot_size": "1",
      "tick_bands": [{"from": "0", "tick": "0.0001"}, {"from": "1.00", "tick": "0.01"}],
      "effective_from": "2024-01-02", "effective_to": null}]}

(``lot_size`` and ``tick_bands`` optional: 1 share and the Rule 612 bands.)
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from nexus.errors import ConfigError, ValidationError
from nexus.money import SCALE, FixedPointError, format_raw, to_raw
from nexus.regulation import DOLLAR, REG_NMS_2005

#: Sector labels of the simulated universe, in the order symbols are assigned to them.
SECTORS: tuple[str, ...] = (
    "ENERGY",
    "MATERIALS",
    "INDUSTRIALS",
    "DISCRETIONARY",
    "STAPLES",
    "HEALTH",
    "FINANCIALS",
    "TECHNOLOGY",
    "COMMUNICATION",
    "UTILITIES",
    "REAL_ESTATE",
)
#: Ticker prefix of the simulated symbols.
SIM_PREFIX = "SIM"
#: Symbols of the simulated universe: the most a simulation may trade (``SimConfig.symbols``).
SIM_UNIVERSE = 10_000
#: The date from which the simulated instruments are listed.
SIM_LISTED = dt.date(2000, 1, 3)
#: One share (raw): the lot size unless an instrument says otherwise.
ONE_SHARE = SCALE
UNCLASSIFIED = "UNCLASSIFIED"


def symbol_name(i: int) -> str:
    """The ``i``-th simulated ticker: ``SIM0000``, ``SIM0001``, ..."""
    return f"{SIM_PREFIX}{i:04d}"


def sector_of(i: int, n_sectors: int = len(SECTORS)) -> str:
    """The sector of the ``i``-th simulated symbol (round robin over the first ``n_sectors``)."""
    return SECTORS[i % n_sectors]


@dataclass(frozen=True, slots=True)
class TickBand:
    """Prices at or above ``min_price`` (raw; up to the next band) move in steps of ``tick``."""

    min_price: int
    tick: int


#: Reg NMS Rule 612: $0.0001 below $1.00, $0.01 at or above.
RULE_612_BANDS: tuple[TickBand, ...] = (
    TickBand(0, REG_NMS_2005.tick_below_dollar),
    TickBand(DOLLAR, REG_NMS_2005.tick_at_or_above_dollar),
)


class ReferenceDataError(ConfigError):
    """Instrument reference data is malformed (bad bands, overlapping versions, bad file)."""


class InstrumentViolation(ValidationError):
    """An order breaks the instrument's reference data; ``field`` names the offending value."""


class UnknownInstrument(InstrumentViolation):
    """The symbol is not listed (on the order's date)."""


class OffTickPrice(InstrumentViolation):
    """The price is not a multiple of the tick of its price band."""


class OddLotQuantity(InstrumentViolation):
    """The quantity is not a whole number of lots."""


def _text(raw: int) -> str:
    return str(format_raw(raw))


@dataclass(frozen=True, slots=True)
class Instrument:
    """One version of a symbol's reference data (see the module docstring for the dates)."""

    symbol: str
    sector: str = UNCLASSIFIED
    lot_size: int = ONE_SHARE
    tick_bands: tuple[TickBand, ...] = RULE_612_BANDS
    effective_from: dt.date = SIM_LISTED
    effective_to: dt.date | None = None
    _band_floors: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.lot_size <= 0:
            raise ReferenceDataError(f"{self.symbol}: lot size must be > 0")
        bands = self.tick_bands
        if not bands or bands[0].min_price != 0:
            raise ReferenceDataError(f"{self.symbol}: the first tick band must start at 0")
        floors = tuple(b.min_price for b in bands)
        if any(a >= b for a, b in itertools.pairwise(floors)):
            raise ReferenceDataError(f"{self.symbol}: tick bands must be strictly ascending")
        if any(b.tick <= 0 for b in bands):
            raise ReferenceDataError(f"{self.symbol}: every tick must be > 0")
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ReferenceDataError(f"{self.symbol}: effective_to must be after effective_from")
        object.__setattr__(self, "_band_floors", floors)

    def in_force(self, day: dt.date) -> bool:
        """Whether this version applies on ``day``."""
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)

    def tick_at(self, price: int) -> int:
        """The tick of the band ``price`` (raw) falls in (the first band for prices below 0)."""
        i = bisect_right(self._band_floors, price) - 1
        return self.tick_bands[max(i, 0)].tick

    def check_price(self, price: int) -> None:
        """Raise :class:`OffTickPrice` unless ``price`` (raw, > 0) is on its band's tick."""
        tick = self.tick_at(price)
        if price % tick:
            raise OffTickPrice(
                f"price {_text(price)} is not a multiple of the tick {_text(tick)} "
                f"for {self.symbol} at that price",
                "$.price",
            )

    def check_quantity(self, quantity: int) -> None:
        """Raise :class:`OddLotQuantity` unless ``quantity`` (raw) is a whole number of lots."""
        if quantity % self.lot_size:
            raise OddLotQuantity(
                f"quantity {_text(quantity)} is not a multiple of the lot size "
                f"{_text(self.lot_size)} for {self.symbol}",
                "$.quantity",
            )


class InstrumentTable:
    """Instruments by symbol and date; answers lookups and checks orders against them."""

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        by_symbol: dict[str, list[Instrument]] = {}
        for inst in instruments:
            by_symbol.setdefault(inst.symbol, []).append(inst)
        for symbol, versions in by_symbol.items():
            versions.sort(key=lambda v: v.effective_from)
            for older, newer in itertools.pairwise(versions):
                if older.effective_to is None or older.effective_to > newer.effective_from:
                    raise ReferenceDataError(
                        f"{symbol}: versions from {older.effective_from} and "
                        f"{newer.effective_from} overlap"
                    )
        self._versions: dict[str, tuple[Instrument, ...]] = {
            s: tuple(v) for s, v in by_symbol.items()
        }

    def __len__(self) -> int:
        return len(self._versions)

    def __iter__(self) -> Iterator[Instrument]:
        for versions in self._versions.values():
            yield from versions

    def get(self, symbol: str, on: dt.date) -> Instrument | None:
        """The version of ``symbol`` in force on ``on``, or None."""
        for version in self._versions.get(symbol, ()):
            if version.in_force(on):
                return version
        return None

    def lookup(self, symbol: str, on: dt.date) -> Instrument:
        """The version of ``symbol`` in force on ``on``; raises :class:`UnknownInstrument`."""
        found = self.get(symbol, on)
        if found is not None:
            return found
        if symbol in self._versions:
            raise UnknownInstrument(f"symbol {symbol!r} is not listed on {on}", "$.symbol")
        raise UnknownInstrument(f"unknown symbol {symbol!r}", "$.symbol")

    def symbols(self, on: dt.date) -> list[str]:
        """The symbols listed on ``on``, sorted."""
        return sorted(s for s in self._versions if self.get(s, on) is not None)

    def sectors(self, on: dt.date) -> dict[str, str]:
        """``{symbol: sector}`` of the symbols listed on ``on``."""
        out = {}
        for symbol in self._versions:
            inst = self.get(symbol, on)
            if inst is not None:
                out[symbol] = inst.sector
        return out

    def validate_order(
        self, symbol: str, price_raw: int | None, quantity_raw: int, on: dt.date
    ) -> Instrument:
        """Check an order (``price_raw`` None or 0 for a market order) and return its instrument.

        Raises :class:`UnknownInstrument`, :class:`OffTickPrice` or :class:`OddLotQuantity`.
        Non-positive prices and quantities are left to the caller's own checks.
        """
        inst = self.lookup(symbol, on)
        if price_raw is not None and price_raw > 0:
            inst.check_price(price_raw)
        if quantity_raw > 0:
            inst.check_quantity(quantity_raw)
        return inst

    def extended(self, instruments: Iterable[Instrument]) -> InstrumentTable:
        """This table with ``instruments`` added (versions must not overlap)."""
        return InstrumentTable([*self, *instruments])

    # -- data files -------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, text: str | bytes) -> InstrumentTable:
        """A table from the JSON layout of the module docstring; raises ReferenceDataError."""
        try:
            doc = msgspec.json.decode(text, type=_TableDoc)
            return cls(_instrument_of(row) for row in doc.instruments)
        except (msgspec.ValidationError, msgspec.DecodeError, FixedPointError) as exc:
            raise ReferenceDataError(f"bad instrument data: {exc}") from None

    @classmethod
    def load(cls, path: str | Path) -> InstrumentTable:
        """A table from a JSON file."""
        return cls.from_json(Path(path).read_bytes())

    def to_json(self) -> bytes:
        """The table in the JSON layout :meth:`from_json` reads."""
        rows = [_row_of(inst) for inst in self]
        return msgspec.json.encode({"instruments": rows})


class _BandDoc(msgspec.Struct, forbid_unknown_fields=True, rename={"min_price": "from"}):
    min_price: str
    tick: str


class _InstrumentDoc(msgspec.Struct, forbid_unknown_fields=True):
    symbol: str
    sector: str = UNCLASSIFIED
    lot_size: str = "1"
    tick_bands: list[_BandDoc] | None = None
    effective_from: dt.date = SIM_LISTED
    effective_to: dt.date | None = None


class _TableDoc(msgspec.Struct, forbid_unknown_fields=True):
    instruments: list[_InstrumentDoc]


def _instrument_of(row: _InstrumentDoc) -> Instrument:
    bands = (
        RULE_612_BANDS
        if row.tick_bands is None
        else tuple(TickBand(to_raw(b.min_price), to_raw(b.tick)) for b in row.tick_bands)
    )
    return Instrument(
        symbol=row.symbol,
        sector=row.sector,
        lot_size=to_raw(row.lot_size),
        tick_bands=bands,
        effective_from=row.effective_from,
        effective_to=row.effective_to,
    )


def _row_of(inst: Instrument) -> Mapping[str, Any]:
    return {
        "symbol": inst.symbol,
        "sector": inst.sector,
        "lot_size": _text(inst.lot_size),
        "tick_bands": [
            {"from": _text(b.min_price), "tick": _text(b.tick)} for b in inst.tick_bands
        ],
        "effective_from": inst.effective_from.isoformat(),
        "effective_to": None if inst.effective_to is None else inst.effective_to.isoformat(),
    }


def listing(
    symbols: Iterable[str], sector: str = UNCLASSIFIED, effective_from: dt.date = SIM_LISTED
) -> list[Instrument]:
    """Instruments with the default lot (1 share) and Rule 612 ticks for ``symbols``."""
    return [Instrument(symbol=s, sector=sector, effective_from=effective_from) for s in symbols]


@functools.cache
def simulated_instruments(count: int = SIM_UNIVERSE) -> InstrumentTable:
    """The simulated universe: ``SIM0000``.. with their sectors, 1-share lots, Rule 612 ticks."""
    return InstrumentTable(
        Instrument(symbol=symbol_name(i), sector=sector_of(i)) for i in range(count)
    )


def utc_date(ts_ns: int) -> dt.date:
    """The UTC date of event time ``ts_ns`` (nanoseconds since the epoch)."""
    return dt.datetime.fromtimestamp(ts_ns // 10**9, tz=dt.UTC).date()


__all__ = [
    "ONE_SHARE",
    "RULE_612_BANDS",
    "SECTORS",
    "SIM_LISTED",
    "SIM_PREFIX",
    "SIM_UNIVERSE",
    "UNCLASSIFIED",
    "Instrument",
    "InstrumentTable",
    "InstrumentViolation",
    "OddLotQuantity",
    "OffTickPrice",
    "ReferenceDataError",
    "TickBand",
    "UnknownInstrument",
    "listing",
    "sector_of",
    "simulated_instruments",
    "symbol_name",
    "utc_date",
]
