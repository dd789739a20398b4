# cython: freethreading_compatible = False
"""Compiled price-time priority limit order book (one symbol), over raw fixed-point integers.

Prices and quantities are raw int64 (``value * 10**9``, see :mod:`nexus.money`); orders are
named by caller-chosen integer handles (``>= 0``) and accounts by integer handles. The layout
and the cost of every operation are documented in ``book.pxd``; the semantics (and a pure
Python twin used to check this one) in ``tests/support/reference_book.py``.

A submit or amend returns a result code (``RESTED``, ``FILLED``, ...; rejects are ``>= 10``)
and leaves its fills in a buffer read with :meth:`Book.fills`; ``last_filled`` and
``last_remaining`` say how much of it filled and how much did not.

A debug build (``NEXUS_DEBUG=1``, :data:`DEBUG` true) runs :meth:`Book.check` after every
operation (submit, amend, cancel, batch row, expire) and raises :class:`BookInvariantError` at
the first that breaks the book; a release build compiles those checks out.
"""
from libc.stdint cimport INT64_MAX, int8_t, int32_t, int64_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memmove

import numpy as np

cimport numpy as cnp

from nexus._ext.buildmode cimport NEXUS_DEBUG

cnp.import_array()

#: True in a debug build (``NEXUS_DEBUG=1``): bounds checks on, invariants checked after
#: every operation
DEBUG = NEXUS_DEBUG


class BookInvariantError(AssertionError):
    """The book's structure is inconsistent (a bug in the book, never bad input)."""


# -- public constants (mirrored by services/matching/core/codes.py; a test keeps them equal) --
SIDE_BUY = 0
SIDE_SELL = 1
TIF_GTC = 0
TIF_DAY = 1
TIF_IOC = 2
TIF_FOK = 3
STP_OFF = 0
STP_CANCEL_NEWEST = 1
STP_CANCEL_OLDEST = 2
RESTED = 0
FILLED = 1
EXPIRED = 2
STP_CANCELLED = 3
AMENDED = 4
CANCELLED = 5
REJECT_INVALID = 10
REJECT_DUPLICATE = 11
REJECT_UNKNOWN = 12
REJECT_POST_ONLY = 13
REJECT_FOK = 14
FILL_MATCH = 0
FILL_STP_CANCEL = 1
OP_SUBMIT = 0
OP_AMEND = 1
OP_CANCEL = 2
COL_OP = 0
COL_ID = 1
COL_SIDE = 2
COL_PRICE = 3
COL_QTY = 4
COL_ACCOUNT = 5
COL_TIF = 6
COL_POST_ONLY = 7
COL_STP = 8
BATCH_COLUMNS = 9
#: most order (and level) slots a book may hold: slot indexes are int32, so doubling past
#: 2**30 would overflow; growing beyond ``max_capacity`` raises MemoryError instead
MAX_CAPACITY = 1 << 30
FILL_COLUMNS = 7

cdef enum:
    C_BUY = 0
    C_SELL = 1
    C_GTC = 0
    C_DAY = 1
    C_IOC = 2
    C_FOK = 3
    C_STP_OFF = 0
    C_STP_NEWEST = 1
    C_STP_OLDEST = 2
    C_RESTED = 0
    C_FILLED = 1
    C_EXPIRED = 2
    C_STP_CANCELLED = 3
    C_AMENDED = 4
    C_CANCELLED = 5
    C_REJECT_INVALID = 10
    C_REJECT_DUPLICATE = 11
    C_REJECT_UNKNOWN = 12
    C_REJECT_POST_ONLY = 13
    C_REJECT_FOK = 14
    C_FILL_MATCH = 0
    C_FILL_STP = 1

cdef extern from *:
    """
    #define NX_EMPTY ((int64_t)-1)
    #define NX_GOLDEN 0x9E3779B97F4A7C15ULL
    """
    const int64_t EMPTY "NX_EMPTY"
    const uint64_t GOLDEN "NX_GOLDEN"


