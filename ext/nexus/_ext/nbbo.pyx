# cython: freethreading_compatible = False
"""Compiled market view: every venue's book mirror per symbol and the NBBO across venues.

Prices and sizes are raw int64 (``value * 10**9``, see :mod:`nexus.money`); timestamps are the
quotes' venue event time (UTC ns) and "now" is passed in by the caller (event time of the order
being routed), never read from a clock here. The layout and costs are documented in
``nbbo.pxd``; the semantics, and a pure-Python twin used to check this one, live in
``tests/support/nbbo_reference.py``.

Semantics in short:

* an L1 quote replaces a venue's top of book on each side and keeps only the depth levels
  strictly worse than the new top (a zero price or size empties that side);
* a depth snapshot replaces the venue's levels (best first) and its top of book;
* a quote older (event time) than the venue's latest one for the symbol is ignored;
* the NBBO is taken over venues flagged protected whose latest quote is no older than
  ``max_age_ns``; it reports the venues and summed sizes at each best price and whether the
  market is one-sided, locked (bid == offer) or crossed (bid > offer).
"""
from libc.stdint cimport int8_t, int32_t, int64_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memmove

from nexus._ext.buildmode cimport NEXUS_DEBUG

#: True in a debug build (``NEXUS_DEBUG=1``, bounds checks on)
DEBUG = NEXUS_DEBUG
STATE_EMPTY = 0
STATE_ONE_SIDED = 1
STATE_NORMAL = 2
STATE_LOCKED = 3
STATE_CROSSED = 4
SIDE_BID = 0
SIDE_ASK = 1
STATE_NAMES = ("EMPTY", "ONE_SIDED", "NORMAL", "LOCKED", "CROSSED")

cdef enum:
    C_EMPTY = 0
    C_ONE_SIDED = 1
    C_NORMAL = 2
    C_LOCKED = 3
    C_CROSSED = 4


cdef inline bint _worse(int side, int64_t level_px, int64_t top_px) noexcept nogil:
    """Whether a level is strictly worse than a top price on ``side`` (0 bid, 1 ask)."""
    if side == 0:
        return level_px < top_px
    return level_px > top_px


