/* Intended send times for open-loop runs. Each time is computed from the start of the run,
 * never by adding up sleeps, so a late wake-up never shifts the rest of the schedule. */
#include "load/sched.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* splitmix64 expands the seed into xoshiro's state (the seeding its authors recommend). */
static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** (Blackman and Vigna, 2018). */
static uint64_t next_u64(uint64_t s[4]) {
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

void sched_init(struct sched *s, enum sched_arrival arrival, double rate_per_s, double phase,
                uint64_t seed) {
    memset(s, 0, sizeof *s);
    s->arrival = arrival;
    s->gap_ns = 1e9 / rate_per_s;
    s->phase_ns = phase * s->gap_ns;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        s->rng[i] = splitmix64(&x);
}

double sched_uniform(struct sched *s) { return (double)(next_u64(s->rng) >> 11) * 0x1.0p-53; }

uint64_t sched_next_ns(struct sched *s) {
    if (s->arrival == SCHED_CONSTANT)
        return (uint64_t)llround(s->phase_ns + (double)s->n++ * s->gap_ns);
    /* Inverse transform: -ln(1 - U) is exponential with mean 1, and 1 - U is never 0. */
    s->t_ns += -log1p(-sched_uniform(s)) * s->gap_ns;
    s->n++;
    return (uint64_t)llround(s->t_ns);
}

int sched_parse_arrival(const char *name, enum sched_arrival *out) {
    if (!strcmp(name, "constant"))
        *out = SCHED_CONSTANT;
    else if (!strcmp(name, "poisson"))
        *out = SCHED_POISSON;
    else
        return -EINVAL;
    return 0;
}

const char *sched_arrival_name(enum sched_arrival arrival) {
    return arrival == SCHED_POISSON ? "poisson" : "constant";
}
