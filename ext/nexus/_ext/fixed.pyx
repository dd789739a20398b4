# cython: freethreading_compatible = False
"""Exact fixed-point value types: :class:`Fixed` (int64 raw) and :class:`Money` (128-bit raw).

One scale for the whole system: ``raw = value * 10**9`` (nine decimal places). Parsing and
arithmetic are exact by default (``rounding=-1`` raises :class:`InexactValueError`, and so do
``*`` and ``/`` when the result needs more than nine places); every other rounding mode is named
explicitly (``a.mul(b, rounding=Rounding.HALF_EVEN)``). Overflow raises
:class:`FixedPointOverflowError`, it never wraps.

Parsing is bounded: text is ASCII ``[+-]digits[.digits][e[+-]digits]`` of at most
:data:`MAX_TEXT` characters and a value's magnitude is below ``10**MAX_WHOLE_DIGITS``;
anything else is refused before any arithmetic, so no input costs more than microseconds. Error messages quote (a prefix of) what was sent.
"""
import re
from decimal import Decimal, InvalidOperation, ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, \
    ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, localcontext

from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t, uint64_t

from nexus._ext.fixedpoint cimport (FX_PRECISION, FX_SCALE, FX_ROUND_HALF_EVEN, fx_add, fx_div,
                                    fx_div_exact, fx_hi64, fx_int128, fx_lo64, fx_mul,
                                    fx_mul_exact, fx_notional128, fx_sub)
from nexus._ext.buildmode cimport NEXUS_DEBUG
from nexus.errors import NexusError

#: True in a debug build (``NEXUS_DEBUG=1``, bounds checks on)
DEBUG = NEXUS_DEBUG

PRECISION = FX_PRECISION
SCALE = 10 ** 9
# Python-int constants: C-typed constants in object arithmetic would let Cython infer
# C or floating types, which must never touch an exact value.
cdef object PY_SCALE = SCALE
cdef tuple _POW10 = tuple([10 ** i for i in range(64)])
EXACT = -1
MONEY_MAX_RAW = (1 << 127) - 1
MONEY_MIN_RAW = -(1 << 127)
#: longest decimal text accepted (characters)
MAX_TEXT = 64
#: every accepted value is below 10**MAX_WHOLE_DIGITS in magnitude (Money's range is 1.7e29)
MAX_WHOLE_DIGITS = 30
# ASCII only: Python's [0-9] and Decimal() would also take other scripts' digits.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,9})?\Z",
                           re.ASCII)
cdef object _UNSET = object()

_DECIMAL_ROUNDING = (ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_HALF_DOWN, ROUND_DOWN, ROUND_UP,
                     ROUND_FLOOR, ROUND_CEILING)
_QUANTUM = Decimal(1).scaleb(-FX_PRECISION)


class FixedPointError(NexusError, ArithmeticError):
    """Base of fixed-point failures (a :class:`nexus.errors.NexusError`)."""


cdef str _shown(object value):
    """A short, cheap rendering of user input for an error message (never a huge int)."""
    cdef str text
    if isinstance(value, int) and not isinstance(value, bool):
        if (<object>value).bit_length() > 128:
            return f"an integer of {(<object>value).bit_length()} bits"
        return str(value)
    if isinstance(value, str):
        text = <str>value
    elif isinstance(value, Decimal):
        sign, digits, exponent = value.as_tuple()
        if len(digits) > MAX_TEXT:
            return f"a Decimal of {len(digits)} digits"
        text = str(value)
    else:
        return type(value).__name__
    if len(text) > 40:
        return repr(text[:40] + "...")
    return repr(text)


cdef str _shown_raw(object raw):
    """Decimal text of a raw integer for a message (a bit count when it is huge)."""
    if raw.bit_length() > 200:
        return f"a raw integer of {raw.bit_length()} bits"
    return _format_raw(raw)


class FixedPointOverflowError(FixedPointError, OverflowError):
    """The exact result does not fit the representation."""


class InexactValueError(FixedPointError, ValueError):
    """The value has more than nine decimal places and no rounding mode was given."""


class InvalidNumberError(FixedPointError, ValueError):
    """The text or object is not a finite decimal number."""


cdef inline int _check_mode(int mode) except -2:
    if mode < -1 or mode > 6:
        raise ValueError(f"unknown rounding mode {mode}")
    return mode


