/*
 * Repeatable random numbers, bit for bit the same as the Rust SDK's `Rng`.
 *
 * xoshiro256++ seeded through SplitMix64 (as Rust's rand_xoshiro
 * `Xoshiro256PlusPlus::seed_from_u64` does), with Lemire's unbiased method
 * for integer ranges. The same seed gives the same numbers in every StormDB
 * SDK (Rust, Python, JavaScript, C); sdk/testdata/rng-vectors.txt pins them.
 *
 * Header-only and free of the generated bindings, so it also builds for the
 * machine running the cross-language check (sdk/testdata/check-rng.sh).
 */
#ifndef STORMDB_RNG_H
#define STORMDB_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sdb_rng {
    uint64_t s[4];
} sdb_rng;

static inline uint64_t sdb_rotl64(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

/* A generator for `seed` (pass ctx->seed). */
static inline sdb_rng sdb_rng_new(uint64_t seed) {
    sdb_rng r;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) { /* SplitMix64 fills the 256-bit state */
        uint64_t z;
        x += UINT64_C(0x9E3779B97F4A7C15);
        z = x;
        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        r.s[i] = z ^ (z >> 31);
    }
    return r;
}

/* The next 64 random bits. */
static inline uint64_t sdb_rng_next_u64(sdb_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = sdb_rotl64(s[0] + s[3], 23) + s[0];
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sdb_rotl64(s[3], 45);
    return result;
}

/* The 128-bit product a * b as its high and low halves. */
static inline void sdb_mul128(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo) {
#ifdef __SIZEOF_INT128__
    unsigned __int128 m = (unsigned __int128)a * b;
    *hi = (uint64_t)(m >> 64);
    *lo = (uint64_t)m;
#else
    uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32, b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
    uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    *lo = (mid << 32) | (ll & 0xFFFFFFFFu);
#endif
}

/*
 * A uniform integer in lo..=hi (both included), without modulo bias
 * (Lemire's method). Returns lo when hi <= lo.
 */
static inline int64_t sdb_rng_uniform(sdb_rng *r, int64_t lo, int64_t hi) {
    uint64_t span_minus_1, span, threshold, m_hi, m_lo;
    if (hi <= lo) return lo;
    span_minus_1 = (uint64_t)hi - (uint64_t)lo;
    if (span_minus_1 == UINT64_MAX) return (int64_t)sdb_rng_next_u64(r); /* the whole 64-bit range */
    span = span_minus_1 + 1;
    threshold = (0 - span) % span;
    for (;;) {
        sdb_mul128(sdb_rng_next_u64(r), span, &m_hi, &m_lo);
        if (m_lo >= threshold) return (int64_t)((uint64_t)lo + m_hi);
    }
}

/* A uniform double in [0, 1) with 53 random bits. */
static inline double sdb_rng_unit(sdb_rng *r) {
    return (double)(sdb_rng_next_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* True with probability p (0 to 1). */
static inline bool sdb_rng_chance(sdb_rng *r, double p) {
    return sdb_rng_unit(r) < p;
}

/* TPC-C's non-uniform random NURand(A, x, y) with run constant c. */
static inline int64_t sdb_rng_nurand(sdb_rng *r, int64_t a, int64_t c, int64_t x, int64_t y) {
    int64_t first = sdb_rng_uniform(r, 0, a); /* drawn in this order, as in every SDK */
    int64_t second = sdb_rng_uniform(r, x, y);
    return (((first | second) + c) % (y - x + 1)) + x;
}

/*
 * Fill out[0..len) with random ASCII letters and digits and terminate it:
 * `out` must hold len + 1 bytes. Returns out.
 */
static inline char *sdb_rng_alnum(sdb_rng *r, char *out, size_t len) {
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < len; i++) out[i] = alnum[sdb_rng_uniform(r, 0, 61)];
    out[len] = '\0';
    return out;
}

#endif /* STORMDB_RNG_H */