cdef inline int64_t home_slot(int64_t key, int32_t shift) noexcept nogil:
    # Fibonacci hashing: the top bits of key * 2^64/phi spread sequential handles evenly.
    return <int64_t> ((<uint64_t> key * GOLDEN) >> shift)


cdef inline bint crosses(int side, int64_t limit, int64_t opposite) noexcept nogil:
    """Does a ``side`` order limited at ``limit`` (0 = market) trade with ``opposite``?"""
    if limit == 0:
        return True
    if side == C_BUY:
        return opposite <= limit
    return opposite >= limit


cdef inline int64_t side_key(int side, int64_t price) noexcept nogil:
    # Keys ascend towards the best level on both sides, so the best is always last.
    return price if side == C_BUY else -price


cdef inline int small(int64_t code) noexcept nogil:
    # An enum column narrowed to int: out-of-range values stay invalid instead of wrapping.
    return <int> code if -1 <= code <= 255 else -1


cdef inline int32_t lower_bound(const int64_t* keys, int32_t n, int64_t key) noexcept nogil:
    cdef int32_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef class Book:
    """One symbol's price-time priority limit order book (see the module docstring)."""

    def __cinit__(self, int capacity=1024, int max_capacity=MAX_CAPACITY):
        cdef int32_t cap = capacity if capacity >= 16 else 16
        cdef int s
        if max_capacity < 16 or max_capacity > MAX_CAPACITY:
            raise ValueError(f"max_capacity must be within 16..{MAX_CAPACITY}, got {max_capacity}")
        if cap > max_capacity:
            raise ValueError(f"capacity {capacity} exceeds max_capacity {max_capacity}")
        self._max_cap = max_capacity
        self._orders = NULL
        self._levels = NULL
        self._hash = NULL
        self._fills = NULL
        for s in range(2):
            self._keys[s] = NULL
            self._lv[s] = NULL
            self._nlv[s] = 0
            self._lv_cap[s] = 0
        self._orders_cap = 0
        self._orders_free = -1
        self._levels_cap = 0
        self._levels_free = -1
        self._grow_orders(cap)
        self._grow_levels(64)
        for s in range(2):
            self._grow_side(s, 64)
        self._rehash(2 * cap)
        self._fills_cap = 64
        self._fills = <FillRec*> malloc(self._fills_cap * sizeof(FillRec))
        if self._fills == NULL:
            raise MemoryError()
        self._nfills = 0
        self.order_count = 0

    def __dealloc__(self):
        free(self._orders)
        free(self._levels)
        free(self._hash)
        free(self._fills)
        free(self._keys[0])
        free(self._keys[1])
        free(self._lv[0])
        free(self._lv[1])

    # -- storage ---------------------------------------------------------------------------
    cdef int32_t _doubled(self, int32_t cap) except -1:
        """Twice ``cap``, capped at ``max_capacity``; MemoryError once that is reached."""
        if cap >= self._max_cap:
            raise MemoryError(f"order book capacity limit ({self._max_cap} slots) reached")
        if cap > self._max_cap // 2:
            return self._max_cap
        return 2 * cap

    cdef int _reserve(self, int side) except -1:
        """Room for one more resting order on ``side`` (and a new level), before any change.

        Called before matching starts, so a MemoryError leaves the book exactly as it was.
        """
        if self._orders_free < 0:
            self._grow_orders(self._doubled(self._orders_cap))
        if 2 * (self.order_count + 1) > self._hmask + 1:
            self._rehash(4 * (self.order_count + 1))
        if self._levels_free < 0:
            self._grow_levels(self._doubled(self._levels_cap))
        if self._nlv[side] == self._lv_cap[side]:
            self._grow_side(side, self._doubled(self._lv_cap[side]))
        return 0

    cdef int _grow_orders(self, int32_t cap) except -1:
        cdef OrderSlot* p = <OrderSlot*> realloc(self._orders, cap * sizeof(OrderSlot))
        cdef int32_t i
        if p == NULL:
            raise MemoryError()
        self._orders = p
        for i in range(cap - 1, self._orders_cap - 1, -1):
            p[i].id = EMPTY
            p[i].next = self._orders_free
            self._orders_free = i
        self._orders_cap = cap
        return 0

    cdef int _grow_levels(self, int32_t cap) except -1:
        cdef LevelSlot* p = <LevelSlot*> realloc(self._levels, cap * sizeof(LevelSlot))
        cdef int32_t i
        if p == NULL:
            raise MemoryError()
        self._levels = p
        for i in range(cap - 1, self._levels_cap - 1, -1):
            p[i].count = 0
            p[i].next_free = self._levels_free
            self._levels_free = i
        self._levels_cap = cap
        return 0

    cdef int _grow_side(self, int side, int32_t cap) except -1:
        cdef int64_t* k = <int64_t*> realloc(self._keys[side], cap * sizeof(int64_t))
        if k == NULL:
            raise MemoryError()
        self._keys[side] = k
        cdef int32_t* v = <int32_t*> realloc(self._lv[side], cap * sizeof(int32_t))
        if v == NULL:
            raise MemoryError()
        self._lv[side] = v
        self._lv_cap[side] = cap
        return 0

    cdef int _rehash(self, int64_t want) except -1:
        cdef int64_t cap = 16
        cdef int32_t bits = 4
        while cap < want:
            cap <<= 1
            bits += 1
        cdef HashSlot* table = <HashSlot*> malloc(cap * sizeof(HashSlot))
        if table == NULL:
            raise MemoryError()
        cdef int64_t i
        for i in range(cap):
            table[i].key = EMPTY
        cdef HashSlot* old = self._hash
        cdef int64_t old_cap = self._hmask + 1 if old != NULL else 0
        self._hash = table
        self._hmask = cap - 1
        self._hshift = 64 - bits
        for i in range(old_cap):
            if old[i].key != EMPTY:
                self._hput(old[i].key, old[i].slot)
        free(old)
        return 0

    cdef void _hput(self, int64_t key, int32_t val) noexcept nogil:
        cdef int64_t i = home_slot(key, self._hshift)
        while self._hash[i].key != EMPTY:
            i = (i + 1) & self._hmask
        self._hash[i].key = key
        self._hash[i].slot = val

    cdef void _hdel(self, int64_t key) noexcept nogil:
        cdef HashSlot* h = self._hash
        cdef int64_t mask = self._hmask
        cdef int64_t i = home_slot(key, self._hshift)
        cdef int64_t j, k
        while h[i].key != key:
            if h[i].key == EMPTY:
                return
            i = (i + 1) & mask
        # Backward-shift deletion: pull later members of the probe run into the hole.
        j = i
        while True:
            j = (j + 1) & mask
            if h[j].key == EMPTY:
                break
            k = home_slot(h[j].key, self._hshift)
            if (j > i and (k <= i or k > j)) or (j < i and k <= i and k > j):
                h[i] = h[j]
                i = j
        h[i].key = EMPTY

    cdef int32_t find_c(self, int64_t order_id) noexcept nogil:
        """Slot of a resting order, -1 if it is not in the book (always for a negative id:
        -1 marks an empty hash slot, so a negative key must never be looked up)."""
        if order_id < 0:
            return -1
        cdef HashSlot* h = self._hash
        cdef int64_t i = home_slot(order_id, self._hshift)
        cdef int64_t k
        while True:
            k = h[i].key
            if k == order_id:
                return h[i].slot
            if k == EMPTY:
                return -1
            i = (i + 1) & self._hmask

    cdef int _record(self, int kind, int64_t maker, int64_t taker, int64_t price, int64_t qty,
                     int64_t leaves) except -1:
        cdef FillRec* p
        if self._nfills == self._fills_cap:
            p = <FillRec*> realloc(self._fills, 2 * self._fills_cap * sizeof(FillRec))
            if p == NULL:
                raise MemoryError()
            self._fills = p
            self._fills_cap *= 2
        p = &self._fills[self._nfills]
        p.op = self._op
        p.kind = kind
        p.maker = maker
        p.taker = taker
        p.price = price
        p.qty = qty
        p.maker_leaves = leaves
        self._nfills += 1
        return 0

    # -- book mechanics -------------------------------------------------------------------
    cdef int64_t best_c(self, int side) noexcept nogil:
        """Best price of ``side`` (0 when that side is empty)."""
        cdef int32_t n = self._nlv[side]
        if n == 0:
            return 0
        return self._levels[self._lv[side][n - 1]].price

    cdef int rest_c(self, int64_t order_id, int side, int64_t price, int64_t qty,
                    int64_t account, int tif, int post_only, int stp) except -1:
        """Queue an order at the back of its price level (creating the level if needed)."""
        cdef int64_t key = side_key(side, price)
        cdef int32_t n = self._nlv[side]
        cdef int32_t pos, lvl, slot
        cdef int64_t* keys
        cdef int32_t* lv
        if n > 0 and self._keys[side][n - 1] == key:
            lvl = self._lv[side][n - 1]
        else:
            pos = lower_bound(self._keys[side], n, key)
            if pos < n and self._keys[side][pos] == key:
                lvl = self._lv[side][pos]
            else:
                self._reserve(side)
                lvl = self._levels_free
                self._levels_free = self._levels[lvl].next_free
                self._levels[lvl].price = price
                self._levels[lvl].qty = 0
                self._levels[lvl].count = 0
                self._levels[lvl].head = -1
                self._levels[lvl].tail = -1
                keys = self._keys[side]
                lv = self._lv[side]
                memmove(&keys[pos + 1], &keys[pos], (n - pos) * sizeof(int64_t))
                memmove(&lv[pos + 1], &lv[pos], (n - pos) * sizeof(int32_t))
                keys[pos] = key
                lv[pos] = lvl
                self._nlv[side] = n + 1
        self._reserve(side)
        slot = self._orders_free
        cdef OrderSlot* o = &self._orders[slot]
        self._orders_free = o.next
        cdef LevelSlot* lev = &self._levels[lvl]
        o.id = order_id
        o.price = price
        o.qty = qty
        o.account = account
        o.side = <int8_t> side
        o.tif = <int8_t> tif
        o.post_only = <int8_t> post_only
        o.stp = <int8_t> stp
        o.level = lvl
        o.next = -1
        o.prev = lev.tail
        if lev.tail >= 0:
            self._orders[lev.tail].next = slot
        else:
            lev.head = slot
        lev.tail = slot
        lev.count += 1
        lev.qty += qty
        self._hput(order_id, slot)
        self.order_count += 1
        return 0

    cdef void remove_c(self, int32_t slot) noexcept nogil:
        """Unlink a resting order, free its slot, and drop its level if it empties: O(1)."""
        cdef OrderSlot* o = &self._orders[slot]
        cdef int32_t lvl = o.level
        cdef LevelSlot* lev = &self._levels[lvl]
        cdef int side = o.side
        cdef int32_t n, pos
        if o.prev >= 0:
            self._orders[o.prev].next = o.next
        else:
            lev.head = o.next
        if o.next >= 0:
            self._orders[o.next].prev = o.prev
        else:
            lev.tail = o.prev
        lev.qty -= o.qty
        lev.count -= 1
        if lev.count == 0:
            n = self._nlv[side]
            if self._lv[side][n - 1] == lvl:
                pos = n - 1
            else:
                pos = lower_bound(self._keys[side], n, side_key(side, lev.price))
                memmove(&self._keys[side][pos], &self._keys[side][pos + 1],
                        (n - pos - 1) * sizeof(int64_t))
                memmove(&self._lv[side][pos], &self._lv[side][pos + 1],
                        (n - pos - 1) * sizeof(int32_t))
            self._nlv[side] = n - 1
            lev.next_free = self._levels_free
            self._levels_free = lvl
        self._hdel(o.id)
        o.id = EMPTY
        o.next = self._orders_free
        self._orders_free = slot
        self.order_count -= 1

    cdef int64_t fillable_c(self, int side, int64_t price, int64_t qty, int64_t account,
                            int stp) noexcept nogil:
        """What a taker would fill (capped at ``qty``), honouring self-trade prevention."""
        cdef int opp = 1 - side
        cdef int32_t i = self._nlv[opp] - 1
        cdef int64_t total = 0
        cdef LevelSlot* lev
        cdef int32_t o
        while i >= 0 and total < qty:
            lev = &self._levels[self._lv[opp][i]]
            if not crosses(side, price, lev.price):
                break
            # total < qty here, so comparing against qty - total never overflows
            if stp == C_STP_OFF:
                if lev.qty >= qty - total:
                    return qty
                total += lev.qty
            else:
                o = lev.head
                while o >= 0:
                    if self._orders[o].account == account:
                        if stp == C_STP_NEWEST:
                            return total
                    else:
                        if self._orders[o].qty >= qty - total:
                            return qty
                        total += self._orders[o].qty
                    o = self._orders[o].next
            i -= 1
        return total if total < qty else qty

    cdef int64_t match_c(self, int64_t taker, int side, int64_t price, int64_t qty,
                         int64_t account, int stp) except -1:
        """Sweep the opposite side best first, FIFO in each level; returns the unfilled qty."""
        cdef int opp = 1 - side
        cdef int32_t n, lvl, o, nxt
        cdef LevelSlot* lev
        cdef OrderSlot* maker
        cdef int64_t fq, lp
        cdef bint last
        while qty > 0:
            n = self._nlv[opp]
            if n == 0:
                break
            lvl = self._lv[opp][n - 1]
            lev = &self._levels[lvl]
            lp = lev.price
            if not crosses(side, price, lp):
                break
            o = lev.head
            while qty > 0:
                maker = &self._orders[o]
                nxt = maker.next
                last = nxt < 0
                if stp != C_STP_OFF and maker.account == account:
                    if stp == C_STP_NEWEST:
                        self._stp_stopped = 1
                        return qty
                    self._record(C_FILL_STP, maker.id, taker, lp, maker.qty, 0)
                    self.remove_c(o)
                else:
                    fq = qty if qty < maker.qty else maker.qty
                    maker.qty -= fq
                    lev.qty -= fq
                    qty -= fq
                    self._record(C_FILL_MATCH, maker.id, taker, lp, fq, maker.qty)
                    if maker.qty != 0:
                        break
                    self.remove_c(o)
                if last:
                    break
                o = nxt
        return qty

    # -- operations (C fast path) ------------------------------------------------------------
    cdef int submit_c(self, int64_t order_id, int side, int64_t price, int64_t qty,
                      int64_t account, int tif, int post_only, int stp) except -1:
        cdef int code = _submit(self, order_id, side, price, qty, account, tif, post_only, stp)
        if NEXUS_DEBUG:
            self.check_c()
        return code

    cdef int amend_c(self, int64_t order_id, int64_t price, int64_t qty) except -1:
        cdef int code = _amend(self, order_id, price, qty)
        if NEXUS_DEBUG:
            self.check_c()
        return code

    cdef int64_t cancel_c(self, int64_t order_id) except -1:
        cdef int32_t slot = self.find_c(order_id)
        cdef int64_t qty
        if slot < 0:
            qty = 0
        else:
            qty = self._orders[slot].qty
            self.remove_c(slot)
        if NEXUS_DEBUG:
            self.check_c()
        return qty

    # -- Python API --------------------------------------------------------------------------
    def submit(self, int64_t order_id, int side, int64_t price, int64_t qty, int64_t account=0,
               int tif=TIF_GTC, bint post_only=False, int stp=STP_OFF):
        """Add an order; ``price`` 0 is a market order. Returns a result code."""
        self._nfills = 0
        self._op = 0
        return self.submit_c(order_id, side, price, qty, account, tif, post_only, stp)

    def amend(self, int64_t order_id, int64_t price, int64_t qty):
        """Set a resting order's price and open quantity. Returns a result code."""
        self._nfills = 0
        self._op = 0
        return self.amend_c(order_id, price, qty)

    def cancel(self, int64_t order_id):
        """Remove a resting order; returns the quantity cancelled (0 if it was not resting)."""
        self._nfills = 0
        return self.cancel_c(order_id)

    def apply_batch(self, const int64_t[:, ::1] ops not None):
        """Apply rows of ``ops`` (columns ``COL_*``) in order; returns one int64 per row.

        A submit or amend row yields its result code, a cancel row the quantity cancelled.
        The fills of the whole batch are read afterwards with :meth:`fills_array` (``op`` is
        the row index).
        """
        if ops.shape[1] < BATCH_COLUMNS:
            raise ValueError(f"a batch needs {BATCH_COLUMNS} columns, got {ops.shape[1]}")
        cdef Py_ssize_t n = ops.shape[0], i
        cdef cnp.ndarray[cnp.int64_t, ndim=1] out = np.empty(n, dtype=np.int64)
        cdef int64_t* res = <int64_t*> out.data
        cdef int64_t op
        self._nfills = 0
        for i in range(n):
            self._op = i
            op = ops[i, 0]
            if op == 0:
                res[i] = self.submit_c(ops[i, 1], small(ops[i, 2]), ops[i, 3], ops[i, 4],
                                       ops[i, 5], small(ops[i, 6]), ops[i, 7] != 0,
                                       small(ops[i, 8]))
            elif op == 1:
                res[i] = self.amend_c(ops[i, 1], ops[i, 3], ops[i, 4])
            elif op == 2:
                res[i] = self.cancel_c(ops[i, 1])
            else:
                raise ValueError(f"unknown operation {op} in batch row {i}")
        self._op = 0
        return out

    def fills(self):
        """Fills of the last operation: ``(kind, maker, taker, price, qty, maker_leaves)``."""
        cdef int64_t i
        cdef FillRec* f
        out = []
        for i in range(self._nfills):
            f = &self._fills[i]
            out.append((f.kind, f.maker, f.taker, f.price, f.qty, f.maker_leaves))
        return out

    def fills_array(self):
        """Fills of the last operation or batch as an int64 array ``(op, kind, maker, ...)``."""
        cdef cnp.ndarray[cnp.int64_t, ndim=2] out = np.empty((self._nfills, FILL_COLUMNS),
                                                              dtype=np.int64)
        cdef int64_t* p = <int64_t*> out.data
        cdef int64_t i
        for i in range(self._nfills):
            p[0] = self._fills[i].op
            p[1] = self._fills[i].kind
            p[2] = self._fills[i].maker
            p[3] = self._fills[i].taker
            p[4] = self._fills[i].price
            p[5] = self._fills[i].qty
            p[6] = self._fills[i].maker_leaves
            p += 7
        return out

    @property
    def fill_count(self):
        """Number of fill records of the last operation or batch."""
        return self._nfills

    def best_bid(self):
        """Highest bid price (0 when there is none)."""
        return self.best_c(C_BUY)

    def best_ask(self):
        """Lowest ask price (0 when there is none)."""
        return self.best_c(C_SELL)

    def depth(self, int side, int n=10):
        """Top ``n`` levels of ``side``, best first: ``[(price, quantity, order_count)]``."""
        self._check_side(side)
        cdef int32_t i = self._nlv[side] - 1
        cdef LevelSlot* lev
        out = []
        while i >= 0 and len(out) < n:
            lev = &self._levels[self._lv[side][i]]
            out.append((lev.price, lev.qty, lev.count))
            i -= 1
        return out

    def levels(self, int side):
        """Every level of ``side``, best first, with its FIFO: ``[(price, [(id, qty)])]``."""
        self._check_side(side)
        cdef int32_t i = self._nlv[side] - 1, o
        cdef LevelSlot* lev
        out = []
        while i >= 0:
            lev = &self._levels[self._lv[side][i]]
            queue = []
            o = lev.head
            while o >= 0:
                queue.append((self._orders[o].id, self._orders[o].qty))
                o = self._orders[o].next
            out.append((lev.price, queue))
            i -= 1
        return out

    def order(self, int64_t order_id):
        """``(side, price, open_qty, account)`` of a resting order, or None."""
        cdef int32_t slot = self.find_c(order_id)
        if slot < 0:
            return None
        cdef OrderSlot* o = &self._orders[slot]
        return (o.side, o.price, o.qty, o.account)

    def expire(self, int tif=TIF_DAY):
        """Remove every resting order with time in force ``tif``; returns ``[(id, qty)]``.

        Orders are visited bids then asks, best level first, FIFO inside a level.
        """
        cdef int side
        cdef int32_t slot
        doomed = []
        for side in range(2):
            for level in self.levels(side):
                for entry in level[1]:
                    slot = self.find_c(entry[0])
                    if self._orders[slot].tif == tif:
                        doomed.append(entry)
        for entry in doomed:
            self.remove_c(self.find_c(entry[0]))
        self._nfills = 0
        if NEXUS_DEBUG:
            self.check_c()
        return doomed

    def check(self):
        """Verify every invariant (sums, links, ordering, hash, not crossed); True, or raise
        :class:`BookInvariantError`. A debug build runs it after every operation."""
        self.check_c()
        return True

    cdef int check_c(self) except -1:
        cdef int side
        cdef int32_t i, o, prev, count, seen = 0
        cdef int64_t total, bid, ask
        cdef LevelSlot* lev
        cdef OrderSlot* order
        for side in range(2):
            for i in range(self._nlv[side]):
                if i and self._keys[side][i - 1] >= self._keys[side][i]:
                    raise BookInvariantError(f"side {side} levels out of order at {i}")
                lev = &self._levels[self._lv[side][i]]
                if self._keys[side][i] != side_key(side, lev.price):
                    raise BookInvariantError(f"side {side} key mismatch at {i}")
                total = 0
                count = 0
                prev = -1
                o = lev.head
                while o >= 0:
                    order = &self._orders[o]
                    if (order.level != self._lv[side][i] or order.qty <= 0 or order.side != side
                            or order.price != lev.price or order.prev != prev):
                        raise BookInvariantError(f"order slot {o} corrupt")
                    if self.find_c(order.id) != o:
                        raise BookInvariantError(f"order {order.id} not hashed")
                    total += order.qty
                    count += 1
                    prev = o
                    o = order.next
                if total != lev.qty or count != lev.count or count == 0 or prev != lev.tail:
                    raise BookInvariantError(f"level {lev.price} aggregates wrong")
                seen += count
        if seen != self.order_count:
            raise BookInvariantError(
                f"order count mismatch: {seen} in the levels, order_count {self.order_count}")
        bid, ask = self.best_c(C_BUY), self.best_c(C_SELL)
        if bid and ask and bid >= ask:
            raise BookInvariantError(f"crossed book: bid {bid} >= ask {ask}")
        return 0

    def _debug_corrupt(self, int64_t order_id, int64_t qty):
        """Test hook of a debug build: set a resting order's open quantity behind its level's
        back (the level's aggregate keeps the old sum), breaking the book. A release build
        has no such hook: it raises NotImplementedError and changes nothing."""
        if not NEXUS_DEBUG:
            raise NotImplementedError("_debug_corrupt exists only in a debug build (NEXUS_DEBUG=1)")
        cdef int32_t slot = self.find_c(order_id)
        if slot < 0:
            raise KeyError(order_id)
        self._orders[slot].qty = qty

    def __len__(self):
        return self.order_count

    cdef bint _level_overflows(self, int side, int64_t price, int64_t qty,
                               int32_t exclude) noexcept nogil:
        """Would ``qty`` more at ``price`` overflow the level's int64 aggregate?

        ``exclude`` is an order slot whose quantity leaves that level first (-1 for none).
        """
        cdef int32_t n = self._nlv[side]
        cdef int64_t key = side_key(side, price)
        cdef int32_t pos
        cdef int64_t have
        if n == 0:
            return False
        if self._keys[side][n - 1] == key:
            pos = n - 1  # the touch: where most orders land
        else:
            pos = lower_bound(self._keys[side], n, key)
            if pos == n or self._keys[side][pos] != key:
                return False
        have = self._levels[self._lv[side][pos]].qty
        if exclude >= 0 and self._orders[exclude].level == self._lv[side][pos]:
            have -= self._orders[exclude].qty
        return have > INT64_MAX - qty

    cdef int _check_side(self, int side) except -1:
        if side != C_BUY and side != C_SELL:
            raise ValueError(f"side must be {SIDE_BUY} (BUY) or {SIDE_SELL} (SELL), got {side}")
        return 0


