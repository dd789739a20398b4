"""Numba kernels of the simulator: action tables, and book results -> event rows.

Plain arrays in and out, ``@njit(cache=True)``; the Python layer (:mod:`.flow`,
:mod:`.engine`) validates and wraps. The event rows are checked in the tests against the real
``MatchingEngine`` fed the same commands one call at a time (byte-identical events).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from nexus.matching import emission
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
    BUY,
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
    K_FILL,
    K_NEW,
    K_TRADE,
    OP_AMEND,
    OP_CANCEL,
    OP_SUBMIT,
)

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

# the emission rule (nexus.matching.emission), compiled from the engine's own source. The
# generator is not cached on its own (numba issues #8679, #8778: a cached generator called from
# another cached kernel fails with a KeyError in get_generator_impl in the next process); it is
# compiled into emit_events, which is. Numba keys a cache on its own file only: after editing
# emission.py, delete nexus/sim/__pycache__/kernels.*.nb[ic] (test_sim_kernels, compiled stream
# == pure stream, fails on a stale kernel).
operation_events = njit(cache=True)(emission.operation_events)
fill_events = njit(cache=False)(emission.fill_events)
NO_EVENT = emission.NONE


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

    Which events, in which order and with which quantities is the emission rule of
    ``nexus.matching.MatchingEngine`` (:mod:`nexus.matching.emission`: the order event and the
    end of :func:`operation_events`, the fill records' events of :func:`fill_events`), applied to
    each action; this kernel lays each event out as a row. ``E_SEQ`` is the per-symbol event
    sequence from ``seq0``. ``price_of`` and ``open_of`` (indexed by handle) track each order's
    price and open quantity across batches. ``out`` needs ``2 * len(acts) + 3 * len(fills)``
    rows.
    """
    k = 0
    fi = 0
    nf = fills.shape[0]
    for r in range(acts.shape[0]):
        op = acts[r, A_OP]
        h = acts[r, A_HANDLE]
        ts = acts[r, A_TS]
        while fi < nf and fills[fi, 0] < r:
            fi += 1
        fe = fi
        while fe < nf and fills[fe, 0] == r:
            fe += 1
        first, first_flag, matched, end, end_flag = operation_events(op, results[r])
        side = side_of[h]
        price = acts[r, A_PRICE]
        qty = acts[r, A_QTY]
        if first == K_NEW:
            _row(out, k, ts, sym, seq0 + k, K_NEW)
            out[k, E_H1] = h
            out[k, E_SIDE] = side
            out[k, E_PRICE] = price
            out[k, E_QTY] = qty
            out[k, E_FLAG] = acts[r, A_POST_ONLY]
            out[k, E_TIF] = acts[r, A_TIF]
            k += 1
        elif first == K_AMEND:
            _row(out, k, ts, sym, seq0 + k, K_AMEND)
            out[k, E_H1] = h
            out[k, E_SIDE] = side
            out[k, E_PRICE] = price
            out[k, E_QTY] = qty
            out[k, E_AUX1] = price_of[h]
            out[k, E_AUX2] = open_of[h]
            out[k, E_FLAG] = first_flag
            k += 1
        elif first == K_CANCEL:
            _row(out, k, ts, sym, seq0 + k, K_CANCEL)
            out[k, E_H1] = h
            out[k, E_SIDE] = side
            out[k, E_PRICE] = price_of[h]
            out[k, E_QTY] = results[r]  # a cancel's result is the quantity cancelled
            out[k, E_FLAG] = first_flag
            k += 1
            open_of[h] = 0
            continue
        else:  # rejected, or a cancel of nothing: no event, no change
            continue
        price_of[h] = price
        open_of[h] = qty
        if not matched:
            continue
        if fe > fi:  # (no records, no events: skip making the generator)
            trade_seq = 0
            for kind, who, p, q, leaves, flag in fill_events(fills, 1, fi, fe, h, qty):
                _row(out, k, ts, sym, seq0 + k, kind)
                out[k, E_H1] = who
                out[k, E_SIDE] = side_of[who]
                out[k, E_PRICE] = p
                out[k, E_QTY] = q
                if kind == K_TRADE:
                    if side == BUY:
                        out[k, E_H1] = h
                        out[k, E_H2] = who
                    else:
                        out[k, E_H2] = h
                    out[k, E_SIDE] = side
                    trade_seq = seq0 + k
                elif kind == K_FILL:
                    out[k, E_AUX1] = leaves
                    out[k, E_AUX2] = trade_seq
                    out[k, E_FLAG] = flag
                    open_of[who] = leaves
                else:  # a resting order cancelled by self-trade prevention
                    out[k, E_FLAG] = flag
                    open_of[who] = 0
                k += 1
        if end != NO_EVENT:
            _row(out, k, ts, sym, seq0 + k, end)
            out[k, E_H1] = h
            out[k, E_SIDE] = side
            out[k, E_PRICE] = price
            out[k, E_QTY] = open_of[h]
            out[k, E_FLAG] = end_flag
            k += 1
            open_of[h] = 0
        fi = fe
    return k
