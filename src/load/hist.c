/* HdrHistogram-style bucket arithmetic, recording, merging and percentiles.
 * Layout after Gil Tene's HdrHistogram: power-of-two buckets, each split into sub_count linear
 * sub-buckets, the lower half of every bucket but the first folded into the previous one.
 * No serialization here: output.c writes histograms, json.c reads them. */
#include "load/hist.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int bits_for(int64_t v) { return 64 - __builtin_clzll((uint64_t)v | 1); }

/* Smallest b such that the b power-of-two buckets cover `highest`. */
static int buckets_needed(int64_t sub_count, int unit_magnitude, int64_t highest) {
    int64_t untrackable = sub_count << unit_magnitude;
    int b = 1;
    while (untrackable <= highest) {
        if (untrackable > INT64_MAX / 2)
            return b + 1;
        untrackable <<= 1;
        b++;
    }
    return b;
}

int hist_init(struct hist *h, int64_t lowest, int64_t highest, int sigfigs) {
    memset(h, 0, sizeof *h);
    if (lowest < 1 || highest < 2 * lowest || sigfigs < HIST_MIN_SIGFIGS ||
        sigfigs > HIST_MAX_SIGFIGS)
        return -EINVAL;
    int64_t largest_single_unit = 2;
    for (int i = 0; i < sigfigs; i++)
        largest_single_unit *= 10;
    int sub_magnitude = bits_for(largest_single_unit - 1); /* ceil(log2(2 * 10^d)) */
    h->lowest = lowest;
    h->highest = highest;
    h->sigfigs = sigfigs;
    h->unit_magnitude = bits_for(lowest) - 1;
    h->sub_half_magnitude = sub_magnitude - 1;
    h->sub_count = (int64_t)1 << sub_magnitude;
    h->sub_mask = (h->sub_count - 1) << h->unit_magnitude;
    h->bucket_count = buckets_needed(h->sub_count, h->unit_magnitude, highest);
    h->counts_len = (h->bucket_count + 1) * (int)(h->sub_count / 2);
    h->counts = calloc((size_t)h->counts_len, sizeof *h->counts);
    if (!h->counts)
        return -ENOMEM;
    hist_reset(h);
    return 0;
}

/* The counts array moves to a shared anonymous mapping, which fork() does not copy: the
 * children's recordings are the parent's (load --procs). Pages are touched only when used. */
int hist_init_shared(struct hist *h, int64_t lowest, int64_t highest, int sigfigs) {
    int rc = hist_init(h, lowest, highest, sigfigs);
    if (rc < 0)
        return rc;
    free(h->counts);
    size_t bytes = (size_t)h->counts_len * sizeof *h->counts;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    h->counts = p == MAP_FAILED ? NULL : p;
    h->is_shared = h->counts != NULL;
    return h->counts ? 0 : -ENOMEM;
}

void hist_free(struct hist *h) {
    if (h->is_shared && h->counts)
        munmap(h->counts, (size_t)h->counts_len * sizeof *h->counts);
    else
        free(h->counts);
    h->counts = NULL;
    h->is_shared = false;
}

void hist_reset(struct hist *h) {
    if (h->counts)
        memset(h->counts, 0, (size_t)h->counts_len * sizeof *h->counts);
    h->total = h->clamped = 0;
    h->min = INT64_MAX;
    h->max = 0;
    h->mean = h->m2 = 0;
}

static int bucket_of(const struct hist *h, int64_t v) {
    return bits_for(v | h->sub_mask) - h->unit_magnitude - (h->sub_half_magnitude + 1);
}

int hist_index_of(const struct hist *h, int64_t value) {
    int bucket = bucket_of(h, value);
    int64_t sub = value >> (bucket + h->unit_magnitude);
    return (int)(((int64_t)(bucket + 1) << h->sub_half_magnitude) + (sub - h->sub_count / 2));
}

int64_t hist_index_value(const struct hist *h, int index) {
    int bucket = (index >> h->sub_half_magnitude) - 1;
    int64_t sub = (index & (h->sub_count / 2 - 1)) + h->sub_count / 2;
    if (bucket < 0) {
        sub -= h->sub_count / 2;
        bucket = 0;
    }
    return sub << (bucket + h->unit_magnitude);
}

int64_t hist_lowest_equivalent(const struct hist *h, int64_t value) {
    int bucket = bucket_of(h, value);
    int64_t sub = value >> (bucket + h->unit_magnitude);
    return sub << (bucket + h->unit_magnitude);
}