cdef object _round_div(object n, object d, int mode):
    """Python-int n / d rounded by mode (exact when mode is EXACT, else raise)."""
    q, r = divmod(n, d)      # floor division
    if r == 0:
        return q
    if mode == EXACT:
        raise InexactValueError("value has more than 9 decimal places; pass a rounding mode")
    # Convert floor quotient to truncated quotient and remainder.
    if (n < 0) != (d < 0):
        q += 1
        r -= d
    ar = abs(r)
    ad = abs(d)
    negative = (n < 0) != (d < 0)
    away = q - 1 if negative else q + 1
    if mode == 3:      # DOWN
        return q
    if mode == 4:      # UP
        return away
    if mode == 5:      # FLOOR
        return q - 1 if negative else q
    if mode == 6:      # CEILING
        return q if negative else q + 1
    if mode == 1:      # HALF_UP
        return away if 2 * ar >= ad else q
    if mode == 2:      # HALF_DOWN
        return away if 2 * ar > ad else q
    return away if (2 * ar > ad or (2 * ar == ad and q & 1)) else q


cdef object _raw_from_decimal(object value, int mode, object shown=None):
    """Raw int of a finite Decimal, bounded before any arithmetic (see the module docstring).

    Digits below the guard place (10**-10) only matter as "some are non-zero", so they are
    folded into one sticky digit: the cost is linear in the digits, no huge power is built.
    """
    cdef Py_ssize_t nd, k, keep
    if not value.is_finite():
        raise InvalidNumberError(f"not a finite number: {_shown(value if shown is None else shown)}")
    if value.adjusted() >= MAX_WHOLE_DIGITS and not value.is_zero():   # O(1), before as_tuple
        raise FixedPointOverflowError(f"{_shown(value if shown is None else shown)} is out of "
                                      f"range (|value| >= 1e{MAX_WHOLE_DIGITS})")
    sign, digits, exponent = value.as_tuple()
    nd = len(digits)
    while nd > 1 and digits[nd - 1] == 0:       # trailing zeros move into the exponent
        nd -= 1
        exponent += 1
    if nd == 1 and digits[0] == 0:
        return 0
    if exponent + nd > MAX_WHOLE_DIGITS:
        raise FixedPointOverflowError(f"{_shown(value if shown is None else shown)} is out of "
                                      f"range (|value| >= 1e{MAX_WHOLE_DIGITS})")
    n = 0
    if exponent + FX_PRECISION >= 0:
        for k in range(nd):
            n = n * 10 + digits[k]
        n *= _POW10[exponent + FX_PRECISION]    # at most MAX_WHOLE_DIGITS + 9 < 64
        return -n if sign else n
    if mode == EXACT:
        raise InexactValueError(f"{_shown(value if shown is None else shown)} has more than 9 "
                                "decimal places; pass a rounding mode")
    keep = nd + exponent + FX_PRECISION         # digits at or above the 10**-9 place
    if keep < 0:
        n = 1                                   # guard digit 0, sticky set
    else:
        for k in range(keep + 1):               # the kept digits and the guard digit
            n = n * 10 + digits[k]
        n = n * 10 + (1 if any(digits[keep + 1:nd]) else 0)
    return _round_div(-n if sign else n, 100, mode)


cdef int64_t[10] _C_POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
                             1000000000]


cdef object _raw_from_text(str text, int mode):
    """Exact decimal text to raw int; a C fast path for plain `[+-]digits[.digits]`."""
    cdef Py_ssize_t n = len(text), i, begin = 0
    cdef Py_UCS4 c
    cdef int64_t units = 0, frac = 0
    cdef int int_digits = 0, frac_digits = 0
    cdef bint negative = False, seen_point = False, fast = True
    if n == 0:
        raise InvalidNumberError("empty string is not a number")
    c = text[0]
    if c == "-" or c == "+":
        negative = c == "-"
        begin = 1
    for i in range(begin, n):
        c = text[i]
        if c == ".":
            if seen_point:
                fast = False
                break
            seen_point = True
        elif c >= "0" and c <= "9":
            if seen_point:
                if frac_digits == FX_PRECISION:
                    fast = False
                    break
                frac = frac * 10 + (<int64_t>c - 48)
                frac_digits += 1
            else:
                if int_digits == 10:
                    fast = False
                    break
                units = units * 10 + (<int64_t>c - 48)
                int_digits += 1
        else:
            fast = False
            break
    # 9_223_372_035 whole units and below can never overflow int64 with any fraction.
    if fast and int_digits + frac_digits > 0 and units <= 9_223_372_035:
        units = units * FX_SCALE + frac * _C_POW10[FX_PRECISION - frac_digits]
        return -units if negative else units
    if n > MAX_TEXT:
        raise InvalidNumberError(f"decimal text longer than {MAX_TEXT} characters: {_shown(text)}")
    if _DECIMAL_TEXT.match(text) is None:
        raise InvalidNumberError(f"not a decimal number: {_shown(text)}")
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        raise InvalidNumberError(f"not a decimal number: {_shown(text)}") from None
    return _raw_from_decimal(value, mode, text)


