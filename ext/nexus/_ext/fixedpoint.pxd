# C-level contract of NexusTrade fixed-point arithmetic (see ext/fixedpoint.h).
# Any extension can `from fixedpoint cimport ...` and call these at C speed;
# all are header-only, so cimporting them adds no runtime import.
from libc.stdint cimport int64_t, uint64_t

cdef extern from "nexus/_ext/fixedpoint.h" nogil:
    ctypedef long long fx_int128   # really __int128; only moved through C helpers
    const int FX_PRECISION
    const int64_t FX_SCALE
    const int FX_ROUND_HALF_EVEN
    const int FX_ROUND_HALF_UP
    const int FX_ROUND_HALF_DOWN
    const int FX_ROUND_DOWN
    const int FX_ROUND_UP
    const int FX_ROUND_FLOOR
    const int FX_ROUND_CEILING
    int fx_add(int64_t a, int64_t b, int64_t *out)
    int fx_sub(int64_t a, int64_t b, int64_t *out)
    int fx_mul(int64_t a, int64_t b, int mode, int64_t *out)
    int fx_div(int64_t a, int64_t b, int mode, int64_t *out)
    fx_int128 fx_notional128(int64_t price, int64_t qty, int mode)
    int64_t fx_hi64(fx_int128 v)
    uint64_t fx_lo64(fx_int128 v)
