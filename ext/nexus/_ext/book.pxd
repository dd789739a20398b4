# Contract of the compiled price-time priority limit order book (implementation in book.pyx).
#
# Prices and quantities are raw int64 fixed-point (value * 10**9, see fixedpoint.h).
# Orders are named by caller-chosen integer handles (int64 >= 0; a negative id is never found) and accounts by integer
# handles; strings live in the Python layer (services/matching/core).
#
# Layout: orders and price levels sit in preallocated slot arrays with free lists; each level
# holds an intrusive doubly linked FIFO of its orders; each side keeps a sorted array of its
# active levels with the BEST LEVEL LAST (bids by ascending price, asks by descending price),
# so touching the top of book is O(1) and a new level costs a binary search plus a memmove of
# the levels better than it. An open-addressing hash maps handle -> slot.
#
# Complexity: cancel, amend-down and fill of one resting order O(1) whatever the queue depth
# (plus O(log L + k) when the level empties, k = levels better than it); add O(1) at an
# existing level at the top, O(log L + k) otherwise; matching O(fills + levels swept);
# FOK pre-check O(levels swept), or O(orders swept) with self-trade prevention.
from libc.stdint cimport int8_t, int32_t, int64_t

ctypedef struct OrderSlot:
    int64_t id          # caller handle; -1 when the slot is free
    int64_t price
    int64_t qty         # open (unfilled) quantity
    int64_t account
    int32_t prev        # FIFO neighbours inside the level (-1 = none); next doubles as free link
    int32_t next
    int32_t level       # level slot
    int8_t side
    int8_t tif
    int8_t post_only
    int8_t stp

ctypedef struct LevelSlot:
    int64_t price
    int64_t qty         # aggregated open quantity
    int32_t count       # orders at the level
    int32_t head        # oldest order (first to fill)
    int32_t tail        # newest order
    int32_t next_free

ctypedef struct HashSlot:
    int64_t key         # order handle; -1 when empty
    int32_t slot        # key and value share a cache line: one miss per probe
    int32_t pad

ctypedef struct FillRec:
    int64_t op          # index of the operation inside a batch (0 for single calls)
    int64_t kind        # FILL_MATCH or FILL_STP_CANCEL
    int64_t maker
    int64_t taker
    int64_t price       # the maker's price
    int64_t qty
    int64_t maker_leaves


cdef class Book:
    """One symbol's limit order book over raw fixed-point prices and quantities."""

    cdef OrderSlot* _orders
    cdef int32_t _orders_cap
    cdef int32_t _max_cap       # growth limit of every slot array (<= 2**30), then MemoryError
    cdef int32_t _orders_free
    cdef LevelSlot* _levels
    cdef int32_t _levels_cap
    cdef int32_t _levels_free
    # per side (0 = BUY, 1 = SELL): sorted keys (price for bids, -price for asks), level slots
    cdef int64_t* _keys[2]
    cdef int32_t* _lv[2]
    cdef int32_t _nlv[2]
    cdef int32_t _lv_cap[2]
    # handle -> slot, linear probing, power-of-two capacity, backward-shift deletion
    cdef HashSlot* _hash
    cdef int64_t _hmask
    cdef int32_t _hshift
    cdef readonly int64_t order_count
    """Orders resting in the book."""
    cdef FillRec* _fills
    cdef int64_t _nfills
    cdef int64_t _fills_cap
    cdef int64_t _op
    cdef int _stp_stopped
    cdef readonly int64_t last_remaining
    """Quantity of the last submit/amend that did not fill (rested, expired or cancelled)."""
    cdef readonly int64_t last_filled
    """Quantity the last submit/amend filled."""

    cdef int submit_c(self, int64_t order_id, int side, int64_t price, int64_t qty,
                      int64_t account, int tif, int post_only, int stp) except -1
    cdef int amend_c(self, int64_t order_id, int64_t price, int64_t qty) except -1
    cdef int64_t cancel_c(self, int64_t order_id) except -1
    cdef int64_t fillable_c(self, int side, int64_t price, int64_t qty, int64_t account,
                            int stp) noexcept nogil
    cdef int64_t match_c(self, int64_t taker, int side, int64_t price, int64_t qty,
                         int64_t account, int stp) except -1
    cdef int rest_c(self, int64_t order_id, int side, int64_t price, int64_t qty,
                    int64_t account, int tif, int post_only, int stp) except -1
    cdef void remove_c(self, int32_t slot) noexcept nogil
    cdef int32_t find_c(self, int64_t order_id) noexcept nogil
    cdef int64_t best_c(self, int side) noexcept nogil
    # every invariant (see Book.check); raises BookInvariantError. A debug build
    # (NEXUS_DEBUG=1) runs it after every submit_c, amend_c, cancel_c and expire.
    cdef int check_c(self) except -1
    # storage helpers
    cdef int32_t _doubled(self, int32_t cap) except -1
    cdef int _reserve(self, int side) except -1
    cdef int _grow_orders(self, int32_t cap) except -1
    cdef int _grow_levels(self, int32_t cap) except -1
    cdef int _grow_side(self, int side, int32_t cap) except -1
    cdef int _rehash(self, int64_t want) except -1
    cdef void _hput(self, int64_t key, int32_t val) noexcept nogil
    cdef void _hdel(self, int64_t key) noexcept nogil
    cdef int _record(self, int kind, int64_t maker, int64_t taker, int64_t price, int64_t qty,
                     int64_t leaves) except -1
    cdef int _check_side(self, int side) except -1
    cdef bint _level_overflows(self, int side, int64_t price, int64_t qty,
                               int32_t exclude) noexcept nogil