cdef str _format_raw(object raw):
    """Canonical decimal text of a raw value: no exponent, no trailing fractional zeros."""
    negative = raw < 0
    units, frac = divmod(-raw if negative else raw, PY_SCALE)
    if frac:
        text = f"{units}.{frac:09d}".rstrip("0")
    else:
        text = str(units)
    return "-" + text if negative else text


cdef inline int64_t _to_int64(object raw, object value=_UNSET) except? -1:
    """``raw`` as int64; the overflow message quotes ``value`` (what the user sent) if given."""
    if raw > INT64_MAX or raw < INT64_MIN:
        shown = _shown_raw(raw) if value is _UNSET else _shown(value)
        raise FixedPointOverflowError(
            f"{shown} does not fit a Fixed (|value| <= 9223372036.854775807)")
    return <int64_t>raw


cdef object _raw_of(object value, int mode):
    """Raw int of str, Decimal, int (whole units) or Fixed/Money."""
    if isinstance(value, Fixed):
        return (<Fixed>value).raw
    if isinstance(value, Money):
        return (<Money>value).raw
    if isinstance(value, str):
        return _raw_from_text(<str>value, mode)
    if isinstance(value, bool):
        raise InvalidNumberError("a bool is not a number")
    if isinstance(value, int):
        if (<object>value).bit_length() > 100:   # 2**100 * 10**9 > Money's 2**127
            raise FixedPointOverflowError(f"{_shown(value)} is out of range")
        return value * PY_SCALE
    if isinstance(value, Decimal):
        return _raw_from_decimal(value, mode)
    if isinstance(value, float):
        raise InvalidNumberError("floats are not accepted for exact values; pass a str or Decimal")
    raise InvalidNumberError(f"cannot make a fixed-point value from {type(value).__name__}")


