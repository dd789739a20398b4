# C-level contract of NexusTrade fixed-point arithmetic (see fixedpoint.h beside this file).
# Any extension can `from nexus._ext.fixedpoint cimport ...` and call these at C speed;
# all are header-only, so cimporting them adds no runtime import. Compile with the directory
# returned by `nexus.get_include()` on the include path.
#
# Status codes: 0 ok, 1 overflow, 2 division by zero, 3 inexact (the exact helpers only).
from libc.stdint cimport int64_t, uint64_t

cdef extern from "nexus/_ext/fixedpoint.h" nogil:
    # A 128-bit integer (C __int128), declared opaque so Cython refuses to assign it to (or
    # from) any integer type: narrow only through fx_narrow64, split with fx_hi64 / fx_lo64.
    ctypedef struct fx_int128:
        pass
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
    int fx_mul_exact(int64_t a, int64_t b, int64_t *out)
    int fx_div_exact(int64_t a, int64_t b, int64_t *out)
    fx_int128 fx_notional128(int64_t price, int64_t qty, int mode)
    int fx_narrow64(fx_int128 v, int64_t *out)
    int64_t fx_hi64(fx_int128 v)
    uint64_t fx_lo64(fx_int128 v)
