/* The open-loop send schedule: intended send times as offsets from the start of a run, in closed
 * form (constant rate) or from a seeded PRNG (Poisson). Pure: no clock, no sockets. */
#ifndef SRVLAB_SCHED_H
#define SRVLAB_SCHED_H

#include <stdint.h>

enum sched_arrival { SCHED_CONSTANT, SCHED_POISSON };

struct sched {
    enum sched_arrival arrival;
    double gap_ns;   /* mean interarrival time */
    double phase_ns; /* offset of the first arrival (threads interleave their constant schedules) */
    double t_ns;     /* Poisson: time of the last arrival handed out */
    uint64_t n;      /* arrivals handed out so far */
    uint64_t rng[4]; /* xoshiro256** state */
};

/* Starts a schedule of rate_per_s (> 0) arrivals a second. `phase` in [0, 1) shifts a constant
 * schedule by that fraction of a gap (thread k of T uses k / T); Poisson ignores it. Same seed,
 * same schedule. */
void sched_init(struct sched *s, enum sched_arrival arrival, double rate_per_s, double phase,
                uint64_t seed);

/* Intended time of the next arrival, in ns after the start; strictly non-decreasing. Constant
 * rate: phase + n * gap exactly (no accumulated drift). Poisson: exponential gaps. */
uint64_t sched_next_ns(struct sched *s);

/* Uniform double in [0, 1) from the schedule's generator (53 random bits). */
double sched_uniform(struct sched *s);

/* Parses "constant" or "poisson". Returns 0 or -EINVAL. */
int sched_parse_arrival(const char *name, enum sched_arrival *out);

/* "constant" or "poisson". */
const char *sched_arrival_name(enum sched_arrival arrival);

#endif