# -- operation bodies: Book.submit_c / amend_c without their debug check (inlined by the C
# compiler into the one method that calls each) ------------------------------------------
cdef inline int _submit(Book self, int64_t order_id, int side, int64_t price, int64_t qty,
                        int64_t account, int tif, int post_only, int stp) except -1:
    cdef int64_t rem, opp_best
    self._stp_stopped = 0
    self.last_filled = 0
    self.last_remaining = qty
    if (order_id < 0 or qty <= 0 or price < 0 or (side != C_BUY and side != C_SELL)
            or tif < C_GTC or tif > C_FOK or stp < C_STP_OFF or stp > C_STP_OLDEST):
        return C_REJECT_INVALID
    if price == 0:
        if post_only:
            return C_REJECT_INVALID
        if tif != C_FOK:
            tif = C_IOC
    if post_only and tif >= C_IOC:
        return C_REJECT_INVALID
    if self.find_c(order_id) >= 0:
        return C_REJECT_DUPLICATE
    if price != 0 and tif <= C_DAY:
        if self._level_overflows(side, price, qty, -1):
            return C_REJECT_INVALID
        self._reserve(side)
    if post_only:
        opp_best = self.best_c(1 - side)
        if opp_best != 0 and crosses(side, price, opp_best):
            return C_REJECT_POST_ONLY
        self.rest_c(order_id, side, price, qty, account, tif, 1, stp)
        return C_RESTED
    if tif == C_FOK and self.fillable_c(side, price, qty, account, stp) < qty:
        return C_REJECT_FOK
    rem = self.match_c(order_id, side, price, qty, account, stp)
    self.last_filled = qty - rem
    self.last_remaining = rem
    if self._stp_stopped:
        return C_STP_CANCELLED
    if rem == 0:
        return C_FILLED
    if tif >= C_IOC:
        return C_EXPIRED
    self.rest_c(order_id, side, price, rem, account, tif, 0, stp)
    return C_RESTED


