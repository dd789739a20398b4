"""C-level loops over the fixed-point primitives, for benchmarks of the Cython fast path.

These are what another extension pays when it ``cimport``s ``nexus._ext.fixedpoint``: each
function runs ``n`` operations in C and returns a checksum so the work cannot be elided.
"""
from libc.stdint cimport int64_t

from nexus._ext.fixedpoint cimport FX_ROUND_HALF_EVEN, fx_add, fx_mul


def add_loop(int64_t a, int64_t b, Py_ssize_t n):
    """``n`` checked additions; returns the wrapped-free sum."""
    cdef int64_t acc = a, out
    cdef Py_ssize_t i
    for i in range(n):
        if fx_add(acc, b, &out):
            raise OverflowError("add overflowed")
        acc = out - b + (i & 1)
    return acc


def mul_loop(int64_t a, int64_t b, Py_ssize_t n):
    """``n`` checked multiplications with HALF_EVEN rounding; returns a checksum."""
    cdef int64_t acc = 0, out
    cdef Py_ssize_t i
    for i in range(n):
        if fx_mul(a + (i & 7), b, FX_ROUND_HALF_EVEN, &out):
            raise OverflowError("mul overflowed")
        acc ^= out
    return acc


def compare_loop(int64_t a, int64_t b, Py_ssize_t n):
    """``n`` comparisons; returns how many were true."""
    cdef Py_ssize_t i, hits = 0
    for i in range(n):
        hits += (a + (i & 3)) < b
    return hits
