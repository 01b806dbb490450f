/* GET /work: simulated CPU-bound and I/O-bound service (see work.h). */
#include "http/work.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORK_MAX_US 60e6

static int parse_num(const char *s, size_t len, double *out) {
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return -EINVAL;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (*end || !isfinite(v) || v < 0 || v > WORK_MAX_US || buf[0] == '-' || buf[0] == ' ')
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_pair(const char *k, size_t klen, const char *v, size_t vlen,
                      struct work_params *w) {
#define KEY(lit) (klen == sizeof(lit) - 1 && memcmp(k, lit, klen) == 0)
    if (KEY("cpu_us"))
        return parse_num(v, vlen, &w->cpu_us);
    if (KEY("io_us"))
        return parse_num(v, vlen, &w->io_us);
    if (KEY("dist")) {
        if (vlen == 3 && memcmp(v, "exp", 3) == 0)
            w->is_exp = true;
        else if (vlen == 5 && memcmp(v, "fixed", 5) == 0)
            w->is_exp = false;
        else
            return -EINVAL;
        return 0;
    }
    if (KEY("seed")) {
        double s;
        if (parse_num(v, vlen, &s) < 0 && vlen > 0) {
            char *end;
            char buf[24];
            if (vlen >= sizeof buf)
                return -EINVAL;
            memcpy(buf, v, vlen);
            buf[vlen] = '\0';
            w->seed = strtoull(buf, &end, 10);
            if (*end)
                return -EINVAL;
        } else if (vlen == 0) {
            return -EINVAL;
        } else {
            w->seed = (uint64_t)s;
        }
        w->has_seed = true;
        return 0;
    }
#undef KEY
    return -EINVAL;
}

int work_parse_query(const char *q, size_t len, struct work_params *w) {
    memset(w, 0, sizeof *w);
    if (len == 0)
        return 0; /* q may be NULL (no query); NULL + 0 is undefined in C */
    const char *end = q + len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        if (!amp)
            amp = end;
        const char *eq = memchr(q, '=', (size_t)(amp - q));
        if (!eq)
            return -EINVAL;
        if (parse_pair(q, (size_t)(eq - q), eq + 1, (size_t)(amp - eq - 1), w) < 0)
            return -EINVAL;
        q = amp + 1;
    }
    return 0;
}

uint64_t work_rng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double work_exp(uint64_t *state, double mean) {
    /* Inverse transform; u in (0, 1] so log(u) is finite. */
    double u = ((double)(work_rng_next(state) >> 11) + 1.0) * 0x1.0p-53;
    return -mean * log(u);
}

void work_draw(const struct work_params *w, uint64_t *rng, uint64_t *cpu_us, uint64_t *io_us) {
    uint64_t seeded = w->seed;
    uint64_t *st = w->has_seed ? &seeded : rng;
    double cpu = w->cpu_us, io = w->io_us;
    if (w->is_exp) {
        cpu = cpu > 0 ? work_exp(st, cpu) : 0;
        io = io > 0 ? work_exp(st, io) : 0;
    }
    *cpu_us = (uint64_t)llround(fmin(cpu, WORK_MAX_US));
    *io_us = (uint64_t)llround(fmin(io, WORK_MAX_US));
}

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void work_spin_us(uint64_t us) {
    if (us == 0)
        return;
    uint64_t end = mono_ns() + us * 1000;
    while (mono_ns() < end)
        __asm__ __volatile__("" ::: "memory");
}