cdef class SymbolBook:
    def __cinit__(self, int32_t max_venues, int32_t max_depth):
        cdef Py_ssize_t cells = <Py_ssize_t>max_venues * max_depth
        cdef int32_t v
        self._nv = max_venues
        self._depth = max_depth
        self._bid_px = <int64_t*>calloc(cells, sizeof(int64_t))
        self._bid_sz = <int64_t*>calloc(cells, sizeof(int64_t))
        self._ask_px = <int64_t*>calloc(cells, sizeof(int64_t))
        self._ask_sz = <int64_t*>calloc(cells, sizeof(int64_t))
        self._n_bid = <int32_t*>calloc(max_venues, sizeof(int32_t))
        self._n_ask = <int32_t*>calloc(max_venues, sizeof(int32_t))
        self._ts = <int64_t*>malloc(max_venues * sizeof(int64_t))
        self._prev_bid = <int64_t*>calloc(max_venues, sizeof(int64_t))
        self._prev_ask = <int64_t*>calloc(max_venues, sizeof(int64_t))
        self._bid_changed = <int64_t*>calloc(max_venues, sizeof(int64_t))
        self._ask_changed = <int64_t*>calloc(max_venues, sizeof(int64_t))
        self._bid_best = <int32_t*>calloc(max_venues, sizeof(int32_t))
        self._ask_best = <int32_t*>calloc(max_venues, sizeof(int32_t))
        if (not self._bid_px or not self._bid_sz or not self._ask_px or not self._ask_sz
                or not self._n_bid or not self._n_ask or not self._ts or not self._prev_bid
                or not self._prev_ask or not self._bid_changed or not self._ask_changed
                or not self._bid_best or not self._ask_best):
            raise MemoryError("market view: cannot allocate a symbol book")
        for v in range(max_venues):
            self._ts[v] = -1

    def __dealloc__(self):
        free(self._bid_px)
        free(self._bid_sz)
        free(self._ask_px)
        free(self._ask_sz)
        free(self._n_bid)
        free(self._n_ask)
        free(self._ts)
        free(self._prev_bid)
        free(self._prev_ask)
        free(self._bid_changed)
        free(self._ask_changed)
        free(self._bid_best)
        free(self._ask_best)

    cdef int set_side_c(self, int32_t v, int side, int64_t px, int64_t sz, int64_t ts) except -1:
        cdef int64_t* prices = self._bid_px if side == 0 else self._ask_px
        cdef int64_t* sizes = self._bid_sz if side == 0 else self._ask_sz
        cdef int32_t* counts = self._n_bid if side == 0 else self._n_ask
        cdef Py_ssize_t base = <Py_ssize_t>v * self._depth
        cdef int32_t n = counts[v]
        cdef int32_t k = 0
        cdef int32_t keep
        cdef int64_t old_top = prices[base] if n > 0 else 0
        cdef int64_t new_top = 0
        if px <= 0 or sz <= 0:
            counts[v] = 0
        else:
            while k < n and not _worse(side, prices[base + k], px):
                k += 1
            keep = n - k
            if keep > self._depth - 1:
                keep = self._depth - 1
            if keep > 0 and k != 1:
                memmove(&prices[base + 1], &prices[base + k], keep * sizeof(int64_t))
                memmove(&sizes[base + 1], &sizes[base + k], keep * sizeof(int64_t))
            prices[base] = px
            sizes[base] = sz
            counts[v] = 1 + keep
            new_top = px
        if new_top != old_top:
            if side == 0:
                self._prev_bid[v] = old_top
                self._bid_changed[v] = ts
            else:
                self._prev_ask[v] = old_top
                self._ask_changed[v] = ts
        return 0

    cdef void nbbo_c(self, const int8_t* protected, int32_t nv, int64_t now, int64_t max_age,
                     NbboC* out) noexcept nogil:
        cdef int32_t v
        cdef int64_t px
        cdef Py_ssize_t base
        out.bid_px = 0
        out.bid_sz = 0
        out.ask_px = 0
        out.ask_sz = 0
        out.n_bid_venues = 0
        out.n_ask_venues = 0
        out.n_stale = 0
        for v in range(nv):
            if self._ts[v] < 0:
                continue
            if max_age > 0 and now - self._ts[v] > max_age:
                out.n_stale += 1
                continue
            if not protected[v]:
                continue
            base = <Py_ssize_t>v * self._depth
            if self._n_bid[v] > 0:
                px = self._bid_px[base]
                if px > out.bid_px:
                    out.bid_px = px
                    out.bid_sz = self._bid_sz[base]
                    self._bid_best[0] = v
                    out.n_bid_venues = 1
                elif px == out.bid_px:
                    out.bid_sz += self._bid_sz[base]
                    self._bid_best[out.n_bid_venues] = v
                    out.n_bid_venues += 1
            if self._n_ask[v] > 0:
                px = self._ask_px[base]
                if out.ask_px == 0 or px < out.ask_px:
                    out.ask_px = px
                    out.ask_sz = self._ask_sz[base]
                    self._ask_best[0] = v
                    out.n_ask_venues = 1
                elif px == out.ask_px:
                    out.ask_sz += self._ask_sz[base]
                    self._ask_best[out.n_ask_venues] = v
                    out.n_ask_venues += 1
        if out.bid_px == 0 and out.ask_px == 0:
            out.state = C_EMPTY
        elif out.bid_px == 0 or out.ask_px == 0:
            out.state = C_ONE_SIDED
        elif out.bid_px > out.ask_px:
            out.state = C_CROSSED
        elif out.bid_px == out.ask_px:
            out.state = C_LOCKED
        else:
            out.state = C_NORMAL


cdef class Nbbo:
    def __repr__(self):
        return (f"Nbbo({self.symbol} {self.bid_size}@{self.bid_price} {self.bid_venues} / "
                f"{self.ask_size}@{self.ask_price} {self.ask_venues} {self.state_name})")

    @property
    def state_name(self):
        """The state as a word (``NORMAL``, ``LOCKED``, ...)."""
        return STATE_NAMES[self.state]


cdef class VenueQuote:
    def __repr__(self):
        return (f"VenueQuote({self.venue} {self.bid_size}@{self.bid_price} / "
                f"{self.ask_size}@{self.ask_price} ts={self.ts_event})")


