"""Exact grouped sums over integer keys (int64, no float rounding)."""

from __future__ import annotations

import numpy as np

from services.routing.reports.model import F64, I64


def group_sum_int(keys: I64, values: I64, size: int) -> I64:
    """``out[k] = sum(values[keys == k])`` for ``k`` in ``range(size)``, exact in int64."""
    out = np.zeros(size, dtype=np.int64)
    if keys.shape[0] == 0:
        return out
    order = np.argsort(keys, kind="stable")
    k, v = keys[order], values[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    out[k[starts]] = np.add.reduceat(v, starts)
    return out


def group_sum(keys: I64, values: F64, size: int) -> F64:
    """Float grouped sum (``np.bincount`` with weights)."""
    return np.bincount(keys, weights=values, minlength=size)[:size].astype(np.float64)


def group_count(keys: I64, size: int) -> I64:
    """Rows per key."""
    return np.bincount(keys, minlength=size)[:size].astype(np.int64)