cdef class Fixed:
    """A price, quantity or per-unit amount, exact to 10**-9; immutable.

    ``Fixed("101.25")``, ``Fixed(Decimal("0.1"))``, ``Fixed(5)`` (whole units) or
    ``Fixed.from_raw(101_250_000_000)``. Inexact input raises unless ``rounding`` is given
    (0 HALF_EVEN, 1 HALF_UP, 2 HALF_DOWN, 3 DOWN, 4 UP, 5 FLOOR, 6 CEILING; see ``Rounding``).
    """

    def __cinit__(self, value=_UNSET, int rounding=EXACT):
        if value is _UNSET:         # Fixed() and every internal result: raw stays 0
            return
        _check_mode(rounding)
        self.raw = _to_int64(_raw_of(value, rounding), value)

    @staticmethod
    cdef Fixed from_raw_c(int64_t raw):
        cdef Fixed out = Fixed.__new__(Fixed)
        out.raw = raw
        return out

    @staticmethod
    def from_raw(raw):
        """Wrap a raw int64 (value * 10**9)."""
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise InvalidNumberError("raw must be an int")
        return Fixed.from_raw_c(_to_int64(raw))

    @staticmethod
    def from_str(str text not None, int rounding=EXACT):
        """Parse decimal text exactly (or with the named rounding)."""
        _check_mode(rounding)
        return Fixed.from_raw_c(_to_int64(_raw_from_text(text, rounding), text))

    @staticmethod
    def from_decimal(value not None, int rounding=EXACT):
        """Convert a Decimal exactly (or with the named rounding)."""
        _check_mode(rounding)
        if not isinstance(value, Decimal):
            raise TypeError(f"expected a Decimal, got {type(value).__name__}")
        return Fixed.from_raw_c(_to_int64(_raw_from_decimal(value, rounding), value))

    def to_decimal(self):
        """The exact value as a Decimal."""
        return Decimal(_format_raw(self.raw))

    def as_float(self):
        """The nearest float, for statistics only; never feed it back into money."""
        return self.raw / 1e9

    def __str__(self):
        return _format_raw(self.raw)

    def __repr__(self):
        return f"Fixed('{_format_raw(self.raw)}')"

    def __hash__(self):
        return hash(self.raw)

    def __reduce__(self):
        return (Fixed.from_raw, (self.raw,))

    def __richcmp__(self, other, int op):
        if not isinstance(other, Fixed):
            return NotImplemented
        cdef int64_t a = self.raw, b = (<Fixed>other).raw
        if op == 0:
            return a < b
        if op == 1:
            return a <= b
        if op == 2:
            return a == b
        if op == 3:
            return a != b
        if op == 4:
            return a > b
        return a >= b

    def __bool__(self):
        return self.raw != 0

    def __neg__(self):
        if self.raw == INT64_MIN:
            raise FixedPointOverflowError("negation overflows")
        return Fixed.from_raw_c(-self.raw)

    def __abs__(self):
        return -self if self.raw < 0 else self

    def __add__(self, other):
        if not isinstance(self, Fixed) or not isinstance(other, Fixed):
            return NotImplemented
        cdef int64_t out
        if fx_add((<Fixed>self).raw, (<Fixed>other).raw, &out):
            raise FixedPointOverflowError(f"{self} + {other} overflows")
        return Fixed.from_raw_c(out)

    def __sub__(self, other):
        if not isinstance(self, Fixed) or not isinstance(other, Fixed):
            return NotImplemented
        cdef int64_t out
        if fx_sub((<Fixed>self).raw, (<Fixed>other).raw, &out):
            raise FixedPointOverflowError(f"{self} - {other} overflows")
        return Fixed.from_raw_c(out)

    def mul(self, Fixed other not None, int rounding=EXACT):
        """self * other: exact by default (raises InexactValueError past 9 places), else
        rounded to 10**-9 by the named mode."""
        _check_mode(rounding)
        return _mul(self, other, rounding)

    def __mul__(self, other):
        """Exact product; ``mul(other, rounding=...)`` rounds."""
        if not isinstance(self, Fixed) or not isinstance(other, Fixed):
            return NotImplemented
        return _mul(<Fixed>self, <Fixed>other, EXACT)

    def div(self, Fixed other not None, int rounding=EXACT):
        """self / other: exact by default (raises InexactValueError past 9 places), else
        rounded to 10**-9 by the named mode."""
        _check_mode(rounding)
        return _div(self, other, rounding)

    def __truediv__(self, other):
        """Exact quotient; ``div(other, rounding=...)`` rounds."""
        if not isinstance(self, Fixed) or not isinstance(other, Fixed):
            return NotImplemented
        return _div(<Fixed>self, <Fixed>other, EXACT)

    def notional(self, Fixed quantity not None, int rounding=FX_ROUND_HALF_EVEN):
        """price * quantity as exact-width :class:`Money` (formed in 128 bits, never overflows)."""
        _check_mode(rounding)
        cdef fx_int128 wide
        if rounding == EXACT:
            return Money.from_raw_c(_round_div(<object>self.raw * <object>quantity.raw, PY_SCALE, EXACT))
        wide = fx_notional128(self.raw, quantity.raw, rounding)
        return Money.from_raw_c((<object>fx_hi64(wide) << 64) | <object>fx_lo64(wide))

    def to_money(self):
        """The same value as :class:`Money`."""
        return Money.from_raw_c(self.raw)


cdef Fixed _mul(Fixed a, Fixed b, int rounding):
    cdef int64_t out
    cdef int status
    if rounding == EXACT:
        status = fx_mul_exact(a.raw, b.raw, &out)
        if status == 3:
            raise InexactValueError(f"{a} * {b} needs more than 9 decimal places; "
                                    "use mul(other, rounding=...)")
    else:
        status = fx_mul(a.raw, b.raw, rounding, &out)
    if status:
        raise FixedPointOverflowError(f"{a} * {b} overflows a Fixed")
    return Fixed.from_raw_c(out)


cdef Fixed _div(Fixed a, Fixed b, int rounding):
    cdef int64_t out
    cdef int status
    if rounding == EXACT:
        status = fx_div_exact(a.raw, b.raw, &out)
        if status == 3:
            raise InexactValueError(f"{a} / {b} needs more than 9 decimal places; "
                                    "use div(other, rounding=...)")
    else:
        status = fx_div(a.raw, b.raw, rounding, &out)
    if status == 2:
        raise ZeroDivisionError("division of a Fixed by zero")
    if status:
        raise FixedPointOverflowError(f"{a} / {b} overflows a Fixed")
    return Fixed.from_raw_c(out)


cdef inline object _check_money(object raw):
    if raw > MONEY_MAX_RAW or raw < MONEY_MIN_RAW:
        raise FixedPointOverflowError("money value exceeds the 128-bit range")
    return raw


