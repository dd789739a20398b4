# Contract of the compiled market view: a per-venue, per-symbol book mirror and the NBBO across
# venues (implementation in nbbo.pyx; pure-Python twin in tests/support/nbbo_reference.py).
#
# Prices and sizes are raw int64 fixed-point (value * 10**9, see fixedpoint.h); timestamps are
# the quote's venue event time in UTC nanoseconds. Venues are named by small integer handles
# (0 .. max_venues-1) handed out by MarketView; names live in the Python layer.
#
# Layout: one SymbolBook per symbol holds, for every venue handle, up to max_depth levels per
# side in flat arrays indexed [venue * max_depth + level], BEST LEVEL FIRST (level 0 is the
# venue's displayed top of book, its L1 quote). A venue's top of book is a protected quotation
# when the venue is flagged protected and its quote is fresh; deeper levels are depth only.
#
# Complexity: an L1 or depth update O(depth) for the venue touched; the NBBO O(venues).
from libc.stdint cimport int8_t, int32_t, int64_t

ctypedef struct NbboC:
    int64_t bid_px      # 0 when no fresh protected bid
    int64_t bid_sz      # aggregated over the venues at the best bid
    int64_t ask_px
    int64_t ask_sz
    int32_t n_bid_venues
    int32_t n_ask_venues
    int32_t state       # STATE_* codes
    int32_t n_stale     # venues with a quote for the symbol excluded as stale


cdef class SymbolBook:
    """Every venue's mirrored book for one symbol."""

    cdef int32_t _nv
    cdef int32_t _depth
    cdef int64_t* _bid_px
    cdef int64_t* _bid_sz
    cdef int64_t* _ask_px
    cdef int64_t* _ask_sz
    cdef int32_t* _n_bid
    cdef int32_t* _n_ask
    cdef int64_t* _ts           # venue event time of the venue's latest quote (-1 = never)
    cdef int64_t* _prev_bid     # top bid price before its last change (0 = none)
    cdef int64_t* _prev_ask
    cdef int64_t* _bid_changed  # event time of the last change of the top bid price
    cdef int64_t* _ask_changed
    cdef int32_t* _bid_best     # scratch: venue handles at the best bid of the last nbbo_c
    cdef int32_t* _ask_best

    cdef int set_side_c(self, int32_t v, int side, int64_t px, int64_t sz, int64_t ts) except -1
    cdef void nbbo_c(self, const int8_t* protected, int32_t nv, int64_t now, int64_t max_age,
                     NbboC* out) noexcept nogil


cdef class Nbbo:
    """The consolidated protected best bid and offer of one symbol at one instant."""

    cdef readonly str symbol
    cdef readonly int64_t bid_price
    """Best protected bid (raw), 0 when none."""
    cdef readonly int64_t bid_size
    """Size at the best bid summed over the venues quoting it (raw)."""
    cdef readonly tuple bid_venues
    cdef readonly int64_t ask_price
    cdef readonly int64_t ask_size
    cdef readonly tuple ask_venues
    cdef readonly int state
    """One of STATE_EMPTY, STATE_ONE_SIDED, STATE_NORMAL, STATE_LOCKED, STATE_CROSSED."""
    cdef readonly int64_t ts_event
    cdef readonly int stale_venues
    """Venues quoting the symbol left out because their quote is older than the maximum age."""


cdef class VenueQuote:
    """One venue's top of book for one symbol, as mirrored, with its flicker history."""

    cdef readonly str venue
    cdef readonly bint protected
    cdef readonly bint stale
    """Older than the view's maximum age at the time asked."""
    cdef readonly int64_t bid_price
    cdef readonly int64_t bid_size
    cdef readonly int64_t ask_price
    cdef readonly int64_t ask_size
    cdef readonly int64_t ts_event
    cdef readonly int64_t prev_bid_price
    """Top bid before its last change (0 = none), for the flickering-quote exception."""
    cdef readonly int64_t bid_changed_ns
    cdef readonly int64_t prev_ask_price
    cdef readonly int64_t ask_changed_ns


cdef class MarketView:
    """Book mirrors of every venue for every symbol, and the NBBO over them."""

    cdef dict _books            # symbol -> SymbolBook
    cdef dict _handles          # venue name -> handle
    cdef list _names            # handle -> venue name
    cdef int8_t* _protected     # handle -> 1 when the venue's top of book is protected
    cdef readonly int32_t max_venues
    cdef readonly int32_t max_depth
    cdef readonly int64_t max_age_ns
    """Quotes older than this (event time) are stale and left out; <= 0 keeps every quote."""

    cdef SymbolBook book_c(self, str symbol)
    cdef int32_t handle_c(self, str venue) except -1
    cdef int update_l1_c(self, SymbolBook book, int32_t v, int64_t bid_px, int64_t bid_sz,
                         int64_t ask_px, int64_t ask_sz, int64_t ts) except -1
    cdef bint _fresh(self, SymbolBook book, int32_t v, int64_t now_ns) noexcept
    cdef list _levels(self, SymbolBook book, int32_t v, int side)