int64_t hist_highest_equivalent(const struct hist *h, int64_t value) {
    int bucket = bucket_of(h, value);
    int64_t sub = value >> (bucket + h->unit_magnitude);
    int width_bucket = bucket + (sub >= h->sub_count ? 1 : 0);
    int64_t width = (int64_t)1 << (h->unit_magnitude + width_bucket);
    return hist_lowest_equivalent(h, value) + width - 1;
}

void hist_record_n(struct hist *h, int64_t value, uint64_t n) {
    if (n == 0)
        return;
    if (value < 0)
        value = 0;
    if (value > h->highest) {
        value = h->highest;
        h->clamped += n;
    }
    h->counts[hist_index_of(h, value)] += n;
    /* Welford's running mean and squared deviations: stable, and mergeable (Chan et al.). */
    h->total += n;
    double delta = (double)value - h->mean;
    h->mean += delta * (double)n / (double)h->total;
    h->m2 += delta * ((double)value - h->mean) * (double)n;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

bool hist_same_layout(const struct hist *a, const struct hist *b) {
    return a->lowest == b->lowest && a->highest == b->highest && a->sigfigs == b->sigfigs;
}

/* Chan et al.'s pairwise combination of mean and squared deviations. */
static void merge_moments(struct hist *dst, const struct hist *src, uint64_t dst_total) {
    uint64_t n = dst_total + src->total;
    double delta = src->mean - dst->mean;
    dst->m2 = dst->m2 + src->m2 +
              delta * delta * (double)dst_total * (double)src->total / (double)n;
    dst->mean += delta * (double)src->total / (double)n;
    dst->total = n;
}

int hist_merge(struct hist *dst, const struct hist *src) {
    if (src->total == 0)
        return 0;
    uint64_t dst_total = dst->total;
    double mean = dst->mean, m2 = dst->m2;
    int64_t lo = dst->min, hi = dst->max;
    uint64_t clamped = dst->clamped;
    if (hist_same_layout(dst, src)) {
        for (int i = 0; i < src->counts_len; i++)
            dst->counts[i] += src->counts[i];
    } else {
        struct hist_iter it;
        hist_iter_init(&it);
        while (hist_next(src, &it))
            hist_record_n(dst, it.lo + (it.hi - it.lo) / 2, it.count);
    }
    dst->total = dst_total;
    dst->mean = mean;
    dst->m2 = m2;
    merge_moments(dst, src, dst_total);
    dst->clamped = clamped + src->clamped;
    dst->min = lo < src->min ? lo : src->min;
    dst->max = hi > src->max ? hi : src->max;
    return 0;
}

/* Rank of the nearest-rank percentile: ceil(p/100 * n), at least 1, guarding against
 * 0.99 * 1000 = 990.0000000000001 rounding up to 991. */
static uint64_t rank_of(double p, uint64_t n) {
    double x = p / 100.0 * (double)n;
    double fl = floor(x);
    uint64_t r = (uint64_t)fl;
    if (x - fl > 1e-9 * (x > 1 ? x : 1))
        r++;
    if (r < 1)
        r = 1;
    return r > n ? n : r;
}

int64_t hist_percentile(const struct hist *h, double p) {
    if (h->total == 0)
        return 0;
    if (p <= 0)
        return h->min;
    uint64_t rank = rank_of(p > 100 ? 100 : p, h->total);
    uint64_t cum = 0;
    for (int i = 0; i < h->counts_len; i++) {
        cum += h->counts[i];
        if (cum >= rank) {
            int64_t v = hist_highest_equivalent(h, hist_index_value(h, i));
            if (v > h->max)
                v = h->max;
            return v < h->min ? h->min : v;
        }
    }
    return h->max;
}

uint64_t hist_count(const struct hist *h) { return h->total; }
int64_t hist_min(const struct hist *h) { return h->total ? h->min : 0; }
int64_t hist_max(const struct hist *h) { return h->max; }
double hist_mean(const struct hist *h) { return h->total ? h->mean : 0; }

double hist_stddev(const struct hist *h) {
    return h->total ? sqrt(h->m2 / (double)h->total) : 0;
}

void hist_iter_init(struct hist_iter *it) { memset(it, 0, sizeof *it), it->index = -1; }

bool hist_next(const struct hist *h, struct hist_iter *it) {
    for (int i = it->index + 1; i < h->counts_len; i++) {
        if (!h->counts[i])
            continue;
        it->index = i;
        it->lo = hist_index_value(h, i);
        it->hi = hist_highest_equivalent(h, it->lo);
        it->count = h->counts[i];
        it->cumulative += it->count;
        return true;
    }
    it->index = h->counts_len;
    return false;
}
