"""Exact money: one fixed-point scale for prices, quantities and amounts.

The scale is documented here and nowhere else: a raw integer holds ``value * 10**9``
(:data:`PRECISION` = 9 decimal places).

* :class:`Fixed` - prices, quantities, per-unit amounts; int64 raw (|value| < 9.22e9).
* :class:`Money` - notionals, P&L and sums; 128-bit raw (|value| < 1.7e29), so
  ``price.notional(quantity)`` is exact for any pair of Fixed values (1e9 shares at 1e6 is 1e15).

Both are compiled (``ext/fixed.pyx``) and also usable from Cython through ``ext/fixedpoint.pxd``.
Text and ``Decimal`` convert exactly; inexact input raises :class:`InexactValueError` unless a
:class:`Rounding` mode is passed. ``*`` and ``/`` are exact too (they raise
:class:`InexactValueError` when the result needs more than nine places): round explicitly with
``a.mul(b, rounding=Rounding.HALF_EVEN)`` / ``a.div(b, rounding=...)``. Overflow raises
:class:`FixedPointOverflowError`. Parsing is bounded (ASCII ``[+-]digits[.digits][e[+-]n]``,
at most ``MAX_TEXT`` characters, magnitude below
``10**MAX_WHOLE_DIGITS``), so no input can stall a caller; errors quote what was sent.
At every external boundary money travels as a decimal string (``str(value)``).
"""

from __future__ import annotations

import decimal
from enum import IntEnum
from typing import TYPE_CHECKING

from nexus.errors import BuildError

try:
    from nexus._ext.fixed import (
        EXACT,
        MAX_TEXT,
        MAX_WHOLE_DIGITS,
        PRECISION,
        SCALE,
        Fixed,
        FixedPointError,
        FixedPointOverflowError,
        InexactValueError,
        InvalidNumberError,
        Money,
        format_raw,
        parse_raw,
    )
except ImportError as exc:  # pragma: no cover - exercised only on an unbuilt checkout
    raise BuildError(
        "nexus compiled extensions are not built: run `make build` "
        "(or `pip install -e .`) from the project root"
    ) from exc


class Rounding(IntEnum):
    """Rounding modes, named as in :mod:`decimal`; ``EXACT`` raises instead of rounding."""

    EXACT = -1
    HALF_EVEN = 0
    HALF_UP = 1
    HALF_DOWN = 2
    DOWN = 3
    UP = 4
    FLOOR = 5
    CEILING = 6

    @property
    def decimal_mode(self) -> str:
        """The equivalent :mod:`decimal` rounding constant (not defined for EXACT)."""
        return _DECIMAL_MODES[self]


_DECIMAL_MODES = {
    Rounding.HALF_EVEN: decimal.ROUND_HALF_EVEN,
    Rounding.HALF_UP: decimal.ROUND_HALF_UP,
    Rounding.HALF_DOWN: decimal.ROUND_HALF_DOWN,
    Rounding.DOWN: decimal.ROUND_DOWN,
    Rounding.UP: decimal.ROUND_UP,
    Rounding.FLOOR: decimal.ROUND_FLOOR,
    Rounding.CEILING: decimal.ROUND_CEILING,
}

if TYPE_CHECKING:
    # Distinct to the type checker, as NautilusTrader's Price and Quantity are: a Quantity (or
    # a bare Fixed) where a Price is expected fails type checking. At run time both are Fixed
    # itself, so ``Price("1.5")`` is ``Fixed("1.5")`` and nothing costs or behaves differently;
    # arithmetic on either gives a plain Fixed.

    class Price(Fixed):
        """A price (a :class:`Fixed` to the interpreter)."""

    class Quantity(Fixed):
        """A quantity (a :class:`Fixed` to the interpreter)."""

else:
    Price = Fixed
    Quantity = Fixed

INT64_MAX = 2**63 - 1


def to_raw(value: str | decimal.Decimal | int | Fixed, rounding: Rounding = Rounding.EXACT) -> int:
    """Raw int64 of a value that must fit a :class:`Fixed`."""
    raw: int = parse_raw(value, int(rounding))
    if not -(2**63) <= raw <= INT64_MAX:
        raise FixedPointOverflowError(f"{value} does not fit a Fixed (int64 raw)")
    return raw


def raw_to_decimal(raw: int) -> decimal.Decimal:
    """Exact Decimal of a raw int."""
    return decimal.Decimal(format_raw(raw))


def float_to_money(value: float, places: int = 9, rounding: Rounding = Rounding.HALF_EVEN) -> Money:
    """Convert a statistic computed in float64 to Money, rounded explicitly to ``places``."""
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidNumberError(f"not a finite number: {value!r}")
    exact = decimal.Decimal(value).quantize(
        decimal.Decimal(1).scaleb(-places), rounding=rounding.decimal_mode
    )
    return Money(exact)


__all__ = [
    "EXACT",
    "MAX_TEXT",
    "MAX_WHOLE_DIGITS",
    "PRECISION",
    "SCALE",
    "Fixed",
    "FixedPointError",
    "FixedPointOverflowError",
    "InexactValueError",
    "InvalidNumberError",
    "Money",
    "Price",
    "Quantity",
    "Rounding",
    "float_to_money",
    "format_raw",
    "parse_raw",
    "raw_to_decimal",
    "to_raw",
]
