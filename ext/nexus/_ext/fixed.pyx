# cython: freethreading_compatible = False
"""Exact fixed-point value types: :class:`Fixed` (int64 raw) and :class:`Money` (128-bit raw).

One scale for the whole system: ``raw = value * 10**9`` (nine decimal places). Parsing is exact
by default (``rounding=-1`` raises :class:`InexactValueError`); every other rounding mode is
named explicitly. Overflow raises :class:`FixedPointOverflowError`, it never wraps.
"""
from decimal import Decimal, InvalidOperation, ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, \
    ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, localcontext

from libc.stdint cimport INT64_MAX, INT64_MIN, int64_t, uint64_t

from nexus._ext.fixedpoint cimport (FX_PRECISION, FX_SCALE, FX_ROUND_HALF_EVEN, fx_add, fx_div, fx_hi64,
                         fx_int128, fx_lo64, fx_mul, fx_notional128, fx_sub)

PRECISION = FX_PRECISION
SCALE = 10 ** 9
# Python-int constants: C-typed constants in object arithmetic would let Cython infer
# C or floating types, which must never touch an exact value.
cdef object PY_SCALE = SCALE
cdef tuple _POW10 = tuple([10 ** i for i in range(64)])
EXACT = -1
MONEY_MAX_RAW = (1 << 127) - 1
MONEY_MIN_RAW = -(1 << 127)

_DECIMAL_ROUNDING = (ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_HALF_DOWN, ROUND_DOWN, ROUND_UP,
                     ROUND_FLOOR, ROUND_CEILING)
_QUANTUM = Decimal(1).scaleb(-FX_PRECISION)


class FixedPointError(ArithmeticError):
    """Base of fixed-point failures."""


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


cdef object _raw_from_decimal(object value, int mode):
    if not value.is_finite():
        raise InvalidNumberError(f"not a finite number: {value!r}")
    sign, digits, exponent = value.as_tuple()
    n = 0
    for digit in digits:
        n = n * 10 + digit
    if sign:
        n = -n
    shift = exponent + FX_PRECISION
    if shift >= 0:
        return n * _POW10[shift] if shift < 64 else n * 10 ** shift
    return _round_div(n, _POW10[-shift] if -shift < 64 else 10 ** (-shift), mode)


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
    if any(ch in text for ch in "_ \t\r\n"):
        raise InvalidNumberError(f"not a decimal number: {text!r}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidNumberError(f"not a decimal number: {text!r}") from None
    return _raw_from_decimal(value, mode)


cdef str _format_raw(object raw):
    """Canonical decimal text of a raw value: no exponent, no trailing fractional zeros."""
    negative = raw < 0
    units, frac = divmod(-raw if negative else raw, PY_SCALE)
    if frac:
        text = f"{units}.{frac:09d}".rstrip("0")
    else:
        text = str(units)
    return "-" + text if negative else text


cdef inline int64_t _to_int64(object raw) except? -1:
    if raw > INT64_MAX or raw < INT64_MIN:
        raise FixedPointOverflowError(f"{_format_raw(raw)} does not fit a Fixed (int64 raw)")
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

    def __cinit__(self, value=0, int rounding=EXACT):
        _check_mode(rounding)
        self.raw = _to_int64(_raw_of(value, rounding))

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
    def from_str(str text, int rounding=EXACT):
        """Parse decimal text exactly (or with the named rounding)."""
        _check_mode(rounding)
        return Fixed.from_raw_c(_to_int64(_raw_from_text(text, rounding)))

    @staticmethod
    def from_decimal(value, int rounding=EXACT):
        """Convert a Decimal exactly (or with the named rounding)."""
        _check_mode(rounding)
        return Fixed.from_raw_c(_to_int64(_raw_from_decimal(value, rounding)))

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

    def mul(self, Fixed other, int rounding=FX_ROUND_HALF_EVEN):
        """self * other rounded to 10**-9 by the named mode."""
        _check_mode(rounding)
        cdef int64_t out
        if rounding == EXACT:
            raw = _round_div(<object>self.raw * <object>other.raw, PY_SCALE, EXACT)
            return Fixed.from_raw_c(_to_int64(raw))
        if fx_mul(self.raw, other.raw, rounding, &out):
            raise FixedPointOverflowError(f"{self} * {other} overflows")
        return Fixed.from_raw_c(out)

    def __mul__(self, other):
        if not isinstance(self, Fixed) or not isinstance(other, Fixed):
            return NotImplemented
        return (<Fixed>self).mul(other, FX_ROUND_HALF_EVEN)

    def div(self, Fixed other, int rounding=FX_ROUND_HALF_EVEN):
        """self / other rounded to 10**-9 by the named mode."""
        _check_mode(rounding)
        cdef int64_t out
        cdef int status
        if other.raw == 0:
            raise ZeroDivisionError("division of a Fixed by zero")
        if rounding == EXACT:
            raw = _round_div(<object>self.raw * PY_SCALE, <object>other.raw, EXACT)
            return Fixed.from_raw_c(_to_int64(raw))
        status = fx_div(self.raw, other.raw, rounding, &out)
        if status:
            raise FixedPointOverflowError(f"{self} / {other} overflows")
        return Fixed.from_raw_c(out)

    def __truediv__(self, other):
        if not isinstance(self, Fixed) or not isinstance(other, Fixed):
            return NotImplemented
        return (<Fixed>self).div(other, FX_ROUND_HALF_EVEN)

    def notional(self, Fixed quantity, int rounding=FX_ROUND_HALF_EVEN):
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


cdef inline object _check_money(object raw):
    if raw > MONEY_MAX_RAW or raw < MONEY_MIN_RAW:
        raise FixedPointOverflowError("money value exceeds the 128-bit range")
    return raw


cdef class Money:
    """A notional, P&L or aggregate amount, exact to 10**-9, 128-bit range; immutable."""

    def __cinit__(self, value=0, int rounding=EXACT):
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
    def from_str(str text, int rounding=EXACT):
        """Parse decimal text exactly (or with the named rounding)."""
        _check_mode(rounding)
        return Money.from_raw_c(_raw_from_text(text, rounding))

    @staticmethod
    def from_decimal(value, int rounding=EXACT):
        """Convert a Decimal exactly (or with the named rounding)."""
        _check_mode(rounding)
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

    def per_unit(self, Fixed quantity, int rounding=FX_ROUND_HALF_EVEN):
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

    def mul(self, Fixed factor, int rounding=FX_ROUND_HALF_EVEN):
        """self * factor (a rate, a weight, an FX price) rounded by the named mode."""
        _check_mode(rounding)
        return Money.from_raw_c(_round_div(self.raw * <object>factor.raw, PY_SCALE, rounding))


def parse_raw(value, int rounding=EXACT):
    """Raw int (value * 10**9) of a str, Decimal, whole int, Fixed or Money; unbounded."""
    _check_mode(rounding)
    return _raw_of(value, rounding)


def format_raw(raw):
    """Canonical decimal text of a raw int (value * 10**9)."""
    return _format_raw(raw)
