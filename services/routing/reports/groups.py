"""Exact grouped sums over integer keys (int64, no float rounding)."""

from __future__ import annotations

import numpy as np

from services.routing.reports.model import F64, I64


def group_sum_int(keys: I64, values: I64, size: int) -> I64:
    """``out[k] = sum(values[keys == k])`` for ``k`` in ``range(size)``, exact in int64.

    Two float ``bincount`` passes over the high and low 32-bit halves of each value; each
    half's sums stay below 2**53 (exact in float64) for up to 2**21 rows per call, beyond
    which the rows are summed in chunks.
    """
    out = np.zeros(size, dtype=np.int64)
    chunk = 1 << 21
    for lo_i in range(0, keys.shape[0], chunk):
        k = keys[lo_i : lo_i + chunk]
        v = values[lo_i : lo_i + chunk]
        low = (v & 0xFFFFFFFF).astype(np.float64)
        high = (v >> 32).astype(np.float64)
        low_sum = np.bincount(k, weights=low, minlength=size)[:size].astype(np.int64)
        high_sum = np.bincount(k, weights=high, minlength=size)[:size].astype(np.int64)
        out += (high_sum << 32) + low_sum
    return out


def group_sum(keys: I64, values: F64, size: int) -> F64:
    """Float grouped sum (``np.bincount`` with weights)."""
    return np.bincount(keys, weights=values, minlength=size)[:size].astype(np.float64)


def group_count(keys: I64, size: int) -> I64:
    """Rows per key."""
    return np.bincount(keys, minlength=size)[:size].astype(np.int64)
