/* An HdrHistogram-style log-linear histogram of non-negative integers (we use microseconds).
 * Pure and single-threaded: no I/O, no clock, no locks; one per thread, merged at the end. */
#ifndef SRVLAB_HIST_H
#define SRVLAB_HIST_H

#include <stdbool.h>
#include <stdint.h>

#define HIST_MIN_SIGFIGS 1
#define HIST_MAX_SIGFIGS 5
#define HIST_DEFAULT_SIGFIGS 3
#define HIST_DEFAULT_HIGHEST 3600000000LL /* 1 hour in microseconds */

/* Counts live in one array allocated by hist_init; recording never allocates. Values above
 * `highest` are recorded as `highest` (and counted in `clamped`); min, max, mean and stddev
 * are exact (computed from the recorded values, not from bucket positions). */
struct hist {
    int64_t lowest;         /* smallest value told apart from 0, >= 1 */
    int64_t highest;        /* largest value tracked exactly, >= 2 * lowest */
    int sigfigs;            /* decimal significant digits kept, 1..5 */
    int unit_magnitude;     /* floor(log2(lowest)) */
    int sub_half_magnitude; /* log2(sub_count / 2) */
    int64_t sub_count;      /* linear sub-buckets per power-of-two bucket */
    int64_t sub_mask;
    int bucket_count;
    int counts_len;
    uint64_t *counts;
    uint64_t total;
    uint64_t clamped; /* values above `highest`, recorded as `highest` */
    int64_t min, max;
    double mean; /* running mean (Welford), exact to double precision */
    double m2;   /* sum of squared deviations from the mean (Welford/Chan) */
    bool is_shared; /* counts in a MAP_SHARED mapping (hist_init_shared) */
};

/* One populated bucket, as produced by hist_next(): `count` values v with lo <= v <= hi. */
struct hist_iter {
    int index; /* start at -1 (or use hist_iter_init) */
    int64_t lo, hi;
    uint64_t count;
    uint64_t cumulative; /* count of all values up to and including this bucket */
};

/* Sets up an empty histogram. Returns 0, -EINVAL for a bad configuration or -ENOMEM.
 * The histogram owns its counts array until hist_free(). */
int hist_init(struct hist *h, int64_t lowest, int64_t highest, int sigfigs);

/* As hist_init, with the counts array in a MAP_SHARED anonymous mapping, so that processes
 * forked afterwards record into the same counts (the struct itself must be shared too for its
 * totals to be). 0, -EINVAL or -ENOMEM. */
int hist_init_shared(struct hist *h, int64_t lowest, int64_t highest, int sigfigs);

/* Frees the counts array; the struct may be hist_init'ed again. NULL counts is fine. */
void hist_free(struct hist *h);

/* Forgets every recorded value, keeping the configuration. */
void hist_reset(struct hist *h);

/* Records `n` occurrences of `value`; negative values are recorded as 0. Never allocates. */
void hist_record_n(struct hist *h, int64_t value, uint64_t n);
static inline void hist_record(struct hist *h, int64_t value) { hist_record_n(h, value, 1); }

/* Adds every value of src to dst. Exact when both share the configuration; otherwise each
 * src bucket is re-recorded at its midpoint value (error bounded by src's precision).
 * Mean, stddev, min and max stay exact either way. Returns 0. */
int hist_merge(struct hist *dst, const struct hist *src);

/* Value at percentile p in [0, 100]: the highest value equivalent to the bucket holding the
 * ceil(p/100 * count)-th smallest value, capped at max and floored at min (so p0 is min and
 * p100 is max exactly). Returns 0 for an empty histogram. */
int64_t hist_percentile(const struct hist *h, double p);

/* Exact statistics of the recorded values (0 when empty). */
uint64_t hist_count(const struct hist *h);
int64_t hist_min(const struct hist *h);
int64_t hist_max(const struct hist *h);
double hist_mean(const struct hist *h);
double hist_stddev(const struct hist *h); /* population standard deviation */

/* Bucket geometry: index of a value, and the value range an index covers. Values that share
 * an index are "equivalent"; hi - lo + 1 is the bucket's width. */
int hist_index_of(const struct hist *h, int64_t value);
int64_t hist_lowest_equivalent(const struct hist *h, int64_t value);
int64_t hist_highest_equivalent(const struct hist *h, int64_t value);
int64_t hist_index_value(const struct hist *h, int index); /* lowest value at index */

/* Iterates over non-empty buckets in increasing value order:
 *     struct hist_iter it; hist_iter_init(&it); while (hist_next(h, &it)) use(it.lo, it.count); */
void hist_iter_init(struct hist_iter *it);
bool hist_next(const struct hist *h, struct hist_iter *it);

/* True when a and b share a configuration, so merging them is exact. */
bool hist_same_layout(const struct hist *a, const struct hist *b);

#endif