cdef class MarketView:
    def __cinit__(self, int64_t max_age_ns=0, int32_t max_venues=32, int32_t max_depth=16):
        if max_venues < 1 or max_depth < 1:
            raise ValueError("max_venues and max_depth must be >= 1")
        self.max_venues = max_venues
        self.max_depth = max_depth
        self.max_age_ns = max_age_ns
        self._books = {}
        self._handles = {}
        self._names = []
        self._protected = <int8_t*>calloc(max_venues, sizeof(int8_t))
        if not self._protected:
            raise MemoryError("market view: cannot allocate venue flags")

    def __dealloc__(self):
        free(self._protected)

    # -- venues ---------------------------------------------------------------------------------
    cdef int32_t handle_c(self, str venue) except -1:
        cdef object h = self._handles.get(venue)
        if h is not None:
            return <int32_t>h
        if len(self._names) >= self.max_venues:
            raise OverflowError(f"market view holds at most {self.max_venues} venues")
        h = len(self._names)
        self._handles[venue] = h
        self._names.append(venue)
        self._protected[<int32_t>h] = 1
        return <int32_t>h

    def add_venue(self, str venue, bint protected=True):
        """Register ``venue`` (idempotent) and say whether its top of book is protected."""
        cdef int32_t h = self.handle_c(venue)
        self._protected[h] = 1 if protected else 0
        return h

    def is_protected(self, str venue):
        """Whether ``venue``'s top of book counts in the NBBO (unknown venues: False)."""
        h = self._handles.get(venue)
        return h is not None and self._protected[<int32_t>h] == 1

    @property
    def venues(self):
        """Venue names in handle order."""
        return tuple(self._names)

    def symbols(self):
        """Symbols with a book."""
        return tuple(self._books)

    # -- updates --------------------------------------------------------------------------------
    cdef SymbolBook book_c(self, str symbol):
        cdef SymbolBook book = self._books.get(symbol)
        if book is None:
            book = SymbolBook(self.max_venues, self.max_depth)
            self._books[symbol] = book
        return book

    cdef int update_l1_c(self, SymbolBook book, int32_t v, int64_t bid_px, int64_t bid_sz,
                         int64_t ask_px, int64_t ask_sz, int64_t ts) except -1:
        if ts < book._ts[v]:
            return 0
        book._ts[v] = ts
        book.set_side_c(v, 0, bid_px, bid_sz, ts)
        book.set_side_c(v, 1, ask_px, ask_sz, ts)
        return 1

    def update_l1(self, str symbol, str venue, int64_t bid_price, int64_t bid_size,
                  int64_t ask_price, int64_t ask_size, int64_t ts_ns):
        """Apply a venue's top of book (0 price or size = that side empty); False if older."""
        cdef SymbolBook book = self.book_c(symbol)
        cdef int32_t v = self.handle_c(venue)
        return self.update_l1_c(book, v, bid_price, bid_size, ask_price, ask_size, ts_ns) == 1

    def update_depth(self, str symbol, str venue, bids, asks, int64_t ts_ns):
        """Replace a venue's levels: ``bids``/``asks`` are (price, size) pairs, best first.

        Levels beyond ``max_depth`` are dropped; a side out of order raises ``ValueError``.
        Returns False (and changes nothing) for a snapshot older than the venue's latest quote.
        """
        cdef SymbolBook book = self.book_c(symbol)
        cdef int32_t v = self.handle_c(venue)
        cdef int side
        cdef int32_t i, n
        cdef int64_t px, sz, prev, old_top, new_top
        cdef Py_ssize_t base = <Py_ssize_t>v * book._depth
        cdef int64_t* prices
        cdef int64_t* sizes
        if ts_ns < book._ts[v]:
            return False
        for side, levels in ((0, bids), (1, asks)):
            prev = 0
            for level in levels:
                px = level[0]
                if px <= 0 or level[1] <= 0:
                    raise ValueError("depth levels need price > 0 and size > 0")
                if prev and not _worse(side, px, prev):
                    raise ValueError("depth levels must be strictly ordered best first")
                prev = px
        book._ts[v] = ts_ns
        for side, levels in ((0, bids), (1, asks)):
            prices = book._bid_px if side == 0 else book._ask_px
            sizes = book._bid_sz if side == 0 else book._ask_sz
            n = book._n_bid[v] if side == 0 else book._n_ask[v]
            old_top = prices[base] if n > 0 else 0
            i = 0
            for level in levels:
                if i >= book._depth:
                    break
                prices[base + i] = level[0]
                sizes[base + i] = level[1]
                i += 1
            if side == 0:
                book._n_bid[v] = i
            else:
                book._n_ask[v] = i
            new_top = prices[base] if i > 0 else 0
            if new_top != old_top:
                if side == 0:
                    book._prev_bid[v] = old_top
                    book._bid_changed[v] = ts_ns
                else:
                    book._prev_ask[v] = old_top
                    book._ask_changed[v] = ts_ns
        return True

    def clear_venue(self, str venue):
        """Forget every quote of ``venue`` (its session is gone); the venue stays registered."""
        h = self._handles.get(venue)
        if h is None:
            return
        cdef int32_t v = <int32_t>h
        cdef SymbolBook book
        for book in self._books.values():
            book._n_bid[v] = 0
            book._n_ask[v] = 0
            book._ts[v] = -1
            book._prev_bid[v] = 0
            book._prev_ask[v] = 0
            book._bid_changed[v] = 0
            book._ask_changed[v] = 0

    # -- queries --------------------------------------------------------------------------------
    def nbbo(self, str symbol, int64_t now_ns):
        """The protected NBBO of ``symbol`` at event time ``now_ns``."""
        cdef NbboC c
        cdef Nbbo out = Nbbo.__new__(Nbbo)
        cdef SymbolBook book = self._books.get(symbol)
        cdef int32_t i
        out.symbol = symbol
        out.ts_event = now_ns
        if book is None:
            out.bid_venues = ()
            out.ask_venues = ()
            out.state = C_EMPTY
            return out
        book.nbbo_c(self._protected, <int32_t>len(self._names), now_ns, self.max_age_ns, &c)
        out.bid_price = c.bid_px
        out.bid_size = c.bid_sz
        out.ask_price = c.ask_px
        out.ask_size = c.ask_sz
        out.state = c.state
        out.stale_venues = c.n_stale
        if c.n_bid_venues == 1:
            out.bid_venues = (self._names[book._bid_best[0]],)
        else:
            out.bid_venues = tuple([self._names[book._bid_best[i]] for i in range(c.n_bid_venues)])
        if c.n_ask_venues == 1:
            out.ask_venues = (self._names[book._ask_best[0]],)
        else:
            out.ask_venues = tuple([self._names[book._ask_best[i]] for i in range(c.n_ask_venues)])
        return out

    cdef bint _fresh(self, SymbolBook book, int32_t v, int64_t now_ns) noexcept:
        if book._ts[v] < 0:
            return False
        return not (self.max_age_ns > 0 and now_ns - book._ts[v] > self.max_age_ns)

    def levels(self, str symbol, str venue, int side, int64_t now_ns):
        """A venue's levels on ``side`` (SIDE_BID or SIDE_ASK) best first; [] if none or stale."""
        cdef SymbolBook book = self._books.get(symbol)
        h = self._handles.get(venue)
        if book is None or h is None or not self._fresh(book, <int32_t>h, now_ns):
            return []
        return self._levels(book, <int32_t>h, side)

    cdef list _levels(self, SymbolBook book, int32_t v, int side):
        cdef Py_ssize_t base = <Py_ssize_t>v * book._depth
        cdef int32_t i
        cdef int32_t n = book._n_bid[v] if side == 0 else book._n_ask[v]
        cdef int64_t* prices = book._bid_px if side == 0 else book._ask_px
        cdef int64_t* sizes = book._bid_sz if side == 0 else book._ask_sz
        return [(prices[base + i], sizes[base + i]) for i in range(n)]

    def book_side(self, str symbol, int side, int64_t now_ns):
        """Every fresh venue's levels on ``side``: a list of (venue, protected, levels)."""
        cdef SymbolBook book = self._books.get(symbol)
        cdef int32_t v
        cdef list out = []
        if book is None:
            return out
        for v in range(len(self._names)):
            if not self._fresh(book, v, now_ns):
                continue
            if (book._n_bid[v] if side == 0 else book._n_ask[v]) == 0:
                continue
            out.append((self._names[v], self._protected[v] == 1, self._levels(book, v, side)))
        return out

    def quotes(self, str symbol, int64_t now_ns):
        """Every venue's top of book for ``symbol`` (stale ones flagged), in handle order."""
        cdef SymbolBook book = self._books.get(symbol)
        cdef int32_t v
        cdef Py_ssize_t base
        cdef VenueQuote q
        cdef list out = []
        if book is None:
            return out
        for v in range(len(self._names)):
            if book._ts[v] < 0:
                continue
            base = <Py_ssize_t>v * book._depth
            q = VenueQuote.__new__(VenueQuote)
            q.venue = self._names[v]
            q.protected = self._protected[v] == 1
            q.stale = not self._fresh(book, v, now_ns)
            q.bid_price = book._bid_px[base] if book._n_bid[v] > 0 else 0
            q.bid_size = book._bid_sz[base] if book._n_bid[v] > 0 else 0
            q.ask_price = book._ask_px[base] if book._n_ask[v] > 0 else 0
            q.ask_size = book._ask_sz[base] if book._n_ask[v] > 0 else 0
            q.ts_event = book._ts[v]
            q.prev_bid_price = book._prev_bid[v]
            q.bid_changed_ns = book._bid_changed[v]
            q.prev_ask_price = book._prev_ask[v]
            q.ask_changed_ns = book._ask_changed[v]
            out.append(q)
        return out