cdef class Money:
    """A notional, P&L or aggregate amount, exact to 10**-9, 128-bit range; immutable."""

    def __cinit__(self, value=_UNSET, int rounding=EXACT):
        if value is _UNSET:         # Money() and every internal result
            self.raw = 0
            return
        _check_mode(rounding)
        self.raw = _check_money(_raw_of(value, rounding))

    @staticmethod
    cdef Money from_raw_c(object raw):
        cdef Money out = Money.__new__(Money)
        out.raw = _check_money(raw)
        return out

    @staticmethod
    def from_raw(raw):
        """Wrap a raw int (value * 10**9)."""
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise InvalidNumberError("raw must be an int")
        return Money.from_raw_c(raw)

    @staticmethod
    def from_str(str text not None, int rounding=EXACT):
        """Parse decimal text exactly (or with the named rounding)."""
        _check_mode(rounding)
        return Money.from_raw_c(_raw_from_text(text, rounding))

    @staticmethod
    def from_decimal(value not None, int rounding=EXACT):
        """Convert a Decimal exactly (or with the named rounding)."""
        _check_mode(rounding)
        if not isinstance(value, Decimal):
            raise TypeError(f"expected a Decimal, got {type(value).__name__}")
        return Money.from_raw_c(_raw_from_decimal(value, rounding))

    def to_decimal(self):
        """The exact value as a Decimal."""
        return Decimal(_format_raw(self.raw))

    def as_float(self):
        """The nearest float, for statistics only."""
        return self.raw / 1e9

    def quantize(self, int places, int rounding=FX_ROUND_HALF_EVEN):
        """Round to ``places`` decimal places (0..9) by the named mode, e.g. cents for reports."""
        _check_mode(rounding)
        if places < 0 or places > FX_PRECISION:
            raise ValueError("places must be within 0..9")
        step = _POW10[FX_PRECISION - places]
        return Money.from_raw_c(_round_div(self.raw, step, rounding) * step)

    def per_unit(self, Fixed quantity not None, int rounding=FX_ROUND_HALF_EVEN):
        """self / quantity as a :class:`Fixed` (e.g. average cost per share)."""
        _check_mode(rounding)
        if quantity.raw == 0:
            raise ZeroDivisionError("per_unit of zero quantity")
        return Fixed.from_raw_c(_to_int64(_round_div(self.raw * PY_SCALE, <object>quantity.raw, rounding)))

    def to_fixed(self):
        """The same value as :class:`Fixed`; raises if it does not fit int64."""
        return Fixed.from_raw_c(_to_int64(self.raw))

    def __str__(self):
        return _format_raw(self.raw)

    def __repr__(self):
        return f"Money('{_format_raw(self.raw)}')"

    def __hash__(self):
        return hash(self.raw)

    def __reduce__(self):
        return (Money.from_raw, (self.raw,))

    def __richcmp__(self, other, int op):
        if not isinstance(other, Money):
            return NotImplemented
        a = self.raw
        b = (<Money>other).raw
        if op == 0:
            return a < b
        if op == 1:
            return a <= b
        if op == 2:
            return a == b
        if op == 3:
            return a != b
        if op == 4:
            return a > b
        return a >= b

    def __bool__(self):
        return self.raw != 0

    def __neg__(self):
        return Money.from_raw_c(-self.raw)

    def __abs__(self):
        return Money.from_raw_c(abs(self.raw))

    def __add__(self, other):
        if not isinstance(self, Money) or not isinstance(other, Money):
            return NotImplemented
        return Money.from_raw_c((<Money>self).raw + (<Money>other).raw)

    def __sub__(self, other):
        if not isinstance(self, Money) or not isinstance(other, Money):
            return NotImplemented
        return Money.from_raw_c((<Money>self).raw - (<Money>other).raw)

    def mul(self, Fixed factor not None, int rounding=FX_ROUND_HALF_EVEN):
        """self * factor (a rate, a weight, an FX price) rounded by the named mode."""
        _check_mode(rounding)
        return Money.from_raw_c(_round_div(self.raw * <object>factor.raw, PY_SCALE, rounding))


def parse_raw(value not None, int rounding=EXACT):
    """Raw int (value * 10**9) of a str, Decimal, whole int, Fixed or Money; unbounded."""
    _check_mode(rounding)
    return _raw_of(value, rounding)


def format_raw(raw not None):
    """Canonical decimal text of a raw int (value * 10**9)."""
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise TypeError(f"raw must be an int, got {type(raw).__name__}")
    return _format_raw(raw)
