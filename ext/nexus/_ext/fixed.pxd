# Contract of the fixed-point value types (implementation in fixed.pyx).
from libc.stdint cimport int64_t

cdef class Fixed:
    """A price, quantity or per-unit amount: raw int64 = value * 10**9."""
    cdef readonly int64_t raw
    """The raw fixed-point integer (value * 10**9)."""

    @staticmethod
    cdef Fixed from_raw_c(int64_t raw)


cdef class Money:
    """A notional, P&L or sum of money: raw integer = value * 10**9, 128-bit bounded."""
    cdef readonly object raw
    """The raw fixed-point integer (value * 10**9), |raw| < 2**127."""

    @staticmethod
    cdef Money from_raw_c(object raw)
