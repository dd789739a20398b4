/* Fixed-point primitives shared by every NexusTrade extension.
 *
 * One scale for the whole system: a raw int64 holds value * 10^9 (FX_SCALE).
 * Products are formed in 128 bits, so price x quantity never overflows before
 * it is rescaled; every operation reports overflow instead of wrapping.
 * Rounding modes mirror Python's decimal module.
 */
#ifndef NEXUS_FIXEDPOINT_H
#define NEXUS_FIXEDPOINT_H

#include <stdint.h>

typedef __int128 fx_int128;

#define FX_PRECISION 9
#define FX_SCALE 1000000000LL

enum fx_rounding {
    FX_ROUND_HALF_EVEN = 0,
    FX_ROUND_HALF_UP = 1,
    FX_ROUND_HALF_DOWN = 2,
    FX_ROUND_DOWN = 3,      /* toward zero */
    FX_ROUND_UP = 4,        /* away from zero */
    FX_ROUND_FLOOR = 5,
    FX_ROUND_CEILING = 6
};

/* Checked 64-bit add/sub: return 1 on overflow, 0 otherwise. */
static inline int fx_add(int64_t a, int64_t b, int64_t *out) { return __builtin_add_overflow(a, b, out); }
static inline int fx_sub(int64_t a, int64_t b, int64_t *out) { return __builtin_sub_overflow(a, b, out); }

/* n / d rounded by mode (d != 0), one definition for each width so the rounding rules
 * exist once. 2 * |remainder| < 2 * |d| must not overflow the type: true for every divisor
 * used here (the scale, or an int64 raw widened to 128 bits). */
#define FX_DEFINE_DIV_ROUND(NAME, T)                                         \
    static inline T NAME(T n, T d, int mode) {                               \
        T q = n / d;                                                         \
        T r = n % d;                                                         \
        if (r == 0) return q;                                                \
        int negative = (n < 0) != (d < 0);                                   \
        T ar = r < 0 ? -r : r;                                               \
        T ad = d < 0 ? -d : d;                                               \
        T away = negative ? q - 1 : q + 1;                                   \
        switch (mode) {                                                      \
        case FX_ROUND_DOWN: return q;                                        \
        case FX_ROUND_UP: return away;                                       \
        case FX_ROUND_FLOOR: return negative ? q - 1 : q;                    \
        case FX_ROUND_CEILING: return negative ? q : q + 1;                  \
        case FX_ROUND_HALF_UP: return (2 * ar >= ad) ? away : q;             \
        case FX_ROUND_HALF_DOWN: return (2 * ar > ad) ? away : q;            \
        default: /* HALF_EVEN */                                             \
            if (2 * ar > ad || (2 * ar == ad && (q & 1))) return away;       \
            return q;                                                        \
        }                                                                    \
    }

FX_DEFINE_DIV_ROUND(fx_div_round128, fx_int128)
FX_DEFINE_DIV_ROUND(fx_div_round64, int64_t)

static inline int fx_fits64(fx_int128 v) { return v >= (fx_int128)INT64_MIN && v <= (fx_int128)INT64_MAX; }

/* a * b at scale: (a*b)/SCALE rounded; 1 on overflow of the int64 result. */
static inline int fx_mul(int64_t a, int64_t b, int mode, int64_t *out) {
    int64_t narrow;
    if (!__builtin_mul_overflow(a, b, &narrow)) {
        /* Common case: the product fits 64 bits, so the division by the constant scale
         * compiles to a multiply-shift instead of a 128-bit division call. */
        *out = fx_div_round64(narrow, FX_SCALE, mode);
        return 0;
    }
    fx_int128 r = fx_div_round128((fx_int128)a * b, FX_SCALE, mode);
    if (!fx_fits64(r)) return 1;
    *out = (int64_t)r;
    return 0;
}

/* a * b at scale, exact: 1 on overflow, 3 when the product needs more than 9 places. */
static inline int fx_mul_exact(int64_t a, int64_t b, int64_t *out) {
    int64_t narrow;
    if (!__builtin_mul_overflow(a, b, &narrow)) {
        if (narrow % FX_SCALE != 0) return 3;
        *out = narrow / FX_SCALE;
        return 0;
    }
    fx_int128 p = (fx_int128)a * b;
    if (p % FX_SCALE != 0) return 3;
    p /= FX_SCALE;
    if (!fx_fits64(p)) return 1;
    *out = (int64_t)p;
    return 0;
}

/* a / b at scale, exact: 2 on division by zero, 1 on overflow, 3 when rounding is needed. */
static inline int fx_div_exact(int64_t a, int64_t b, int64_t *out) {
    if (b == 0) return 2;
    fx_int128 n = (fx_int128)a * FX_SCALE;
    if (n % b != 0) return 3;
    n /= b;
    if (!fx_fits64(n)) return 1;
    *out = (int64_t)n;
    return 0;
}

/* a / b at scale: (a*SCALE)/b rounded; 2 on division by zero, 1 on overflow. */
static inline int fx_div(int64_t a, int64_t b, int mode, int64_t *out) {
    if (b == 0) return 2;
    fx_int128 r = fx_div_round128((fx_int128)a * FX_SCALE, b, mode);
    if (!fx_fits64(r)) return 1;
    *out = (int64_t)r;
    return 0;
}

/* price x quantity as a 128-bit raw at the same scale: exact to the last unit
 * for any pair of int64 raws (|product| < 2^126). */
static inline fx_int128 fx_notional128(int64_t price, int64_t qty, int mode) {
    return fx_div_round128((fx_int128)price * qty, FX_SCALE, mode);
}

/* Does a 128-bit value fit int64? If so store it: the only narrowing the contract offers. */
static inline int fx_narrow64(fx_int128 v, int64_t *out) {
    if (!fx_fits64(v)) return 1;
    *out = (int64_t)v;
    return 0;
}

/* Split a 128-bit value into a signed high and an unsigned low half (for Python). */
static inline int64_t fx_hi64(fx_int128 v) { return (int64_t)(v >> 64); }
static inline uint64_t fx_lo64(fx_int128 v) { return (uint64_t)v; }

#endif
