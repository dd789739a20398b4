"""Numba kernels writing event rows as msgpack frames, byte-identical to msgspec.

An interpreter over per-kind templates (:mod:`.wire` derives them from the event Structs):
literal bytes are copied, slots are filled from the row. ``@njit(cache=True)``, plain arrays;
the tests compare every frame with ``EventCodec.encode`` of the decoded event.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from nexus.sim.layout import (
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
)

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]

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
