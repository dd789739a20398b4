"""Numba kernels of the simulator: action tables, and book results -> event rows.

Plain arrays in and out, ``@njit(cache=True)``; the Python layer (:mod:`.flow`,
:mod:`.engine`) validates and wraps. The event rows are checked in the tests against the real
``MatchingEngine`` fed the same commands one call at a time (byte-identical events).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from nexus.sim.layout import (
    A_ACCOUNT,
    A_HANDLE,
    A_OP,
    A_ORDER,
    A_POST_ONLY,
    A_PRICE,
    A_QTY,
    A_SIDE,
    A_STP,
    A_TIF,
    A_TS,
    E_AUX1,
    E_AUX2,
    E_FLAG,
    E_H1,
    E_H2,
    E_KIND,
    E_PRICE,
    E_QTY,
    E_SEQ,
    E_SIDE,
    E_SYMBOL,
    E_TIF,
    E_TS,
    K_AMEND,
    K_CANCEL,
    K_EXPIRE,
    K_FILL,
    K_NEW,
    K_TRADE,
    OP_AMEND,
    OP_CANCEL,
    OP_SUBMIT,
)

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

# book result codes (nexus._ext.book)
_RESTED = 0
_EXPIRED = 2
_AMENDED = 4
_REJECT = 10
_FILL_MATCH = 0


@njit(cache=True)
def fill_actions(
    out: I64,
    perm: I64,
    ts_all: I64,
    n_new: int,
    n_amend: int,
    idx_amend: I64,
    idx_cancel: I64,
    first_handle: int,
    side: I64,
    price: I64,
    qty: I64,
    account: I64,
    tif: I64,
    amend_price: I64,
    amend_qty: I64,
) -> None:
    """Rows of a symbol's action table in ``perm`` order (new, amend, cancel blocks of ts_all).

    ``ts_all`` is the new times, then the amend times, then the cancel times; ``idx_*`` map an
    amend or cancel back to its order. Amend rows carry the new price and quantity.
    """
    for r in range(perm.shape[0]):
        j = perm[r]
        if j < n_new:
            i = j
            op = OP_SUBMIT
        elif j < n_new + n_amend:
            i = idx_amend[j - n_new]
            op = OP_AMEND
        else:
            i = idx_cancel[j - n_new - n_amend]
            op = OP_CANCEL
        out[r, A_TS] = ts_all[j]
        out[r, A_OP] = op
        out[r, A_HANDLE] = first_handle + i
        out[r, A_SIDE] = side[i]
        if op == OP_AMEND:
            out[r, A_PRICE] = amend_price[j - n_new]
            out[r, A_QTY] = amend_qty[j - n_new]
        else:
            out[r, A_PRICE] = price[i]
            out[r, A_QTY] = qty[i]
        out[r, A_ACCOUNT] = account[i]
        out[r, A_TIF] = tif[i]
        out[r, A_POST_ONLY] = 0
        out[r, A_STP] = 0
        out[r, A_ORDER] = 3 * (first_handle + i) + op


@njit(cache=True)
def _row(out: I64, k: int, ts: int, sym: int, seq: int, kind: int) -> None:
    out[k, E_TS] = ts
    out[k, E_SYMBOL] = sym
    out[k, E_SEQ] = seq
    out[k, E_KIND] = kind
    out[k, E_H2] = -1
    out[k, E_AUX1] = 0
    out[k, E_AUX2] = 0
    out[k, E_FLAG] = 0
    out[k, E_TIF] = 0


@njit(cache=True)
def emit_events(
    acts: I64,
    results: I64,
    fills: I64,
    side_of: I64,
    price_of: I64,
    open_of: I64,
    sym: int,
    seq0: int,
    out: I64,
) -> int:
    """Event rows of one applied batch; returns how many rows were written to ``out``.

    The same events, in the same order, as ``nexus.matching.MatchingEngine`` for the
    same commands: per action the order event (new, amend or cancel; rejected or no-op actions
    emit nothing), then per fill a trade, the maker's fill and the taker's fill, then an expire
    for an IOC remainder. ``E_SEQ`` is the per-symbol event sequence from ``seq0``.
    ``price_of`` and ``open_of`` (indexed by handle) track each order's price and open quantity
    across batches. ``out`` needs ``2 * len(acts) + 3 * len(fills)`` rows.
    """
    k = 0
    fi = 0
    nf = fills.shape[0]
    for r in range(acts.shape[0]):
        op = acts[r, A_OP]
        h = acts[r, A_HANDLE]
        ts = acts[r, A_TS]
        res = results[r]
        if op == OP_CANCEL:
            if res > 0:
                _row(out, k, ts, sym, seq0 + k, K_CANCEL)
                out[k, E_H1] = h
                out[k, E_SIDE] = side_of[h]
                out[k, E_PRICE] = price_of[h]
                out[k, E_QTY] = res
                k += 1
                open_of[h] = 0
            continue
        if res >= _REJECT:
            continue
        side = side_of[h]
        if op == OP_SUBMIT:
            _row(out, k, ts, sym, seq0 + k, K_NEW)
            out[k, E_H1] = h
            out[k, E_SIDE] = side
            out[k, E_PRICE] = acts[r, A_PRICE]
            out[k, E_QTY] = acts[r, A_QTY]
            out[k, E_FLAG] = acts[r, A_POST_ONLY]
            out[k, E_TIF] = acts[r, A_TIF]
            k += 1
        else:
            _row(out, k, ts, sym, seq0 + k, K_AMEND)
            out[k, E_H1] = h
            out[k, E_SIDE] = side
            out[k, E_PRICE] = acts[r, A_PRICE]
            out[k, E_QTY] = acts[r, A_QTY]
            out[k, E_AUX1] = price_of[h]
            out[k, E_AUX2] = open_of[h]
            out[k, E_FLAG] = 1 if res == _AMENDED else 0
            k += 1
        price_of[h] = acts[r, A_PRICE]
        remaining = acts[r, A_QTY]
        while fi < nf and fills[fi, 0] < r:
            fi += 1
        while fi < nf and fills[fi, 0] == r:
            if fills[fi, 1] == _FILL_MATCH:
                maker = fills[fi, 2]
                qty = fills[fi, 5]
                _row(out, k, ts, sym, seq0 + k, K_TRADE)
                if side == 0:
                    out[k, E_H1] = h
                    out[k, E_H2] = maker
                else:
                    out[k, E_H1] = maker
                    out[k, E_H2] = h
                out[k, E_SIDE] = side
                out[k, E_PRICE] = fills[fi, 4]
                out[k, E_QTY] = qty
                trade_seq = seq0 + k
                k += 1
                open_of[maker] = fills[fi, 6]
                remaining -= qty
                for who in range(2):
                    _row(out, k, ts, sym, seq0 + k, K_FILL)
                    if who == 0:
                        out[k, E_H1] = maker
                        out[k, E_SIDE] = 1 - side
                        out[k, E_AUX1] = fills[fi, 6]
                    else:
                        out[k, E_H1] = h
                        out[k, E_SIDE] = side
                        out[k, E_AUX1] = remaining
                        out[k, E_FLAG] = 1
                    out[k, E_PRICE] = fills[fi, 4]
                    out[k, E_QTY] = qty
                    out[k, E_AUX2] = trade_seq
                    k += 1
            fi += 1
        open_of[h] = remaining
        if res == _EXPIRED and remaining > 0:
            _row(out, k, ts, sym, seq0 + k, K_EXPIRE)
            out[k, E_H1] = h
            out[k, E_SIDE] = side
            out[k, E_PRICE] = acts[r, A_PRICE]
            out[k, E_QTY] = remaining
            k += 1
            open_of[h] = 0
    return k
