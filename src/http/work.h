/* The simulated service behind GET /work: query parsing, exponential draws, CPU spinning.
 * The wait part (io_us) is never done here: the architecture waits its own way. */
#ifndef SRVLAB_HTTP_WORK_H
#define SRVLAB_HTTP_WORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct work_params {
    double cpu_us;   /* mean CPU time to spend, microseconds */
    double io_us;    /* mean wait, microseconds */
    bool is_exp;     /* dist=exp: draw each time from an exponential with that mean */
    bool has_seed;   /* seed=S given: draws come from S alone (reproducible per request) */
    uint64_t seed;
};

/* Parses "cpu_us=N&io_us=M&dist=fixed|exp&seed=S" (any order, all optional). Unknown keys and
 * malformed values return -EINVAL; values are capped at 60 s. */
int work_parse_query(const char *query, size_t len, struct work_params *w);

/* Draws the cpu and io times (us) for one request; rng is the caller's state (per thread). */
void work_draw(const struct work_params *w, uint64_t *rng, uint64_t *cpu_us, uint64_t *io_us);

/* Next 64 random bits (splitmix64); *state may start at any value. */
uint64_t work_rng_next(uint64_t *state);

/* An exponential variate with the given mean. */
double work_exp(uint64_t *state, double mean);

/* Spins on the CPU for us microseconds of CLOCK_MONOTONIC time. */
void work_spin_us(uint64_t us);

#endif
