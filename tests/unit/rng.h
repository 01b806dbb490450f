/* A small seeded generator for the unit tests (splitmix64), so that every run of a test sees
 * the same numbers: set rng_state, then draw. Each test file gets its own copy (static). */
#ifndef SRVLAB_TEST_RNG_H
#define SRVLAB_TEST_RNG_H

#include <math.h>
#include <stdint.h>

static uint64_t rng_state;

/* Uniform in [0, 1), 53 random bits. */
static inline double uniform(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

/* Exponentially distributed with the given mean. */
static inline double expo(double mean) { return -mean * log1p(-uniform()); }

#endif
