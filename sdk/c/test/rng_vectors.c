/* Print the cross-language RNG vectors (format: sdk/testdata/README.md).
 * Build and run: cc -O2 -I sdk/c sdk/c/test/rng_vectors.c -o rng && ./rng */
#include <inttypes.h>
#include <stdio.h>

#include "stormdb_rng.h"

#define LINE(seed, kind, n, fmt, expr)                 \
    do {                                               \
        printf("%" PRIu64 " %s", (seed), (kind));      \
        for (int i_ = 0; i_ < (n); i_++) printf(" " fmt, (expr)); \
        printf("\n");                                  \
    } while (0)

int main(void) {
    static const uint64_t seeds[] = {0, 1, 42, UINT64_C(12345678901234567890), UINT64_MAX};
    char buf[13];
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        uint64_t seed = seeds[i];
        sdb_rng r = sdb_rng_new(seed);
        LINE(seed, "u64", 4, "%" PRIu64, sdb_rng_next_u64(&r));
        LINE(seed, "uniform(1,1000000)", 1000, "%" PRId64, sdb_rng_uniform(&r, 1, 1000000));
        LINE(seed, "uniform(-5,5)", 20, "%" PRId64, sdb_rng_uniform(&r, -5, 5));
        LINE(seed, "uniform(min,max)", 5, "%" PRId64, sdb_rng_uniform(&r, INT64_MIN, INT64_MAX));
        LINE(seed, "uniform(0,2^62)", 5, "%" PRId64, sdb_rng_uniform(&r, 0, INT64_C(1) << 62));
        LINE(seed, "uniform(10,3)", 3, "%" PRId64, sdb_rng_uniform(&r, 10, 3));
        LINE(seed, "alnum(12)", 5, "%s", sdb_rng_alnum(&r, buf, 12));
        LINE(seed, "unit*2^53", 5, "%" PRIu64, (uint64_t)(sdb_rng_unit(&r) * 9007199254740992.0));
        LINE(seed, "chance(0.3)", 10, "%d", sdb_rng_chance(&r, 0.3) ? 1 : 0);
        LINE(seed, "nurand(1023,259,1,3000)", 5, "%" PRId64, sdb_rng_nurand(&r, 1023, 259, 1, 3000));
    }
    return 0;
}