cdef inline int _amend(Book self, int64_t order_id, int64_t price, int64_t qty) except -1:
    cdef int32_t slot = self.find_c(order_id)
    cdef OrderSlot* o
    cdef int side, tif, post_only, stp
    cdef int64_t account, rem, opp_best
    self._stp_stopped = 0
    self.last_filled = 0
    self.last_remaining = 0
    if slot < 0:
        return C_REJECT_UNKNOWN
    o = &self._orders[slot]
    self.last_remaining = o.qty
    if price <= 0 or qty <= 0:
        return C_REJECT_INVALID
    if price == o.price and qty <= o.qty:
        # A size decrease keeps its place in the queue.
        self._levels[o.level].qty -= o.qty - qty
        o.qty = qty
        self.last_remaining = qty
        return C_AMENDED
    side = o.side
    tif = o.tif
    post_only = o.post_only
    stp = o.stp
    account = o.account
    if self._level_overflows(side, price, qty, slot):
        return C_REJECT_INVALID
    self._reserve(side)
    if post_only:
        opp_best = self.best_c(1 - side)
        if opp_best != 0 and crosses(side, price, opp_best):
            return C_REJECT_POST_ONLY
    self.remove_c(slot)
    rem = self.match_c(order_id, side, price, qty, account, stp)
    self.last_filled = qty - rem
    self.last_remaining = rem
    if self._stp_stopped:
        return C_STP_CANCELLED
    if rem == 0:
        return C_FILLED
    self.rest_c(order_id, side, price, rem, account, tif, post_only, stp)
    return C_RESTED
