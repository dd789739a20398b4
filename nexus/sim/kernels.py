"""Numba kernels of the simulator: book results -> event rows, event rows -> msgpack frames.

Plain arrays in and out, ``@njit(cache=True)``; the Python layer (:mod:`.engine`,
:mod:`.wire`) validates and wraps. Each kernel has a pure-Python check in the tests: the event
rows against the per-call :class:`~nexus.sim.sink.BookSink`, the frames byte for byte against
msgspec's own encoder.
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

    The same events, in the same order, as ``services.matching.core.MatchingEngine`` for the
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


# -- msgpack framing ---------------------------------------------------------------------------
# Template opcodes: (LIT, literal index) copies bytes; (SLOT, slot code) writes a value.
OPC_LIT = 0
OPC_SLOT = 1
SL_EVENT_ID = 0
SL_TS = 1
SL_SYMBOL = 2
SL_ORDER_H1 = 3
SL_ORDER_H2 = 4
SL_USER_H1 = 5
SL_ACCOUNT_H1 = 6
SL_USER_H2 = 7
SL_ACCOUNT_H2 = 8
SL_SIDE = 9
SL_TIF = 10
SL_PRICE = 11
SL_QTY = 12
SL_AUX1 = 13
SL_AUX2 = 14
SL_FLAG = 15
SL_TRADE_ID = 16


@njit(cache=True)
def _put_uint(buf: U8, p: int, v: int) -> int:
    if v < 128:
        buf[p] = v
        return p + 1
    if v < 256:
        buf[p] = 0xCC
        buf[p + 1] = v
        return p + 2
    if v < 65536:
        buf[p] = 0xCD
        buf[p + 1] = v >> 8
        buf[p + 2] = v & 0xFF
        return p + 3
    if v < 4294967296:
        buf[p] = 0xCE
        for i in range(4):
            buf[p + 1 + i] = (v >> (24 - 8 * i)) & 0xFF
        return p + 5
    buf[p] = 0xCF
    for i in range(8):
        buf[p + 1 + i] = (v >> (56 - 8 * i)) & 0xFF
    return p + 9


@njit(cache=True)
def _put_blob(buf: U8, p: int, table: U8, offsets: I64, idx: int) -> int:
    a = offsets[idx]
    b = offsets[idx + 1]
    for i in range(a, b):
        buf[p] = table[i]
        p += 1
    return p


@njit(cache=True)
def _put_id(buf: U8, p: int, prefix: U8, letter: int, number: int) -> int:
    digits = 1
    x = number
    while x >= 10:
        x //= 10
        digits += 1
    n = prefix.shape[0] + 1 + digits
    if n < 32:
        buf[p] = 0xA0 | n
        p += 1
    else:
        buf[p] = 0xD9
        buf[p + 1] = n
        p += 2
    for i in range(prefix.shape[0]):
        buf[p] = prefix[i]
        p += 1
    buf[p] = letter
    p += 1
    x = number
    for i in range(digits - 1, -1, -1):
        buf[p + i] = 48 + x % 10
        x //= 10
    return p + digits


@njit(cache=True)
def _put_event_id(buf: U8, p: int, venue: U8, sym: U8, sym_offsets: I64, s: int, seq: int) -> int:
    """``venue:symbol:seq`` as a msgpack string (the matching engine's event ids)."""
    digits = 1
    x = seq
    while x >= 10:
        x //= 10
        digits += 1
    a = sym_offsets[s]
    b = sym_offsets[s + 1]
    n = venue.shape[0] + 1 + (b - a) + 1 + digits
    if n < 32:
        buf[p] = 0xA0 | n
        p += 1
    else:
        buf[p] = 0xD9
        buf[p + 1] = n
        p += 2
    for i in range(venue.shape[0]):
        buf[p] = venue[i]
        p += 1
    buf[p] = 58
    p += 1
    for i in range(a, b):
        buf[p] = sym[i]
        p += 1
    buf[p] = 58
    p += 1
    x = seq
    for i in range(digits - 1, -1, -1):
        buf[p + i] = 48 + x % 10
        x //= 10
    return p + digits


@njit(cache=True, nogil=True)
def encode_frames(
    events: I64,
    order: I64,
    lo: int,
    hi: int,
    seq_base: I64,
    programs: I64,
    program_offsets: I64,
    literals: U8,
    literal_offsets: I64,
    strings: U8,
    string_offsets: I64,
    string_base: I64,
    account_of: I64,
    user_of_account: I64,
    prefix: U8,
    venue: U8,
    raw_symbols: U8,
    raw_symbol_offsets: I64,
    buf: U8,
    frame_starts: I64,
) -> int:
    """Length-prefixed (4-byte big-endian) msgpack frames of ``events`` into ``buf``.

    ``programs[program_offsets[kind]:program_offsets[kind + 1]]`` is the kind's template;
    ``string_base`` gives where symbols, users, accounts, sides and TIFs start in ``strings``.
    Event ids are ``venue:symbol:(seq_base[symbol] + E_SEQ + 1)`` as the matching engine
    numbers them; order ids ``prefix + 'O' + handle``. Encodes rows ``order[lo:hi]`` (the
    stream order); returns the bytes written; ``frame_starts[k - lo]`` is where frame ``k``
    starts.
    """
    sym_base = string_base[0]
    user_base = string_base[1]
    acc_base = string_base[2]
    side_base = string_base[3]
    tif_base = string_base[4]
    p = 0
    for k in range(lo, hi):
        r = order[k]
        kind = events[r, E_KIND]
        frame_starts[k - lo] = p
        start = p + 4
        p = start
        h1 = events[r, E_H1]
        h2 = events[r, E_H2]
        for j in range(program_offsets[kind], program_offsets[kind + 1], 2):
            opc = programs[j]
            arg = programs[j + 1]
            if opc == OPC_LIT:
                p = _put_blob(buf, p, literals, literal_offsets, arg)
            elif arg == SL_EVENT_ID:
                s = events[r, E_SYMBOL]
                seq = seq_base[s] + events[r, E_SEQ] + 1
                p = _put_event_id(buf, p, venue, raw_symbols, raw_symbol_offsets, s, seq)
            elif arg == SL_TRADE_ID:
                s = events[r, E_SYMBOL]
                seq = seq_base[s] + events[r, E_AUX2] + 1
                p = _put_event_id(buf, p, venue, raw_symbols, raw_symbol_offsets, s, seq)
            elif arg == SL_TS:
                p = _put_uint(buf, p, events[r, E_TS])
            elif arg == SL_SYMBOL:
                p = _put_blob(buf, p, strings, string_offsets, sym_base + events[r, E_SYMBOL])
            elif arg == SL_ORDER_H1:
                p = _put_id(buf, p, prefix, 79, h1)
            elif arg == SL_ORDER_H2:
                p = _put_id(buf, p, prefix, 79, h2)
            elif arg == SL_USER_H1:
                u = user_of_account[account_of[h1]]
                p = _put_blob(buf, p, strings, string_offsets, user_base + u)
            elif arg == SL_ACCOUNT_H1:
                p = _put_blob(buf, p, strings, string_offsets, acc_base + account_of[h1])
            elif arg == SL_USER_H2:
                u = user_of_account[account_of[h2]]
                p = _put_blob(buf, p, strings, string_offsets, user_base + u)
            elif arg == SL_ACCOUNT_H2:
                p = _put_blob(buf, p, strings, string_offsets, acc_base + account_of[h2])
            elif arg == SL_SIDE:
                p = _put_blob(buf, p, strings, string_offsets, side_base + events[r, E_SIDE])
            elif arg == SL_TIF:
                p = _put_blob(buf, p, strings, string_offsets, tif_base + events[r, E_TIF])
            elif arg == SL_PRICE:
                p = _put_uint(buf, p, events[r, E_PRICE])
            elif arg == SL_QTY:
                p = _put_uint(buf, p, events[r, E_QTY])
            elif arg == SL_AUX1:
                p = _put_uint(buf, p, events[r, E_AUX1])
            elif arg == SL_AUX2:
                p = _put_uint(buf, p, events[r, E_AUX2])
            else:
                buf[p] = 0xC3 if events[r, E_FLAG] else 0xC2
                p += 1
        n = p - start
        buf[start - 4] = (n >> 24) & 0xFF
        buf[start - 3] = (n >> 16) & 0xFF
        buf[start - 2] = (n >> 8) & 0xFF
        buf[start - 1] = n & 0xFF
    return p
